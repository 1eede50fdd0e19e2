#include "combine.h"

#include <algorithm>
#include <map>
#include <filesystem>

#include "hit_file_reader.h"

static_assert(pycov::kThreadKindCount == pycov::hitfile::kThreadKinds);

namespace pycov {

Result<CombinedRun> CombineHitFiles(const std::string& run_dir, bool has_arcs) {
  namespace fs = std::filesystem;
  std::error_code ec;
  std::vector<std::string> paths;
  for (const auto& entry : fs::directory_iterator(run_dir, ec))
    if (entry.path().extension() == ".hits") paths.push_back(entry.path().string());
  if (ec) return Error{run_dir + ": cannot list hit files: " + ec.message()};

  struct Loaded {
    uint64_t start;
    hitfile::ProcessHits hits;
  };
  CombinedRun run;
  run.data.has_arcs = has_arcs;
  std::vector<Loaded> loaded;
  for (const auto& path : paths) {
    auto hits = hitfile::ReadHitFile(path);
    if (!hits) {
      run.warnings.push_back(hits.error().message);
      continue;
    }
    loaded.push_back({hits->start_unix_ns, std::move(hits.value())});
  }
  std::sort(loaded.begin(), loaded.end(), [](const Loaded& a, const Loaded& b) { return a.start < b.start; });

  std::map<int32_t, uint32_t> programs_per_pid;
  for (auto& [start, hits] : loaded) {
    ProcessRecord process{hits.pid, hits.ppid, hits.fork_depth, hits.argv, 0, 0, hits.lost_data(), int64_t(start)};
    // Hit files are in start order: an earlier one of the same pid is a program it exec'd from.
    process.exec_generation = programs_per_pid[hits.pid]++;
    const size_t index = run.processes.size();
    run.data.origins.processes.push_back(
        {hits.pid, hits.ppid, process.exec_generation, hits.fork_depth, int64_t(start), hits.argv});
    if (hits.lost_data())
      run.warnings.push_back("pid " + std::to_string(hits.pid) + " could not record every line (" +
                             hits.hit_file + ")");
    for (auto& file : hits.files) {
      if (file.lines.empty() && file.arcs.empty()) continue;
      ++process.files;
      process.lines += file.lines.size();
      auto& into = run.data.files[file.path];
      into.lines.insert(file.lines.begin(), file.lines.end());
      into.arcs.insert(file.arcs.begin(), file.arcs.end());
      for (uint32_t kind = 0; kind < hitfile::kThreadKinds; ++kind)
        if (!file.lines_by_kind[kind].empty())
          run.data.origins.lines[{index, kind, file.path}] = std::move(file.lines_by_kind[kind]);
    }
    run.processes.push_back(std::move(process));
  }
  return run;
}

}  // namespace pycov
