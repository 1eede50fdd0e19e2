def add(a, b):
    return a + b


def unused(x):
    return x * 2


def with_default(a, b=10,
                 c=20):
    if a > b:
        return a
    return b + c


print(add(1, 2), with_default(1), with_default(50))
