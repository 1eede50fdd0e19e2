/* The least that following a process tree's execs by seccomp user notification costs, for
 * comparison with pycov's exec monitor: the same filter action on execve and execveat, every
 * notification answered "continue" at once, nothing read from the tasks, nothing written down.
 * What pycov costs beyond this is the work it does while an exec waits for its answer.
 *
 * usage: exec_notify_floor PROGRAM [ARG...]
 * Exits as the program does (its status, or 128 + the signal that ended it), and prints on
 * stderr how many execs it answered. */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char** argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: %s PROGRAM [ARG...]\n", argv[0]);
    return 2;
  }
  int ready[2];
  if (pipe(ready) != 0) {
    perror("exec_notify_floor: pipe");
    return 2;
  }
  prctl(PR_SET_CHILD_SUBREAPER, 1); /* orphans are reaped here, as pycov's supervisor does */
  pid_t program = fork();
  if (program < 0) {
    perror("exec_notify_floor: fork");
    return 2;
  }
  if (program == 0) {
    static struct sock_filter notify_execs[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_execve, 2, 0),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_execveat, 1, 0),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_USER_NOTIF),
    };
    struct sock_fprog filter = {sizeof(notify_execs) / sizeof(notify_execs[0]), notify_execs};
    const unsigned long flags = SECCOMP_FILTER_FLAG_NEW_LISTENER | SECCOMP_FILTER_FLAG_SPEC_ALLOW;
    prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); /* needed without CAP_SYS_ADMIN */
    int listener = (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, &filter);
    if (listener < 0) {
      perror("exec_notify_floor: seccomp");
      _exit(127);
    }
    /* The parent takes the listener from this process (pidfd_getfd) before the exec waits. */
    if (write(ready[1], &listener, sizeof(listener)) != sizeof(listener)) _exit(127);
    execvp(argv[1], argv + 1);
    fprintf(stderr, "exec_notify_floor: %s: %s\n", argv[1], strerror(errno));
    _exit(127);
  }
  int child_listener = -1;
  if (read(ready[0], &child_listener, sizeof(child_listener)) != sizeof(child_listener)) {
    fprintf(stderr, "exec_notify_floor: the program did not start\n");
    return 2;
  }
  const int pidfd = (int)syscall(SYS_pidfd_open, program, 0);
  const int listener = pidfd < 0 ? -1 : (int)syscall(SYS_pidfd_getfd, pidfd, child_listener, 0);
  if (listener < 0) {
    perror("exec_notify_floor: pidfd_getfd");
    return 2;
  }
  long execs = 0;
  int exit_status = 0;
  for (;;) {
    /* Answer while anything is left: orphans, re-parented here, may exec too. */
    int status;
    pid_t ended;
    while ((ended = waitpid(-1, &status, WNOHANG)) > 0)
      if (ended == program) exit_status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    if (ended < 0 && errno == ECHILD) break;
    struct pollfd watched = {listener, POLLIN, 0};
    if (poll(&watched, 1, 10) <= 0 || !(watched.revents & POLLIN)) continue;
    struct seccomp_notif request;
    memset(&request, 0, sizeof(request));
    if (ioctl(listener, SECCOMP_IOCTL_NOTIF_RECV, &request) != 0) continue;
    struct seccomp_notif_resp response;
    memset(&response, 0, sizeof(response));
    response.id = request.id;
    response.flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
    ioctl(listener, SECCOMP_IOCTL_NOTIF_SEND, &response);
    ++execs;
  }
  fprintf(stderr, "exec_notify_floor: %ld execs\n", execs);
  return exit_status;
}
