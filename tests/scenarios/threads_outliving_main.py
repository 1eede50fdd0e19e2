# Threads still running when the main thread's code ends: a daemon thread and a _thread
# thread that keep working until the interpreter shuts down.
import _thread
import threading
import time

started = threading.Event()
raw_started = threading.Event()


def daemon_work():
    started.set()  # pycov: runs
    while True:  # pycov: runs
        time.sleep(0.001)  # pycov: runs


def raw_work():
    raw_started.set()  # pycov: runs
    while True:  # pycov: runs
        time.sleep(0.001)  # pycov: runs


threading.Thread(target=daemon_work, daemon=True).start()
_thread.start_new_thread(raw_work, ())
started.wait(10)
raw_started.wait(10)
print("main thread ends while two threads still run")
