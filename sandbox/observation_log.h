// The observation log of a supervised run: every task (process or thread) of the tree, what it
// exec'd, how it ended, and every policy violation. The supervisor appends one JSON object per
// line as things happen, so a log cut short by a crash still reads up to its last full line.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "result.h"

namespace pycov::sandbox {

enum class TaskKind { kProcess, kThread };

struct ExecRecord {
  int64_t unix_ns = 0;
  pid_t from_tid = 0;  // the thread that called exec; differs from the pid for a non-leader
  std::string path;    // as passed to the call
  std::string executable;  // what the kernel ran (/proc/PID/exe after the exec)
  std::vector<std::string> argv;
  std::string program_kind;  // the caller's label ("python"), or empty
  bool instrumented = false;  // the environment carried what the caller needs, unchanged
  std::vector<std::string> injected;  // names of variables the supervisor added or replaced
  std::string injection_error;        // why an injection the caller asked for did not happen
};

enum class TaskEnding {
  kRunning,        // no end was logged (the log was cut short)
  kExited,         // exit_code
  kSignaled,       // signal (core_dumped)
  kKilled,         // killed by the supervisor: killed_reason is "timeout" or "orphan-grace"
  kExecReplaced,   // a thread that exec'd and became its process's leader
};

struct TaskRecord {
  pid_t tid = 0;
  pid_t tgid = 0;    // the process the task belongs to (== tid for a process)
  pid_t parent = 0;  // the task that created it (0 for the program itself)
  TaskKind kind = TaskKind::kProcess;
  std::string created_by;  // "start", "fork", "vfork" or "clone"
  int64_t start_unix_ns = 0;
  std::vector<ExecRecord> execs;  // in order; a process's exec generation is its index + 1
  TaskEnding ending = TaskEnding::kRunning;
  int exit_code = 0;
  int signal = 0;
  bool core_dumped = false;
  std::string killed_reason;
  int64_t end_unix_ns = 0;
};

struct ViolationRecord {
  int64_t unix_ns = 0;
  pid_t tid = 0;
  std::string what;     // "untraced-clone", "namespace-clone", "denied-syscall", "foreign-abi", "network"
  std::string syscall;  // the system call's name (or number for a foreign ABI)
  std::string action;   // "allowed", "denied", "traced-anyway"
  std::string detail;
};

struct ObservationLog {
  std::string mode;  // "observe" or "strict"
  int64_t start_unix_ns = 0;
  pid_t supervisor_pid = 0;
  std::vector<TaskRecord> tasks;  // in order of creation
  std::vector<ViolationRecord> violations;
  std::vector<std::string> notes;  // what the supervisor could not do, in words
  bool finished = false;  // the run's end was logged
  bool timed_out = false;
  long seccomp_stops = 0;  // what following the tree cost, in ptrace stops (see RunResult)
  long event_stops = 0;
  long signal_stops = 0;

  /// The latest record for `tid` (tids can be reused in a long run), or nullptr.
  const TaskRecord* Find(pid_t tid) const;
};

/// Reads a log. A partial last line (the writer was killed) is ignored; any other malformed
/// line is an error naming the file and line.
Result<ObservationLog> ReadObservationLog(const std::string& path);

}  // namespace pycov::sandbox
