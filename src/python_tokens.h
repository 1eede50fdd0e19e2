// The tokens of Python source that coverage.py's statement analysis looks at, found without
// the interpreter. Python's own `tokenize` module is pure Python and was most of the time of
// `pycov report` on many files; this scanner gives the same token stream (for what the
// analysis reads) in a fraction of that, and declines text where only `tokenize` is exact.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pycov {

// Token types, numbered as Python 3.11's token module numbers them.
enum class PythonTokenType : int {
  kName = 1,  // also numbers and anything else that is neither operator nor string
  kString = 3,
  kNewline = 4,
  kIndent = 5,
  kDedent = 6,
  kOp = 54,
  kComment = 61,
  kNl = 62,
};

struct PythonToken {
  PythonTokenType type;
  std::string_view op;  // for kOp: ":", "@", ":=", "@=", brackets; any other operator is "op"
                        // (static strings: see OperatorName)
  int32_t start_line;
  int32_t end_line;
  bool blank;      // text is whitespace only (INDENT, DEDENT, NEWLINE, NL, ENDMARKER)
};

/// The static name the analysis uses for an operator's text.
std::string_view OperatorName(std::string_view text);

/// Tokens of `text` (decoded source ending with '\n'), or nullopt when the text has a line
/// separator other than '\n', a NUL byte, or a tokenizing error (unterminated string or
/// bracket, inconsistent dedent, stray backslash): the caller then uses `tokenize`, whose
/// behaviour (and error message) there is the reference.
std::optional<std::vector<PythonToken>> ScanPythonTokens(std::string_view text);

}  // namespace pycov
