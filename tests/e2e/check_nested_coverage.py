"""coverage.py itself under pycov: its C tracer (installed with PyEval_SetTrace) is chained
behind pycov's, so its data for the inner program must equal what it records alone, while
pycov measures coverage.py's own code."""
import os
import shutil
import subprocess
import sys
import tempfile

from coverage import CoverageData

pycov, python, scenarios = os.path.abspath(sys.argv[1]), sys.argv[2], os.path.abspath(sys.argv[3])
failures = []
work = tempfile.mkdtemp(prefix="pycov-nested-")
try:
    for program in ("functions.py", "generators.py", "exceptions.py"):
        shutil.copy(os.path.join(scenarios, program), work)
        env = dict(os.environ)
        alone = subprocess.run([python, "-m", "coverage", "run", "--branch", program], cwd=work,
                               env=dict(env, COVERAGE_FILE="alone.cov"), capture_output=True, text=True)
        nested = subprocess.run([pycov, "run", "--python", python, "--data-file", "outer.cov",
                                 "--include", "/usr/lib/python3/dist-packages/coverage/*",
                                 "-m", "coverage", "run", "--branch", program], cwd=work,
                                env=dict(env, COVERAGE_FILE="inner.cov"), capture_output=True, text=True)
        if (alone.returncode, alone.stdout, alone.stderr) != (nested.returncode, nested.stdout, nested.stderr):
            failures.append(f"{program}: output differs:\n{alone}\n{nested}")
        data = {}
        for name in ("alone.cov", "inner.cov", "outer.cov"):
            data[name] = CoverageData(basename=os.path.join(work, name))
            data[name].read()
        path = os.path.join(work, program)
        if set(data["alone.cov"].arcs(path) or ()) != set(data["inner.cov"].arcs(path) or ()):
            failures.append(f"{program}: coverage.py's arcs changed under pycov")
        if not data["alone.cov"].arcs(path):
            failures.append(f"{program}: coverage.py recorded nothing alone")
        if not any(p.endswith("/coverage/collector.py") for p in data["outer.cov"].measured_files()):
            failures.append(f"{program}: pycov did not measure coverage.py's own code")
finally:
    shutil.rmtree(work, ignore_errors=True)
for failure in failures:
    print("FAIL:", failure)
print("ok" if not failures else f"{len(failures)} problem(s)")
sys.exit(1 if failures else 0)
