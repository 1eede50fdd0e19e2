#include "coverage_data.h"

#include <gtest/gtest.h>

#include "coverage_report.h"
#include "test_dir.h"

namespace pycov {
namespace {

using pycov::testing::TestDir;

TEST(DataFile, LinesRoundTrip) {
  TestDir dir;
  CoverageData data;
  data.files["/p/a.py"].lines = {1, 2, 5};
  data.files["/p/b.py"].lines = {3};
  std::string path = dir.path() + "/.coverage";
  ASSERT_TRUE(WriteDataFile(path, data, "['pycov']").ok());
  auto read = ReadDataFile(path);
  ASSERT_TRUE(read.ok()) << read.error().message;
  EXPECT_FALSE(read->has_arcs);
  EXPECT_EQ(read->files.at("/p/a.py").lines, (std::set<int32_t>{1, 2, 5}));
  EXPECT_EQ(read->ExecutedLines("/p/b.py"), (std::set<int32_t>{3}));
}

TEST(DataFile, ArcsRoundTripAndGiveLines) {
  TestDir dir;
  CoverageData data;
  data.has_arcs = true;
  data.files["/p/a.py"].arcs = {{-1, 1}, {1, 2}, {2, -1}};
  std::string path = dir.path() + "/.coverage";
  ASSERT_TRUE(WriteDataFile(path, data, "").ok());
  auto read = ReadDataFile(path);
  ASSERT_TRUE(read.ok()) << read.error().message;
  EXPECT_TRUE(read->has_arcs);
  EXPECT_EQ(read->files.at("/p/a.py").arcs.size(), 3u);
  EXPECT_EQ(read->ExecutedLines("/p/a.py"), (std::set<int32_t>{1, 2}));
}

TEST(DataFile, LineOriginsRoundTripBesideCoveragePyTables) {
  TestDir dir;
  CoverageData data;
  data.files["/p/a.py"].lines = {1, 2, 3};
  data.origins.processes.push_back({100, 1, 0, 0, 5, {"app.py", "--x"}});
  data.origins.processes.push_back({101, 100, 0, 1, 6, {"app.py"}});
  data.origins.lines[{0, 0, "/p/a.py"}] = {1, 2};
  data.origins.lines[{1, 4, "/p/a.py"}] = {2, 3};
  std::string path = dir.path() + "/.coverage";
  ASSERT_TRUE(WriteDataFile(path, data, "['pycov']").ok());
  auto read = ReadDataFile(path);
  ASSERT_TRUE(read.ok()) << read.error().message;
  ASSERT_EQ(read->origins.processes.size(), 2u);
  EXPECT_EQ(read->origins.processes[1].ppid, 100);
  EXPECT_EQ(read->origins.processes[1].fork_depth, 1u);
  EXPECT_EQ(read->origins.processes[0].argv, (std::vector<std::string>{"app.py", "--x"}));
  EXPECT_EQ(read->origins.lines, data.origins.lines);
}

TEST(DataFile, LinesOnlyAnAffectedProcessOrThreadRan) {
  LineOrigins origins;
  origins.processes.push_back({100, 1, 0, 0, 0, {}});
  origins.processes.push_back({101, 100, 0, 1, 0, {}});
  origins.lines[{0, 0, "/p/a.py"}] = {1, 2};
  origins.lines[{0, 4, "/p/a.py"}] = {2, 3};  // greenlet in the parent
  origins.lines[{1, 0, "/p/a.py"}] = {3, 4};  // the forked child
  origins.lines[{1, 0, "/p/b.py"}] = {9};
  auto child_only = origins.LinesOnlyRunBy([](const ProcessOrigin& p, uint32_t) { return p.fork_depth > 0; });
  EXPECT_EQ(child_only, (std::map<std::string, std::set<int32_t>>{{"/p/a.py", {4}}, {"/p/b.py", {9}}}));
  auto greenlet_only = origins.LinesOnlyRunBy([](const ProcessOrigin&, uint32_t kind) { return kind == 4; });
  EXPECT_TRUE(greenlet_only.empty());  // 2 ran in the main thread too, 3 in the child
}

TEST(DataFile, CorruptFileIsNamedAndNotReplaceable) {
  TestDir dir;
  std::string path = dir.Write(".coverage", "this is not a database, just text\n");
  auto read = ReadDataFile(path);
  ASSERT_FALSE(read.ok());
  EXPECT_NE(read.error().message.find(path), std::string::npos);
  EXPECT_FALSE(CheckReplaceableDataFile(path).ok());
  EXPECT_TRUE(CheckReplaceableDataFile(dir.path() + "/absent").ok());
}

TEST(DataFile, FailedWriteLeavesNoFile) {
  CoverageData data;
  data.files["/p/a.py"].lines = {1};
  auto written = WriteDataFile("/nonexistent-dir/.coverage", data, "");
  ASSERT_FALSE(written.ok());
  EXPECT_NE(written.error().message.find("/nonexistent-dir/.coverage"), std::string::npos);
}

TEST(Report, PercentDisplayNeverRoundsToTheEnds) {
  EXPECT_EQ(DisplayPercent(0.0), "0");
  EXPECT_EQ(DisplayPercent(0.2), "1");
  EXPECT_EQ(DisplayPercent(99.7), "99");
  EXPECT_EQ(DisplayPercent(100.0), "100");
  EXPECT_EQ(DisplayPercent(92.3), "92");
}

}  // namespace
}  // namespace pycov
