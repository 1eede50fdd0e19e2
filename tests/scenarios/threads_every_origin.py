# Lines marked "pycov: runs" execute in a _thread thread or a thread created by C code:
# coverage.py misses them by default, pycov must not.
import _thread
import ctypes
import threading
import time

done = threading.Event()


def raw_thread_body(tag):
    message = f"raw {tag}"  # pycov: runs
    done.set()  # pycov: runs


def native_thread_body(arg):
    value = 40 + 2  # pycov: runs
    print("native", value)  # pycov: runs
    return 0  # pycov: runs


def threading_body():
    print("threading")  # pycov: runs


_thread.start_new_thread(raw_thread_body, ("a",))
done.wait(10)

libc = ctypes.CDLL(None)
THREAD_START = ctypes.CFUNCTYPE(ctypes.c_void_p, ctypes.c_void_p)
callback = THREAD_START(native_thread_body)
thread_id = ctypes.c_ulong()
assert libc.pthread_create(ctypes.byref(thread_id), None, callback, None) == 0
libc.pthread_join(thread_id, None)

t = threading.Thread(target=threading_body)
t.start()
t.join()
print("main done")
