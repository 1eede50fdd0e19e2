// RunConfig: what `pycov run` tells every measured process, written once into the run
// directory and read by the tracer at start-up.
#pragma once

#include <string>

#include "file_selection.h"

namespace pycov {

struct RunConfig {
  bool branch = false;
  bool timid = false;  // step aside while the program has its own trace function (--timid)
  FileSelection selection;

  /// Serialises to `key=value` lines, and back; unknown keys are ignored.
  std::string Serialize() const;
  static RunConfig Parse(const std::string& text);
};

}  // namespace pycov
