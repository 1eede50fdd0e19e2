// The seccomp-bpf program that decides which system calls stop for the supervisor.
// Internal to the sandbox.
#pragma once

#include <linux/filter.h>

#include <cstdint>
#include <vector>

#include "result.h"
#include "supervisor.h"

namespace pycov::sandbox {

/// Why a seccomp stop happened: the SECCOMP_RET_DATA of the rule that stopped the call,
/// read back with PTRACE_GETEVENTMSG.
enum class StopReason : uint16_t {
  kUntracedClone = 2,  // clone with CLONE_UNTRACED: the child would escape the supervisor
  kNamespaceClone = 3, // strict: clone creating namespaces
  kDeniedCall = 4,     // strict: a denied system call
  kForeignAbi = 5,     // a system call through another ABI (int 0x80, x32)
  kNetwork = 6,        // strict without a network namespace: check the address
};

struct FilterOptions {
  Mode mode = Mode::kObserve;
  bool check_network_addresses = false;  // strict mode where no network namespace is possible
  // Follow::kExecs: execve and execveat wait for the supervisor's answer (user notification);
  // nothing else is filtered, nothing stops for ptrace.
  bool notify_execs = false;
  // With notify_execs: an execve whose fourth argument is this value does not wait (Policy).
  uint64_t exec_pass = 0;
};

/// Builds the filter for the native architecture. Anything not listed runs without a stop.
Result<std::vector<sock_filter>> BuildSyscallFilter(const FilterOptions& options);

/// Puts `filter` on the calling thread (and what it will run), without the speculation
/// mitigations a kernel may tie to seccomp filters. Returns the flags the kernel took, or -1
/// with errno set. Async-signal-safe: it runs between fork and exec.
long InstallSyscallFilter(const sock_fprog& filter);

/// Puts a filter built with `notify_execs` on the calling thread, as InstallSyscallFilter
/// does, and returns the listener on which its notifications arrive (close-on-exec), or -1
/// with errno set. Async-signal-safe.
int InstallExecNotifyingFilter(const sock_fprog& filter);

}  // namespace pycov::sandbox
