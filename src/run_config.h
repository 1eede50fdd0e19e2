// RunConfig: what `pycov run` tells every measured process, written once into the run
// directory and read by the tracer at start-up.
#pragma once

#include <cstdint>
#include <string>

#include "file_selection.h"

namespace pycov {

struct RunConfig {
  bool branch = false;
  bool timid = false;  // step aside while the program has its own trace function (--timid)
  FileSelection selection;
  // Under the exec monitor (sandbox::Policy::exec_pass): the value with which an exec that
  // needs nothing from the supervisor goes on without waiting for it, and what the
  // environment must hold for that (the bootstrap directory first on PYTHONPATH). 0: none.
  uint64_t exec_pass = 0;
  std::string bootstrap_dir;

  /// Serialises to `key=value` lines, and back; unknown keys are ignored.
  std::string Serialize() const;
  static RunConfig Parse(const std::string& text);
};

}  // namespace pycov
