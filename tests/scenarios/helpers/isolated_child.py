import os  # pycov: runs
import sys  # pycov: runs

# What the program can see of how it was started: the same measured as unmeasured.
flags = sys.flags.isolated, sys.flags.ignore_environment, sys.flags.no_site  # pycov: runs
site_module = sys.modules.get("sitecustomize")  # pycov: runs
print("isolated child:", flags, os.environ.get("LD_PRELOAD"), getattr(site_module, "__file__", None),  # pycov: runs
      sys.path, flush=True)  # pycov: runs
