def double(x):
    return 2 * x


def unused():
    return None
