"""`pycov run` under its supervisor (SPEC §5): a Python child started with a scrubbed
environment is still measured, the observation log is kept on request, --timeout and
--orphan-grace end what they must, strict mode reports its denials, and where ptrace is not
permitted pycov says so in one line and carries on without the supervisor."""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

PYCOV = os.path.abspath(os.environ["PYCOV"])
PYTHON = os.environ.get("PYCOV_TEST_PYTHON", "/usr/bin/python3")
USAGE, PYCOV_FAILED = 4, 3

SCRUBBED_PARENT = """\
import os, subprocess, sys
print('parent', flush=True)
r = subprocess.run([sys.executable, 'child.py'], env={'PATH': os.environ['PATH']})
sys.exit(r.returncode)
"""
CHILD = """\
import os
print('child sees', sorted(k for k in os.environ if k.startswith('PYCOV')))
value = 6 * 7
"""


def measured_lines(directory, data_file=".coverage"):
    from coverage import CoverageData
    data = CoverageData(basename=os.path.join(directory, data_file))
    data.read()
    return {os.path.basename(f): set(data.lines(f)) for f in data.measured_files()}


def alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


class SupervisedRun(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="pycov-supervised-")
        self.addCleanup(shutil.rmtree, self.dir, True)

    def write(self, name, text):
        with open(os.path.join(self.dir, name), "w") as f:
            f.write(text)

    def pycov(self, *args, timeout=60):
        return subprocess.run([PYCOV, *args], cwd=self.dir, capture_output=True, text=True, timeout=timeout)

    def read_log(self, name):
        with open(os.path.join(self.dir, name)) as f:
            return [json.loads(line) for line in f]

    def test_python_child_with_a_scrubbed_environment_is_measured(self):
        self.write("parent.py", SCRUBBED_PARENT)
        self.write("child.py", CHILD)
        result = self.pycov("run", "--python", PYTHON, "--observation-log", "observed.jsonl", "parent.py")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(result.stderr, "")
        self.assertEqual(measured_lines(self.dir).get("child.py"), {1, 2, 3})
        events = self.read_log("observed.jsonl")
        child_execs = [e for e in events if e["event"] == "exec" and e["argv"][1:] == ["child.py"]]
        self.assertEqual(len(child_execs), 1, events)
        self.assertEqual(child_execs[0]["program_kind"], "python")
        self.assertFalse(child_execs[0]["instrumented"])
        self.assertEqual(sorted(child_execs[0]["injected"]), ["PYCOV_RUN_DIR", "PYTHONPATH"])

    def test_scrubbed_children_started_through_scripts_and_env_are_measured(self):
        # The supervisor decides at the exec event, by the executable the kernel runs: a #!
        # script is its interpreter; `#!/usr/bin/env python3` and `env -i` are env, then
        # python3 at env's own exec, which gets the variables back.
        self.write("direct_child.py", "#!" + PYTHON + "\nvalue = 1\n")
        self.write("env_child.py", "#!/usr/bin/env python3\nvalue = 2\n")
        self.write("env_i_child.py", "value = 3\n")
        for name in ("direct_child.py", "env_child.py"):
            os.chmod(os.path.join(self.dir, name), 0o755)
        # env finds python3 on PATH: Debian's interpreter's directory comes first.
        path = os.path.dirname(PYTHON) + ":/usr/bin:/bin"
        self.write("parent.py", f"""\
import subprocess
subprocess.run(['./direct_child.py'], env={{'PATH': {path!r}}}, check=True)
subprocess.run(['./env_child.py'], env={{'PATH': {path!r}}}, check=True)
subprocess.run(['env', '-i', 'PATH={path}', 'python3', 'env_i_child.py'], check=True)
""")
        result = self.pycov("run", "--python", PYTHON, "--observation-log", "observed.jsonl", "parent.py")
        self.assertEqual(result.returncode, 0, result.stderr)
        lines = measured_lines(self.dir)
        self.assertEqual(lines.get("direct_child.py"), {2})
        self.assertEqual(lines.get("env_child.py"), {2})
        self.assertEqual(lines.get("env_i_child.py"), {1})
        execs = [e for e in self.read_log("observed.jsonl") if e["event"] == "exec"]
        injected = [e for e in execs if e.get("injected")]
        self.assertEqual(len(injected), 3, execs)
        for e in injected:
            self.assertEqual(e["program_kind"], "python")
            self.assertEqual(sorted(e["injected"]), ["PYCOV_RUN_DIR", "PYTHONPATH"])
        # The script's exec is logged with the path it was started by and its interpreter's argv.
        direct = [e for e in execs if e["path"] == "./direct_child.py"]
        self.assertEqual(len(direct), 1, execs)
        self.assertEqual(direct[0]["argv"], [PYTHON, "./direct_child.py"])
        env_execs = [e for e in execs if os.path.basename(e["exe"]) == "env"]
        self.assertEqual(len(env_execs), 2, execs)
        self.assertTrue(all(e["program_kind"] == "" for e in env_execs), env_execs)

    def test_execs_that_need_nothing_from_it_skip_the_exec_monitor(self):
        # A measured process's exec of its own interpreter with the run's environment intact,
        # or of an ELF program not named like a Python, carries the run's pass and does not
        # wait for the exec monitor. Every other exec does, and is in the monitor's log (read
        # by the program from its run directory); every Python child is measured either way.
        self.write("parent.py", """\
import json, os, subprocess, sys, time
subprocess.run([sys.executable, "child.py", "plain"], check=True)
subprocess.run([sys.executable, "child.py", "copied"], env=dict(os.environ), check=True)
subprocess.run([sys.executable, "-I", os.path.abspath("child.py"), "isolated"], check=True)
subprocess.run([sys.executable, "child.py", "scrubbed"], env={"PATH": os.environ["PATH"]}, check=True)
subprocess.run(["/bin/echo", "elf"], check=True)
subprocess.run(["./tool.sh", "script"], check=True)
subprocess.run(["./python9", "python-named"], check=True)
for exec_call in ("execv", "execve"):
    pid = os.fork()
    if pid == 0:
        if exec_call == "execv":
            os.execv(sys.executable, [sys.executable, "child.py", exec_call])
        os.execve(sys.executable, [sys.executable, "child.py", exec_call], os.environ)
    os.waitpid(pid, 0)
time.sleep(0.5)  # the exec monitor writes its log at a quiet tick (100 ms)
with open(os.path.join(os.environ["PYCOV_RUN_DIR"], "observation.jsonl")) as log:
    logged = [e["argv"][-1] for e in map(json.loads, log) if e.get("event") == "exec"]
with open("logged.json", "w") as out:
    json.dump(logged, out)
""")
        variants = ["plain", "copied", "isolated", "scrubbed", "execv", "execve"]
        self.write("child.py", "import sys\n" + "".join(
            f"if sys.argv[1] == {name!r}:\n    ran = {i}\n" for i, name in enumerate(variants)))
        self.write("tool.sh", "#!/bin/sh\necho \"$1\"\n")
        os.chmod(os.path.join(self.dir, "tool.sh"), 0o755)
        shutil.copy("/bin/true", os.path.join(self.dir, "python9"))  # another Python, by its name
        result = self.pycov("run", "--python", PYTHON, "parent.py")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(result.stdout, "elf\nscript\n")
        # Every child was measured: each ran the line of its own name.
        self.assertEqual(measured_lines(self.dir).get("child.py"), set(range(1, 2 * len(variants) + 2)))
        with open(os.path.join(self.dir, "logged.json")) as f:
            logged = json.load(f)
        self.assertEqual(sorted(logged), sorted(["parent.py", "isolated", "scrubbed", "script", "python-named"]))

    def test_a_preloaded_exec_wrapper_sees_every_exec(self):
        # fakeroot and build sandboxes wrap execve in a preloaded library: the tracer leaves
        # the program's execs to it, and they wait for the exec monitor as before.
        interposer = os.environ.get("PYCOV_TEST_EXEC_INTERPOSER")
        if interposer is None:
            self.skipTest("PYCOV_TEST_EXEC_INTERPOSER is not set (ctest sets it)")
        self.write("parent.py", """\
import json, os, subprocess, sys, time
subprocess.run([sys.executable, "-c", "pass"], check=True)
subprocess.run(["/bin/echo", "elf"], check=True)
time.sleep(0.5)  # the exec monitor writes its log at a quiet tick (100 ms)
with open(os.path.join(os.environ["PYCOV_RUN_DIR"], "observation.jsonl")) as log:
    logged = [e["argv"][-1] for e in map(json.loads, log) if e.get("event") == "exec"]
with open("logged.json", "w") as out:
    json.dump(logged, out)
""")
        environment = dict(os.environ, LD_PRELOAD=interposer,
                           EXEC_INTERPOSER_LOG=os.path.join(self.dir, "interposed.txt"))
        result = subprocess.run([PYCOV, "run", "--python", PYTHON, "parent.py"], cwd=self.dir, env=environment,
                                capture_output=True, text=True, timeout=60)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(result.stdout, "elf\n")
        with open(os.path.join(self.dir, "interposed.txt")) as f:
            interposed = f.read().split()
        # pycov's own start of the program, then its two children.
        self.assertEqual(interposed, [PYTHON, PYTHON, "/bin/echo"])
        with open(os.path.join(self.dir, "logged.json")) as f:
            self.assertEqual(sorted(json.load(f)), sorted(["parent.py", "pass", "elf"]))

    def test_without_the_supervisor_that_child_is_lost(self):
        # The same program with --sandbox off: what the supervisor adds.
        self.write("parent.py", SCRUBBED_PARENT)
        self.write("child.py", CHILD)
        result = self.pycov("run", "--python", PYTHON, "--sandbox", "off", "parent.py")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertNotIn("child.py", measured_lines(self.dir))
        self.assertIn("parent.py", measured_lines(self.dir))

    def test_timeout_kills_the_tree_and_keeps_the_data(self):
        self.write("slow.py", "import subprocess, time\n"
                              "child = subprocess.Popen(['sleep', '60'])\n"
                              "open('child.pid', 'w').write(str(child.pid))\n"
                              "time.sleep(60)\n"
                              "print('never')\n")
        started = time.monotonic()
        result = self.pycov("run", "--python", PYTHON, "--timeout", "1", "slow.py")
        elapsed = time.monotonic() - started
        self.assertEqual(result.returncode, PYCOV_FAILED, result.stderr)
        self.assertIn("--timeout 1 s", result.stderr)
        self.assertLess(elapsed, 10)
        with open(os.path.join(self.dir, "child.pid")) as f:
            self.assertFalse(alive(int(f.read())))
        self.assertEqual(measured_lines(self.dir)["slow.py"], {1, 2, 3, 4})

    def test_orphans_are_killed_after_the_grace(self):
        self.write("daemon.py", "import os, time\n"
                                "if os.fork() == 0:\n"
                                "    os.setsid()\n"
                                "    open('daemon.pid', 'w').write(str(os.getpid()))\n"
                                "    time.sleep(60)\n"
                                "    os._exit(0)\n"
                                "print('parent done')\n")
        result = self.pycov("run", "--python", PYTHON, "--orphan-grace", "0.5", "daemon.py")
        self.assertEqual((result.returncode, result.stdout), (0, "parent done\n"), result.stderr)
        self.assertIn("were killed (--orphan-grace)", result.stderr)
        with open(os.path.join(self.dir, "daemon.pid")) as f:
            self.assertFalse(alive(int(f.read())))
        self.assertEqual(measured_lines(self.dir)["daemon.py"], {1, 2, 3, 4, 5, 7})

    def test_strict_mode_reports_what_it_denied(self):
        self.write("mounter.py", "import ctypes, os\n"
                                 "libc = ctypes.CDLL(None, use_errno=True)\n"
                                 "os.mkdir('m')\n"
                                 "rc = libc.mount(b'none', b'm', b'tmpfs', 0, None)\n"
                                 "print('mount', rc, os.strerror(ctypes.get_errno()))\n")
        result = self.pycov("run", "--python", PYTHON, "--sandbox", "strict", "mounter.py")
        self.assertEqual((result.returncode, result.stdout), (0, "mount -1 Operation not permitted\n"), result.stderr)
        self.assertRegex(result.stderr, r"sandbox strict: pid \d+: denied-syscall \(mount\): denied")

    def test_where_ptrace_is_refused_pycov_says_so_and_runs_unsupervised(self):
        # An outer pycov in strict mode denies ptrace to everything it runs: the inner pycov
        # meets exactly what it meets in a container that forbids ptrace.
        self.write("app.py", "print('app ran')\n")
        self.write("inner.py", "import subprocess, sys\n"
                               f"r = subprocess.run([{PYCOV!r}, 'run', '--python', {PYTHON!r}, "
                               "'--data-file', 'inner.coverage', *sys.argv[1:], 'app.py'], capture_output=True, text=True)\n"
                               "print(r.returncode, r.stdout, r.stderr, sep='|')\n")
        outer = self.pycov("run", "--python", PYTHON, "--sandbox", "strict", "--data-file", "outer.coverage", "inner.py")
        self.assertEqual(outer.returncode, 0, outer.stderr)
        code, stdout, stderr = outer.stdout.rstrip("\n").split("|")
        self.assertEqual((code, stdout), ("0", "app ran\n"), stderr)
        warnings = stderr.strip().splitlines()
        self.assertEqual(len(warnings), 1, stderr)
        self.assertIn("ptrace is not permitted here", warnings[0])
        self.assertIn("--sandbox off", warnings[0])
        self.assertIn("app.py", measured_lines(self.dir, "inner.coverage"))

        # Asked for explicitly, the supervisor is not quietly dropped.
        outer = self.pycov("run", "--python", PYTHON, "--sandbox", "strict", "--data-file", "outer.coverage",
                           "inner.py", "--sandbox", "observe")
        code, stdout, stderr = outer.stdout.rstrip("\n").split("|")
        self.assertEqual((code, stdout), (str(PYCOV_FAILED), ""), stderr)
        self.assertIn("--sandbox observe: ptrace is not permitted here", stderr)

    def test_bad_sandbox_options_are_usage_errors(self):
        self.write("app.py", "print('x')\n")
        for args, named in ((["--sandbox", "bogus"], "--sandbox bogus"), (["--timeout", "soon"], "--timeout soon"),
                            (["--orphan-grace", "-1"], "--orphan-grace -1")):
            result = self.pycov("run", *args, "app.py")
            self.assertEqual(result.returncode, USAGE, result.stderr)
            self.assertIn(named, result.stderr)
            self.assertEqual(result.stdout, "")

    def test_sandbox_setting_in_pyproject(self):
        self.write("app.py", "print('x')\n")
        self.write("pyproject.toml", "[tool.pycov]\nsandbox = 'loose'\n")
        result = self.pycov("run", "app.py")
        self.assertEqual(result.returncode, USAGE)
        self.assertIn("pyproject.toml:2", result.stderr)
        self.assertIn("sandbox", result.stderr)
        self.write("pyproject.toml", "[tool.pycov]\nsandbox = 'off'\norphan_grace = 1\ntimeout = 30.5\n")
        result = self.pycov("run", "--python", PYTHON, "app.py")
        self.assertEqual((result.returncode, result.stdout), (0, "x\n"), result.stderr)


if __name__ == "__main__":
    unittest.main()
