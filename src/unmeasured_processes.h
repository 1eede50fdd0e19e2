// Python processes of a supervised run that pycov could not measure, and why: the
// supervisor saw them start, but no hit file came from them.
#pragma once

#include <string>
#include <vector>

#include "combine.h"
#include "python_bootstrap.h"
#include "sandbox/observation_log.h"

namespace pycov {

struct UnmeasuredProcess {
  int pid = 0;
  std::vector<std::string> argv;
  std::string reason;  // in words a user can act on
};

/// Python execs in `log` without a hit file of that process started after the exec, whose
/// reason is known: interpreter options that skip the bootstrap (-I, -E, -S) where the
/// start-up could not be preloaded, or a Python other than the 3.11 the tracer is built for
/// (as `interpreters` tells). A process killed before its start-up ended has no hit file
/// either; that is not reported.
std::vector<UnmeasuredProcess> FindUnmeasuredPythonProcesses(const sandbox::ObservationLog& log,
                                                             const std::vector<ProcessRecord>& measured,
                                                             InterpreterClassifier& interpreters);

}  // namespace pycov
