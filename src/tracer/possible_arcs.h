// The arcs a code object's frames can record without an exception leaving them, worked out
// from its bytecode (CPython 3.11) by replaying the interpreter's rules for line events.
//
// With --branch the tracer needs this to know when a code object has nothing left to record:
// once every line and every one of these arcs is recorded, its frames can run untraced. The
// answer must hold every arc a trace function can see while no exception propagates out of
// the frame; an arc that can never happen only keeps the code traced. Exceptions caught in
// the frame are followed (every instruction a handler covers is taken to raise); an exception
// leaving the frame from a line without `raise`, or from a failing assert, is not, because any
// line could do it: the frame hook records that arc when it happens in an untraced frame.
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
  std::vector<uint8_t> code;        // co_code: (opcode, oparg) byte pairs, not specialised
  std::vector<int32_t> unit_lines;  // the line of each code unit (co_lines), -1 for none
  std::vector<ExceptionHandler> handlers;
  int32_t first_line = 0;           // co_firstlineno
};

using Arc = std::pair<int32_t, int32_t>;

/// The line of each code unit of a code object, from co_lines() (-1 for none). Needs the GIL
/// and no exception pending; returns nullopt, with none pending, if CPython does not say.
std::optional<std::vector<int32_t>> UnitLines(PyCodeObject* code);

/// Fills `inline_caches` from the interpreter's own opcode module (the table in CPython's
/// internal headers is not exported). Needs the GIL; returns false, with no exception
/// pending, if the module does not have it.
bool ReadInlineCaches(uint8_t (&inline_caches)[256]);

/// Reads what the analysis needs of a code object (CPython 3.11). Needs the GIL and no
/// exception pending; returns nullopt, with none pending, if CPython does not say.
std::optional<Bytecode> ReadBytecode(PyCodeObject* code);

/// Decodes co_exceptiontable (3.11 format). Returns nullopt when it is malformed.
std::optional<std::vector<ExceptionHandler>> ParseExceptionTable(const uint8_t* table, size_t size);

/// The arcs (from line, to line; negative first line for entering and leaving), sorted and
/// unique, that tracing frames of this code can record, or nullopt when the bytecode holds
/// something the analysis does not understand (the caller then keeps the code traced).
/// `inline_caches[op]` is how many cache units follow an instruction with opcode `op`.
std::optional<std::vector<Arc>> PossibleArcs(const Bytecode& bytecode, const uint8_t (&inline_caches)[256]);

}  // namespace pycov::tracer
