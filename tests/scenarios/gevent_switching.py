# gevent greenlets that switch to the hub in the middle of functions of another file.
import gevent

from helpers.cooperative_tasks import task


def main():
    log = []
    jobs = [gevent.spawn(task, name, gevent.sleep, log) for name in ("a", "b")]
    gevent.joinall(jobs)
    after = len(log)  # pycov: runs
    print(log, [job.value for job in jobs])  # pycov: runs
    return after  # pycov: runs


print(main())
