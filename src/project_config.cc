#include "project_config.h"

#include <unistd.h>

#include <toml++/toml.h>

namespace pycov {
namespace {

std::string Where(const std::string& path, const toml::node& node) {
  return path + ":" + std::to_string(node.source().begin.line);
}

// A setting that takes one string or a list of strings, as coverage.py's do.
Result<std::vector<std::string>> StringList(const std::string& path, const std::string& key, const toml::node& node) {
  if (auto text = node.value<std::string>()) return std::vector<std::string>{*text};
  const toml::array* array = node.as_array();
  if (array == nullptr) return Error{Where(path, node) + ": [tool.pycov] " + key + " must be a string or a list of strings"};
  std::vector<std::string> values;
  for (const toml::node& item : *array) {
    auto text = item.value<std::string>();
    if (!text) return Error{Where(path, item) + ": [tool.pycov] " + key + " must list strings only"};
    values.push_back(*text);
  }
  return values;
}

Result<std::string> String(const std::string& path, const std::string& key, const toml::node& node) {
  auto text = node.value<std::string>();
  if (!text) return Error{Where(path, node) + ": [tool.pycov] " + key + " must be a string"};
  return *text;
}

}  // namespace

Result<ProjectConfig> ReadProjectConfig(const std::string& path) {
  ProjectConfig config;
  if (access(path.c_str(), F_OK) != 0) return config;
  // Debian's toml++ is built with exceptions: a parse error is thrown, and stops here.
  toml::table parsed;
  try {
    parsed = toml::parse_file(path);
  } catch (const toml::parse_error& error) {
    return Error{path + ":" + std::to_string(error.source().begin.line) + ":" +
                 std::to_string(error.source().begin.column) + ": " + std::string(error.description())};
  }
  const toml::table* table = parsed["tool"]["pycov"].as_table();
  if (table == nullptr) return config;
  for (const auto& [key_view, node] : *table) {
    const std::string key(key_view.str());
    if (key == "branch" || key == "timid") {
      auto flag = node.value<bool>();
      if (!flag) return Error{Where(path, node) + ": [tool.pycov] " + key + " must be true or false"};
      (key == "branch" ? config.branch : config.timid) = *flag;
    } else if (key == "source" || key == "include" || key == "omit") {
      auto values = StringList(path, key, node);
      if (!values) return values.error();
      (key == "source" ? config.source : key == "include" ? config.include : config.omit) = values.value();
    } else if (key == "data_file" || key == "python") {
      auto text = String(path, key, node);
      if (!text) return text.error();
      (key == "data_file" ? config.data_file : config.python) = text.value();
    } else if (key == "sandbox") {
      auto text = String(path, key, node);
      if (!text) return text.error();
      if (*text != "observe" && *text != "strict" && *text != "off")
        return Error{Where(path, node) + ": [tool.pycov] sandbox must be \"observe\", \"strict\" or \"off\""};
      config.sandbox = *text;
    } else if (key == "timeout" || key == "orphan_grace") {
      // TOML keeps integers and floats apart; either is a number of seconds here.
      std::optional<double> seconds = node.is_integer() ? std::optional<double>(double(*node.value<int64_t>()))
                                                          : node.value<double>();
      if (!seconds || *seconds < 0)
        return Error{Where(path, node) + ": [tool.pycov] " + key + " must be a number of seconds, 0 or more"};
      (key == "timeout" ? config.timeout : config.orphan_grace) = *seconds;
    } else {
      return Error{Where(path, node) + ": unknown setting '" + key +
                   "' in [tool.pycov] (known: branch, data_file, include, omit, orphan_grace, python, sandbox, "
                   "source, timeout, timid)"};
    }
  }
  return config;
}

}  // namespace pycov
