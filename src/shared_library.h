// Libraries that only some commands need, opened when first used rather than by the dynamic
// loader at pycov's start: libarchive, with the libraries it pulls in (libxml2, ICU,
// compressors), took about 3 ms of every pycov command, `pycov run` included, though only
// bug-report bundles use it.
#pragma once

#include <string>

#include "result.h"

namespace pycov {

/// A shared library opened for the rest of the process: what is bound from it lives in static
/// tables, so it is never closed.
class SharedLibrary {
 public:
  /// Opens `name` (a soname such as "libarchive.so.13", or a path); the error names it and
  /// gives the dynamic loader's reason.
  static Result<SharedLibrary> Open(const std::string& name);

  /// Sets `function` to the library's symbol `name`; the error names the symbol and the library.
  template <class Function>
  Status Bind(const char* name, Function*& function) const {
    Result<void*> symbol = Symbol(name);
    if (!symbol) return symbol.error();
    function = reinterpret_cast<Function*>(*symbol);
    return Ok();
  }

  const std::string& name() const { return name_; }

 private:
  SharedLibrary(void* handle, std::string name) : handle_(handle), name_(std::move(name)) {}
  Result<void*> Symbol(const char* name) const;

  void* handle_;
  std::string name_;
};

/// The directory of the running pycov executable, symlinks resolved: where its own files (the
/// bootstrap, the source-analysis plugin) sit. Empty if /proc/self/exe cannot be read.
std::string OwnExecutableDirectory();

}  // namespace pycov
