/* A preloaded library that wraps execve and execv, as fakeroot or a build sandbox does: it
 * writes each path it is asked to run to the file named by EXEC_INTERPOSER_LOG, then runs it.
 * pycov's tracer must leave such a program's execs to it. Only system calls between vfork
 * and exec. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

extern char** environ;

static void Note(const char* path) {
  const char* log = getenv("EXEC_INTERPOSER_LOG");
  if (log == NULL) return;
  int fd = open(log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return;
  (void)!write(fd, path, strlen(path));
  (void)!write(fd, "\n", 1);
  close(fd);
}

int execve(const char* path, char* const argv[], char* const envp[]) {
  Note(path);
  int (*next)(const char*, char* const[], char* const[]) = dlsym(RTLD_NEXT, "execve");
  return next(path, argv, envp);
}

int execv(const char* path, char* const argv[]) { return execve(path, argv, environ); }
