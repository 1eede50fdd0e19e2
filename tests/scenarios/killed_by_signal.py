# The program kills itself: the lines it ran are kept, and pycov dies of the same signal.
import os  # pycov: runs
import signal  # pycov: runs

print("about to die", flush=True)  # pycov: runs
marker = "ran before the kill"  # pycov: runs
os.kill(os.getpid(), signal.SIGKILL)  # pycov: runs
print("never")
