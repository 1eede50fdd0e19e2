#include "run_directory.h"

#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include <fmt/format.h>

#include "hit_file_format.h"
#include "hit_file_writer.h"

namespace pycov {
namespace {

// PIDFD_GET_INFO (Linux 6.13, <linux/pidfd.h>), which Debian 12's headers do not have yet: a
// process's credentials, with the first version of the kernel's structure (64 bytes).
struct PidfdInfo {
  uint64_t mask;
  uint64_t cgroupid;
  uint32_t pid, tgid, ppid, ruid, rgid, euid, egid, suid, sgid, fsuid, fsgid;
  uint32_t spare0;
};
static_assert(sizeof(PidfdInfo) == 64);
constexpr unsigned long kPidfdGetInfo = _IOWR(0xFF, 11, PidfdInfo);
constexpr uint64_t kPidfdInfoCreds = 1u << 1;

}  // namespace

// Read while an exec waits. From a pidfd, where the kernel can tell: 9 us instead of 40 while a
// Python start waited (the kernel prints 50 lines of /proc/PID/status for two). Else from the
// "Uid:" and "Gid:" lines of /proc/PID/status (real, effective, saved, file system), in one
// read.
Result<Credentials> EffectiveCredentials(pid_t pid, CredentialSource source) {
  static bool pidfd_info_works = true;  // until the kernel says it does not know the request
  if (source == CredentialSource::kFastest && pidfd_info_works) {
    if (const long pidfd = syscall(SYS_pidfd_open, pid, 0); pidfd >= 0) {
      PidfdInfo info{};
      info.mask = kPidfdInfoCreds;
      const int rc = ioctl(int(pidfd), kPidfdGetInfo, &info);
      const int error = errno;
      close(int(pidfd));
      if (rc == 0 && (info.mask & kPidfdInfoCreds) != 0) return Credentials{uid_t(info.euid), gid_t(info.egid)};
      if (rc != 0 && (error == ENOTTY || error == EINVAL)) pidfd_info_works = false;
    }
  }
  char path[64];
  std::snprintf(path, sizeof(path), "/proc/%d/status", int(pid));
  char status[4096];
  ssize_t size = -1;
  if (int fd = open(path, O_RDONLY | O_CLOEXEC); fd >= 0) {
    size = read(fd, status, sizeof(status) - 1);
    close(fd);
  }
  if (size <= 0) return Error{fmt::format("cannot read the credentials of pid {}", pid)};
  status[size] = '\0';
  long real = 0, user = -1, group = -1;
  const char* uid_line = std::strstr(status, "\nUid:");
  const char* gid_line = std::strstr(status, "\nGid:");
  if (uid_line == nullptr || gid_line == nullptr || std::sscanf(uid_line, "\nUid: %ld %ld", &real, &user) != 2 ||
      std::sscanf(gid_line, "\nGid: %ld %ld", &real, &group) != 2)
    return Error{fmt::format("cannot read the credentials of pid {}", pid)};
  return Credentials{uid_t(user), gid_t(group)};
}

std::vector<std::string> RecordingDirectories(const std::string& run_dir) {
  namespace fs = std::filesystem;
  std::vector<std::string> directories{run_dir};
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(run_dir, ec)) {
    const std::string name = entry.path().filename().string();
    // Not followed through a link: the program's processes own these directories.
    if (name.rfind(hitfile::kOtherUserDirectoryPrefix, 0) == 0 && entry.is_directory(ec) && !entry.is_symlink(ec))
      directories.push_back(entry.path().string());
  }
  return directories;
}

OtherUserDirectories::OtherUserDirectories(std::string run_dir) : run_dir_(std::move(run_dir)) {}

Status OtherUserDirectories::PrepareFor(pid_t pid) {
  // Only root may give a directory away: otherwise there is nothing to read the process for.
  if (geteuid() != 0) return Error{"only root can make a directory for another user"};
  auto credentials = EffectiveCredentials(pid);
  if (!credentials) return credentials.error();
  // Root (pycov's own user here) writes in the run directory itself (hit_file_writer.cc).
  if (credentials->user == 0 || prepared_.count(credentials->user) != 0) return Ok();
  if (!hitfile::MakeOtherUserDirectory(run_dir_.c_str(), credentials->user, credentials->group))
    return Error{fmt::format("cannot make a directory in {} for user {}: {}", run_dir_, credentials->user,
                             std::strerror(errno))};
  prepared_.insert(credentials->user);
  return Ok();
}

}  // namespace pycov
