# Functions called often enough that their code becomes complete (every line, and with
# --branch every arc their bytecode can take, recorded) and then runs untraced. What they do
# after that must be recorded as coverage.py records it: exceptions leaving them from lines
# without a raise, through callers that are complete too, failing asserts, exceptions thrown
# into generators.


def divide(a, b):
    quotient = a // b
    return quotient


def parse(text):
    value = int(text)
    if value > 5:
        return value
    return -value


def through(a, b):
    result = divide(a, b)
    return result + 1


def numbers(n):
    for i in range(n):
        yield i


def guarded(n):
    try:
        return 10 // n
    except ZeroDivisionError:
        return 0


def checked(n):
    assert n >= 0
    return n


for i in range(1, 60):
    divide(i, i)
    parse(str(i))
    through(i, 1)
    sum(numbers(3))
    guarded(i)
    checked(i)

late = []
try:
    divide(1, 0)
except ZeroDivisionError:
    late.append("divide")
try:
    parse("not a number")
except ValueError:
    late.append("parse")
try:
    through(1, 0)
except ZeroDivisionError:
    late.append("through")
generator = numbers(5)
next(generator)
try:
    generator.throw(KeyError("thrown in"))
except KeyError:
    late.append("throw")
closed = numbers(5)
next(closed)
closed.close()
late.append(guarded(0))
try:
    checked(-1)
except AssertionError:
    late.append("assert")
print(late)
