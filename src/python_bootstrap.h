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

/// What an executable the kernel runs is, by its name and the name of the file it links to:
/// python3 and python3.11 (CPython 3.11, through symlinks), or another Python. A file named
/// like another Python (python, python3) that holds the same bytes as one of
/// `cpython311_interpreters` is that interpreter: a virtual environment made with --copies
/// has its python, python3 and python3.11 as copies. A script is never the executable: the
/// kernel runs its #! interpreter, which is what the supervisor sees at the exec, so
/// `#!/usr/bin/env python3` is decided at env's own exec of python3.
InterpreterKind ClassifyExecutable(const std::string& executable,
                                   const std::vector<std::string>& cpython311_interpreters = {
                                       PYCOV_PYTHON_EXECUTABLE});

/// ClassifyExecutable with a memory: a program started many times is looked at once. The
/// supervisor passes /proc/PID/exe, whose path never changes what it names.
class InterpreterClassifier {
 public:
  /// Copies of `interpreter` count as CPython 3.11 too, when it is one itself (the
  /// interpreter the program was started with, which may not be the one pycov is built for).
  void AddInterpreter(const std::string& interpreter);
  InterpreterKind Classify(const std::string& executable);

 private:
  std::vector<std::string> cpython311_interpreters_{PYCOV_PYTHON_EXECUTABLE};
  std::map<std::string, InterpreterKind> known_;
};

/// The file in the bootstrap directory that the supervisor preloads into a CPython 3.11
/// started with -I, -E (which ignore PYTHONPATH) or -S (which skips `site`): it starts the
/// tracer just before the program's first line.
inline constexpr const char* kIsolatedStartLibrary = "pycov_isolated_start.so";

/// Which of python3's options -I, -E and -S, the ones that keep PYTHONPATH's bootstrap from
/// starting, the interpreter arguments `argv` give: those letters in order ("IS"), empty when
/// none. Options end at the script, `-c`, `-m` or `--`, as python3 parses them.
std::string BootstrapSkippingOptions(const std::vector<std::string>& argv);

/// Whether the interpreter arguments `argv` only ask python3 to print something and exit
/// (-V, --version, -h, --help...): no Python code runs, so there is nothing to measure.
bool RunsNoPythonCode(const std::vector<std::string>& argv);

/// The supervisor's exec hook for a run with `bootstrap`. A CPython 3.11 whose environment
/// lost the bootstrap's variables gets them back; one started with -I, -E or -S also gets the
/// isolated start-up preloaded (LD_PRELOAD, before what the program preloads). The tracer's
/// exec pass (src/tracer/exec_pass.cc) works out where this changes nothing without asking:
/// the two change together.
sandbox::ExecVerdict DecideExec(const sandbox::ExecRequest& request, const Bootstrap& bootstrap,
                                InterpreterClassifier& classifier);

}  // namespace pycov
