// pycov_isolated_start.so: starts pycov's tracer in a Python that does not run the bootstrap.
//
// pycov's bootstrap comes in as `sitecustomize` from PYTHONPATH. `python3 -I` and `python3 -E`
// ignore PYTHONPATH, and `python3 -S` imports no `site`, so no `sitecustomize`, at all. The
// rest of the environment still reaches them (coverage.py's COVERAGE_PROCESS_START works
// under -I and -E, through a .pth file in site-packages). The supervisor preloads this object
// into such an interpreter at its exec (LD_PRELOAD, added to the copy of the environment it
// already writes for Python children). Before the interpreter's main(), its constructor:
//   - takes its own path out of LD_PRELOAD again, so that neither the program (os.environ)
//     nor anything it starts sees it;
//   - adds an audit hook (PySys_AddAuditHook, which may be called before the interpreter is
//     initialised). The interpreter raises a `cpython.run_*` event once it is initialised,
//     `site` included, just before it runs the program's first line (the script, `-c`, `-m`,
//     stdin). At the first such event the hook loads the bootstrap's sitecustomize.py under
//     another name and starts the tracer through it, then leaves sys.path as it was. Nothing
//     else of the bootstrap runs: the process's own `sitecustomize`, if any, has run already
//     (-I, -E) or never runs (-S), as unmeasured.
//
// It links no libpython: the interpreter has one (built into Debian's python3.11, or loaded
// before this object runs), and the few functions used here are looked up in the process, so
// that loading this object into anything else does nothing and cannot fail. No C++ runtime
// either: nothing here needs it.
#include <Python.h>
#include <dlfcn.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "runtime_audit_hooks.h"

// The layout of CPython 3.11's entries (pycore_runtime.h).
struct _Py_AuditHookEntry {
  _Py_AuditHookEntry* next;
  Py_AuditHookFunction hookCFunction;
  void* userData;
};

namespace {

// The Python C API this file calls, resolved in the running interpreter.
struct PythonApi {
  int (*add_audit_hook)(Py_AuditHookFunction, void*);
  PyObject* (*dict_new)();
  PyObject* (*decode_fs_default)(const char*);
  int (*dict_set_item_string)(PyObject*, const char*, PyObject*);
  PyObject* (*run_string)(const char*, int, PyObject*, PyObject*, PyCompilerFlags*);
  void (*err_clear)();
  void (*dec_ref)(PyObject*);
  void* (*raw_malloc)(size_t);
  void* runtime;  // _PyRuntime
};

PythonApi g_python;
char g_bootstrap_directory[PATH_MAX];
bool g_started = false;  // also in a forked child, whose tracer follows its parent's

// Runs in a namespace of its own. The tracer module is imported from the bootstrap directory,
// which goes first on sys.path for that and is taken out again (it is there already under -S
// without -E, from PYTHONPATH, which the program would not have unmeasured). Nothing here may
// stop the program: any failure is a warning.
constexpr char kStartTracer[] = R"(
def start(here):
    import os
    import sys
    if "_pycov_tracer" in sys.modules:
        return  # started by the bootstrap after all
    try:
        import _frozen_importlib_external
        loader = _frozen_importlib_external.SourceFileLoader("sitecustomize", here + "/sitecustomize.py")
        bootstrap = {"__name__": "_pycov_isolated_start", "__file__": loader.path}
        exec(loader.get_code("sitecustomize"), bootstrap)
    except Exception as error:
        sys.stderr.write("pycov: warning: pid %d is not measured: %s\n" % (os.getpid(), error))
        return
    sys.path.insert(0, here)
    try:
        bootstrap["_pycov_start_tracer"](here)
    finally:
        sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != here]


start(bootstrap_directory)
)";

void StartTracer() {
  PyObject* globals = g_python.dict_new();
  PyObject* directory = g_python.decode_fs_default(g_bootstrap_directory);
  if (globals != nullptr && directory != nullptr &&
      g_python.dict_set_item_string(globals, "bootstrap_directory", directory) == 0) {
    PyObject* result = g_python.run_string(kStartTracer, Py_file_input, globals, globals, nullptr);
    if (result != nullptr) g_python.dec_ref(result);
  }
  // The program runs whatever happened; the code above reports its own failures.
  g_python.err_clear();
  if (directory != nullptr) g_python.dec_ref(directory);
  if (globals != nullptr) g_python.dec_ref(globals);
}

int StartAtTheProgramsFirstLine(const char* event, PyObject*, void*);

// The interpreter frees its audit hooks' entries with PyMem_RawFree when it finalizes, but
// this hook's entry was allocated before the interpreter set up its allocators, with the
// default one. With the debug hooks on the allocators (-X dev, PYTHONMALLOC=debug), freeing
// it aborted the process at its exit ("bad ID"). So once the interpreter runs, the entry is
// copied into memory from the allocator that will free it; the first copy is left (a few
// bytes), since which allocator made it is the interpreter's business.
void MoveHookIntoTheInterpretersMemory() {
  for (_Py_AuditHookEntry** link = pycov_audit_hook_list(g_python.runtime); *link != nullptr; link = &(*link)->next) {
    if ((*link)->hookCFunction != &StartAtTheProgramsFirstLine) continue;
    auto* moved = static_cast<_Py_AuditHookEntry*>(g_python.raw_malloc(sizeof(_Py_AuditHookEntry)));
    if (moved == nullptr) return;
    *moved = **link;
    *link = moved;
    return;
  }
}

int StartAtTheProgramsFirstLine(const char* event, PyObject*, void*) {
  if (g_started || strncmp(event, "cpython.run_", 12) != 0) return 0;
  g_started = true;
  MoveHookIntoTheInterpretersMemory();
  StartTracer();
  return 0;  // never refuses what is audited
}

template <typename Function>
bool Resolve(Function* function, const char* name) {
  *function = reinterpret_cast<Function>(dlsym(RTLD_DEFAULT, name));
  return *function != nullptr;
}

// The supervisor puts this object first in LD_PRELOAD, followed by a colon and the program's
// own value when it had one: taking that prefix off gives the program its value back as it
// was, byte for byte (an empty one included). `self` is this object's path as the dynamic
// loader read it from there.
void RemoveFromPreload(const char* self) {
  const char* preload = getenv("LD_PRELOAD");
  if (preload == nullptr) return;
  const size_t length = strlen(self);
  if (strncmp(preload, self, length) != 0) return;  // not the supervisor's doing: left alone
  if (preload[length] == '\0') unsetenv("LD_PRELOAD");
  else if (preload[length] == ':') setenv("LD_PRELOAD", preload + length + 1, 1);
}

__attribute__((constructor)) void PrepareIsolatedStart() {
  Dl_info self{};
  if (dladdr(reinterpret_cast<void*>(&PrepareIsolatedStart), &self) == 0 || self.dli_fname == nullptr) return;
  RemoveFromPreload(self.dli_fname);

  // Only the CPython the tracer is built for (Py_Version exists from 3.11 on).
  const auto* version = static_cast<const unsigned long*>(dlsym(RTLD_DEFAULT, "Py_Version"));
  if (version == nullptr || (*version >> 16) != ((PY_MAJOR_VERSION << 8) | PY_MINOR_VERSION)) return;
  if (!Resolve(&g_python.add_audit_hook, "PySys_AddAuditHook") || !Resolve(&g_python.dict_new, "PyDict_New") ||
      !Resolve(&g_python.decode_fs_default, "PyUnicode_DecodeFSDefault") ||
      !Resolve(&g_python.dict_set_item_string, "PyDict_SetItemString") ||
      !Resolve(&g_python.run_string, "PyRun_StringFlags") || !Resolve(&g_python.err_clear, "PyErr_Clear") ||
      !Resolve(&g_python.dec_ref, "Py_DecRef") || !Resolve(&g_python.raw_malloc, "PyMem_RawMalloc"))
    return;
  g_python.runtime = dlsym(RTLD_DEFAULT, "_PyRuntime");
  if (g_python.runtime == nullptr) return;

  const char* slash = strrchr(self.dli_fname, '/');
  if (slash == nullptr || size_t(slash - self.dli_fname) >= sizeof(g_bootstrap_directory)) return;
  memcpy(g_bootstrap_directory, self.dli_fname, size_t(slash - self.dli_fname));
  g_bootstrap_directory[slash - self.dli_fname] = '\0';
  g_python.add_audit_hook(&StartAtTheProgramsFirstLine, nullptr);
}

}  // namespace
