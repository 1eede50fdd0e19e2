"""A program that traces a child of its own with ptrace, as a debugger or strace would.

The child asks to be traced (PTRACE_TRACEME) and stops; the parent sees the stop, resumes the
child and reads how it ended. Under `pycov run`, which follows execs without ptrace, this works
as it does unmeasured; a child that pycov itself traced could not be traced by its parent.
"""
import ctypes
import os
import signal

libc = ctypes.CDLL(None, use_errno=True)
PTRACE_TRACEME, PTRACE_CONT = 0, 7

pid = os.fork()
if pid == 0:
    traced = libc.ptrace(PTRACE_TRACEME, 0, None, None) == 0  # pycov: runs
    if traced:  # pycov: runs
        os.kill(os.getpid(), signal.SIGSTOP)  # pycov: runs
    os._exit(0 if traced else 1)  # pycov: runs
_, status = os.waitpid(pid, 0)
stopped = os.WIFSTOPPED(status) and os.WSTOPSIG(status) == signal.SIGSTOP
print("child stopped for its tracer:", stopped)
if stopped:
    libc.ptrace(PTRACE_CONT, pid, None, None)
    _, status = os.waitpid(pid, 0)
print("child exit status:", os.waitstatus_to_exitcode(status))
