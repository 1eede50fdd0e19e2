// ProjectConfig: pycov's defaults from `[tool.pycov]` in a project's pyproject.toml (SPEC §2).
// The command line overrides each of them.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "result.h"

namespace pycov {

struct ProjectConfig {
  std::optional<bool> branch;
  std::optional<bool> timid;
  std::optional<std::vector<std::string>> source;
  std::optional<std::vector<std::string>> include;
  std::optional<std::vector<std::string>> omit;
  std::optional<std::string> data_file;
  std::optional<std::string> python;
  std::optional<std::string> sandbox;        // "observe", "strict" or "off"
  std::optional<double> timeout;             // seconds
  std::optional<double> orphan_grace;        // seconds
};

/// Reads `[tool.pycov]` from the pyproject.toml at `path`. A missing file, or one without the
/// table, gives an empty config. Errors name the file, the line and the setting.
Result<ProjectConfig> ReadProjectConfig(const std::string& path);

}  // namespace pycov
