# Lines that only load a value and return it ("quiet returns") need no line event: the frame
# hook records them when a frame returns from there. Code whose other lines are all recorded
# runs untraced; each such line must still be recorded, whenever it first runs.
import threading


def search(items, wanted):
    for index, item in enumerate(items):
        if item == wanted:
            return index
    return None


def total(values):
    result = 0
    for value in values:
        result += value
    return result


def numbers(count):
    for n in range(count):
        yield n
    return count


def unbound(flag, early):
    if flag:
        value = 1
    if early:
        return 0
    return value


def paused_late(values, stop):
    for value in values:
        if value == stop:
            return value
    return -1


def main():
    items = list(range(20))
    for wanted in range(20):
        search(items, wanted)  # warm-up: every line but `return None`
    found = [search(items, 99)]  # `return None` first runs in an untraced frame
    found.append(total(range(10)))
    for _ in range(5):
        found.append(sum(numbers(3)))
    found.append(unbound(True, True))
    try:
        unbound(False, False)  # UnboundLocalError at `return value`, never returned from
    except UnboundLocalError:
        found.append("unbound")
    for stop in range(3):
        found.append(paused_late(range(100), stop))
    found.append(paused_late(range(100), -5))  # a traced frame paused at its last line but one
    thread = threading.Thread(target=lambda: found.append(search(items, -1)))
    thread.start()
    thread.join()
    return found


print(main())
