#include "program_launch.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cctype>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "sandbox/process_tree.h"

namespace pycov {
namespace {

using sandbox::ChildrenOfSelf;
using sandbox::MonotonicSeconds;

volatile sig_atomic_t g_program_pid = 0;

void ForwardSignal(int signal_number) {
  if (g_program_pid > 0) kill(pid_t(g_program_pid), signal_number);
}

// Restores, for as long as it lives, the dispositions pycov changes while it waits.
class WaitingSignals {
 public:
  WaitingSignals() {
    struct sigaction ignore {};
    ignore.sa_handler = SIG_IGN;
    sigaction(SIGINT, &ignore, &saved_int_);
    sigaction(SIGQUIT, &ignore, &saved_quit_);
    struct sigaction forward {};
    forward.sa_handler = ForwardSignal;
    sigemptyset(&forward.sa_mask);
    sigaction(SIGTERM, &forward, &saved_term_);
    sigaction(SIGHUP, &forward, &saved_hup_);
  }
  ~WaitingSignals() {
    sigaction(SIGINT, &saved_int_, nullptr);
    sigaction(SIGQUIT, &saved_quit_, nullptr);
    sigaction(SIGTERM, &saved_term_, nullptr);
    sigaction(SIGHUP, &saved_hup_, nullptr);
  }
  const struct sigaction& saved_int() const { return saved_int_; }
  const struct sigaction& saved_quit() const { return saved_quit_; }

 private:
  struct sigaction saved_int_ {}, saved_quit_ {}, saved_term_ {}, saved_hup_ {};
};

// Waits for `pid`; with a deadline, kills it and pycov's other children when it passes.
bool WaitWithDeadline(pid_t pid, int* status, double timeout_seconds) {
  if (timeout_seconds <= 0) {
    while (waitpid(pid, status, 0) < 0)
      if (errno != EINTR) return false;
    return true;
  }
  const double deadline = MonotonicSeconds() + timeout_seconds;
  bool killed = false;
  while (true) {
    pid_t reaped = waitpid(pid, status, WNOHANG);
    if (reaped == pid) return !killed;
    if (reaped < 0 && errno != EINTR) return !killed;
    if (!killed && MonotonicSeconds() >= deadline) {
      kill(pid, SIGKILL);
      for (pid_t child : ChildrenOfSelf()) kill(child, SIGKILL);
      killed = true;
    }
    usleep(10000);
  }
}

}  // namespace

Result<ProgramExit> RunProgram(const LaunchSpec& spec) {
  std::vector<char*> argv, envp;
  for (const auto& a : spec.argv) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  for (const auto& e : spec.environment) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);

  // Orphans (daemons, double forks) are re-parented to pycov, so their end can be awaited.
  prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
  int exec_error_pipe[2];
  if (pipe2(exec_error_pipe, O_CLOEXEC) != 0) return Error{std::string("pipe: ") + std::strerror(errno)};

  WaitingSignals signals;
  pid_t pid = fork();
  if (pid < 0) return Error{std::string("cannot start the program: fork: ") + std::strerror(errno)};
  if (pid == 0) {
    // The program gets the dispositions pycov itself was started with.
    sigaction(SIGINT, &signals.saved_int(), nullptr);
    sigaction(SIGQUIT, &signals.saved_quit(), nullptr);
    signal(SIGTERM, SIG_DFL);
    signal(SIGHUP, SIG_DFL);
    close(exec_error_pipe[0]);
    execve(argv[0], argv.data(), envp.data());
    int error = errno;
    (void)!write(exec_error_pipe[1], &error, sizeof(error));
    _exit(127);
  }
  g_program_pid = pid;
  close(exec_error_pipe[1]);
  int exec_errno = 0;
  ssize_t got;
  do {
    got = read(exec_error_pipe[0], &exec_errno, sizeof(exec_errno));
  } while (got < 0 && errno == EINTR);
  close(exec_error_pipe[0]);

  ProgramExit result;
  int status = 0;
  result.timed_out = !WaitWithDeadline(pid, &status, spec.timeout_seconds);
  g_program_pid = 0;
  if (got == sizeof(exec_errno))
    return Error{"cannot run " + spec.argv[0] + ": " + std::strerror(exec_errno)};
  if (WIFSIGNALED(status)) result.signal = WTERMSIG(status);
  else result.exit_code = WEXITSTATUS(status);

  // Descendants that outlived the program still write hit files: give them a moment.
  const double deadline = MonotonicSeconds() + spec.orphan_grace_seconds;
  while (true) {
    pid_t reaped = waitpid(-1, &status, WNOHANG);
    if (reaped < 0 && errno == ECHILD) break;
    if (reaped > 0) continue;
    if (MonotonicSeconds() >= deadline || result.timed_out) {
      std::vector<pid_t> left = ChildrenOfSelf();
      if (!result.timed_out) result.orphans_left = int(left.size());
      for (pid_t child : left) kill(child, SIGKILL);
      // Reap what was killed, so that nothing outlives pycov.
      while (waitpid(-1, &status, 0) > 0 || errno == EINTR) {
      }
      break;
    }
    usleep(10000);
  }
  return result;
}

void ExitLikeProgram(const ProgramExit& exit) {
  if (exit.signal == 0) std::exit(exit.exit_code);
  std::fflush(nullptr);
  // Same signal, so the caller's wait() sees what it would see unmeasured; no core of pycov.
  rlimit no_core{0, 0};
  setrlimit(RLIMIT_CORE, &no_core);
  signal(exit.signal, SIG_DFL);
  sigset_t unblock;
  sigemptyset(&unblock);
  sigaddset(&unblock, exit.signal);
  sigprocmask(SIG_UNBLOCK, &unblock, nullptr);
  raise(exit.signal);
  std::_Exit(128 + exit.signal);
}

std::optional<std::string> CaptureOutput(const std::vector<std::string>& argv) {
  int out[2];
  if (pipe2(out, O_CLOEXEC) != 0) return std::nullopt;
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = fork();
  if (pid < 0) return std::nullopt;
  if (pid == 0) {
    dup2(out[1], 1);
    int null = open("/dev/null", O_WRONLY);
    if (null >= 0) dup2(null, 2);
    execv(args[0], args.data());
    _exit(127);
  }
  close(out[1]);
  std::string text;
  char buffer[4096];
  ssize_t n;
  while ((n = read(out[0], buffer, sizeof(buffer))) > 0 || (n < 0 && errno == EINTR))
    if (n > 0) text.append(buffer, size_t(n));
  close(out[0]);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) return std::nullopt;
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) text.pop_back();
  return text;
}

}  // namespace pycov
