#include "python_events.h"

#include <algorithm>
#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "run_directory.h"

namespace pycov {
namespace {

CodeLocation LocationFrom(const nlohmann::json& value) {
  CodeLocation location;
  if (!value.is_object()) return location;
  location.path = value.value("path", "");
  location.line = value.value("line", 0);
  return location;
}

}  // namespace

std::vector<PythonEvent> ReadPythonEvents(const std::string& run_dir) {
  std::vector<PythonEvent> events;
  std::error_code ec;
  std::vector<std::filesystem::path> files;
  for (const auto& directory : RecordingDirectories(run_dir))
    for (const auto& entry : std::filesystem::directory_iterator(directory, ec))
      if (entry.path().extension() == ".events") files.push_back(entry.path());
  for (const auto& file : files) {
    std::ifstream in(file);
    for (std::string line; std::getline(in, line);) {
      auto parsed = nlohmann::json::parse(line, nullptr, false);
      if (!parsed.is_object() || !parsed.contains("event")) continue;
      PythonEvent event;
      event.event = parsed.value("event", "");
      event.pid = parsed.value("pid", 0);
      event.unix_ns = parsed.value("t", int64_t(0));
      for (const char* key : {"argument", "function", "module", "filename"})
        if (parsed.contains(key) && parsed[key].is_string()) event.fields[key] = parsed[key].get<std::string>();
      if (parsed.contains("code") && parsed["code"].is_number_integer())
        event.fields["code"] = std::to_string(parsed["code"].get<int64_t>());
      event.site = LocationFrom(parsed.value("site", nlohmann::json()));
      if (parsed.contains("stack") && parsed["stack"].is_array())
        for (const auto& frame : parsed["stack"]) event.stack.push_back(LocationFrom(frame));
      events.push_back(std::move(event));
    }
  }
  std::sort(events.begin(), events.end(), [](const PythonEvent& a, const PythonEvent& b) { return a.unix_ns < b.unix_ns; });
  return events;
}

}  // namespace pycov
