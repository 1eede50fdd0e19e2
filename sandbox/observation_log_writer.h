// Appends the events of a supervised run to its observation log, one JSON object per line.
// Internal to the sandbox: other components read logs through observation_log.h.
//
// Lines are kept in memory and written in blocks: a write while an exec has just been
// answered competes for the CPU with the program it lets run (without its two lines of log,
// formatted and written, a /bin/true start cost 40 us less). The monitors flush at each tick,
// so the file lags the run by about a tenth of a second, and by one block at most.
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
  /// Writes the last line, and everything still in memory.
  void Finish(bool timed_out, long seccomp_stops, long event_stops, long signal_stops);

  /// Writes the lines kept in memory, whole lines only: a reader (or a crash) never sees half
  /// of an event.
  void Flush();

 private:
  void WriteLine(const std::string& line);
  int fd_ = -1;
  std::string pending_;  // whole lines, not yet written
};

}  // namespace pycov::sandbox
