// A program that does one process-lifecycle thing, chosen by its first argument, for the
// supervisor's tests. Its exit status says whether what it saw was what it expected.
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/auxv.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

namespace {

void SleepMs(long ms) {
  timespec ts{ms / 1000, (ms % 1000) * 1000000};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
}

void AppendPid(const char* path) {
  FILE* file = std::fopen(path, "a");
  std::fprintf(file, "%d\n", int(getpid()));
  std::fclose(file);
}

int WaitExitCode(pid_t pid) {
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

volatile sig_atomic_t g_usr1_seen = 0;
void OnUsr1(int) { g_usr1_seen = g_usr1_seen + 1; }

void* SleepBriefly(void*) {
  SleepMs(20);
  return nullptr;
}

void* ExecFromThread(void*) {
  execl("/bin/true", "true", "from-thread", static_cast<char*>(nullptr));
  _exit(99);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) return 100;
  const std::string what = argv[1];
  const char* arg = argc > 2 ? argv[2] : "";

  if (what == "exit") return std::atoi(arg);
  if (what == "signal") {
    const rlimit no_core{0, 0};
    setrlimit(RLIMIT_CORE, &no_core);
    signal(std::atoi(arg), SIG_DFL);
    raise(std::atoi(arg));
    return 101;
  }
  if (what == "limits") {
    // argv[2]: the RLIMIT_NPROC the program expects to run under.
    rlimit limit{};
    getrlimit(RLIMIT_NPROC, &limit);
    return limit.rlim_cur == rlim_t(std::atol(arg)) ? 0 : 1;
  }
  if (what == "fork-exit") {
    pid_t pid = fork();
    if (pid == 0) _exit(std::atoi(arg));
    return WaitExitCode(pid) == std::atoi(arg) ? 0 : 1;
  }
  if (what == "vfork-exec") {
    pid_t pid = vfork();
    if (pid == 0) {
      execl("/bin/true", "true", "after-vfork", static_cast<char*>(nullptr));
      _exit(127);
    }
    return WaitExitCode(pid);
  }
  if (what == "threads") {
    const int count = std::atoi(arg);
    pthread_t threads[64];
    for (int i = 0; i < count; ++i) pthread_create(&threads[i], nullptr, SleepBriefly, nullptr);
    for (int i = 0; i < count; ++i) pthread_join(threads[i], nullptr);
    return 0;
  }
  if (what == "clone-process") {
    // A raw clone with SIGCHLD: a process, created without libc's fork.
    long pid = syscall(SYS_clone, SIGCHLD, 0, 0, 0, 0);
    if (pid == 0) _exit(5);
    return WaitExitCode(pid_t(pid)) == 5 ? 0 : 1;
  }
  if (what == "exec-from-thread") {
    pthread_t thread;
    pthread_create(&thread, nullptr, ExecFromThread, nullptr);
    SleepMs(10000);  // the exec ends this thread
    return 98;
  }
  if (what == "environment") {
    // argv[2]: how many variables the environment must have; then NAME=value each of which it
    // must hold exactly once. The auxiliary vector must be intact too.
    size_t count = 0;
    for (char** variable = environ; *variable != nullptr; ++variable) ++count;
    if (count != size_t(std::atol(arg))) return 2;
    for (int i = 3; i < argc; ++i) {
      int seen = 0;
      const char* equals = std::strchr(argv[i], '=');
      size_t name_length = equals != nullptr ? size_t(equals - argv[i]) : std::strlen(argv[i]);
      for (char** variable = environ; *variable != nullptr; ++variable)
        if (std::strncmp(*variable, argv[i], name_length) == 0 && (*variable)[name_length] == '=') {
          ++seen;
          if (std::strcmp(*variable, argv[i]) != 0) return 3;
        }
      if (seen != 1) return 4;
    }
    if (getauxval(AT_PAGESZ) != static_cast<unsigned long>(sysconf(_SC_PAGESIZE))) return 5;
    if (getauxval(AT_RANDOM) == 0 || getauxval(AT_PHDR) == 0) return 6;
    const char* execfn = reinterpret_cast<const char*>(getauxval(AT_EXECFN));
    if (execfn == nullptr || std::strcmp(execfn, argv[0]) != 0) return 7;
    return 0;
  }
  if (what == "exec-with-pass") {
    // argv[2]: a number put in the fourth argument register of a raw execve of /bin/true.
    char* true_argv[] = {const_cast<char*>("true"), const_cast<char*>("with-pass"), nullptr};
    syscall(SYS_execve, "/bin/true", true_argv, environ, std::strtoull(arg, nullptr, 0));
    return 1;
  }
  if (what == "failed-exec") {
    execl("/nonexistent/program", "program", static_cast<char*>(nullptr));
    return errno == ENOENT ? 0 : 1;
  }
  if (what == "sigusr1") {
    signal(SIGUSR1, OnUsr1);
    kill(getpid(), SIGUSR1);
    pid_t pid = fork();
    if (pid == 0) {
      kill(getppid(), SIGUSR1);
      _exit(0);
    }
    WaitExitCode(pid);
    for (int i = 0; i < 200 && g_usr1_seen < 2; ++i) SleepMs(5);
    return g_usr1_seen == 2 ? 42 : 1;
  }
  if (what == "job-control") {
    pid_t pid = fork();
    if (pid == 0) {
      raise(SIGSTOP);
      _exit(7);
    }
    int status = 0;
    if (waitpid(pid, &status, WUNTRACED) != pid || !WIFSTOPPED(status) || WSTOPSIG(status) != SIGSTOP) return 1;
    // Still stopped a moment later: nobody resumed it behind the parent's back.
    SleepMs(50);
    if (waitpid(pid, &status, WNOHANG | WCONTINUED) != 0) return 2;
    kill(pid, SIGCONT);
    return WaitExitCode(pid) == 7 ? 0 : 3;
  }
  if (what == "sleeping-tree") {
    // argv[2]: a file to which every process of the tree appends its pid.
    AppendPid(arg);
    for (int i = 0; i < 3; ++i) {
      if (fork() == 0) {
        if (fork() == 0) {
          AppendPid(arg);
          SleepMs(60000);
          _exit(0);
        }
        AppendPid(arg);
        SleepMs(60000);
        _exit(0);
      }
    }
    SleepMs(60000);
    return 0;
  }
  if (what == "untraced-clone") {
    long pid = syscall(SYS_clone, SIGCHLD | CLONE_UNTRACED, 0, 0, 0, 0);
    if (pid == 0) _exit(0);
    if (pid < 0) return errno == EPERM ? 77 : 1;
    return WaitExitCode(pid_t(pid));
  }
  if (what == "int80") {
    // getpid through the i386 ABI (number 20 there).
    long result;
    asm volatile("int $0x80" : "=a"(result) : "a"(20L) : "memory");
    if (result == getpid()) return 0;
    return result == -ENOSYS ? 38 : 1;
  }
  if (what == "many-syscalls") {
    const int count = std::atoi(arg);
    int fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
    for (int i = 0; i < count; ++i) {
      syscall(SYS_getppid);
      timespec ts;
      clock_gettime(CLOCK_MONOTONIC, &ts);
      if (i % 10 == 0 && write(fd, "x", 1) != 1) return 1;
    }
    close(fd);
    return 0;
  }
  if (what == "daemon") {
    // Double fork and setsid: the grandchild outlives the program by argv[2] milliseconds
    // and writes its pid to argv[3].
    pid_t pid = fork();
    if (pid == 0) {
      setsid();
      if (fork() == 0) {
        AppendPid(argv[3]);
        SleepMs(std::atol(arg));
        _exit(0);
      }
      _exit(0);
    }
    WaitExitCode(pid);
    return 0;
  }
  if (what == "mount") {
    // argv[2]: an empty directory to mount a tmpfs on (and unmount again).
    if (mount("none", arg, "tmpfs", 0, nullptr) == 0) {
      umount(arg);
      return 0;
    }
    return errno == EPERM ? 77 : 1;
  }
  if (what == "connect") {
    // argv[2]: an IPv4 address; argv[3]: a port. Exit 0 when the connection was made,
    // else the errno.
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(uint16_t(std::atoi(argv[3])));
    inet_pton(AF_INET, arg, &address.sin_addr);
    return connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0 ? 0 : errno;
  }
  if (what == "listen-and-connect") {
    // A loopback server and a client in one process: loopback must work in strict mode.
    int server = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof(address);
    if (bind(server, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) return 2;
    if (listen(server, 1) != 0) return 3;
    getsockname(server, reinterpret_cast<sockaddr*>(&address), &length);
    int client = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    return connect(client, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0 ? 0 : errno;
  }
  return 100;
}
