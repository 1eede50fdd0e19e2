# A quiet return that the frame hook records (the function's frames run untraced by then) is
# in the hit file before the caller goes on: os._exit right after it loses nothing.
import os  # pycov: runs


def search(items, wanted):  # pycov: runs
    for index, item in enumerate(items):  # pycov: runs
        if item == wanted:  # pycov: runs
            return index  # pycov: runs
    return None  # pycov: runs


items = list(range(10))  # pycov: runs
for wanted in items:  # pycov: runs
    search(items, wanted)  # pycov: runs
result = search(items, -1)  # pycov: runs
os._exit(0 if result is None else 1)  # pycov: runs
