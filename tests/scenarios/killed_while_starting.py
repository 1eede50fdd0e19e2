# Children killed the moment their hit file appears in the run directory, while the tracer
# is still creating it: pycov must not report a corrupt hit file for them. Unmeasured (and
# under coverage.py) there is no run directory, and each child is killed at once.
import os
import subprocess
import sys
import time

run_dir = os.environ.get("PYCOV_RUN_DIR")
for _ in range(20):
    before = set(os.listdir(run_dir)) if run_dir else set()
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    deadline = time.monotonic() + 10
    while run_dir and time.monotonic() < deadline and not set(os.listdir(run_dir)) - before:
        pass  # pycov: runs
    child.kill()
    child.wait()
print("children killed: 20")
