// The exec monitor (Follow::kExecs): follows a program's tree through the listener of a
// seccomp filter that makes every execve and execveat wait for the supervisor, without ptrace.
// Internal to the sandbox; Supervise starts the program and hands the listener over.
#pragma once

#include <signal.h>
#include <sys/types.h>

#include "observation_log_writer.h"
#include "supervisor.h"

namespace pycov::sandbox {

/// Answers the exec notifications of the tree started as `main_pid` (a child of this process,
/// which is its child subreaper) until the program and everything it left behind have ended,
/// reaping them, and writes what it saw to `log`. `forwarded_signal` is set by the caller's
/// signal handlers (SIGTERM, SIGHUP) and is passed on to the program. Takes `listener`.
RunResult FollowExecs(pid_t main_pid, int listener, const Policy& policy, const ExecHook& exec_hook,
                      const ExecInterest& exec_interest, ObservationLogWriter& log,
                      volatile sig_atomic_t& forwarded_signal);

}  // namespace pycov::sandbox
