"""A player of the benchmark's turn-taking measurement of the supervisor (bench/run): several
runs of this program, each under its own supervisor (or none), take turns of a few starts
each, so that runs under different supervisors start their processes a fraction of a second
apart and the machine's drift falls on all of them alike.

usage: spawn_turns.py GO DONE TIMES EACH
At each b"g" read from the FIFO GO, starts EACH times /bin/true and then python3 -c pass, one
after another as the spawn workload does, each timed, and writes b"d" to the FIFO DONE; at
anything else writes the times (ns, one line a pair of starts) to TIMES."""
import os
import subprocess
import sys
import time

go_path, done_path, times_path, each = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
# Opened for reading and writing: opening a FIFO for one of them alone waits for the other end.
go = os.open(go_path, os.O_RDWR)
done = os.open(done_path, os.O_RDWR)
times = []
while os.read(go, 1) == b"g":
    for _ in range(each):
        started = time.perf_counter_ns()
        subprocess.run(["/bin/true"], check=True)
        middle = time.perf_counter_ns()
        subprocess.run([sys.executable, "-c", "pass"], check=True)
        times.append((middle - started, time.perf_counter_ns() - middle))
    os.write(done, b"d")
with open(times_path, "w") as out:
    out.writelines(f"{true_ns} {python_ns}\n" for true_ns, python_ns in times)
