# A program that uses sys.settrace itself, DecoratorTools style: it saves the current trace
# function, installs its own, and restores the old one. Its output (the events it saw)
# must be the same measured and unmeasured, and pycov must keep measuring.
import sys

seen = []


def my_tracer(frame, event, arg):
    if frame.f_code.co_name == "traced":
        seen.append((event, frame.f_lineno - frame.f_code.co_firstlineno))
        return my_tracer
    return None


def traced(n):
    x = n + 1  # pycov: runs
    return x * 2  # pycov: runs


def after():
    return "after"  # pycov: runs


old = sys.gettrace()
sys.settrace(my_tracer)
traced(1)
sys.settrace(old)
print("restored", sys.gettrace() is old)
print(seen)
print(after())
