// Combining: every hit file a run left behind becomes one CoverageData, plus what each
// process was.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "coverage_data.h"
#include "file_selection.h"
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

/// The files a program could have imported from the --source directories, whether it did or
/// not, as coverage.py finds them to list the files no process ran (reports count them as
/// 0%): below each directory itself, only directories with an `__init__.py` (others are not
/// packages), and only names that look like Python modules (no editor side-files). Real
/// paths, those `Selects` takes (so --omit applies). Unreadable directories are skipped, as
/// os.walk skips them.
std::vector<std::string> ImportableSourceFiles(const FileSelection& selection);

}  // namespace pycov
