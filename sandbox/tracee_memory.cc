#include "tracee_memory.h"

#include <fcntl.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <algorithm>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>

namespace pycov::sandbox {
const TraceeMemoryReader::Page* TraceeMemoryReader::PageAt(uint64_t page_address) {
  auto found = pages_.find(page_address);
  if (found != pages_.end()) return &found->second;
  // One page per call: reading ahead costs more in pinning pages than it saves in calls
  // (the strings of a Python child's argv and environment are scattered over its heap).
  Page page;
  iovec local{page.data(), block_size_};
  iovec remote{reinterpret_cast<void*>(page_address), block_size_};
  if (process_vm_readv(tid_, &local, 1, &remote, 1, 0) == ssize_t(block_size_)) return &(pages_[page_address] = page);
  // process_vm_readv honours page protections; /proc/PID/mem reads what ptrace may read.
  char path[64];
  std::snprintf(path, sizeof(path), "/proc/%d/mem", int(tid_));
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return nullptr;
  bool ok = pread(fd, page.data(), block_size_, off_t(page_address)) == ssize_t(block_size_);
  close(fd);
  if (!ok) return nullptr;
  return &(pages_[page_address] = page);
}

bool TraceeMemoryReader::Read(uint64_t address, void* out, size_t size) {
  char* to = static_cast<char*>(out);
  while (size > 0) {
    const uint64_t page_address = address & ~(block_size_ - 1);
    const Page* page = PageAt(page_address);
    if (page == nullptr) return false;
    size_t offset = size_t(address - page_address);
    size_t chunk = std::min<size_t>(size, block_size_ - offset);
    std::memcpy(to, page->data() + offset, chunk);
    to += chunk;
    address += chunk;
    size -= chunk;
  }
  return true;
}

Result<std::string> TraceeMemoryReader::ReadString(uint64_t address, size_t max_length) {
  if (address == 0) return Error{"null string pointer"};
  std::string text;
  while (text.size() < max_length) {
    const uint64_t page_address = address & ~(block_size_ - 1);
    const Page* page = PageAt(page_address);
    if (page == nullptr) return Error{"unreadable string in the tracee"};
    size_t offset = size_t(address - page_address);
    const char* begin = page->data() + offset;
    size_t available = block_size_ - offset;
    const void* nul = std::memchr(begin, '\0', available);
    if (nul != nullptr) {
      text.append(begin, static_cast<const char*>(nul) - begin);
      return text;
    }
    text.append(begin, available);
    address += available;
  }
  return Error{"string in the tracee longer than " + std::to_string(max_length) + " bytes"};
}

Result<std::vector<TraceeString>> TraceeMemoryReader::ReadStringArray(uint64_t address, size_t max_entries) {
  std::vector<TraceeString> strings;
  if (address == 0) return strings;
  while (true) {
    if (strings.size() == max_entries)
      return Error{"pointer array in the tracee longer than " + std::to_string(max_entries) + " entries"};
    uint64_t pointer = 0;
    if (!Read(address, &pointer, sizeof(pointer))) return Error{"unreadable pointer array in the tracee"};
    if (pointer == 0) break;
    strings.push_back({pointer, {}});
    address += sizeof(pointer);
  }
  // The strings lie scattered over the heap (a Python child's environment): their pages come
  // in one system call, where reading them one by one would cost a call each.
  std::vector<uint64_t> addresses;
  for (const auto& string : strings) addresses.push_back(string.address);
  ReadPagesHolding(addresses);
  for (auto& string : strings) {
    auto text = ReadString(string.address);
    if (!text) return text.error();
    string.text = std::move(*text);
  }
  return strings;
}

void TraceeMemoryReader::ReadPagesHolding(const std::vector<uint64_t>& addresses) {
  std::vector<uint64_t> wanted;
  for (uint64_t address : addresses) {
    const uint64_t page = address & ~(block_size_ - 1);
    if (!pages_.count(page)) wanted.push_back(page);
  }
  std::sort(wanted.begin(), wanted.end());
  wanted.erase(std::unique(wanted.begin(), wanted.end()), wanted.end());
  if (wanted.size() < 2) return;  // one block: PageAt reads it when asked
  constexpr size_t kMaxPages = 64;  // a few hundred KiB at most; IOV_MAX is 1024
  wanted.resize(std::min(wanted.size(), kMaxPages));
  std::vector<Page> buffer(wanted.size());
  std::vector<iovec> local(wanted.size()), remote(wanted.size());
  for (size_t i = 0; i < wanted.size(); ++i) {
    local[i] = {buffer[i].data(), block_size_};
    remote[i] = {reinterpret_cast<void*>(wanted[i]), block_size_};
  }
  // A read stops at the first page it cannot read: the pages before it are whole, the rest
  // are read one by one when asked for.
  const ssize_t got = process_vm_readv(tid_, local.data(), local.size(), remote.data(), remote.size(), 0);
  for (size_t i = 0; got > 0 && i < size_t(got) / block_size_; ++i) pages_.emplace(wanted[i], buffer[i]);
}

void TraceeMemoryReader::ReadAhead(uint64_t address, size_t blocks) {
  const uint64_t first = address & ~(block_size_ - 1);
  std::vector<uint64_t> addresses;
  for (size_t block = 0; block < blocks; ++block) addresses.push_back(first + block * block_size_);
  ReadPagesHolding(addresses);
}

Result<uint64_t> TraceeMemoryReader::ReadWord(uint64_t address) {
  uint64_t word = 0;
  if (!Read(address, &word, sizeof(word))) return Error{"unreadable memory in the tracee"};
  return word;
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

Result<WrittenEnvironment> WriteEnvironmentBelowStack(pid_t tid, uint64_t stack_pointer,
                                                      const std::vector<uint64_t>& before,
                                                      const std::vector<TraceeString>& environment,
                                                      const std::vector<std::string>& set,
                                                      const std::vector<uint64_t>& after) {
  auto name_of = [](const std::string& variable) { return variable.substr(0, variable.find('=')); };
  std::set<std::string> replaced;
  for (const auto& variable : set) replaced.insert(name_of(variable));
  std::vector<uint64_t> words = before;
  const size_t envp_index = words.size();
  for (const auto& variable : environment)
    if (!replaced.count(name_of(variable.text))) words.push_back(variable.address);
  const size_t first_new_variable = words.size();
  words.insert(words.end(), set.size() + 1, 0);  // the new variables, then NULL
  words.insert(words.end(), after.begin(), after.end());
  const size_t word_bytes = words.size() * sizeof(uint64_t);
  size_t string_bytes = 0;
  for (const auto& variable : set) string_bytes += variable.size() + 1;
  auto start = ScratchBelowStack(tid, stack_pointer, word_bytes + string_bytes);
  if (!start) return start.error();
  std::vector<char> block(word_bytes + string_bytes);
  size_t offset = word_bytes;
  for (size_t i = 0; i < set.size(); ++i) {
    words[first_new_variable + i] = *start + offset;
    std::memcpy(block.data() + offset, set[i].c_str(), set[i].size() + 1);
    offset += set[i].size() + 1;
  }
  std::memcpy(block.data(), words.data(), word_bytes);
  if (auto written = WriteTraceeMemory(tid, *start, block.data(), block.size()); !written) return written.error();
  return WrittenEnvironment{*start, *start + envp_index * sizeof(uint64_t),
                            std::vector<std::string>(replaced.begin(), replaced.end())};
}

}  // namespace pycov::sandbox
