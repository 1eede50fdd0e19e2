// The supervisor with real processes: each test runs the lifecycle program (or a shell, or
// Python) under Supervise and checks the run's result and its observation log.
#include "sandbox/supervisor.h"

#include <linux/seccomp.h>
#include <signal.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>

#include "sandbox/observation_log.h"
#include "sandbox/syscall_filter.h"
#include "test_dir.h"

namespace pycov::sandbox {

void PrintTo(Mode mode, std::ostream* out) { *out << ModeName(mode); }
void PrintTo(Follow follow, std::ostream* out) { *out << (follow == Follow::kExecs ? "execs" : "whole tree"); }

namespace {

using pycov::testing::TestDir;

const std::string kProgram = PYCOV_LIFECYCLE_PROGRAM;

struct Supervised {
  RunResult result;
  ObservationLog log;
};

Supervised RunSupervised(const std::vector<std::string>& argv, Policy policy = {}, const ExecHook& hook = nullptr,
               std::vector<std::string> environment = {"PATH=/usr/bin:/bin"}) {
  TestDir dir;
  const std::string log_path = dir.path() + "/observation.jsonl";
  auto result = Supervise({argv, environment}, policy, hook, log_path);
  EXPECT_TRUE(result.ok()) << (result.ok() ? "" : result.error().message);
  auto log = ReadObservationLog(log_path);
  EXPECT_TRUE(log.ok()) << (log.ok() ? "" : log.error().message);
  if (!result.ok() || !log.ok()) return {};
  return {*result, *log};
}

std::vector<const TaskRecord*> TasksOfKind(const ObservationLog& log, TaskKind kind) {
  std::vector<const TaskRecord*> tasks;
  for (const auto& task : log.tasks)
    if (task.kind == kind) tasks.push_back(&task);
  return tasks;
}

bool Alive(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(stat, line)) return false;
  // A zombie has ended; only its parent's wait is missing.
  size_t close = line.rfind(')');
  return close != std::string::npos && line.size() > close + 2 && line[close + 2] != 'Z';
}

std::vector<pid_t> ReadPids(const std::string& path) {
  std::ifstream in(path);
  std::vector<pid_t> pids;
  for (pid_t pid; in >> pid;) pids.push_back(pid);
  return pids;
}

// How a run is supervised: the mode, and how much of the tree is followed.
struct Monitoring {
  Mode mode;
  Follow follow;
};

void PrintTo(const Monitoring& monitoring, std::ostream* out) {
  *out << ModeName(monitoring.mode) << (monitoring.follow == Follow::kExecs ? ", execs only" : ", whole tree");
}

// Each test runs under every monitor: ptrace following the whole tree (observe and strict), and
// the exec monitor (observe, execs only), which sees execs and the exits of its own children.
class SupervisorTest : public ::testing::TestWithParam<Monitoring> {
 protected:
  Policy ModePolicy() const {
    Policy policy;
    policy.mode = GetParam().mode;
    policy.follow = GetParam().follow;
    return policy;
  }
  bool WholeTree() const { return GetParam().follow == Follow::kWholeTree; }
  bool Strict() const { return GetParam().mode == Mode::kStrict; }
};

INSTANTIATE_TEST_SUITE_P(Monitors, SupervisorTest,
                         ::testing::Values(Monitoring{Mode::kObserve, Follow::kWholeTree},
                                           Monitoring{Mode::kStrict, Follow::kWholeTree},
                                           Monitoring{Mode::kObserve, Follow::kExecs}),
                         [](const auto& info) {
                           return std::string(ModeName(info.param.mode)) +
                                  (info.param.follow == Follow::kExecs ? "_execs" : "");
                         });

TEST_P(SupervisorTest, ExitCodeAndTheProgramsExec) {
  auto run = RunSupervised({kProgram, "exit", "3"}, ModePolicy());
  EXPECT_EQ(run.result.exit_code, 3);
  EXPECT_EQ(run.result.signal, 0);
  ASSERT_EQ(run.log.tasks.size(), 1u);
  const TaskRecord& program = run.log.tasks[0];
  EXPECT_EQ(program.created_by, "start");
  ASSERT_EQ(program.execs.size(), 1u);
  EXPECT_EQ(program.execs[0].path, kProgram);
  EXPECT_EQ(program.execs[0].argv, (std::vector<std::string>{kProgram, "exit", "3"}));
  EXPECT_EQ(program.ending, TaskEnding::kExited);
  EXPECT_EQ(program.exit_code, 3);
  EXPECT_TRUE(run.log.finished);
  EXPECT_EQ(run.log.mode, ModeName(GetParam().mode));
}

// The log is kept in memory between ticks, not until the run ends: what happened half a
// second ago is in the file, for whoever looks while the run goes on (or after pycov is killed).
TEST_P(SupervisorTest, TheLogIsWrittenWhileTheProgramRuns) {
  TestDir dir;
  const std::string log_path = dir.path() + "/observation.jsonl";
  const std::string copy = dir.path() + "/copy.jsonl";
  auto result = Supervise({{"/bin/sh", "-c", "/bin/true; sleep 0.5; cp \"$0\" \"$1\"", log_path, copy},
                           {"PATH=/usr/bin:/bin"}},
                          ModePolicy(), nullptr, log_path);
  ASSERT_TRUE(result.ok()) << result.error().message;
  EXPECT_EQ(result->exit_code, 0);
  std::ifstream in(copy);
  std::stringstream text;
  text << in.rdbuf();
  EXPECT_NE(text.str().find("\"argv\":[\"/bin/true\"]"), std::string::npos) << text.str();
  EXPECT_EQ(text.str().find("\"event\":\"finish\""), std::string::npos) << text.str();
}

TEST_P(SupervisorTest, DeathBySignalIsReported) {
  auto run = RunSupervised({kProgram, "signal", std::to_string(SIGSEGV)}, ModePolicy());
  EXPECT_EQ(run.result.signal, SIGSEGV);
  ASSERT_FALSE(run.log.tasks.empty());
  EXPECT_EQ(run.log.tasks[0].ending, TaskEnding::kSignaled);
  EXPECT_EQ(run.log.tasks[0].signal, SIGSEGV);
}

TEST_P(SupervisorTest, ForkedChildIsAProcessWithItsExitCode) {
  auto run = RunSupervised({kProgram, "fork-exit", "7"}, ModePolicy());
  EXPECT_EQ(run.result.exit_code, 0);
  if (!WholeTree()) {
    // A fork without an exec is no exec: the exec monitor does not see it.
    EXPECT_EQ(run.log.tasks.size(), 1u);
    EXPECT_EQ(run.result.processes, 1);
    return;
  }
  ASSERT_EQ(run.log.tasks.size(), 2u);
  const TaskRecord& child = run.log.tasks[1];
  EXPECT_EQ(child.kind, TaskKind::kProcess);
  EXPECT_EQ(child.created_by, "fork");
  EXPECT_EQ(child.parent, run.log.tasks[0].tid);
  EXPECT_EQ(child.tgid, child.tid);
  EXPECT_EQ(child.ending, TaskEnding::kExited);
  EXPECT_EQ(child.exit_code, 7);
  EXPECT_EQ(run.result.processes, 2);
}

TEST_P(SupervisorTest, VforkChildAndItsExecAreSeen) {
  auto run = RunSupervised({kProgram, "vfork-exec"}, ModePolicy());
  EXPECT_EQ(run.result.exit_code, 0);
  ASSERT_EQ(run.log.tasks.size(), 2u);
  const TaskRecord& child = run.log.tasks[1];
  EXPECT_EQ(child.created_by, WholeTree() ? "vfork" : "unknown");
  EXPECT_EQ(child.kind, TaskKind::kProcess);
  ASSERT_EQ(child.execs.size(), 1u);
  EXPECT_EQ(child.execs[0].argv, (std::vector<std::string>{"true", "after-vfork"}));
  EXPECT_EQ(child.execs[0].path, "/bin/true");
}

TEST_P(SupervisorTest, PthreadsAreThreadsOfTheProgram) {
  auto run = RunSupervised({kProgram, "threads", "4"}, ModePolicy());
  EXPECT_EQ(run.result.exit_code, 0);
  if (!WholeTree()) {
    EXPECT_TRUE(TasksOfKind(run.log, TaskKind::kThread).empty());
    EXPECT_EQ(run.result.threads, 0);
    return;
  }
  auto threads = TasksOfKind(run.log, TaskKind::kThread);
  ASSERT_EQ(threads.size(), 4u);
  for (const TaskRecord* thread : threads) {
    EXPECT_EQ(thread->tgid, run.log.tasks[0].tid);
    EXPECT_EQ(thread->created_by, "clone");
    EXPECT_EQ(thread->ending, TaskEnding::kExited);
  }
  EXPECT_EQ(run.result.threads, 4);
  EXPECT_EQ(run.result.processes, 1);
}

TEST_P(SupervisorTest, RawCloneOfAProcessIsAProcess) {
  auto run = RunSupervised({kProgram, "clone-process"}, ModePolicy());
  EXPECT_EQ(run.result.exit_code, 0);
  if (!WholeTree()) {
    EXPECT_EQ(run.log.tasks.size(), 1u);  // a clone without an exec is not seen
    return;
  }
  ASSERT_EQ(run.log.tasks.size(), 2u);
  EXPECT_EQ(run.log.tasks[1].kind, TaskKind::kProcess);
  EXPECT_EQ(run.log.tasks[1].exit_code, 5);
}

TEST_P(SupervisorTest, ExecFromANonLeaderThreadKeepsTheProcessPid) {
  auto run = RunSupervised({kProgram, "exec-from-thread"}, ModePolicy());
  EXPECT_EQ(run.result.exit_code, 0);  // /bin/true, run by the thread, in the program's pid
  const TaskRecord& program = run.log.tasks[0];
  ASSERT_EQ(program.execs.size(), 2u);
  const ExecRecord& exec = program.execs[1];
  EXPECT_EQ(exec.argv, (std::vector<std::string>{"true", "from-thread"}));
  EXPECT_NE(exec.from_tid, program.tid);
  EXPECT_EQ(program.ending, TaskEnding::kExited);
  if (!WholeTree()) return;  // no thread records
  const TaskRecord* thread = run.log.Find(exec.from_tid);
  ASSERT_NE(thread, nullptr);
  EXPECT_EQ(thread->kind, TaskKind::kThread);
  EXPECT_EQ(thread->ending, TaskEnding::kExecReplaced);
  EXPECT_EQ(program.ending, TaskEnding::kExited);
}

TEST_P(SupervisorTest, AnExecWithThePassDoesNotWaitForTheExecMonitor) {
  Policy policy = ModePolicy();
  policy.exec_pass = 0x5eed0fc0ffee1234;
  for (const char* pass : {"0x5eed0fc0ffee1234", "0x5eed0fc0ffee1235", "0x1234"}) {
    SCOPED_TRACE(pass);
    const bool passes = std::string(pass) == "0x5eed0fc0ffee1234" && !WholeTree();
    auto run = RunSupervised({kProgram, "exec-with-pass", pass}, policy);
    EXPECT_EQ(run.result.exit_code, 0);  // /bin/true ran either way
    ASSERT_EQ(run.log.tasks.size(), 1u);
    // Only the exec monitor lets it by: the whole tree's exec event sees every exec.
    EXPECT_EQ(run.log.tasks[0].execs.size(), passes ? 1u : 2u);
    if (!WholeTree()) {
      EXPECT_EQ(run.result.seccomp_stops, passes ? 1 : 2);
    }
  }
}

TEST_P(SupervisorTest, FailedExecIsNotAnExec) {
  auto run = RunSupervised({kProgram, "failed-exec"}, ModePolicy());
  EXPECT_EQ(run.result.exit_code, 0);  // the program saw ENOENT
  ASSERT_EQ(run.log.tasks.size(), 1u);
  EXPECT_EQ(run.log.tasks[0].execs.size(), 1u);  // only the program's own start
}

TEST_P(SupervisorTest, TheProgramsSignalHandlersRun) {
  auto run = RunSupervised({kProgram, "sigusr1"}, ModePolicy());
  EXPECT_EQ(run.result.exit_code, 42);
}

TEST_P(SupervisorTest, JobControlStopAndContinueWork) {
  auto run = RunSupervised({kProgram, "job-control"}, ModePolicy());
  EXPECT_EQ(run.result.exit_code, 0);
}

TEST_P(SupervisorTest, OnlyLifecycleCallsStop) {
  // 100,000 loop rounds of getppid, clock_gettime and write: none of them may stop.
  auto run = RunSupervised({kProgram, "many-syscalls", "100000"}, ModePolicy());
  EXPECT_EQ(run.result.exit_code, 0);
  if (WholeTree()) {
    EXPECT_EQ(run.result.seccomp_stops, 0);  // not even its execve
    EXPECT_EQ(run.result.event_stops, 1);    // the exec event of the program's start
  } else {
    EXPECT_EQ(run.result.seccomp_stops, 1);  // the notification of the program's own execve
    EXPECT_EQ(run.result.event_stops, 0);    // no ptrace stop at all
  }
  EXPECT_EQ(run.result.signal_stops, 0);
}

TEST_P(SupervisorTest, UntracedCloneIsReported) {
  auto run = RunSupervised({kProgram, "untraced-clone"}, ModePolicy());
  if (!WholeTree()) {
    // Nothing is traced: CLONE_UNTRACED changes nothing, and is no violation.
    EXPECT_EQ(run.result.exit_code, 0);
    EXPECT_TRUE(run.log.violations.empty());
    return;
  }
  ASSERT_EQ(run.log.violations.size(), 1u);
  EXPECT_EQ(run.log.violations[0].what, "untraced-clone");
  if (Strict()) {
    EXPECT_EQ(run.result.exit_code, 77);  // EPERM
    EXPECT_EQ(run.log.violations[0].action, "denied");
  } else {
    // Allowed, but the child is followed all the same.
    EXPECT_EQ(run.result.exit_code, 0);
    EXPECT_EQ(run.log.violations[0].action, "traced-anyway");
    ASSERT_EQ(run.log.tasks.size(), 2u);
    EXPECT_EQ(run.log.tasks[1].ending, TaskEnding::kExited);
  }
}

TEST_P(SupervisorTest, Int80SystemCallIsReported) {
  auto run = RunSupervised({kProgram, "int80"}, ModePolicy());
  if (!WholeTree()) {
    // The exec monitor's filter lets other ABIs through, unseen.
    EXPECT_EQ(run.result.exit_code, 0);
    EXPECT_TRUE(run.log.violations.empty());
    return;
  }
  ASSERT_EQ(run.log.violations.size(), 1u);
  EXPECT_EQ(run.log.violations[0].what, "foreign-abi");
  EXPECT_EQ(run.log.violations[0].syscall, "getpid");
  if (Strict()) {
    EXPECT_EQ(run.result.exit_code, 38);  // ENOSYS
    EXPECT_EQ(run.log.violations[0].action, "denied");
  } else {
    EXPECT_EQ(run.result.exit_code, 0);
    EXPECT_EQ(run.log.violations[0].action, "allowed");
  }
}

TEST_P(SupervisorTest, OrphansAreAwaitedAndKilledAfterTheGrace) {
  TestDir dir;
  const std::string pids = dir.path() + "/pids";
  Policy policy = ModePolicy();
  policy.orphan_grace_seconds = 5;
  // A daemon that ends 200 ms after the program: awaited, not killed.
  auto awaited = RunSupervised({kProgram, "daemon", "200", pids}, policy);
  EXPECT_EQ(awaited.result.survivors_killed, 0);
  auto daemon_pids = ReadPids(pids);
  ASSERT_EQ(daemon_pids.size(), 1u);
  const TaskRecord* daemon = awaited.log.Find(daemon_pids[0]);
  ASSERT_NE(daemon, nullptr);
  EXPECT_EQ(daemon->ending, TaskEnding::kExited);

  // One that would sleep a minute: killed when the grace is over.
  std::remove(pids.c_str());
  policy.orphan_grace_seconds = 0.3;
  auto killed = RunSupervised({kProgram, "daemon", "60000", pids}, policy);
  EXPECT_EQ(killed.result.exit_code, 0);
  EXPECT_EQ(killed.result.survivors_killed, 1);
  daemon_pids = ReadPids(pids);
  ASSERT_EQ(daemon_pids.size(), 1u);
  daemon = killed.log.Find(daemon_pids[0]);
  ASSERT_NE(daemon, nullptr);
  EXPECT_EQ(daemon->ending, TaskEnding::kKilled);
  EXPECT_EQ(daemon->killed_reason, "orphan-grace");
  EXPECT_FALSE(Alive(daemon_pids[0]));
}

TEST_P(SupervisorTest, TimeoutEndsASleepingTree) {
  TestDir dir;
  const std::string pids = dir.path() + "/pids";
  Policy policy = ModePolicy();
  policy.timeout_seconds = 1;
  const auto started = std::chrono::steady_clock::now();
  auto run = RunSupervised({kProgram, "sleeping-tree", pids}, policy);
  const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  EXPECT_TRUE(run.result.timed_out);
  EXPECT_TRUE(run.log.timed_out);
  EXPECT_EQ(run.result.signal, SIGKILL);
  // The tree is gone within a second of the deadline (each process sleeps for a minute).
  EXPECT_LT(elapsed, 2.0);
  auto tree = ReadPids(pids);
  EXPECT_EQ(tree.size(), 7u);
  for (pid_t pid : tree) {
    EXPECT_FALSE(Alive(pid)) << pid;
    const TaskRecord* task = run.log.Find(pid);
    ASSERT_NE(task, nullptr);
    EXPECT_EQ(task->ending, TaskEnding::kKilled);
    EXPECT_EQ(task->killed_reason, "timeout");
  }
}

// Under a filter that already has a listener (pycov run inside pycov run), the kernel refuses
// another listener: the run follows the whole tree instead, and the program runs as asked.
TEST(Supervisor, UnderAnotherListenerTheWholeTreeIsFollowed) {
  TestDir dir;
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    // A listener of its own, on a call nothing here makes (no one answers it).
    static sock_filter notify_syslog[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_syslog, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_USER_NOTIF),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    sock_fprog filter{4, notify_syslog};
    if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_NEW_LISTENER, &filter) < 0) _exit(10);
    Policy policy;
    policy.follow = Follow::kExecs;
    auto result = Supervise({{kProgram, "exit", "3"}, {}}, policy, nullptr, dir.path() + "/log");
    if (!result.ok()) _exit(11);
    auto log = ReadObservationLog(dir.path() + "/log");
    // The whole tree: ptrace's exec event, no notification.
    _exit(result->exit_code == 3 && result->event_stops == 1 && result->seccomp_stops == 0 && log.ok() ? 0 : 12);
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

TEST(Supervisor, KillingTheSupervisorKillsTheTree) {
  TestDir dir;
  const std::string pids = dir.path() + "/pids";
  pid_t supervisor = fork();
  ASSERT_GE(supervisor, 0);
  if (supervisor == 0) {
    auto result = Supervise({{kProgram, "sleeping-tree", pids}, {}}, {}, nullptr, dir.path() + "/log");
    _exit(result.ok() ? 0 : 1);
  }
  // Wait until the whole tree (7 processes) is running, then kill the supervisor.
  for (int i = 0; i < 500 && ReadPids(pids).size() < 7; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  auto tree = ReadPids(pids);
  ASSERT_EQ(tree.size(), 7u);
  kill(supervisor, SIGKILL);
  waitpid(supervisor, nullptr, 0);
  for (pid_t pid : tree) {
    bool gone = false;
    for (int i = 0; i < 200 && !gone; ++i) {
      gone = !Alive(pid);
      if (!gone) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    EXPECT_TRUE(gone) << "process " << pid << " survived its supervisor";
  }
}

TEST(Supervisor, StrictModeDeniesMountAndLogsIt) {
  TestDir dir;
  Policy policy;
  policy.mode = Mode::kStrict;
  auto run = RunSupervised({kProgram, "mount", dir.path()}, policy);
  EXPECT_EQ(run.result.exit_code, 77);  // EPERM
  ASSERT_EQ(run.log.violations.size(), 1u);
  EXPECT_EQ(run.log.violations[0].what, "denied-syscall");
  EXPECT_EQ(run.log.violations[0].syscall, "mount");
  EXPECT_EQ(run.log.violations[0].action, "denied");
}

TEST(Supervisor, StrictModeSetsResourceLimits) {
  Policy policy;
  policy.mode = Mode::kStrict;
  policy.limits.processes = 1234;
  EXPECT_EQ(RunSupervised({kProgram, "limits", "1234"}, policy).result.exit_code, 0);
  // Observe mode leaves the limits alone.
  policy.mode = Mode::kObserve;
  EXPECT_EQ(RunSupervised({kProgram, "limits", "1234"}, policy).result.exit_code, 1);
}

TEST(Supervisor, StrictModeKeepsLoopbackAndNothingElse) {
  Policy policy;
  policy.mode = Mode::kStrict;
  auto loopback = RunSupervised({kProgram, "listen-and-connect"}, policy);
  EXPECT_EQ(loopback.result.exit_code, 0);
  // A documentation address (TEST-NET-1): unreachable from inside strict mode at once.
  auto outside = RunSupervised({kProgram, "connect", "192.0.2.1", "80"}, policy);
  EXPECT_EQ(outside.result.exit_code, ENETUNREACH);
}

// The ExecHook under both ways of following execs: the ptrace monitor rewrites a new
// program's initial stack, the exec monitor restarts the waiting call with another envp.
class ExecHookTest : public ::testing::TestWithParam<Follow> {
 protected:
  Policy FollowPolicy() const {
    Policy policy;
    policy.follow = GetParam();
    return policy;
  }
};

INSTANTIATE_TEST_SUITE_P(Follows, ExecHookTest, ::testing::Values(Follow::kWholeTree, Follow::kExecs),
                         [](const auto& info) { return info.param == Follow::kExecs ? "execs" : "whole_tree"; });

// Marks every Python exec whose environment lacks PYCOV_TEST_MARK=measured.
ExecVerdict MarkPython(const ExecRequest& request) {
  ExecVerdict verdict;
  if (request.executable.find("python") == std::string::npos) return verdict;
  verdict.program_kind = "python";
  for (const auto& variable : request.environment)
    if (variable == "PYCOV_TEST_MARK=measured") verdict.instrumented = true;
  if (!verdict.instrumented) verdict.set_environment = {"PYCOV_TEST_MARK=measured"};
  return verdict;
}

const char* const kExitUnlessMarked =
    "import os, sys; sys.exit(0 if os.environ.get('PYCOV_TEST_MARK') == 'measured' else 3)";

TEST_P(ExecHookTest, EnvironmentReinjectionReachesAPythonChildStartedWithEnvEmpty) {
  const std::string parent = "import subprocess, sys\n"
                             "r = subprocess.run([sys.executable, '-c', " +
                             std::string("\"") + kExitUnlessMarked + "\"], env={})\n" + "sys.exit(r.returncode)\n";
  auto run = RunSupervised({"/usr/bin/python3", "-c", parent}, FollowPolicy(), MarkPython);
  EXPECT_EQ(run.result.exit_code, 0);
  // The program and its child: both Python, the child's environment rewritten.
  std::vector<const ExecRecord*> python_execs;
  for (const auto& task : run.log.tasks)
    for (const auto& exec : task.execs)
      if (exec.program_kind == "python") python_execs.push_back(&exec);
  ASSERT_EQ(python_execs.size(), 2u);
  EXPECT_EQ(python_execs[1]->injected, (std::vector<std::string>{"PYCOV_TEST_MARK"}));
  EXPECT_FALSE(python_execs[1]->instrumented);
  EXPECT_TRUE(python_execs[1]->injection_error.empty());
}

// A thread other than the leader execs with an empty environment: the exec monitor stops that
// thread, not the process, and the new program has the process's pid.
TEST_P(ExecHookTest, EnvironmentReinjectionReachesAnExecFromAThread) {
  const std::string program = "import os, sys, threading, time\n"
                              "def run():\n"
                              "    os.execve(sys.executable, [sys.executable, '-c', \"" +
                              std::string(kExitUnlessMarked) +
                              "\"], {})\n"
                              "threading.Thread(target=run).start()\n"
                              "time.sleep(30)\n";
  auto run = RunSupervised({"/usr/bin/python3", "-c", program}, FollowPolicy(), MarkPython);
  EXPECT_EQ(run.result.exit_code, 0);
  ASSERT_FALSE(run.log.tasks.empty());
  const TaskRecord& process = run.log.tasks[0];
  ASSERT_EQ(process.execs.size(), 2u);
  EXPECT_NE(process.execs[1].from_tid, process.tid);
  EXPECT_EQ(process.execs[1].injected, (std::vector<std::string>{"PYCOV_TEST_MARK"}));
}

// fexecve: execveat(fd, "", argv, envp, AT_EMPTY_PATH), whose envp is the fourth argument.
TEST_P(ExecHookTest, EnvironmentReinjectionReachesAnExecFromADescriptor) {
  const std::string program = "import os, sys\n"
                              "fd = os.open(sys.executable, os.O_RDONLY)\n"
                              "pid = os.fork()\n"
                              "if pid == 0: os.execve(fd, [sys.executable, '-c', \"" +
                              std::string(kExitUnlessMarked) +
                              "\"], {})\n"
                              "sys.exit(os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]))\n";
  auto run = RunSupervised({"/usr/bin/python3", "-c", program}, FollowPolicy(), MarkPython);
  EXPECT_EQ(run.result.exit_code, 0);
  ASSERT_EQ(run.log.tasks.size(), 2u);
  ASSERT_EQ(run.log.tasks[1].execs.size(), 1u);
  EXPECT_EQ(run.log.tasks[1].execs[0].path.rfind("/dev/fd/", 0), 0u) << run.log.tasks[1].execs[0].path;
  EXPECT_EQ(run.log.tasks[1].execs[0].injected, (std::vector<std::string>{"PYCOV_TEST_MARK"}));
}

// What the exec monitor works out before the kernel runs a program (the file, a script's
// interpreter and arguments, the name) must be what the ptrace monitor reads after: a #! line
// with an argument, a relative path, a PATH search, an exec from a descriptor (execveat).
TEST(Supervisor, BothMonitorsRecordTheSameExecs) {
  TestDir dir;
  const std::string program =
      "import os, subprocess, sys\n"
      "d = sys.argv[1]\n"
      "script = os.path.join(d, 'script')\n"
      "with open(script, 'w') as f: f.write('#!/bin/sh -e\\nexit 0\\n')\n"
      "os.chmod(script, 0o755)\n"
      "subprocess.run([script, 'a'], check=True)\n"
      "subprocess.run(['./script', 'b'], cwd=d, check=True)\n"
      "subprocess.run(['true', 'c'], check=True)\n"
      "fd = os.open('/bin/true', os.O_RDONLY)\n"
      "pid = os.fork()\n"
      "if pid == 0: os.execve(fd, ['true', 'd'], {})\n"
      "os.waitpid(pid, 0)\n";
  std::vector<std::vector<std::string>> seen[2];
  const Follow follows[2] = {Follow::kWholeTree, Follow::kExecs};
  for (int i = 0; i < 2; ++i) {
    Policy policy;
    policy.follow = follows[i];
    auto run = RunSupervised({"/usr/bin/python3", "-c", program, dir.path()}, policy);
    EXPECT_EQ(run.result.exit_code, 0);
    for (const auto& task : run.log.tasks)
      for (const auto& exec : task.execs) {
        std::vector<std::string> what{exec.path, exec.executable};
        what.insert(what.end(), exec.argv.begin(), exec.argv.end());
        seen[i].push_back(what);
      }
  }
  ASSERT_EQ(seen[0].size(), 5u);
  EXPECT_EQ(seen[0], seen[1]);
  EXPECT_EQ(seen[1][1], (std::vector<std::string>{dir.path() + "/script", "/usr/bin/dash", "/bin/sh", "-e",
                                                  dir.path() + "/script", "a"}));
}

// The environment is rewritten on the new program's initial stack, before its first
// instruction: the dynamic loader and libc must find argv, the environment and the auxiliary
// vector as the kernel left them, with the variables set, each once.
TEST_P(ExecHookTest, TheEnvironmentIsRewrittenBeforeTheProgramStarts) {
  std::vector<std::string> environment = {"PATH=/usr/bin:/bin", "REPLACED=old"};
  for (int i = 0; i < 2000; ++i) environment.push_back("FILLER_" + std::to_string(i) + "=" + std::to_string(i));
  ExecHook hook = [](const ExecRequest& request) {
    ExecVerdict verdict;
    if (request.argv.size() > 1 && request.argv[1] == "environment")
      verdict.set_environment = {"ADDED=new value", "REPLACED=new"};
    return verdict;
  };
  const std::string count = std::to_string(environment.size() + 1);
  auto run = RunSupervised({kProgram, "environment", count, "ADDED=new value", "REPLACED=new", "FILLER_1999=1999"},
                           FollowPolicy(), hook, environment);
  EXPECT_EQ(run.result.exit_code, 0);
  ASSERT_EQ(run.log.tasks.size(), 1u);
  ASSERT_EQ(run.log.tasks[0].execs.size(), 1u);
  const ExecRecord& exec = run.log.tasks[0].execs[0];
  EXPECT_EQ(exec.injected, (std::vector<std::string>{"ADDED", "REPLACED"}));
  EXPECT_TRUE(exec.injection_error.empty()) << exec.injection_error;
  EXPECT_EQ(exec.path, kProgram);
  EXPECT_EQ(exec.argv.size(), 6u);

  // Without the hook the program sees its environment unchanged.
  auto unchanged = RunSupervised({kProgram, "environment", std::to_string(environment.size()), "REPLACED=old"},
                                 FollowPolicy(), nullptr, environment);
  EXPECT_EQ(unchanged.result.exit_code, 0);
}

// Where the room below a new stack cannot hold the copy (an environment of tens of thousands
// of variables), the program runs as it would have, and the log says why nothing was set.
TEST_P(ExecHookTest, AnEnvironmentTooLargeToRewriteIsLeftAsItIs) {
  std::vector<std::string> environment = {"PATH=/usr/bin:/bin"};
  for (int i = 0; i < 20000; ++i) environment.push_back("F" + std::to_string(i) + "=");
  ExecHook hook = [](const ExecRequest&) {
    ExecVerdict verdict;
    verdict.set_environment = {"ADDED=1"};
    return verdict;
  };
  auto run = RunSupervised({kProgram, "environment", std::to_string(environment.size())}, FollowPolicy(), hook,
                           environment);
  EXPECT_EQ(run.result.exit_code, 0);
  ASSERT_EQ(run.log.tasks.size(), 1u);
  ASSERT_EQ(run.log.tasks[0].execs.size(), 1u);
  EXPECT_TRUE(run.log.tasks[0].execs[0].injected.empty());
  EXPECT_NE(run.log.tasks[0].execs[0].injection_error.find("stack"), std::string::npos)
      << run.log.tasks[0].execs[0].injection_error;
}

TEST(Supervisor, AMissingProgramIsAnErrorNamingIt) {
  TestDir dir;
  auto result = Supervise({{"/nonexistent/program"}, {}}, {}, nullptr, dir.path() + "/log");
  ASSERT_FALSE(result.ok());
  EXPECT_NE(result.error().message.find("/nonexistent/program"), std::string::npos) << result.error().message;
}

TEST(Supervisor, AnUnwritableLogIsAnError) {
  auto result = Supervise({{kProgram, "exit", "0"}, {}}, {}, nullptr, "/nonexistent/dir/log");
  ASSERT_FALSE(result.ok());
  EXPECT_NE(result.error().message.find("/nonexistent/dir/log"), std::string::npos);
}

TEST(Supervisor, PermittedHere) {
  // The machines pycov's tests run on allow ptrace and seccomp; a refusal would show as the
  // reason here rather than as confusing failures elsewhere.
  auto permitted = CheckSupervisionPermitted();
  EXPECT_TRUE(permitted.ok()) << (permitted.ok() ? "" : permitted.error().message);
}

TEST(Supervisor, TheFilterGoesOnWithoutSpeculationMitigations) {
  // Some kernels force speculation mitigations on every process under a filter unless it is
  // installed with SECCOMP_FILTER_FLAG_SPEC_ALLOW, and the measured program would run slower
  // than unmeasured. This kernel applies none either way, so the test reads the flags of the
  // seccomp call itself, from a tracer's syscall-entry stop.
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    static sock_filter allow_all[] = {BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW)};
    if (ptrace(PTRACE_TRACEME, 0, nullptr, nullptr) != 0 || raise(SIGSTOP) != 0) _exit(2);
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) _exit(3);
    _exit(InstallSyscallFilter(sock_fprog{1, allow_all}) >= 0 ? 0 : 4);
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFSTOPPED(status));
  ASSERT_EQ(ptrace(PTRACE_SETOPTIONS, child, nullptr, reinterpret_cast<void*>(PTRACE_O_TRACESYSGOOD)), 0);
  std::vector<uint64_t> seccomp_flags;
  for (;;) {
    ASSERT_EQ(ptrace(PTRACE_SYSCALL, child, nullptr, nullptr), 0);
    ASSERT_EQ(waitpid(child, &status, 0), child);
    if (!WIFSTOPPED(status)) break;
    if (WSTOPSIG(status) != (SIGTRAP | 0x80)) continue;
    __ptrace_syscall_info info{};
    ASSERT_GT(ptrace(PTRACE_GET_SYSCALL_INFO, child, sizeof info, &info), 0);
    if (info.op == PTRACE_SYSCALL_INFO_ENTRY && info.entry.nr == SYS_seccomp &&
        info.entry.args[0] == SECCOMP_SET_MODE_FILTER)
      seccomp_flags.push_back(info.entry.args[1]);
  }
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << "2: not traced, 3: no_new_privs refused, 4: no filter";
  // The first try carries the flag; a second, without it, only where the kernel refused it.
  ASSERT_FALSE(seccomp_flags.empty());
  EXPECT_EQ(seccomp_flags[0], uint64_t(SECCOMP_FILTER_FLAG_SPEC_ALLOW));
  EXPECT_EQ(seccomp_flags.size(), 1u);
}

}  // namespace
}  // namespace pycov::sandbox
