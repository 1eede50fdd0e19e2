#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "hit_file_format.h"
#include "hit_file_reader.h"
#include "hit_file_writer.h"
#include "test_dir.h"

namespace pycov::hitfile {
namespace {

using pycov::testing::TestDir;

std::vector<std::string> HitFilesIn(const std::string& dir) {
  std::vector<std::string> files;
  for (const auto& entry : std::filesystem::directory_iterator(dir))
    if (entry.path().extension() == ".hits") files.push_back(entry.path().string());
  std::sort(files.begin(), files.end());
  return files;
}

void SetLine(uint8_t* bits, int line) { bits[line >> 3] |= uint8_t(1u << (line & 7)); }

std::vector<std::string> EntriesIn(const std::string& dir) {
  std::vector<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) names.push_back(entry.path().string());
  std::sort(names.begin(), names.end());
  return names;
}

// A hit file gets its name once its header is whole (a process killed while creating it
// leaves only a file that readers skip): after Open, and after a forked child's switch, the
// directory holds the named files and nothing else.
TEST(HitFile, AppearsUnderItsNameOnlyOnceItsHeaderIsWhole) {
  TestDir dir;
  HitFileWriter writer;
  ASSERT_TRUE(writer.Open(dir.path(), 0, ""));
  EXPECT_EQ(EntriesIn(dir.path()), std::vector<std::string>{writer.path()});
  auto hits = ReadHitFile(writer.path());
  ASSERT_TRUE(hits.ok()) << hits.error().message;
  EXPECT_EQ(hits->pid, getpid());

  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) _exit(writer.SwitchToForkedChild() ? 0 : 2);
  int status = 0;
  waitpid(child, &status, 0);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  EXPECT_EQ(EntriesIn(dir.path()), HitFilesIn(dir.path()));
  EXPECT_EQ(HitFilesIn(dir.path()).size(), 2u);
}

TEST(HitFile, RecordsFilesLinesAndArcs) {
  TestDir dir;
  HitFileWriter writer;
  ASSERT_TRUE(writer.Open(dir.path(), kFlagBranch, std::string("app.py\0-v\0", 10)));
  int32_t a = writer.AddFile("/src/a.py");
  int32_t b = writer.AddFile("/src/b.py");
  ASSERT_EQ(a, 0);
  ASSERT_EQ(b, 1);
  uint8_t* bits = writer.AllocateLines(uint32_t(a), 256);
  ASSERT_NE(bits, nullptr);
  SetLine(bits, 1);
  SetLine(bits, 17);
  ASSERT_TRUE(writer.RecordArc(uint32_t(b), -1, 3));
  ASSERT_TRUE(writer.RecordArc(uint32_t(b), 3, -1));
  ASSERT_TRUE(writer.RecordArc(uint32_t(b), 3, -1));  // a set: recorded once

  auto hits = ReadHitFile(writer.path());
  ASSERT_TRUE(hits.ok()) << hits.error().message;
  EXPECT_EQ(hits->pid, getpid());
  EXPECT_TRUE(hits->has_arcs());
  EXPECT_EQ(hits->argv, (std::vector<std::string>{"app.py", "-v"}));
  ASSERT_EQ(hits->files.size(), 2u);
  EXPECT_EQ(hits->files[0].path, "/src/a.py");
  EXPECT_EQ(hits->files[0].lines, (std::set<int32_t>{1, 17}));
  EXPECT_EQ(hits->files[1].arcs, (std::set<std::pair<int32_t, int32_t>>{{-1, 3}, {3, -1}}));
}

TEST(HitFile, LinesKeepTheKindOfThreadThatRanThem) {
  TestDir dir;
  HitFileWriter writer;
  ASSERT_TRUE(writer.Open(dir.path(), 0, "app.py"));
  int32_t file = writer.AddFile("/src/a.py");
  SetLine(writer.AllocateLines(uint32_t(file), 64, ThreadKind::kMain), 3);
  SetLine(writer.AllocateLines(uint32_t(file), 64, ThreadKind::kGreenlet), 5);
  uint8_t* native = writer.AllocateLines(uint32_t(file), 64, ThreadKind::kNative);
  SetLine(native, 3);
  SetLine(native, 7);
  auto hits = ReadHitFile(writer.path());
  ASSERT_TRUE(hits.ok()) << hits.error().message;
  const FileHits& a = hits->files[0];
  EXPECT_EQ(a.lines, (std::set<int32_t>{3, 5, 7}));
  EXPECT_EQ(a.lines_by_kind[uint32_t(ThreadKind::kMain)], (std::set<int32_t>{3}));
  EXPECT_EQ(a.lines_by_kind[uint32_t(ThreadKind::kGreenlet)], (std::set<int32_t>{5}));
  EXPECT_EQ(a.lines_by_kind[uint32_t(ThreadKind::kNative)], (std::set<int32_t>{3, 7}));
  EXPECT_TRUE(a.lines_by_kind[uint32_t(ThreadKind::kThreading)].empty());
}

TEST(HitFile, ArcsMayNameFilesAddedAfterTheArcTable) {
  TestDir dir;
  HitFileWriter writer;
  ASSERT_TRUE(writer.Open(dir.path(), kFlagBranch, ""));
  int32_t first = writer.AddFile("/src/first.py");
  ASSERT_TRUE(writer.RecordArc(uint32_t(first), -1, 1));  // allocates the arc table
  int32_t later = writer.AddFile("/src/later.py");
  ASSERT_TRUE(writer.RecordArc(uint32_t(later), -1, 2));
  auto hits = ReadHitFile(writer.path());
  ASSERT_TRUE(hits.ok()) << hits.error().message;
  EXPECT_EQ(hits->files.at(1).arcs, (std::set<std::pair<int32_t, int32_t>>{{-1, 2}}));
}

TEST(HitFile, ArcPackingKeepsSignedLines) {
  for (auto [from, to] : std::vector<std::pair<int32_t, int32_t>>{{-1, 2}, {kMaxArcLine, -kMaxArcLine}, {5, -5}}) {
    UnpackedArc arc = UnpackArc(PackArc(77, from, to));
    EXPECT_EQ(arc.file_index, 77u);
    EXPECT_EQ(arc.from, from);
    EXPECT_EQ(arc.to, to);
  }
}

TEST(HitFile, GrowsPastItsFirstMappingWithoutMovingPointers) {
  TestDir dir;
  HitFileWriter writer;
  ASSERT_TRUE(writer.Open(dir.path(), kFlagBranch, ""));
  int32_t file = writer.AddFile("/src/big.py");
  uint8_t* first = writer.AllocateLines(uint32_t(file), 64);
  ASSERT_NE(first, nullptr);
  // Enough arcs to rehash the table several times and grow the file well past 64 KiB.
  for (int32_t i = 1; i <= 50000; ++i) ASSERT_TRUE(writer.RecordArc(uint32_t(file), i, i + 1));
  SetLine(first, 5);  // the early pointer is still valid after the growth
  auto hits = ReadHitFile(writer.path());
  ASSERT_TRUE(hits.ok()) << hits.error().message;
  EXPECT_EQ(hits->files[0].arcs.size(), 50000u);
  EXPECT_TRUE(hits->files[0].lines.count(5));
}

TEST(HitFile, SurvivesTheWriterBeingKilled) {
  TestDir dir;
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    HitFileWriter writer;
    if (!writer.Open(dir.path(), 0, "")) _exit(2);
    uint8_t* bits = writer.AllocateLines(uint32_t(writer.AddFile("/src/k.py")), 64);
    SetLine(bits, 7);
    kill(getpid(), SIGKILL);  // no destructor, no flush, no exit handler
    _exit(3);
  }
  int status = 0;
  waitpid(child, &status, 0);
  ASSERT_TRUE(WIFSIGNALED(status));
  auto files = HitFilesIn(dir.path());
  ASSERT_EQ(files.size(), 1u);
  auto hits = ReadHitFile(files[0]);
  ASSERT_TRUE(hits.ok()) << hits.error().message;
  EXPECT_EQ(hits->pid, child);
  EXPECT_EQ(hits->files.at(0).lines, (std::set<int32_t>{7}));
}

TEST(HitFile, ForkedChildRecordsIntoItsOwnFile) {
  TestDir dir;
  HitFileWriter writer;
  ASSERT_TRUE(writer.Open(dir.path(), 0, ""));
  uint8_t* bits = writer.AllocateLines(uint32_t(writer.AddFile("/src/f.py")), 64);
  SetLine(bits, 1);
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    if (!writer.SwitchToForkedChild()) _exit(2);
    SetLine(bits, 2);  // the same pointer, now into the child's file
    _exit(0);
  }
  int status = 0;
  waitpid(child, &status, 0);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  SetLine(bits, 3);

  auto files = HitFilesIn(dir.path());
  ASSERT_EQ(files.size(), 2u);
  std::map<int32_t, std::set<int32_t>> lines_by_pid;
  for (const auto& file : files) {
    auto hits = ReadHitFile(file);
    ASSERT_TRUE(hits.ok()) << hits.error().message;
    lines_by_pid[hits->pid] = hits->files.at(0).lines;
    if (hits->pid == child) {
      EXPECT_EQ(hits->fork_depth, 1u);
      EXPECT_EQ(hits->parent_hit_pid, getpid());
    }
  }
  EXPECT_EQ(lines_by_pid[getpid()], (std::set<int32_t>{1, 3}));
  EXPECT_EQ(lines_by_pid[child], (std::set<int32_t>{2}));
}

// The parent goes on recording while its child switches files: a record the parent commits
// after the fork, before the child has copied the file, must not be counted in the child's.
TEST(HitFile, ForkedChildFileIsWholeWhenTheParentCommitsMeanwhile) {
  TestDir dir;
  HitFileWriter writer;
  ASSERT_TRUE(writer.Open(dir.path(), 0, ""));
  const uint32_t file = uint32_t(writer.AddFile("/src/f.py"));
  SetLine(writer.AllocateLines(file, 64), 1);
  int parent_committed[2];
  ASSERT_EQ(pipe(parent_committed), 0);
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    char go;
    if (read(parent_committed[0], &go, 1) != 1) _exit(3);
    _exit(writer.SwitchToForkedChild() ? 0 : 2);
  }
  SetLine(writer.AllocateLines(file, 512), 300);  // a new record, committed after the fork
  ASSERT_EQ(write(parent_committed[1], "g", 1), 1);
  int status = 0;
  waitpid(child, &status, 0);
  close(parent_committed[0]);
  close(parent_committed[1]);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);

  auto files = HitFilesIn(dir.path());
  ASSERT_EQ(files.size(), 2u);
  for (const auto& path : files) {
    auto hits = ReadHitFile(path);
    ASSERT_TRUE(hits.ok()) << hits.error().message;
    if (hits->pid == child) EXPECT_TRUE(hits->files.at(0).lines.empty());
    else EXPECT_EQ(hits->files.at(0).lines, (std::set<int32_t>{1, 300}));
  }
}

TEST(HitFile, ReaderRejectsDamagedFilesByName) {
  TestDir dir;
  std::string junk = dir.Write("junk.hits", std::string(5000, 'x'));
  auto hits = ReadHitFile(junk);
  ASSERT_FALSE(hits.ok());
  EXPECT_NE(hits.error().message.find("junk.hits"), std::string::npos);
  EXPECT_NE(hits.error().message.find("bad magic"), std::string::npos);

  std::string shorter = dir.Write("short.hits", "PYCOVHIT");
  EXPECT_FALSE(ReadHitFile(shorter).ok());
  EXPECT_FALSE(ReadHitFile(dir.path() + "/missing.hits").ok());
}

TEST(HitFile, ReaderRejectsARecordRunningPastCommitted) {
  TestDir dir;
  HitFileWriter writer;
  ASSERT_TRUE(writer.Open(dir.path(), 0, ""));
  writer.AddFile("/src/x.py");
  std::string path = writer.path();
  // Corrupt the first record's size so it claims more than was committed.
  int fd = open(path.c_str(), O_RDWR);
  ASSERT_GE(fd, 0);
  uint32_t huge = 1u << 20;
  ASSERT_EQ(pwrite(fd, &huge, sizeof(huge), kHeaderSize + 4), ssize_t(sizeof(huge)));
  close(fd);
  auto hits = ReadHitFile(path);
  ASSERT_FALSE(hits.ok());
  EXPECT_NE(hits.error().message.find("record size"), std::string::npos);
}

}  // namespace
}  // namespace pycov::hitfile
