#include "sandbox/observation_log.h"

#include <sys/wait.h>

#include <fstream>

#include <gtest/gtest.h>

#include "sandbox/observation_log_writer.h"
#include "test_dir.h"

namespace pycov::sandbox {
namespace {

using pycov::testing::TestDir;

TEST(ObservationLog, WhatTheWriterWritesReadsBack) {
  TestDir dir;
  const std::string path = dir.path() + "/log";
  {
    ObservationLogWriter writer;
    ASSERT_TRUE(writer.Open(path).ok());
    writer.Start("observe", 10);
    writer.Spawn(11, 11, 0, TaskKind::kProcess, "start");
    ExecRecord exec;
    exec.unix_ns = 5;
    exec.from_tid = 11;
    exec.path = "/usr/bin/python3";
    exec.executable = "/usr/bin/python3.11";
    exec.argv = {"python3", "app.py", "caf\xc3\xa9"};
    exec.program_kind = "python";
    exec.instrumented = false;
    exec.injected = {"PYTHONPATH"};
    writer.Exec(11, exec);
    writer.Spawn(12, 11, 11, TaskKind::kThread, "clone");
    writer.Exited(12, 0);
    writer.Spawn(13, 13, 11, TaskKind::kProcess, "fork");
    writer.Killed(13, "orphan-grace");
    writer.Exited(13, SIGKILL);  // a wait status: killed by SIGKILL
    writer.Violation({7, 11, "foreign-abi", "getpid", "allowed", "int 0x80"});
    writer.Exited(11, 3 << 8);
    writer.Finish(false, 4, 5, 6);
  }
  auto log = ReadObservationLog(path);
  ASSERT_TRUE(log.ok()) << log.error().message;
  EXPECT_EQ(log->mode, "observe");
  EXPECT_EQ(log->supervisor_pid, 10);
  EXPECT_TRUE(log->finished);
  EXPECT_EQ(log->seccomp_stops, 4);
  EXPECT_EQ(log->event_stops, 5);
  EXPECT_EQ(log->signal_stops, 6);
  ASSERT_EQ(log->tasks.size(), 3u);
  const TaskRecord* program = log->Find(11);
  ASSERT_NE(program, nullptr);
  ASSERT_EQ(program->execs.size(), 1u);
  EXPECT_EQ(program->execs[0].argv[2], "caf\xc3\xa9");
  EXPECT_EQ(program->execs[0].executable, "/usr/bin/python3.11");
  EXPECT_EQ(program->execs[0].injected, std::vector<std::string>{"PYTHONPATH"});
  EXPECT_EQ(program->ending, TaskEnding::kExited);
  EXPECT_EQ(program->exit_code, 3);
  const TaskRecord* thread = log->Find(12);
  ASSERT_NE(thread, nullptr);
  EXPECT_EQ(thread->kind, TaskKind::kThread);
  EXPECT_EQ(thread->tgid, 11);
  const TaskRecord* killed = log->Find(13);
  ASSERT_NE(killed, nullptr);
  EXPECT_EQ(killed->ending, TaskEnding::kKilled);
  EXPECT_EQ(killed->signal, SIGKILL);
  EXPECT_EQ(killed->killed_reason, "orphan-grace");
  ASSERT_EQ(log->violations.size(), 1u);
  EXPECT_EQ(log->violations[0].syscall, "getpid");
}

TEST(ObservationLog, ALogCutShortReadsUpToItsLastFullLine) {
  TestDir dir;
  std::string path = dir.Write("log",
                               "{\"event\":\"start\",\"schema\":1,\"t\":1,\"mode\":\"strict\",\"supervisor\":1}\n"
                               "{\"event\":\"spawn\",\"t\":2,\"tid\":5,\"tgid\":5,\"parent\":0,\"kind\":\"process\","
                               "\"via\":\"start\"}\n"
                               "{\"event\":\"exit\",\"t\":3,\"ti");
  auto log = ReadObservationLog(path);
  ASSERT_TRUE(log.ok()) << log.error().message;
  EXPECT_FALSE(log->finished);
  ASSERT_EQ(log->tasks.size(), 1u);
  EXPECT_EQ(log->tasks[0].ending, TaskEnding::kRunning);
}

TEST(ObservationLog, AMalformedLineIsAnErrorNamingTheLine) {
  TestDir dir;
  std::string path = dir.Write("log",
                               "{\"event\":\"start\",\"schema\":1,\"t\":1,\"mode\":\"observe\",\"supervisor\":1}\n"
                               "{\"event\":\"spawn\",\"t\":2}\n");
  auto log = ReadObservationLog(path);
  ASSERT_FALSE(log.ok());
  EXPECT_NE(log.error().message.find(path + ":2:"), std::string::npos) << log.error().message;
}

TEST(ObservationLog, EventsBeforeASpawnAndReusedTidsMakeTheRightRecords) {
  TestDir dir;
  std::string path = dir.Write(
      "log",
      "{\"event\":\"start\",\"schema\":1,\"t\":1,\"mode\":\"observe\",\"supervisor\":1}\n"
      // The child's exec is logged before its parent's fork event.
      "{\"event\":\"exec\",\"t\":2,\"pid\":7,\"tid\":7,\"path\":\"/bin/true\",\"exe\":\"/usr/bin/true\","
      "\"argv\":[\"true\"],\"program_kind\":\"\",\"instrumented\":false,\"injected\":[]}\n"
      "{\"event\":\"spawn\",\"t\":3,\"tid\":7,\"tgid\":7,\"parent\":6,\"kind\":\"process\",\"via\":\"fork\"}\n"
      "{\"event\":\"exit\",\"t\":4,\"tid\":7,\"exit_code\":0}\n"
      // The tid comes back as a new task.
      "{\"event\":\"spawn\",\"t\":5,\"tid\":7,\"tgid\":6,\"parent\":6,\"kind\":\"thread\",\"via\":\"clone\"}\n");
  auto log = ReadObservationLog(path);
  ASSERT_TRUE(log.ok()) << log.error().message;
  ASSERT_EQ(log->tasks.size(), 2u);
  EXPECT_EQ(log->tasks[0].parent, 6);
  EXPECT_EQ(log->tasks[0].execs.size(), 1u);
  EXPECT_EQ(log->tasks[0].ending, TaskEnding::kExited);
  EXPECT_EQ(log->tasks[0].start_unix_ns, 2);
  EXPECT_EQ(log->Find(7)->kind, TaskKind::kThread);
}

TEST(ObservationLog, NotALog) {
  TestDir dir;
  EXPECT_FALSE(ReadObservationLog(dir.Write("empty", "")).ok());
  EXPECT_FALSE(ReadObservationLog(dir.path() + "/missing").ok());
}

}  // namespace
}  // namespace pycov::sandbox
