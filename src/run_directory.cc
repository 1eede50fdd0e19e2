#include "run_directory.h"

#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>

#include <fmt/format.h>

#include "hit_file_format.h"
#include "hit_file_writer.h"

namespace pycov {
namespace {

struct Credentials {
  uid_t user;
  gid_t group;
};

// The effective user and group of a process, from the "Uid:" and "Gid:" lines of
// /proc/PID/status (real, effective, saved, file system).
Result<Credentials> EffectiveCredentials(pid_t pid) {
  std::ifstream status(fmt::format("/proc/{}/status", pid));
  long user = -1, group = -1;
  for (std::string line; std::getline(status, line);) {
    long real = 0, effective = -1;
    if (std::sscanf(line.c_str(), "Uid: %ld %ld", &real, &effective) == 2) user = effective;
    if (std::sscanf(line.c_str(), "Gid: %ld %ld", &real, &effective) == 2) group = effective;
  }
  if (user < 0 || group < 0) return Error{fmt::format("cannot read the credentials of pid {}", pid)};
  return Credentials{uid_t(user), gid_t(group)};
}

}  // namespace

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
  auto credentials = EffectiveCredentials(pid);
  if (!credentials) return credentials.error();
  // Root writes in the run directory itself (hit_file_writer.cc).
  if (credentials->user == geteuid() || credentials->user == 0 || prepared_.count(credentials->user) != 0)
    return Ok();
  if (!hitfile::MakeOtherUserDirectory(run_dir_.c_str(), credentials->user, credentials->group))
    return Error{fmt::format("cannot make a directory in {} for user {}: {}", run_dir_, credentials->user,
                             std::strerror(errno))};
  prepared_.insert(credentials->user);
  return Ok();
}

}  // namespace pycov
