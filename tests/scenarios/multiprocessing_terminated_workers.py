# Pool workers that the pool terminates while they still run (argv[1]: the start method).
# coverage.py saves a worker's data when the worker exits normally, so it loses these lines.
import multiprocessing
import os
import sys
import time


def stuck(marker):
    open(marker, "w").close()  # pycov: runs
    time.sleep(60)  # pycov: runs
    return "never"


if __name__ == "__main__":
    context = multiprocessing.get_context(sys.argv[1])
    marker = os.path.abspath(f"stuck-{sys.argv[1]}.started")
    pool = context.Pool(1)
    pool.apply_async(stuck, (marker,))
    while not os.path.exists(marker):
        time.sleep(0.01)
    pool.terminate()
    pool.join()
    os.remove(marker)
    print("terminated the pool's worker")
