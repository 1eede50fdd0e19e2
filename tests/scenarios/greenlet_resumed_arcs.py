# Each greenlet has its own frames: a frame a switch resumes goes on from the line that
# switched, so with --branch the arc from that line is recorded, whichever greenlets ran in
# between. Workers switch inside an `if` condition, so those arcs are its two branches.
import greenlet


def worker(n):
    total = 0
    for i in range(n):
        if greenlet.getcurrent().parent.switch(i):
            total += 1  # pycov: arc from 10
        else:
            total -= 1  # pycov: arc from 10
    return total


def nested(depth):
    if depth:
        return nested(depth - 1) + 1
    value = greenlet.getcurrent().parent.switch("down")
    return value  # pycov: arc from 20


def never_complete(depth):
    if depth < 0:
        raise ValueError(depth)  # never runs: frames of this code stay traced
    if depth:
        return never_complete(depth - 1) + 1
    value = greenlet.getcurrent().parent.switch("down")
    return value  # pycov: arc from 29


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


print(main())
