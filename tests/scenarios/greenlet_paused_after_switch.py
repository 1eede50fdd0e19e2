# The frame a greenlet switch resumes runs untraced when its code has nothing left to record
# for its greenlet (pycov pauses tracing in it until it leaves or switches again). What it
# calls, the frame it returns to, and the frame of the greenlet it switches to must still be
# traced where they have lines to record.
import greenlet


def helper(i, final):
    if final and i == 2:
        return "new"  # first run from a paused frame  # pycov: runs
    return "old"


def ping(count, final):
    # Complete for greenlets after the warm-up: every line below has run in a greenlet.
    for i in range(count):
        greenlet.getcurrent().parent.switch(helper(i, final))
    return count


def outer(count, final):
    result = ping(count, final)
    if final:
        result += 100  # first run after a paused frame returned  # pycov: runs
    return result


def drive(count, final):
    g = greenlet.greenlet(outer)
    values = [g.switch(count, final)]
    while not g.dead:
        values.append(g.switch())
        if final and len(values) == 2:
            values.append("main")  # first run after a switch from a paused frame  # pycov: runs
    return values


for _ in range(3):
    drive(3, False)
print(drive(3, True))
