// The supervisor: runs a program and follows its process tree, either whole, with ptrace and a
// seccomp-bpf filter that stops only on process-lifecycle system calls (SPEC §3 step 1, §5),
// or at its execs only, through seccomp user notification (Follow). It writes an observation log (observation_log.h) and knows nothing about Python: what an
// exec'd program is, and what its environment needs, is the caller's ExecHook to decide.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "result.h"

namespace pycov::sandbox {

enum class Mode {
  kObserve,  // allow everything, watch the tree
  kStrict,   // observe, plus confinement: network, rlimits, denied system calls
  kOff,      // no supervisor: callers run the program themselves
};

std::optional<Mode> ParseMode(std::string_view name);
const char* ModeName(Mode mode);

/// How much of the tree the supervisor follows in observe mode.
enum class Follow {
  // Every task with ptrace: forks, threads, execs, signals and exits are in the log. Four
  // ptrace stops per process started (fork event, first stop, exec event, parent's SIGCHLD).
  kWholeTree,
  // Only execs, by seccomp user notification, without ptrace: each execve or execveat in the
  // tree waits for the ExecHook's verdict, and nothing else stops. The log has the program,
  // its exit, and each exec with the process that made it; no forks, threads or other exits.
  // What measuring needs, for a fraction of the cost on a program that starts many processes.
  kExecs,
};

/// Resource limits applied to the program in strict mode (setrlimit before exec).
struct Limits {
  unsigned long cpu_seconds = 3600;
  unsigned long address_space_bytes = 32UL << 30;
  unsigned long file_size_bytes = 16UL << 30;
  unsigned long processes = 4096;  // per user, as RLIMIT_NPROC counts them
};

/// What the supervised run may do, and how long it may take.
struct Policy {
  Mode mode = Mode::kObserve;
  Follow follow = Follow::kWholeTree;  // strict mode always follows the whole tree
  double timeout_seconds = 0;         // 0: none; else the whole tree is killed at the deadline
  double orphan_grace_seconds = 2.0;  // how long descendants may outlive the program
  Limits limits;                      // strict mode only
  // Following execs only: an execve whose fourth argument register (unused by execve) holds
  // this value goes on without waiting for the supervisor, and is not in the log. It is for a
  // process that has made sure itself that the ExecHook would have nothing to do (pycov's
  // tracer: its own interpreter with the environment intact, or a program that is not
  // Python). 0: every exec waits.
  uint64_t exec_pass = 0;
};

/// A program a task execs, before its first instruction: read from its initial stack once the
/// kernel loaded it (the whole-tree monitor's exec event), or from the waiting call, with what
/// the kernel will run worked out as the kernel does (the exec monitor).
struct ExecRequest {
  pid_t tid = 0;   // the thread that called exec (not the pid for a non-leader thread)
  pid_t tgid = 0;  // the process, whose pid the new program has
  std::string path;        // as passed to the call (AT_EXECFN)
  std::string executable;  // the file the kernel runs (/proc/PID/exe): for a script, its #! interpreter
  std::vector<std::string> argv;         // the new program's, a script's interpreter first
  std::vector<std::string> environment;  // "NAME=value"
};

/// The caller's answer to an ExecRequest.
struct ExecVerdict {
  std::string program_kind;  // a label for the log ("python"); empty: not of interest
  bool instrumented = false;  // the environment already carries what the caller needs
  std::vector<std::string> set_environment;  // "NAME=value" to add or replace before it starts
};

/// Called at every successful exec in the tree (the exec monitor: every exec of an existing
/// executable file), while the new program waits to start.
using ExecHook = std::function<ExecVerdict(const ExecRequest&)>;

/// Optional, asked first with the executable alone: whether the ExecHook may want this exec at
/// all. Where it says no, the exec monitor (Follow::kExecs) lets the exec go on without reading
/// its environment, and logs it without a verdict, as the hook's empty verdict would be.
using ExecInterest = std::function<bool(const std::string& executable)>;

struct Program {
  std::vector<std::string> argv;  // argv[0] is the executable's path
  std::vector<std::string> environment;
};

/// How the supervised run ended. The details per task are in the observation log.
struct RunResult {
  int exit_code = 0;  // the program's (the first process), valid when signal == 0
  int signal = 0;     // the signal that killed the program, or 0
  bool timed_out = false;       // the deadline passed and the tree was killed
  int survivors_killed = 0;     // processes still alive after the orphan grace, then killed
  int violations = 0;           // entries of kind "violation" in the log
  int processes = 0;            // processes seen, the program included
  int threads = 0;              // threads seen (beyond each process's first)
  // Stops of the supervised tasks, to show that only lifecycle events cost a stop.
  long seccomp_stops = 0;  // the exec monitor: exec notifications
  long event_stops = 0;   // fork, vfork, clone, exec events and new tasks' first stops; the
                          // exec monitor: the ptrace stops that set an environment
  long signal_stops = 0;  // signals passed on to the tasks, group-stops included
};

/// Whether this machine lets pycov trace its children and install a seccomp filter.
/// The error says why not (Yama's ptrace_scope, a container's seccomp profile, ...).
Status CheckSupervisionPermitted();

/// Runs `program` under `policy` (not kOff), writing the observation log to `log_path`, and
/// returns once every descendant has ended (orphans too, up to the grace period). While it
/// runs, Ctrl-C and Ctrl-\ reach the program's process group but do not stop the caller, and
/// SIGTERM/SIGHUP sent to the caller are passed on to the program. If the caller dies, the
/// whole tree is killed (PTRACE_O_EXITKILL); following execs only, the program is
/// (PR_SET_PDEATHSIG), and what it started lives on.
Result<RunResult> Supervise(const Program& program, const Policy& policy, const ExecHook& exec_hook,
                            const std::string& log_path, const ExecInterest& exec_interest = nullptr);

}  // namespace pycov::sandbox
