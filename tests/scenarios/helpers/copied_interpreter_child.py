import sys  # pycov: runs

print("child of a copied interpreter:", sys.argv[1], sys.prefix != sys.base_prefix, flush=True)  # pycov: runs
