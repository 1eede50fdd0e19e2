import asyncio


def countdown(n):
    while n > 0:
        yield n
        n -= 1
    return "done"


def delegate():
    result = yield from countdown(3)
    yield result


async def fetch(x):
    await asyncio.sleep(0)
    return x * 2


async def main():
    values = await asyncio.gather(fetch(1), fetch(2))
    return sum(values)


print(list(delegate()))
gen = countdown(5)
print(next(gen), next(gen))
print(asyncio.run(main()))
