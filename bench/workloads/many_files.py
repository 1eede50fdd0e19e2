"""100 Python processes, one after another, each importing and running 50 modules of its own:
5,000 measured files from 100 processes, for the cost of combining and reporting. Writes the
modules into the current directory the first time (or only that, with --prepare).
usage: many_files.py [--prepare | --worker N]"""
import importlib
import os
import subprocess
import sys

PROCESSES, MODULES = 100, 50
MODULE = '''\
def work(n):
    total = 0
    for i in range(n):
        if i % 3 == 0:
            total += i
        else:
            total -= 1
    return total


VALUE = work({n})
'''


def write_modules():
    for p in range(PROCESSES):
        package = f"pkg{p:03d}"
        if os.path.isdir(package):
            continue
        os.makedirs(package)
        open(os.path.join(package, "__init__.py"), "w").close()
        for m in range(MODULES - 1):  # with __init__.py, 50 files a package
            with open(os.path.join(package, f"mod{m:02d}.py"), "w") as f:
                f.write(MODULE.format(n=p + m))


if __name__ == "__main__":
    if sys.argv[1:2] == ["--worker"]:
        sys.path.insert(0, os.getcwd())
        p = int(sys.argv[2])
        for m in range(MODULES - 1):
            importlib.import_module(f"pkg{p:03d}.mod{m:02d}")
    else:
        write_modules()
        if sys.argv[1:2] == ["--prepare"]:
            sys.exit(0)
        for p in range(PROCESSES):
            subprocess.run([sys.executable, __file__, "--worker", str(p)], check=True)
