# Python subprocesses started every usual way, one with a scrubbed environment. Without
# concurrency settings and COVERAGE_PROCESS_START, coverage.py measures none of the children;
# pycov measures each, the scrubbed one thanks to the supervisor. Children started with
# python3 -I or -E ignore PYTHONPATH, where pycov's bootstrap is, and -S imports no `site`,
# which imports it: the supervisor preloads a start-up into them (one also scrubbed, one with
# an LD_PRELOAD of its own), and they see the same sys.path and environment as unmeasured.
# The python3 of a virtual environment made with --copies is a copy of the interpreter, not a
# link to it: still CPython 3.11, measured scrubbed and isolated too.
import os
import subprocess
import sys
import tempfile
import venv

child = os.path.join("helpers", "subprocess_child.py")
subprocess.run([sys.executable, child, "subprocess.run"], check=True)
os.system(f"{sys.executable} {child} os.system")
subprocess.run(f"{sys.executable} {child} shell", shell=True, check=True)
subprocess.run(["/bin/sh", "-c", f"exec {sys.executable} {child} sh-exec"], check=True)
subprocess.run([sys.executable, child, "scrubbed-env"], env={"PATH": os.environ["PATH"]}, check=True)
isolated_child = os.path.join("helpers", "isolated_child.py")
for flag in ("-I", "-E"):
    subprocess.run([sys.executable, flag, isolated_child], check=True)
subprocess.run([sys.executable, "-I", isolated_child], env={"PATH": os.environ["PATH"]}, check=True)
subprocess.run([sys.executable, "-E", isolated_child], env=dict(os.environ, LD_PRELOAD="libm.so.6 "), check=True)
subprocess.run([sys.executable, "-S", isolated_child], check=True)
subprocess.run([sys.executable, "-IS", isolated_child, "-E"], check=True)
# With the debug hooks on the allocators (-X dev, PYTHONMALLOC=debug), which the interpreter sets
# up after the start-up was preloaded: each must still exit as it does unmeasured.
subprocess.run([sys.executable, "-E", "-X", "dev", isolated_child], check=True)
subprocess.run([sys.executable, "-S", isolated_child], env=dict(os.environ, PYTHONMALLOC="debug"), check=True)
with tempfile.TemporaryDirectory() as environment:
    venv.create(environment, symlinks=False)
    copied = os.path.join(environment, "bin", "python3")
    copied_child = os.path.join("helpers", "copied_interpreter_child.py")
    subprocess.run([copied, copied_child, "scrubbed-env"], env={"PATH": os.environ["PATH"]}, check=True)
    subprocess.run([copied, "-I", copied_child, "isolated"], check=True)
print("all children done")
