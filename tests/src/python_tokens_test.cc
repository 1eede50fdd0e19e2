#include "python_tokens.h"

#include <gtest/gtest.h>

namespace pycov {
namespace {

using T = PythonTokenType;

// (type, start line, end line) of every token, with the operator name for operators.
std::string Describe(const std::vector<PythonToken>& tokens) {
  std::string text;
  for (const auto& token : tokens) {
    text += std::to_string(int(token.type));
    if (token.type == T::kOp) text += std::string(token.op);
    text += "@" + std::to_string(token.start_line);
    if (token.end_line != token.start_line) text += "-" + std::to_string(token.end_line);
    text += " ";
  }
  return text;
}

TEST(ScanPythonTokens, GivesTokenizesStructure) {
  // Expected values read off `python3 -m tokenize` for the same text.
  auto tokens = ScanPythonTokens("# c\ndef f(a,\n      b):\n    '''doc\n    more'''\n    return a := b\n");
  ASSERT_TRUE(tokens.has_value());
  EXPECT_EQ(Describe(*tokens),
            "61@1 62@1 1@2 1@2 54(@2 1@2 54op@2 62@2 1@3 54)@3 54:@3 4@3 "
            "5@4 3@4-5 4@5 1@6 1@6 54:=@6 1@6 4@6 ");
}

TEST(ScanPythonTokens, StringPrefixesBackslashesAndDecorators) {
  auto tokens = ScanPythonTokens("@d\nx = rb'a\\'' + f\"{y}\" \\\n  + z@w\n");
  ASSERT_TRUE(tokens.has_value());
  EXPECT_EQ(Describe(*tokens), "54@@1 1@1 4@1 1@2 54op@2 3@2 54op@2 3@2 54op@3 1@3 54@@3 1@3 4@3 ");
}

TEST(ScanPythonTokens, IndentsAndDedentsOnlyOnLinesWithCode) {
  auto tokens = ScanPythonTokens("if a:\n\tb\n\n        # deeper comment\n\tc\nd\n");
  ASSERT_TRUE(tokens.has_value());
  // A tab and eight spaces are the same column; the comment line has no INDENT.
  EXPECT_EQ(Describe(*tokens), "1@1 1@1 54:@1 4@1 5@2 1@2 4@2 62@3 61@4 62@4 1@5 4@5 6@6 1@6 4@6 ");
}

TEST(ScanPythonTokens, DeclinesWhatOnlyTokenizeGetsExactlyRight) {
  EXPECT_FALSE(ScanPythonTokens("x = 1\r\ny = 2\n").has_value());        // other line breaks
  EXPECT_FALSE(ScanPythonTokens("x = '''never ends\n").has_value());     // EOF in a string
  EXPECT_FALSE(ScanPythonTokens("x = 'no end\n").has_value());           // unterminated string
  EXPECT_FALSE(ScanPythonTokens("x = (1,\n").has_value());               // EOF in brackets
  EXPECT_FALSE(ScanPythonTokens("if a:\n    b\n  c\n").has_value());    // inconsistent dedent
  EXPECT_FALSE(ScanPythonTokens("x = 1 \\ y\n").has_value());           // stray backslash
  EXPECT_FALSE(ScanPythonTokens("x = 1)\n").has_value());                // unmatched closer
  EXPECT_FALSE(ScanPythonTokens(std::string("x = 1\0\n", 7)).has_value());
}

}  // namespace
}  // namespace pycov
