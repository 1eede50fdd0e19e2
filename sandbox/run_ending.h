// RunEnding: how a followed run is ended from outside the program, the same for both ways of
// following it (supervisor.cc follows the whole tree with ptrace, exec_monitor.cc its execs):
// --timeout, --orphan-grace once the program has ended, and a SIGTERM or SIGHUP pycov received,
// passed on. Internal to sandbox/.
#pragma once

#include <signal.h>
#include <sys/types.h>

#include <string>

#include "observation_log_writer.h"
#include "process_tree.h"
#include "supervisor.h"

namespace pycov::sandbox {

class RunEnding {
 public:
  RunEnding(const Policy& policy, volatile sig_atomic_t& forwarded_signal, ObservationLogWriter& log,
            RunResult& result)
      : policy_(policy), forwarded_signal_(forwarded_signal), log_(log), result_(result) {}

  // The program starts: the timeout runs from now.
  void ProgramStarted(pid_t program) {
    program_ = program;
    if (policy_.timeout_seconds > 0) timeout_deadline_ = MonotonicSeconds() + policy_.timeout_seconds;
  }
  // The program itself has ended: the grace for what it left behind starts.
  void ProgramEnded() {
    program_ended_ = true;
    grace_deadline_ = MonotonicSeconds() + policy_.orphan_grace_seconds;
  }
  bool program_ended() const { return program_ended_; }

  // Acts on what is due; called once a turn of a monitor's loop. Each monitor knows its own
  // processes: `run_processes()` every process of the run, which a deadline kills;
  // `left_behind()` those a forwarded signal goes to once the program has ended.
  template <class RunProcesses, class LeftBehind>
  void Check(RunProcesses run_processes, LeftBehind left_behind) {
    const double now = MonotonicSeconds();
    if (timeout_deadline_ > 0 && !result_.timed_out && now >= timeout_deadline_) {
      result_.timed_out = true;
      log_.Note("the run reached its timeout of " + std::to_string(policy_.timeout_seconds) + " s");
      Kill(run_processes(), "timeout");
    }
    if (program_ended_ && !grace_over_ && now >= grace_deadline_) {
      grace_over_ = true;
      Kill(run_processes(), "orphan-grace");
    }
    if (int signal = forwarded_signal_; signal != 0) {
      forwarded_signal_ = 0;
      // Passed on to the program; once it has ended, to what it left behind.
      if (!program_ended_) kill(program_, signal);
      else
        for (pid_t pid : left_behind()) kill(pid, signal);
    }
  }

 private:
  template <class Processes>
  void Kill(const Processes& processes, const char* reason) {
    for (pid_t pid : processes) {
      if (std::string(reason) == "orphan-grace") ++result_.survivors_killed;
      log_.Killed(pid, reason);
      kill(pid, SIGKILL);
    }
  }

  const Policy& policy_;
  volatile sig_atomic_t& forwarded_signal_;
  ObservationLogWriter& log_;
  RunResult& result_;
  pid_t program_ = 0;
  double timeout_deadline_ = 0;
  bool program_ended_ = false;
  double grace_deadline_ = 0;
  bool grace_over_ = false;
};

}  // namespace pycov::sandbox
