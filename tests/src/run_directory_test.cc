#include "run_directory.h"

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cerrno>
#include <cstring>
#include <fstream>

#include "test_dir.h"

namespace pycov {
namespace {

using pycov::testing::TestDir;

// A child that acts as user 4321, group 5432 (real and saved ids stay root's, so the two can
// be told apart, and the process is not dumpable), until the pipe closes.
class ChildOfAnotherUser {
 public:
  static constexpr uid_t kUser = 4321;
  static constexpr gid_t kGroup = 5432;

  ChildOfAnotherUser() {
    int ready[2], hold[2];
    if (pipe(ready) != 0 || pipe(hold) != 0) return;
    pid_ = fork();
    if (pid_ == 0) {
      close(ready[0]);
      close(hold[1]);
      const char ok = setresgid(0, kGroup, 0) == 0 && setresuid(0, kUser, 0) == 0 ? 'y' : 'n';
      (void)!write(ready[1], &ok, 1);
      char byte;
      (void)!read(hold[0], &byte, 1);
      _exit(0);
    }
    close(ready[1]);
    close(hold[0]);
    hold_ = hold[1];
    char ok = 'n';
    started_ = pid_ > 0 && read(ready[0], &ok, 1) == 1 && ok == 'y';
    close(ready[0]);
  }
  ~ChildOfAnotherUser() {
    if (hold_ >= 0) close(hold_);
    if (pid_ > 0) waitpid(pid_, nullptr, 0);
  }
  pid_t pid() const { return pid_; }
  bool started() const { return started_; }

 private:
  pid_t pid_ = -1;
  int hold_ = -1;
  bool started_ = false;
};

TEST(RunDirectory, EffectiveCredentialsFromEitherSource) {
  if (geteuid() != 0) GTEST_SKIP() << "takes root";
  ChildOfAnotherUser child;
  ASSERT_TRUE(child.started());
  for (CredentialSource source : {CredentialSource::kFastest, CredentialSource::kProcStatus}) {
    auto credentials = EffectiveCredentials(child.pid(), source);
    ASSERT_TRUE(credentials.ok()) << credentials.error().message;
    EXPECT_EQ(credentials->user, ChildOfAnotherUser::kUser);
    EXPECT_EQ(credentials->group, ChildOfAnotherUser::kGroup);
  }
  auto own = EffectiveCredentials(getpid());
  ASSERT_TRUE(own.ok());
  EXPECT_EQ(own->user, geteuid());
  EXPECT_EQ(own->group, getegid());
}

TEST(RunDirectory, NoCredentialsOfAProcessThatIsGone) {
  const pid_t child = fork();
  if (child == 0) _exit(0);
  ASSERT_GT(child, 0);
  ASSERT_EQ(waitpid(child, nullptr, 0), child);
  for (CredentialSource source : {CredentialSource::kFastest, CredentialSource::kProcStatus}) {
    auto credentials = EffectiveCredentials(child, source);
    ASSERT_FALSE(credentials.ok());
    EXPECT_NE(credentials.error().message.find(std::to_string(child)), std::string::npos);
  }
}

TEST(RunDirectory, AProcessOfAnotherUserGetsItsDirectoryOnce) {
  if (geteuid() != 0) GTEST_SKIP() << "takes root";
  TestDir dir;
  std::ofstream(dir.path() + "/config") << "run configuration\n";
  ChildOfAnotherUser child;
  ASSERT_TRUE(child.started());
  OtherUserDirectories directories(dir.path());
  const Status prepared = directories.PrepareFor(child.pid());
  ASSERT_TRUE(prepared.ok()) << prepared.error().message;
  const std::string made = dir.path() + "/uid-" + std::to_string(ChildOfAnotherUser::kUser);
  struct stat info {};
  ASSERT_EQ(stat(made.c_str(), &info), 0) << made << ": " << std::strerror(errno);
  EXPECT_EQ(info.st_uid, ChildOfAnotherUser::kUser);
  EXPECT_EQ(info.st_gid, ChildOfAnotherUser::kGroup);
  EXPECT_EQ(info.st_mode & 07777, 0700u);
  ASSERT_TRUE(directories.PrepareFor(child.pid()).ok());
  EXPECT_EQ(RecordingDirectories(dir.path()), (std::vector<std::string>{dir.path(), made}));
  // Root's own processes record in the run directory itself.
  ASSERT_TRUE(directories.PrepareFor(getpid()).ok());
  EXPECT_EQ(RecordingDirectories(dir.path()).size(), 2u);
}

}  // namespace
}  // namespace pycov
