# Exceptions thrown into suspended generators and coroutines, caught and not: a frame resumed
# by throw() records the arcs coverage.py records (from the `await` or `yield from` it was in,
# or from the entry).


def catches():
    while True:
        try:
            yield 1
        except KeyError:
            print("caught")


def lets_through():
    yield 1
    yield 2


def inner():
    yield 1
    yield 2


def delegates():
    try:
        yield from inner()
    except KeyError:
        yield "delegator caught"


def delegates_to_an_iterator():
    try:
        yield from iter([1, 2, 3])
    except KeyError:
        yield "caught past a plain iterator"


class Pending:
    def __await__(self):
        yield "pending"


async def awaits_and_catches():
    try:
        await Pending()
    except KeyError:
        return "coroutine caught"


async def awaits_and_lets_through():
    await Pending()
    return "never"


def throw_into(generator, first, error):
    first(generator)
    try:
        return generator.throw(error)
    except (KeyError, StopIteration) as stop:
        return type(stop).__name__


print(throw_into(catches(), next, KeyError))
print(throw_into(lets_through(), next, KeyError))
print(throw_into(delegates(), next, KeyError))
print(throw_into(delegates_to_an_iterator(), next, KeyError))
print(throw_into(awaits_and_catches(), lambda c: c.send(None), KeyError))
print(throw_into(awaits_and_lets_through(), lambda c: c.send(None), KeyError))
fresh = lets_through()
print(throw_into(fresh, lambda g: None, KeyError))


# The same, thrown into frames that start untraced: every line and arc of these generators and
# coroutines is recorded first.
def managed():
    try:
        yield 1
    finally:
        print("closed")


def pending():
    yield 1


async def awaits_warm(fail):
    try:
        await Pending()
    except KeyError:
        return "warm coroutine caught"
    finally:
        if fail:
            print("finally")


for _ in range(20):
    for value in managed():
        pass
    for value in pending():
        pass
    warm = awaits_warm(False)
    warm.send(None)
    try:
        warm.send(None)
    except StopIteration:
        pass
print(throw_into(managed(), next, KeyError))
print(throw_into(pending(), next, KeyError))
print(throw_into(pending(), lambda g: None, KeyError))
pending().close()
print(throw_into(awaits_warm(True), lambda c: c.send(None), KeyError))
