#include "unmeasured_processes.h"

#include <filesystem>

#include <gtest/gtest.h>

#include "python_bootstrap.h"
#include "test_dir.h"

namespace pycov {
namespace {

// A Python exec; one started with -I, -E or -S had its preload tried, and it failed.
sandbox::TaskRecord PythonProcess(int pid, std::vector<std::string> argv, int64_t exec_ns,
                                  std::string executable = "/usr/bin/python3.11") {
  sandbox::TaskRecord task;
  task.tid = task.tgid = pid;
  sandbox::ExecRecord exec;
  exec.unix_ns = exec_ns;
  exec.argv = std::move(argv);
  exec.executable = std::move(executable);
  exec.program_kind = "python";
  if (!BootstrapSkippingOptions(exec.argv).empty()) exec.injection_error = "not enough mapped stack";
  task.execs.push_back(exec);
  return task;
}

TEST(UnmeasuredProcesses, OnlyPythonProcessesWithoutHitsAndAKnownReason) {
  InterpreterClassifier interpreters;
  sandbox::ObservationLog log;
  log.tasks.push_back(PythonProcess(10, {"python3", "app.py"}, 100));          // measured
  log.tasks.push_back(PythonProcess(11, {"python3", "-I", "child.py"}, 200));  // -I, not preloaded
  log.tasks.push_back(PythonProcess(12, {"python3", "child.py"}, 300));        // killed early
  log.tasks.push_back(PythonProcess(13, {"python2", "-I", "old.py"}, 400, "/usr/bin/python2.7"));
  std::vector<ProcessRecord> measured(1);
  measured[0].pid = 10;
  measured[0].start_unix_ns = 150;
  auto unmeasured = FindUnmeasuredPythonProcesses(log, measured, interpreters);
  ASSERT_EQ(unmeasured.size(), 2u);
  EXPECT_EQ(unmeasured[0].pid, 11);
  EXPECT_NE(unmeasured[0].reason.find("-I"), std::string::npos);
  EXPECT_EQ(unmeasured[1].pid, 13);
  EXPECT_NE(unmeasured[1].reason.find("python2.7"), std::string::npos);
}

TEST(UnmeasuredProcesses, SkippingSiteIsTheReasonWhateverElseIsGiven) {
  InterpreterClassifier interpreters;
  sandbox::ObservationLog log;
  log.tasks.push_back(PythonProcess(30, {"python3", "-I", "-S", "child.py"}, 100));
  auto unmeasured = FindUnmeasuredPythonProcesses(log, {}, interpreters);
  ASSERT_EQ(unmeasured.size(), 1u);
  EXPECT_EQ(unmeasured[0].reason,
            "-S skips the site module, which loads pycov's bootstrap, and pycov's start-up could not be preloaded");
}

TEST(UnmeasuredProcesses, APythonThatOnlyPrintsItsVersionRanNothing) {
  InterpreterClassifier interpreters;
  sandbox::ObservationLog log;
  log.tasks.push_back(PythonProcess(40, {"python3", "-X", "faulthandler", "-I", "--version"}, 100));
  log.tasks.push_back(PythonProcess(41, {"python3", "-S", "-VV"}, 200));
  EXPECT_TRUE(FindUnmeasuredPythonProcesses(log, {}, interpreters).empty());
}

TEST(UnmeasuredProcesses, APreloadedStartUpSpeaksForItself) {
  InterpreterClassifier interpreters;
  sandbox::ObservationLog log;
  log.tasks.push_back(PythonProcess(50, {"python3", "-I", "-c"}, 100));  // a usage error: no code ran
  log.tasks.back().execs.back().injected = {"LD_PRELOAD"};
  EXPECT_TRUE(FindUnmeasuredPythonProcesses(log, {}, interpreters).empty());
}

// A pycov run inside this one measures its own processes: this run's supervisor does not try
// to preload one started with -I (DecideExec), and it has no hits here.
TEST(UnmeasuredProcesses, AnotherPycovRunsProcessIsNotThisRunsToReport) {
  InterpreterClassifier interpreters;
  sandbox::ObservationLog log;
  log.tasks.push_back(PythonProcess(60, {"python3", "-I", "child.py"}, 100));
  log.tasks.back().execs.back().injection_error.clear();
  EXPECT_TRUE(FindUnmeasuredPythonProcesses(log, {}, interpreters).empty());
}

// A copy of the interpreter (a virtual environment made with --copies) named python3 is
// CPython 3.11: a process of it without hits ran nothing, or its start-up said why.
TEST(UnmeasuredProcesses, ACopyOfTheInterpreterIsNotAnotherPython) {
  testing::TestDir dir;
  const std::string copy = dir.path() + "/python3";
  std::filesystem::copy_file(PYCOV_PYTHON_EXECUTABLE, copy);
  InterpreterClassifier interpreters;
  sandbox::ObservationLog log;
  log.tasks.push_back(PythonProcess(70, {"python3", "child.py"}, 100, copy));
  EXPECT_TRUE(FindUnmeasuredPythonProcesses(log, {}, interpreters).empty());
  std::filesystem::copy_file("/bin/true", dir.path() + "/python");
  log.tasks.push_back(PythonProcess(71, {"python", "child.py"}, 200, dir.path() + "/python"));
  auto unmeasured = FindUnmeasuredPythonProcesses(log, {}, interpreters);
  ASSERT_EQ(unmeasured.size(), 1u);
  EXPECT_EQ(unmeasured[0].pid, 71);
}

TEST(UnmeasuredProcesses, AHitFileFromBeforeTheExecDoesNotCount) {
  InterpreterClassifier interpreters;
  sandbox::ObservationLog log;
  log.tasks.push_back(PythonProcess(20, {"python3", "-S", "next.py"}, 500));
  std::vector<ProcessRecord> measured(1);
  measured[0].pid = 20;
  measured[0].start_unix_ns = 100;  // the program that exec'd
  EXPECT_EQ(FindUnmeasuredPythonProcesses(log, measured, interpreters).size(), 1u);
}

}  // namespace
}  // namespace pycov
