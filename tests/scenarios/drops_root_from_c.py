# A process that drops root from C code (here through ctypes), where pycov's os.setuid does
# not see it, then forks: the worker cannot create its hit file in pycov's run directory. It
# says so on its stderr, as a process that is not measured does, rather than lose its lines
# unnoticed. (The tests run as root.)
import ctypes
import os

libc = ctypes.CDLL(None, use_errno=True)
pid = os.fork()
if pid == 0:
    if libc.setgid(2) != 0 or libc.setuid(2) != 0:  # pycov: runs
        os._exit(1)
    worker = os.fork()  # pycov: runs
    if worker == 0:  # pycov: runs
        os._exit(0)  # the worker's line: not measured, and said so
    os.waitpid(worker, 0)  # pycov: runs
    os._exit(0)  # pycov: runs
print("dropped root, forked, and ended with", os.waitpid(pid, 0)[1])
