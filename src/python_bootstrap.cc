#include "python_bootstrap.h"

#include <limits.h>
#include <sys/stat.h>
#include <stdlib.h>

#include <fstream>
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

// python, python3, python3.11, python3.11d, python3.11-dbg: the names interpreters go by.
InterpreterKind ClassifyInterpreterName(const std::string& path) {
  static const std::regex kPython(R"(python(\d+(\.\d+)?)?[a-z]*(-dbg)?)");
  std::string base = path.substr(path.rfind('/') + 1);
  if (!std::regex_match(base, kPython)) return InterpreterKind::kNotPython;
  char real[PATH_MAX];
  std::string resolved = realpath(path.c_str(), real) != nullptr ? real : path;
  std::string real_base = resolved.substr(resolved.rfind('/') + 1);
  return real_base.rfind("python3.11", 0) == 0 ? InterpreterKind::kMeasurablePython : InterpreterKind::kOtherPython;
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

InterpreterKind ClassifyExecutable(const std::string& resolved_path) {
  std::ifstream file(resolved_path, std::ios::binary);
  char head[256] = {};
  file.read(head, sizeof(head) - 1);
  std::string line(head, size_t(file.gcount()));
  // A binary goes by its name; a script (a pyenv shim named python3, say) by its #! line,
  // since the kernel runs that interpreter with the same environment.
  if (line.rfind("#!", 0) != 0) return ClassifyInterpreterName(resolved_path);
  line = line.substr(2, line.find('\n') == std::string::npos ? std::string::npos : line.find('\n') - 2);
  std::vector<std::string> words;
  size_t at = 0;
  while (at < line.size()) {
    size_t start = line.find_first_not_of(" \t\r", at);
    if (start == std::string::npos) break;
    size_t end = line.find_first_of(" \t\r", start);
    words.push_back(line.substr(start, end == std::string::npos ? std::string::npos : end - start));
    at = end == std::string::npos ? line.size() : end;
  }
  if (words.empty()) return InterpreterKind::kNotPython;
  InterpreterKind interpreter = ClassifyInterpreterName(words[0]);
  if (interpreter != InterpreterKind::kNotPython) return interpreter;
  // #!/usr/bin/env python3: env finds the interpreter on PATH and its own exec is seen too;
  // the bootstrap goes in now so that env passes it on.
  if (words[0].size() >= 4 && words[0].compare(words[0].size() - 4, 4, "/env") == 0) {
    for (size_t i = 1; i < words.size(); ++i) {
      if (words[i][0] == '-') continue;
      static const std::regex kPython(R"(python(\d+(\.\d+)?)?)");
      if (!std::regex_match(words[i], kPython)) return InterpreterKind::kNotPython;
      return words[i] == "python2" || words[i].rfind("python2.", 0) == 0 ? InterpreterKind::kOtherPython
                                                                            : InterpreterKind::kMeasurablePython;
    }
  }
  return InterpreterKind::kNotPython;
}

InterpreterKind InterpreterClassifier::Classify(const std::string& resolved_path) {
  struct stat st {};
  if (stat(resolved_path.c_str(), &st) != 0) return InterpreterKind::kNotPython;
  const long long mtime_ns = (long long)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
  auto found = known_.find(resolved_path);
  if (found != known_.end() && found->second.inode == st.st_ino && found->second.size == st.st_size &&
      found->second.mtime_ns == mtime_ns)
    return found->second.kind;
  InterpreterKind kind = ClassifyExecutable(resolved_path);
  known_[resolved_path] = {(unsigned long)st.st_ino, (long)st.st_size, mtime_ns, kind};
  return kind;
}

sandbox::ExecVerdict DecideExec(const sandbox::ExecRequest& request, const Bootstrap& bootstrap,
                                InterpreterClassifier& classifier) {
  sandbox::ExecVerdict verdict;
  InterpreterKind kind = classifier.Classify(request.resolved_path);
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
