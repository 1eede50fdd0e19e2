// Reading and writing a stopped tracee's memory. Internal to the sandbox.
#pragma once

#include <sys/types.h>

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "result.h"

namespace pycov::sandbox {

struct TraceeString {
  uint64_t address = 0;  // where the string lives in the tracee
  std::string text;
};

/// Reads a stopped tracee's memory a block at a time (a page, or a smaller power of two),
/// keeping the blocks it read: strings that share a block cost one system call. Never reads
/// across an unmapped page (a string may end just before one). Lives for one stop.
class TraceeMemoryReader {
 public:
  static constexpr uint64_t kPageSize = 4096;

  /// Smaller blocks suit memory read once and scattered: the first read of another process's
  /// page costs more the more of it is copied.
  explicit TraceeMemoryReader(pid_t tid, uint64_t block_size = kPageSize)
      : tid_(tid), block_size_(block_size) {}

  /// A NUL-terminated string at `address`.
  Result<std::string> ReadString(uint64_t address, size_t max_length = 1 << 20);

  /// A NULL-terminated array of string pointers (argv, envp) and the strings. A NULL array
  /// is empty, as Linux takes it.
  Result<std::vector<TraceeString>> ReadStringArray(uint64_t address, size_t max_entries = 1 << 16);

  /// The 64-bit word at `address`.
  Result<uint64_t> ReadWord(uint64_t address);

  /// Reads the `blocks` blocks from the one holding `address` in one system call, as far as
  /// they are mapped, for memory known to be read together (a new program's initial stack).
  void ReadAhead(uint64_t address, size_t blocks);

  /// Reads the blocks holding `addresses` that were not read yet, in one system call.
  void ReadPagesHolding(const std::vector<uint64_t>& addresses);

 private:
  using Page = std::array<char, kPageSize>;  // a block, in its first block_size_ bytes
  const Page* PageAt(uint64_t page_address);
  bool Read(uint64_t address, void* out, size_t size);

  pid_t tid_;
  uint64_t block_size_;
  std::map<uint64_t, Page> pages_;
};

/// Writes `size` bytes at `address`.
Status WriteTraceeMemory(pid_t tid, uint64_t address, const void* data, size_t size);

/// An environment array written below a stopped tracee's stack pointer (ScratchBelowStack).
struct WrittenEnvironment {
  uint64_t start = 0;  // the block's address, 16-byte aligned: the `before` words start there
  uint64_t envp = 0;   // the environment array within it
  std::vector<std::string> names_set;  // the variables added or replaced, sorted
};

/// Writes, below the tracee's stack pointer, the words of `before`, then an environment
/// array: pointers to the tracee's own strings of `environment` except those `set` replaces
/// (same name), then to copies of `set` (written after the words), then NULL; then `after`.
Result<WrittenEnvironment> WriteEnvironmentBelowStack(pid_t tid, uint64_t stack_pointer,
                                                      const std::vector<uint64_t>& before,
                                                      const std::vector<TraceeString>& environment,
                                                      const std::vector<std::string>& set,
                                                      const std::vector<uint64_t>& after);

/// A 16-byte aligned address for `size` bytes of scratch space below the tracee's stack
/// pointer, past the red zone, inside the mapping that holds the stack (nothing there belongs
/// to the program).
Result<uint64_t> ScratchBelowStack(pid_t tid, uint64_t stack_pointer, size_t size);

}  // namespace pycov::sandbox
