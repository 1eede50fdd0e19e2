// Reading and writing a stopped tracee's memory. Internal to the sandbox.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "result.h"

namespace pycov::sandbox {

/// A NUL-terminated string at `address`, read page by page: a string may end just before an
/// unmapped page, and one read across the boundary would fail as a whole.
Result<std::string> ReadTraceeString(pid_t tid, uint64_t address, size_t max_length = 1 << 20);

struct TraceeString {
  uint64_t address = 0;  // where the string lives in the tracee
  std::string text;
};

/// A NULL-terminated array of string pointers (argv, envp) and the strings.
Result<std::vector<TraceeString>> ReadTraceeStringArray(pid_t tid, uint64_t address, size_t max_entries = 1 << 16);

/// Writes `size` bytes at `address`.
Status WriteTraceeMemory(pid_t tid, uint64_t address, const void* data, size_t size);

/// An address for `size` bytes of scratch space below the tracee's stack pointer, past the
/// red zone, inside the mapping that holds the stack (nothing there belongs to the program).
Result<uint64_t> ScratchBelowStack(pid_t tid, uint64_t stack_pointer, size_t size);

}  // namespace pycov::sandbox
