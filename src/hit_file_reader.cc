#include "hit_file_reader.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "hit_file_format.h"

namespace pycov::hitfile {
namespace {

// Owns a read-only mapping of a whole file.
class MappedFile {
 public:
  ~MappedFile() {
    if (data_ != nullptr) munmap(data_, size_);
  }
  Status Map(const std::string& path) {
    int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return Error{path + ": cannot open hit file: " + std::strerror(errno)};
    struct stat st {};
    if (fstat(fd, &st) != 0) {
      close(fd);
      return Error{path + ": cannot stat hit file: " + std::strerror(errno)};
    }
    size_ = size_t(st.st_size);
    if (size_ > 0) {
      void* p = mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd, 0);
      if (p == MAP_FAILED) {
        close(fd);
        return Error{path + ": cannot map hit file: " + std::strerror(errno)};
      }
      data_ = static_cast<uint8_t*>(p);
    }
    close(fd);
    return Ok();
  }
  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }

 private:
  uint8_t* data_ = nullptr;
  size_t size_ = 0;
};

Error Corrupt(const std::string& path, const std::string& what) {
  return Error{path + ": corrupt hit file: " + what};
}

}  // namespace

bool ProcessHits::has_arcs() const { return (flags & kFlagBranch) != 0; }
bool ProcessHits::lost_data() const { return (flags & kFlagLostData) != 0; }

Result<ProcessHits> ReadHitFile(const std::string& path) {
  MappedFile file;
  if (auto mapped = file.Map(path); !mapped) return mapped.error();
  if (file.size() < kHeaderSize) return Corrupt(path, "shorter than its header");
  Header header;
  std::memcpy(&header, file.data(), sizeof(header));
  if (std::memcmp(header.magic, kMagic, sizeof(kMagic)) != 0) return Corrupt(path, "bad magic");
  if (header.version != kFormatVersion)
    return Corrupt(path, "format version " + std::to_string(header.version) + ", expected " +
                             std::to_string(kFormatVersion));
  if (header.committed < kHeaderSize || header.committed > file.size())
    return Corrupt(path, "committed size " + std::to_string(header.committed) + " outside the file");
  if (header.argv_bytes > kMaxArgvBytes) return Corrupt(path, "argv longer than its field");

  ProcessHits hits;
  hits.hit_file = path;
  hits.pid = header.pid;
  hits.ppid = header.ppid;
  hits.start_unix_ns = header.start_unix_ns;
  hits.flags = header.flags;
  hits.fork_depth = header.fork_depth;
  hits.parent_hit_pid = header.parent_hit_pid;
  for (size_t at = 0; at < header.argv_bytes;) {
    const char* s = header.argv + at;
    size_t len = strnlen(s, header.argv_bytes - at);
    hits.argv.emplace_back(s, len);
    at += len + 1;
  }

  const uint8_t* base = file.data();
  // The arc table is allocated at the first arc and files keep being added after it, so
  // arcs are resolved to files once every record has been read.
  std::vector<UnpackedArc> arcs;
  for (uint64_t at = kHeaderSize; at < header.committed;) {
    RecordHeader record;
    if (at + sizeof(record) > header.committed) return Corrupt(path, "truncated record at " + std::to_string(at));
    std::memcpy(&record, base + at, sizeof(record));
    if (record.size < sizeof(record) || record.size % 8 != 0 || at + record.size > header.committed)
      return Corrupt(path, "bad record size at offset " + std::to_string(at));
    const uint8_t* body = base + at;
    switch (record.type) {
      case RecordType::kFile: {
        FileRecord r;
        if (record.size < sizeof(r)) return Corrupt(path, "short file record at " + std::to_string(at));
        std::memcpy(&r, body, sizeof(r));
        if (sizeof(r) + r.path_bytes > record.size) return Corrupt(path, "file path overruns its record");
        if (r.file_index != hits.files.size()) return Corrupt(path, "file indexes out of order");
        hits.files.push_back({std::string(reinterpret_cast<const char*>(body + sizeof(r)), r.path_bytes), {}, {}, {}});
        break;
      }
      case RecordType::kLines: {
        LinesRecord r;
        if (record.size < sizeof(r)) return Corrupt(path, "short lines record at " + std::to_string(at));
        std::memcpy(&r, body, sizeof(r));
        if (r.file_index >= hits.files.size()) return Corrupt(path, "lines for an unknown file");
        if (r.thread_kind >= kThreadKinds) return Corrupt(path, "unknown thread kind " + std::to_string(r.thread_kind));
        if (sizeof(r) + (uint64_t(r.line_count) + 7) / 8 > record.size) return Corrupt(path, "bitmap overruns its record");
        const uint8_t* bits = body + sizeof(r);
        FileHits& file = hits.files[r.file_index];
        auto& by_kind = file.lines_by_kind[r.thread_kind];
        for (uint32_t byte = 0; byte < (r.line_count + 7) / 8; ++byte) {
          if (bits[byte] == 0) continue;
          for (int bit = 0; bit < 8; ++bit) {
            if (bits[byte] & (1u << bit)) {
              file.lines.insert(int32_t(byte * 8 + bit));
              by_kind.insert(int32_t(byte * 8 + bit));
            }
          }
        }
        break;
      }
      case RecordType::kArcs: {
        ArcsRecord r;
        if (record.size < sizeof(r)) return Corrupt(path, "short arcs record at " + std::to_string(at));
        std::memcpy(&r, body, sizeof(r));
        if (sizeof(r) + uint64_t(r.capacity) * 8 > record.size) return Corrupt(path, "arc table overruns its record");
        for (uint32_t i = 0; i < r.capacity; ++i) {
          uint64_t slot;
          std::memcpy(&slot, body + sizeof(r) + i * 8, 8);
          if (slot == 0) continue;
          arcs.push_back(UnpackArc(slot));
        }
        break;
      }
      default:
        return Corrupt(path, "unknown record type " + std::to_string(uint32_t(record.type)) + " at offset " +
                                 std::to_string(at));
    }
    at += record.size;
  }
  for (const UnpackedArc& arc : arcs) {
    if (arc.file_index >= hits.files.size()) return Corrupt(path, "arc for an unknown file");
    hits.files[arc.file_index].arcs.insert({arc.from, arc.to});
  }
  return hits;
}

}  // namespace pycov::hitfile
