// `pycov run`: measure a program and every Python process it starts, write the data file.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "combine.h"
#include "program_launch.h"
#include "project_config.h"
#include "python_events.h"
#include "result.h"
#include "sandbox/observation_log.h"
#include "sandbox/supervisor.h"

namespace pycov {

struct RunOptions {
  bool branch = false;
  bool timid = false;
  std::vector<std::string> source_dirs;
  std::vector<std::string> include_globs;
  std::vector<std::string> omit_globs;
  std::string data_file = ".coverage";
  std::string python;        // empty: the active virtualenv's, else python3 on PATH
  std::string module;        // -m MODULE
  std::string script;        // SCRIPT
  std::vector<std::string> program_args;
  sandbox::Mode sandbox = sandbox::Mode::kObserve;
  bool sandbox_given = false;     // asked for explicitly: no quiet fallback to off
  double timeout_seconds = 0;     // 0: none
  double orphan_grace_seconds = 2.0;
  std::string observation_log;    // keep the supervisor's log here (default: not kept)
  std::string color = "auto";     // auto | always | never, for pycov's own reports
  bool help = false;
};

/// Parses the arguments after `run`, starting from `defaults` (a list option given on the
/// command line replaces the default list). Options end at the script, at `-m MODULE` or at
/// `--`; everything after belongs to the program, as with python3 itself.
Result<RunOptions> ParseRunArguments(const std::vector<std::string>& args, RunOptions defaults = {});

/// The run options that `[tool.pycov]` sets, over pycov's built-in defaults.
RunOptions RunDefaultsFrom(const ProjectConfig& config);

/// Usage text of `pycov run`.
std::string RunUsage();

/// A measured run, as `pycov run` and `pycov doctor` both need it.
struct MeasuredRun {
  ProgramExit exit;
  bool timed_out = false;
  bool timid = false;
  sandbox::Mode mode = sandbox::Mode::kOff;   // what actually ran (observe may fall back to off)
  std::optional<sandbox::ObservationLog> log;  // the supervisor's, when it ran
  CombinedRun combined;
  std::vector<PythonEvent> python_events;  // what the tracers observed, in time order
  std::vector<std::string> argv;  // the interpreter's
  std::string python;
  std::string data_file;          // absolute; written
};

/// Runs the program measured and writes the data file. Returns 0 and fills `measured`, or
/// the exit status for a failure pycov has already reported (3 or 4). `follow` is how much of
/// the process tree the supervisor follows in observe mode (strict mode follows all of it).
int MeasureProgram(const RunOptions& options, MeasuredRun& measured, sandbox::Follow follow);

/// Runs the program measured; returns pycov's exit status (the program's, or 3/4 when
/// pycov could not do its job). May end the process to mirror a death by signal.
int RunCommand(const RunOptions& options);

}  // namespace pycov
