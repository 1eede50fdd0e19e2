#include "hit_file_writer.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>

namespace pycov::hitfile {
namespace {

uint64_t NowUnixNs() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return uint64_t(ts.tv_sec) * 1000000000u + uint64_t(ts.tv_nsec);
}

uint32_t RoundUp8(uint64_t n) { return uint32_t((n + 7) & ~uint64_t(7)); }

// Reserves file blocks for real: a page of a sparse file that cannot be backed when it is
// first written kills the writer with SIGBUS, and the measured program must never die of
// pycov. fallocate fails cleanly (ENOSPC) instead.
bool ReserveBlocks(int fd, uint64_t from, uint64_t to) {
  if (to <= from) return true;
  int rc = posix_fallocate(fd, off_t(from), off_t(to - from));
  if (rc != 0) {
    errno = rc;
    return false;
  }
  return true;
}

// Open addressing with linear probing: the slot holding `key`, or the empty slot where it
// belongs. The table is never full (it grows at half).
uint32_t ArcSlot(const uint64_t* slots, uint32_t capacity, uint64_t key) {
  const uint32_t mask = capacity - 1;
  uint32_t at = uint32_t((key * 0x9E3779B97F4A7C15ull) >> 32) & mask;
  while (slots[at] != 0 && slots[at] != key) at = (at + 1) & mask;
  return at;
}

bool ArcLinesFit(int32_t from, int32_t to) {
  return from <= kMaxArcLine && to <= kMaxArcLine && from >= -kMaxArcLine && to >= -kMaxArcLine;
}

bool WriteAll(int fd, const void* data, size_t size, uint64_t offset) {
  return pwrite(fd, data, size, off_t(offset)) == ssize_t(size);
}

}  // namespace

bool MakeOtherUserDirectory(const char* run_dir, uid_t user, gid_t group) {
  char directory[1152];
  std::snprintf(directory, sizeof(directory), "%s/%s%u", run_dir, kOtherUserDirectoryPrefix, unsigned(user));
  struct stat status {};
  if (stat(run_dir, &status) == 0 && status.st_uid == user) return true;  // the user's own run
  if (lstat(directory, &status) == 0) {
    // Made before, for this user: the user itself could not have made it, nor a link there.
    if (S_ISDIR(status.st_mode) && status.st_uid == user) return true;
    errno = EEXIST;
    return false;
  }
  if (mkdir(directory, 0700) != 0) return false;
  if (chown(directory, user, group) != 0) {
    const int saved_errno = errno;
    rmdir(directory);
    errno = saved_errno;
    return false;
  }
  // Through, not listed: other users reach only what they know the name of. The hit files of
  // pycov's own user carry a pid and a time in ns; the supervisor's log has what ps shows.
  char config[1160];
  std::snprintf(config, sizeof(config), "%s/config", run_dir);
  return chmod(run_dir, 0711) == 0 && chmod(config, 0644) == 0;
}

HitFileWriter::~HitFileWriter() {
  if (base_ != nullptr) munmap(base_, kReservedAddressSpace);
}

bool HitFileWriter::CreateFile(int* fd_out) {
  // Root writes in anyone's run directory; another user in its own directory there.
  const uid_t user = geteuid();
  if (user == run_dir_owner_ || faccessat(AT_FDCWD, run_dir_, W_OK | X_OK, AT_EACCESS) == 0) {
    std::snprintf(path_, sizeof(path_), "%s/%d-%llu.hits", run_dir_, int(getpid()),
                  static_cast<unsigned long long>(NowUnixNs()));
  } else {
    std::snprintf(path_, sizeof(path_), "%s/%s%u/%d-%llu.hits", run_dir_, kOtherUserDirectoryPrefix, unsigned(user),
                  int(getpid()), static_cast<unsigned long long>(NowUnixNs()));
  }
  std::snprintf(unpublished_path_, sizeof(unpublished_path_), "%s%s", path_, kUnpublishedSuffix);
  int fd = open(unpublished_path_, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) return false;
  *fd_out = fd;
  return true;
}

bool HitFileWriter::Publish() {
  // Not over an existing file: the name has this process's pid and a start time in ns.
  if (rename(unpublished_path_, path_) == 0) return true;
  const int saved_errno = errno;
  unlink(unpublished_path_);
  errno = saved_errno;
  return false;
}

bool HitFileWriter::Open(std::string_view run_dir, uint32_t flags,
                         std::string_view argv_nul_separated) {
  if (run_dir.size() + 1 > sizeof(run_dir_)) {
    errno = ENAMETOOLONG;
    return false;
  }
  std::memcpy(run_dir_, run_dir.data(), run_dir.size());
  run_dir_[run_dir.size()] = '\0';
  struct stat run_dir_status {};
  if (stat(run_dir_, &run_dir_status) != 0) return false;
  run_dir_owner_ = run_dir_status.st_uid;

  // One reservation for the file's whole life: later growth maps more of the file right
  // after what is mapped, so every pointer handed out stays valid without locks.
  void* reserved = mmap(nullptr, kReservedAddressSpace, PROT_NONE,
                        MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (reserved == MAP_FAILED) return false;
  base_ = static_cast<uint8_t*>(reserved);

  Header header{};
  std::memcpy(header.magic, kMagic, sizeof(kMagic));
  header.version = kFormatVersion;
  header.header_size = kHeaderSize;
  header.committed = kHeaderSize;
  header.pid = getpid();
  header.ppid = getppid();
  header.start_unix_ns = NowUnixNs();
  header.flags = flags;
  const size_t argv_bytes = std::min<size_t>(argv_nul_separated.size(), kMaxArgvBytes);
  std::memcpy(header.argv, argv_nul_separated.data(), argv_bytes);
  header.argv_bytes = uint32_t(argv_bytes);

  int fd = -1;
  if (!CreateFile(&fd)) return false;
  const uint64_t initial = kGrowthStep;
  const bool written = ReserveBlocks(fd, 0, initial) && WriteAll(fd, &header, sizeof(header), 0);
  if (!written) unlink(unpublished_path_);
  const bool mapped = written && MapPublished(fd, initial);
  const int saved_errno = errno;
  close(fd);
  if (!mapped) {
    errno = saved_errno;
    return false;
  }
  mapped_bytes_ = initial;
  committed_ = kHeaderSize;
  header_ = reinterpret_cast<Header*>(base_);
  return true;
}

bool HitFileWriter::Grow(uint64_t needed_bytes) {
  uint64_t target = mapped_bytes_;
  while (target < needed_bytes) target *= 2;
  target = (target + kGrowthStep - 1) / kGrowthStep * kGrowthStep;
  if (target > kReservedAddressSpace) return false;
  // Reopened by path each time: the program may have closed every descriptor (daemons do).
  int fd = open(path_, O_RDWR | O_CLOEXEC);
  if (fd < 0) return false;
  bool ok = ReserveBlocks(fd, mapped_bytes_, target) &&
            mmap(base_ + mapped_bytes_, target - mapped_bytes_, PROT_READ | PROT_WRITE,
                 MAP_SHARED | MAP_FIXED, fd, off_t(mapped_bytes_)) != MAP_FAILED;
  close(fd);
  if (ok) mapped_bytes_ = target;
  return ok;
}

void HitFileWriter::MarkLost() {
  if (header_ != nullptr) header_->flags |= kFlagLostData;
}

void* HitFileWriter::Reserve(uint32_t record_bytes) {
  if (header_ == nullptr) return nullptr;
  if (committed_ + record_bytes > mapped_bytes_ && !Grow(committed_ + record_bytes)) {
    MarkLost();
    return nullptr;
  }
  return base_ + committed_;
}

void HitFileWriter::Commit(uint32_t record_bytes) {
  committed_ += record_bytes;
  // The body is complete before the header says so; a reader of a killed process's file
  // never sees half a record.
  __atomic_store_n(&header_->committed, committed_, __ATOMIC_RELEASE);
}

int32_t HitFileWriter::AddFile(std::string_view path) {
  if (next_file_index_ >= kMaxFiles) {
    MarkLost();
    return -1;
  }
  uint32_t bytes = RoundUp8(sizeof(FileRecord) + path.size());
  auto* record = static_cast<FileRecord*>(Reserve(bytes));
  if (record == nullptr) return -1;
  record->header = {RecordType::kFile, bytes};
  record->file_index = next_file_index_;
  record->path_bytes = uint32_t(path.size());
  std::memcpy(record + 1, path.data(), path.size());
  Commit(bytes);
  return int32_t(next_file_index_++);
}

uint8_t* HitFileWriter::AllocateLines(uint32_t file_index, uint32_t line_count, ThreadKind kind) {
  uint32_t bytes = RoundUp8(sizeof(LinesRecord) + (uint64_t(line_count) + 7) / 8);
  auto* record = static_cast<LinesRecord*>(Reserve(bytes));
  if (record == nullptr) return nullptr;
  record->header = {RecordType::kLines, bytes};
  record->file_index = file_index;
  record->line_count = line_count;
  record->thread_kind = uint32_t(kind);
  record->reserved = 0;
  Commit(bytes);
  return reinterpret_cast<uint8_t*>(record + 1);
}

bool HitFileWriter::GrowArcTable() {
  uint32_t capacity = arc_capacity_ == 0 ? 4096 : arc_capacity_ * 2;
  uint32_t bytes = RoundUp8(sizeof(ArcsRecord) + uint64_t(capacity) * sizeof(uint64_t));
  auto* record = static_cast<ArcsRecord*>(Reserve(bytes));
  if (record == nullptr) return false;
  record->header = {RecordType::kArcs, bytes};
  record->capacity = capacity;
  auto* slots = reinterpret_cast<uint64_t*>(record + 1);
  // Re-hash before committing: until then readers still see the old, complete table.
  uint64_t* old_slots = arc_slots_;
  uint32_t old_capacity = arc_capacity_;
  arc_slots_ = slots;
  arc_capacity_ = capacity;
  arc_count_ = 0;
  for (uint32_t i = 0; i < old_capacity; ++i) {
    if (old_slots[i] == 0) continue;
    slots[ArcSlot(slots, capacity, old_slots[i])] = old_slots[i];
    ++arc_count_;
  }
  Commit(bytes);
  return true;
}

bool HitFileWriter::RecordArc(uint32_t file_index, int32_t from, int32_t to) {
  if (!ArcLinesFit(from, to)) {
    MarkLost();
    return false;
  }
  if ((arc_count_ + 1) * 2 > arc_capacity_ && !GrowArcTable()) {
    if (arc_capacity_ == 0 || arc_count_ + 1 >= arc_capacity_) {
      MarkLost();
      return false;
    }
  }
  const uint64_t key = PackArc(file_index, from, to);
  uint64_t& slot = arc_slots_[ArcSlot(arc_slots_, arc_capacity_, key)];
  if (slot == key) return true;
  slot = key;
  ++arc_count_;
  return true;
}

bool HitFileWriter::HasArc(uint32_t file_index, int32_t from, int32_t to) const {
  if (arc_capacity_ == 0 || !ArcLinesFit(from, to)) return false;
  const uint64_t key = PackArc(file_index, from, to);
  return arc_slots_[ArcSlot(arc_slots_, arc_capacity_, key)] == key;
}

bool HitFileWriter::SwitchToForkedChild() {
  if (header_ == nullptr) return false;
  // The child's file is written whole before it gets its name and replaces the mapping of
  // the parent's: what was committed at the fork (the parent goes on committing meanwhile,
  // and its header can count bytes this copy does not have), with every hit cleared. The
  // file starts as zeros (fallocate), so a record of hits needs only its header written.
  Header header;
  std::memcpy(&header, header_, sizeof(header));
  const int32_t parent_pid = header.pid;
  header.committed = committed_;
  header.pid = getpid();
  header.ppid = getppid();
  header.start_unix_ns = NowUnixNs();
  header.flags = (header.flags | kFlagForkedChild) & ~uint32_t(kFlagLostData);
  header.fork_depth += 1;
  header.parent_hit_pid = parent_pid;

  int fd = -1;
  bool ok = CreateFile(&fd);
  if (ok) {
    bool written = ReserveBlocks(fd, 0, mapped_bytes_) && WriteAll(fd, &header, sizeof(header), 0);
    for (uint64_t at = kHeaderSize; written && at < committed_;) {
      const auto* record = reinterpret_cast<const RecordHeader*>(base_ + at);
      if (record->size < sizeof(RecordHeader) || at + record->size > committed_) {
        written = false;  // not a record this writer committed
        break;
      }
      const size_t kept = record->type == RecordType::kLines  ? sizeof(LinesRecord)
                          : record->type == RecordType::kArcs ? sizeof(ArcsRecord)
                                                              : record->size;
      written = WriteAll(fd, record, kept, at);
      at += record->size;
    }
    if (!written) unlink(unpublished_path_);
    // One call replaces every mapping of the parent's file at the same addresses.
    ok = written && MapPublished(fd, mapped_bytes_);
    close(fd);
  }
  if (!ok) {
    // Whatever happens, the child must never write into its parent's file.
    const int saved_errno = errno;
    RecordNothingMore();
    errno = saved_errno;
    return false;
  }
  arc_count_ = 0;
  return true;
}

bool HitFileWriter::MapPublished(int fd, uint64_t bytes) {
  if (!Publish()) return false;
  if (mmap(base_, bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, fd, 0) != MAP_FAILED) return true;
  const int saved_errno = errno;
  unlink(path_);
  errno = saved_errno;
  return false;
}

void HitFileWriter::RecordNothingMore() {
  // Private memory at the same addresses: every pointer handed out stays valid, and what is
  // written there goes nowhere.
  mmap(base_, mapped_bytes_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
  header_ = nullptr;
}

}  // namespace pycov::hitfile
