#include "syscall_filter.h"

#include <linux/seccomp.h>
#include <sched.h>
#include <seccomp.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>

namespace pycov::sandbox {
namespace {

// Clone flags that create namespaces: a program inside its own namespaces could hide what it
// runs from /proc-based inspection and escape the strict policy.
constexpr uint64_t kNamespaceFlags[] = {CLONE_NEWNS,  CLONE_NEWUSER, CLONE_NEWPID,   CLONE_NEWNET,
                                        CLONE_NEWIPC, CLONE_NEWUTS,  CLONE_NEWCGROUP};

// System calls strict mode denies: tracing and kernel-level powers that could take a process
// out of the supervisor's sight or change the machine for other programs.
constexpr const char* kDeniedInStrictMode[] = {
    "ptrace",      "process_vm_writev", "bpf",          "perf_event_open", "mount",
    "umount2",     "pivot_root",        "move_mount",   "open_tree",       "fsopen",
    "fsmount",     "init_module",       "finit_module", "delete_module",   "kexec_load",
    "kexec_file_load", "setns",         "reboot",       "swapon",          "swapoff"};

struct ContextDeleter {
  void operator()(void* ctx) const { seccomp_release(ctx); }
};

Status Check(int rc, const char* what) {
  if (rc < 0) return Error{std::string("cannot build the seccomp filter (") + what + "): " + std::strerror(-rc)};
  return Ok();
}

Result<std::vector<sock_filter>> ExportFilter(void* ctx) {
  // libseccomp 2.5 exports to a file descriptor only; a memory file keeps it off the disk.
  int fd = memfd_create("pycov-seccomp", MFD_CLOEXEC);
  if (fd < 0) return Error{std::string("memfd_create: ") + std::strerror(errno)};
  std::vector<sock_filter> program;
  int rc = seccomp_export_bpf(ctx, fd);
  off_t size = lseek(fd, 0, SEEK_END);
  if (rc == 0 && size > 0 && size % off_t(sizeof(sock_filter)) == 0) {
    program.resize(size_t(size) / sizeof(sock_filter));
    if (pread(fd, program.data(), size_t(size), 0) != size) program.clear();
  }
  close(fd);
  if (program.empty()) return Error{"cannot export the seccomp filter"};
  return program;
}

}  // namespace

Result<std::vector<sock_filter>> BuildSyscallFilter(const FilterOptions& options) {
  std::unique_ptr<void, ContextDeleter> owner(seccomp_init(SCMP_ACT_ALLOW));
  scmp_filter_ctx ctx = owner.get();
  if (ctx == nullptr) return Error{"cannot build the seccomp filter: out of memory"};
  const auto trace = [](StopReason reason) { return SCMP_ACT_TRACE(uint16_t(reason)); };

  if (options.notify_execs) {
    // Nothing stops for ptrace: a process under this filter is not traced, and a
    // SECCOMP_RET_TRACE without a tracer would fail the call. A call through another ABI
    // (int 0x80, x32) is not seen; the ptrace monitor reports those.
    if (auto s = Check(seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_ALLOW), "bad arch"); !s)
      return s.error();
    if (auto s = Check(seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0), "nnp"); !s) return s.error();
    // execve takes three arguments; the kernel ignores the fourth register, which the filter
    // still sees. An exec made with the pass there runs as if no filter were in place.
    int rc = options.exec_pass != 0
                 ? seccomp_rule_add(ctx, SCMP_ACT_NOTIFY, SCMP_SYS(execve), 1, SCMP_A3_64(SCMP_CMP_NE, options.exec_pass))
                 : seccomp_rule_add(ctx, SCMP_ACT_NOTIFY, SCMP_SYS(execve), 0);
    if (auto s = Check(rc, "execve"); !s) return s.error();
    if (auto s = Check(seccomp_rule_add(ctx, SCMP_ACT_NOTIFY, SCMP_SYS(execveat), 0), "execveat"); !s)
      return s.error();
    return ExportFilter(ctx);
  }

  // A 32-bit system call (int 0x80) carries its own numbers: fork, clone and execve have other
  // numbers there, so they must not pass unseen. Every call through another ABI stops.
  if (auto s = Check(seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, trace(StopReason::kForeignAbi)), "bad arch"); !s)
    return s.error();
  // no_new_privs is the caller's decision (it changes how setuid programs run).
  if (auto s = Check(seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0), "nnp"); !s) return s.error();

  // execve and execveat run without a seccomp stop: the exec event, which confirms that the
  // new program was loaded, is where the supervisor reads and rewrites its environment.
  // clone3 passes its flags in memory, where a filter cannot read them. Answering ENOSYS makes
  // libc fall back to clone, whose flags are a register the filter can test.
  if (auto s = Check(seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0), "clone3"); !s)
    return s.error();
  // fork, vfork and ordinary clones cost no seccomp stop: ptrace's fork/vfork/clone events
  // follow them. Only a clone that would not be followed (CLONE_UNTRACED) stops.
  if (auto s = Check(seccomp_rule_add(ctx, trace(StopReason::kUntracedClone), SCMP_SYS(clone), 1,
                                      SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_UNTRACED, CLONE_UNTRACED)),
                     "clone");
      !s)
    return s.error();

  if (options.mode == Mode::kStrict) {
    for (uint64_t flag : kNamespaceFlags) {
      if (auto s = Check(seccomp_rule_add(ctx, trace(StopReason::kNamespaceClone), SCMP_SYS(clone), 1,
                                          SCMP_A0(SCMP_CMP_MASKED_EQ, flag, flag)),
                         "clone namespaces");
          !s)
        return s.error();
      if (auto s = Check(seccomp_rule_add(ctx, trace(StopReason::kNamespaceClone), SCMP_SYS(unshare), 1,
                                          SCMP_A0(SCMP_CMP_MASKED_EQ, flag, flag)),
                         "unshare");
          !s)
        return s.error();
    }
    for (const char* name : kDeniedInStrictMode) {
      int number = seccomp_syscall_resolve_name(name);
      if (number == __NR_SCMP_ERROR) continue;  // not on this architecture
      if (auto s = Check(seccomp_rule_add(ctx, trace(StopReason::kDeniedCall), number, 0), name); !s)
        return s.error();
    }
    if (options.check_network_addresses) {
      // send() is sendto() without an address: only calls that name an address stop.
      if (auto s = Check(seccomp_rule_add(ctx, trace(StopReason::kNetwork), SCMP_SYS(sendto), 1,
                                          SCMP_A4(SCMP_CMP_NE, 0)),
                         "sendto");
          !s)
        return s.error();
      for (int number : {SCMP_SYS(connect), SCMP_SYS(sendmsg), SCMP_SYS(sendmmsg)}) {
        if (auto s = Check(seccomp_rule_add(ctx, trace(StopReason::kNetwork), number, 0), "network"); !s)
          return s.error();
      }
    }
  }

  return ExportFilter(ctx);
}

// The filter observes: it is no protection the program asked for. Without
// SECCOMP_FILTER_FLAG_SPEC_ALLOW, a kernel whose speculation mitigations follow seccomp
// (spec_store_bypass_disable=seccomp and spectre_v2_user=seccomp, the defaults from Linux 4.17
// and 4.20 until 5.16) forces them on every process under a filter: speculative store bypass
// disabled, and indirect branch prediction restricted, with a barrier at each context switch.
// The measured program would then run slower than it does unmeasured. Kernels before 4.17 do
// not know the flag (EINVAL): the filter goes on without it.
long InstallSyscallFilter(const sock_fprog& filter) {
  if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_SPEC_ALLOW, &filter) == 0)
    return SECCOMP_FILTER_FLAG_SPEC_ALLOW;
  if (errno != EINVAL) return -1;
  return syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &filter) == 0 ? 0 : -1;
}

int InstallExecNotifyingFilter(const sock_fprog& filter) {
  constexpr unsigned long kListener = SECCOMP_FILTER_FLAG_NEW_LISTENER;
  long fd = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, kListener | SECCOMP_FILTER_FLAG_SPEC_ALLOW, &filter);
  if (fd < 0 && errno == EINVAL) fd = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, kListener, &filter);
  return int(fd);
}

}  // namespace pycov::sandbox
