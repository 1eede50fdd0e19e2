import sys  # pycov: runs

route = sys.argv[1]  # pycov: runs
print("child started by", route, flush=True)  # pycov: runs
