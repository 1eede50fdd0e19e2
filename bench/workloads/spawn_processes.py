"""Starts 200 short processes one after another: 100 non-Python (/bin/true) and 100 Python
(python3 -c pass). The cost of following a process tree, per process."""
import subprocess
import sys

for i in range(100):
    subprocess.run(["/bin/true"], check=True)
    subprocess.run([sys.executable, "-c", "pass"], check=True)
