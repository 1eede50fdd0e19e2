"""pycov runs under valgrind, which the benchmark's instruction counts use: valgrind names
each mapping by its file's path and aborts on some remappings, so a hit file that grows (an
arc table past its first 64 KiB) and a forked child's switch to a file of its own are run
under callgrind here, and their data checked.

usage: check_under_valgrind.py PYCOV PYTHON"""
import os
import sqlite3
import subprocess
import sys
import tempfile

pycov, python = os.path.abspath(sys.argv[1]), sys.argv[2]
LINES = 12000  # one arc each: 96 KiB of arc slots, more than a hit file's first mapping

with tempfile.TemporaryDirectory(prefix="pycov-valgrind-") as work:
    with open(os.path.join(work, "straight.py"), "w") as f:
        f.write("def run():\n    x = 0\n" + "".join(f"    x += {i}\n" for i in range(LINES)) + "    return x\n")
    with open(os.path.join(work, "program.py"), "w") as f:
        f.write("import os\nimport straight\n"
                "pid = os.fork()\n"
                "if pid == 0:\n"
                "    straight.run()\n"
                "    os._exit(0)\n"
                "os.waitpid(pid, 0)\n"
                "print(straight.run())\n")
    result = subprocess.run(["valgrind", "--tool=callgrind", "--trace-children=yes", "--log-file=/dev/null",
                             "--callgrind-out-file=/dev/null", pycov, "run", "--python", python, "--sandbox", "off",
                             "--branch", "--data-file", "data", "program.py"],
                            cwd=work, capture_output=True, text=True)
    failures = []
    if result.returncode != 0:
        failures.append(f"exit status {result.returncode}\n{result.stderr[-3000:]}")
    elif result.stdout.strip() != str(sum(range(LINES))):
        failures.append(f"the program printed {result.stdout!r}")
    else:
        db = sqlite3.connect(os.path.join(work, "data"))
        arcs = db.execute("select count(*) from arc join file on arc.file_id = file.id "
                          "where file.path like '%straight.py'").fetchone()[0]
        if arcs < LINES:
            failures.append(f"{arcs} arcs recorded in straight.py, expected at least {LINES}")
        if result.stderr.strip():
            failures.append("pycov said:\n" + result.stderr[-3000:])
    if failures:
        sys.exit("FAIL: " + "\n".join(failures))
    print("ok")
