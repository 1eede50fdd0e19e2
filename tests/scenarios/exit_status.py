import sys

print("before exit")
sys.stdout.flush()
print("to stderr", file=sys.stderr)
sys.exit(3)
print("never")
