// The run directory of one `pycov run`: the run configuration, and the hit and events files
// its processes leave (hit_file_format.h says where). Processes that may write in it (pycov's
// own user, root) record there; a process that switched to another user records in a
// directory of that user's, inside it.
#pragma once

#include <sys/types.h>

#include <set>
#include <string>
#include <vector>

#include "result.h"

namespace pycov {

/// The directories the run's processes record into: `run_dir`, then each uid-N in it.
std::vector<std::string> RecordingDirectories(const std::string& run_dir);

/// The user and group a process acts as (its effective ids).
struct Credentials {
  uid_t user;
  gid_t group;
};

/// Where EffectiveCredentials reads them: from a pidfd where the kernel can tell (Linux 6.13),
/// else from /proc/PID/status; or from /proc/PID/status only.
enum class CredentialSource { kFastest, kProcStatus };

/// The effective user and group of process `pid`.
Result<Credentials> EffectiveCredentials(pid_t pid, CredentialSource source = CredentialSource::kFastest);

/// Opens the run directory to the other users whose processes start Python in it, one user
/// at a time, as the supervisor sees them exec.
class OtherUserDirectories {
 public:
  explicit OtherUserDirectories(std::string run_dir);

  /// For process `pid`, about to start Python: when it runs as another user than pycov's,
  /// makes that user's directory (MakeOtherUserDirectory), once per user. Fails when pycov may
  /// not give a directory away (it is not root).
  Status PrepareFor(pid_t pid);

 private:
  std::string run_dir_;
  std::set<uid_t> prepared_;
};

}  // namespace pycov
