#include "file_selection.h"

#include <fnmatch.h>


namespace pycov {
namespace {

bool MatchesAny(const std::vector<std::string>& globs, const std::string& path) {
  for (const auto& glob : globs) {
    // No FNM_PATHNAME: like coverage.py's fnmatch, `*` also matches `/`.
    if (fnmatch(glob.c_str(), path.c_str(), 0) == 0) return true;
  }
  return false;
}

bool UnderAny(const std::vector<std::string>& dirs, const std::string& path) {
  for (const auto& dir : dirs)
    if (IsUnder(path, dir)) return true;
  return false;
}

// Installed packages live in site-packages (pip, venvs) or dist-packages (Debian) folders,
// wherever the environment is: a project's own .venv is under the project root.
bool InInstalledPackages(const std::string& path) {
  return path.find("/site-packages/") != std::string::npos ||
         path.find("/dist-packages/") != std::string::npos;
}

}  // namespace

bool IsUnder(const std::string& path, const std::string& dir) {
  if (dir.empty()) return false;
  if (dir == "/") return !path.empty() && path[0] == '/';
  if (path.compare(0, dir.size(), dir) != 0) return false;
  return path.size() == dir.size() || path[dir.size()] == '/';
}

bool FileSelection::Selects(const std::string& path) const {
  if (path.empty() || path[0] != '/') return false;
  if (UnderAny(pycov_dirs, path)) return false;
  if (MatchesAny(omit_globs, path)) return false;
  if (!source_dirs.empty()) {
    if (!UnderAny(source_dirs, path)) return false;
    // Installed packages inside a --source tree are left out, unless the tree is itself
    // inside the installed packages.
    if (!InInstalledPackages(path)) return true;
    for (const auto& dir : source_dirs)
      if (InInstalledPackages(dir + "/") && IsUnder(path, dir)) return true;
    return false;
  }
  if (!include_globs.empty()) return MatchesAny(include_globs, path);
  if (UnderAny(library_dirs, path) || InInstalledPackages(path)) return false;
  return UnderAny(project_roots, path);
}

std::string AbsoluteGlob(const std::string& glob, const std::string& cwd) {
  if (glob.empty() || glob[0] == '*' || glob[0] == '/') return glob;
  return cwd + "/" + glob;
}

}  // namespace pycov
