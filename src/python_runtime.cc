#include "python_runtime.h"

namespace pycov {

Status EnsurePythonRuntime() {
  if (Py_IsInitialized()) return Ok();
  PyConfig config;
  PyConfig_InitIsolatedConfig(&config);
  config.install_signal_handlers = 0;
  config.site_import = 0;
  config.write_bytecode = 0;
  PyStatus status = PyConfig_SetBytesString(&config, &config.program_name, PYCOV_PYTHON_EXECUTABLE);
  if (!PyStatus_Exception(status)) status = Py_InitializeFromConfig(&config);
  PyConfig_Clear(&config);
  if (PyStatus_Exception(status))
    return Error{std::string("cannot start the embedded Python interpreter: ") +
                 (status.err_msg != nullptr ? status.err_msg : "unknown error")};
  return Ok();
}

std::string TakePythonError() {
  PyObject *type, *value, *traceback;
  PyErr_Fetch(&type, &value, &traceback);
  PyErr_NormalizeException(&type, &value, &traceback);
  PyRef owned_type(type), owned_value(value), owned_tb(traceback);
  if (value == nullptr) return "unknown Python error";
  std::string text = type != nullptr ? reinterpret_cast<PyTypeObject*>(type)->tp_name : "Error";
  PyRef str(PyObject_Str(value));
  if (str) {
    if (const char* utf8 = PyUnicode_AsUTF8(str.get()); utf8 != nullptr && *utf8 != '\0') text += std::string(": ") + utf8;
  }
  PyErr_Clear();
  return text;
}

}  // namespace pycov
