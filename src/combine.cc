#include "combine.h"

#include <dirent.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <memory>
#include <set>
#include <tuple>

#include "hit_file_reader.h"
#include "run_directory.h"

static_assert(pycov::kThreadKindCount == pycov::hitfile::kThreadKinds);

namespace pycov {

Result<CombinedRun> CombineHitFiles(const std::string& run_dir, bool has_arcs) {
  namespace fs = std::filesystem;
  std::error_code ec;
  std::vector<std::string> paths;
  for (const auto& directory : RecordingDirectories(run_dir)) {
    for (const auto& entry : fs::directory_iterator(directory, ec))
      if (entry.path().extension() == ".hits") paths.push_back(entry.path().string());
    if (ec) return Error{directory + ": cannot list hit files: " + ec.message()};
  }

  // Each hit file is merged into the data as soon as it is read: only one process's sets are
  // held at a time, where a run of a thousand processes would otherwise hold every one of them
  // (its arcs most of all) until the last was read. What each leaves behind is its record and
  // its lines by thread kind, which are numbered in start order once all are read.
  struct Read {
    ProcessRecord record;
    std::string hit_file;
    std::vector<std::tuple<uint32_t, std::string, std::vector<int32_t>>> lines_by_kind;  // kind, path, lines
  };
  CombinedRun run;
  run.data.has_arcs = has_arcs;
  std::vector<Read> read;
  for (const auto& path : paths) {
    auto hits = hitfile::ReadHitFile(path);
    if (!hits) {
      run.warnings.push_back(hits.error().message);
      continue;
    }
    Read process{{hits->pid, hits->ppid, hits->fork_depth, std::move(hits->argv), 0, 0, hits->lost_data(),
                  int64_t(hits->start_unix_ns)},
                 hits->hit_file,
                 {}};
    for (auto& file : hits->files) {
      if (file.lines.empty() && file.arcs.empty()) continue;
      ++process.record.files;
      process.record.lines += file.lines.size();
      auto& into = run.data.files[file.path];
      into.lines.merge(file.lines);
      into.arcs.merge(file.arcs);
      for (uint32_t kind = 0; kind < hitfile::kThreadKinds; ++kind)
        if (!file.lines_by_kind[kind].empty())
          process.lines_by_kind.emplace_back(
              kind, file.path, std::vector<int32_t>(file.lines_by_kind[kind].begin(), file.lines_by_kind[kind].end()));
    }
    read.push_back(std::move(process));
  }
  std::stable_sort(read.begin(), read.end(),
                   [](const Read& a, const Read& b) { return a.record.start_unix_ns < b.record.start_unix_ns; });

  std::map<int32_t, uint32_t> programs_per_pid;
  for (auto& [process, hit_file, lines_by_kind] : read) {
    // Hit files are in start order: an earlier one of the same pid is a program it exec'd from.
    process.exec_generation = programs_per_pid[process.pid]++;
    const size_t index = run.processes.size();
    run.data.origins.processes.push_back(
        {process.pid, process.ppid, process.exec_generation, process.fork_depth, process.start_unix_ns, process.argv});
    if (process.lost_data)
      run.warnings.push_back("pid " + std::to_string(process.pid) + " could not record every line (" + hit_file + ")");
    for (auto& [kind, path, lines] : lines_by_kind) run.data.origins.lines[{index, kind, path}] = std::move(lines);
    run.processes.push_back(std::move(process));
  }
  return run;
}

namespace {

// coverage.py's pattern for a file worth listing: `^[^.#~!$@%^&*()+=,]+\.pyw?$`.
bool LooksLikeModule(const std::string& name) {
  size_t stem = name.size();
  if (name.ends_with(".py")) stem -= 3;
  else if (name.ends_with(".pyw")) stem -= 4;
  else return false;
  return stem > 0 && name.find_first_of(".#~!$@%^&*()+=,") == stem;
}

// One directory of os.walk(top), which does not follow links to directories, pruned where
// coverage.py prunes: a directory below the top without an __init__.py, and all below it.
// `dir` is a real path (the top is, and no link is entered), so only a file that is itself a
// link needs resolving. readdir's entry types spare a stat per entry.
void CollectImportable(const std::string& dir, bool is_top, std::vector<std::string>& found) {
  std::unique_ptr<DIR, int (*)(DIR*)> listing(opendir(dir.c_str()), closedir);
  if (listing == nullptr) return;
  std::vector<std::string> subdirs, files, links;
  bool is_package = is_top;
  while (const dirent* entry = readdir(listing.get())) {
    const std::string name = entry->d_name;
    if (name == "." || name == "..") continue;
    const std::string path = dir + "/" + name;
    unsigned char type = entry->d_type;
    struct stat status {};
    if (type == DT_UNKNOWN && lstat(path.c_str(), &status) == 0)  // file systems that do not say
      type = S_ISDIR(status.st_mode) ? DT_DIR : S_ISLNK(status.st_mode) ? DT_LNK : DT_REG;
    if (type == DT_DIR) {
      subdirs.push_back(path);
    } else if (type == DT_LNK) {
      if (stat(path.c_str(), &status) == 0 && S_ISDIR(status.st_mode)) continue;  // listed, not entered
      is_package |= name == "__init__.py";
      if (LooksLikeModule(name)) links.push_back(path);
    } else {
      is_package |= name == "__init__.py";
      if (LooksLikeModule(name)) files.push_back(path);
    }
  }
  if (!is_package) return;
  found.insert(found.end(), files.begin(), files.end());
  for (const auto& link : links) {
    char real[PATH_MAX];
    if (realpath(link.c_str(), real) != nullptr) found.emplace_back(real);
  }
  for (const auto& subdir : subdirs) CollectImportable(subdir, false, found);
}

}  // namespace

std::vector<std::string> ImportableSourceFiles(const FileSelection& selection) {
  std::vector<std::string> files;
  for (const auto& dir : selection.source_dirs) {
    std::vector<std::string> found;
    CollectImportable(dir, true, found);
    for (auto& file : found)
      if (selection.Selects(file)) files.push_back(std::move(file));
  }
  std::sort(files.begin(), files.end());
  files.erase(std::unique(files.begin(), files.end()), files.end());
  return files;
}

}  // namespace pycov
