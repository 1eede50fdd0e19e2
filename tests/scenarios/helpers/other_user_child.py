# Run by switches_user.py as another user.
import os  # pycov: runs

print("runs as", os.geteuid())  # pycov: runs
