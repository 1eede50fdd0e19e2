// CoverageReport: per-file statement, miss and exclusion figures computed from the data and
// the source, and its renderings (text table, JSON). Reporters never re-run anything.
#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "coverage_data.h"

namespace pycov {

struct FileReport {
  std::string path;  // absolute, as in the data file
  std::string name;  // relative to the current directory when under it
  std::set<int32_t> statements;
  std::set<int32_t> executed;  // translated to statement first lines, statements only
  std::set<int32_t> missing;
  std::set<int32_t> excluded;

  double PercentCovered() const;
};

struct CoverageReport {
  std::vector<FileReport> files;      // sorted by name
  std::vector<std::string> problems;  // files that could not be analysed, one line each
  size_t total_statements = 0;
  size_t total_missing = 0;
  double TotalPercent() const;
};

/// Analyses every file in `data` (relative names against `cwd`).
CoverageReport BuildCoverageReport(const CoverageData& data, const std::string& cwd);

/// coverage.py's whole-number percentage: never 0 or 100 unless exactly so.
std::string DisplayPercent(double percent);

/// The text table: Name, Stmts, Miss, Cover[, Missing].
std::string RenderTextReport(const CoverageReport& report, bool show_missing);

/// JSON in the shape of coverage.py's json report ("meta", "files", "totals").
std::string RenderJsonReport(const CoverageReport& report, bool has_arcs);

}  // namespace pycov
