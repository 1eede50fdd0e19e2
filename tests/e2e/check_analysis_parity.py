"""Source analysis parity: for every top-level module of the standard library, pycov report's
statements, misses and exclusions equal those of Debian's coverage.py, computed from the same
data file (every file listed, no line executed)."""
import glob
import json
import os
import subprocess
import sys
import tempfile

from coverage import CoverageData

pycov = os.path.abspath(sys.argv[1])
python = sys.argv[2]
stdlib = sys.argv[3] if len(sys.argv) > 3 else "/usr/lib/python3.11"

with tempfile.TemporaryDirectory(prefix="pycov-parity-") as work:
    files = sorted(glob.glob(os.path.join(stdlib, "*.py")))
    data = CoverageData(basename=os.path.join(work, "data.cov"))
    data.add_lines({path: [] for path in files})
    data.write()
    subprocess.run([pycov, "report", "--format", "json", "--data-file", "data.cov", "-o", "ours.json"],
                   cwd=work, check=True)
    subprocess.run([python, "-m", "coverage", "json", "-q", "--data-file", "data.cov", "-o", "ref.json"],
                   cwd=work, check=True)
    with open(os.path.join(work, "ours.json")) as f:
        ours = json.load(f)["files"]
    with open(os.path.join(work, "ref.json")) as f:
        ref = json.load(f)["files"]

failures = []
if set(ours) != set(ref):
    failures.append(f"files differ: only pycov {sorted(set(ours) - set(ref))}, only coverage.py {sorted(set(ref) - set(ours))}")
for name in sorted(set(ours) & set(ref)):
    for key in ("missing_lines", "excluded_lines"):
        if ours[name][key] != ref[name][key]:
            a, b = set(ours[name][key]), set(ref[name][key])
            failures.append(f"{name} {key}: only pycov {sorted(a - b)}, only coverage.py {sorted(b - a)}")
for failure in failures:
    print("FAIL:", failure)
print(f"{len(ref)} files compared, {len(failures)} difference(s)")
sys.exit(1 if failures or len(ref) < 100 else 0)
