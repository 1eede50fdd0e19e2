#include "tracer/exec_pass.h"

#include <dlfcn.h>
#include <elf.h>
#include <fcntl.h>
#include <limits.h>
#include <link.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <charconv>
#include <cstring>
#include <string_view>

#include "python_interpreter.h"

extern char** environ;

namespace pycov::tracer {
namespace {

using ExecveFunction = int (*)(const char*, char* const[], char* const[]);
using ExecvFunction = int (*)(const char*, char* const[]);

// Set once, before any call can reach the wrappers; read-only after, and never freed: a
// wrapper may run until the process ends.
struct PassState {
  uint64_t pass = 0;
  std::string run_dir_variable;  // "PYCOV_RUN_DIR=..."
  std::string bootstrap_dir;
  ExecveFunction execve = nullptr;  // what the executable's calls went to
  ExecvFunction execv = nullptr;
};
const PassState* g_state = nullptr;

// What an exec is compared with, learned at the first exec rather than at start-up: most
// processes never exec, and looking up /proc/self/exe is most of what the pass would cost
// their start (about 15 us). The first exec to learn them publishes them; a vfork child
// shares this memory, so its parent's later execs find them.
struct Identities {
  dev_t interpreter_device = 0;  // this process's executable
  ino_t interpreter_inode = 0;
  uid_t run_dir_owner = 0;
};
Identities g_identities;
std::atomic<int> g_identities_state{0};  // 0: not learned, 1: being published, 2: published

bool LearnIdentities(Identities& identities) {
  if (g_identities_state.load(std::memory_order_acquire) == 2) {
    identities = g_identities;
    return true;
  }
  struct stat interpreter {}, run_dir {};
  const char* run_dir_path = g_state->run_dir_variable.c_str() + std::strlen("PYCOV_RUN_DIR=");
  if (stat("/proc/self/exe", &interpreter) != 0 || stat(run_dir_path, &run_dir) != 0) return false;
  identities = {interpreter.st_dev, interpreter.st_ino, run_dir.st_uid};
  int unlearned = 0;
  if (g_identities_state.compare_exchange_strong(unlearned, 1, std::memory_order_acq_rel)) {
    g_identities = identities;
    g_identities_state.store(2, std::memory_order_release);
  }
  return true;
}

// The first entry "NAME=..." of `envp`, the one getenv finds, or nullptr.
const char* FindVariable(char* const envp[], std::string_view name_and_equals) {
  for (char* const* entry = envp; *entry != nullptr; ++entry)
    if (std::strncmp(*entry, name_and_equals.data(), name_and_equals.size()) == 0) return *entry;
  return nullptr;
}

// Whether the supervisor would wave on an exec of this very interpreter (DecideExec in
// src/python_bootstrap.cc, and the directory it makes for a child of another user): the
// environment holds this run's variables, no option keeps the bootstrap from starting, and
// the user is the run's own.
bool OwnInterpreterNeedsNothing(char* const argv[], char* const envp[], const Identities& identities) {
  const PassState& state = *g_state;
  const char* run_dir = FindVariable(envp, "PYCOV_RUN_DIR=");
  if (run_dir == nullptr || state.run_dir_variable != run_dir) return false;
  const char* pythonpath = FindVariable(envp, "PYTHONPATH=");
  if (pythonpath == nullptr || !LeadsPythonPath(state.bootstrap_dir, pythonpath + std::strlen("PYTHONPATH=")))
    return false;
  size_t argc = 0;
  while (argv[argc] != nullptr) ++argc;
  bool skips_bootstrap = false;
  ForEachInterpreterOption(
      argc, [&](size_t i) { return std::string_view(argv[i]); },
      [&](char option) { skips_bootstrap = skips_bootstrap || SkipsBootstrap(option); });
  return !skips_bootstrap && geteuid() == identities.run_dir_owner;
}

// Whether the supervisor would only let an exec of the open file `fd`, another program than
// this interpreter, go on as it is made. It looks at the file the kernel runs, and changes
// nothing for one not named like a Python (run_command.cc's ExecInterest): an ELF file is that
// file itself, where a script runs its #! interpreter and other formats what binfmt_misc
// chooses, which only the supervisor works out.
bool OtherProgramNeedsNothing(int fd) {
  char magic[4];
  if (pread(fd, magic, sizeof magic, 0) != ssize_t(sizeof magic) || std::memcmp(magic, "\x7f" "ELF", 4) != 0)
    return false;
  // Its name as the supervisor sees it, symbolic links resolved.
  char link[32] = "/proc/self/fd/";
  const size_t prefix = std::strlen(link);
  *std::to_chars(link + prefix, link + sizeof link - 1, fd).ptr = '\0';
  char resolved[PATH_MAX];
  const ssize_t size = readlink(link, resolved, sizeof resolved);
  if (size <= 0 || size_t(size) == sizeof resolved) return false;
  const std::string_view name(resolved, size_t(size));
  return !IsPythonExecutableName(name.substr(name.rfind('/') + 1));
}

// Async-signal-safe and without allocation: it runs between vfork and exec.
bool NeedsNothingFromSupervisor(const char* path, char* const argv[], char* const envp[]) {
  if (path == nullptr || argv == nullptr || envp == nullptr) return false;
  // Only a regular file is opened: opening a FIFO would wait, a device could act on it.
  struct stat file {};
  Identities identities;
  if (stat(path, &file) != 0 || !S_ISREG(file.st_mode) || !LearnIdentities(identities)) return false;
  if (file.st_dev == identities.interpreter_device && file.st_ino == identities.interpreter_inode)
    return OwnInterpreterNeedsNothing(argv, envp, identities);
  const int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
  if (fd < 0) return false;  // a program this process may not read: the supervisor decides
  // The file may change before the exec, as it may after the supervisor read it: no re-check.
  const bool nothing = OtherProgramNeedsNothing(fd);
  close(fd);
  return nothing;
}

// execve ignores its fourth argument register; the supervisor's filter reads the pass there.
int ExecWithPass(const char* path, char* const argv[], char* const envp[]) {
  return int(syscall(SYS_execve, path, argv, envp, g_state->pass));
}

int ExecveChecked(const char* path, char* const argv[], char* const envp[]) {
  if (NeedsNothingFromSupervisor(path, argv, envp)) return ExecWithPass(path, argv, envp);
  return g_state->execve(path, argv, envp);
}

int ExecvChecked(const char* path, char* const argv[]) {
  if (NeedsNothingFromSupervisor(path, argv, environ)) return ExecWithPass(path, argv, environ);
  return g_state->execv(path, argv);
}

#if defined(__x86_64__)

struct ExecutableImage {
  ElfW(Addr) base = 0;
  const ElfW(Phdr)* headers = nullptr;
  ElfW(Half) count = 0;
};

// The first object the dynamic loader lists is the executable.
int TakeFirstObject(dl_phdr_info* info, size_t, void* data) {
  auto* image = static_cast<ExecutableImage*>(data);
  image->base = info->dlpi_addr;
  image->headers = info->dlpi_phdr;
  image->count = info->dlpi_phnum;
  return 1;
}

// Writes `value` into a GOT entry. Entries under RELRO were made read-only once the
// loader relocated them: their page is writable only for the write.
bool WriteSlot(void** slot, void* value, ElfW(Addr) relro_start, ElfW(Addr) relro_end) {
  const auto address = reinterpret_cast<ElfW(Addr)>(slot);
  if (address < relro_start || address >= relro_end) {
    *slot = value;
    return true;
  }
  const long page_size = sysconf(_SC_PAGESIZE);
  void* page = reinterpret_cast<void*>(address & ~ElfW(Addr)(page_size - 1));
  if (mprotect(page, size_t(page_size), PROT_READ | PROT_WRITE) != 0) return false;
  *slot = value;
  mprotect(page, size_t(page_size), PROT_READ);
  return true;
}

int RedirectExecutableCalls() {
  ExecutableImage image;
  dl_iterate_phdr(TakeFirstObject, &image);
  const ElfW(Dyn)* dynamic = nullptr;
  ElfW(Addr) relro_start = 0, relro_end = 0;
  for (ElfW(Half) i = 0; i < image.count; ++i) {
    const ElfW(Phdr)& header = image.headers[i];
    if (header.p_type == PT_DYNAMIC) dynamic = reinterpret_cast<const ElfW(Dyn)*>(image.base + header.p_vaddr);
    if (header.p_type == PT_GNU_RELRO) {
      relro_start = image.base + header.p_vaddr;
      relro_end = relro_start + header.p_memsz;
    }
  }
  if (dynamic == nullptr) return 0;  // a static executable loads no extension modules anyway
  // The loader relocates these addresses in place; where it does not, they are offsets.
  auto absolute = [&](ElfW(Addr) address) { return address < image.base ? image.base + address : address; };
  const ElfW(Sym)* symbols = nullptr;
  const char* names = nullptr;
  const ElfW(Rela)* tables[2] = {nullptr, nullptr};
  size_t sizes[2] = {0, 0};
  bool plt_is_rela = true;
  for (const ElfW(Dyn)* entry = dynamic; entry->d_tag != DT_NULL; ++entry) {
    switch (entry->d_tag) {
      case DT_SYMTAB: symbols = reinterpret_cast<const ElfW(Sym)*>(absolute(entry->d_un.d_ptr)); break;
      case DT_STRTAB: names = reinterpret_cast<const char*>(absolute(entry->d_un.d_ptr)); break;
      case DT_JMPREL: tables[0] = reinterpret_cast<const ElfW(Rela)*>(absolute(entry->d_un.d_ptr)); break;
      case DT_PLTRELSZ: sizes[0] = entry->d_un.d_val; break;
      case DT_PLTREL: plt_is_rela = entry->d_un.d_val == DT_RELA; break;
      case DT_RELA: tables[1] = reinterpret_cast<const ElfW(Rela)*>(absolute(entry->d_un.d_ptr)); break;
      case DT_RELASZ: sizes[1] = entry->d_un.d_val; break;
      default: break;
    }
  }
  if (symbols == nullptr || names == nullptr || !plt_is_rela) return 0;
  int redirected = 0;
  for (int t = 0; t < 2; ++t) {
    if (tables[t] == nullptr) continue;
    for (size_t i = 0; i < sizes[t] / sizeof(ElfW(Rela)); ++i) {
      const ElfW(Rela)& relocation = tables[t][i];
      const auto type = ELF64_R_TYPE(relocation.r_info);
      if (type != R_X86_64_JUMP_SLOT && type != R_X86_64_GLOB_DAT) continue;
      const char* name = names + symbols[ELF64_R_SYM(relocation.r_info)].st_name;
      void* wrapper = std::strcmp(name, "execve") == 0  ? reinterpret_cast<void*>(&ExecveChecked)
                      : std::strcmp(name, "execv") == 0 ? reinterpret_cast<void*>(&ExecvChecked)
                                                        : nullptr;
      if (wrapper == nullptr) continue;
      if (WriteSlot(reinterpret_cast<void**>(image.base + relocation.r_offset), wrapper, relro_start, relro_end))
        ++redirected;
    }
  }
  return redirected;
}

#else

int RedirectExecutableCalls() { return 0; }

#endif

// Whether `function` is libc's own.
bool FromLibc(void* function) {
  Dl_info info{};
  if (function == nullptr || dladdr(function, &info) == 0 || info.dli_fname == nullptr) return false;
  const std::string_view file(info.dli_fname);
  return file.substr(file.rfind('/') + 1).substr(0, 7) == "libc.so";
}

}  // namespace

int InstallExecPass(const ExecPassSettings& settings) {
  if (settings.pass == 0 || settings.bootstrap_dir.empty() || g_state != nullptr) return 0;
  auto* state = new PassState;
  state->pass = settings.pass;
  state->run_dir_variable = "PYCOV_RUN_DIR=" + settings.run_dir;
  state->bootstrap_dir = settings.bootstrap_dir;
  // What the executable's calls would have reached. A library the program preloads that
  // wraps exec (fakeroot, a build sandbox) must see every call: then nothing is redirected.
  state->execve = reinterpret_cast<ExecveFunction>(dlsym(RTLD_DEFAULT, "execve"));
  state->execv = reinterpret_cast<ExecvFunction>(dlsym(RTLD_DEFAULT, "execv"));
  if (!FromLibc(reinterpret_cast<void*>(state->execve)) || !FromLibc(reinterpret_cast<void*>(state->execv))) {
    delete state;
    return 0;
  }
  g_state = state;
  return RedirectExecutableCalls();
}

}  // namespace pycov::tracer
