# Processes that run as another user: a Python child started with subprocess's user=, and a
# worker that a process forks after it dropped root with os.setuid. Their lines are measured
# as every other process's are. (The tests run as root.)
import os
import subprocess
import sys

NOBODY = 65534
DAEMON = 1  # another user: each gets a directory of its own in pycov's run directory
# The other user reads the scenario's files, in a directory only root may enter otherwise.
os.chmod(os.path.dirname(os.path.abspath(__file__)), 0o755)

child = subprocess.run([sys.executable, "helpers/other_user_child.py"], user=NOBODY, group=NOBODY,
                       capture_output=True, text=True)
print("child:", child.stdout.strip(), child.returncode)

pid = os.fork()
if pid == 0:
    os.setgid(DAEMON)  # pycov: runs
    os.setuid(DAEMON)  # pycov: runs
    worker = os.fork()  # pycov: runs
    if worker == 0:  # pycov: runs
        print("worker runs as", os.geteuid(), flush=True)  # pycov: runs
        os._exit(0)  # pycov: runs
    os.waitpid(worker, 0)  # pycov: runs
    os._exit(0)  # pycov: runs
os.waitpid(pid, 0)
