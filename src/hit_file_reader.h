// Reading hit files back: what one process executed, for combining.
#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "hit_file_format.h"
#include "result.h"

namespace pycov::hitfile {

struct FileHits {
  std::string path;
  std::set<int32_t> lines;  // run by any thread
  std::set<std::pair<int32_t, int32_t>> arcs;
  std::set<int32_t> lines_by_kind[kThreadKinds];  // indexed by ThreadKind
};

struct ProcessHits {
  std::string hit_file;
  int32_t pid = 0;
  int32_t ppid = 0;
  uint64_t start_unix_ns = 0;
  uint32_t flags = 0;
  uint32_t fork_depth = 0;
  int32_t parent_hit_pid = 0;
  std::vector<std::string> argv;
  std::vector<FileHits> files;  // indexed by the file index of the hit file

  bool has_arcs() const;
  bool lost_data() const;
};

/// Reads one hit file. An error names the file and what is wrong with it.
Result<ProcessHits> ReadHitFile(const std::string& path);

}  // namespace pycov::hitfile
