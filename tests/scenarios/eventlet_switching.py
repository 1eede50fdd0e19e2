# eventlet green threads that switch to the hub in the middle of functions of another file.
import eventlet

from helpers.cooperative_tasks import task


def main():
    log = []
    pool = eventlet.GreenPool()
    threads = [pool.spawn(task, name, eventlet.sleep, log) for name in ("a", "b")]
    results = [thread.wait() for thread in threads]
    after = len(log)  # pycov: runs
    print(log, results)  # pycov: runs
    return after  # pycov: runs


print(main())
