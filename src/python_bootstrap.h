// What a Python process needs in its environment to be measured (the tracer bootstrap on
// PYTHONPATH and the run directory), and the supervisor's decision at each exec in the tree:
// a Python interpreter whose environment lost the bootstrap gets it back.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "sandbox/supervisor.h"

namespace pycov {

struct Bootstrap {
  std::string directory;  // holds sitecustomize.py and the tracer module
  std::string run_dir;    // where hit files and the run configuration live
};

/// The variables ("NAME=value") that `environment` lacks for `bootstrap`; PYTHONPATH keeps
/// what the program put there, after the bootstrap directory. Empty when nothing is missing.
std::vector<std::string> MissingBootstrapVariables(const std::vector<std::string>& environment,
                                                   const Bootstrap& bootstrap);

/// `environment` with the missing bootstrap variables added or replaced.
std::vector<std::string> WithBootstrap(std::vector<std::string> environment, const Bootstrap& bootstrap);

enum class InterpreterKind {
  kNotPython,
  kMeasurablePython,  // CPython 3.11, the version the tracer is built for
  kOtherPython,       // another Python: the bootstrap would only print its warning
};

/// What executing `resolved_path` runs: a Python interpreter directly (python3, python3.11,
/// through symlinks) or as the #! interpreter of a script (also through /usr/bin/env).
InterpreterKind ClassifyExecutable(const std::string& resolved_path);

/// ClassifyExecutable with a memory: a program started many times is looked at once (as long
/// as its inode, size and modification time stay the same).
class InterpreterClassifier {
 public:
  InterpreterKind Classify(const std::string& resolved_path);

 private:
  struct Entry {
    unsigned long inode = 0;
    long size = 0;
    long long mtime_ns = 0;
    InterpreterKind kind = InterpreterKind::kNotPython;
  };
  std::map<std::string, Entry> known_;
};

/// The supervisor's exec hook for a run with `bootstrap`.
sandbox::ExecVerdict DecideExec(const sandbox::ExecRequest& request, const Bootstrap& bootstrap,
                                InterpreterClassifier& classifier);

}  // namespace pycov
