#include "run_config.h"

#include <cstdlib>
#include <string_view>
#include <vector>

namespace pycov {

// Plain string work, no streams: the tracer parses this in every process it starts in, and the
// first stream would set up the C++ locale there.
std::string RunConfig::Serialize() const {
  std::string out;
  out.append("branch=").append(branch ? "1" : "0").push_back('\n');
  out.append("timid=").append(timid ? "1" : "0").push_back('\n');
  auto emit = [&](const char* key, const std::vector<std::string>& values) {
    for (const auto& v : values) out.append(key).append("=").append(v).push_back('\n');
  };
  emit("source", selection.source_dirs);
  emit("include", selection.include_globs);
  emit("omit", selection.omit_globs);
  emit("root", selection.project_roots);
  emit("library_dir", selection.library_dirs);
  emit("pycov_dir", selection.pycov_dirs);
  if (exec_pass != 0) out.append("exec_pass=").append(std::to_string(exec_pass)).push_back('\n');
  if (!bootstrap_dir.empty()) out.append("bootstrap=").append(bootstrap_dir).push_back('\n');
  return out;
}

RunConfig RunConfig::Parse(const std::string& text) {
  RunConfig config;
  FileSelection& s = config.selection;
  std::string_view rest = text;
  while (!rest.empty()) {
    const size_t end = rest.find('\n');
    const std::string_view line = rest.substr(0, end);
    rest = end == std::string_view::npos ? std::string_view() : rest.substr(end + 1);
    const size_t eq = line.find('=');
    if (eq == std::string_view::npos) continue;
    const std::string_view key = line.substr(0, eq);
    const std::string value(line.substr(eq + 1));
    if (key == "branch") config.branch = value == "1";
    else if (key == "timid") config.timid = value == "1";
    else if (key == "source") s.source_dirs.push_back(value);
    else if (key == "include") s.include_globs.push_back(value);
    else if (key == "omit") s.omit_globs.push_back(value);
    else if (key == "root") s.project_roots.push_back(value);
    else if (key == "library_dir") s.library_dirs.push_back(value);
    else if (key == "pycov_dir") s.pycov_dirs.push_back(value);
    else if (key == "exec_pass") config.exec_pass = std::strtoull(value.c_str(), nullptr, 10);
    else if (key == "bootstrap") config.bootstrap_dir = value;
  }
  return config;
}

}  // namespace pycov
