"""Times the tracer's start-up in one Python process. Run under `pycov run --sandbox off`, it
starts `python3 -c pass` 100 times without pycov's variables (unmeasured) and 100 times with
them (measured), alternating start by start, and prints the median unmeasured start and the
median of the 100 differences, in microseconds. Alternating start by start keeps the drift
of a shared machine, which moves whole runs by tens of percent, out of the difference."""
import os
import statistics
import subprocess
import sys
import time

measured = dict(os.environ)
unmeasured = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYCOV_RUN_DIR")}
if "PYCOV_RUN_DIR" not in measured:
    sys.exit("tracer_startup.py runs under `pycov run --sandbox off`")


def start(env):
    started = time.perf_counter_ns()
    subprocess.run([sys.executable, "-c", "pass"], env=env, check=True)
    return (time.perf_counter_ns() - started) / 1000


plain, differences = [], []
for _ in range(100):
    without = start(unmeasured)
    plain.append(without)
    differences.append(start(measured) - without)
print(f"{statistics.median(plain):.0f} {statistics.median(differences):.0f}")
