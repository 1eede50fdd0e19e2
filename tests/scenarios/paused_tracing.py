# Recursion makes the outer frame's code complete early (its deeper calls run every line), so
# pycov stops tracing that frame while it keeps running; lines it then reaches through calls,
# generators and exceptions for the first time must still be recorded.
calls = []


def late():
    calls.append(1)
    if len(calls) == 30:
        return "late"  # first run long after the outer frame stopped being traced
    return "early"


def numbers(limit):
    for n in range(limit):
        yield n
    if limit > 3:
        yield "extra"  # first run from the paused frame


def risky(count):
    if count == 41:
        raise ValueError(count)  # raised through the paused frame
    return count


def walk(depth, seen):
    if depth == 0:
        seen.append(late())
        return
    for _ in range(2):
        walk(depth - 1, seen)
    seen.extend(numbers(depth))


seen = []
walk(5, seen)
try:
    for count in range(45):
        risky(count)
except ValueError as error:
    print("caught", error)
print(len(seen), seen.count("late"), seen.count("extra"))
