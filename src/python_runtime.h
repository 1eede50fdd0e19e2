// The embedded interpreter pycov uses for source analysis, and an owning reference type.
#pragma once

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <string>
#include <utility>

#include "result.h"

namespace pycov {

/// Owns one strong reference to a Python object.
class PyRef {
 public:
  PyRef() = default;
  explicit PyRef(PyObject* owned) : object_(owned) {}
  static PyRef Borrow(PyObject* borrowed) {
    Py_XINCREF(borrowed);
    return PyRef(borrowed);
  }
  PyRef(const PyRef&) = delete;
  PyRef& operator=(const PyRef&) = delete;
  PyRef(PyRef&& other) noexcept : object_(std::exchange(other.object_, nullptr)) {}
  PyRef& operator=(PyRef&& other) noexcept {
    if (this != &other) {
      Py_XDECREF(object_);
      object_ = std::exchange(other.object_, nullptr);
    }
    return *this;
  }
  ~PyRef() { Py_XDECREF(object_); }

  PyObject* get() const { return object_; }
  explicit operator bool() const { return object_ != nullptr; }

 private:
  PyObject* object_ = nullptr;
};

/// Starts the embedded interpreter once per process (isolated: the user's PYTHON*
/// variables do not change how pycov analyses source). Returns an error if it cannot start.
Status EnsurePythonRuntime();

/// Takes the pending Python exception and returns its text ("SyntaxError: ..."); clears it.
std::string TakePythonError();

}  // namespace pycov
