// CPython 3.11's eval breaker, for tracer_module.cc: the flag that sends the interpreter loop
// to handle signals, pending calls, a request to drop the GIL or an asynchronous exception.
#pragma once

#include <Python.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Sets the eval breaker to what `tstate`'s thread can act on, as CPython does when a thread
/// takes the GIL: a signal or pending call that only the main thread may handle no longer
/// counts in another thread. Does nothing when the breaker is clear, or in the main thread.
void pycov_recompute_eval_breaker(PyThreadState* tstate);

#ifdef __cplusplus
}
#endif
