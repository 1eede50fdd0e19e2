# Functions whose handlers do not run while they warm up: once every line and arc their frames
# reach without an exception is recorded, their frames start untraced. Then exceptions reach
# handlers, `with` exits and `finally` blocks that never ran, in frames that run untraced
# until the exception. What they record from there must be what coverage.py records: the
# handler's lines, the arc from the line that raised into the handler, the arc out of the
# frame when a `with` or `finally` re-raises (from the `with` or `finally` line, not from
# the line that raised first).
import contextlib


class Quiet:
    def __enter__(self):
        return self

    def __exit__(self, kind, value, traceback):
        return kind is KeyError


def divide(a, b):
    return a // b


def guarded(values):
    total = 0
    for value in values:
        try:
            total += divide(100, value)
        except ZeroDivisionError:
            total -= 1
            if total < -5:
                break
    return total


def with_block(n):
    with contextlib.nullcontext():
        result = divide(10, n)
    return result


def suppressed(n):
    with Quiet():
        if n < 0:
            raise KeyError(n)
        value = n * 2
    return n


def cleaned_up(n, log):
    try:
        return divide(10, n)
    finally:
        log.append(n)


def nested(n):
    try:
        try:
            return divide(1, n)
        finally:
            n += 1
    except ZeroDivisionError:
        return -n


def generator(n):
    try:
        for i in range(n):
            yield divide(10, n - i)
    except ZeroDivisionError:
        yield "zero"
        yield "after"
    finally:
        yield "finally"


def caller(n):
    try:
        return with_block(n)
    except ZeroDivisionError:
        return "caught above"


log = []
for i in range(1, 60):
    guarded([i, i + 1])
    with_block(i)
    suppressed(i)
    cleaned_up(i, log)
    nested(i)
    list(generator(2))
    caller(i)

late = [guarded([0, 1, 0, 2]), guarded([0] * 10), suppressed(-1), nested(0), caller(0)]
for f, args in ((with_block, (0,)), (cleaned_up, (0, log))):
    try:
        f(*args)
    except ZeroDivisionError:
        late.append(f.__name__)
late.append(list(generator(3)))
print(late, len(log))
