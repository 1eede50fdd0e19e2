# What the program can see of its interpreter must not change under measurement.
import sys

print("argv", sys.argv)
print("path", sys.path)
print("main", __name__, __file__)
print("trace", sys.gettrace(), sys.getprofile())
site_module = sys.modules.get("sitecustomize")
print("sitecustomize", getattr(site_module, "__file__", None))
print("pycov modules", sorted(name for name in sys.modules if "pycov" in name and name != "_pycov_tracer"))
# Functions of os that pycov wraps answer as the originals do.
import inspect  # noqa: E402
import os  # noqa: E402

for name in ("_exit", "setuid", "seteuid", "setreuid", "setresuid"):
    function = getattr(os, name)
    print(name, repr(function), function.__self__, function.__module__, function.__qualname__,
          function.__doc__, inspect.signature(function))
