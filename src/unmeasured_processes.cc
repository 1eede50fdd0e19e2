#include "unmeasured_processes.h"

#include <algorithm>

namespace pycov {
namespace {

// Options of python3 that take a value in the next argument.
bool TakesValue(char option) { return option == 'W' || option == 'X' || option == 'Q'; }

std::string ReasonFor(char option) {
  switch (option) {
    case 'I': return "-I (isolated mode) makes Python ignore PYTHONPATH, where pycov's bootstrap is";
    case 'E': return "-E makes Python ignore PYTHONPATH, where pycov's bootstrap is";
    case 'S': return "-S skips the site module, which loads pycov's bootstrap";
  }
  return {};
}

std::string BaseName(const std::string& path) { return path.substr(path.rfind('/') + 1); }

}  // namespace

std::vector<std::string> BootstrapSkippingOptions(const std::vector<std::string>& argv) {
  std::vector<std::string> reasons;
  for (size_t i = 1; i < argv.size(); ++i) {
    const std::string& arg = argv[i];
    if (arg == "--" || arg.size() < 2 || arg[0] != '-' || arg[1] == '-') break;  // script, long option
    for (size_t j = 1; j < arg.size(); ++j) {
      const char option = arg[j];
      if (option == 'c' || option == 'm') return reasons;  // the rest is the command or module
      if (std::string reason = ReasonFor(option); !reason.empty()) reasons.push_back(reason);
      if (TakesValue(option)) {
        if (j + 1 == arg.size()) ++i;  // the value is the next argument
        break;
      }
    }
  }
  return reasons;
}

std::vector<UnmeasuredProcess> FindUnmeasuredPythonProcesses(const sandbox::ObservationLog& log,
                                                             const std::vector<ProcessRecord>& measured) {
  std::vector<UnmeasuredProcess> unmeasured;
  for (const auto& task : log.tasks) {
    for (size_t e = 0; e < task.execs.size(); ++e) {
      const sandbox::ExecRecord& exec = task.execs[e];
      if (exec.program_kind != "python") continue;
      // The program this exec started ran until the next exec, or until the process ended.
      const int64_t until = e + 1 < task.execs.size() ? task.execs[e + 1].unix_ns : INT64_MAX;
      const bool has_hits = std::any_of(measured.begin(), measured.end(), [&](const ProcessRecord& p) {
        return p.pid == task.tid && p.start_unix_ns >= exec.unix_ns && p.start_unix_ns < until;
      });
      if (has_hits) continue;
      std::vector<std::string> reasons = BootstrapSkippingOptions(exec.argv);
      std::string executable = BaseName(exec.executable);
      if (reasons.empty() && !executable.empty() && executable.rfind("python3.11", 0) != 0 &&
          executable.rfind("python", 0) == 0)
        reasons.push_back(executable + " is not the CPython 3.11 that pycov's tracer is built for");
      if (reasons.empty()) continue;
      unmeasured.push_back({task.tid, exec.argv, reasons.front()});
    }
  }
  return unmeasured;
}

}  // namespace pycov
