"""A small program whose work is spread over the places coverage.py does not look:
a thread started with _thread, a forked child that leaves through os._exit, and a
Python subprocess. `pycov run` measures all of them."""
import _thread
import os
import subprocess
import sys
import threading

from stock import Stock

stock = Stock({"apples": 5, "pears": 2})
restocked = threading.Event()


def restock_in_background():
    stock.add("pears", 10)
    restocked.set()


def audit_in_child():
    problems = stock.audit()
    print(f"child {os.getpid()}: audit found {len(problems)} problem(s)", flush=True)
    os._exit(0)


_thread.start_new_thread(restock_in_background, ())
restocked.wait(10)

pid = os.fork()
if pid == 0:
    audit_in_child()
os.waitpid(pid, 0)

subprocess.run([sys.executable, "report_stock.py", "apples=5", "pears=12"], check=True)
print("parent: stock is", stock.items)
