/* The least that following a process tree with ptrace costs, for comparison with pycov's
 * supervisor: the same ptrace options (fork, vfork, clone and exec events, seccomp events) and
 * a seccomp filter that lets every call through, every stop resumed at once, nothing read from
 * the tracees and nothing written down. What pycov's supervisor costs beyond this is the work it
 * does at each stop; what this costs is the price of following with ptrace on this machine.
 *
 * usage: ptrace_floor PROGRAM [ARG...]
 * Exits as the program does (its status, or 128 + the signal that ended it), and prints on
 * stderr how many processes it followed (the program and those started by fork or vfork) and
 * how many stops. */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

/* The options of kPtraceOptions in sandbox/supervisor.cc: keep the two alike. */
static const long kOptions = PTRACE_O_EXITKILL | PTRACE_O_TRACESECCOMP | PTRACE_O_TRACEFORK |
                             PTRACE_O_TRACEVFORK | PTRACE_O_TRACECLONE | PTRACE_O_TRACEEXEC;

static int IsStopSignal(int signal) {
  return signal == SIGSTOP || signal == SIGTSTP || signal == SIGTTIN || signal == SIGTTOU;
}

int main(int argc, char** argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: %s PROGRAM [ARG...]\n", argv[0]);
    return 2;
  }
  int go[2];
  if (pipe(go) != 0) {
    perror("ptrace_floor: pipe");
    return 2;
  }
  prctl(PR_SET_CHILD_SUBREAPER, 1);  /* orphans are reaped here, as pycov's supervisor does */
  pid_t program = fork();
  if (program < 0) {
    perror("ptrace_floor: fork");
    return 2;
  }
  if (program == 0) {
    /* Wait to be seized, so that the filter and the exec are followed. */
    char byte;
    close(go[1]);
    if (read(go[0], &byte, 1) != 1) _exit(127);
    close(go[0]);
    static struct sock_filter allow_all[] = {BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW)};
    struct sock_fprog filter = {1, allow_all};
    /* Without the speculation mitigations some kernels tie to filters, as pycov installs it. */
    if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_SPEC_ALLOW, &filter) != 0 &&
        (errno != EINVAL || syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &filter) != 0)) {
      perror("ptrace_floor: seccomp");
      _exit(127);
    }
    execvp(argv[1], argv + 1);
    fprintf(stderr, "ptrace_floor: %s: %s\n", argv[1], strerror(errno));
    _exit(127);
  }
  close(go[0]);
  if (ptrace(PTRACE_SEIZE, program, NULL, (void*)kOptions) != 0) {
    perror("ptrace_floor: PTRACE_SEIZE");
    return 2;
  }
  if (write(go[1], "g", 1) != 1) return 2;
  close(go[1]);

  long processes = 1, stops = 0;
  int exit_status = 0;
  for (;;) {
    int status;
    pid_t tid = waitpid(-1, &status, __WALL);
    if (tid < 0) {
      if (errno == EINTR) continue;
      break; /* ECHILD: every task has been reaped */
    }
    if (WIFEXITED(status) || WIFSIGNALED(status)) {
      if (tid == program) exit_status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      continue;
    }
    ++stops;
    const int signal = WSTOPSIG(status), event = status >> 16;
    if (event == PTRACE_EVENT_FORK || event == PTRACE_EVENT_VFORK) ++processes;
    if (event == 0) {
      ptrace(PTRACE_CONT, tid, NULL, (void*)(long)signal); /* the program's signal, passed on */
    } else if (event == PTRACE_EVENT_STOP && IsStopSignal(signal)) {
      /* A group-stop stays stopped, as job control wants. (A new child's first stop reports
       * SIGTRAP, and is resumed below.) */
      ptrace(PTRACE_LISTEN, tid, NULL, NULL);
    } else {
      ptrace(PTRACE_CONT, tid, NULL, NULL);
    }
  }
  fprintf(stderr, "ptrace_floor: %ld processes, %ld stops\n", processes, stops);
  return exit_status;
}
