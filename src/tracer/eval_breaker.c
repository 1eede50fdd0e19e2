/* CPython 3.11's eval breaker, for tracer_module.cc. The interpreter state's header declares
 * C11 atomics, which C++ spells otherwise, so this accessor is C. */
#define Py_BUILD_CORE 1
#include <Python.h>
#include <internal/pycore_interp.h>
#include <internal/pycore_pystate.h>
#include <internal/pycore_runtime.h>

#include "eval_breaker.h"

/* COMPUTE_EVAL_BREAKER of CPython 3.11's ceval.c, which take_gil() runs: the same terms, so
 * that the breaker means what it would after this thread had dropped and retaken the GIL. */
void pycov_recompute_eval_breaker(PyThreadState* tstate) {
  PyInterpreterState* interp = tstate->interp;
  struct _ceval_state* ceval2 = &interp->ceval;
  if (!_Py_atomic_load_relaxed(&ceval2->eval_breaker) || _Py_IsMainThread()) return;
  struct _ceval_runtime_state* ceval = &_PyRuntime.ceval;
  _Py_atomic_store_relaxed(&ceval2->eval_breaker,
                           _Py_atomic_load_relaxed(&ceval2->gil_drop_request) |
                               (_Py_atomic_load_relaxed(&ceval->signals_pending) && _Py_ThreadCanHandleSignals(interp)) |
                               (_Py_atomic_load_relaxed(&ceval2->pending.calls_to_do) &&
                                _Py_ThreadCanHandlePendingCalls()) |
                               ceval2->pending.async_exc);
}
