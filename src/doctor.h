// `pycov doctor`'s analysis: the observations of a measured run (from the supervisor's log,
// the per-process and per-thread data, the interpreter and the user's coverage.py), matched
// against the knowledge base into findings with evidence, impact and remediation for the
// user's coverage.py version (SPEC §3 step 4).
#pragma once

#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "rules/knowledge_base.h"
#include "rules/rule_engine.h"
#include "run_command.h"

namespace pycov {

/// The coverage.py the target interpreter imports, and the [run] settings that decide which
/// known problems it handles.
struct CoveragePySetup {
  std::string version;  // empty when the interpreter has no coverage.py
  std::vector<std::pair<std::string, std::string>> settings;  // ("patch", "execv"), ("parallel", "true"), ...
  std::vector<std::string> config_files;                      // the files the settings came from
};

/// Reads `python`'s coverage.py version, and the [run] settings from `explicit_config` if
/// given, else from the first of .coveragerc, setup.cfg, tox.ini and pyproject.toml in
/// `project_dir` that has coverage settings (coverage.py's own order).
CoveragePySetup ReadCoveragePySetup(const std::string& python, const std::string& project_dir,
                                    const std::string& explicit_config);

/// The interpreter's version ("3.11.2"), or empty when it cannot be asked.
std::string InterpreterVersion(const std::string& python);

/// An observation, with what the doctor needs beyond matching: where it points and which
/// lines it puts at stake.
struct DoctorObservation {
  rules::Observation observation;
  std::set<int32_t> affected_pids;  // processes (with their descendants) whose lines are at stake
  int affected_thread_kind = -1;    // or a kind of thread
  std::string path;                 // location, relative to the project when under it
  int line = 0;                     // 0: not known
};

/// What the run shows, as observations (see rules/README.md for the vocabulary).
std::vector<DoctorObservation> CollectObservations(const MeasuredRun& run, const CoveragePySetup& coveragepy,
                                                   const std::string& python_version, const std::string& project_dir);

struct Impact {
  size_t lines = 0;
  std::map<std::string, std::set<int32_t>> by_file;  // only the affected processes/threads ran these
};

struct Finding {
  const rules::KbEntry* entry = nullptr;
  rules::Severity severity = rules::Severity::kWarning;
  std::string message;
  std::string path;  // location
  int line = 0;
  std::vector<int32_t> pids;  // evidence
  Impact impact;
  std::vector<const rules::Remediation*> remediation;  // the advice for the user's coverage.py
  std::string handled_by;  // when the user's coverage.py setup already handles it: the setting
  bool no_impact = false;  // lowered to info: it cost no project line in this run
  std::string pycov_note;  // what pycov itself did about it
};

/// Matches the observations and groups the matches by entry and location.
std::vector<Finding> BuildFindings(const rules::KnowledgeBase& kb, const std::vector<DoctorObservation>& observations,
                                   const MeasuredRun& run, const CoveragePySetup& coveragepy);

}  // namespace pycov
