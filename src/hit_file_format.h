// On-disk layout of a hit file: what one process executed, written through a shared memory
// mapping so that every store is in the page cache the moment a line runs.
//
// The file is a fixed header followed by 8-byte aligned records. A record becomes visible to
// readers only when `committed` moves past it, and `committed` is written after the record's
// body, so a process killed mid-record leaves a file whose committed part is whole.
#pragma once

#include <cstdint>

namespace pycov::hitfile {

inline constexpr char kMagic[8] = {'P', 'Y', 'C', 'O', 'V', 'H', 'I', 'T'};
inline constexpr uint32_t kFormatVersion = 2;
inline constexpr uint32_t kHeaderSize = 4096;
inline constexpr uint32_t kMaxArgvBytes = 2048;

// Where hit files are: in the run directory for the processes that may write there (pycov's
// user, root), and for a process that runs as another user N (a child that switched user) in
// the directory `uid-N` inside it, owned by N, which pycov makes before such a process starts
// Python or a root process becomes N.
inline constexpr char kOtherUserDirectoryPrefix[] = "uid-";

enum HeaderFlags : uint32_t {
  kFlagBranch = 1u << 0,      // arcs are recorded as well as lines
  kFlagForkedChild = 1u << 1, // this file was started by a fork of a measured process
  kFlagLostData = 1u << 2,    // some hits could not be recorded (no space left)
};

struct Header {
  char magic[8];
  uint32_t version;
  uint32_t header_size;
  uint64_t committed;        // bytes from the file start that hold complete records
  int32_t pid;
  int32_t ppid;
  uint64_t start_unix_ns;
  uint32_t flags;
  uint32_t fork_depth;       // 0 for a process that started Python; +1 per fork
  int32_t parent_hit_pid;    // for a forked child: the pid whose hit file it was copied from
  uint32_t argv_bytes;       // length of `argv`: NUL-separated sys.argv of the process
  char argv[kMaxArgvBytes];
};
static_assert(sizeof(Header) <= kHeaderSize);

enum class RecordType : uint32_t {
  kFile = 1,   // FileRecord + path bytes: gives a file index its path
  kLines = 2,  // LinesRecord + bitmap: bit N set <=> line N of the file ran
  kArcs = 3,   // ArcsRecord + slots: an open-addressing set of (file, from, to)
};

struct RecordHeader {
  RecordType type;
  uint32_t size;  // whole record including this header, a multiple of 8
};

struct FileRecord {
  RecordHeader header;
  uint32_t file_index;
  uint32_t path_bytes;
  // char path[path_bytes] follows
};

/// Which kind of thread ran a line (SPEC §3: per-thread-origin attribution). Each kind has
/// its own bitmaps, so recording a line stays one bit set.
enum class ThreadKind : uint32_t {
  kMain = 0,       // the process's main thread
  kThreading = 1,  // started by threading.Thread
  kRawThread = 2,  // started by _thread.start_new_thread from other code
  kNative = 3,     // created by C code, entering Python through PyGILState_Ensure
  kGreenlet = 4,   // any thread, inside a greenlet other than the thread's main greenlet
};
inline constexpr uint32_t kThreadKinds = 5;

struct LinesRecord {
  RecordHeader header;
  uint32_t file_index;
  uint32_t line_count;   // bits in the bitmap; lines 0 .. line_count-1
  uint32_t thread_kind;  // a ThreadKind
  uint32_t reserved;
  // uint8_t bits[(line_count + 7) / 8] follows
};

struct ArcsRecord {
  RecordHeader header;
  uint32_t capacity;  // number of slots, a power of two
  uint32_t reserved;
  // uint64_t slots[capacity] follows; 0 is an empty slot
};

/// Packs an arc into a non-zero slot value. Lines are signed 24-bit: coverage.py writes
/// -N for entry to and exit from the code object whose first line is N.
inline uint64_t PackArc(uint32_t file_index, int32_t from, int32_t to) {
  return (uint64_t(file_index + 1) << 48) | (uint64_t(uint32_t(from) & 0xFFFFFF) << 24) |
         uint64_t(uint32_t(to) & 0xFFFFFF);
}

struct UnpackedArc {
  uint32_t file_index;
  int32_t from;
  int32_t to;
};

inline int32_t SignExtend24(uint64_t v) {
  return int32_t(uint32_t(v << 8)) >> 8;
}

inline UnpackedArc UnpackArc(uint64_t slot) {
  return {uint32_t(slot >> 48) - 1, SignExtend24(slot >> 24 & 0xFFFFFF), SignExtend24(slot & 0xFFFFFF)};
}

inline constexpr int32_t kMaxArcLine = (1 << 23) - 1;
inline constexpr uint32_t kMaxFiles = (1u << 16) - 2;

}  // namespace pycov::hitfile
