# A forked child that leaves through os._exit: coverage.py loses its lines, pycov must not.
import os
import sys


def child_work():
    total = sum(range(10))  # pycov: runs
    print("child", total, flush=True)  # pycov: runs
    os._exit(0)  # pycov: runs


pid = os.fork()
if pid == 0:
    child_work()  # pycov: runs
_, status = os.waitpid(pid, 0)
print("parent saw", os.waitstatus_to_exitcode(status))
sys.stdout.flush()
