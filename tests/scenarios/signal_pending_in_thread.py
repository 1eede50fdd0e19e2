# A signal that only the main thread may handle arrives while the main thread waits in a
# system call for another thread, and the other thread then starts a traced frame.
# CPython 3.11 with a trace function dispatches the first instruction of such a frame again
# and again while the signal waits (the thread may not handle it, and the eval breaker stays
# set): the thread makes no progress until the main thread takes the interpreter back.
# Unmeasured the thread finishes at once, and the alarm, a way out if it did not, never rings.
import os
import signal
import threading
import time

handled = []
woken_by_alarm = []
signal.signal(signal.SIGUSR1, lambda number, frame: handled.append(threading.current_thread().name))
signal.siginterrupt(signal.SIGUSR1, False)  # the main thread's read goes on after the handler
signal.signal(signal.SIGALRM, lambda number, frame: woken_by_alarm.append(True))
from_worker, to_main = os.pipe()


def main_thread_reads():
    # /proc/self/task/TID/syscall: the number of the call the thread is blocked in, then its
    # arguments (read is 0 on x86-64; its first argument is the descriptor).
    with open(f"/proc/self/task/{threading.main_thread().native_id}/syscall") as status:
        return status.read().startswith(f"0 {hex(from_worker)} ")


def wait_until_main_thread_reads():
    deadline = time.monotonic() + 10
    # One line: the lines that run must not depend on how soon the main thread blocks.
    while not main_thread_reads() and time.monotonic() < deadline: time.sleep(0.001)


def first_frame_after_the_signal():
    return b"worker done"


def worker():
    wait_until_main_thread_reads()
    signal.pthread_kill(threading.main_thread().ident, signal.SIGUSR1)
    # The handler's C part runs in the main thread within this time; this thread keeps the
    # interpreter meanwhile (a blocking call would let it recompute the eval breaker).
    until = time.monotonic() + 0.2
    while time.monotonic() < until:
        pass
    os.write(to_main, first_frame_after_the_signal())


thread = threading.Thread(target=worker)
thread.start()
signal.alarm(3)
received = os.read(from_worker, 64)
signal.alarm(0)
thread.join()
print("received:", received)
print("signal handled in:", handled)
print("woken by the alarm:", woken_by_alarm)
