#include "version_range.h"

#include <cctype>

namespace pycov::rules {
namespace {

int Compare(const Version& a, const Version& b) {
  for (size_t i = 0; i < std::max(a.size(), b.size()); ++i) {
    int x = i < a.size() ? a[i] : 0;
    int y = i < b.size() ? b[i] : 0;
    if (x != y) return x < y ? -1 : 1;
  }
  return 0;
}

std::string Trim(const std::string& text) {
  size_t begin = text.find_first_not_of(" \t");
  size_t end = text.find_last_not_of(" \t");
  return begin == std::string::npos ? "" : text.substr(begin, end - begin + 1);
}

}  // namespace

std::optional<Version> ParseVersion(const std::string& text) {
  Version version;
  size_t at = 0;
  while (at < text.size() && std::isdigit(static_cast<unsigned char>(text[at]))) {
    int number = 0;
    while (at < text.size() && std::isdigit(static_cast<unsigned char>(text[at]))) {
      number = number * 10 + (text[at] - '0');
      if (number > 1000000) return std::nullopt;
      ++at;
    }
    version.push_back(number);
    if (at < text.size() && text[at] == '.' && at + 1 < text.size() &&
        std::isdigit(static_cast<unsigned char>(text[at + 1])))
      ++at;
    else
      break;
  }
  if (version.empty()) return std::nullopt;
  return version;
}

Result<VersionRange> VersionRange::Parse(const std::string& text) {
  VersionRange range;
  range.text_ = Trim(text);
  size_t at = 0;
  while (at <= range.text_.size() && !range.text_.empty()) {
    size_t comma = range.text_.find(',', at);
    std::string part = Trim(range.text_.substr(at, comma == std::string::npos ? std::string::npos : comma - at));
    Bound bound;
    for (const char* op : {">=", "<=", "==", "!=", ">", "<"}) {
      if (part.rfind(op, 0) == 0) {
        bound.op = op;
        break;
      }
    }
    if (bound.op.empty()) return Error{"version range '" + text + "': '" + part + "' needs an operator (>=, <, ==, ...)"};
    auto version = ParseVersion(Trim(part.substr(bound.op.size())));
    if (!version) return Error{"version range '" + text + "': '" + part + "' has no version number"};
    bound.version = *version;
    range.bounds_.push_back(bound);
    if (comma == std::string::npos) break;
    at = comma + 1;
  }
  return range;
}

bool VersionRange::Contains(const Version& version) const {
  for (const auto& bound : bounds_) {
    int c = Compare(version, bound.version);
    bool ok = bound.op == ">=" ? c >= 0
              : bound.op == ">" ? c > 0
              : bound.op == "<=" ? c <= 0
              : bound.op == "<" ? c < 0
              : bound.op == "==" ? c == 0
                                 : c != 0;
    if (!ok) return false;
  }
  return true;
}

}  // namespace pycov::rules
