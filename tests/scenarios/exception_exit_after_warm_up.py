# An exception leaves a function through a call that CPython has run many times untraced.
# The bytecode that runs then holds the call's inline cache right after it, with a counter
# that changes as the call runs; at the exception's exit, the unit after the call read as
# RESUME, so the frame's exit was taken for a yield and its exit arc (17 -> exit) was lost.
# The number of calls before the exception is what lines the counter up (CPython 3.11).


def boom(n, k):
    if n == k: raise (KeyError if k % 2 else ValueError)(n)
    return n


def f1(n):
    acc = 0
    for i in range(n % 3):
        for i in range(n % 3):
            acc += boom(n, 2)
        try:
            for i in range(n % 3):
                acc += boom(n, 6)
        finally:
            acc += 100
    return acc


def call(f, n):
    try:
        return f(n)
    except (KeyError, ValueError) as e:
        return type(e).__name__


results = []
for n in list(range(13, 60)) + [13, 2]:
    results.append(call(f1, n))
print(results)
