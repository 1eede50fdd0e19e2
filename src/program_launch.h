// Starting the measured program and waiting for it and everything it leaves behind.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "result.h"

namespace pycov {

struct LaunchSpec {
  std::vector<std::string> argv;         // argv[0] is the interpreter
  std::vector<std::string> environment;  // "NAME=value"
  double orphan_grace_seconds = 2.0;     // how long to wait for descendants after the program
  double timeout_seconds = 0;            // 0: none; else the program and its children are killed
};

struct ProgramExit {
  int exit_code = 0;  // valid when signal == 0
  int signal = 0;     // the signal that killed the program, or 0
  int orphans_left = 0;  // descendants still running when the grace period ended (then killed)
  bool timed_out = false;
};

/// Runs the program with inherited stdin/stdout/stderr, without the supervisor (--sandbox off).
/// pycov becomes a child subreaper so that orphaned descendants are waited for (up to the
/// grace period, then killed). While the program runs,
/// Ctrl-C and Ctrl-\ reach the program (its process group) but do not stop pycov; SIGTERM and
/// SIGHUP sent to pycov are passed on to the program.
Result<ProgramExit> RunProgram(const LaunchSpec& spec);

/// Ends pycov the way the program ended: exit with its code, or die of the same signal.
[[noreturn]] void ExitLikeProgram(const ProgramExit& exit);

/// The standard output of a short command (stderr discarded), without trailing white space;
/// nullopt when it cannot run or exits non-zero.
std::optional<std::string> CaptureOutput(const std::vector<std::string>& argv);

}  // namespace pycov
