# Forked children that end badly: one kills itself with SIGKILL, one crashes with SIGSEGV
# through ctypes. coverage.py saves a child's data at exit, so both children's lines are lost.
import ctypes
import os
import resource
import signal


def die_by_sigkill():
    message = "child about to be killed"  # pycov: runs
    os.kill(os.getpid(), signal.SIGKILL)  # pycov: runs


def crash():
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # pycov: runs
    message = "child about to crash"  # pycov: runs
    ctypes.string_at(0)  # pycov: runs


for child in (die_by_sigkill, crash):
    pid = os.fork()
    if pid == 0:
        child()  # pycov: runs
        os._exit(0)
    _, status = os.waitpid(pid, 0)
    print(child.__name__, "ended by signal", signal.Signals(os.WTERMSIG(status)).name)
