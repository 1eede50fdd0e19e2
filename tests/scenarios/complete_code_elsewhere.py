# A function whose every line the main thread has run, run again by a threading thread, a
# raw _thread thread and a forked child: each must still record its lines, although the main
# thread no longer needs to trace that function.
import _thread
import os
import threading
import time


def work(x):
    doubled = x * 2
    return doubled + 1


for i in range(100):
    work(i)

worker = threading.Thread(target=work, args=(1,))
worker.start()
worker.join()

finished = []
_thread.start_new_thread(lambda: finished.append(work(2)), ())
while not finished:
    time.sleep(0.01)

pid = os.fork()
if pid == 0:
    work(3)
    os._exit(0)
os.waitpid(pid, 0)


def late_branch(x):
    if x > 1000:
        return "late"  # run only on the last call, long after the others
    return "early"


for i in range(1002):
    late_branch(i)
print("done")
