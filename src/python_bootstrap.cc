#include "python_bootstrap.h"

#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <algorithm>
#include <fstream>
#include <string_view>

#include "python_interpreter.h"

namespace pycov {
namespace {

std::string NameOf(const std::string& variable) { return variable.substr(0, variable.find('=')); }

const std::string* Find(const std::vector<std::string>& environment, const std::string& name) {
  for (const auto& variable : environment)
    if (variable.size() > name.size() && variable.compare(0, name.size(), name) == 0 && variable[name.size()] == '=')
      return &variable;
  return nullptr;
}

// Whether two paths name files with the same bytes. Two builds of an interpreter all but
// never have the same size, so nearly only a copy is read through (once per executable, as
// the classifier remembers).
bool SameContents(const std::string& a, const std::string& b) {
  struct stat info_a {}, info_b {};
  if (stat(a.c_str(), &info_a) != 0 || stat(b.c_str(), &info_b) != 0) return false;
  if (!S_ISREG(info_a.st_mode) || !S_ISREG(info_b.st_mode) || info_a.st_size != info_b.st_size) return false;
  if (info_a.st_dev == info_b.st_dev && info_a.st_ino == info_b.st_ino) return true;
  std::ifstream file_a(a, std::ios::binary), file_b(b, std::ios::binary);
  std::vector<char> block_a(1 << 16), block_b(1 << 16);
  while (file_a && file_b) {
    file_a.read(block_a.data(), std::streamsize(block_a.size()));
    file_b.read(block_b.data(), std::streamsize(block_b.size()));
    if (file_a.gcount() != file_b.gcount() ||
        !std::equal(block_a.begin(), block_a.begin() + file_a.gcount(), block_b.begin()))
      return false;
  }
  return file_a.eof() && file_b.eof();
}

}  // namespace

std::vector<std::string> MissingBootstrapVariables(const std::vector<std::string>& environment,
                                                   const Bootstrap& bootstrap) {
  std::vector<std::string> missing;
  const std::string* run_dir = Find(environment, "PYCOV_RUN_DIR");
  if (run_dir == nullptr || run_dir->substr(14) != bootstrap.run_dir) missing.push_back("PYCOV_RUN_DIR=" + bootstrap.run_dir);
  const std::string* pythonpath = Find(environment, "PYTHONPATH");
  std::string old = pythonpath != nullptr ? pythonpath->substr(11) : "";
  if (!LeadsPythonPath(bootstrap.directory, old))
    missing.push_back("PYTHONPATH=" + bootstrap.directory + (old.empty() ? "" : ":" + old));
  return missing;
}

std::vector<std::string> WithBootstrap(std::vector<std::string> environment, const Bootstrap& bootstrap) {
  for (const auto& variable : MissingBootstrapVariables(environment, bootstrap)) {
    const std::string name = NameOf(variable);
    bool replaced = false;
    for (auto& existing : environment) {
      if (NameOf(existing) == name) {
        existing = variable;
        replaced = true;
      }
    }
    if (!replaced) environment.push_back(variable);
  }
  return environment;
}

InterpreterKind ClassifyExecutable(const std::string& executable,
                                   const std::vector<std::string>& cpython311_interpreters) {
  if (!IsPythonExecutableName(executable.substr(executable.rfind('/') + 1))) return InterpreterKind::kNotPython;
  char real[PATH_MAX];
  std::string resolved = realpath(executable.c_str(), real) != nullptr ? real : executable;
  std::string real_base = resolved.substr(resolved.rfind('/') + 1);
  if (real_base.rfind("python3.11", 0) == 0) return InterpreterKind::kMeasurablePython;
  for (const auto& interpreter : cpython311_interpreters)
    if (SameContents(resolved, interpreter)) return InterpreterKind::kMeasurablePython;
  return InterpreterKind::kOtherPython;
}

void InterpreterClassifier::AddInterpreter(const std::string& interpreter) {
  if (Classify(interpreter) != InterpreterKind::kMeasurablePython) return;
  char real[PATH_MAX];
  cpython311_interpreters_.push_back(realpath(interpreter.c_str(), real) != nullptr ? real : interpreter);
  known_.clear();  // what was another Python may be a copy of this one
}

InterpreterKind InterpreterClassifier::Classify(const std::string& executable) {
  auto found = known_.find(executable);
  if (found != known_.end()) return found->second;
  return known_[executable] = ClassifyExecutable(executable, cpython311_interpreters_);
}

sandbox::ExecVerdict DecideExec(const sandbox::ExecRequest& request, const Bootstrap& bootstrap,
                                InterpreterClassifier& classifier) {
  sandbox::ExecVerdict verdict;
  InterpreterKind kind = classifier.Classify(request.executable);
  if (kind == InterpreterKind::kNotPython) {
    // Not Python. If it starts Python later (a shell, env, make), that exec is decided on its own.
    return verdict;
  }
  verdict.program_kind = "python";
  // Another pycov run inside this one (its own run directory) measures its own children.
  const std::string* run_dir = Find(request.environment, "PYCOV_RUN_DIR");
  if (run_dir != nullptr && run_dir->substr(14) != bootstrap.run_dir) return verdict;
  std::vector<std::string> missing = MissingBootstrapVariables(request.environment, bootstrap);
  verdict.instrumented = missing.empty();
  // Another Python would not load the 3.11 tracer: it stays as the program made it.
  if (kind != InterpreterKind::kMeasurablePython) return verdict;
  // -I and -E make Python ignore PYTHONPATH, -S skips `site`, which imports the bootstrap:
  // the preloaded start-up starts the tracer there instead.
  if (!BootstrapSkippingOptions(request.argv).empty()) {
    const std::string* preload = Find(request.environment, "LD_PRELOAD");
    std::string ours = bootstrap.directory + "/" + kIsolatedStartLibrary;
    // The start-up takes "ours" or "ours:" off again, leaving the program's value as it was.
    missing.push_back("LD_PRELOAD=" + ours + (preload != nullptr ? ":" + preload->substr(11) : ""));
  }
  verdict.set_environment = std::move(missing);
  return verdict;
}

namespace {

// What python3's own options (those before the script, `-c`, `-m` or `--`) say that matters
// here, read the way python3 parses them.
struct InterpreterOptions {
  std::string bootstrap_skipping;  // the letters of -I, -E and -S, in order
  bool only_prints = false;        // -V, --version, -h, --help...: no Python code runs
};

InterpreterOptions ReadInterpreterOptions(const std::vector<std::string>& argv) {
  InterpreterOptions options;
  ForEachInterpreterOption(
      argv.size(), [&](size_t i) { return std::string_view(argv[i]); },
      [&](char option) {
        if (SkipsBootstrap(option)) options.bootstrap_skipping += option;
        if (option == 'V' || option == 'h' || option == '?') options.only_prints = true;
      });
  return options;
}

}  // namespace

bool RunsNoPythonCode(const std::vector<std::string>& argv) { return ReadInterpreterOptions(argv).only_prints; }

std::string BootstrapSkippingOptions(const std::vector<std::string>& argv) {
  return ReadInterpreterOptions(argv).bootstrap_skipping;
}

}  // namespace pycov
