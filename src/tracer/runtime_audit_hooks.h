// The list of audit hooks in CPython 3.11's runtime state (_PyRuntime), for
// isolated_start.cc. Each entry: the next one, the hook function, its user data.
#pragma once

#include <Python.h>

#ifdef __cplusplus
extern "C" {
#endif

struct _Py_AuditHookEntry;

/// The head of the list in `runtime`, which is CPython's _PyRuntime.
struct _Py_AuditHookEntry** pycov_audit_hook_list(void* runtime);

#ifdef __cplusplus
}
#endif
