// CoverageData: the combined measurement of a run, per source file, as coverage.py keeps it
// (lines, or arcs when measuring branches), plus which processes contributed.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "result.h"

namespace pycov {

struct FileCoverage {
  std::set<int32_t> lines;
  std::set<std::pair<int32_t, int32_t>> arcs;
};

struct CoverageData {
  bool has_arcs = false;
  std::map<std::string, FileCoverage> files;  // by absolute path

  /// Executed lines of a file: its lines, or the positive ends of its arcs.
  std::set<int32_t> ExecutedLines(const std::string& path) const;
};

/// Writes `data` to `path` in coverage.py's SQLite schema (version 7). The file is written
/// under a temporary name beside `path` and renamed, so `path` is never half-written.
Status WriteDataFile(const std::string& path, const CoverageData& data, const std::string& argv_text);

/// Reads a coverage.py SQLite data file (schema 7). An error names the file and the problem.
Result<CoverageData> ReadDataFile(const std::string& path);

/// Checks whether `path` may be replaced: it is absent, or a coverage data file.
Status CheckReplaceableDataFile(const std::string& path);

}  // namespace pycov
