// Combining: every hit file a run left behind becomes one CoverageData, plus what each
// process was.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "coverage_data.h"
#include "result.h"

namespace pycov {

struct ProcessRecord {
  int32_t pid = 0;
  int32_t ppid = 0;
  uint32_t fork_depth = 0;
  std::vector<std::string> argv;
  size_t files = 0;
  size_t lines = 0;
  bool lost_data = false;
  int64_t start_unix_ns = 0;  // when its tracer started (after a fork: when the child began)
  uint32_t exec_generation = 0;  // earlier Python programs of the same pid in this run
};

struct CombinedRun {
  CoverageData data;  // data.origins: one process per entry of `processes`, same order
  std::vector<ProcessRecord> processes;  // in start order
  std::vector<std::string> warnings;     // hit files that could not be read, lost hits
};

/// Reads every `*.hits` file in `run_dir`. Unreadable hit files become warnings, not errors:
/// one damaged process must not cost the others' data.
Result<CombinedRun> CombineHitFiles(const std::string& run_dir, bool has_arcs);

}  // namespace pycov
