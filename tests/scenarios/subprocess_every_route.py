# Python subprocesses started every usual way, one with a scrubbed environment. Without
# concurrency settings and COVERAGE_PROCESS_START, coverage.py measures none of the children;
# pycov measures each, the scrubbed one thanks to the supervisor. Children started with
# python3 -I, -E or -S cannot load pycov's bootstrap: pycov says so instead of losing them
# silently.
import os
import subprocess
import sys

child = os.path.join("helpers", "subprocess_child.py")
subprocess.run([sys.executable, child, "subprocess.run"], check=True)
os.system(f"{sys.executable} {child} os.system")
subprocess.run(f"{sys.executable} {child} shell", shell=True, check=True)
subprocess.run(["/bin/sh", "-c", f"exec {sys.executable} {child} sh-exec"], check=True)
subprocess.run([sys.executable, child, "scrubbed-env"], env={"PATH": os.environ["PATH"]}, check=True)
for flag in ("-I", "-E", "-S"):
    subprocess.run([sys.executable, flag, os.path.join("helpers", "unmeasurable_child.py")], check=True)
print("all children done")
