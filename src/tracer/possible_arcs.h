// The arcs a code object's frames can record without an exception leaving them, worked out
// from its bytecode (CPython 3.11) by replaying the interpreter's rules for line events.
//
// The tracer needs this to know when a code object has nothing left to record, so that its
// frames can run untraced. The answer must hold every arc a trace function can see while no
// exception propagates out of the frame; an arc that can never happen only keeps the code
// traced. Exceptions caught in the frame are followed (every instruction a handler covers is
// taken to raise); an exception leaving the frame from a line without `raise`, or from a
// failing assert, is not, because any line could do it.
//
// Neither needs to be recorded before a frame may start untraced: CPython still reports an
// exception in a frame that runs untraced to the trace function (pycov's stays installed),
// with the line it was raised at, which is the line of the frame's last line event, and the
// tracer then traces the rest of that frame. So the arcs come in two sets: all of them, and
// those a frame records before an exception event in it, which are what must be recorded for
// its frames to start untraced. Arcs after an exception that gives no such event, or gives it
// at an instruction without a line (a re-raise, cleanup code), count as before one.
#pragma once

#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

struct PyCodeObject;

namespace pycov::tracer {

/// One entry of a code object's exception table, in code units: instructions in
/// [start, end) jump to `target` when they raise.
struct ExceptionHandler {
  uint32_t start = 0;
  uint32_t end = 0;
  uint32_t target = 0;
};

/// What the analysis reads of a code object.
struct Bytecode {
  std::vector<uint8_t> code;        // co_code: (opcode, oparg) byte pairs, not specialised,
                                    // inline caches as CACHE units
  std::vector<int32_t> unit_lines;  // the line of each code unit (co_lines), -1 for none
  std::vector<ExceptionHandler> handlers;
  int32_t first_line = 0;           // co_firstlineno
};

using Arc = std::pair<int32_t, int32_t>;

/// The line of each code unit of a code object, as co_lines() gives them (-1 for none), read
/// from its location table. Returns nullopt if the table is malformed.
std::optional<std::vector<int32_t>> UnitLines(PyCodeObject* code);

/// Reads what the analysis needs of a code object (CPython 3.11). Needs the GIL and no
/// exception pending; returns nullopt, with none pending, if CPython does not say.
std::optional<Bytecode> ReadBytecode(PyCodeObject* code);

/// Decodes co_exceptiontable (3.11 format). Returns nullopt when it is malformed.
std::optional<std::vector<ExceptionHandler>> ParseExceptionTable(const uint8_t* table, size_t size);

/// Arcs are (from line, to line), with the negative first line for entering and leaving;
/// each list sorted and unique.
struct FrameArcs {
  std::vector<Arc> all;                // every arc a traced frame of the code can record
  std::vector<Arc> without_exceptions; // those it can record before an exception event in it
};

/// The arcs that tracing frames of this code can record, or nullopt when the bytecode holds
/// something the analysis does not understand (the caller then keeps the code traced).
std::optional<FrameArcs> PossibleArcs(const Bytecode& bytecode);

/// A line whose instructions only load a local or a constant and return it, ending at the
/// RETURN_VALUE at `unit`: nothing there can run other code (no call, no allocation, no check
/// of the eval breaker, so no signal handler and no other thread either) before the frame
/// returns. Such a line has run if and only if its frame returned from `unit`, and recording it
/// when the frame returns is the same as recording it when it starts.
struct QuietReturn {
  uint32_t unit;
  int32_t line;
};

/// The code's quiet returns (above), by unit. A line with several runs of instructions is one
/// only when each run is.
std::vector<QuietReturn> QuietReturns(const Bytecode& bytecode);

}  // namespace pycov::tracer
