// _pycov_tracer: the in-process recorder, loaded into every measured Python process by the
// bootstrap sitecustomize.
//
// How every thread gets traced: Python 3.11 has no "trace all threads" call, and
// threading.settrace() misses threads started with _thread or created by C code. So the
// tracer installs a PEP 523 frame-evaluation hook for the interpreter: every Python frame of
// every thread is evaluated through it, and the hook installs the trace function on any
// thread state that does not have it yet (one pointer comparison per frame otherwise).
//
// How another trace function does not blind it: sys.settrace/sys.gettrace are wrapped, and a
// trace function installed from C (PyEval_SetTrace) is noticed by the same frame hook. Either
// way the program's trace function becomes "chained": pycov's function stays installed and
// forwards every event to it, so the program still receives exactly the events it would
// receive unmeasured, and sys.gettrace() still returns the program's own function.
//
// The hot path (a line event) allocates nothing: the frame's file was looked up at its call
// event, and the line is one bit set in a shared mapping of the process's hit file.
//
// How it stays out of the way: any trace function puts Python 3.11 on its slow path (every
// instruction dispatched through the tracing path, unspecialised), which is what makes
// coverage tools cost 3-5x. A frame only needs tracing while its code object has a line not
// yet recorded (for the thread's kind, in this process). So the frame hook runs a frame on the
// interpreter's fast path, with tracing off for that frame alone, when there is nothing left
// to record in it: code of unmeasured files always, and measured code whose lines are all
// recorded (with --branch: and every arc its bytecode can take, see possible_arcs.h), or at
// least every line and arc its frames reach before an exception is caught in them: CPython
// still reports an exception in a frame that runs untraced, and the rest of that frame is
// then traced (OnException). A frame already running when its code becomes complete stops
// receiving line events (line coverage).
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <frameobject.h>
#include <opcode.h>
#define Py_BUILD_CORE 1
#include <internal/pycore_frame.h>
#undef Py_BUILD_CORE

#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <time.h>
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <iterator>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "run_config.h"
#include "hit_file_writer.h"
#include "tracer/eval_breaker.h"
#include "tracer/exec_pass.h"
#include "tracer/possible_arcs.h"

namespace {

using pycov::FileSelection;
using pycov::RunConfig;
using pycov::hitfile::MakeOtherUserDirectory;
using pycov::hitfile::HitFileWriter;
using pycov::hitfile::kThreadKinds;
using pycov::hitfile::ThreadKind;
using pycov::tracer::Arc;

constexpr int32_t kNoLine = INT32_MIN;

// The first function version pycov gives (see KeepOutOfSubscriptCalls): above any that fits
// the 16 bits of a subscript's cache.
constexpr uint32_t kFirstFunctionVersion = 1u << 31;

// What the tracer knows about one source file: whether it is measured, and where its line
// bits are, one bitmap per kind of thread. Lives for the whole process (code objects point at
// it through co_extra).
struct FileSlot {
  bool measured = false;
  uint32_t file_index = 0;
  uint8_t* bits[kThreadKinds] = {};
  uint32_t line_count[kThreadKinds] = {};
};

FileSlot g_not_measured;

struct FrameEntry {
  PyFrameObject* frame;
  FileSlot* file;
  int32_t last_line;  // for arcs: the line the frame ran before this one
  uint32_t kind;      // the ThreadKind its lines are recorded under
};

// What the frame hook needs to know about one code object of a measured file: its lines (and
// with --branch its possible arcs), and whether each kind of thread has recorded them all in
// this process. Lives in the code object's extras and dies with it (FreeCodeState).
struct CodeState {
  FileSlot* slot = nullptr;
  std::vector<int32_t> lines;        // every line an instruction of this code object carries
  uint32_t complete_kinds = 0;       // bit per ThreadKind: all `lines` (and all arcs) recorded
  // Bit per ThreadKind: every line (and arc) a frame records before an exception event in it
  // is recorded, so its frames may start untraced. Implied by complete_kinds.
  uint32_t untraced_kinds = 0;
  // Bit per ThreadKind: every line is recorded but quiet returns, so a frame of it that the hook
  // will see leave may have the thread's tracing paused (no exception events then). Implied
  // by complete_kinds.
  uint32_t pausable_kinds = 0;
  // With line coverage, the code's quiet returns (possible_arcs.h), and bit per ThreadKind: one
  // of their lines is not recorded yet. A frame the hook started records it when it returns
  // from there, so those lines need not be recorded for its frames to start untraced or be
  // paused: a loop whose `return total` runs only at its end runs on the fast path.
  std::vector<pycov::tracer::QuietReturn> quiet_returns;
  uint32_t quiet_pending_kinds = 0;
  uint64_t fork_generation = 0;      // the kinds hold for this process only
  uint64_t checked_at[kThreadKinds] = {};  // g_new_records when last found incomplete
  PyCodeObject* code = nullptr;      // borrowed: the state lives in the code object's extras
  // The arcs the code's frames can record, worked out when first needed: when a frame of it
  // starts with a line missing, or with --branch once its lines are all recorded (code whose
  // lines all run in its first frame never pays for it with line coverage).
  enum class Arcs : uint8_t { kNotWorkedOut, kKnown, kNotUnderstood } arcs_known = Arcs::kNotWorkedOut;
  pycov::tracer::FrameArcs arcs;                  // with --branch only
  std::vector<int32_t> lines_without_exceptions;  // the lines of arcs.without_exceptions
};

// Counts line bits newly set and arcs newly recorded, so that an incomplete code object is
// checked again only after something was recorded somewhere. Changed under the GIL only.
uint64_t g_new_records = 0;
// Bumped in a forked child, whose hit file starts empty: no code object is complete there.
uint64_t g_fork_generation = 0;

// The frame entries of each greenlet switched away from while it had frames followed, keyed by
// its address: each greenlet has its own frames, and a frame a switch resumes goes on from the
// line it switched at (with --branch the arc from that line is recorded) with the kind it had.
// A greenlet keeps its place while it runs, so that switches among greenlets seen before
// allocate nothing (the vectors trade places); it is forgotten at its last switch, the one
// that leaves it dead. pycov holds no reference, weak or strong, to it: the program can count
// them.
using SuspendedGreenlets = std::unordered_map<PyObject*, std::vector<FrameEntry>>;

// Per-thread tracer state; the thread state's c_traceobj.
struct ThreadTracer {
  PyObject_HEAD
  std::vector<FrameEntry>* stack;  // the running greenlet's, while switches are followed
  SuspendedGreenlets* suspended_greenlets;
  uint32_t kind;  // how the thread was started (a ThreadKind; never kGreenlet)
  Py_tracefunc chained_func;  // the program's own trace function, if any
  PyObject* chained_obj;
  // Set while pycov has paused tracing of this thread because the running frame's code became
  // complete (c_tracefunc is then null, c_traceobj still this tracer): that frame.
  _PyInterpreterFrame* paused_in;
  // Greenlet switches in this thread are followed (FollowGreenletSwitches), and the greenlet
  // trace function the program had installed before, called after pycov's: or nullptr.
  bool follows_greenlet_switches;
  PyObject* chained_greenlet_trace;
  // The kind the thread runs as now: its own, or while switches are followed kGreenlet in a
  // greenlet other than its main one (set at every switch).
  uint32_t current_kind;
};

struct ProcessTracer {
  bool started = false;
  bool branch = false;
  bool timid = false;
  Py_ssize_t code_extra_index = -1;
  Py_ssize_t code_state_index = -1;  // co_extra slot of CodeState, for measured code
  bool greenlet_imported = false;    // kinds can change within a thread: trace measured frames
  HitFileWriter writer;
  FileSelection selection;
  std::unordered_map<std::string, FileSlot*> slots_by_code_filename;
  std::unordered_map<std::string, FileSlot*> slots_by_path;
  PyObject* original_settrace = nullptr;
  PyObject* original_gettrace = nullptr;
  PyObject* original_start_new_thread = nullptr;
  PyObject* original_os_exit = nullptr;
  PyObject* original_setprofile = nullptr;
  std::string events_path;                  // Python-level observations, one JSON object per line
  std::unordered_map<std::string, bool> modules_seen;
  PyObject* greenlet_getcurrent = nullptr;  // greenlet.getcurrent, once greenlet is imported
  // greenlet's C API (greenlet 2 and later): which greenlet runs, without a Python call.
  PyObject* (*greenlet_get_current)() = nullptr;
  int (*greenlet_is_main)(PyObject*) = nullptr;
  int (*greenlet_is_active)(PyObject*) = nullptr;  // started and not dead
  PyObject* greenlet_settrace = nullptr;  // greenlet's own settrace and gettrace, where the C
  PyObject* greenlet_gettrace = nullptr;  // API was found (the module then has pycov's)
  unsigned long main_thread = 0;            // PyThread_get_thread_ident() of the main thread
  uint32_t next_function_version = kFirstFunctionVersion;  // see KeepOutOfSubscriptCalls
};

// Set by the _thread.start_new_thread trampoline in the thread it starts, before any of its
// Python code runs: the thread's tracer is then created knowing where the thread came from.
thread_local bool t_started_by_thread_module = false;

// The innermost frame this thread evaluates through pycov's frame hook: only such a frame may
// pause tracing, because only the hook notices it leave and resumes tracing then.
// Initial-exec: read at every frame, it must not cost a __tls_get_addr call (a few bytes of
// the static TLS surplus glibc keeps for modules loaded later).
__attribute__((tls_model("initial-exec"))) thread_local _PyInterpreterFrame* t_hooked_frame = nullptr;

// Set while pycov's sys.settrace wrapper runs: a "sys.settrace" audit event outside it comes
// from C code calling PyEval_SetTrace.
thread_local bool t_in_settrace_wrapper = false;

ProcessTracer* g = nullptr;  // never freed: trace calls can come during interpreter teardown

// Keeps the thread's pending exception (one being thrown into a generator, or the one an audit
// event or a trace event comes with) aside while pycov calls into Python, and puts it back,
// replacing anything pycov's own calls left.
class KeepPendingException {
 public:
  KeepPendingException() { PyErr_Fetch(&type_, &value_, &traceback_); }
  ~KeepPendingException() { PyErr_Restore(type_, value_, traceback_); }
  KeepPendingException(const KeepPendingException&) = delete;
  KeepPendingException& operator=(const KeepPendingException&) = delete;

 private:
  PyObject *type_ = nullptr, *value_ = nullptr, *traceback_ = nullptr;
};

int Trace(PyObject* obj, PyFrameObject* frame, int what, PyObject* arg);
PyTypeObject ThreadTracerType{};
const char kThreadDictKey[] = "pycov.thread_tracer";

void ThreadTracerDealloc(PyObject* self) {
  auto* tt = reinterpret_cast<ThreadTracer*>(self);
  delete tt->stack;
  delete tt->suspended_greenlets;
  Py_CLEAR(tt->chained_obj);
  Py_CLEAR(tt->chained_greenlet_trace);
  Py_TYPE(self)->tp_free(self);
}

// ---------------------------------------------------------------------------------------
// Files and lines

// A relative co_filename (modules found through a '' entry of sys.path) is relative to the
// directory the program is in when the file is first seen, as coverage.py takes it.
std::string RealPath(const std::string& filename) {
  std::string absolute = filename;
  if (absolute.empty() || absolute[0] != '/') {
    char cwd[PATH_MAX];
    absolute = std::string(getcwd(cwd, sizeof(cwd)) != nullptr ? cwd : "/") + "/" + filename;
  }
  char resolved[PATH_MAX];
  if (realpath(absolute.c_str(), resolved) != nullptr) return resolved;
  return absolute;
}

void RecordEvent(const char* event, const std::string& fields, PyFrameObject* where);
void AppendJsonString(std::string& out, const char* text, Py_ssize_t size);
FileSlot* SlotForCode(PyCodeObject* code);

// Code compiled from a string (exec, eval, compile with a made-up name) has no source file
// that any report can show. Noted once per name, when measured code ran it directly.
void NoteCodeWithoutSource(const std::string& filename) {
  static bool noting = false;
  if (noting || filename.rfind("<frozen", 0) == 0) return;
  PyFrameObject* frame = PyEval_GetFrame();  // the frame being called
  PyFrameObject* caller = frame != nullptr ? PyFrame_GetBack(frame) : nullptr;
  if (caller == nullptr) return;
  noting = true;
  PyCodeObject* code = PyFrame_GetCode(caller);
  if (SlotForCode(code)->measured) {
    std::string fields = "\"filename\":";
    AppendJsonString(fields, filename.c_str(), Py_ssize_t(filename.size()));
    RecordEvent("no-source", fields, caller);
  }
  Py_DECREF(code);
  Py_DECREF(caller);
  noting = false;
}

FileSlot* SlotForFilename(PyObject* co_filename) {
  Py_ssize_t size = 0;
  const char* utf8 = PyUnicode_AsUTF8AndSize(co_filename, &size);
  if (utf8 == nullptr) {
    PyErr_Clear();
    return &g_not_measured;
  }
  std::string filename(utf8, size_t(size));
  if (auto it = g->slots_by_code_filename.find(filename); it != g->slots_by_code_filename.end())
    return it->second;
  FileSlot* slot = &g_not_measured;
  // "<string>", "<frozen ...>", "<stdin>": code with no file of its own.
  if (!filename.empty() && filename[0] == '<' && !g->events_path.empty()) NoteCodeWithoutSource(filename);
  if (!filename.empty() && filename[0] != '<') {
    std::string path = RealPath(filename);
    if (auto it = g->slots_by_path.find(path); it != g->slots_by_path.end()) {
      slot = it->second;
    } else if (g->selection.Selects(path)) {
      int32_t index = g->writer.AddFile(path);
      if (index >= 0) {
        slot = new FileSlot{true, uint32_t(index), nullptr, 0};
        g->slots_by_path.emplace(path, slot);
      }
    }
  }
  g->slots_by_code_filename.emplace(std::move(filename), slot);
  return slot;
}

// CPython's layout of a code object's extras (_PyCodeObjectExtra in Objects/codeobject.c).
// Reading it directly saves two calls into libpython on every frame; VerifyCodeExtraLayout
// checks it once at start, and without that check passing the API is used (for reading, and
// for making a code object's first extras, SetCodeExtra).
struct CodeExtraLayout {
  Py_ssize_t size;
  void* extras[1];
};
bool g_code_extra_layout_verified = false;

inline void* CodeExtra(PyCodeObject* code, Py_ssize_t index) {
  if (g_code_extra_layout_verified) {
    const auto* extra = static_cast<const CodeExtraLayout*>(code->co_extra);
    return extra != nullptr && index < extra->size ? extra->extras[index] : nullptr;
  }
  void* value = nullptr;
  if (_PyCode_GetExtra(reinterpret_cast<PyObject*>(code), index, &value) != 0) return nullptr;  // not a code object
  return value;
}

// A code object's CodeState goes with it: a program that compiles measured code again and
// again (templates, exec of a file's source) would otherwise grow by one for each code object
// (about 1 KiB with 50 lines). CPython calls this for every code object whose extras array
// covers pycov's index, with NULL where pycov set nothing. Only code objects hold CodeStates.
void FreeCodeState(void* state) { delete static_cast<CodeState*>(state); }

void VerifyCodeExtraLayout() {
  PyObject* code = Py_CompileString("0", "<pycov layout check>", Py_eval_input);
  if (code == nullptr) {
    PyErr_Clear();
    return;
  }
  auto* typed = reinterpret_cast<PyCodeObject*>(code);
  int first = 0;
  auto* second = new CodeState{};  // FreeCodeState deletes it when it is cleared below
  bool same = _PyCode_SetExtra(code, g->code_extra_index, &first) == 0 &&
              _PyCode_SetExtra(code, g->code_state_index, second) == 0 && typed->co_extra != nullptr;
  if (same) {
    const auto* extra = static_cast<const CodeExtraLayout*>(typed->co_extra);
    same = extra->size > std::max(g->code_extra_index, g->code_state_index) &&
           extra->extras[g->code_extra_index] == &first && extra->extras[g->code_state_index] == second;
  }
  PyErr_Clear();
  _PyCode_SetExtra(code, g->code_extra_index, nullptr);
  _PyCode_SetExtra(code, g->code_state_index, nullptr);
  PyErr_Clear();
  Py_DECREF(code);
  g_code_extra_layout_verified = same;
}

// Sets one of pycov's extras. A code object without extras gets an array just large enough for
// pycov's slots: _PyCode_SetExtra would size it for every index requested so far, and CPython
// calls each index's free function on every code object whose array covers it, with NULL
// where nothing was set. A program's own free function would then run for every code object
// pycov touched, at the interpreter's exit too (CPython's test_code registers one written in
// Python, through ctypes, which crashes when called that late). The array is CPython's, freed
// by it, and grown by _PyCode_SetExtra when the program sets its own extra.
bool SetCodeExtra(PyCodeObject* code, Py_ssize_t index, void* value) {
  if (g_code_extra_layout_verified && code->co_extra == nullptr) {
    const Py_ssize_t size = std::max(g->code_extra_index, g->code_state_index) + 1;
    auto* extra = static_cast<CodeExtraLayout*>(PyMem_Malloc(sizeof(CodeExtraLayout) + (size - 1) * sizeof(void*)));
    if (extra == nullptr) return false;
    extra->size = size;
    for (Py_ssize_t i = 0; i < size; ++i) extra->extras[i] = nullptr;
    extra->extras[index] = value;
    code->co_extra = extra;
    return true;
  }
  if (_PyCode_SetExtra(reinterpret_cast<PyObject*>(code), index, value) == 0) return true;
  PyErr_Clear();
  return false;
}

FileSlot* SlotForCode(PyCodeObject* code) {
  if (void* extra = CodeExtra(code, g->code_extra_index); extra != nullptr) return static_cast<FileSlot*>(extra);
  FileSlot* slot = SlotForFilename(code->co_filename);
  SetCodeExtra(code, g->code_extra_index, slot);
  return slot;
}

// Rarely taken: a line beyond the file's bitmap gets a bigger bitmap (the old one stays in
// the hit file with its bits; the reader unions them).
void GrowLines(FileSlot* slot, uint32_t kind, int32_t line) {
  uint32_t count = 256;
  while (count <= uint32_t(line)) count *= 2;
  uint8_t* bits = g->writer.AllocateLines(slot->file_index, count, ThreadKind(kind));
  if (bits == nullptr) return;  // the hit file's header says hits were lost; pycov reports it
  slot->bits[kind] = bits;
  slot->line_count[kind] = count;
}

// Returns true when the line was not recorded before (for this kind of thread).
inline bool MarkLine(FileSlot* slot, uint32_t kind, int32_t line) {
  // Line 0 is what CPython reports for an empty module; coverage.py records it too.
  if (line < 0) return false;
  if (uint32_t(line) >= slot->line_count[kind]) {
    GrowLines(slot, kind, line);
    if (uint32_t(line) >= slot->line_count[kind]) return false;
  }
  uint8_t& byte = slot->bits[kind][line >> 3];
  const uint8_t mask = uint8_t(1u << (line & 7));
  if (byte & mask) return false;
  byte |= mask;
  ++g_new_records;
  return true;
}

inline bool IsResume(_Py_CODEUNIT word) {
  int opcode = _Py_OPCODE(word);
  return opcode == RESUME || opcode == RESUME_QUICK;
}

// The lines of a code object's instructions, from co_lines(). RESUME is left out: it raises
// no line event, and its line (the def, class or decorator line) is recorded by the
// enclosing code that ran the definition. A line wrongly kept only keeps its code traced; a
// line wrongly left out could lose it, so only that one instruction is left out.
std::vector<int32_t> LinesOfCode(PyCodeObject* code) {
  std::vector<int32_t> lines;
  auto unit_lines = pycov::tracer::UnitLines(code);
  if (!unit_lines) return lines;
  const _Py_CODEUNIT* words = _PyCode_CODE(code);
  for (size_t unit = 0; unit < unit_lines->size(); ++unit) {
    const int32_t line = (*unit_lines)[unit];
    if (line != -1 && !IsResume(words[unit])) lines.push_back(line);
  }
  std::sort(lines.begin(), lines.end());
  lines.erase(std::unique(lines.begin(), lines.end()), lines.end());
  return lines;
}

// The CodeState of a code object of a measured file, made the first time it is asked for.
CodeState* CodeStateFor(PyCodeObject* code, FileSlot* slot) {
  if (void* extra = CodeExtra(code, g->code_state_index); extra != nullptr) return static_cast<CodeState*>(extra);
  auto* state = new CodeState();
  state->slot = slot;
  state->lines = LinesOfCode(code);
  state->code = code;
  state->fork_generation = g_fork_generation;
  for (auto& at : state->checked_at) at = UINT64_MAX;
  if (!SetCodeExtra(code, g->code_state_index, state)) {
    delete state;
    return nullptr;
  }
  return state;
}

void CheckRecorded(CodeState* state, uint32_t kind);

// Whether `kinds` of the code (one of the bit sets below) holds `kind` in this process. Asked
// at every frame: the answers known since the last new line cost two comparisons.
inline bool HasKind(CodeState* state, uint32_t CodeState::*kinds, uint32_t kind) {
  if (state->fork_generation == g_fork_generation) [[likely]] {
    if (state->*kinds & (1u << kind)) return true;
    if (state->checked_at[kind] == g_new_records) return false;
  }
  CheckRecorded(state, kind);
  return state->*kinds & (1u << kind);
}

// Whether every line (and with --branch every arc) of the code object is recorded for `kind`:
// a frame of it has nothing at all left to record.
inline bool Complete(CodeState* state, uint32_t kind) { return HasKind(state, &CodeState::complete_kinds, kind); }

// Whether a frame of the code may start untraced for `kind`: what it records before an
// exception event in it is all recorded, but quiet returns.
inline bool MayStartUntraced(CodeState* state, uint32_t kind) { return HasKind(state, &CodeState::untraced_kinds, kind); }

// Whether the rest of a frame of the code, if the hook sees it leave, may run with the thread's
// tracing paused for `kind`: every line is recorded but quiet returns.
inline bool Pausable(CodeState* state, uint32_t kind) { return HasKind(state, &CodeState::pausable_kinds, kind); }

// The code's possible arcs (possible_arcs.h), worked out the first time they are needed.
bool WorkOutArcs(CodeState* state) {
  if (state->arcs_known == CodeState::Arcs::kNotWorkedOut) {
    std::optional<pycov::tracer::FrameArcs> arcs;
    {
      KeepPendingException pending;  // may run in the frame hook, with an exception being thrown in
      if (auto bytecode = pycov::tracer::ReadBytecode(state->code)) {
        arcs = pycov::tracer::PossibleArcs(*bytecode);
        if (arcs && !g->branch) state->quiet_returns = pycov::tracer::QuietReturns(*bytecode);
      }
    }
    state->arcs_known = arcs ? CodeState::Arcs::kKnown : CodeState::Arcs::kNotUnderstood;
    if (arcs) {
      state->arcs = std::move(*arcs);
      for (const Arc& arc : state->arcs.without_exceptions)
        if (arc.second >= 0) state->lines_without_exceptions.push_back(arc.second);
      auto& lines = state->lines_without_exceptions;
      std::sort(lines.begin(), lines.end());
      lines.erase(std::unique(lines.begin(), lines.end()), lines.end());
      if (!g->branch) state->arcs = {};  // line coverage needs only the lines
    }
  }
  return state->arcs_known == CodeState::Arcs::kKnown;
}

inline bool LineRecorded(const FileSlot* slot, uint32_t kind, int32_t line) {
  return uint32_t(line) < slot->line_count[kind] && (slot->bits[kind][line >> 3] & (1u << (line & 7)));
}

bool AllLinesRecorded(const FileSlot* slot, uint32_t kind, const std::vector<int32_t>& lines) {
  for (int32_t line : lines)
    if (line >= 0 && !LineRecorded(slot, kind, line)) return false;
  return true;
}

bool IsQuietReturnLine(const CodeState* state, int32_t line) {
  for (const auto& quiet : state->quiet_returns)
    if (quiet.line == line) return true;
  return false;
}

// Whether `lines` are all recorded but those of quiet returns.
bool AllLinesRecordedButQuiet(const CodeState* state, uint32_t kind, const std::vector<int32_t>& lines) {
  for (int32_t line : lines)
    if (line >= 0 && !LineRecorded(state->slot, kind, line) && !IsQuietReturnLine(state, line)) return false;
  return true;
}

bool QuietReturnLinePending(const CodeState* state, uint32_t kind) {
  for (const auto& quiet : state->quiet_returns)
    if (!LineRecorded(state->slot, kind, quiet.line)) return true;
  return false;
}

bool AllArcsRecorded(const FileSlot* slot, const std::vector<Arc>& arcs) {
  for (const Arc& arc : arcs)
    if (!g->writer.HasArc(slot->file_index, arc.first, arc.second)) return false;
  return true;
}

void CheckRecorded(CodeState* state, uint32_t kind) {
  if (state->fork_generation != g_fork_generation) {
    state->fork_generation = g_fork_generation;
    state->complete_kinds = state->untraced_kinds = state->pausable_kinds = state->quiet_pending_kinds = 0;
    for (auto& at : state->checked_at) at = UINT64_MAX;
  }
  const uint32_t bit = 1u << kind;
  if ((state->complete_kinds & bit) || state->checked_at[kind] == g_new_records) return;
  state->checked_at[kind] = g_new_records;
  const FileSlot* slot = state->slot;
  if (state->lines.empty()) return;  // nothing known of it: keep tracing
  const bool all_lines = AllLinesRecorded(slot, kind, state->lines);
  // With line coverage, code whose lines are all recorded needs no analysis.
  const bool complete = all_lines && (!g->branch || (WorkOutArcs(state) && AllArcsRecorded(slot, state->arcs.all)));
  if (complete) {
    state->complete_kinds |= bit;
    state->untraced_kinds |= bit;
    state->pausable_kinds |= bit;
    state->quiet_pending_kinds &= ~bit;
    return;
  }
  if (!WorkOutArcs(state)) return;
  if (QuietReturnLinePending(state, kind)) state->quiet_pending_kinds |= bit;
  else state->quiet_pending_kinds &= ~bit;
  if (!g->branch && !state->quiet_returns.empty() && AllLinesRecordedButQuiet(state, kind, state->lines))
    state->pausable_kinds |= bit;
  if (!(state->untraced_kinds & bit) && AllLinesRecordedButQuiet(state, kind, state->lines_without_exceptions) &&
      (!g->branch || AllArcsRecorded(slot, state->arcs.without_exceptions))) {
    state->untraced_kinds |= bit;
  }
}

// A frame the hook started returned, and its code has a quiet return whose line is not recorded
// yet for the thread's kind: if the frame returned from one, its line is recorded now. Not for
// code run by a trace or profile function, which CPython does not trace either.
inline ThreadTracer* TracerInThreadState(PyThreadState* tstate);

[[gnu::noinline]] void RecordQuietReturn(PyThreadState* tstate, _PyInterpreterFrame* frame, CodeState* state) {
  ThreadTracer* tt = TracerInThreadState(tstate);  // none while --timid leaves the thread to the program
  if (tstate->tracing != 0 || tt == nullptr) return;
  const uint32_t kind = tt->current_kind;
  if (state->fork_generation != g_fork_generation) CheckRecorded(state, kind);
  const uint32_t bit = 1u << kind;
  if (!(state->quiet_pending_kinds & bit)) return;
  const _Py_CODEUNIT* first = _PyCode_CODE(frame->f_code);
  const _Py_CODEUNIT* at = frame->prev_instr;
  if (at < first || _Py_OPCODE(*at) != RETURN_VALUE) return;  // a yield, or a generator made
  const uint32_t unit = uint32_t(at - first);
  for (const auto& quiet : state->quiet_returns) {
    if (quiet.unit == unit) {
      MarkLine(state->slot, kind, quiet.line);
      if (!QuietReturnLinePending(state, kind)) state->quiet_pending_kinds &= ~bit;
      return;
    }
  }
}

// After a frame the hook started returned normally (a non-null result): a quiet return to
// record? The check costs two comparisons where there is none.
inline void AfterReturn(PyThreadState* tstate, _PyInterpreterFrame* frame, CodeState* state, PyObject* result) {
  if (state != nullptr && state->quiet_pending_kinds != 0 && result != nullptr) [[unlikely]]
    RecordQuietReturn(tstate, frame, state);
}

inline void MarkArc(FileSlot* slot, int32_t from, int32_t to) {
  if (from == kNoLine) return;
  const uint32_t arcs_before = g->writer.arc_count();
  g->writer.RecordArc(slot->file_index, from, to);  // a dropped arc is flagged in the header
  g_new_records += g->writer.arc_count() - arcs_before;
}

// ---------------------------------------------------------------------------------------
// Trace events

// The instruction the frame is at, in the bytecode that runs; nullptr before its first one.
const _Py_CODEUNIT* InstructionAt(PyFrameObject* frame, PyCodeObject* code) {
  const int lasti = PyFrame_GetLasti(frame);
  if (lasti < 0 || lasti / 2 >= Py_SIZE(code)) return nullptr;
  return &_PyCode_CODE(code)[lasti / 2];
}

// A "call" event also starts a generator or coroutine again: after a yield (the frame is at a
// RESUME with a nonzero oparg), or with an exception thrown into it. coverage.py takes it for a
// real call, and records the arc from -firstlineno, when the instruction the frame is at has
// oparg 0: RESUME 0, the YIELD_VALUE of a generator thrown into at a `yield`, and the
// RETURN_GENERATOR of one thrown into (or closed) before it started. Thrown into at a
// `yield from` or an `await` whose iterator raised, the frame is at the jump CPython backs it
// up to (JUMP_BACKWARD_NO_INTERRUPT, with a nonzero oparg), and the arc then starts at the line
// of the `await`. pycov takes the same calls for real ones.
bool IsRealCall(PyFrameObject* frame, PyCodeObject* code) {
  const _Py_CODEUNIT* at = InstructionAt(frame, code);
  return at == nullptr || _Py_OPARG(*at) == 0;
}

// A generator or coroutine that ran untraced and was thrown into (throw(), close()) at a
// `yield`, or before it started: its first event is the exception, at its YIELD_VALUE or
// RETURN_GENERATOR, and coverage.py, which saw a call event first, took that for a real call
// (IsRealCall). An exception raised in the frame is never at either instruction.
bool IsThrownIntoAsACall(PyFrameObject* frame, PyCodeObject* code) {
  const _Py_CODEUNIT* at = InstructionAt(frame, code);
  return at != nullptr && (_Py_OPCODE(*at) == YIELD_VALUE || _Py_OPCODE(*at) == RETURN_GENERATOR);
}

// A "return" event is also a yield: the frame is then at its YIELD_VALUE. (Not "the next unit
// is RESUME", as in co_code: in the bytecode that runs, the unit after an instruction that
// raised may be its inline cache, whose counter can read as RESUME, and the exit arc of an
// exception leaving the frame was then lost.)
bool IsRealReturn(PyFrameObject* frame, PyCodeObject* code) {
  const _Py_CODEUNIT* at = InstructionAt(frame, code);
  return at == nullptr || _Py_OPCODE(*at) != YIELD_VALUE;
}

inline PyCodeObject* CodeOf(PyFrameObject* frame) { return frame->f_frame->f_code; }

bool WrapGreenletTraceFunctions(PyObject* greenlet);

// greenlet's C API, from its capsule, where greenlet has it all: PyGreenlet_GetCurrent, and
// PyGreenlet_MAIN and PyGreenlet_ACTIVE, which greenlet 2.0 added (slots 4, 8 and 10 of
// greenlet.h's _PyGreenlet_API).
// Looked for once greenlet's module is whole (the import event comes before it runs).
void FindGreenletApi(PyObject* greenlet, PyObject* settrace) {
  PyObject* version = PyObject_GetAttrString(greenlet, "__version__");
  const char* text = version != nullptr && PyUnicode_Check(version) ? PyUnicode_AsUTF8(version) : nullptr;
  const bool has_main = text != nullptr && std::atoi(text) >= 2;
  Py_XDECREF(version);
  PyObject* capsule = has_main ? PyObject_GetAttrString(greenlet, "_C_API") : nullptr;
  void** api = capsule != nullptr ? static_cast<void**>(PyCapsule_GetPointer(capsule, "greenlet._C_API")) : nullptr;
  Py_XDECREF(capsule);
  PyErr_Clear();
  PyObject* gettrace = api != nullptr ? PyObject_GetAttrString(greenlet, "gettrace") : nullptr;
  PyErr_Clear();
  if (gettrace == nullptr) return;  // greenlet without tracing
  // Kept for good: the wrappers, once in the module, call them.
  g->greenlet_settrace = Py_NewRef(settrace);
  g->greenlet_gettrace = gettrace;
  if (!WrapGreenletTraceFunctions(greenlet)) {
    PyErr_Clear();
    return;  // switches are not followed: measured frames stay traced
  }
  g->greenlet_get_current = reinterpret_cast<PyObject* (*)()>(api[4]);
  g->greenlet_is_main = reinterpret_cast<int (*)(PyObject*)>(api[8]);
  g->greenlet_is_active = reinterpret_cast<int (*)(PyObject*)>(api[10]);
}

// Looks greenlet up once its module is whole (the import event comes before it runs):
// greenlet.getcurrent, and the C API where greenlet has it. Whether it has been found.
bool LookUpGreenlet() {
  if (g->greenlet_getcurrent != nullptr) return true;
  // Asked for most frames whose caller ran untraced until then, so without making strings:
  // the interpreter's module dict (what sys.modules is unless replaced) and an interned name.
  static PyObject* const name = PyUnicode_InternFromString("greenlet");
  PyObject* modules = PyImport_GetModuleDict();
  PyObject* greenlet = modules != nullptr && name != nullptr ? PyDict_GetItemWithError(modules, name) : nullptr;
  if (greenlet == nullptr) {
    PyErr_Clear();  // none is set for a str key; the caller keeps a pending exception aside
    return false;
  }
  // The module is whole once its last names are there (settrace comes after getcurrent).
  PyObject* settrace = PyObject_GetAttrString(greenlet, "settrace");
  if (settrace == nullptr) {
    PyErr_Clear();
    return false;
  }
  g->greenlet_getcurrent = PyObject_GetAttrString(greenlet, "getcurrent");
  if (g->greenlet_getcurrent == nullptr) {
    PyErr_Clear();
    Py_DECREF(settrace);
    return false;
  }
  FindGreenletApi(greenlet, settrace);
  Py_DECREF(settrace);
  return true;
}

// Whether this thread now runs inside a greenlet other than its main one. Asked where a frame
// cannot inherit its caller's kind (a greenlet's first frame, a frame switched back to) while
// pycov does not follow the thread's switches, and once when it starts to.
bool InNonMainGreenlet() {
  if (!LookUpGreenlet()) return false;
  if (g->greenlet_get_current != nullptr) {
    PyObject* current = g->greenlet_get_current();
    if (current == nullptr) {
      PyErr_Clear();
      return false;
    }
    const bool main = g->greenlet_is_main(current) != 0;
    Py_DECREF(current);
    return !main;
  }
  PyObject* current = PyObject_CallNoArgs(g->greenlet_getcurrent);
  if (current == nullptr) {
    PyErr_Clear();
    return false;
  }
  PyObject* parent = PyObject_GetAttrString(current, "parent");
  Py_DECREF(current);
  if (parent == nullptr) {
    PyErr_Clear();
    return false;
  }
  bool non_main = parent != Py_None;  // only a thread's main greenlet has no parent
  Py_DECREF(parent);
  return non_main;
}

uint32_t KindHere(ThreadTracer* tt) {
  if (tt->follows_greenlet_switches) return tt->current_kind;
  if (g->greenlet_getcurrent == nullptr && tt->stack->empty()) return tt->kind;
  KeepPendingException pending;
  return InNonMainGreenlet() ? uint32_t(ThreadKind::kGreenlet) : tt->kind;
}

// A called frame runs in its caller's kind of thread; only when the caller is not the frame
// on top (a greenlet starting, a switch) is the kind worked out again.
uint32_t KindOfNewFrame(ThreadTracer* tt, PyFrameObject* frame) {
  const auto& stack = *tt->stack;
  _PyInterpreterFrame* caller = frame->f_frame->previous;
  if (!stack.empty() && caller != nullptr && stack.back().frame->f_frame == caller) return stack.back().kind;
  return KindHere(tt);
}

// Starts following `frame` from `last_line`. Unmeasured code (the standard library, installed
// packages) then costs no line events, unless the program has its own trace function, which
// must see every event.
FrameEntry* PushEntry(ThreadTracer* tt, PyFrameObject* frame, FileSlot* slot, int32_t last_line, uint32_t kind) {
  tt->stack->push_back({frame, slot, last_line, kind});
  if (!slot->measured && tt->chained_func == nullptr) frame->f_trace_lines = 0;
  return &tt->stack->back();
}

void OnCall(ThreadTracer* tt, PyFrameObject* frame) {
  PyCodeObject* code = CodeOf(frame);
  FileSlot* slot = SlotForCode(code);
  int32_t last_line = kNoLine;
  if (slot->measured && g->branch)
    last_line = IsRealCall(frame, code) ? -code->co_firstlineno : PyFrame_GetLineNumber(frame);
  PushEntry(tt, frame, slot, last_line, KindOfNewFrame(tt, frame));
  if (slot->measured) {
    KeepPendingException pending;
    CodeStateFor(code, slot);
  }
}

// Finds the stack entry of `frame`. Frames are normally the top entry; a frame entered before
// tracing started, or one whose events were skipped, is found below or added.
FrameEntry* EntryFor(ThreadTracer* tt, PyFrameObject* frame, bool add_missing) {
  auto& stack = *tt->stack;
  if (!stack.empty() && stack.back().frame == frame) return &stack.back();
  for (size_t i = stack.size(); i-- > 0;) {
    if (stack[i].frame == frame) {
      stack.resize(i + 1);
      return &stack.back();
    }
  }
  if (!add_missing) return nullptr;
  return PushEntry(tt, frame, SlotForCode(CodeOf(frame)), kNoLine, KindOfNewFrame(tt, frame));
}

// Whether a frame of measured `code` has nothing at all left to record for `kind`.
bool NothingLeftIn(PyCodeObject* code, uint32_t kind) {
  void* extra = CodeExtra(code, g->code_state_index);
  return extra != nullptr && Complete(static_cast<CodeState*>(extra), kind);
}

// Whether a frame of measured `code` that the hook will see leave has nothing to record for
// `kind` that needs its line events: all is recorded but quiet returns.
bool NothingLeftButQuietReturnsIn(PyCodeObject* code, uint32_t kind) {
  void* extra = CodeExtra(code, g->code_state_index);
  return extra != nullptr && Pausable(static_cast<CodeState*>(extra), kind);
}

// The rest of `frame` has nothing to record: when the hook will see the frame leave, pauses
// tracing of the thread. With no trace function, CPython sets use_tracing to 0 when the
// current event returns, and the frame runs on the fast path. What it calls passes the hook,
// which traces it if needed. Not with a trace function of the program's (it must see every
// event) or with greenlets (a switch brings back the tracing state of the frames it left).
bool PauseTracingIn(ThreadTracer* tt, PyFrameObject* frame) {
  if (g->greenlet_imported || tt->chained_func != nullptr) return false;
  PyThreadState* tstate = PyThreadState_Get();
  if (frame->f_frame != t_hooked_frame || tstate->c_tracefunc != Trace || tstate->c_profilefunc != nullptr) return false;
  tt->paused_in = frame->f_frame;
  tstate->c_tracefunc = nullptr;  // c_traceobj stays: the hook resumes with it
  return true;
}

void OnLine(ThreadTracer* tt, PyFrameObject* frame) {
  FrameEntry* entry = EntryFor(tt, frame, true);
  FileSlot* slot = entry->file;
  if (!slot->measured) return;
  int32_t line = PyFrame_GetLineNumber(frame);
  if (MarkLine(slot, entry->kind, line) && !g->branch) {
    // That may have been the last missing line of this code object, but quiet returns, which
    // the hook records when the frame leaves.
    if (NothingLeftButQuietReturnsIn(CodeOf(frame), entry->kind) && PauseTracingIn(tt, frame)) {
      tt->stack->pop_back();  // no return event will come for it
      return;
    }
    if (!g->greenlet_imported && tt->chained_func == nullptr && NothingLeftIn(CodeOf(frame), entry->kind))
      frame->f_trace_lines = 0;
  }
  if (g->branch) {
    MarkArc(slot, entry->last_line, line);
    entry->last_line = line;
  }
}

// An untraced frame raised at a line of a quiet return (loading an unbound local): it has run,
// and the frame will not return from there.
void RecordQuietReturnRaisedAt(PyCodeObject* code, uint32_t kind, PyFrameObject* frame) {
  auto* state = static_cast<CodeState*>(CodeExtra(code, g->code_state_index));
  if (state == nullptr || state->quiet_returns.empty()) return;
  const int line = PyFrame_GetLineNumber(frame);
  if (IsQuietReturnLine(state, line)) MarkLine(state->slot, kind, line);
}

// An exception was raised in `frame`, or reached it from a frame it called. CPython reports it
// even where the frame runs untraced (pycov's function stays installed; only the frame's
// use_tracing is off), and turns tracing on for the rest of the frame when this event returns.
// A frame that started untraced has recorded what its frames record before an exception (see
// possible_arcs.h), but where the exception takes it (a handler, a re-raise, the exit) may be
// new: it is traced from here, from the line it raised at, which is the line of the last line
// event a traced frame would have had. Unless there is nothing at all left to record in it
// (unmeasured code; with line coverage, code whose lines are all recorded): then its tracing
// is paused and it goes on at full speed. With --branch a measured frame stays traced: once
// paused, an exception leaving it would give no return event to record its exit arc.
void OnException(ThreadTracer* tt, PyFrameObject* frame) {
  if (EntryFor(tt, frame, false) != nullptr) return;  // a traced frame: its events come as they are
  PyCodeObject* code = CodeOf(frame);
  FileSlot* slot = SlotForCode(code);
  const uint32_t kind = KindOfNewFrame(tt, frame);
  if (slot->measured && !g->branch) RecordQuietReturnRaisedAt(code, kind, frame);
  const bool nothing_left = !slot->measured || (!g->branch && NothingLeftButQuietReturnsIn(code, kind));
  if (nothing_left && PauseTracingIn(tt, frame)) return;
  int32_t last_line = kNoLine;
  if (slot->measured && g->branch) {
    if (IsThrownIntoAsACall(frame, code))
      last_line = -code->co_firstlineno;
    else if (const int line = PyFrame_GetLineNumber(frame); line >= 0)
      last_line = line;
  }
  PushEntry(tt, frame, slot, last_line, kind);
}

void OnReturn(ThreadTracer* tt, PyFrameObject* frame) {
  FrameEntry* entry = EntryFor(tt, frame, false);
  if (entry == nullptr) return;
  if (g->branch && entry->file->measured) {
    PyCodeObject* code = CodeOf(frame);
    if (IsRealReturn(frame, code)) MarkArc(entry->file, entry->last_line, -code->co_firstlineno);
  }
  tt->stack->pop_back();
}

ThreadTracer* ThreadTracerForThisThread(_PyInterpreterFrame* first_frame);

// Makes pycov's trace function the installed one for `tstate` (the current thread's),
// keeping whatever the program installed, if anything, as the chained function. Called for a
// thread never seen before (with the first frame it runs), after sys.settrace(), and when C
// code replaced the trace function.
void Adopt(PyThreadState* tstate, _PyInterpreterFrame* first_frame = nullptr) {
  KeepPendingException pending;
  ThreadTracer* tt = ThreadTracerForThisThread(first_frame);
  if (tt != nullptr) tt->paused_in = nullptr;  // whoever traces the thread now, it is not paused
  // --timid: while the program has a trace function of its own, it has the thread to itself,
  // as it would unmeasured; pycov comes back when the program removes it.
  if (g->timid && tstate->c_tracefunc != nullptr && tstate->c_tracefunc != Trace) tt = nullptr;
  if (tt != nullptr) {
    Py_tracefunc wanted_func = tstate->c_tracefunc;
    PyObject* wanted_obj = tstate->c_traceobj;
    if (wanted_func != Trace) {
      Py_XINCREF(wanted_obj);
      PyObject* old_chained = tt->chained_obj;
      tt->chained_func = wanted_func;
      tt->chained_obj = wanted_obj;
      Py_XDECREF(old_chained);
    }
    // Set directly rather than through _PyEval_SetTrace, which would raise a
    // "sys.settrace" audit event the program never caused.
    PyObject* old = tstate->c_traceobj;
    Py_INCREF(tt);
    tstate->c_traceobj = nullptr;
    tstate->c_tracefunc = Trace;
    tstate->c_traceobj = reinterpret_cast<PyObject*>(tt);
    tstate->cframe->use_tracing = tstate->tracing == 0 ? 255 : 0;
    Py_XDECREF(old);
  }
}

bool IsThreadingBootstrap(PyCodeObject* code) {
  const char* name = PyUnicode_AsUTF8(code->co_name);
  const char* file = PyUnicode_AsUTF8(code->co_filename);
  if (name == nullptr || file == nullptr) {
    PyErr_Clear();
    return false;
  }
  const size_t length = std::strlen(file);
  return std::strcmp(name, "_bootstrap") == 0 && length >= 12 && std::strcmp(file + length - 12, "threading.py") == 0;
}

// How the current thread was started, from the first frame it runs.
uint32_t KindOfThisThread(_PyInterpreterFrame* first_frame) {
  if (PyThread_get_thread_ident() == g->main_thread) return uint32_t(ThreadKind::kMain);
  if (first_frame != nullptr && IsThreadingBootstrap(first_frame->f_code)) return uint32_t(ThreadKind::kThreading);
  if (t_started_by_thread_module) return uint32_t(ThreadKind::kRawThread);
  return uint32_t(ThreadKind::kNative);
}

// The thread's tracer object is also kept in the thread-state dict, so it outlives a
// program's sys.settrace() replacing it, with its frame stack intact.
ThreadTracer* ThreadTracerForThisThread(_PyInterpreterFrame* first_frame) {
  PyObject* dict = PyThreadState_GetDict();
  if (dict == nullptr) return nullptr;
  PyObject* existing = PyDict_GetItemString(dict, kThreadDictKey);
  if (existing != nullptr) return reinterpret_cast<ThreadTracer*>(existing);
  auto* tt = PyObject_New(ThreadTracer, &ThreadTracerType);
  if (tt == nullptr) {
    PyErr_Clear();
    return nullptr;
  }
  tt->stack = new std::vector<FrameEntry>();
  tt->stack->reserve(256);
  tt->suspended_greenlets = new SuspendedGreenlets();
  tt->kind = KindOfThisThread(first_frame);
  tt->chained_func = nullptr;
  tt->chained_obj = nullptr;
  tt->paused_in = nullptr;
  tt->follows_greenlet_switches = false;
  tt->chained_greenlet_trace = nullptr;
  tt->current_kind = tt->kind;
  int rc = PyDict_SetItemString(dict, kThreadDictKey, reinterpret_cast<PyObject*>(tt));
  Py_DECREF(tt);
  if (rc != 0) {
    PyErr_Clear();
    return nullptr;
  }
  return tt;
}

int CallChained(ThreadTracer* tt, PyFrameObject* frame, int what, PyObject* arg) {
  Py_tracefunc func = tt->chained_func;
  PyObject* obj = tt->chained_obj;
  Py_XINCREF(obj);
  int rc = func(obj, frame, what, arg);
  Py_XDECREF(obj);
  // The chained function may have replaced or removed the trace function (sys.settrace's
  // trampoline removes itself when the Python function raises): that is now what the
  // program wants, behind pycov's function.
  PyThreadState* tstate = PyThreadState_Get();
  if (tstate->c_tracefunc != Trace) Adopt(tstate);
  return rc;
}

int Trace(PyObject* obj, PyFrameObject* frame, int what, PyObject* arg) {
  auto* tt = reinterpret_cast<ThreadTracer*>(obj);
  switch (what) {
    case PyTrace_LINE: OnLine(tt, frame); break;
    case PyTrace_CALL: OnCall(tt, frame); break;
    case PyTrace_RETURN: OnReturn(tt, frame); break;
    case PyTrace_EXCEPTION: OnException(tt, frame); break;
    default: break;
  }
  if (tt->chained_func != nullptr) return CallChained(tt, frame, what, arg);
  return 0;
}

// Whether a frame of `code` about to run in this thread has nothing to record and no one
// else to serve: only pycov's trace function is installed (no program trace or profile
// function), and the code is unmeasured, or all its lines (and arcs) are recorded for the kind
// the thread runs as, but those only an exception reaches and quiet returns (`state_out` is
// then the code's state). Code not seen yet is traced: its first call event looks its file up.
[[gnu::always_inline]] inline bool NothingToRecord(PyThreadState* tstate, PyCodeObject* code, CodeState** state_out) {
  if (tstate->c_tracefunc != Trace || tstate->c_profilefunc != nullptr || tstate->tracing != 0) return false;
  auto* tt = reinterpret_cast<ThreadTracer*>(tstate->c_traceobj);
  if (tt->chained_func != nullptr) return false;
  // Reading the extras never sets an error: an exception being thrown into a generator is
  // pending here and must stay so.
  void* extra = CodeExtra(code, g->code_extra_index);
  if (extra == nullptr) return false;
  if (!static_cast<FileSlot*>(extra)->measured) return true;
  extra = CodeExtra(code, g->code_state_index);
  if (extra == nullptr) return false;
  *state_out = static_cast<CodeState*>(extra);
  // A switch gives the greenlet it resumes the tracing state of the one it leaves: a frame of
  // measured code runs untraced only where pycov sets that state right after each switch.
  if (g->greenlet_imported && !tt->follows_greenlet_switches) return false;
  // The thread's kind or, in a greenlet other than its main one, a greenlet's: known from the
  // last switch (without greenlets, always the thread's).
  return MayStartUntraced(static_cast<CodeState*>(extra), tt->current_kind);
}

// What CPython itself sets use_tracing to for the thread's current state.
inline uint8_t CPythonTracingState(PyThreadState* tstate) {
  return tstate->tracing == 0 && (tstate->c_tracefunc != nullptr || tstate->c_profilefunc != nullptr) ? 255 : 0;
}

// pycov's object in the thread state: while pycov traces the thread, and also while it has
// paused the thread's tracing (no trace function, its object kept). Otherwise nullptr.
inline ThreadTracer* TracerInThreadState(PyThreadState* tstate) {
  PyObject* obj = tstate->c_traceobj;
  return obj != nullptr && Py_TYPE(obj) == &ThreadTracerType ? reinterpret_cast<ThreadTracer*>(obj) : nullptr;
}

// The tracer of this thread when pycov has paused its tracing, or nullptr.
inline ThreadTracer* PausedTracer(PyThreadState* tstate) {
  ThreadTracer* tt = tstate->c_tracefunc == nullptr ? TracerInThreadState(tstate) : nullptr;
  return tt != nullptr && tt->paused_in != nullptr ? tt : nullptr;
}

// The frame that paused tracing (its code became complete) has now left, or yielded: tracing
// resumes. Whether it did.
inline bool ResumeIfPausedIn(PyThreadState* tstate, _PyInterpreterFrame* frame) {
  if (ThreadTracer* tt = PausedTracer(tstate); tt != nullptr && tt->paused_in == frame) {
    tt->paused_in = nullptr;
    tstate->c_tracefunc = Trace;
    return true;
  }
  return false;
}

// "<string>", "<frozen ...>", "<stdin>": code compiled from text rather than read from a file.
bool HasNoFileOfItsOwn(PyCodeObject* code) {
  return PyUnicode_GET_LENGTH(code->co_filename) > 0 && PyUnicode_READ_CHAR(code->co_filename, 0) == '<';
}

// CPython 3.11.0-3.11.3 (Debian 12 ships 3.11.2) specialise a subscript of an object whose
// class has a __getitem__ written in Python into a call made by the subscript itself, which
// runs the method in its caller's C frame without passing the frame-evaluation hook: in a
// frame pycov runs untraced, the method would run untraced too, and its lines not yet
// recorded would be lost (3.11.4 stopped specialising it under a hook). The specialisation
// only takes a function whose version (a field CPython gives a function when it first
// specialises a call to it, and that only such calls read) fits in 16 bits. pycov gives a
// version of its own above that to every function that becomes a class's __getitem__ (see
// WatchSubscriptMethods), and to the function of every frame the hook's general case sees
// (every frame it traces), and a new one when the program replaces such a function's code or
// defaults (KeepVersionsWhenFunctionsChange), so that such subscripts call the method as any
// other call is made, through the hook. The versions stay unique, as CPython's are, should
// anything else read them.
void KeepOutOfSubscriptCalls(PyFunctionObject* function) {
  if (function->func_version < kFirstFunctionVersion) function->func_version = g->next_function_version++;
}

PyObject* g_getitem_name = nullptr;  // "__getitem__", interned

// The __getitem__ a class defines itself, if written in Python. Reads the class's dict
// without calling into Python.
void KeepSubscriptMethodOutOfSubscriptCalls(PyTypeObject* type) {
  if (!(type->tp_flags & Py_TPFLAGS_HEAPTYPE) || type->tp_dict == nullptr) return;
  PyObject* method = PyDict_GetItem(type->tp_dict, g_getitem_name);  // borrowed; a str key raises nothing
  if (method != nullptr && PyFunction_Check(method)) KeepOutOfSubscriptCalls(reinterpret_cast<PyFunctionObject*>(method));
}

// How `type` makes classes and sets their attributes, before pycov wrapped them.
newfunc g_type_new = nullptr;
setattrofunc g_type_setattro = nullptr;

// `type`'s tp_new, wrapped: every class made in Python (class statements, type(), metaclasses
// that call type.__new__) passes here, with the methods it was made with.
PyObject* NewType(PyTypeObject* metatype, PyObject* args, PyObject* kwds) {
  PyObject* made = g_type_new(metatype, args, kwds);
  if (made != nullptr && PyType_Check(made)) KeepSubscriptMethodOutOfSubscriptCalls(reinterpret_cast<PyTypeObject*>(made));
  return made;
}

// `type`'s tp_setattro, wrapped: a __getitem__ put on a class after it was made.
int SetTypeAttribute(PyObject* type, PyObject* name, PyObject* value) {
  const int status = g_type_setattro(type, name, value);
  if (status == 0 && value != nullptr && PyFunction_Check(value) && PyUnicode_Check(name) &&
      (name == g_getitem_name || PyUnicode_Compare(name, g_getitem_name) == 0))
    KeepOutOfSubscriptCalls(reinterpret_cast<PyFunctionObject*>(value));
  return status;
}

// function.__code__, __defaults__ and __kwdefaults__: setting any of them resets the function's
// version, for CPython's caches keyed by it assume the old code and defaults. A function pycov
// gave a version gets a new one of pycov's (a fresh number, for the same reason); the others
// are left as CPython leaves them. The descriptors are pointed at copies of their definitions
// whose setter (one per attribute, so that it knows which original to call) calls the
// original one; getter and closure stay CPython's, so reading these attributes costs nothing more.
constexpr const char* kVersionResettingAttributes[] = {"__code__", "__defaults__", "__kwdefaults__"};
constexpr size_t kVersionResettingCount = std::size(kVersionResettingAttributes);
setter g_original_setters[kVersionResettingCount];
PyGetSetDef g_version_resetting_attributes[kVersionResettingCount];

template <size_t kAttribute>
int SetFunctionAttribute(PyObject* function, PyObject* value, void* closure) {
  auto* as_function = reinterpret_cast<PyFunctionObject*>(function);  // the descriptor checked its type
  const bool had_our_version = as_function->func_version >= kFirstFunctionVersion;
  const int status = g_original_setters[kAttribute](function, value, closure);
  if (had_our_version) KeepOutOfSubscriptCalls(as_function);
  return status;
}

constexpr setter kVersionKeepingSetters[] = {SetFunctionAttribute<0>, SetFunctionAttribute<1>, SetFunctionAttribute<2>};
static_assert(std::size(kVersionKeepingSetters) == kVersionResettingCount);

void KeepVersionsWhenFunctionsChange() {
  for (size_t i = 0; i < kVersionResettingCount; ++i) {
    PyObject* found = PyDict_GetItemString(PyFunction_Type.tp_dict, kVersionResettingAttributes[i]);  // borrowed
    if (found == nullptr || !Py_IS_TYPE(found, &PyGetSetDescr_Type)) continue;
    auto* descriptor = reinterpret_cast<PyGetSetDescrObject*>(found);
    if (descriptor->d_getset->set == nullptr) continue;
    g_original_setters[i] = descriptor->d_getset->set;
    g_version_resetting_attributes[i] = *descriptor->d_getset;
    g_version_resetting_attributes[i].set = kVersionKeepingSetters[i];
    descriptor->d_getset = &g_version_resetting_attributes[i];
  }
}

// Every function that becomes a class's __getitem__ gets a version of pycov's (above): the
// __getitem__ of the classes that exist when tracing starts (some modules are imported before
// it: what .pth files import, Debian's own sitecustomize), and, through `type`'s tp_new and
// tp_setattro, wrapped, those of classes made or changed later. Nothing the program can see
// changes: the wrappers call what they wrap and only set a version. CPython compares these
// slot pointers along a class's metaclasses (type.__new__ and type.__setattr__ refuse a
// metaclass whose slot differs from type's without a Python method in between), so every
// metaclass that has type's own slot gets the wrapper too, and so do the slot wrappers
// behind type.__setattr__ and type.__delattr__, which metaclasses made later take their
// tp_setattro from.
bool WatchSubscriptMethods() {
  if (g_type_new != nullptr) return true;  // once: wrapping the wrappers would loop
  g_getitem_name = PyUnicode_InternFromString("__getitem__");
  if (g_getitem_name == nullptr) return false;
  g_type_new = PyType_Type.tp_new;
  g_type_setattro = PyType_Type.tp_setattro;
  KeepVersionsWhenFunctionsChange();
  for (const char* name : {"__setattr__", "__delattr__"}) {  // both call tp_setattro
    PyObject* slot = PyDict_GetItemString(PyType_Type.tp_dict, name);  // borrowed
    if (slot == nullptr || !Py_IS_TYPE(slot, &PyWrapperDescr_Type)) continue;
    auto* wrapper = reinterpret_cast<PyWrapperDescrObject*>(slot);
    if (wrapper->d_wrapped == reinterpret_cast<void*>(g_type_setattro))
      wrapper->d_wrapped = reinterpret_cast<void*>(SetTypeAttribute);
  }
  // Every class there is, from `object` down through tp_subclasses (in 3.11 a dict of weak
  // references, keyed by id). A class with several bases is listed under each; it is visited
  // from its tp_base alone, so once.
  std::vector<PyTypeObject*> to_visit{&PyBaseObject_Type};
  while (!to_visit.empty()) {
    PyTypeObject* type = to_visit.back();
    to_visit.pop_back();
    if (type->tp_new == g_type_new) type->tp_new = NewType;
    if (type->tp_setattro == g_type_setattro) type->tp_setattro = SetTypeAttribute;
    KeepSubscriptMethodOutOfSubscriptCalls(type);
    if (type->tp_subclasses == nullptr || !PyDict_Check(type->tp_subclasses)) continue;
    Py_ssize_t position = 0;
    PyObject* reference = nullptr;
    while (PyDict_Next(type->tp_subclasses, &position, nullptr, &reference)) {
      PyObject* subclass = PyWeakref_GET_OBJECT(reference);
      if (subclass != Py_None && PyType_Check(subclass) && reinterpret_cast<PyTypeObject*>(subclass)->tp_base == type)
        to_visit.push_back(reinterpret_cast<PyTypeObject*>(subclass));
    }
  }
  return true;
}

// The hook's general case: tracing paused, a thread to adopt, a frame to trace, a program with
// trace or profile functions of its own.
[[gnu::noinline]] PyObject* EvalFrameGeneral(PyThreadState* tstate, _PyInterpreterFrame* frame, int throwflag) {
  KeepOutOfSubscriptCalls(frame->f_func);
  // A frame called from a paused one: tracing resumes for it (if it needs it) and is paused
  // again when it returns.
  ThreadTracer* paused = PausedTracer(tstate);
  _PyInterpreterFrame* paused_in = nullptr;
  if (paused != nullptr) {
    paused_in = paused->paused_in;
    paused->paused_in = nullptr;
    tstate->c_tracefunc = Trace;
  } else if (tstate->c_tracefunc != Trace && !(g->timid && tstate->c_tracefunc != nullptr)) {
    Adopt(tstate, frame);
  }
  // The new frame's evaluation copies use_tracing from the current C frame (its caller's),
  // and on its way out copies its own back into it. A frame with nothing to record runs with
  // tracing off (what it calls passes here again); one with something to record runs traced
  // even when its caller does not.
  _PyCFrame* caller = tstate->cframe;
  const uint8_t caller_tracing = caller->use_tracing;
  const Py_tracefunc trace_before = tstate->c_tracefunc, profile_before = tstate->c_profilefunc;
  const Py_tracefunc chained_before =
      trace_before == Trace ? reinterpret_cast<ThreadTracer*>(tstate->c_traceobj)->chained_func : nullptr;
  // Code seen for the first time has its file looked up now, so that code of a file that is
  // not measured never runs traced, not even in its first frame. Traced, CPython's slow path
  // allocates where the program would not (a bound method for each call of a method
  // descriptor), which moves the garbage collector's runs into the middle of the program's
  // calls (CPython's test_queue notices). A pending exception (one thrown into a generator)
  // stays pending. Left to the first call event as before: code without a file ("<string>"),
  // whose observation names the frame that runs it, and programs with greenlets, where a
  // switch brings back the tracing state of the frames it left.
  if (tstate->c_tracefunc == Trace && !g->greenlet_imported &&
      CodeExtra(frame->f_code, g->code_extra_index) == nullptr && !HasNoFileOfItsOwn(frame->f_code)) {
    KeepPendingException pending;
    SlotForCode(frame->f_code);
  }
  CodeState* state = nullptr;
  caller->use_tracing = NothingToRecord(tstate, frame->f_code, &state) ? 0 : CPythonTracingState(tstate);
  // Traced, CPython 3.11 checks the eval breaker at the frame's first instruction before it
  // moves past it, and dispatches that instruction again after each check. A thread other than
  // the main one cannot clear a breaker set for a signal the main thread has to handle, so it
  // would go round until the main thread next takes the GIL: for ever when the main thread
  // waits for this one (a lock, a pipe). The thread acts on what it could act on after
  // retaking the GIL, as an untraced frame's check lets it.
  if (caller->use_tracing != 0) pycov_recompute_eval_breaker(tstate);
  _PyInterpreterFrame* outer_hooked = t_hooked_frame;
  t_hooked_frame = frame;
  PyObject* result = _PyEval_EvalFrameDefault(tstate, frame, throwflag);
  t_hooked_frame = outer_hooked;
  if (state == nullptr) state = static_cast<CodeState*>(CodeExtra(frame->f_code, g->code_state_index));
  ResumeIfPausedIn(tstate, frame);
  AfterReturn(tstate, frame, state, result);
  // The caller's own setting back, unless the frame changed who traces the thread (the
  // program set or removed a trace or profile function): then as CPython itself would set it.
  const bool unchanged =
      tstate->c_tracefunc == trace_before && tstate->c_profilefunc == profile_before &&
      (trace_before != Trace || reinterpret_cast<ThreadTracer*>(tstate->c_traceobj)->chained_func == chained_before);
  if (paused_in != nullptr && unchanged) {
    // Back to the paused frame: paused again.
    reinterpret_cast<ThreadTracer*>(tstate->c_traceobj)->paused_in = paused_in;
    tstate->c_tracefunc = nullptr;
    caller->use_tracing = CPythonTracingState(tstate);
  } else {
    caller->use_tracing = unchanged ? caller_tracing : CPythonTracingState(tstate);
  }
  return result;
}

// Whether pycov's trace function traces the thread on its own: no profile function, no trace
// function of the program's chained to it.
inline bool PycovAloneTraces(PyThreadState* tstate) {
  return tstate->c_tracefunc == Trace && tstate->c_profilefunc == nullptr &&
         reinterpret_cast<ThreadTracer*>(tstate->c_traceobj)->chained_func == nullptr;
}

// A frame with nothing to record ran untraced, and it paused tracing (an exception in it, see
// OnException), or changed who traces the thread (set or removed a trace or profile
// function): in the first case the caller's own setting comes back, in the second the
// caller's tracing is what CPython would now set.
[[gnu::noinline]] void AfterTracingChanged(PyThreadState* tstate, _PyInterpreterFrame* frame, _PyCFrame* caller,
                                           uint8_t caller_tracing) {
  const bool resumed = ResumeIfPausedIn(tstate, frame);
  caller->use_tracing = resumed && PycovAloneTraces(tstate) ? caller_tracing : CPythonTracingState(tstate);
}

// Greenlet switches. greenlet hands the greenlet a switch resumes the tracing state
// (use_tracing) of the C frame the switch left, "for continuity": a frame that pycov traces
// would go on untraced after a switch from one it does not (code with nothing left to record,
// the standard library), until it returns, and lose its lines. So pycov installs a greenlet
// trace function (greenlet.settrace, per thread), which greenlet calls in the resumed greenlet
// right after each switch: the resumed frame goes on traced, as CPython itself would set it
// (pycov's trace function then sees its lines; what it calls passes the frame hook). greenlet
// 2 sets the same itself when a trace function of its returns. The program's own greenlet
// trace function, if it had one, is called after pycov's.

// The thread's tracer, also where pycov does not trace the thread now (--timid stepping
// aside for the program's trace function): the greenlet trace function the program installed
// is still called. Or nullptr.
ThreadTracer* KnownThreadTracer(PyThreadState* tstate) {
  if (ThreadTracer* tt = TracerInThreadState(tstate); tt != nullptr) return tt;
  PyObject* dict = PyThreadState_GetDict();
  PyObject* tt = dict != nullptr ? PyDict_GetItemString(dict, kThreadDictKey) : nullptr;
  return tt != nullptr && Py_TYPE(tt) == &ThreadTracerType ? reinterpret_cast<ThreadTracer*>(tt) : nullptr;
}

// The frame a switch resumes (the one that made the greenlet's last switch) goes on traced:
// greenlet sets use_tracing as CPython would when its trace function returns. Where that frame
// has nothing to record for the greenlet's kind (unmeasured code; with line coverage, code
// whose lines are all recorded), pycov pauses tracing in it instead, as at an exception in such
// a frame (OnException), and it runs on the fast path until it leaves or switches again; what
// it calls passes the frame hook as always. A loop that switches at every turn (an event
// loop's hub, a worker taking turns) would otherwise run traced for the rest of its life.
// Only a frame the hook started (it sees the frame leave and resumes tracing then), and not
// in a greenlet that is only starting (no frame of its own yet).
void PauseInResumedFrame(PyThreadState* tstate, ThreadTracer* tt) {
  _PyInterpreterFrame* resumed = tstate->cframe->current_frame;
  if (resumed == nullptr || !resumed->is_entry) return;
  if (tstate->c_tracefunc != Trace || tstate->c_profilefunc != nullptr || tt->chained_func != nullptr) return;
  PyCodeObject* code = resumed->f_code;
  void* extra = CodeExtra(code, g->code_extra_index);
  if (extra == nullptr) return;  // code not looked up yet
  if (static_cast<FileSlot*>(extra)->measured && (g->branch || !NothingLeftButQuietReturnsIn(code, tt->current_kind))) return;
  // Its entry, if it was traced before, goes: an exception in it is then taken as one in an
  // untraced frame (OnException), not as the next event of a traced one.
  if (PyFrameObject* frame = resumed->frame_obj; frame != nullptr) {
    auto& stack = *tt->stack;
    for (size_t i = stack.size(); i-- > 0;) {
      if (stack[i].frame == frame) {
        stack.erase(stack.begin() + std::ptrdiff_t(i));
        break;
      }
    }
  }
  tt->paused_in = resumed;
  tstate->c_tracefunc = nullptr;  // c_traceobj stays: the hook resumes with it
}

// Keeps the frame entries of the greenlet switched away from, and brings back those of the one
// resumed. A greenlet never suspended with frames followed (one starting) begins with none.
void SwitchFrameStacks(ThreadTracer* tt, PyObject* origin, PyObject* target) {
  if (origin == target) return;
  SuspendedGreenlets& suspended = *tt->suspended_greenlets;
  if (!g->greenlet_is_active(origin)) {
    suspended.erase(origin);  // it ended, or an error left it; another may take its address
  } else if (auto kept = suspended.find(origin); kept != suspended.end()) {
    kept->second.swap(*tt->stack);
  } else if (!tt->stack->empty()) {
    suspended.try_emplace(origin).first->second.swap(*tt->stack);
  }
  tt->stack->clear();
  if (auto resumed = suspended.find(target); resumed != suspended.end()) tt->stack->swap(resumed->second);
}

// greenlet's trace function: (event, (origin, target)), in the target, right after the switch.
PyObject* OnGreenletSwitch(PyObject*, PyObject* const* args, Py_ssize_t nargs) {
  PyThreadState* tstate = PyThreadState_Get();
  ThreadTracer* tt = KnownThreadTracer(tstate);
  if (tt == nullptr) Py_RETURN_NONE;
  // A pause belongs to the frame of the greenlet switched from; the resumed one is decided
  // afresh below (and the paused frame again when its greenlet is resumed).
  if (PausedTracer(tstate) == tt) {
    tt->paused_in = nullptr;
    tstate->c_tracefunc = Trace;
  }
  if (tstate->cframe->current_frame != nullptr) tstate->cframe->use_tracing = CPythonTracingState(tstate);
  PyObject* target = nargs == 2 && PyTuple_Check(args[1]) && PyTuple_GET_SIZE(args[1]) == 2
                         ? PyTuple_GET_ITEM(args[1], 1) : nullptr;
  if (target != nullptr && g->greenlet_is_main != nullptr)
    tt->current_kind = g->greenlet_is_main(target) != 0 ? tt->kind : uint32_t(ThreadKind::kGreenlet);
  if (tt->chained_greenlet_trace != nullptr) {
    PyObject* result = PyObject_Vectorcall(tt->chained_greenlet_trace, args, nargs, nullptr);
    if (result == nullptr) {
      // greenlet removes a trace function that raises (and the switch raises its error): the
      // program's is gone, as unmeasured, and pycov's comes back at the next frame. Switches
      // until then are not seen: the frame stack stays one for the thread, as without
      // following them.
      Py_CLEAR(tt->chained_greenlet_trace);
      tt->follows_greenlet_switches = false;
      tt->suspended_greenlets->clear();
      return nullptr;
    }
    Py_DECREF(result);
  }
  if (g->greenlet_is_main != nullptr) {
    if (target != nullptr) SwitchFrameStacks(tt, PyTuple_GET_ITEM(args[1], 0), target);
    PauseInResumedFrame(tstate, tt);
  }
  Py_RETURN_NONE;
}

PyMethodDef kGreenletSwitchDef = {"_greenlet_switch",
                                  reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)()>(OnGreenletSwitch)),
                                  METH_FASTCALL, "pycov's greenlet trace function: the tracing state after a switch."};

// Installs OnGreenletSwitch in this thread once greenlet is whole, with its C API (greenlet
// 2 and later; with an older greenlet measured frames stay traced).
void FollowGreenletSwitches(PyThreadState* tstate) {
  ThreadTracer* tt = TracerInThreadState(tstate);
  if (tt == nullptr || tt->follows_greenlet_switches) return;
  KeepPendingException pending;
  if (!LookUpGreenlet() || g->greenlet_get_current == nullptr) return;
  static PyObject* const callback = PyCFunction_New(&kGreenletSwitchDef, nullptr);
  if (callback == nullptr) {
    PyErr_Clear();
    return;
  }
  tt->follows_greenlet_switches = true;
  PyObject* previous = PyObject_CallOneArg(g->greenlet_settrace, callback);
  if (previous == nullptr) {
    PyErr_Clear();
    tt->follows_greenlet_switches = false;
    return;
  }
  if (previous != Py_None) tt->chained_greenlet_trace = previous;
  else Py_DECREF(previous);
  // From here on every switch sets it.
  tt->current_kind = InNonMainGreenlet() ? uint32_t(ThreadKind::kGreenlet) : tt->kind;
}

// greenlet.settrace and greenlet.gettrace as the program sees them: where pycov follows the
// thread's switches, its function stays installed and the program's is the one it calls next.
PyObject* GreenletSetTrace(PyObject*, PyObject* callback) {
  ThreadTracer* tt = KnownThreadTracer(PyThreadState_Get());
  if (tt == nullptr || !tt->follows_greenlet_switches) return PyObject_CallOneArg(g->greenlet_settrace, callback);
  PyObject* previous = tt->chained_greenlet_trace != nullptr ? tt->chained_greenlet_trace : Py_NewRef(Py_None);
  tt->chained_greenlet_trace = callback == Py_None ? nullptr : Py_NewRef(callback);
  return previous;
}

PyObject* GreenletGetTrace(PyObject*, PyObject*) {
  ThreadTracer* tt = KnownThreadTracer(PyThreadState_Get());
  if (tt == nullptr || !tt->follows_greenlet_switches) return PyObject_CallNoArgs(g->greenlet_gettrace);
  return Py_NewRef(tt->chained_greenlet_trace != nullptr ? tt->chained_greenlet_trace : Py_None);
}

PyMethodDef kGreenletSetTraceDef = {"settrace", GreenletSetTrace, METH_O,
                                    "settrace(callback)\n--\n\nSet the greenlet trace function of this thread."};
PyMethodDef kGreenletGetTraceDef = {"gettrace", GreenletGetTrace, METH_NOARGS,
                                    "gettrace()\n--\n\nThe greenlet trace function of this thread."};

// In the greenlet package and in its extension module, where programs find them.
bool WrapGreenletTraceFunctions(PyObject* greenlet) {
  PyObject* settrace = PyCFunction_New(&kGreenletSetTraceDef, nullptr);
  PyObject* gettrace = PyCFunction_New(&kGreenletGetTraceDef, nullptr);
  const bool ok = settrace != nullptr && gettrace != nullptr &&
                  PyObject_SetAttrString(greenlet, "settrace", settrace) == 0 &&
                  PyObject_SetAttrString(greenlet, "gettrace", gettrace) == 0;
  if (ok) {
    PyObject* extension = PyObject_GetAttrString(greenlet, "_greenlet");
    if (extension != nullptr && PyModule_Check(extension) &&
        PyObject_SetAttrString(extension, "settrace", settrace) == 0)
      PyObject_SetAttrString(extension, "gettrace", gettrace);
    Py_XDECREF(extension);
    PyErr_Clear();
  }
  Py_XDECREF(settrace);
  Py_XDECREF(gettrace);
  return ok;
}

// PEP 523 hook: every frame of every thread passes here first. Most frames, once a program
// has warmed up, have nothing to record: they take this short path (EvalFrameGeneral with
// what NothingToRecord implies already known: pycov's function alone traces the thread, not
// paused, nothing chained), which keeps the hook's own cost per call small.
PyObject* EvalFrame(PyThreadState* tstate, _PyInterpreterFrame* frame, int throwflag) {
  if (g->greenlet_imported) [[unlikely]] FollowGreenletSwitches(tstate);
  CodeState* state = nullptr;
  // Code with a quiet return to record takes the general path, which looks at the return: the
  // short one keeps nothing across the call.
  if (!NothingToRecord(tstate, frame->f_code, &state) || (state != nullptr && state->quiet_pending_kinds != 0))
    return EvalFrameGeneral(tstate, frame, throwflag);
  _PyCFrame* caller = tstate->cframe;
  const uint8_t caller_tracing = caller->use_tracing;
  caller->use_tracing = 0;
  _PyInterpreterFrame* outer_hooked = t_hooked_frame;
  t_hooked_frame = frame;
  PyObject* result = _PyEval_EvalFrameDefault(tstate, frame, throwflag);
  t_hooked_frame = outer_hooked;
  if (PycovAloneTraces(tstate)) [[likely]] {
    caller->use_tracing = caller_tracing;
  } else {
    AfterTracingChanged(tstate, frame, caller, caller_tracing);
  }
  return result;
}


// ---------------------------------------------------------------------------------------
// Python-level observations (SPEC §3 step 2): what the program did that matters for coverage
// measurement, with the call site in the user's code. They come from an audit hook and from
// the wrappers above, never from the line path.

int64_t NowUnixNs() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return int64_t(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

void AppendJsonString(std::string& out, const char* text, Py_ssize_t size) {
  out += '"';
  const size_t length = size < 0 ? std::strlen(text) : size_t(size);
  for (size_t i = 0; i < length; ++i) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += char(c);
    } else if (c < 0x20) {
      char escaped[8];
      std::snprintf(escaped, sizeof(escaped), "\\u%04x", c);
      out += escaped;
    } else {
      out += char(c);
    }
  }
  out += '"';
}

void AppendJsonString(std::string& out, PyObject* text_object) {
  Py_ssize_t size = 0;
  const char* text = text_object != nullptr && PyUnicode_Check(text_object) ? PyUnicode_AsUTF8AndSize(text_object, &size)
                                                                             : nullptr;
  if (text == nullptr) {
    PyErr_Clear();
    out += "null";
    return;
  }
  AppendJsonString(out, text, size);
}

// The call site (the innermost frame of measured code) and the stack, innermost first.
void AppendCallSite(std::string& out, PyFrameObject* start) {
  std::string site = "null", stack = "[";
  int depth = 0;
  PyFrameObject* frame = start;
  Py_XINCREF(frame);
  while (frame != nullptr) {
    PyCodeObject* code = PyFrame_GetCode(frame);
    const int line = PyFrame_GetLineNumber(frame);
    FileSlot* slot = SlotForCode(code);
    std::string where;
    AppendJsonString(where, code->co_filename);
    where = "{\"path\":" + where + ",\"line\":" + std::to_string(line) + "}";
    if (site == "null" && slot->measured) site = where;
    if (depth < 12) stack += (depth ? "," : "") + where;
    ++depth;
    Py_DECREF(code);
    PyFrameObject* back = PyFrame_GetBack(frame);
    Py_DECREF(frame);
    frame = back;
  }
  out += ",\"site\":" + site + ",\"stack\":" + stack + "]";
}

// Writes one observation: {"event":..., "pid":..., "t":..., <fields>, "site":..., "stack":...}.
void RecordEvent(const char* event, const std::string& fields, PyFrameObject* where) {
  if (g == nullptr || g->events_path.empty()) return;
  std::string line = "{\"event\":";
  AppendJsonString(line, event, -1);
  line += ",\"pid\":" + std::to_string(getpid()) + ",\"t\":" + std::to_string(NowUnixNs());
  if (!fields.empty()) line += "," + fields;
  AppendCallSite(line, where);
  line += "}\n";
  // Opened for each observation (they are few: imports without source, trace functions,
  // raw thread starts, os._exit) so that no descriptor of pycov's stays open in the program,
  // which sees the descriptors it would see unmeasured (CPython's test_subprocess checks that
  // a child has exactly those it was passed). O_APPEND and one write: lines of several
  // processes (forked children write to their parent's file) never mix. The first one
  // creates the file. The program's errno stays.
  const int saved_errno = errno;
  int fd = open(g->events_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd >= 0) {
    ssize_t written = write(fd, line.data(), line.size());
    (void)written;
    close(fd);
  }
  errno = saved_errno;
}

std::string NameOfCallable(PyObject* callable) {
  std::string out;
  PyObject* name = callable != nullptr && callable != Py_None ? PyObject_GetAttrString(callable, "__qualname__")
                                                              : nullptr;
  if (name == nullptr) {
    PyErr_Clear();
    AppendJsonString(out, callable == Py_None || callable == nullptr ? "None" : Py_TYPE(callable)->tp_name, -1);
  } else {
    AppendJsonString(out, name);
    Py_DECREF(name);
  }
  return out;
}

// Whether a frame on the stack already has its own f_trace: code that points frame.f_trace at
// a function and then installs it (DecoratorTools' decorate_assignment) rather than the plain
// sys.settrace of a debugger or profiler.
bool SomeFrameHasItsOwnTrace(PyFrameObject* start) {
  bool found = false;
  PyFrameObject* frame = start;
  Py_XINCREF(frame);
  while (frame != nullptr && !found) {
    found = frame->f_trace != nullptr && frame->f_trace != Py_None;
    PyFrameObject* back = PyFrame_GetBack(frame);
    Py_DECREF(frame);
    frame = back;
  }
  Py_XDECREF(frame);
  return found;
}

bool IsWatchedModule(const char* name) {
  for (const char* watched : {"greenlet", "gevent", "eventlet", "multiprocessing"})
    if (std::strcmp(name, watched) == 0) return true;
  return false;
}

int AuditHook(const char* event, PyObject* args, void*) {
  if (g == nullptr || !g->started || g->events_path.empty()) return 0;
  // Most audit events are not ours: decide on the name's first characters.
  if (event[0] != 'o' && event[0] != 's' && event[0] != 'i') return 0;
  const bool exec = std::strcmp(event, "os.exec") == 0, fork = std::strcmp(event, "os.fork") == 0,
             forkpty = std::strcmp(event, "os.forkpty") == 0, spawn = std::strcmp(event, "os.posix_spawn") == 0,
             system = std::strcmp(event, "os.system") == 0, popen = std::strcmp(event, "subprocess.Popen") == 0,
             settrace = std::strcmp(event, "sys.settrace") == 0, setprofile = std::strcmp(event, "sys.setprofile") == 0,
             import = std::strcmp(event, "import") == 0;
  if (!(exec || fork || forkpty || spawn || system || popen || settrace || setprofile || import)) return 0;
  KeepPendingException pending;
  PyFrameObject* frame = PyEval_GetFrame();  // borrowed: the caller of the audited function
  std::string fields;
  const char* name = event;
  if (import) {
    PyObject* module = PyTuple_Check(args) && PyTuple_GET_SIZE(args) > 0 ? PyTuple_GET_ITEM(args, 0) : nullptr;
    const char* module_name = module != nullptr && PyUnicode_Check(module) ? PyUnicode_AsUTF8(module) : nullptr;
    if (module_name == nullptr || !IsWatchedModule(module_name) || g->modules_seen[module_name]) return 0;
    g->modules_seen[module_name] = true;
    if (std::strcmp(module_name, "multiprocessing") != 0) g->greenlet_imported = true;
    fields = "\"module\":";
    AppendJsonString(fields, module_name, -1);
  } else if (settrace || setprofile) {
    // The audit event carries no argument. sys.settrace/sys.setprofile calls are noted by
    // their wrappers, with the function; what is left is C code calling PyEval_SetTrace.
    if (setprofile || t_in_settrace_wrapper) return 0;
    fields = "\"function\":\"(a C function)\"";
  } else if (PyTuple_Check(args) && PyTuple_GET_SIZE(args) > 0) {
    PyObject* first = PyTuple_GET_ITEM(args, 0);
    if (PyUnicode_Check(first)) {
      fields = "\"argument\":";
      AppendJsonString(fields, first);
    } else if (PyBytes_Check(first)) {
      fields = "\"argument\":";
      AppendJsonString(fields, PyBytes_AS_STRING(first), PyBytes_GET_SIZE(first));
    }
  }
  RecordEvent(name, fields, frame);
  return 0;
}

// os._exit has no audit event: a wrapper notes it, then ends the process as the original does.
PyObject* OsExit(PyObject*, PyObject* args) {
  if (PyTuple_Check(args) && PyTuple_GET_SIZE(args) == 1 && PyLong_Check(PyTuple_GET_ITEM(args, 0))) {
    std::string fields = "\"code\":" + std::to_string(PyLong_AsLong(PyTuple_GET_ITEM(args, 0)));
    PyErr_Clear();
    RecordEvent("os._exit", fields, PyEval_GetFrame());
  }
  return PyObject_Call(g->original_os_exit, args, nullptr);
}

PyMethodDef kOsExitDef = {"_exit", OsExit, METH_VARARGS,
                          "_exit(status)\n--\n\nExit to the system with specified status, without normal exit processing."};

// Puts `def` in the os module in place of the function of its name, bound to the posix
// module as the originals are (their __self__, and so inspect's signature).
bool ReplaceInOs(PyObject* os_module, PyMethodDef* def) {
  PyObject* posix_module = PyImport_ImportModule("posix");
  PyObject* module_name = PyUnicode_FromString("posix");
  PyObject* wrapper =
      posix_module != nullptr && module_name != nullptr ? PyCFunction_NewEx(def, posix_module, module_name) : nullptr;
  const bool ok = wrapper != nullptr && PyObject_SetAttrString(os_module, def->ml_name, wrapper) == 0;
  Py_XDECREF(wrapper);
  Py_XDECREF(module_name);
  Py_XDECREF(posix_module);
  return ok;
}

bool WrapOsExit() {
  PyObject* os_module = PyImport_ImportModule("os");
  if (os_module == nullptr) return false;
  g->original_os_exit = PyObject_GetAttrString(os_module, "_exit");
  const bool ok = g->original_os_exit != nullptr && ReplaceInOs(os_module, &kOsExitDef);
  Py_DECREF(os_module);
  return ok;
}

// A program that drops root itself (os.setuid and the like: a daemon once it has bound its
// port) forks its workers as the new user, and those can create no hit file in pycov's
// directory: the user gets one of its own first, while the process still may make it. A
// process not running as root cannot, and does not wrap these functions.
struct UserChangingFunction {
  const char* name;
  int effective_user_argument;  // which argument the new effective user is
};
constexpr UserChangingFunction kUserChangingFunctions[] = {
    {"setuid", 0}, {"seteuid", 0}, {"setreuid", 1}, {"setresuid", 1}};
constexpr size_t kUserChangingCount = std::size(kUserChangingFunctions);
PyMethodDef g_user_changing_defs[kUserChangingCount];
PyObject* g_user_changing_originals[kUserChangingCount];  // the os module's own functions

// One function per wrapper, which ReplaceInOs binds to the posix module, so that its repr,
// qualname and signature are the original's ("<built-in function setuid>").
template <size_t kIndex>
PyObject* ChangeUser(PyObject*, PyObject* const* args, Py_ssize_t nargs) {
  const int position = kUserChangingFunctions[kIndex].effective_user_argument;
  if (position < nargs && PyLong_Check(args[position])) {
    const long user = PyLong_AsLong(args[position]);
    if (user == -1 && PyErr_Occurred()) PyErr_Clear();  // the function itself says what is wrong
    if (user >= 0 && uid_t(user) != geteuid()) {
      const int saved_errno = errno;
      MakeOtherUserDirectory(g->writer.run_dir(), uid_t(user), getegid());
      errno = saved_errno;
    }
  }
  return PyObject_Vectorcall(g_user_changing_originals[kIndex], args, size_t(nargs), nullptr);
}

template <size_t... kIndex>
constexpr std::array<_PyCFunctionFast, kUserChangingCount> UserChangingWrappers(std::index_sequence<kIndex...>) {
  return {ChangeUser<kIndex>...};
}

bool WrapUserChangingFunctions() {
  if (geteuid() != 0) return true;
  static constexpr auto kWrappers = UserChangingWrappers(std::make_index_sequence<kUserChangingCount>());
  PyObject* os_module = PyImport_ImportModule("os");
  bool ok = os_module != nullptr;
  for (size_t i = 0; ok && i < kUserChangingCount; ++i) {
    PyObject* original = PyObject_GetAttrString(os_module, kUserChangingFunctions[i].name);
    if (original == nullptr) {
      PyErr_Clear();  // not on this system
      continue;
    }
    g_user_changing_originals[i] = original;  // kept for the process's life
    // The wrapper answers help() and inspect as the original does.
    const char* doc = PyCFunction_Check(original) ? reinterpret_cast<PyCFunctionObject*>(original)->m_ml->ml_doc : nullptr;
    g_user_changing_defs[i] = {kUserChangingFunctions[i].name, reinterpret_cast<PyCFunction>(reinterpret_cast<void*>(kWrappers[i])),
                               METH_FASTCALL, doc};
    ok = ReplaceInOs(os_module, &g_user_changing_defs[i]);
  }
  Py_XDECREF(os_module);
  return ok;
}

// The file is created by the first observation: most processes make none, and creating a file
// costs each process tens of microseconds at start.
// It goes beside the process's hit file: in the run directory, or its user's directory there.
void NameEventsFile(const char* hit_file) {
  const char* slash = std::strrchr(hit_file, '/');
  const int directory_length = slash != nullptr ? int(slash - hit_file) : 1;
  char path[PATH_MAX];
  std::snprintf(path, sizeof(path), "%.*s/%d-%lld.events", directory_length, slash != nullptr ? hit_file : ".",
                int(getpid()), (long long)NowUnixNs());
  g->events_path = path;
}

// ---------------------------------------------------------------------------------------
// Fork: the child records into a file of its own before any of its Python code runs.

void AfterForkInChild() {
  if (g == nullptr || !g->started) return;
  if (!g->writer.SwitchToForkedChild()) {
    // Said where the bootstrap says a process is not measured: the process's stderr. (A
    // process that dropped root from C code, so that pycov made no directory for its user.)
    char message[PATH_MAX + 200];
    const int length = std::snprintf(message, sizeof(message), "pycov: warning: pid %d is not measured: cannot create %s: %s\n",
                                     int(getpid()), g->writer.path(), strerrordesc_np(errno));
    if (length > 0) (void)!write(STDERR_FILENO, message, std::min(size_t(length), sizeof(message) - 1));
  }
  ++g_fork_generation;
  // The thread that forked is the child's main thread; threads it starts are new.
  g->main_thread = PyThread_get_thread_ident();
}

// ---------------------------------------------------------------------------------------
// The module's Python interface

// Set while pycov's sys.settrace wrapper releases the program's previous trace function.
// CPython's sys.settrace refuses to run while it releases one (its __del__ may call it), and
// pycov releases the program's function itself (CPython releases only pycov's): the wrapper
// refuses the same way, with CPython's message. One flag for all threads, as CPython's is.
bool g_releasing_trace_function = false;

PyObject* SetTrace(PyObject*, PyObject* func) {
  if (g_releasing_trace_function) {
    PyErr_SetString(PyExc_RuntimeError,
                    "Cannot install a trace function while another trace function is being installed");
    return nullptr;
  }
  {
    PyFrameObject* caller = PyEval_GetFrame();
    PyThreadState* tstate = PyThreadState_Get();
    const bool had_own = tstate->c_tracefunc == Trace &&
                         reinterpret_cast<ThreadTracer*>(tstate->c_traceobj)->chained_func != nullptr;
    if (func != Py_None && SomeFrameHasItsOwnTrace(caller)) {
      RecordEvent("trace-fiddling", "\"function\":" + NameOfCallable(func), caller);
    } else if (func != Py_None || had_own) {
      RecordEvent("sys.settrace", "\"function\":" + NameOfCallable(func), caller);
    }
  }
  t_in_settrace_wrapper = true;
  PyObject* result = PyObject_CallOneArg(g->original_settrace, func);
  t_in_settrace_wrapper = false;
  if (result == nullptr) return nullptr;
  Py_DECREF(result);
  PyThreadState* tstate = PyThreadState_Get();
  g_releasing_trace_function = true;
  Adopt(tstate);
  g_releasing_trace_function = false;
  if (func != Py_None) {
    // Frames whose line events pycov switched off must deliver them to the program's
    // function again (a debugger sets f_trace on frames already running).
    PyFrameObject* f = PyEval_GetFrame();
    Py_XINCREF(f);
    while (f != nullptr) {
      f->f_trace_lines = 1;
      PyFrameObject* back = PyFrame_GetBack(f);
      Py_DECREF(f);
      f = back;
    }
  }
  Py_RETURN_NONE;
}

// sys.setprofile is wrapped only to note who installs a profile function (its audit event
// carries no argument): code run inside a profile function is never traced.
PyObject* SetProfile(PyObject*, PyObject* func) {
  if (func != Py_None) RecordEvent("sys.setprofile", "\"function\":" + NameOfCallable(func), PyEval_GetFrame());
  return PyObject_CallOneArg(g->original_setprofile, func);
}

// Where pycov's object is in the thread state (tracing or paused), the program sees its own
// function, or None, never pycov's (which, given back to sys.settrace, would be called as a
// trace function).
PyObject* GetTrace(PyObject*, PyObject*) {
  ThreadTracer* tt = TracerInThreadState(PyThreadState_Get());
  if (tt == nullptr) return PyObject_CallNoArgs(g->original_gettrace);
  PyObject* result = tt->chained_obj != nullptr ? tt->chained_obj : Py_None;
  Py_INCREF(result);
  return result;
}

PyMethodDef kSetTraceDef = {"settrace", SetTrace, METH_O,
                            "settrace(function)\n--\n\nSet the global debug tracing function (pycov keeps measuring)."};
PyMethodDef kSetProfileDef = {"setprofile", SetProfile, METH_O,
                              "setprofile(function)\n--\n\nSet the profiling function."};
PyMethodDef kGetTraceDef = {"gettrace", GetTrace, METH_NOARGS,
                            "gettrace()\n--\n\nReturn the global debug tracing function set with sys.settrace."};

bool WrapSysTraceFunctions() {
  g->original_settrace = PySys_GetObject("settrace");
  g->original_gettrace = PySys_GetObject("gettrace");
  g->original_setprofile = PySys_GetObject("setprofile");
  if (g->original_settrace == nullptr || g->original_gettrace == nullptr || g->original_setprofile == nullptr)
    return false;
  Py_INCREF(g->original_settrace);
  Py_INCREF(g->original_gettrace);
  Py_INCREF(g->original_setprofile);
  PyObject* sys_name = PyUnicode_FromString("sys");
  PyObject* settrace = PyCFunction_NewEx(&kSetTraceDef, nullptr, sys_name);
  PyObject* gettrace = PyCFunction_NewEx(&kGetTraceDef, nullptr, sys_name);
  PyObject* setprofile = PyCFunction_NewEx(&kSetProfileDef, nullptr, sys_name);
  Py_XDECREF(sys_name);
  bool ok = settrace != nullptr && gettrace != nullptr && setprofile != nullptr &&
            PySys_SetObject("settrace", settrace) == 0 && PySys_SetObject("gettrace", gettrace) == 0 &&
            PySys_SetObject("setprofile", setprofile) == 0;
  Py_XDECREF(settrace);
  Py_XDECREF(gettrace);
  Py_XDECREF(setprofile);
  return ok;
}

// _thread.start_new_thread is wrapped so that the thread it starts knows it came from there
// (a thread created by C code enters Python without it). The started callable is wrapped in a
// ThreadEntry, which looks like the callable to anything that prints it, and reports an
// exception that ends the thread as _thread itself would, naming the program's callable.
struct ThreadEntry {
  PyObject_HEAD
  PyObject* func;
};
PyTypeObject ThreadEntryType{};

PyObject* ThreadEntryCall(PyObject* self, PyObject* args, PyObject* kwargs) {
  t_started_by_thread_module = true;
  PyObject* func = reinterpret_cast<ThreadEntry*>(self)->func;
  PyObject* result = PyObject_Call(func, args, kwargs);
  if (result != nullptr) return result;
  // What _thread's thread_run does with an exception, done here with the program's callable:
  // returning it would make _thread report this wrapper as the object (sys.unraisablehook's
  // `object`), where the program expects its own function.
  if (PyErr_ExceptionMatches(PyExc_SystemExit)) PyErr_Clear();
  else _PyErr_WriteUnraisableMsg("in thread started by", func);
  Py_RETURN_NONE;
}
PyObject* ThreadEntryRepr(PyObject* self) { return PyObject_Repr(reinterpret_cast<ThreadEntry*>(self)->func); }
void ThreadEntryDealloc(PyObject* self) {
  Py_CLEAR(reinterpret_cast<ThreadEntry*>(self)->func);
  Py_TYPE(self)->tp_free(self);
}

PyObject* StartNewThread(PyObject*, PyObject* args) {
  // Anything the original would refuse goes to it unchanged, for the same error.
  if (!PyTuple_Check(args) || PyTuple_GET_SIZE(args) < 1 || !PyCallable_Check(PyTuple_GET_ITEM(args, 0)))
    return PyObject_Call(g->original_start_new_thread, args, nullptr);
  // threading starts its threads through here too; only other callers are raw _thread use.
  const std::string function = NameOfCallable(PyTuple_GET_ITEM(args, 0));
  if (function != "\"Thread._bootstrap\"")
    RecordEvent("_thread.start_new_thread", "\"function\":" + function, PyEval_GetFrame());
  auto* entry = PyObject_New(ThreadEntry, &ThreadEntryType);
  if (entry == nullptr) return nullptr;
  entry->func = Py_NewRef(PyTuple_GET_ITEM(args, 0));
  PyObject* wrapped_args = PyTuple_New(PyTuple_GET_SIZE(args));
  if (wrapped_args == nullptr) {
    Py_DECREF(entry);
    return nullptr;
  }
  PyTuple_SET_ITEM(wrapped_args, 0, reinterpret_cast<PyObject*>(entry));
  for (Py_ssize_t i = 1; i < PyTuple_GET_SIZE(args); ++i)
    PyTuple_SET_ITEM(wrapped_args, i, Py_NewRef(PyTuple_GET_ITEM(args, i)));
  PyObject* result = PyObject_Call(g->original_start_new_thread, wrapped_args, nullptr);
  Py_DECREF(wrapped_args);
  return result;
}

PyMethodDef kStartNewThreadDef = {"start_new_thread", StartNewThread, METH_VARARGS,
                                  "start_new_thread(function, args, kwargs=None)\n--\n\n"
                                  "Start a new thread and return its identifier (pycov notes where it came from)."};

bool WrapStartNewThread() {
  ThreadEntryType.tp_name = "_pycov_tracer.ThreadEntry";
  ThreadEntryType.tp_basicsize = sizeof(ThreadEntry);
  ThreadEntryType.tp_flags = Py_TPFLAGS_DEFAULT;
  ThreadEntryType.tp_call = ThreadEntryCall;
  ThreadEntryType.tp_repr = ThreadEntryRepr;
  ThreadEntryType.tp_dealloc = ThreadEntryDealloc;
  if (PyType_Ready(&ThreadEntryType) < 0) return false;
  PyObject* thread_module = PyImport_ImportModule("_thread");
  if (thread_module == nullptr) return false;
  g->original_start_new_thread = PyObject_GetAttrString(thread_module, "start_new_thread");
  PyObject* module_name = PyUnicode_FromString("_thread");
  PyObject* wrapper = g->original_start_new_thread != nullptr && module_name != nullptr
                          ? PyCFunction_NewEx(&kStartNewThreadDef, nullptr, module_name)
                          : nullptr;
  bool ok = wrapper != nullptr && PyObject_SetAttrString(thread_module, "start_new_thread", wrapper) == 0 &&
            PyObject_SetAttrString(thread_module, "start_new", wrapper) == 0;
  Py_XDECREF(wrapper);
  Py_XDECREF(module_name);
  Py_DECREF(thread_module);
  return ok;
}

// Without streams: the first one would set up the C++ locale in every measured process.
std::string ReadFile(const std::string& path) {
  std::string text;
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return text;
  char buffer[4096];
  ssize_t got;
  while ((got = read(fd, buffer, sizeof(buffer))) > 0 || (got < 0 && errno == EINTR))
    if (got > 0) text.append(buffer, size_t(got));
  close(fd);
  return text;
}

// Appends the strings of an iterable of str to `out`; false with an exception set on error.
bool AppendStrings(PyObject* iterable, std::vector<std::string>& out) {
  PyObject* iter = PyObject_GetIter(iterable);
  if (iter == nullptr) return false;
  while (PyObject* item = PyIter_Next(iter)) {
    if (const char* text = PyUnicode_AsUTF8(item)) out.emplace_back(text);
    Py_DECREF(item);
  }
  Py_DECREF(iter);
  return !PyErr_Occurred();
}

// start(run_dir, library_dirs, pycov_dirs, argv): starts recording into a new hit file.
PyObject* Start(PyObject*, PyObject* args) {
  const char* run_dir = nullptr;
  PyObject* library_dirs = nullptr;
  PyObject* pycov_dirs = nullptr;
  PyObject* argv = nullptr;
  if (!PyArg_ParseTuple(args, "sOOO", &run_dir, &library_dirs, &pycov_dirs, &argv)) return nullptr;
  if (g != nullptr && g->started) Py_RETURN_NONE;

  std::string config_text = ReadFile(std::string(run_dir) + "/config");
  if (config_text.empty()) {
    struct stat run_dir_status {};
    if (stat(run_dir, &run_dir_status) == 0 && run_dir_status.st_uid != geteuid()) {
      // pycov opens the run directory to a user only when it sees a process of that user
      // start Python, which the supervisor sees, and only as root.
      PyErr_Format(PyExc_RuntimeError,
                   "it runs as user %u, who cannot read the run directory %s (a child that switches user is "
                   "measured when pycov runs as root, under its supervisor)",
                   unsigned(geteuid()), run_dir);
    } else {
      PyErr_Format(PyExc_RuntimeError, "no run configuration in %s", run_dir);
    }
    return nullptr;
  }
  g = new ProcessTracer();
  RunConfig config = RunConfig::Parse(config_text);
  g->selection = std::move(config.selection);
  g->branch = config.branch;
  g->timid = config.timid;
  if (!AppendStrings(library_dirs, g->selection.library_dirs) || !AppendStrings(pycov_dirs, g->selection.pycov_dirs))
    return nullptr;

  std::string argv_bytes;
  if (PyList_Check(argv)) {
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(argv); ++i) {
      const char* s = PyUnicode_AsUTF8(PyList_GET_ITEM(argv, i));
      if (s == nullptr) {
        PyErr_Clear();
        continue;
      }
      argv_bytes.append(s).push_back('\0');
    }
  }

  g->code_extra_index = _PyEval_RequestCodeExtraIndex(nullptr);  // FileSlots live for the process
  g->code_state_index = _PyEval_RequestCodeExtraIndex(FreeCodeState);
  if (g->code_extra_index < 0 || g->code_state_index < 0) {
    PyErr_SetString(PyExc_RuntimeError, "no code-object extra slot left");
    return nullptr;
  }
  VerifyCodeExtraLayout();

  uint32_t flags = g->branch ? uint32_t(pycov::hitfile::kFlagBranch) : 0u;
  if (!g->writer.Open(run_dir, flags, argv_bytes)) {
    // The hit file it could not create, once its name is known.
    PyErr_SetFromErrnoWithFilename(PyExc_OSError, *g->writer.path() != '\0' ? g->writer.path() : run_dir);
    return nullptr;
  }
  if (!WrapSysTraceFunctions()) {
    if (!PyErr_Occurred()) PyErr_SetString(PyExc_RuntimeError, "cannot wrap sys.settrace and sys.gettrace");
    return nullptr;
  }
  NameEventsFile(g->writer.path());
  if (!WrapOsExit() || PySys_AddAuditHook(AuditHook, nullptr) != 0) {
    if (!PyErr_Occurred()) PyErr_SetString(PyExc_RuntimeError, "cannot install pycov's observation hooks");
    return nullptr;
  }
  if (!WrapStartNewThread()) {
    if (!PyErr_Occurred()) PyErr_SetString(PyExc_RuntimeError, "cannot wrap _thread.start_new_thread");
    return nullptr;
  }
  if (!WrapUserChangingFunctions()) {
    if (!PyErr_Occurred()) PyErr_SetString(PyExc_RuntimeError, "cannot wrap os.setuid and the like");
    return nullptr;
  }
  g->main_thread = PyThread_get_thread_ident();
  static bool atfork_registered = false;
  if (!atfork_registered) {
    pthread_atfork(nullptr, nullptr, AfterForkInChild);
    atfork_registered = true;
  }
  if (!WatchSubscriptMethods()) return nullptr;
  g->started = true;
  // Its own execs that the supervisor would only wave on need not wait for it.
  pycov::tracer::InstallExecPass({config.exec_pass, run_dir, config.bootstrap_dir});
  _PyInterpreterState_SetEvalFrameFunc(PyInterpreterState_Get(), EvalFrame);
  Adopt(PyThreadState_Get());
  Py_RETURN_NONE;
}

PyMethodDef kMethods[] = {
    {"start", Start, METH_VARARGS, "start(run_dir, library_dirs, pycov_dirs, argv): start recording this process."},
    {nullptr, nullptr, 0, nullptr},
};

PyModuleDef kModule = {PyModuleDef_HEAD_INIT, "_pycov_tracer", "pycov's in-process line recorder.", -1, kMethods,
                        nullptr, nullptr, nullptr, nullptr};

}  // namespace

PyMODINIT_FUNC PyInit__pycov_tracer() {
  Py_SET_REFCNT(reinterpret_cast<PyObject*>(&ThreadTracerType), 1);
  ThreadTracerType.tp_name = "_pycov_tracer.ThreadTracer";
  ThreadTracerType.tp_basicsize = sizeof(ThreadTracer);
  ThreadTracerType.tp_flags = Py_TPFLAGS_DEFAULT;
  ThreadTracerType.tp_dealloc = ThreadTracerDealloc;
  ThreadTracerType.tp_doc = "Per-thread state of pycov's tracer.";
  if (PyType_Ready(&ThreadTracerType) < 0) return nullptr;
  return PyModule_Create(&kModule);
}
