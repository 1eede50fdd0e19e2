// Most execs of a measured process need nothing from pycov's exec monitor: of its own
// interpreter with this run's environment intact, and of an ELF program not named like a
// Python. They go on without waiting for it (sandbox::Policy::exec_pass). The python3
// executable's own calls of execve and execv, which os.exec*, subprocess and multiprocessing
// make, are sent through a check of that; every other exec waits for the supervisor.
#pragma once

#include <cstdint>
#include <string>

namespace pycov::tracer {

struct ExecPassSettings {
  uint64_t pass = 0;  // the run's (RunConfig::exec_pass); 0: every exec waits
  std::string run_dir;
  std::string bootstrap_dir;  // first on PYTHONPATH in every measured process
};

/// Points the executable's calls of execve and execv at the check (their GOT entries, which
/// nothing in Python can see). Returns how many it pointed: 0 with no pass, on another
/// architecture than x86-64, or where the executable calls neither (then its execs all wait).
int InstallExecPass(const ExecPassSettings& settings);

}  // namespace pycov::tracer
