def first():
    return "first"


def later():
    return "later"
