#include "observation_log.h"

#include <fcntl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

#include "observation_log_writer.h"

namespace pycov::sandbox {

using nlohmann::json;

int64_t NowUnixNs() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return int64_t(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

namespace {

const char* KindName(TaskKind kind) { return kind == TaskKind::kThread ? "thread" : "process"; }

}  // namespace

// ---------------------------------------------------------------------------------------------
// Writer

ObservationLogWriter::~ObservationLogWriter() {
  Flush();
  if (fd_ >= 0) close(fd_);
}

Status ObservationLogWriter::Open(const std::string& path) {
  fd_ = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0644);
  if (fd_ < 0) return Error{"cannot write the observation log " + path + ": " + std::strerror(errno)};
  return Ok();
}

void ObservationLogWriter::WriteLine(const std::string& line) {
  if (fd_ < 0) return;
  constexpr size_t kBlock = 64 * 1024;
  pending_ += line;
  pending_ += '\n';
  if (pending_.size() >= kBlock) Flush();
}

void ObservationLogWriter::Flush() {
  const char* data = pending_.data();
  size_t left = fd_ >= 0 ? pending_.size() : 0;
  while (left > 0) {
    ssize_t n = write(fd_, data, left);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    data += n;
    left -= size_t(n);
  }
  pending_.clear();
}

void ObservationLogWriter::Start(const std::string& mode, pid_t supervisor_pid) {
  WriteLine(json{{"event", "start"}, {"schema", 1}, {"t", NowUnixNs()}, {"mode", mode},
                 {"supervisor", supervisor_pid}}
                .dump());
}

void ObservationLogWriter::Spawn(pid_t tid, pid_t tgid, pid_t parent, TaskKind kind, const std::string& created_by) {
  WriteLine(json{{"event", "spawn"}, {"t", NowUnixNs()}, {"tid", tid}, {"tgid", tgid}, {"parent", parent},
                 {"kind", KindName(kind)}, {"via", created_by}}
                .dump());
}

void ObservationLogWriter::Exec(pid_t pid, const ExecRecord& exec) {
  json line{{"event", "exec"},       {"t", exec.unix_ns},   {"pid", pid},
            {"tid", exec.from_tid},  {"path", exec.path},   {"exe", exec.executable},
            {"argv", exec.argv},     {"program_kind", exec.program_kind},
            {"instrumented", exec.instrumented}, {"injected", exec.injected}};
  if (!exec.injection_error.empty()) line["injection_error"] = exec.injection_error;
  // Paths and arguments are bytes, not always UTF-8: replace what is not, rather than throw.
  WriteLine(line.dump(-1, ' ', false, json::error_handler_t::replace));
}

void ObservationLogWriter::Exited(pid_t tid, int wait_status) {
  json line{{"event", "exit"}, {"t", NowUnixNs()}, {"tid", tid}};
  if (WIFSIGNALED(wait_status)) {
    line["signal"] = WTERMSIG(wait_status);
    line["core_dumped"] = bool(WCOREDUMP(wait_status));
  } else {
    line["exit_code"] = WEXITSTATUS(wait_status);
  }
  WriteLine(line.dump());
}

void ObservationLogWriter::Killed(pid_t tid, const std::string& reason) {
  WriteLine(json{{"event", "killed"}, {"t", NowUnixNs()}, {"tid", tid}, {"reason", reason}}.dump());
}

void ObservationLogWriter::Violation(const ViolationRecord& v) {
  WriteLine(json{{"event", "violation"}, {"t", v.unix_ns}, {"tid", v.tid}, {"what", v.what},
                 {"syscall", v.syscall}, {"action", v.action}, {"detail", v.detail}}
                .dump(-1, ' ', false, json::error_handler_t::replace));
}

void ObservationLogWriter::Note(const std::string& text) {
  WriteLine(json{{"event", "note"}, {"t", NowUnixNs()}, {"text", text}}.dump(-1, ' ', false,
                                                                              json::error_handler_t::replace));
}

void ObservationLogWriter::Finish(bool timed_out, long seccomp_stops, long event_stops, long signal_stops) {
  WriteLine(json{{"event", "finish"},
                 {"t", NowUnixNs()},
                 {"timed_out", timed_out},
                 {"stops", {{"seccomp", seccomp_stops}, {"event", event_stops}, {"signal", signal_stops}}}}
                .dump());
  Flush();
}

// ---------------------------------------------------------------------------------------------
// Reader

const TaskRecord* ObservationLog::Find(pid_t tid) const {
  for (auto it = tasks.rbegin(); it != tasks.rend(); ++it)
    if (it->tid == tid) return &*it;
  return nullptr;
}

namespace {

// Folds events into task records. Events of one task can arrive before its spawn event (the
// kernel may report a new child before its parent's fork event), so a record is created on
// first mention and completed when the spawn event comes.
class LogFolder {
 public:
  explicit LogFolder(ObservationLog& log) : log_(log) {}

  TaskRecord& Task(pid_t tid) {
    auto found = live_.find(tid);
    if (found != live_.end()) return log_.tasks[found->second];
    TaskRecord record;
    record.tid = record.tgid = tid;
    log_.tasks.push_back(record);
    live_[tid] = log_.tasks.size() - 1;
    return log_.tasks.back();
  }

  void Fold(const json& e) {
    const std::string event = e.at("event").get<std::string>();
    if (event == "start") {
      log_.mode = e.at("mode").get<std::string>();
      log_.start_unix_ns = e.at("t").get<int64_t>();
      log_.supervisor_pid = e.at("supervisor").get<pid_t>();
    } else if (event == "spawn") {
      pid_t tid = e.at("tid").get<pid_t>();
      // A tid seen again after its task ended is a new task (tids are reused).
      auto found = live_.find(tid);
      if (found != live_.end() && log_.tasks[found->second].ending != TaskEnding::kRunning) live_.erase(found);
      TaskRecord& task = Task(tid);
      task.tgid = e.at("tgid").get<pid_t>();
      task.parent = e.at("parent").get<pid_t>();
      task.kind = e.at("kind").get<std::string>() == "thread" ? TaskKind::kThread : TaskKind::kProcess;
      task.created_by = e.at("via").get<std::string>();
      int64_t t = e.at("t").get<int64_t>();
      if (task.start_unix_ns == 0 || t < task.start_unix_ns) task.start_unix_ns = t;
    } else if (event == "exec") {
      ExecRecord exec;
      exec.unix_ns = e.at("t").get<int64_t>();
      exec.from_tid = e.at("tid").get<pid_t>();
      exec.path = e.at("path").get<std::string>();
      exec.executable = e.at("exe").get<std::string>();
      exec.argv = e.at("argv").get<std::vector<std::string>>();
      exec.program_kind = e.at("program_kind").get<std::string>();
      exec.instrumented = e.at("instrumented").get<bool>();
      exec.injected = e.at("injected").get<std::vector<std::string>>();
      if (e.contains("injection_error")) exec.injection_error = e.at("injection_error").get<std::string>();
      pid_t pid = e.at("pid").get<pid_t>();
      if (exec.from_tid != pid) {
        // A non-leader thread exec'd: it took over the process's pid and ended as a thread.
        TaskRecord& thread = Task(exec.from_tid);
        thread.ending = TaskEnding::kExecReplaced;
        thread.end_unix_ns = exec.unix_ns;
        live_.erase(exec.from_tid);
      }
      TaskRecord& process = Task(pid);
      if (process.start_unix_ns == 0) process.start_unix_ns = exec.unix_ns;
      process.execs.push_back(std::move(exec));
    } else if (event == "exit") {
      TaskRecord& task = Task(e.at("tid").get<pid_t>());
      task.end_unix_ns = e.at("t").get<int64_t>();
      if (e.contains("signal")) {
        task.signal = e.at("signal").get<int>();
        task.core_dumped = e.value("core_dumped", false);
        task.ending = task.killed_reason.empty() ? TaskEnding::kSignaled : TaskEnding::kKilled;
      } else {
        task.exit_code = e.at("exit_code").get<int>();
        task.ending = TaskEnding::kExited;
      }
    } else if (event == "killed") {
      Task(e.at("tid").get<pid_t>()).killed_reason = e.at("reason").get<std::string>();
    } else if (event == "violation") {
      ViolationRecord v;
      v.unix_ns = e.at("t").get<int64_t>();
      v.tid = e.at("tid").get<pid_t>();
      v.what = e.at("what").get<std::string>();
      v.syscall = e.at("syscall").get<std::string>();
      v.action = e.at("action").get<std::string>();
      v.detail = e.at("detail").get<std::string>();
      log_.violations.push_back(std::move(v));
    } else if (event == "note") {
      log_.notes.push_back(e.at("text").get<std::string>());
    } else if (event == "finish") {
      log_.finished = true;
      log_.timed_out = e.at("timed_out").get<bool>();
      if (e.contains("stops")) {
        log_.seccomp_stops = e["stops"].value("seccomp", 0L);
        log_.event_stops = e["stops"].value("event", 0L);
        log_.signal_stops = e["stops"].value("signal", 0L);
      }
    } else {
      throw std::runtime_error("unknown event '" + event + "'");
    }
  }

 private:
  ObservationLog& log_;
  std::map<pid_t, size_t> live_;  // tid -> index of its latest record
};

}  // namespace

Result<ObservationLog> ReadObservationLog(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Error{"cannot read the observation log " + path + ": " + std::strerror(errno)};
  std::string content((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  ObservationLog log;
  LogFolder folder(log);
  size_t line_number = 0;
  size_t begin = 0;
  while (begin < content.size()) {
    size_t end = content.find('\n', begin);
    ++line_number;
    // Without a newline the line was being written when the writer died: it is not an event.
    if (end == std::string::npos) break;
    std::string_view line(content.data() + begin, end - begin);
    begin = end + 1;
    if (line.empty()) continue;
    try {
      folder.Fold(json::parse(line));
    } catch (const std::exception& error) {
      return Error{path + ":" + std::to_string(line_number) + ": malformed observation: " + error.what()};
    }
  }
  if (log.mode.empty()) return Error{path + ": not an observation log (no start event)"};
  return log;
}

}  // namespace pycov::sandbox
