// What the supervisor reads of processes from /proc, shared by its two monitors (the ptrace
// loop in supervisor.cc and the exec monitor), and by pycov's run without a supervisor,
// which waits for orphans in the same way.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

namespace pycov::sandbox {

/// Seconds on the monotonic clock, for deadlines.
double MonotonicSeconds();

/// The target of a symbolic link (/proc/PID/exe), or "" when it cannot be read.
std::string ReadLink(const std::string& path);

/// The process a task belongs to (its thread group), from /proc; `tid` itself when unknown.
pid_t TgidOf(pid_t tid);

/// Live children of this process (orphans re-parented to the subreaper included), from /proc.
std::vector<pid_t> ChildrenOfSelf();

/// Live descendants of this process at any depth, from /proc: parents before their children.
std::vector<pid_t> DescendantsOfSelf();

}  // namespace pycov::sandbox
