# A daemon: double fork and setsid. The grandchild works on after the program has exited;
# pycov waits for it (within --orphan-grace) and keeps its lines.
import os
import time


def daemon_work():
    time.sleep(0.3)  # pycov: runs
    with open("daemon.out", "w") as out:  # pycov: runs
        out.write("daemon finished\n")  # pycov: runs


if os.fork() == 0:
    os.setsid()  # pycov: runs
    if os.fork() == 0:  # pycov: runs
        daemon_work()  # pycov: runs
    os._exit(0)  # pycov: runs
print("program exits before its daemon")
