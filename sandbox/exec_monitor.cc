// The exec monitor. A seccomp filter (SECCOMP_RET_USER_NOTIF on execve and execveat) makes
// every exec in the tree wait until the monitor answers; the filter is inherited by every
// process and thread the program starts, so no fork, clone or exit needs to stop anything.
// Each notification is read, decided by the ExecHook and answered "continue": the kernel then
// runs the call as the task made it.
//
// Where the hook asks for variables, the environment must change before the kernel copies it,
// and a notification cannot change a call's arguments. The monitor then takes the task with
// ptrace for one stop: PTRACE_INTERRUPT ends its wait for the answer (the kernel drops the
// notification and sets the call up to restart, -ERESTARTSYS), and at that stop the call's
// envp register is pointed at a new array written below the task's stack pointer. Once
// detached, the task restarts the call with the new environment, which comes back as a new
// notification, answered "continue".
#include "exec_monitor.h"

#include <fcntl.h>
#include <limits.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/ptrace.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "process_tree.h"
#include "run_ending.h"
#include "tracee_memory.h"

namespace pycov::sandbox {
namespace {

// The kernel's "restart this call" result, which user space never sees (include/linux/errno.h).
constexpr long kRestartSys = 512;

// The arguments of an execve or execveat.
struct ExecCall {
  bool at = false;         // execveat: envp is the fourth argument (r10), not the third (rdx)
  int dirfd = AT_FDCWD;
  uint64_t path = 0;
  uint64_t argv = 0;
  uint64_t envp = 0;
  int flags = 0;
};

ExecCall DecodeExecCall(const seccomp_data& data) {
  if (data.nr == __NR_execveat)
    return {true, int(data.args[0]), data.args[1], data.args[2], data.args[3], int(data.args[4])};
  return {false, AT_FDCWD, data.args[0], data.args[1], data.args[2], 0};
}

// A path given to exec, as this process can open it: relative paths from the task's working
// directory, or from the directory descriptor of execveat, through /proc.
std::string PathSeenBy(pid_t tid, int dirfd, const std::string& path, int flags) {
  const std::string proc = "/proc/" + std::to_string(tid);
  if (path.empty() && (flags & AT_EMPTY_PATH)) return proc + "/fd/" + std::to_string(dirfd);
  if (!path.empty() && path[0] == '/') return path;
  return (dirfd == AT_FDCWD ? proc + "/cwd" : proc + "/fd/" + std::to_string(dirfd)) + "/" + path;
}

// The name the kernel gives the program it runs (AT_EXECFN, and a script's argument): the
// path as passed, or for execveat from a directory descriptor /dev/fd/N or /dev/fd/N/path.
std::string ExecName(const ExecCall& call, const std::string& path) {
  if (!call.at || call.dirfd == AT_FDCWD || (!path.empty() && path[0] == '/')) return path;
  return "/dev/fd/" + std::to_string(call.dirfd) + (path.empty() ? "" : "/" + path);
}

// What the kernel will run for this exec, worked out before it does: the file, or for a
// script the interpreter of its #! line (and its interpreter's, as the kernel nests them), with
// the argv the new program gets. nullopt where the exec is bound to fail (no such file, not
// executable): nothing starts, so nothing is decided.
struct ProgramToRun {
  std::string executable;  // the real path, as /proc/PID/exe will read
  std::vector<std::string> argv;
};

// Binaries already resolved, by absolute path: a program starting the same one many times
// costs a stat() each, where resolving again (open, read, realpath) would cost several calls
// while the exec waits. The file's identity and times tell when it is no longer the same file.
class BinaryCache {
 public:
  const std::string* Find(const std::string& file, const struct stat& info) const {
    auto found = binaries_.find(file);
    if (found == binaries_.end() || !Same(found->second.info, info)) return nullptr;
    return &found->second.real_path;
  }
  void Add(const std::string& file, const struct stat& info, const std::string& real_path) {
    if (file.empty() || file[0] != '/' || file.rfind("/proc/", 0) == 0) return;  // as seen by one task only
    binaries_[file] = {info, real_path};
  }

 private:
  struct Entry {
    struct stat info;
    std::string real_path;
  };
  static bool Same(const struct stat& a, const struct stat& b) {
    return a.st_dev == b.st_dev && a.st_ino == b.st_ino && a.st_size == b.st_size &&
           a.st_mtim.tv_sec == b.st_mtim.tv_sec && a.st_mtim.tv_nsec == b.st_mtim.tv_nsec &&
           a.st_ctim.tv_sec == b.st_ctim.tv_sec && a.st_ctim.tv_nsec == b.st_ctim.tv_nsec;
  }
  std::map<std::string, Entry> binaries_;
};

std::optional<ProgramToRun> ResolveProgram(pid_t tid, const ExecCall& call, const std::string& path,
                                           std::vector<std::string> argv, BinaryCache& binaries) {
  std::string file = PathSeenBy(tid, call.dirfd, path, call.flags);
  std::string name = ExecName(call, path);
  constexpr int kMaxInterpreterDepth = 5;  // the kernel's binfmt recursion limit
  for (int depth = 0; depth < kMaxInterpreterDepth; ++depth) {
    struct stat info {};
    if (stat(file.c_str(), &info) != 0 || !S_ISREG(info.st_mode) || (info.st_mode & 0111) == 0) return std::nullopt;
    if (const std::string* real_path = binaries.Find(file, info)) return ProgramToRun{*real_path, std::move(argv)};
    char head[256] = {};  // BINPRM_BUF_SIZE: the kernel reads no more of a #! line
    int fd = open(file.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return std::nullopt;
    const ssize_t got = read(fd, head, sizeof(head));
    close(fd);
    if (got < 2 || head[0] != '#' || head[1] != '!') {
      char real[PATH_MAX];
      if (realpath(file.c_str(), real) == nullptr) return std::nullopt;
      binaries.Add(file, info, real);  // scripts are read again: their interpreter may change
      return ProgramToRun{real, std::move(argv)};
    }
    std::string line(head + 2, size_t(got - 2));
    line = line.substr(0, line.find('\n'));
    const auto blank = [](char c) { return c == ' ' || c == '\t'; };
    size_t start = 0;
    while (start < line.size() && blank(line[start])) ++start;
    size_t end = start;
    while (end < line.size() && !blank(line[end])) ++end;
    const std::string interpreter = line.substr(start, end - start);
    if (interpreter.empty()) return std::nullopt;
    while (end < line.size() && blank(line[end])) ++end;
    size_t last = line.size();
    while (last > end && (blank(line[last - 1]) || line[last - 1] == '\r')) --last;
    std::vector<std::string> script_argv{interpreter};
    if (last > end) script_argv.push_back(line.substr(end, last - end));  // one argument, spaces and all
    script_argv.push_back(name);
    script_argv.insert(script_argv.end(), argv.empty() ? argv.end() : argv.begin() + 1, argv.end());
    argv = std::move(script_argv);
    name = interpreter;
    file = PathSeenBy(tid, AT_FDCWD, interpreter, 0);
  }
  return std::nullopt;
}

// The process a task belongs to. Nearly every exec comes from a process's leader (a vfork
// child, a single-threaded program): tgkill without a signal, which only checks that thread
// `tid` is in the thread group `tid` (EPERM says it is, and that this process may not signal
// it), answers that in one call that allocates nothing: 2.7 us while the exec waits, where
// pidfd_open and close took 6.5. Reading /proc, for the other threads, also waits while the
// task's exec is under way.
pid_t ProcessOf(pid_t tid) {
  if (syscall(SYS_tgkill, tid, tid, 0) == 0 || errno == EPERM) return tid;
  return TgidOf(tid);
}

// How an attempt to give a waiting exec another environment ended.
struct Restart {
  bool restarted = false;  // the notification is gone: the call restarts as a new one
  bool signal_first = false;  // a signal reached the task first: the call restarts or fails as it would have
  std::vector<std::string> injected;  // the names set
  std::string error;                  // why nothing was set
  uint64_t envp = 0;                  // the envp the restarted call carries
};

Restart RestartWithEnvironment(pid_t tid, const ExecCall& call, long syscall_number,
                               const std::vector<TraceeString>& environment, const std::vector<std::string>& set) {
  Restart outcome;
  outcome.envp = call.envp;
  if (ptrace(PTRACE_SEIZE, tid, nullptr, nullptr) != 0) {
    outcome.error = std::string("cannot trace the task to set its environment: ") + std::strerror(errno);
    return outcome;
  }
  if (ptrace(PTRACE_INTERRUPT, tid, nullptr, nullptr) != 0) {
    outcome.error = std::string("cannot stop the task to set its environment: ") + std::strerror(errno);
    ptrace(PTRACE_DETACH, tid, nullptr, nullptr);
    return outcome;
  }
  int status = 0;
  pid_t waited;
  do {
    waited = waitpid(tid, &status, __WALL);
  } while (waited < 0 && errno == EINTR);
  outcome.restarted = true;
  if (waited != tid || !WIFSTOPPED(status)) {
    outcome.error = "the task ended before its environment was set";
    return outcome;
  }
  if ((status >> 16) != PTRACE_EVENT_STOP) {
    // A signal-delivery stop: the signal goes on, and the call is restarted or interrupted as
    // the signal's disposition says, with nothing changed.
    outcome.signal_first = true;
    ptrace(PTRACE_DETACH, tid, nullptr, reinterpret_cast<void*>(long(WSTOPSIG(status))));
    return outcome;
  }
  user_regs_struct regs{};
  if (ptrace(PTRACE_GETREGS, tid, nullptr, &regs) != 0 || long(regs.orig_rax) != syscall_number ||
      long(regs.rax) != -kRestartSys) {
    outcome.error = "the task was not waiting in its exec when stopped";
    ptrace(PTRACE_DETACH, tid, nullptr, nullptr);
    return outcome;
  }
  auto written = WriteEnvironmentBelowStack(tid, regs.rsp, {}, environment, set, {});
  if (!written) {
    outcome.error = written.error().message;
    ptrace(PTRACE_DETACH, tid, nullptr, nullptr);
    return outcome;
  }
  (call.at ? regs.r10 : regs.rdx) = written->envp;
  if (ptrace(PTRACE_SETREGS, tid, nullptr, &regs) != 0) {
    outcome.error = std::string("cannot set the task's registers: ") + std::strerror(errno);
    ptrace(PTRACE_DETACH, tid, nullptr, nullptr);
    return outcome;
  }
  ptrace(PTRACE_DETACH, tid, nullptr, nullptr);
  outcome.envp = written->envp;
  outcome.injected = std::move(written->names_set);
  return outcome;
}

// SIGCHLD blocked and read from a descriptor, so that one poll() waits for both the program's
// children and the filter's notifications. The mask comes back when the monitor is done.
class ChildSignals {
 public:
  ChildSignals() {
    sigset_t child;
    sigemptyset(&child);
    sigaddset(&child, SIGCHLD);
    sigprocmask(SIG_BLOCK, &child, &saved_);
    fd_ = signalfd(-1, &child, SFD_NONBLOCK | SFD_CLOEXEC);
  }
  ~ChildSignals() {
    if (fd_ >= 0) close(fd_);
    sigprocmask(SIG_SETMASK, &saved_, nullptr);
  }
  int fd() const { return fd_; }
  void Drain() {
    signalfd_siginfo info;
    while (fd_ >= 0 && read(fd_, &info, sizeof(info)) == ssize_t(sizeof(info))) {
    }
  }

 private:
  sigset_t saved_{};
  int fd_ = -1;
};

class ExecMonitor {
 public:
  ExecMonitor(int listener, const Policy& policy, const ExecHook& exec_hook, const ExecInterest& exec_interest,
              ObservationLogWriter& log, volatile sig_atomic_t& forwarded_signal)
      : listener_(listener),
        policy_(policy),
        exec_hook_(exec_hook),
        exec_interest_(exec_interest),
        log_(log),
        ending_(policy, forwarded_signal, log, result_) {}
  ~ExecMonitor() {
    if (listener_ >= 0) close(listener_);
  }

  RunResult Run(pid_t main_pid);

 private:
  // An exec whose environment was set: its call restarts, and its notification comes again.
  struct PendingRestart {
    uint64_t envp = 0;  // what the restarted call carries
    pid_t pid = 0;
    double since = 0;   // monotonic seconds
    ExecRecord record;
  };

  void HandleNotification();
  bool Continue(uint64_t id);  // false: nobody waits for the answer any more
  void LogExec(pid_t pid, ExecRecord record);  // under the pid the new program has
  bool ReapChildren();  // false once nothing is left to wait for

  int listener_;
  const Policy& policy_;
  const ExecHook& exec_hook_;
  const ExecInterest& exec_interest_;
  ObservationLogWriter& log_;
  std::map<pid_t, PendingRestart> restarts_;  // by the tid that called exec
  std::set<pid_t> logged_processes_;
  BinaryCache binaries_;
  pid_t main_pid_ = 0;
  RunResult result_;
  RunEnding ending_;
};

bool ExecMonitor::Continue(uint64_t id) {
  seccomp_notif_resp response{};
  response.id = id;
  response.flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
  // ENOENT: the task was killed while it waited.
  return ioctl(listener_, SECCOMP_IOCTL_NOTIF_SEND, &response) == 0;
}

void ExecMonitor::LogExec(pid_t pid, ExecRecord record) {
  if (logged_processes_.insert(pid).second) {
    // How the process was created, and by whom, is not followed here.
    log_.Spawn(pid, pid, 0, TaskKind::kProcess, "unknown");
    ++result_.processes;
  }
  log_.Exec(pid, record);
}

void ExecMonitor::HandleNotification() {
  seccomp_notif request{};
  if (ioctl(listener_, SECCOMP_IOCTL_NOTIF_RECV, &request) != 0) return;  // ENOENT: killed meanwhile
  ++result_.seccomp_stops;
  const pid_t tid = pid_t(request.pid);
  const ExecCall call = DecodeExecCall(request.data);
  if (auto pending = restarts_.find(tid); pending != restarts_.end()) {
    PendingRestart restart = std::move(pending->second);
    restarts_.erase(pending);
    // The restart comes at once. A call from the same tid long after is another task's (the
    // task ended, its tid came back), decided afresh. A restarted call that does not carry the
    // new environment (the program changed it meanwhile, from a signal handler) goes on as it
    // is: asking again could go on for ever.
    constexpr double kRestartSeconds = 1.0;
    if (restart.envp == call.envp || MonotonicSeconds() - restart.since < kRestartSeconds) {
      if (restart.envp != call.envp) {
        restart.record.injected.clear();
        restart.record.injection_error = "the restarted exec did not carry the environment set";
      }
      Continue(request.id);
      LogExec(restart.pid, std::move(restart.record));
      return;
    }
  }
  ExecRecord record;
  record.unix_ns = NowUnixNs();
  record.from_tid = tid;
  // Everything read before the answer keeps the exec waiting: the environment is read only
  // for a program the caller may want to change, and in small blocks (the strings are read
  // once, scattered, and the first read of another process's page costs more the more of it
  // is copied).
  constexpr uint64_t kBlock = 256;
  TraceeMemoryReader memory(tid, kBlock);
  auto path = memory.ReadString(call.path);
  auto argv = memory.ReadStringArray(call.argv);
  if (!path || !argv) {
    Continue(request.id);  // the call fails as it would (EFAULT)
    return;
  }
  std::vector<std::string> arguments;
  for (const auto& argument : *argv) arguments.push_back(argument.text);
  auto program = ResolveProgram(tid, call, *path, std::move(arguments), binaries_);
  if (!program) {
    Continue(request.id);  // the exec fails (no such program), as it would have
    return;
  }
  record.path = ExecName(call, *path);
  record.executable = program->executable;
  record.argv = program->argv;
  // A thread's exec makes it its process's leader: the new program has the process's pid.
  // Asked while the exec waits: once it is done, a thread's tid is gone.
  const pid_t pid = ProcessOf(tid);
  // The task may have been killed, and its tid reused, between the notification and the
  // reads. What is not decided here is only written down: the answer tells whether the task
  // still waited, and so whether what was read was its own.
  if (!exec_hook_ || (exec_interest_ && !exec_interest_(program->executable))) {
    if (Continue(request.id)) LogExec(pid, std::move(record));
    return;
  }
  auto environment = memory.ReadStringArray(call.envp);
  if (!environment || ioctl(listener_, SECCOMP_IOCTL_NOTIF_ID_VALID, &request.id) != 0) {
    Continue(request.id);  // the exec fails (EFAULT), or nobody waits
    return;
  }
  ExecRequest exec_request;
  exec_request.tid = tid;
  exec_request.tgid = pid;
  exec_request.path = record.path;
  exec_request.executable = record.executable;
  exec_request.argv = record.argv;
  for (const auto& variable : *environment) exec_request.environment.push_back(variable.text);
  const ExecVerdict verdict = exec_hook_(exec_request);
  record.program_kind = verdict.program_kind;
  record.instrumented = verdict.instrumented;
  if (verdict.set_environment.empty()) {
    Continue(request.id);
    LogExec(pid, std::move(record));
    return;
  }
  Restart restart =
      RestartWithEnvironment(tid, call, long(request.data.nr), *environment, verdict.set_environment);
  ++result_.event_stops;
  if (restart.signal_first) return;  // a restarted call is decided again
  record.injected = std::move(restart.injected);
  record.injection_error = std::move(restart.error);
  if (restart.restarted) {
    restarts_[tid] = {restart.envp, pid, MonotonicSeconds(), std::move(record)};
    return;
  }
  Continue(request.id);
  LogExec(pid, std::move(record));
}

bool ExecMonitor::ReapChildren() {
  while (true) {
    int status = 0;
    const pid_t pid = waitpid(-1, &status, WNOHANG | __WALL);
    if (pid > 0) {
      log_.Exited(pid, status);  // the program, and orphans re-parented here
      if (pid == main_pid_) {
        ending_.ProgramEnded();
        if (WIFSIGNALED(status)) result_.signal = WTERMSIG(status);
        else result_.exit_code = WEXITSTATUS(status);
      }
      continue;
    }
    if (pid < 0 && errno == EINTR) continue;
    // ECHILD: orphans come to this subreaper, so no child left means no descendant left.
    return !(pid < 0 && errno == ECHILD);
  }
}

RunResult ExecMonitor::Run(pid_t main_pid) {
  main_pid_ = main_pid;
  logged_processes_.insert(main_pid);
  log_.Spawn(main_pid, main_pid, 0, TaskKind::kProcess, "start");
  log_.Note("execs followed by seccomp user notification: forks, threads, signals and the exits of processes "
            "other than the program's own children are not in this log");
  result_.processes = 1;
  ChildSignals child_signals;

  ending_.ProgramStarted(main_pid);
  constexpr int kTickMilliseconds = 100;  // deadlines and forwarded signals are acted on within one
  while (true) {
    if (!ReapChildren()) break;
    // Every process of the run is a descendant of this subreaper.
    ending_.Check(DescendantsOfSelf, DescendantsOfSelf);
    pollfd watched[2] = {{listener_, POLLIN, 0}, {child_signals.fd(), POLLIN, 0}};
    if (poll(watched, 2, kTickMilliseconds) <= 0) {  // a tick, or EINTR
      log_.Flush();
      continue;
    }
    if (watched[0].revents & POLLIN) HandleNotification();
    // POLLHUP: no task uses the filter any more; the listener stays quiet from now on.
    if (watched[0].revents & (POLLHUP | POLLERR | POLLNVAL)) {
      close(listener_);
      listener_ = -1;
    }
    if (watched[1].revents & POLLIN) child_signals.Drain();
  }
  return result_;
}

}  // namespace

RunResult FollowExecs(pid_t main_pid, int listener, const Policy& policy, const ExecHook& exec_hook,
                      const ExecInterest& exec_interest, ObservationLogWriter& log,
                      volatile sig_atomic_t& forwarded_signal) {
  ExecMonitor monitor(listener, policy, exec_hook, exec_interest, log, forwarded_signal);
  return monitor.Run(main_pid);
}

}  // namespace pycov::sandbox
