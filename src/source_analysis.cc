#include "source_analysis.h"

#include <optional>

namespace pycov {

int32_t SourceAnalysis::FirstLine(int32_t line) const {
  if (line < 0) {
    auto it = multiline.find(-line);
    return it == multiline.end() ? line : -it->second;
  }
  auto it = multiline.find(line);
  return it == multiline.end() ? line : it->second;
}

std::set<int32_t> SourceAnalysis::TranslateLines(const std::set<int32_t>& lines) const {
  std::set<int32_t> first;
  for (int32_t l : lines) first.insert(FirstLine(l));
  return first;
}

std::vector<std::string> DefaultExcludeRegexes() {
  return {R"(#\s*(pragma|PRAGMA)[:\s]?\s*(no|NO)\s*(cover|COVER))"};
}

std::string FormatLineRanges(const std::set<int32_t>& statements, const std::set<int32_t>& missing) {
  std::vector<std::pair<int32_t, int32_t>> ranges;
  std::optional<int32_t> start;
  int32_t end = 0;
  auto next_missing = missing.begin();
  for (int32_t statement : statements) {
    if (next_missing == missing.end()) break;
    if (statement == *next_missing) {
      ++next_missing;
      if (!start) start = statement;
      end = statement;
    } else if (start) {
      ranges.push_back({*start, end});
      start.reset();
    }
  }
  if (start) ranges.push_back({*start, end});
  std::string text;
  for (const auto& [first, last] : ranges) {
    if (!text.empty()) text += ", ";
    text += first == last ? std::to_string(first) : std::to_string(first) + "-" + std::to_string(last);
  }
  return text;
}

}  // namespace pycov
