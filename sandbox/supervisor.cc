// The supervisor's ptrace loop. Every pitfall of ptrace is handled here, each commented with the
// kernel behaviour it works around (see man 2 ptrace, "execve(2) under ptrace" and "Group-stop").
#include "supervisor.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <seccomp.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <sys/user.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "exec_monitor.h"
#include "observation_log_writer.h"
#include "process_tree.h"
#include "run_ending.h"
#include "syscall_filter.h"
#include "tracee_memory.h"

#if !defined(__x86_64__)
#error "the supervisor reads system call arguments from x86-64 registers; other architectures are not supported yet"
#endif

namespace pycov::sandbox {

std::optional<Mode> ParseMode(std::string_view name) {
  if (name == "observe") return Mode::kObserve;
  if (name == "strict") return Mode::kStrict;
  if (name == "off") return Mode::kOff;
  return std::nullopt;
}

const char* ModeName(Mode mode) {
  switch (mode) {
    case Mode::kObserve: return "observe";
    case Mode::kStrict: return "strict";
    case Mode::kOff: return "off";
  }
  return "?";
}

namespace {

constexpr long kPtraceOptions = PTRACE_O_EXITKILL |    // if the supervisor dies, so does the tree
                                PTRACE_O_TRACESECCOMP | PTRACE_O_TRACEFORK | PTRACE_O_TRACEVFORK |
                                PTRACE_O_TRACECLONE | PTRACE_O_TRACEEXEC;

// Whether the system call a task is stopped in came through the i386 ABI (int 0x80, or a
// 32-bit program): its numbers and argument registers differ. The code segment does not tell,
// since a 64-bit task can use int 0x80; the kernel's own record of the call does.
bool InI386Call(pid_t tid) {
  __ptrace_syscall_info info{};
  if (ptrace(PTRACE_GET_SYSCALL_INFO, tid, reinterpret_cast<void*>(sizeof(info)), &info) <= 0) return false;
  return info.arch == AUDIT_ARCH_I386;
}

// The first look at a process's /proc entries costs about 20 µs (the kernel builds them);
// the exec event reads /proc/PID/exe while the new program waits to start. Looking once as
// soon as a new process runs, on its way to its exec, keeps that cost off the program's path.
void PrepareProcEntries(pid_t pid) { (void)ReadLink("/proc/" + std::to_string(pid) + "/exe"); }

// A capability in this process's effective set, from /proc/self/status (no libcap needed).
bool HasEffectiveCapability(int capability) {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("CapEff:", 0) == 0) {
      unsigned long long mask = std::stoull(line.substr(7), nullptr, 16);
      return (mask >> capability) & 1;
    }
  }
  return false;
}

constexpr int kCapSysAdmin = 21;

// Signals that reached the supervisor while it waited, set by its handlers.
volatile sig_atomic_t g_forward_signal = 0;  // SIGTERM or SIGHUP, to pass on to the program

void OnForwardedSignal(int signal) { g_forward_signal = signal; }
void OnTick(int) {}

// While the supervisor waits, it blocks in waitpid(): one system call per stop, woken directly
// by the kernel's wait queue (a SIGCHLD-driven loop costs two more calls and a signal
// delivery per stop, which is most of the supervisor's cost on a process-heavy program).
// A periodic SIGALRM interrupts the wait so that deadlines and forwarded signals are acted on
// within one tick. Ctrl-C and Ctrl-\ are ignored: they reach the program through its process
// group. Everything is restored when the run ends, and the program starts with the caller's
// dispositions.
class SupervisorSignals {
 public:
  static constexpr long kTickMicroseconds = 100000;

  SupervisorSignals() {
    struct sigaction ignore {};
    ignore.sa_handler = SIG_IGN;
    sigaction(SIGINT, &ignore, &saved_int_);
    sigaction(SIGQUIT, &ignore, &saved_quit_);
    // No SA_RESTART: the handler's job is to make waitpid() return EINTR.
    struct sigaction forward {};
    forward.sa_handler = OnForwardedSignal;
    sigemptyset(&forward.sa_mask);
    sigaction(SIGTERM, &forward, &saved_term_);
    sigaction(SIGHUP, &forward, &saved_hup_);
    struct sigaction tick {};
    tick.sa_handler = OnTick;
    sigemptyset(&tick.sa_mask);
    sigaction(SIGALRM, &tick, &saved_alarm_);
    sigset_t unblock;
    sigemptyset(&unblock);
    for (int s : {SIGTERM, SIGHUP, SIGALRM}) sigaddset(&unblock, s);
    sigprocmask(SIG_UNBLOCK, &unblock, &saved_mask_);
    g_forward_signal = 0;
    // Interval timers are not inherited across fork: the program never sees this one.
    itimerval every_tick{{0, kTickMicroseconds}, {0, kTickMicroseconds}};
    setitimer(ITIMER_REAL, &every_tick, &saved_timer_);
  }
  ~SupervisorSignals() {
    setitimer(ITIMER_REAL, &saved_timer_, nullptr);
    RestoreForProgram();
  }

  /// In the supervisor: back to the caller's state. In the program's child: the state the
  /// caller had, before the program is exec'd.
  void RestoreForProgram() {
    sigaction(SIGINT, &saved_int_, nullptr);
    sigaction(SIGQUIT, &saved_quit_, nullptr);
    sigaction(SIGTERM, &saved_term_, nullptr);
    sigaction(SIGHUP, &saved_hup_, nullptr);
    sigaction(SIGALRM, &saved_alarm_, nullptr);
    sigprocmask(SIG_SETMASK, &saved_mask_, nullptr);
  }

 private:
  sigset_t saved_mask_{};
  struct sigaction saved_int_ {}, saved_quit_ {}, saved_term_ {}, saved_hup_ {}, saved_alarm_ {};
  itimerval saved_timer_{};
};

// Orphans are re-parented to the supervisor, so their end can be awaited (and the tree killed
// when it must be). The caller's own setting comes back afterwards.
class ChildSubreaper {
 public:
  ChildSubreaper() {
    prctl(PR_GET_CHILD_SUBREAPER, &saved_, 0, 0, 0);
    prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
  }
  ~ChildSubreaper() { prctl(PR_SET_CHILD_SUBREAPER, saved_, 0, 0, 0); }

 private:
  int saved_ = 0;
};

// Two descriptors owned together, closed when the pair goes; either end may close early.
class DescriptorPair {
 public:
  DescriptorPair() = default;
  DescriptorPair(const DescriptorPair&) = delete;
  DescriptorPair& operator=(const DescriptorPair&) = delete;
  ~DescriptorPair() {
    CloseEnd(0);
    CloseEnd(1);
  }

 protected:
  void CloseEnd(int end) {
    if (fds_[end] >= 0) close(fds_[end]);
    fds_[end] = -1;
  }
  int fds_[2] = {-1, -1};
};

class Pipe : public DescriptorPair {
 public:
  Pipe() {
    if (pipe2(fds_, O_CLOEXEC) != 0) fds_[0] = fds_[1] = -1;
  }
  bool ok() const { return fds_[0] >= 0; }
  int read_fd() const { return fds_[0]; }
  int write_fd() const { return fds_[1]; }
  void CloseRead() { CloseEnd(0); }
  void CloseWrite() { CloseEnd(1); }
};

// A connected pair of Unix sockets: one end for the program's child, one for the supervisor.
class SocketPair : public DescriptorPair {
 public:
  bool Open() { return socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, fds_) == 0; }
  int supervisor_end() const { return fds_[0]; }
  int child_end() const { return fds_[1]; }
  void CloseChildEnd() { CloseEnd(1); }
  void Close() {
    CloseEnd(1);
    CloseEnd(0);
  }
};

// What the program's child reports through the CLOEXEC error pipe when it fails before exec.
struct StartFailure {
  enum Stage : int { kExec, kNetworkNamespace, kLoopback, kResourceLimits, kNoNewPrivs, kSeccomp, kListener } stage;
  int error;
};

std::string DescribeStartFailure(const StartFailure& failure, const std::string& program) {
  std::string reason = std::strerror(failure.error);
  switch (failure.stage) {
    case StartFailure::kExec: return "cannot run " + program + ": " + reason;
    case StartFailure::kNetworkNamespace: return "strict mode: cannot create a network namespace: " + reason;
    case StartFailure::kLoopback: return "strict mode: cannot bring up loopback in the network namespace: " + reason;
    case StartFailure::kResourceLimits: return "strict mode: cannot set resource limits: " + reason;
    case StartFailure::kNoNewPrivs: return "cannot set no_new_privs: " + reason;
    case StartFailure::kSeccomp: return "cannot install the seccomp filter: " + reason;
    case StartFailure::kListener: return "cannot pass on the seccomp filter's listener: " + reason;
  }
  return reason;
}

// In the program's child, between fork and exec: only async-signal-safe calls from here on.
[[noreturn]] void ReportAndExit(int fd, StartFailure::Stage stage) {
  StartFailure failure{stage, errno};
  (void)!write(fd, &failure, sizeof(failure));
  _exit(127);
}

bool BringUpLoopback() {
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  ifreq request{};
  std::strcpy(request.ifr_name, "lo");
  bool ok = ioctl(fd, SIOCGIFFLAGS, &request) == 0;
  request.ifr_flags |= IFF_UP | IFF_RUNNING;
  ok = ok && ioctl(fd, SIOCSIFFLAGS, &request) == 0;
  close(fd);
  return ok;
}

struct ChildSetup {
  char* const* argv;
  char* const* envp;
  sock_fprog filter;
  bool strict = false;
  bool network_namespace = false;
  bool no_new_privs = false;
  Limits limits;
  int listener_socket = -1;  // Follow::kExecs: where the filter's listener goes to the supervisor
};

// A one-byte message over a Unix socket with room for one file descriptor (SCM_RIGHTS).
struct DescriptorMessage {
  char byte = 0;
  iovec data{&byte, 1};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  msghdr message{};
  DescriptorMessage() {
    message.msg_iov = &data;
    message.msg_iovlen = 1;
    message.msg_control = control;
    message.msg_controllen = sizeof(control);
  }
  DescriptorMessage(const DescriptorMessage&) = delete;
};

// Sends a file descriptor over a Unix socket. Async-signal-safe.
bool SendDescriptor(int socket, int fd) {
  DescriptorMessage sent;
  cmsghdr* header = CMSG_FIRSTHDR(&sent.message);
  header->cmsg_level = SOL_SOCKET;
  header->cmsg_type = SCM_RIGHTS;
  header->cmsg_len = CMSG_LEN(sizeof(int));
  std::memcpy(CMSG_DATA(header), &fd, sizeof(int));
  return sendmsg(socket, &sent.message, MSG_NOSIGNAL) == 1;
}

// The descriptor sent by SendDescriptor, or -1 when the sender closed the socket first.
int ReceiveDescriptor(int socket) {
  DescriptorMessage received;
  ssize_t got;
  do {
    got = recvmsg(socket, &received.message, MSG_CMSG_CLOEXEC);
  } while (got < 0 && errno == EINTR);
  cmsghdr* header = got == 1 ? CMSG_FIRSTHDR(&received.message) : nullptr;
  if (header == nullptr || header->cmsg_type != SCM_RIGHTS) return -1;
  int fd = -1;
  std::memcpy(&fd, CMSG_DATA(header), sizeof(int));
  return fd;
}

[[noreturn]] void RunProgramChild(const ChildSetup& setup, int go_fd, int error_fd) {
  // Wait until the supervisor has seized this process: everything from the filter on is seen.
  char go = 0;
  ssize_t got;
  do {
    got = read(go_fd, &go, 1);
  } while (got < 0 && errno == EINTR);
  if (got != 1) _exit(127);  // the supervisor went away
  if (setup.strict) {
    const rlimit cpu{setup.limits.cpu_seconds, setup.limits.cpu_seconds};
    const rlimit as{setup.limits.address_space_bytes, setup.limits.address_space_bytes};
    const rlimit fsize{setup.limits.file_size_bytes, setup.limits.file_size_bytes};
    const rlimit nproc{setup.limits.processes, setup.limits.processes};
    if (setrlimit(RLIMIT_CPU, &cpu) != 0 || setrlimit(RLIMIT_AS, &as) != 0 || setrlimit(RLIMIT_FSIZE, &fsize) != 0 ||
        setrlimit(RLIMIT_NPROC, &nproc) != 0)
      ReportAndExit(error_fd, StartFailure::kResourceLimits);
    if (setup.network_namespace) {
      if (unshare(CLONE_NEWNET) != 0) ReportAndExit(error_fd, StartFailure::kNetworkNamespace);
      // A new network namespace starts with loopback down.
      if (!BringUpLoopback()) ReportAndExit(error_fd, StartFailure::kLoopback);
    }
  }
  // Without CAP_SYS_ADMIN the kernel accepts a filter only under no_new_privs.
  if (setup.no_new_privs && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
    ReportAndExit(error_fd, StartFailure::kNoNewPrivs);
  if (setup.listener_socket >= 0) {
    // Nothing traces this tree, so nothing would end it with the supervisor: the program at
    // least goes when the supervisor does.
    prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
    const int listener = InstallExecNotifyingFilter(setup.filter);
    if (listener < 0) ReportAndExit(error_fd, StartFailure::kSeccomp);
    if (!SendDescriptor(setup.listener_socket, listener)) ReportAndExit(error_fd, StartFailure::kListener);
    close(listener);
    close(setup.listener_socket);
  } else if (InstallSyscallFilter(setup.filter) < 0) {
    ReportAndExit(error_fd, StartFailure::kSeccomp);
  }
  execve(setup.argv[0], setup.argv, setup.envp);
  ReportAndExit(error_fd, StartFailure::kExec);
}

// A system call stopped by the filter, as PTRACE_GET_SYSCALL_INFO reports it.
struct SyscallStop {
  uint32_t arch = 0;  // AUDIT_ARCH_*
  uint64_t number = 0;
  uint64_t args[6] = {};
  uint64_t stack_pointer = 0;
};

struct Task {
  pid_t tgid = 0;        // 0 while unknown (the child's first stop came before the fork event)
  bool started = false;  // its first stop was seen: a new task begins with a ptrace stop
};

// A new program's initial stack, as the kernel lays it out for an x86-64 ELF program (its
// create_elf_tables): at the stack pointer argc, then argv[] and a NULL, envp[] and a NULL,
// then the auxiliary vector up to AT_NULL. The strings they point at lie above. The dynamic
// loader and libc find argv, the environment and the auxiliary vector from the stack pointer
// alone, so a copy of this block lower down, with another envp[], is the program's new start.
struct InitialStack {
  uint64_t stack_pointer = 0;
  std::vector<TraceeString> argv;
  std::vector<TraceeString> environment;
  std::vector<uint64_t> auxiliary_vector;  // type and value pairs, AT_NULL's included
};

constexpr size_t kMaxAuxiliaryEntries = 256;  // the kernel writes fewer than 30

Result<InitialStack> ReadInitialStack(TraceeMemoryReader& memory, uint64_t stack_pointer) {
  InitialStack stack;
  stack.stack_pointer = stack_pointer;
  // The block and the strings above it are a few pages from the stack pointer to the top.
  constexpr size_t kInitialStackPages = 4;
  memory.ReadAhead(stack_pointer, kInitialStackPages);
  auto argc = memory.ReadWord(stack_pointer);
  if (!argc) return argc.error();
  auto argv = memory.ReadStringArray(stack_pointer + 8);
  if (!argv) return argv.error();
  if (argv->size() != *argc) return Error{"argc and argv disagree on the new program's stack"};
  stack.argv = std::move(*argv);
  const uint64_t envp = stack_pointer + 8 * (stack.argv.size() + 2);
  auto environment = memory.ReadStringArray(envp);
  if (!environment) return environment.error();
  stack.environment = std::move(*environment);
  uint64_t auxv = envp + 8 * (stack.environment.size() + 1);
  for (size_t entry = 0; entry < kMaxAuxiliaryEntries; ++entry, auxv += 16) {
    auto type = memory.ReadWord(auxv);
    auto value = memory.ReadWord(auxv + 8);
    if (!type || !value) return Error{"unreadable auxiliary vector on the new program's stack"};
    stack.auxiliary_vector.push_back(*type);
    stack.auxiliary_vector.push_back(*value);
    if (*type == AT_NULL) return stack;
  }
  return Error{"no end to the auxiliary vector on the new program's stack"};
}

uint64_t AuxiliaryValue(const InitialStack& stack, uint64_t type) {
  for (size_t i = 0; i + 1 < stack.auxiliary_vector.size(); i += 2)
    if (stack.auxiliary_vector[i] == type) return stack.auxiliary_vector[i + 1];
  return 0;
}

// Gives the new program, before its first instruction, a copy of its initial stack whose
// environment has the variables of `set` (added, or replacing those of the same name). The
// copy goes below the original, in the room the kernel maps below a new stack; the original
// strings stay where they are and are pointed at. `regs` are the program's registers at the
// exec event. Returns the names of the variables set.
Result<std::vector<std::string>> RewriteInitialEnvironment(pid_t pid, const InitialStack& stack,
                                                           user_regs_struct regs,
                                                           const std::vector<std::string>& set) {
  std::vector<uint64_t> argc_and_argv{stack.argv.size()};
  for (const auto& argument : stack.argv) argc_and_argv.push_back(argument.address);
  argc_and_argv.push_back(0);
  // The ABI wants the stack pointer 16-byte aligned at a program's entry; the block is.
  auto written = WriteEnvironmentBelowStack(pid, stack.stack_pointer, argc_and_argv, stack.environment, set,
                                            stack.auxiliary_vector);
  if (!written) return written.error();
  regs.rsp = written->start;
  if (ptrace(PTRACE_SETREGS, pid, nullptr, &regs) != 0)
    return Error{std::string("cannot set the tracee's registers: ") + std::strerror(errno)};
  return written->names_set;
}

bool IsStopSignal(int signal) {
  return signal == SIGSTOP || signal == SIGTSTP || signal == SIGTTIN || signal == SIGTTOU;
}

bool IsLoopbackOrLocal(const sockaddr_storage& address, socklen_t length) {
  if (length < socklen_t(sizeof(sa_family_t))) return true;  // the kernel rejects it anyway
  switch (address.ss_family) {
    case AF_UNIX:
    case AF_NETLINK:
      return true;
    case AF_UNSPEC:  // connect(AF_UNSPEC) dissolves an association
      return true;
    case AF_INET: {
      const auto& in = reinterpret_cast<const sockaddr_in&>(address);
      return (ntohl(in.sin_addr.s_addr) >> 24) == 127;
    }
    case AF_INET6: {
      const auto& in6 = reinterpret_cast<const sockaddr_in6&>(address);
      if (IN6_IS_ADDR_LOOPBACK(&in6.sin6_addr)) return true;
      return IN6_IS_ADDR_V4MAPPED(&in6.sin6_addr) && in6.sin6_addr.s6_addr[12] == 127;
    }
    default:
      return false;
  }
}

class Monitor {
 public:
  Monitor(const Policy& policy, const ExecHook& exec_hook, ObservationLogWriter& log)
      : policy_(policy), exec_hook_(exec_hook), log_(log), ending_(policy, g_forward_signal, log, result_) {}

  /// Follows the tree until every task has been reaped.
  RunResult Run(pid_t main_pid);

 private:
  void HandleStop(pid_t tid, int status);
  void HandleEnd(pid_t tid, int status);
  void HandleNewTask(pid_t parent, int event);
  void HandleSeccompStop(pid_t tid);
  void HandleExecEvent(pid_t pid);
  bool NetworkCallAllowed(pid_t tid, const SyscallStop& stop, std::string* detail);
  void Deny(pid_t tid, int error);
  void Violation(pid_t tid, const std::string& what, const std::string& syscall, const std::string& action,
                 const std::string& detail = "");
  void Resume(pid_t tid, int signal = 0);
  pid_t TgidFor(pid_t tid);

  const Policy& policy_;
  const ExecHook& exec_hook_;
  ObservationLogWriter& log_;
  std::map<pid_t, Task> tasks_;
  // Tasks that ended before their parent's fork, vfork or clone event announced them.
  std::set<pid_t> ended_unannounced_;
  pid_t main_pid_ = 0;
  RunResult result_;
  RunEnding ending_;
};

void Monitor::Resume(pid_t tid, int signal) {
  // ESRCH: the task was killed (SIGKILL needs no stop) between its stop and now.
  ptrace(PTRACE_CONT, tid, nullptr, reinterpret_cast<void*>(long(signal)));
}

pid_t Monitor::TgidFor(pid_t tid) {
  auto found = tasks_.find(tid);
  if (found != tasks_.end() && found->second.tgid != 0) return found->second.tgid;
  return TgidOf(tid);
}

void Monitor::Violation(pid_t tid, const std::string& what, const std::string& syscall, const std::string& action,
                        const std::string& detail) {
  ++result_.violations;
  log_.Violation({NowUnixNs(), tid, what, syscall, action, detail});
}

void Monitor::Deny(pid_t tid, int error) {
  // At a seccomp stop, system call number -1 makes the kernel skip the call, and the return
  // value is whatever the tracer leaves in rax (kernel >= 4.8 re-checks after the tracer).
  user_regs_struct regs{};
  if (ptrace(PTRACE_GETREGS, tid, nullptr, &regs) != 0) return;
  regs.orig_rax = static_cast<unsigned long long>(-1);
  regs.rax = static_cast<unsigned long long>(-error);
  ptrace(PTRACE_SETREGS, tid, nullptr, &regs);
}

RunResult Monitor::Run(pid_t main_pid) {
  main_pid_ = main_pid;
  // PTRACE_SEIZE does not stop the program: its first stop is the exec event of its execve.
  tasks_[main_pid] = Task{main_pid, true};
  log_.Spawn(main_pid, main_pid, 0, TaskKind::kProcess, "start");
  result_.processes = 1;

  ending_.ProgramStarted(main_pid);
  while (true) {
    ending_.Check(
        [this] {
          std::set<pid_t> processes;
          for (const auto& [tid, task] : tasks_) processes.insert(TgidFor(tid));
          // Anything re-parented to the supervisor that it does not trace goes too.
          for (pid_t child : ChildrenOfSelf()) processes.insert(child);
          return processes;
        },
        [this] {
          std::set<pid_t> processes;
          for (const auto& [task_tid, task] : tasks_) processes.insert(task.tgid != 0 ? task.tgid : task_tid);
          return processes;
        });

    int status = 0;
    pid_t tid = waitpid(-1, &status, __WALL);
    if (tid > 0) {
      if (WIFSTOPPED(status)) {
        HandleStop(tid, status);
      } else if (WIFEXITED(status) || WIFSIGNALED(status)) {
        HandleEnd(tid, status);
      }
      continue;
    }
    if (errno == EINTR) {  // a tick or a signal to pass on
      log_.Flush();
      continue;
    }
    break;                         // ECHILD: every task has been reaped
  }
  return result_;
}

void Monitor::HandleEnd(pid_t tid, int status) {
  // A new task is reported first (its first stop, even its exit) when the kernel lists it
  // before its parent: the parent's event, still to come, must not bring it back as a live
  // task, which the end of the run would then wait for and kill as an orphan (by a pid that
  // may be another process's by then).
  if (auto found = tasks_.find(tid); found != tasks_.end() && found->second.tgid == 0) ended_unannounced_.insert(tid);
  tasks_.erase(tid);
  log_.Exited(tid, status);
  if (tid == main_pid_) {
    ending_.ProgramEnded();
    if (WIFSIGNALED(status)) result_.signal = WTERMSIG(status);
    else result_.exit_code = WEXITSTATUS(status);
  }
}

void Monitor::HandleStop(pid_t tid, int status) {
  const int signal = WSTOPSIG(status);
  const int event = status >> 16;
  Task& task = tasks_[tid];
  if (!task.started) {
    task.started = true;
    // An auto-attached task (fork/vfork/clone event) begins with a PTRACE_EVENT_STOP. Its
    // stop may be reported before its parent's fork event: the task is then not yet known
    // and gets its record when the parent's event comes.
    if (event == PTRACE_EVENT_STOP) {
      ++result_.event_stops;
      Resume(tid);
      if (task.tgid == tid) PrepareProcEntries(tid);  // a process, announced by its parent's event
      return;
    }
  }
  switch (event) {
    case PTRACE_EVENT_SECCOMP:
      ++result_.seccomp_stops;
      HandleSeccompStop(tid);
      return;
    case PTRACE_EVENT_FORK:
    case PTRACE_EVENT_VFORK:
    case PTRACE_EVENT_CLONE:
      ++result_.event_stops;
      HandleNewTask(tid, event);
      return;
    case PTRACE_EVENT_EXEC:
      ++result_.event_stops;
      HandleExecEvent(tid);
      return;
    case PTRACE_EVENT_STOP:
      ++result_.signal_stops;
      // Group-stop of a seized tracee: PTRACE_LISTEN leaves it stopped, as job control wants
      // (its parent sees it stopped, SIGCONT resumes it), while we keep hearing of it.
      // Any other PTRACE_EVENT_STOP (an interrupt) just resumes.
      if (IsStopSignal(signal)) ptrace(PTRACE_LISTEN, tid, nullptr, nullptr);
      else Resume(tid);
      return;
    case 0:
      // Signal-delivery-stop: the signal is the program's, pass it on unchanged.
      ++result_.signal_stops;
      Resume(tid, signal);
      return;
    default:
      Resume(tid);
      return;
  }
}

void Monitor::HandleNewTask(pid_t parent, int event) {
  unsigned long message = 0;
  ptrace(PTRACE_GETEVENTMSG, parent, nullptr, &message);
  const pid_t child = pid_t(message);
  const bool ended = ended_unannounced_.erase(child) > 0;
  TaskKind kind = TaskKind::kProcess;
  pid_t tgid = child;
  const char* via = event == PTRACE_EVENT_FORK ? "fork" : event == PTRACE_EVENT_VFORK ? "vfork" : "clone";
  if (event == PTRACE_EVENT_CLONE) {
    // A clone is a thread when it shares the thread group (CLONE_THREAD). The parent is
    // stopped inside the call, its registers still hold the arguments.
    user_regs_struct regs{};
    if (ptrace(PTRACE_GETREGS, parent, nullptr, &regs) == 0) {
      unsigned long long flags = InI386Call(parent) ? regs.rbx : regs.rdi;
      if (flags & CLONE_THREAD) {
        kind = TaskKind::kThread;
        tgid = TgidFor(parent);
      }
    } else if (TgidOf(child) != child) {
      kind = TaskKind::kThread;
      tgid = TgidOf(child);
    }
  }
  Resume(parent);
  if (kind == TaskKind::kThread) ++result_.threads;
  else ++result_.processes;
  log_.Spawn(child, tgid, parent, kind, via);
  if (ended) return;  // its end is already in the log
  Task& task = tasks_[child];
  task.tgid = tgid;
  if (kind == TaskKind::kProcess && task.started) PrepareProcEntries(child);  // its first stop came first
}

void Monitor::HandleSeccompStop(pid_t tid) {
  // One request gives the call, its arguments, the ABI and the filter's reason.
  __ptrace_syscall_info info{};
  if (ptrace(PTRACE_GET_SYSCALL_INFO, tid, reinterpret_cast<void*>(sizeof(info)), &info) <= 0 ||
      info.op != PTRACE_SYSCALL_INFO_SECCOMP) {
    Resume(tid);  // killed meanwhile
    return;
  }
  SyscallStop stop{info.arch, info.seccomp.nr, {}, info.stack_pointer};
  std::copy(std::begin(info.seccomp.args), std::end(info.seccomp.args), stop.args);
  auto name_of = [&stop](uint32_t arch) {
    char* name = seccomp_syscall_resolve_num_arch(arch, int(stop.number));
    std::string text = name != nullptr ? name : "syscall " + std::to_string(stop.number);
    free(name);
    return text;
  };
  switch (StopReason(info.seccomp.ret_data)) {
    case StopReason::kUntracedClone:
      if (policy_.mode == Mode::kStrict) {
        Deny(tid, EPERM);
        Violation(tid, "untraced-clone", "clone", "denied", "CLONE_UNTRACED would hide the child from the supervisor");
      } else {
        // Observe mode lets the clone happen, but not untraced: dropping the flag keeps the
        // child in sight and changes nothing else about it.
        user_regs_struct regs{};
        if (ptrace(PTRACE_GETREGS, tid, nullptr, &regs) == 0) {
          regs.rdi &= ~static_cast<unsigned long long>(CLONE_UNTRACED);
          ptrace(PTRACE_SETREGS, tid, nullptr, &regs);
        }
        Violation(tid, "untraced-clone", "clone", "traced-anyway",
                  "CLONE_UNTRACED removed so that the child stays in sight");
      }
      break;
    case StopReason::kNamespaceClone:
      Deny(tid, EPERM);
      Violation(tid, "namespace-clone", name_of(SCMP_ARCH_NATIVE), "denied", "creating namespaces is denied in strict mode");
      break;
    case StopReason::kDeniedCall:
      Deny(tid, EPERM);
      Violation(tid, "denied-syscall", name_of(SCMP_ARCH_NATIVE), "denied", "denied in strict mode");
      break;
    case StopReason::kForeignAbi: {
      // A 32-bit call (int 0x80) or an x32 call: other system call numbers, other registers.
      // The supervisor's ptrace events still see processes it creates, but its arguments
      // are not checked, so it is always reported; strict mode refuses it.
      const bool i386 = stop.arch == AUDIT_ARCH_I386;
      std::string name = name_of(i386 ? SCMP_ARCH_X86 : SCMP_ARCH_X32);
      const std::string detail = std::string("system call through the ") + (i386 ? "i386 (int 0x80)" : "x32") + " ABI";
      if (policy_.mode == Mode::kStrict) {
        Deny(tid, ENOSYS);
        Violation(tid, "foreign-abi", name, "denied", detail);
      } else {
        Violation(tid, "foreign-abi", name, "allowed", detail);
      }
      break;
    }
    case StopReason::kNetwork: {
      std::string detail;
      if (!NetworkCallAllowed(tid, stop, &detail)) {
        Deny(tid, ENETUNREACH);
        Violation(tid, "network", name_of(SCMP_ARCH_NATIVE), "denied", detail);
      }
      break;
    }
  }
  Resume(tid);
}

bool Monitor::NetworkCallAllowed(pid_t tid, const SyscallStop& stop, std::string* detail) {
  auto check = [&](uint64_t address, uint64_t length) {
    if (address == 0) return true;
    sockaddr_storage storage{};
    size_t size = std::min<uint64_t>(length, sizeof(storage));
    iovec local{&storage, size};
    iovec remote{reinterpret_cast<void*>(address), size};
    if (process_vm_readv(tid, &local, 1, &remote, 1, 0) != ssize_t(size)) return true;  // EFAULT for the call too
    if (IsLoopbackOrLocal(storage, socklen_t(size))) return true;
    char text[INET6_ADDRSTRLEN] = "?";
    if (storage.ss_family == AF_INET)
      inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in&>(storage).sin_addr, text, sizeof(text));
    else if (storage.ss_family == AF_INET6)
      inet_ntop(AF_INET6, &reinterpret_cast<sockaddr_in6&>(storage).sin6_addr, text, sizeof(text));
    *detail = std::string("address ") + text + " (family " + std::to_string(storage.ss_family) +
              ") is beyond loopback";
    return false;
  };
  auto read_msghdr = [&](uint64_t address, msghdr* out) {
    iovec local{out, sizeof(*out)};
    iovec remote{reinterpret_cast<void*>(address), sizeof(*out)};
    return process_vm_readv(tid, &local, 1, &remote, 1, 0) == ssize_t(sizeof(*out));
  };
  switch (stop.number) {
    case SYS_connect: return check(stop.args[1], stop.args[2]);
    case SYS_sendto: return check(stop.args[4], stop.args[5]);
    case SYS_sendmsg: {
      msghdr message{};
      return !read_msghdr(stop.args[1], &message) || check(uint64_t(message.msg_name), message.msg_namelen);
    }
    case SYS_sendmmsg: {
      for (uint64_t i = 0; i < std::min<uint64_t>(stop.args[2], 1024); ++i) {
        msghdr message{};
        if (!read_msghdr(stop.args[1] + i * sizeof(mmsghdr), &message)) break;
        if (!check(uint64_t(message.msg_name), message.msg_namelen)) return false;
      }
      return true;
    }
    default:
      return true;
  }
  return true;
}

void Monitor::HandleExecEvent(pid_t pid) {
  // The exec succeeded and the new program is loaded, stopped before its first instruction.
  // If a non-leader thread called it, the kernel has already killed the other threads and
  // given the caller the leader's pid: the event comes with the pid, and the caller's former
  // tid is the event message. No exit is ever reported for that tid.
  unsigned long message = 0;
  ptrace(PTRACE_GETEVENTMSG, pid, nullptr, &message);
  const pid_t former_tid = message != 0 ? pid_t(message) : pid;
  if (former_tid != pid) tasks_.erase(former_tid);
  Task& task = tasks_[pid];
  task.tgid = pid;
  task.started = true;

  ExecRecord record;
  record.unix_ns = NowUnixNs();
  record.from_tid = former_tid;
  record.executable = ReadLink("/proc/" + std::to_string(pid) + "/exe");
  user_regs_struct regs{};
  const bool registers = ptrace(PTRACE_GETREGS, pid, nullptr, &regs) == 0;
  // A 32-bit program (started with the 64-bit user code segment's 0x33 absent) has 4-byte
  // pointers on its stack: what the kernel ran is still known from /proc.
  constexpr unsigned long long kUser64CodeSegment = 0x33;
  std::optional<InitialStack> stack;
  TraceeMemoryReader memory(pid);
  if (registers && regs.cs == kUser64CodeSegment) {
    if (auto read = ReadInitialStack(memory, regs.rsp); read) stack = std::move(*read);
  }
  if (stack) {
    for (const auto& argument : stack->argv) record.argv.push_back(argument.text);
    if (uint64_t execfn = AuxiliaryValue(*stack, AT_EXECFN); execfn != 0)
      if (auto path = memory.ReadString(execfn); path) record.path = *path;
    if (exec_hook_) {
      ExecRequest request;
      request.tid = former_tid;
      request.tgid = pid;
      request.path = record.path;
      request.executable = record.executable;
      request.argv = record.argv;
      for (const auto& variable : stack->environment) request.environment.push_back(variable.text);
      ExecVerdict verdict = exec_hook_(request);
      record.program_kind = verdict.program_kind;
      record.instrumented = verdict.instrumented;
      if (!verdict.set_environment.empty()) {
        auto injected = RewriteInitialEnvironment(pid, *stack, regs, verdict.set_environment);
        if (injected) record.injected = std::move(*injected);
        else record.injection_error = injected.error().message;
      }
    }
  } else {
    std::ifstream cmdline("/proc/" + std::to_string(pid) + "/cmdline", std::ios::binary);
    std::string argument;
    while (std::getline(cmdline, argument, '\0')) record.argv.push_back(argument);
  }
  if (record.path.empty()) record.path = record.executable;
  // The new program runs on while the supervisor writes down what it is.
  Resume(pid);
  log_.Exec(pid, record);
}

// Whether this kernel answers exec notifications as the exec monitor needs: user notification
// (Linux 5.0) with SECCOMP_USER_NOTIF_FLAG_CONTINUE (5.5). Older kernels follow the whole tree.
bool ExecNotificationSupported() {
  unsigned int action = SECCOMP_RET_USER_NOTIF;
  if (syscall(SYS_seccomp, SECCOMP_GET_ACTION_AVAIL, 0, &action) != 0) return false;
  utsname name{};
  int major = 0, minor = 0;
  if (uname(&name) != 0 || std::sscanf(name.release, "%d.%d", &major, &minor) != 2) return false;
  return major > 5 || (major == 5 && minor >= 5);
}

}  // namespace

Status CheckSupervisionPermitted() {
  Pipe go;
  if (!go.ok()) return Error{std::string("pipe: ") + std::strerror(errno)};
  const bool no_new_privs = !HasEffectiveCapability(kCapSysAdmin);
  static sock_filter allow_all[] = {BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW)};
  sock_fprog filter{1, allow_all};
  pid_t child = fork();
  if (child < 0) return Error{std::string("fork: ") + std::strerror(errno)};
  if (child == 0) {
    char byte;
    if (read(go.read_fd(), &byte, 1) != 1) _exit(2);
    if (no_new_privs && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) _exit(3);
    _exit(InstallSyscallFilter(filter) >= 0 ? 0 : 4);
  }
  std::string problem;
  if (ptrace(PTRACE_SEIZE, child, nullptr, reinterpret_cast<void*>(PTRACE_O_EXITKILL)) != 0) {
    int error = errno;
    std::string scope;
    std::ifstream("/proc/sys/kernel/yama/ptrace_scope") >> scope;
    // Under a debugger or another supervisor (pycov inside pycov), the children are already
    // someone else's tracees.
    std::string tracer;
    std::ifstream status("/proc/self/status");
    for (std::string line; std::getline(status, line);)
      if (line.rfind("TracerPid:", 0) == 0) tracer = line.substr(line.find_first_not_of(" \t", 10));
    problem = std::string("ptrace is not permitted here (") + std::strerror(error) + ")";
    if (!tracer.empty() && tracer != "0") problem += "; pycov itself is traced by pid " + tracer;
    else if (!scope.empty()) problem += "; kernel.yama.ptrace_scope is " + scope;
  }
  go.CloseRead();
  (void)!write(go.write_fd(), "g", 1);
  go.CloseWrite();
  int status = 0;
  while (waitpid(child, &status, __WALL) < 0 && errno == EINTR) {
  }
  if (!problem.empty()) return Error{problem};
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    return Error{"seccomp filters are not permitted here (a container's policy may forbid them)"};
  return Ok();
}

namespace {

// One supervised run, following execs only or the whole tree. Sets `*listener_refused` when the
// program's child could not get a filter with a listener because one is already in force
// (before the program ran).
Result<RunResult> SuperviseRun(const Program& program, const Policy& policy, const ExecHook& exec_hook,
                               const std::string& log_path, const ExecInterest& exec_interest, bool follow_execs,
                               bool* listener_refused) {
  ObservationLogWriter log;
  if (auto opened = log.Open(log_path); !opened) return opened.error();

  // Where the process lacks CAP_SYS_ADMIN, a network namespace is out of reach: the filter
  // then checks the addresses of outgoing connections instead.
  const bool privileged = HasEffectiveCapability(kCapSysAdmin);
  FilterOptions filter_options{policy.mode, policy.mode == Mode::kStrict && !privileged, follow_execs,
                               follow_execs ? policy.exec_pass : 0};
  auto filter = BuildSyscallFilter(filter_options);
  if (!filter) return filter.error();

  // Boost.Process is not used to start the program: its child constructor waits until the
  // exec has happened, and its wait() reaps children, while the supervisor must seize the
  // child between fork and exec and must be the only one to wait for the tree.
  std::vector<char*> argv, envp;
  for (const auto& a : program.argv) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  for (const auto& e : program.environment) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);
  ChildSetup setup;
  setup.argv = argv.data();
  setup.envp = envp.data();
  setup.filter = sock_fprog{static_cast<unsigned short>(filter->size()), filter->data()};
  setup.strict = policy.mode == Mode::kStrict;
  setup.network_namespace = setup.strict && privileged;
  setup.no_new_privs = !privileged;
  setup.limits = policy.limits;

  Pipe go, failure;
  if (!go.ok() || !failure.ok()) return Error{std::string("pipe: ") + std::strerror(errno)};
  // Following execs, the program's child passes the filter's listener back over a socket.
  SocketPair listener_channel;
  if (follow_execs && !listener_channel.Open()) return Error{std::string("socketpair: ") + std::strerror(errno)};
  setup.listener_socket = listener_channel.child_end();
  ChildSubreaper subreaper;
  SupervisorSignals signals;
  log.Start(ModeName(policy.mode), getpid());
  if (filter_options.check_network_addresses)
    log.Note("no network namespace without CAP_SYS_ADMIN: outgoing addresses are checked by the filter");
  if (setup.no_new_privs)
    log.Note("no_new_privs is set for the program (no CAP_SYS_ADMIN): setuid programs run without their privileges");

  log.Flush();  // the program's child has a copy of what is kept in memory, which it never writes
  pid_t child = fork();
  if (child < 0) return Error{std::string("cannot start the program: fork: ") + std::strerror(errno)};
  if (child == 0) {
    signals.RestoreForProgram();
    RunProgramChild(setup, go.read_fd(), failure.write_fd());
  }
  go.CloseRead();
  failure.CloseWrite();
  RunResult result;
  if (follow_execs) {
    listener_channel.CloseChildEnd();
    (void)!write(go.write_fd(), "g", 1);
    go.CloseWrite();
    // -1: the child failed before it could send the listener (the failure pipe says why).
    const int listener = ReceiveDescriptor(listener_channel.supervisor_end());
    listener_channel.Close();
    result = FollowExecs(child, listener, policy, exec_hook, exec_interest, log, g_forward_signal);
  } else {
    if (ptrace(PTRACE_SEIZE, child, nullptr, reinterpret_cast<void*>(kPtraceOptions)) != 0) {
      int error = errno;
      kill(child, SIGKILL);
      waitpid(child, nullptr, 0);
      return Error{std::string("cannot trace the program: ptrace: ") + std::strerror(error)};
    }
    (void)!write(go.write_fd(), "g", 1);
    go.CloseWrite();
    Monitor monitor(policy, exec_hook, log);
    result = monitor.Run(child);
  }
  log.Finish(result.timed_out, result.seccomp_stops, result.event_stops, result.signal_stops);

  StartFailure start_failure{};
  if (read(failure.read_fd(), &start_failure, sizeof(start_failure)) == ssize_t(sizeof(start_failure))) {
    *listener_refused = follow_execs && start_failure.stage == StartFailure::kSeccomp && start_failure.error == EBUSY;
    return Error{DescribeStartFailure(start_failure, program.argv[0])};
  }
  return result;
}

}  // namespace

Result<RunResult> Supervise(const Program& program, const Policy& policy, const ExecHook& exec_hook,
                            const std::string& log_path, const ExecInterest& exec_interest) {
  if (policy.mode == Mode::kOff) return Error{"the supervisor does not run in mode off"};
  if (program.argv.empty()) return Error{"no program to run"};
  const bool follow_execs =
      policy.mode == Mode::kObserve && policy.follow == Follow::kExecs && ExecNotificationSupported();
  bool listener_refused = false;
  auto result = SuperviseRun(program, policy, exec_hook, log_path, exec_interest, follow_execs, &listener_refused);
  // The kernel allows one listener in a chain of filters: under another supervisor that
  // follows execs (pycov run inside pycov run), the whole tree is followed instead.
  if (listener_refused)
    result = SuperviseRun(program, policy, exec_hook, log_path, exec_interest, false, &listener_refused);
  return result;
}

}  // namespace pycov::sandbox
