#include "python_bootstrap.h"

#include <limits.h>
#include <stdlib.h>

#include <regex>

namespace pycov {
namespace {

std::string NameOf(const std::string& variable) { return variable.substr(0, variable.find('=')); }

const std::string* Find(const std::vector<std::string>& environment, const std::string& name) {
  for (const auto& variable : environment)
    if (variable.size() > name.size() && variable.compare(0, name.size(), name) == 0 && variable[name.size()] == '=')
      return &variable;
  return nullptr;
}

}  // namespace

std::vector<std::string> MissingBootstrapVariables(const std::vector<std::string>& environment,
                                                   const Bootstrap& bootstrap) {
  std::vector<std::string> missing;
  const std::string* run_dir = Find(environment, "PYCOV_RUN_DIR");
  if (run_dir == nullptr || run_dir->substr(14) != bootstrap.run_dir) missing.push_back("PYCOV_RUN_DIR=" + bootstrap.run_dir);
  const std::string* pythonpath = Find(environment, "PYTHONPATH");
  std::string old = pythonpath != nullptr ? pythonpath->substr(11) : "";
  if (old != bootstrap.directory && old.rfind(bootstrap.directory + ":", 0) != 0)
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

InterpreterKind ClassifyExecutable(const std::string& executable) {
  // python, python3, python3.11, python3.11d, python3.11-dbg: the names interpreters go by.
  static const std::regex kPython(R"(python(\d+(\.\d+)?)?[a-z]*(-dbg)?)");
  std::string base = executable.substr(executable.rfind('/') + 1);
  if (!std::regex_match(base, kPython)) return InterpreterKind::kNotPython;
  char real[PATH_MAX];
  std::string resolved = realpath(executable.c_str(), real) != nullptr ? real : executable;
  std::string real_base = resolved.substr(resolved.rfind('/') + 1);
  return real_base.rfind("python3.11", 0) == 0 ? InterpreterKind::kMeasurablePython : InterpreterKind::kOtherPython;
}

InterpreterKind InterpreterClassifier::Classify(const std::string& executable) {
  auto found = known_.find(executable);
  if (found != known_.end()) return found->second;
  return known_[executable] = ClassifyExecutable(executable);
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
  if (kind == InterpreterKind::kMeasurablePython) verdict.set_environment = std::move(missing);
  return verdict;
}

}  // namespace pycov
