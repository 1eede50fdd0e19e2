#include "tracee_memory.h"

#include <fcntl.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>

namespace pycov::sandbox {
namespace {

constexpr uint64_t kPageSize = 4096;

// Reads exactly `size` bytes. process_vm_readv is one system call; /proc/PID/mem is the
// fallback for pages process_vm_readv refuses (it honours page protections, ptrace does not).
bool ReadBytes(pid_t tid, uint64_t address, void* out, size_t size) {
  iovec local{out, size};
  iovec remote{reinterpret_cast<void*>(address), size};
  if (process_vm_readv(tid, &local, 1, &remote, 1, 0) == ssize_t(size)) return true;
  char path[64];
  std::snprintf(path, sizeof(path), "/proc/%d/mem", int(tid));
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  bool ok = pread(fd, out, size, off_t(address)) == ssize_t(size);
  close(fd);
  return ok;
}

}  // namespace

Result<std::string> ReadTraceeString(pid_t tid, uint64_t address, size_t max_length) {
  if (address == 0) return Error{"null string pointer"};
  std::string text;
  char chunk[kPageSize];
  while (text.size() < max_length) {
    // Never cross a page boundary in one read.
    size_t size = size_t(kPageSize - (address % kPageSize));
    if (!ReadBytes(tid, address, chunk, size)) return Error{"unreadable string in the tracee"};
    const void* nul = std::memchr(chunk, '\0', size);
    if (nul != nullptr) {
      text.append(chunk, static_cast<const char*>(nul) - chunk);
      return text;
    }
    text.append(chunk, size);
    address += size;
  }
  return Error{"string in the tracee longer than " + std::to_string(max_length) + " bytes"};
}

Result<std::vector<TraceeString>> ReadTraceeStringArray(pid_t tid, uint64_t address, size_t max_entries) {
  std::vector<TraceeString> strings;
  // Linux accepts a NULL argv or envp as an empty array.
  if (address == 0) return strings;
  uint64_t pointers[kPageSize / sizeof(uint64_t)];
  while (strings.size() < max_entries) {
    size_t bytes = size_t(kPageSize - (address % kPageSize));
    if (!ReadBytes(tid, address, pointers, bytes)) return Error{"unreadable pointer array in the tracee"};
    for (size_t i = 0; i < bytes / sizeof(uint64_t); ++i) {
      if (pointers[i] == 0) return strings;
      auto text = ReadTraceeString(tid, pointers[i]);
      if (!text) return text.error();
      strings.push_back({pointers[i], std::move(*text)});
    }
    address += bytes;
  }
  return Error{"pointer array in the tracee longer than " + std::to_string(max_entries) + " entries"};
}

Status WriteTraceeMemory(pid_t tid, uint64_t address, const void* data, size_t size) {
  iovec local{const_cast<void*>(data), size};
  iovec remote{reinterpret_cast<void*>(address), size};
  if (process_vm_writev(tid, &local, 1, &remote, 1, 0) == ssize_t(size)) return Ok();
  char path[64];
  std::snprintf(path, sizeof(path), "/proc/%d/mem", int(tid));
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return Error{std::string("cannot open the tracee's memory: ") + std::strerror(errno)};
  bool ok = pwrite(fd, data, size, off_t(address)) == ssize_t(size);
  int error = errno;
  close(fd);
  if (!ok) return Error{std::string("cannot write the tracee's memory: ") + std::strerror(error)};
  return Ok();
}

Result<uint64_t> ScratchBelowStack(pid_t tid, uint64_t stack_pointer, size_t size) {
  // The x86-64 ABI lets a function use 128 bytes below the stack pointer without moving it;
  // keep well clear of that, and align as a stack would be.
  constexpr uint64_t kRedZoneMargin = 1024;
  if (stack_pointer < kRedZoneMargin + size) return Error{"stack pointer too low"};
  uint64_t address = (stack_pointer - kRedZoneMargin - size) & ~uint64_t(15);
  std::ifstream maps("/proc/" + std::to_string(tid) + "/maps");
  std::string line;
  while (std::getline(maps, line)) {
    uint64_t start = 0, end = 0;
    char perms[5] = {};
    if (std::sscanf(line.c_str(), "%lx-%lx %4s", &start, &end, perms) != 3) continue;
    if (stack_pointer < start || stack_pointer >= end) continue;
    // The kernel does not grow a stack mapping for a debugger's write, so the room must
    // already be mapped.
    if (address < start) return Error{"not enough mapped stack below the stack pointer"};
    if (perms[1] != 'w') return Error{"the stack is not writable"};
    return address;
  }
  return Error{"the stack pointer is in no mapping"};
}

}  // namespace pycov::sandbox
