# Tasks for the gevent and eventlet scenarios: each yields to the hub between its lines, so the
# lines after a switch back run in a greenlet coverage.py has lost track of.
def task(name, sleep, log):
    log.append(f"{name} step 1")  # pycov: runs
    sleep(0)  # pycov: runs
    log.append(f"{name} step 2")  # pycov: runs
    sleep(0)  # pycov: runs
    log.append(f"{name} step 3")  # pycov: runs
    return name  # pycov: runs
