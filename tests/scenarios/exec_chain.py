# A program that replaces itself three times: os.execv, then os.execve with a scrubbed
# environment, then os.execlp found on PATH. coverage.py saves nothing before an exec, so it
# loses every stage; pycov keeps the lines of each.
import os  # pycov: runs
import sys  # pycov: runs

stage = sys.argv[1] if len(sys.argv) > 1 else "start"  # pycov: runs
if stage == "start":  # pycov: runs
    print("start", flush=True)  # pycov: runs
    os.execv(sys.executable, [sys.executable, __file__, "execve"])  # pycov: runs
elif stage == "execve":  # pycov: runs
    print("after execv", flush=True)  # pycov: runs
    # Only PATH survives, with the interpreter's directory first for execlp to find.
    path = os.path.dirname(sys.executable) + os.pathsep + os.environ["PATH"]  # pycov: runs
    os.execve(sys.executable, [sys.executable, __file__, "execlp"], {"PATH": path})  # pycov: runs
elif stage == "execlp":  # pycov: runs
    print("after execve, environment", sorted(k for k in os.environ if not k.startswith(("PYCOV", "PYTHONPATH", "LC_"))), flush=True)  # pycov: runs
    name = os.path.basename(sys.executable)  # pycov: runs
    os.execlp(name, name, __file__, "last")  # pycov: runs
else:
    print("last stage", stage)  # pycov: runs
