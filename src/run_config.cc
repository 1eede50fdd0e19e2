#include "run_config.h"

#include <sstream>
#include <vector>

namespace pycov {

std::string RunConfig::Serialize() const {
  std::ostringstream out;
  out << "branch=" << (branch ? 1 : 0) << '\n';
  out << "timid=" << (timid ? 1 : 0) << '\n';
  auto emit = [&](const char* key, const std::vector<std::string>& values) {
    for (const auto& v : values) out << key << '=' << v << '\n';
  };
  emit("source", selection.source_dirs);
  emit("include", selection.include_globs);
  emit("omit", selection.omit_globs);
  emit("root", selection.project_roots);
  emit("library_dir", selection.library_dirs);
  emit("pycov_dir", selection.pycov_dirs);
  return out.str();
}

RunConfig RunConfig::Parse(const std::string& text) {
  RunConfig config;
  FileSelection& s = config.selection;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    auto eq = line.find('=');
    if (eq == std::string::npos) continue;
    std::string key = line.substr(0, eq), value = line.substr(eq + 1);
    if (key == "branch") config.branch = value == "1";
    else if (key == "timid") config.timid = value == "1";
    else if (key == "source") s.source_dirs.push_back(value);
    else if (key == "include") s.include_globs.push_back(value);
    else if (key == "omit") s.omit_globs.push_back(value);
    else if (key == "root") s.project_roots.push_back(value);
    else if (key == "library_dir") s.library_dirs.push_back(value);
    else if (key == "pycov_dir") s.pycov_dirs.push_back(value);
  }
  return config;
}

}  // namespace pycov
