// Appends the events of a supervised run to its observation log, one JSON object per line.
// Internal to the sandbox: other components read logs through observation_log.h.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>

#include "observation_log.h"
#include "result.h"

namespace pycov::sandbox {

/// Wall-clock time in nanoseconds since the epoch: the same clock as the hit files' headers.
int64_t NowUnixNs();

class ObservationLogWriter {
 public:
  ObservationLogWriter() = default;
  ~ObservationLogWriter();
  ObservationLogWriter(const ObservationLogWriter&) = delete;
  ObservationLogWriter& operator=(const ObservationLogWriter&) = delete;

  /// Creates (truncates) the log file.
  Status Open(const std::string& path);

  void Start(const std::string& mode, pid_t supervisor_pid);
  void Spawn(pid_t tid, pid_t tgid, pid_t parent, TaskKind kind, const std::string& created_by);
  void Exec(pid_t pid, const ExecRecord& exec);
  void Exited(pid_t tid, int wait_status);
  void Killed(pid_t tid, const std::string& reason);
  void Violation(const ViolationRecord& violation);
  void Note(const std::string& text);
  void Finish(bool timed_out, long seccomp_stops, long event_stops, long signal_stops);

 private:
  void WriteLine(const std::string& line);
  int fd_ = -1;
};

}  // namespace pycov::sandbox
