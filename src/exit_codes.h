// pycov's own exit statuses (SPEC §2). `pycov run` otherwise exits with the program's status.
#pragma once

namespace pycov {

inline constexpr int kExitFindings = 1;      // doctor: findings at or above --fail-on; report: a file not reported
inline constexpr int kExitPycovFailed = 3;   // pycov itself failed or could not observe the program
inline constexpr int kExitUsage = 4;         // usage or configuration error, bad input named in the message

}  // namespace pycov
