/* Where CPython 3.11 keeps its audit hooks, for isolated_start.cc: the runtime state's header
 * declares C11 atomics, which C++ spells otherwise, so this one accessor is C. */
#define Py_BUILD_CORE 1
#include <Python.h>
#include <internal/pycore_runtime.h>

#include "runtime_audit_hooks.h"

struct _Py_AuditHookEntry** pycov_audit_hook_list(void* runtime) {
  return &((_PyRuntimeState*)runtime)->audit_hook_head;
}
