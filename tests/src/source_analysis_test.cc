#include "source_analysis.h"

#include <gtest/gtest.h>

#include <filesystem>

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

// coverage.py reads \r\n and a lone \r as \n, and counts lines so.
TEST(SourceAnalysis, ALoneCarriageReturnEndsALine) {
  TestDir dir;
  auto analysis = AnalyzeSource(dir.Write("old_mac.py", "x = 1\r\ny = 2\rz = 3\rprint(x)\n"), DefaultExcludeRegexes());
  ASSERT_TRUE(analysis.ok()) << analysis.error().message;
  EXPECT_EQ(analysis->statements, (std::set<int32_t>{1, 2, 3, 4}));
  EXPECT_EQ(analysis->source_lines, (std::vector<std::string>{"x = 1", "y = 2", "z = 3", "print(x)"}));
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

// pycov's scanner against Python's tokenize, over the standard library and CPython's test
// suite (which has files with odd encodings, odd whitespace and syntax errors on purpose):
// same statements, exclusions and multi-line statements, or the same error.
TEST(SourceAnalysis, NativeTokenizerAgreesWithTokenizeOnTheStandardLibrary) {
  const std::filesystem::path root = "/usr/lib/python3.11";
  ASSERT_TRUE(std::filesystem::is_directory(root));
  auto excludes = DefaultExcludeRegexes();
  for (const char* regex : {R"(def __repr__)", R"(if TYPE_CHECKING:)", R"(raise NotImplementedError)",
                            R"(@abc\.abstractmethod)", R"(if __name__ == .__main__.:)", R"(else:)"})
    excludes.push_back(regex);
  size_t files = 0, failures = 0;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(root)) {
    if (!entry.is_regular_file() || entry.path().extension() != ".py") continue;
    const std::string path = entry.path().string();
    const std::string name = entry.path().filename().string();
    const bool in_tests = path.find("/test/") != std::string::npos || path.find("/tests/") != std::string::npos;
    const bool odd_on_purpose = name.find("bad") != std::string::npos || name.find("coding") != std::string::npos ||
                                name.find("token") != std::string::npos || name.find("grammar") != std::string::npos ||
                                name.find("syntax") != std::string::npos || name.find("utf8") != std::string::npos ||
                                name.find("string") != std::string::npos || name.find("fstring") != std::string::npos;
    if (path.find("-packages/") != std::string::npos || (in_tests && !odd_on_purpose)) continue;
    ++files;
    auto native = AnalyzeSource(path, excludes, Tokenizer::kNative);
    auto reference = AnalyzeSource(path, excludes, Tokenizer::kPython);
    ASSERT_EQ(native.ok(), reference.ok()) << path << ": " << (native.ok() ? reference : native).error().message;
    if (!native.ok()) {
      EXPECT_EQ(native.error().message, reference.error().message) << path;
      continue;
    }
    const bool same = native->statements == reference->statements && native->excluded == reference->excluded &&
                      native->multiline == reference->multiline;
    EXPECT_TRUE(same) << path;
    if (!same && ++failures > 5) FAIL() << "more files differ";
  }
  EXPECT_GT(files, 500u);
}

TEST(FormatLineRanges, RangesRunOverStatementsNotNumbers) {
  // Lines 3 and 5 are consecutive statements (4 is not one), so they form one range.
  EXPECT_EQ(FormatLineRanges({1, 2, 3, 5, 6, 9, 10}, {2, 3, 5, 10}), "2-5, 10");
  EXPECT_EQ(FormatLineRanges({1, 2}, {}), "");
  EXPECT_EQ(FormatLineRanges({4}, {4}), "4");
}

}  // namespace
}  // namespace pycov
