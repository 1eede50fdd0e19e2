// Source analysis: which lines of a Python file are statements, which are excluded, and how
// multi-line statements map to their first line. The rules are coverage.py 6.5's
// (coverage/parser.py PythonParser), computed from the tokens (src/python_tokens.h) and the
// embedded interpreter's compile, so that pycov's statement and miss counts equal coverage.py's.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "result.h"

namespace pycov {

struct SourceAnalysis {
  std::set<int32_t> statements;          // first lines of executable statements
  std::set<int32_t> excluded;            // excluded by pragma or --exclude regexes
  std::map<int32_t, int32_t> multiline;  // line -> first line of its statement
  std::vector<std::string> source_lines; // decoded text, line N at index N-1

  int32_t FirstLine(int32_t line) const;
  /// Maps executed line numbers onto statement first lines (coverage.py translate_lines).
  std::set<int32_t> TranslateLines(const std::set<int32_t>& lines) const;
};

/// coverage.py's default exclusion: `# pragma: no cover` and its spellings.
std::vector<std::string> DefaultExcludeRegexes();

/// Who tokenizes: pycov's scanner (falling back to `tokenize` where it declines), or always
/// Python's `tokenize` module, the reference the scanner is tested against.
enum class Tokenizer { kNative, kPython };

/// Analyses the file at `path`. An error names the file, and the line for a syntax error.
Result<SourceAnalysis> AnalyzeSource(const std::string& path, const std::vector<std::string>& exclude_regexes,
                                     Tokenizer tokenizer = Tokenizer::kNative);

/// coverage.py's compact "1-3, 7" form of `missing`, ranges running over `statements`.
std::string FormatLineRanges(const std::set<int32_t>& statements, const std::set<int32_t>& missing);

}  // namespace pycov
