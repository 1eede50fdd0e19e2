#include "source_analysis.h"

#include <gtest/gtest.h>

#include "test_dir.h"

namespace pycov {
namespace {

using pycov::testing::TestDir;

// Statement and exclusion sets checked against coverage.py 6.5's PythonParser on this text.
constexpr const char* kSample = R"py("""Module docstring
spanning lines."""
import os

def f(a,
      b):
    """Function docstring."""
    x = (a +
         b)
    return x

if os.environ.get("NEVER"):  # pragma: no cover
    print("excluded")
    print("excluded too")

@staticmethod
def g():
    pass

class K:
    y = 1
)py";

TEST(SourceAnalysis, FindsStatementsLikeCoveragePy) {
  TestDir dir;
  auto analysis = AnalyzeSource(dir.Write("sample.py", kSample), DefaultExcludeRegexes());
  ASSERT_TRUE(analysis.ok()) << analysis.error().message;
  EXPECT_EQ(analysis->statements, (std::set<int32_t>{3, 5, 8, 10, 16, 17, 18, 20, 21}));
  EXPECT_EQ(analysis->excluded, (std::set<int32_t>{12, 13, 14}));
  EXPECT_EQ(analysis->FirstLine(9), 8);
  EXPECT_EQ(analysis->FirstLine(6), 5);
  EXPECT_EQ(analysis->TranslateLines({6, 9, 10}), (std::set<int32_t>{5, 8, 10}));
}

TEST(SourceAnalysis, EmptyFileHasNoStatements) {
  TestDir dir;
  auto analysis = AnalyzeSource(dir.Write("empty.py", ""), DefaultExcludeRegexes());
  ASSERT_TRUE(analysis.ok()) << analysis.error().message;
  EXPECT_TRUE(analysis->statements.empty());
}

TEST(SourceAnalysis, HonoursACodingDeclaration) {
  TestDir dir;
  std::string latin1 = "# -*- coding: latin-1 -*-\nname = '\xe9t\xe9'\nprint(name)\n";
  auto analysis = AnalyzeSource(dir.Write("latin.py", latin1), DefaultExcludeRegexes());
  ASSERT_TRUE(analysis.ok()) << analysis.error().message;
  EXPECT_EQ(analysis->statements, (std::set<int32_t>{2, 3}));
}

TEST(SourceAnalysis, SyntaxErrorNamesFileAndLine) {
  TestDir dir;
  auto analysis = AnalyzeSource(dir.Write("broken.py", "x = 1\ndef f(:)\n  pass\n"), DefaultExcludeRegexes());
  ASSERT_FALSE(analysis.ok());
  EXPECT_NE(analysis.error().message.find("broken.py"), std::string::npos) << analysis.error().message;
  EXPECT_NE(analysis.error().message.find("line 2"), std::string::npos) << analysis.error().message;
}

TEST(SourceAnalysis, MissingFileIsAnError) {
  auto analysis = AnalyzeSource("/nonexistent/nothing.py", DefaultExcludeRegexes());
  ASSERT_FALSE(analysis.ok());
  EXPECT_NE(analysis.error().message.find("/nonexistent/nothing.py"), std::string::npos);
}

TEST(FormatLineRanges, RangesRunOverStatementsNotNumbers) {
  // Lines 3 and 5 are consecutive statements (4 is not one), so they form one range.
  EXPECT_EQ(FormatLineRanges({1, 2, 3, 5, 6, 9, 10}, {2, 3, 5, 10}), "2-5, 10");
  EXPECT_EQ(FormatLineRanges({1, 2}, {}), "");
  EXPECT_EQ(FormatLineRanges({4}, {4}), "4");
}

}  // namespace
}  // namespace pycov
