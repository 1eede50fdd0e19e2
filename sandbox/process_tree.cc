#include "process_tree.h"

#include <limits.h>
#include <time.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

namespace pycov::sandbox {
namespace {

struct ProcStat {
  pid_t pid = 0;
  pid_t parent = 0;
  bool zombie = false;
};

// Every process's parent and state, from /proc/PID/stat.
std::vector<ProcStat> ReadAllProcStats() {
  std::vector<ProcStat> stats;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/proc", ec)) {
    const std::string name = entry.path().filename().string();
    if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream stat(entry.path() / "stat");
    std::string line;
    if (!stat || !std::getline(stat, line)) continue;
    // pid (comm) state ppid: comm may hold spaces and parentheses, so parse after the last ')'.
    size_t close = line.rfind(')');
    if (close == std::string::npos) continue;
    std::istringstream rest(line.substr(close + 1));
    std::string state;
    long parent = 0;
    if (!(rest >> state >> parent)) continue;
    stats.push_back({pid_t(std::stol(name)), pid_t(parent), state == "Z"});
  }
  return stats;
}

}  // namespace

double MonotonicSeconds() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return double(ts.tv_sec) + double(ts.tv_nsec) / 1e9;
}

std::string ReadLink(const std::string& path) {
  char target[PATH_MAX];
  ssize_t length = readlink(path.c_str(), target, sizeof(target));
  return length > 0 && size_t(length) < sizeof(target) ? std::string(target, size_t(length)) : std::string();
}

pid_t TgidOf(pid_t tid) {
  std::ifstream status("/proc/" + std::to_string(tid) + "/status");
  std::string line;
  while (std::getline(status, line))
    if (line.rfind("Tgid:", 0) == 0) return pid_t(std::stol(line.substr(5)));
  return tid;
}

std::vector<pid_t> ChildrenOfSelf() {
  std::vector<pid_t> children;
  const pid_t self = getpid();
  for (const ProcStat& stat : ReadAllProcStats())
    if (stat.parent == self && !stat.zombie) children.push_back(stat.pid);
  return children;
}

std::vector<pid_t> DescendantsOfSelf() {
  std::multimap<pid_t, pid_t> children_of;
  for (const ProcStat& stat : ReadAllProcStats())
    if (!stat.zombie) children_of.emplace(stat.parent, stat.pid);
  std::vector<pid_t> descendants;
  std::vector<pid_t> parents{getpid()};
  while (!parents.empty()) {
    const pid_t parent = parents.back();
    parents.pop_back();
    auto [first, last] = children_of.equal_range(parent);
    for (auto it = first; it != last; ++it) {
      descendants.push_back(it->second);
      parents.push_back(it->second);
    }
  }
  return descendants;
}

}  // namespace pycov::sandbox
