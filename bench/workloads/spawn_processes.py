"""Starts 200 short processes one after another: 100 non-Python (/bin/true) and 100 Python
(python3 -c pass). The cost of following a process tree, per process.

With PYCOV_BENCH_SPAWN_TIMES set, it writes there the median time of one start, in
microseconds, of each kind ("/bin/true" and "python3 -c pass"): a median of 100 is not moved
by the bursts of a shared machine, as the whole run's time is. PYCOV_BENCH_SPAWN_EACH=N
starts N of each kind instead of 100 (the benchmark's short runs)."""
import os
import statistics
import subprocess
import sys
import time

true_starts, python_starts = [], []
for i in range(int(os.environ.get("PYCOV_BENCH_SPAWN_EACH", "100"))):
    started = time.perf_counter_ns()
    subprocess.run(["/bin/true"], check=True)
    middle = time.perf_counter_ns()
    subprocess.run([sys.executable, "-c", "pass"], check=True)
    true_starts.append(middle - started)
    python_starts.append(time.perf_counter_ns() - middle)

if "PYCOV_BENCH_SPAWN_TIMES" in os.environ:
    with open(os.environ["PYCOV_BENCH_SPAWN_TIMES"], "w") as out:
        out.write(f"{statistics.median(true_starts) / 1000:.1f} {statistics.median(python_starts) / 1000:.1f}\n")
