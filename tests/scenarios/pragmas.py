import sys


def debug_only():  # pragma: no cover
    print("debugging")
    return 1


if sys.argv[-1] == "never":  # pragma: no cover
    print("excluded branch")
else:
    print("normal")

value = (1 +
         2 +
         3)
text = """multi
line
string"""
print(value, len(text))
