#include "combine.h"

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>

#include "hit_file_format.h"
#include "hit_file_writer.h"
#include "test_dir.h"

namespace pycov {
namespace {

using pycov::testing::TestDir;

void RecordLines(hitfile::HitFileWriter& writer, const std::string& path, std::initializer_list<int> lines) {
  int32_t file = writer.AddFile(path);
  ASSERT_GE(file, 0);
  uint8_t* bits = writer.AllocateLines(uint32_t(file), 64);
  ASSERT_NE(bits, nullptr);
  for (int line : lines) bits[line >> 3] |= uint8_t(1u << (line & 7));
}

TEST(Combine, UnionsEveryProcessOfTheRun) {
  TestDir dir;
  hitfile::HitFileWriter first, second;
  ASSERT_TRUE(first.Open(dir.path(), 0, std::string("a.py\0", 5)));
  ASSERT_TRUE(second.Open(dir.path(), 0, std::string("b.py\0", 5)));
  RecordLines(first, "/p/shared.py", {1, 2});
  RecordLines(first, "/p/only_first.py", {5});
  RecordLines(second, "/p/shared.py", {2, 9});

  auto run = CombineHitFiles(dir.path(), false);
  ASSERT_TRUE(run.ok()) << run.error().message;
  EXPECT_TRUE(run->warnings.empty());
  ASSERT_EQ(run->processes.size(), 2u);
  EXPECT_EQ(run->data.files.at("/p/shared.py").lines, (std::set<int32_t>{1, 2, 9}));
  EXPECT_EQ(run->data.files.at("/p/only_first.py").lines, (std::set<int32_t>{5}));
}

TEST(Combine, ADamagedHitFileIsAWarningNotALoss) {
  TestDir dir;
  hitfile::HitFileWriter good;
  ASSERT_TRUE(good.Open(dir.path(), 0, ""));
  RecordLines(good, "/p/kept.py", {3});
  dir.Write("999-1.hits", std::string(5000, '\0'));

  auto run = CombineHitFiles(dir.path(), false);
  ASSERT_TRUE(run.ok()) << run.error().message;
  ASSERT_EQ(run->warnings.size(), 1u);
  EXPECT_NE(run->warnings[0].find("999-1.hits"), std::string::npos);
  EXPECT_EQ(run->data.files.at("/p/kept.py").lines, (std::set<int32_t>{3}));
}

TEST(Combine, FilesWithNoHitsAreLeftOut) {
  TestDir dir;
  hitfile::HitFileWriter writer;
  ASSERT_TRUE(writer.Open(dir.path(), 0, ""));
  ASSERT_GE(writer.AddFile("/p/imported_but_never_run.py"), 0);
  auto run = CombineHitFiles(dir.path(), false);
  ASSERT_TRUE(run.ok());
  EXPECT_TRUE(run->data.files.empty());
}

// A process that switched user records in that user's directory of the run: its lines are
// combined with the rest. A link named like such a directory is not followed.
TEST(Combine, ReadsTheDirectoriesOfOtherUsers) {
  if (geteuid() != 0) GTEST_SKIP() << "giving a directory to another user takes root";
  TestDir dir, elsewhere;
  dir.Write("config", "branch=0\n");
  hitfile::HitFileWriter writer;
  ASSERT_TRUE(writer.Open(dir.path(), 0, ""));
  RecordLines(writer, "/p/shared.py", {1});
  constexpr uid_t kDaemon = 1;
  ASSERT_TRUE(hitfile::MakeOtherUserDirectory(dir.path().c_str(), kDaemon, kDaemon));
  const std::string users_directory = dir.path() + "/uid-1";
  struct stat status {};
  ASSERT_EQ(stat(users_directory.c_str(), &status), 0);
  EXPECT_EQ(status.st_uid, kDaemon);
  EXPECT_EQ(status.st_mode & 07777, 0700u);
  ASSERT_EQ(stat(dir.path().c_str(), &status), 0);
  EXPECT_EQ(status.st_mode & 07777, 0711u);  // through, not listed
  ASSERT_EQ(stat((dir.path() + "/config").c_str(), &status), 0);
  EXPECT_EQ(status.st_mode & 07777, 0644u);

  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    if (setgid(kDaemon) != 0 || setuid(kDaemon) != 0 || !writer.SwitchToForkedChild()) _exit(2);
    int32_t file = writer.AddFile("/p/child.py");
    uint8_t* bits = file >= 0 ? writer.AllocateLines(uint32_t(file), 64) : nullptr;
    if (bits == nullptr) _exit(3);
    bits[0] |= 1u << 4;
    _exit(0);
  }
  int status_code = 0;
  waitpid(child, &status_code, 0);
  ASSERT_TRUE(WIFEXITED(status_code) && WEXITSTATUS(status_code) == 0) << status_code;
  ASSERT_EQ(std::distance(std::filesystem::directory_iterator(users_directory), {}), 1);

  hitfile::HitFileWriter planted;
  ASSERT_TRUE(planted.Open(elsewhere.path(), 0, ""));
  RecordLines(planted, "/p/planted.py", {2});
  std::filesystem::create_directory_symlink(elsewhere.path(), dir.path() + "/uid-7");

  auto run = CombineHitFiles(dir.path(), false);
  ASSERT_TRUE(run.ok()) << run.error().message;
  EXPECT_TRUE(run->warnings.empty());
  ASSERT_EQ(run->processes.size(), 2u);
  EXPECT_EQ(run->data.files.at("/p/child.py").lines, (std::set<int32_t>{4}));
  EXPECT_EQ(run->data.files.count("/p/planted.py"), 0u);
}

// Only a directory that is the user's is taken for one: not a link, not someone else's.
TEST(Combine, AUsersDirectoryMustBeTheUsers) {
  if (geteuid() != 0) GTEST_SKIP() << "giving a directory to another user takes root";
  TestDir dir;
  dir.Write("config", "branch=0\n");
  std::filesystem::create_directory(dir.path() + "/uid-2");  // root's
  errno = 0;
  EXPECT_FALSE(hitfile::MakeOtherUserDirectory(dir.path().c_str(), 2, 2));
  EXPECT_EQ(errno, EEXIST);
  std::filesystem::create_directory_symlink("/tmp", dir.path() + "/uid-3");
  EXPECT_FALSE(hitfile::MakeOtherUserDirectory(dir.path().c_str(), 3, 3));
  EXPECT_TRUE(hitfile::MakeOtherUserDirectory(dir.path().c_str(), 4, 4));
  EXPECT_TRUE(hitfile::MakeOtherUserDirectory(dir.path().c_str(), 4, 4));  // made before: the user's
}

// Root may write in any run directory: a root child of a run by another user (sudo) records
// there, as pycov's own user does, without a directory of its own.
TEST(Combine, RootRecordsInTheRunDirectoryOfAnotherUser) {
  if (geteuid() != 0) GTEST_SKIP() << "takes root";
  TestDir dir;
  ASSERT_EQ(chown(dir.path().c_str(), 1, 1), 0);
  hitfile::HitFileWriter writer;
  ASSERT_TRUE(writer.Open(dir.path(), 0, "")) << std::strerror(errno);
  EXPECT_EQ(std::filesystem::path(writer.path()).parent_path(), dir.path());
}

TEST(Combine, MissingRunDirectoryIsAnError) {
  auto run = CombineHitFiles("/nonexistent/pycov-run", false);
  ASSERT_FALSE(run.ok());
  EXPECT_NE(run.error().message.find("/nonexistent/pycov-run"), std::string::npos);
}

TEST(Combine, ImportableSourceFilesAreThoseCoveragePyLists) {
  TestDir dir;
  ASSERT_FALSE(dir.path().empty());
  namespace fs = std::filesystem;
  for (const char* sub : {"app/pkg/sub", "app/pkg/__pycache__", "app/plain/inner", "elsewhere"})
    fs::create_directories(dir.path() + "/" + sub);
  for (const char* file : {"app/main.py", "app/tool.pyw", "app/notes.txt", "app/#scratch.py", "app/.hidden.py",
                           "app/a.b.py", "app/odd-name.py", "app/pkg/__init__.py", "app/pkg/used.py",
                           "app/pkg/test_used.py", "app/pkg/sub/__init__.py", "app/pkg/sub/deep.py",
                           "app/pkg/__pycache__/used.cpython-311.py", "app/plain/helper.py",
                           "app/plain/inner/__init__.py", "app/plain/inner/x.py", "elsewhere/__init__.py",
                           "elsewhere/linked.py"})
    dir.Write(file, "x = 1\n");
  fs::create_directory_symlink(dir.path() + "/elsewhere", dir.path() + "/app/pkg/link");  // not entered
  fs::create_symlink(dir.path() + "/elsewhere/linked.py", dir.path() + "/app/pkg/alias.py");

  FileSelection s;
  const std::string real = fs::canonical(dir.path()).string();
  s.source_dirs = {real + "/app"};
  s.omit_globs = {"*/test_*.py"};
  EXPECT_EQ(ImportableSourceFiles(s),
            (std::vector<std::string>{real + "/app/main.py", real + "/app/odd-name.py", real + "/app/pkg/__init__.py",
                                      real + "/app/pkg/sub/__init__.py", real + "/app/pkg/sub/deep.py",
                                      real + "/app/pkg/used.py", real + "/app/tool.pyw"}));
  // The alias resolves outside the source directory, so it is not selected; with both
  // directories as sources, it is listed once, by its real path.
  s.source_dirs.push_back(real + "/elsewhere");
  auto both = ImportableSourceFiles(s);
  EXPECT_EQ(std::count(both.begin(), both.end(), real + "/elsewhere/linked.py"), 1);
  EXPECT_EQ(both.size(), 9u);
}

}  // namespace
}  // namespace pycov
