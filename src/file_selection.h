// FileSelection: which source files a run measures, decided the way coverage.py 6.5 decides
// (SPEC §2). By default: files under the project roots, not the standard library nor
// installed packages. --source or --include choose instead, and may name library code.
// --omit always removes; pycov's own files are never measured.
#pragma once

#include <string>
#include <vector>

namespace pycov {

struct FileSelection {
  std::vector<std::string> source_dirs;    // --source: only files under these (absolute)
  std::vector<std::string> include_globs;  // --include: only matching files (when no --source)
  std::vector<std::string> omit_globs;     // --omit: never these
  std::vector<std::string> project_roots;  // default when neither: the cwd and script dir
  std::vector<std::string> library_dirs;   // the standard library: left out by default only
  std::vector<std::string> pycov_dirs;     // pycov's bootstrap: always left out

  /// True if the file at `absolute_path` (already made absolute and real) is measured.
  bool Selects(const std::string& absolute_path) const;
};

/// Makes a glob absolute against `cwd` unless it starts with a wildcard, as coverage.py does.
std::string AbsoluteGlob(const std::string& glob, const std::string& cwd);

/// True if `path` is `dir` or lies below it.
bool IsUnder(const std::string& path, const std::string& dir);

}  // namespace pycov
