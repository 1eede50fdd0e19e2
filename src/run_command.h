// `pycov run`: measure a program and every Python process it starts, write the data file.
#pragma once

#include <string>
#include <vector>

#include "project_config.h"
#include "result.h"
#include "sandbox/supervisor.h"

namespace pycov {

struct RunOptions {
  bool branch = false;
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

/// Runs the program measured; returns pycov's exit status (the program's, or 3/4 when
/// pycov could not do its job). May end the process to mirror a death by signal.
int RunCommand(const RunOptions& options);

}  // namespace pycov
