# Each greenlet has its own frames: a frame a switch resumes goes on from the line that
# switched, so with --branch the arc from that line is recorded, whichever greenlets ran in
# between. Workers switch inside an `if` condition, so those arcs are its two branches.
import weakref

import greenlet


def worker(n):
    total = 0
    for i in range(n):
        if greenlet.getcurrent().parent.switch(i):
            total += 1  # pycov: arc from 12
        else:
            total -= 1  # pycov: arc from 12
    return total


def nested(depth):
    if depth:
        return nested(depth - 1) + 1
    value = greenlet.getcurrent().parent.switch("down")
    return value  # pycov: arc from 22


def never_complete(depth):
    if depth < 0:
        raise ValueError(depth)  # never runs: frames of this code stay traced
    if depth:
        return never_complete(depth - 1) + 1
    value = greenlet.getcurrent().parent.switch("down")
    return value  # pycov: arc from 31


def main():
    workers = [greenlet.greenlet(worker) for _ in range(3)]
    results = [w.switch(4) for w in workers]
    turn = 0
    while any(not w.dead for w in workers):
        for w in workers:
            if not w.dead:
                results.append(w.switch(turn % 2 == 0))
                turn += 1
    deep = greenlet.greenlet(nested)
    results.append(deep.switch(5))
    results.append(deep.switch(10))
    # Many suspended at once, resumed in the opposite order.
    crowd = [greenlet.greenlet(never_complete) for _ in range(150)]
    results.append(sum(g.switch(2) == "down" for g in crowd))
    # What pycov keeps for them is not the program's to see: no weak references, for one.
    results.append(sum(weakref.getweakrefcount(g) for g in crowd))
    results.append(sum(g.switch(1) for g in reversed(crowd)))
    # One at a time, each ended before the next starts (which may take the same address).
    for n in range(300):
        one = greenlet.greenlet(never_complete)
        one.switch(n % 3)
        results[-1] += one.switch(0)
    # A greenlet left suspended and dropped: GreenletExit is thrown into it where it switched.
    left = greenlet.greenlet(worker)
    results.append(left.switch(2))
    del left
    return results


def after_a_failing_trace_function():
    # A greenlet trace function of the program's raises: greenlet removes it, and the switch
    # raises its error, which ends the greenlet switched to. Switches are not followed until
    # pycov's trace function comes back; the frame that switched goes on from its line.
    hub = greenlet.getcurrent()
    waiting = greenlet.greenlet(lambda: hub.switch())
    waiting.switch()

    def failing_trace(event, args):
        raise LookupError(event)

    greenlet.settrace(failing_trace)
    caught = switch_catching(waiting)
    return caught, greenlet.gettrace()  # pycov: arc from 77


def switch_catching(other):
    try:
        other.switch()
    except LookupError as error:
        return str(error)


print(main())
print(after_a_failing_trace_function())
