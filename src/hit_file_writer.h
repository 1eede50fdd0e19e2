// HitFileWriter: the recording side of a hit file, used by the tracer inside the measured
// process. Every method runs with the GIL held (or in a single-threaded fork child), so it
// takes no locks; none allocates heap memory after Open(), so the fork-child switch is safe.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "hit_file_format.h"

namespace pycov::hitfile {

/// Makes `user`'s directory in the run directory `run_dir` (uid-N, owned by the user, closed to
/// others) for a process about to run as that user, and lets others through the run directory
/// (not list it) and read its configuration. True when the directory is there and the user's,
/// made now or before, or when the run directory is the user's own (nothing to make); false
/// (errno set) when it cannot be (only root may give one away).
bool MakeOtherUserDirectory(const char* run_dir, uid_t user, gid_t group);

class HitFileWriter {
 public:
  HitFileWriter() = default;
  HitFileWriter(const HitFileWriter&) = delete;
  HitFileWriter& operator=(const HitFileWriter&) = delete;
  ~HitFileWriter();

  /// Creates a new hit file in the run directory `run_dir` (in its uid-N directory when the
  /// process runs as another user, who may not write in the run directory) and maps it.
  /// Returns false (errno set) on failure.
  bool Open(std::string_view run_dir, uint32_t flags, std::string_view argv_nul_separated);

  /// Writes a file record; returns the file's index, or -1 when the file cannot grow.
  int32_t AddFile(std::string_view path);

  /// Allocates a zeroed bitmap for lines 0..line_count-1 of a file, run by threads of one
  /// kind; nullptr on failure. The memory stays valid (and mapped to this process's file) for
  /// the process's life.
  uint8_t* AllocateLines(uint32_t file_index, uint32_t line_count, ThreadKind kind = ThreadKind::kMain);

  /// Adds an arc to the arc set. Returns false if it had to be dropped (no space).
  bool RecordArc(uint32_t file_index, int32_t from, int32_t to);

  /// Whether the arc set holds the arc.
  bool HasArc(uint32_t file_index, int32_t from, int32_t to) const;

  /// How many arcs the set holds: it changes exactly when an arc is added.
  uint32_t arc_count() const { return arc_count_; }

  /// In a freshly forked child: moves recording to a new file of the child's own, with the
  /// same records (so every pointer handed out stays valid) but all hits cleared. Returns
  /// false (errno set, path() the file it tried) when it cannot: nothing is recorded then.
  bool SwitchToForkedChild();

  const char* path() const { return path_; }
  const char* run_dir() const { return run_dir_; }

 private:
  void* Reserve(uint32_t record_bytes);
  void Commit(uint32_t record_bytes);
  bool Grow(uint64_t needed_bytes);
  // A new file is created under a name that readers skip (path_ + kUnpublishedSuffix),
  // written whole with pwrite, then renamed to path_ and mapped (MapPublished): a process
  // killed before that leaves no hit file for the combiner to take for a corrupt one. Mapped
  // only under its final name: valgrind, which names each mapping by its file's path, aborts
  // when a file mapped under one name is mapped again next to it under another.
  bool CreateFile(int* fd_out);
  bool Publish();
  bool MapPublished(int fd, uint64_t bytes);
  static constexpr char kUnpublishedSuffix[] = ".new";
  bool GrowArcTable();
  void MarkLost();  // flags the header: some hits could not be recorded
  void RecordNothingMore();  // after a failed fork switch: the file is not written any more

  static constexpr size_t kReservedAddressSpace = size_t(4) << 30;
  static constexpr uint64_t kGrowthStep = 64 * 1024;

  char run_dir_[1024] = {};
  // Who owns the run directory: a process running as another user (after a setuid and an
  // exec, or a setuid and a fork) that may not write there records in its user's directory.
  uid_t run_dir_owner_ = 0;
  char path_[1152] = {};
  char unpublished_path_[1152 + sizeof(kUnpublishedSuffix)] = {};
  uint8_t* base_ = nullptr;  // start of the reserved address range; never moves
  Header* header_ = nullptr;
  uint64_t mapped_bytes_ = 0;
  uint64_t committed_ = 0;
  uint32_t next_file_index_ = 0;
  uint64_t* arc_slots_ = nullptr;
  uint32_t arc_capacity_ = 0;
  uint32_t arc_count_ = 0;
};

}  // namespace pycov::hitfile
