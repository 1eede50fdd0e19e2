# Trace-function fiddling in the style of DecoratorTools' decorate_assignment: save the
# current trace function, point the caller's frame.f_trace at a function of its own, install
# it with sys.settrace, and restore both when the assignment it waits for has happened.
# coverage.py's known-problems page recommends --timid for this; the program must see exactly
# what it sees unmeasured, and pycov must keep measuring.
import sys


def decorate_assignment(callback):
    frame = sys._getframe(1)
    oldtrace = [frame.f_trace]
    old_locals = dict(frame.f_locals)

    def tracer(frm, event, arg):
        if event == "call":
            return oldtrace[0](frm, event, arg) if oldtrace[0] else None
        try:
            if frm is frame and event != "exception":
                for k, v in frm.f_locals.items():
                    if k not in old_locals or old_locals[k] is not v:
                        break
                else:
                    return tracer
                callback(k, v)
        finally:
            if oldtrace[0]:
                oldtrace[0] = oldtrace[0](frm, event, arg)
        uninstall()
        return oldtrace[0]

    def uninstall():
        frame.f_trace = oldtrace[0]
        sys.settrace(oldtrace[0])

    frame.f_trace = tracer
    sys.settrace(tracer)


def helper():
    return "helper ran"  # pycov: runs


class Registry:
    names = []
    decorate_assignment(lambda name, value: Registry.names.append(name) if False else print("assigned", name))
    first = 1
    second = helper()  # pycov: runs


print("trace function restored:", sys.gettrace() is None)
print(Registry.second)
