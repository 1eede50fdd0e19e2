# Pool workers that the pool terminates while they still run (argv[1]: the start method).
# coverage.py saves a worker's data when the worker exits normally, so it loses these lines.
import multiprocessing
import os
import sys
import time


def stuck(marker):
    # One line: the marker tells the parent it may terminate the worker, so every line the
    # worker is expected to run must have started before the marker exists.
    open(marker, "w").close(); time.sleep(60)  # pycov: runs
    return "never"


if __name__ == "__main__":
    context = multiprocessing.get_context(sys.argv[1])
    marker = os.path.abspath(f"stuck-{sys.argv[1]}.started")
    pool = context.Pool(1)
    pool.apply_async(stuck, (marker,))
    # Sleep at least once so that the loop's lines run however fast the worker starts.
    while True:
        time.sleep(0.01)
        if os.path.exists(marker):
            break
    pool.terminate()
    pool.join()
    os.remove(marker)
    print("terminated the pool's worker")
