# Greenlets switching between functions in different files: coverage.py loses the lines run
# after a switch back into this frame; pycov must not.
import greenlet

from greenlet_worker import worker


def run():
    main = greenlet.getcurrent()
    g = greenlet.greenlet(worker)
    print(g.switch(main))
    x = 10  # pycov: runs
    print(g.switch())  # pycov: runs
    y = 20  # pycov: runs
    print(g.switch())  # pycov: runs
    return x + y  # pycov: runs


print(run())
