# A trace function installed from C (PyEval_SetTrace, as profilers and debuggers written in C
# do): it must receive the same events measured and unmeasured, and pycov must keep measuring.
import ctypes

TRACE_FUNC = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int, ctypes.c_void_p)
events = {}


def on_event(obj, frame, what, arg):
    events[what] = events.get(what, 0) + 1
    return 0


tracer = TRACE_FUNC(on_event)
set_trace = ctypes.pythonapi.PyEval_SetTrace
set_trace.argtypes = [ctypes.c_void_p, ctypes.c_void_p]


def work(n):
    total = 0  # pycov: runs
    for i in range(n):  # pycov: runs
        total += i  # pycov: runs
    return total  # pycov: runs


set_trace(ctypes.cast(tracer, ctypes.c_void_p), None)
result = work(5)
set_trace(None, None)  # pycov: runs
print(result, sorted(events.items()))
