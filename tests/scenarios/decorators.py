import functools


def logged(func):
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        print("calling", func.__name__)
        return func(*args, **kwargs)
    return wrapper


def repeat(times):
    def decorate(func):
        def wrapper(*args):
            return [func(*args) for _ in range(times)]
        return wrapper
    return decorate


@logged
def greet(name):
    return f"hello {name}"


@repeat(2)
@logged
def shout(word):
    return word.upper()


@logged
def never_called():
    return None


print(greet("x"), shout("y"))
