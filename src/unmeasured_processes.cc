#include "unmeasured_processes.h"

#include <algorithm>

#include "python_bootstrap.h"

namespace pycov {
namespace {

// Why a Python started with these options (python3's -I, -E, -S) ran without the tracer: the
// supervisor preloads a start-up into such a Python, which failed here (an environment too
// large to rewrite, an interpreter that ignores LD_PRELOAD).
std::string ReasonFor(const std::string& options) {
  std::string reason;
  if (options.find('S') != std::string::npos) reason = "-S skips the site module, which loads pycov's bootstrap";
  else if (options.find('I') != std::string::npos)
    reason = "-I (isolated mode) makes Python ignore PYTHONPATH, where pycov's bootstrap is";
  else if (options.find('E') != std::string::npos) reason = "-E makes Python ignore PYTHONPATH, where pycov's bootstrap is";
  return reason.empty() ? reason : reason + ", and pycov's start-up could not be preloaded";
}

std::string BaseName(const std::string& path) { return path.substr(path.rfind('/') + 1); }

}  // namespace

std::vector<UnmeasuredProcess> FindUnmeasuredPythonProcesses(const sandbox::ObservationLog& log,
                                                             const std::vector<ProcessRecord>& measured,
                                                             InterpreterClassifier& interpreters) {
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
      if (has_hits || RunsNoPythonCode(exec.argv)) continue;
      // With the start-up preloaded, a process without hits ran no code of its own (it stopped
      // at a usage error), or the bootstrap said itself why it could not measure it.
      if (std::find(exec.injected.begin(), exec.injected.end(), "LD_PRELOAD") != exec.injected.end()) continue;
      // Another Python is never preloaded, whatever its options.
      std::string reason;
      if (interpreters.Classify(exec.executable) == InterpreterKind::kOtherPython)
        reason = BaseName(exec.executable) + " is not the CPython 3.11 that pycov's tracer is built for";
      else if (exec.injection_error.empty())
        continue;  // no preload was tried: another pycov run's process (inside this one), which that run measures
      else
        reason = ReasonFor(BootstrapSkippingOptions(exec.argv));
      if (reason.empty()) continue;
      unmeasured.push_back({task.tid, exec.argv, reason});
    }
  }
  return unmeasured;
}

}  // namespace pycov
