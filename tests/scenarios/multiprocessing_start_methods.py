# Workers of every multiprocessing start method (argv[1]: fork, spawn or forkserver), through
# Pool.map, Process and ProcessPoolExecutor: coverage.py's defaults lose the workers' lines.
import multiprocessing
import sys
from concurrent.futures import ProcessPoolExecutor


def square(x):
    return x * x  # pycov: runs


def cube(x):
    return x * x * x  # pycov: runs


if __name__ == "__main__":
    context = multiprocessing.get_context(sys.argv[1])
    with context.Pool(2) as pool:
        print(sys.argv[1], pool.map(square, range(5)))
    process = context.Process(target=cube, args=(3,))
    process.start()
    process.join()
    with ProcessPoolExecutor(2, mp_context=context) as executor:
        print(list(executor.map(cube, range(3))))
