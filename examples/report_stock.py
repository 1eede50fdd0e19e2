import sys

for item in sys.argv[1:]:
    name, _, count = item.partition("=")
    print(f"subprocess: {name:>8} {int(count):4d}")
