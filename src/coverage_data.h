// CoverageData: the combined measurement of a run, per source file, as coverage.py keeps it
// (lines, or arcs when measuring branches), plus which processes contributed.
#pragma once

#include <compare>
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

/// The kinds of thread a line can be run by (hit_file_format.h's ThreadKind, by name).
inline constexpr const char* kThreadKindNames[] = {"main", "threading", "raw_thread", "native", "greenlet"};
inline constexpr uint32_t kThreadKindCount = 5;

/// One measured Python program run by one process (a process that execs Python again has one
/// per program: its exec generation counts them).
struct ProcessOrigin {
  int32_t pid = 0;
  int32_t ppid = 0;
  uint32_t exec_generation = 0;  // 0 for the first Python program this pid ran
  uint32_t fork_depth = 0;       // forks since a process started Python
  int64_t start_unix_ns = 0;
  std::vector<std::string> argv;
};

/// pycov's addition to the data file: which processes, and which kinds of thread in them,
/// ran each line (SPEC §3 step 3), so that the lines only an affected process or thread ran
/// can be found. coverage.py ignores the tables that hold it.
struct LineOrigins {
  std::vector<ProcessOrigin> processes;
  struct Key {
    size_t process;  // index into processes
    uint32_t thread_kind;
    std::string path;
    auto operator<=>(const Key&) const = default;
  };
  // Sorted, each line once. A vector, not a set: a run of thousands of processes keeps tens
  // of millions of these (CPython's test suite: 21 million), 4 bytes each instead of a
  // tree node's 40 and more.
  std::map<Key, std::vector<int32_t>> lines;

  /// Lines, by file, that only (process, thread kind) pairs for which `affected` is true ran.
  template <class Predicate>
  std::map<std::string, std::set<int32_t>> LinesOnlyRunBy(Predicate affected) const {
    std::map<std::string, std::set<int32_t>> only, elsewhere;
    for (const auto& [key, run] : lines) {
      auto& into = affected(processes[key.process], key.thread_kind) ? only[key.path] : elsewhere[key.path];
      into.insert(run.begin(), run.end());
    }
    for (auto& [path, run] : only) {
      if (auto other = elsewhere.find(path); other != elsewhere.end())
        for (int32_t line : other->second) run.erase(line);
    }
    std::erase_if(only, [](const auto& entry) { return entry.second.empty(); });
    return only;
  }
};

struct CoverageData {
  bool has_arcs = false;
  std::map<std::string, FileCoverage> files;  // by absolute path
  LineOrigins origins;                         // empty when not known

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
