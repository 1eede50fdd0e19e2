// Version ranges of the knowledge base: ">=7.10", "<6", ">=5.0,<7.0", "==2.5". Versions are
// compared number by number (7.10 > 7.9); a missing number counts as 0.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "result.h"

namespace pycov::rules {

using Version = std::vector<int>;

/// "7.10.1" -> {7, 10, 1}; pre-release tails ("7.0b1") are cut at the first non-digit part.
std::optional<Version> ParseVersion(const std::string& text);

class VersionRange {
 public:
  /// An empty text is the range of every version.
  static Result<VersionRange> Parse(const std::string& text);

  bool Contains(const Version& version) const;
  bool empty() const { return bounds_.empty(); }
  const std::string& text() const { return text_; }

 private:
  struct Bound {
    std::string op;  // >=, >, <=, <, ==, !=
    Version version;
  };
  std::vector<Bound> bounds_;
  std::string text_;
};

}  // namespace pycov::rules
