#include "python_tokens.h"

namespace pycov {
namespace {

constexpr int kTabSize = 8;  // tokenize's column rule for tabs

bool IsWordByte(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c >= 0x80;
}

bool IsStringPrefix(std::string_view word) {
  if (word.size() > 2) return false;
  std::string lower;
  for (char c : word) lower += char(c | 0x20);
  return lower == "r" || lower == "u" || lower == "b" || lower == "f" || lower == "br" || lower == "rb" ||
         lower == "fr" || lower == "rf";
}

// Separators str.splitlines() knows besides '\n' ('\f' is blanked before analysis), and NUL.
bool HasUnusualLineBreakOrNul(std::string_view text) {
  for (size_t i = 0; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c == '\r' || c == '\v' || c == '\f' || (c >= 0x1c && c <= 0x1e) || c == 0) return true;
    if (c == 0xc2 && i + 1 < text.size() && static_cast<unsigned char>(text[i + 1]) == 0x85) return true;
    if (c == 0xe2 && i + 2 < text.size() && static_cast<unsigned char>(text[i + 1]) == 0x80 &&
        (static_cast<unsigned char>(text[i + 2]) == 0xa8 || static_cast<unsigned char>(text[i + 2]) == 0xa9))
      return true;
  }
  return false;
}

class Scanner {
 public:
  explicit Scanner(std::string_view text) : text_(text) {}

  std::optional<std::vector<PythonToken>> Run() {
    while (pos_ < text_.size()) {
      if (brackets_ == 0 && !continued_) {
        if (!StartLogicalLine()) return std::nullopt;
        if (pos_ >= text_.size()) break;
        if (at_blank_line_) continue;
      }
      continued_ = false;
      if (!RestOfPhysicalLine()) return std::nullopt;
    }
    // EOF inside brackets or after a backslash: tokenize raises "EOF in multi-line statement".
    if (brackets_ != 0 || continued_) return std::nullopt;
    return std::move(tokens_);
  }

 private:
  void Add(PythonTokenType type, int32_t start, int32_t end, std::string_view op = {}) {
    const bool blank = type == PythonTokenType::kIndent || type == PythonTokenType::kDedent ||
                       type == PythonTokenType::kNewline || type == PythonTokenType::kNl;
    tokens_.push_back({type, op, start, end, blank});
  }

  // Indentation of a new logical line: INDENT/DEDENT, or a blank or comment-only line (which
  // tokenize gives as COMMENT and NL, without looking at its indentation).
  bool StartLogicalLine() {
    at_blank_line_ = false;
    int column = 0;
    while (pos_ < text_.size()) {
      const char c = text_[pos_];
      if (c == ' ') ++column;
      else if (c == '\t') column = (column / kTabSize + 1) * kTabSize;
      else break;
      ++pos_;
    }
    if (pos_ >= text_.size()) return true;
    if (text_[pos_] == '#' || text_[pos_] == '\n') {
      if (text_[pos_] == '#') {
        Add(PythonTokenType::kComment, line_, line_);
        pos_ = text_.find('\n', pos_);
        if (pos_ == std::string_view::npos) pos_ = text_.size();
      }
      Add(PythonTokenType::kNl, line_, line_);
      if (pos_ < text_.size()) ++pos_;
      ++line_;
      at_blank_line_ = true;
      return true;
    }
    if (column > indents_.back()) {
      indents_.push_back(column);
      Add(PythonTokenType::kIndent, line_, line_);
    }
    while (column < indents_.back()) {
      indents_.pop_back();
      Add(PythonTokenType::kDedent, line_, line_);
    }
    return column == indents_.back();  // else "unindent does not match any outer level"
  }

  // Tokens up to and including the end of the physical line (a string may run past it).
  bool RestOfPhysicalLine() {
    while (pos_ < text_.size()) {
      const auto c = static_cast<unsigned char>(text_[pos_]);
      if (c == ' ' || c == '\t') {
        ++pos_;
      } else if (c == '\n') {
        Add(brackets_ > 0 ? PythonTokenType::kNl : PythonTokenType::kNewline, line_, line_);
        ++pos_;
        ++line_;
        return true;
      } else if (c == '#') {
        Add(PythonTokenType::kComment, line_, line_);
        pos_ = text_.find('\n', pos_);
        if (pos_ == std::string_view::npos) pos_ = text_.size();
      } else if (c == '\\') {
        if (pos_ + 1 >= text_.size() || text_[pos_ + 1] != '\n') return false;
        pos_ += 2;
        ++line_;
        continued_ = true;
        return true;
      } else if (c == '"' || c == '\'') {
        if (!String()) return false;
      } else if (IsWordByte(c)) {
        const size_t start = pos_;
        while (pos_ < text_.size() && IsWordByte(static_cast<unsigned char>(text_[pos_]))) ++pos_;
        if (pos_ < text_.size() && (text_[pos_] == '"' || text_[pos_] == '\'') &&
            IsStringPrefix(text_.substr(start, pos_ - start))) {
          if (!String()) return false;
        } else {
          Add(PythonTokenType::kName, line_, line_);
        }
      } else if (!Operator()) {
        return false;
      }
    }
    return true;
  }

  // A string literal whose opening quote is at pos_ (after its prefix, if any).
  bool String() {
    const char quote = text_[pos_];
    const bool triple = text_.substr(pos_, 3) == std::string(3, quote);
    const int32_t first = line_;
    pos_ += triple ? 3 : 1;
    while (true) {
      if (pos_ >= text_.size()) return false;  // EOF in a string
      const char c = text_[pos_];
      if (c == '\\') {
        if (pos_ + 1 < text_.size() && text_[pos_ + 1] == '\n') ++line_;
        pos_ += 2;
        continue;
      }
      if (c == '\n') {
        if (!triple) return false;  // unterminated single-quoted string
        ++line_;
        ++pos_;
        continue;
      }
      if (c == quote && (!triple || text_.substr(pos_, 3) == std::string(3, quote))) {
        pos_ += triple ? 3 : 1;
        break;
      }
      ++pos_;
    }
    Add(PythonTokenType::kString, first, line_);
    return true;
  }

  // An operator (or a character tokenize calls an error token: the compiler rejects it).
  bool Operator() {
    const char c = text_[pos_];
    const bool then_equals = pos_ + 1 < text_.size() && text_[pos_ + 1] == '=';
    if ((c == ':' || c == '@') && then_equals) {
      Add(PythonTokenType::kOp, line_, line_, OperatorName(text_.substr(pos_, 2)));
      pos_ += 2;
      return true;
    }
    if (c == '(' || c == '[' || c == '{') ++brackets_;
    if (c == ')' || c == ']' || c == '}') --brackets_;
    Add(PythonTokenType::kOp, line_, line_, OperatorName(text_.substr(pos_, 1)));
    ++pos_;
    return brackets_ >= 0;  // an unmatched closer: tokenize's own count goes negative
  }

  std::string_view text_;
  size_t pos_ = 0;
  int32_t line_ = 1;
  int brackets_ = 0;
  bool continued_ = false;      // the last physical line ended with a backslash
  bool at_blank_line_ = false;
  std::vector<int> indents_{0};
  std::vector<PythonToken> tokens_;
};

}  // namespace

std::string_view OperatorName(std::string_view text) {
  for (std::string_view name : {":", "@", ":=", "@=", "(", ")", "[", "]", "{", "}"})
    if (text == name) return name;
  return "op";
}

std::optional<std::vector<PythonToken>> ScanPythonTokens(std::string_view text) {
  if (HasUnusualLineBreakOrNul(text)) return std::nullopt;
  return Scanner(text).Run();
}

}  // namespace pycov
