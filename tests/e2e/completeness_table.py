"""Prints, for each scenario where coverage measurement can lose lines, how many of the lines
marked "# pycov: runs" pycov records and how many Debian's coverage.py records with its
default settings, as a Markdown table.

usage: completeness_table.py PYCOV PYTHON SCENARIOS_DIR
"""
import os
import shutil
import subprocess
import sys
import tempfile

from coverage import CoverageData

CASES = [
    ("os.execv / os.execve (scrubbed env) / os.execlp chain", ["exec_chain.py"]),
    ("fork, child leaves through os._exit", ["fork_and_exit.py"]),
    ("forked children killed by SIGKILL and crashing with SIGSEGV", ["fork_crash_and_kill.py"]),
    ("program killed by SIGKILL", ["killed_by_signal.py"]),
    ("multiprocessing fork: Pool.map, Process, ProcessPoolExecutor", ["multiprocessing_start_methods.py", "fork"]),
    ("multiprocessing spawn: Pool.map, Process, ProcessPoolExecutor", ["multiprocessing_start_methods.py", "spawn"]),
    ("multiprocessing forkserver: Pool.map, Process, ProcessPoolExecutor",
     ["multiprocessing_start_methods.py", "forkserver"]),
    ("pool workers terminated by the pool (fork)", ["multiprocessing_terminated_workers.py", "fork"]),
    ("pool workers terminated by the pool (spawn)", ["multiprocessing_terminated_workers.py", "spawn"]),
    ("pool workers terminated by the pool (forkserver)", ["multiprocessing_terminated_workers.py", "forkserver"]),
    ("subprocess.run, os.system, sh -c, scrubbed env=", ["subprocess_every_route.py"]),
    ("threads: threading, _thread, C pthread_create via ctypes", ["threads_every_origin.py"]),
    ("threads still running when the main thread ends", ["threads_outliving_main.py"]),
    ("greenlet switching between files", ["greenlet_switching.py"]),
    ("gevent greenlets switching between files", ["gevent_switching.py"]),
    ("eventlet green threads switching between files", ["eventlet_switching.py"]),
    ("program's own sys.settrace function", ["own_trace_function.py"]),
    ("trace function installed from C (PyEval_SetTrace)", ["c_trace_function.py"]),
    ("DecoratorTools-style f_trace / settrace fiddling", ["decoratortools_style.py"]),
    ("daemon: double fork + setsid, outlives the program", ["daemon_double_fork.py"]),
]


def marked(path):
    with open(path, encoding="utf-8") as f:
        return {n for n, line in enumerate(f, 1) if "# pycov: runs" in line}


def lines_in(data_file, work):
    data = CoverageData(basename=data_file)
    data.read()
    return {os.path.relpath(p, work): set(data.lines(p) or ()) for p in data.measured_files()}


def main():
    pycov, python, scenarios = (os.path.abspath(a) for a in sys.argv[1:4])
    print("| case | marked lines | pycov | coverage.py 6.5 (defaults) |")
    print("|---|---|---|---|")
    for title, program in CASES:
        work = tempfile.mkdtemp(prefix="pycov-table-")
        try:
            shutil.copytree(scenarios, work, dirs_exist_ok=True)
            env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "COVERAGE_FILE")}
            subprocess.run([pycov, "run", "--python", python, "--data-file", "pycov.cov", *program], cwd=work,
                           env=env, capture_output=True, timeout=300)
            subprocess.run([python, "-m", "coverage", "run", "--data-file=cov.cov", *program], cwd=work,
                           env=env, capture_output=True, timeout=300)
            ours = lines_in(os.path.join(work, "pycov.cov"), work)
            theirs = lines_in(os.path.join(work, "cov.cov"), work) if os.path.exists(os.path.join(work, "cov.cov")) else {}
            total = got = ref = 0
            for root, _, names in os.walk(work):
                for name in names:
                    if not name.endswith(".py"):
                        continue
                    rel = os.path.relpath(os.path.join(root, name), work)
                    marks = marked(os.path.join(root, name))
                    if not marks or not (rel in ours or rel in theirs or rel == program[0]):
                        continue
                    total += len(marks)
                    got += len(marks & ours.get(rel, set()))
                    ref += len(marks & theirs.get(rel, set()))
            print(f"| {title} | {total} | {got}/{total} | {ref}/{total} |")
        finally:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
