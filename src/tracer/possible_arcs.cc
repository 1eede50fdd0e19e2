#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <opcode.h>

#include "possible_arcs.h"

#include <algorithm>
#include <unordered_set>

namespace pycov::tracer {
namespace {

// One instruction with its EXTENDED_ARG prefixes: `start` is where jumps land and where the
// interpreter decides on a line event; `real` is the instruction itself (what the next one
// compares its line with); `next` is past its inline caches.
struct Instruction {
  uint32_t start;
  uint32_t real;
  uint32_t next;
  uint8_t opcode;
  uint32_t oparg;
};

// How a path arrives at an instruction: from which instruction, the line of the last line
// event (the `from` of the next arc), and whether the path went through an exception that
// CPython reports to the trace function with the line of the last line event (from there on
// the frame is traced, see possible_arcs.h).
struct Arrival {
  uint32_t previous_real;
  uint32_t instruction;
  int32_t last_line;
  bool after_exception_event;
};

constexpr size_t kMaxSteps = 2'000'000;  // a bound on the analysis, never reached by real code

bool IsBackwardJump(uint8_t opcode) {
  switch (opcode) {
    case JUMP_BACKWARD:
    case JUMP_BACKWARD_NO_INTERRUPT:
    case POP_JUMP_BACKWARD_IF_FALSE:
    case POP_JUMP_BACKWARD_IF_TRUE:
    case POP_JUMP_BACKWARD_IF_NONE:
    case POP_JUMP_BACKWARD_IF_NOT_NONE: return true;
    default: return false;
  }
}

bool IsConditionalJump(uint8_t opcode) {
  switch (opcode) {
    case POP_JUMP_FORWARD_IF_FALSE:
    case POP_JUMP_FORWARD_IF_TRUE:
    case POP_JUMP_FORWARD_IF_NONE:
    case POP_JUMP_FORWARD_IF_NOT_NONE:
    case POP_JUMP_BACKWARD_IF_FALSE:
    case POP_JUMP_BACKWARD_IF_TRUE:
    case POP_JUMP_BACKWARD_IF_NONE:
    case POP_JUMP_BACKWARD_IF_NOT_NONE:
    case JUMP_IF_FALSE_OR_POP:
    case JUMP_IF_TRUE_OR_POP:
    case FOR_ITER:
    case SEND: return true;
    default: return false;
  }
}

bool IsUnconditionalJump(uint8_t opcode) {
  return opcode == JUMP_FORWARD || opcode == JUMP_BACKWARD || opcode == JUMP_BACKWARD_NO_INTERRUPT;
}

// An instruction's inline caches are the CACHE units after it: co_code has them as CACHE
// (opcode 0), which is no instruction's opcode. That spares reading the count per opcode from
// the `opcode` module, whose import would cost each measured process a millisecond.
std::optional<std::vector<Instruction>> Decode(const std::vector<uint8_t>& code) {
  std::vector<Instruction> instructions;
  const uint32_t units = uint32_t(code.size() / 2);
  for (uint32_t at = 0; at < units;) {
    const uint32_t start = at;
    uint32_t oparg = 0;
    while (code[2 * at] == EXTENDED_ARG) {
      oparg = (oparg | code[2 * at + 1]) << 8;
      if (++at >= units) return std::nullopt;
    }
    const uint8_t opcode = code[2 * at];
    if (opcode == CACHE) return std::nullopt;  // a cache with no instruction before it
    oparg |= code[2 * at + 1];
    uint32_t next = at + 1;
    while (next < units && code[2 * next] == CACHE) ++next;
    instructions.push_back({start, at, next, opcode, oparg});
    at = next;
  }
  return instructions;
}

}  // namespace

std::optional<std::vector<int32_t>> UnitLines(PyCodeObject* code) {
  // co_linetable, read as co_lines() reads it (CPython 3.11's location table,
  // Objects/locations.md): entries start with a byte whose top bit is set, bits 3-6 the kind
  // of entry and bits 0-2 the code units it covers minus one. What the kind says of the line:
  // 15 none; 13 and 14 a signed varint delta after the first byte; 10-12 a delta of 0-2; 0-9
  // the same line. The rest of an entry (columns) does not matter here. Reading the table
  // directly spares co_lines()'s tuple, two or three ints and an argument parse per range:
  // most of what pycov spent on a code object the first time it saw it.
  PyObject* table = code->co_linetable;
  if (table == nullptr || !PyBytes_Check(table)) return std::nullopt;
  const auto* at = reinterpret_cast<const uint8_t*>(PyBytes_AS_STRING(table));
  const uint8_t* const end = at + PyBytes_GET_SIZE(table);
  const size_t units = size_t(Py_SIZE(code));
  std::vector<int32_t> unit_lines(units, -1);
  int64_t line = code->co_firstlineno;
  size_t unit = 0;
  while (at < end) {
    const uint8_t first = *at;
    if (!(first & 0x80)) return std::nullopt;  // not the start of an entry
    const int kind = (first >> 3) & 15;
    const size_t covered = size_t(first & 7) + 1;
    if (kind == 13 || kind == 14) {
      uint64_t value = 0;
      const uint8_t* byte = at + 1;
      for (unsigned shift = 0;; shift += 6) {
        if (byte >= end || shift > 30) return std::nullopt;
        value |= uint64_t(*byte & 63) << shift;
        if (!(*byte++ & 64)) break;
      }
      line += (value & 1) ? -int64_t(value >> 1) : int64_t(value >> 1);
    } else if (kind >= 10 && kind <= 12) {
      line += kind - 10;
    }
    if (unit + covered > units) return std::nullopt;
    std::fill_n(unit_lines.begin() + ptrdiff_t(unit), covered, kind == 15 ? -1 : int32_t(line));
    unit += covered;
    do ++at; while (at < end && !(*at & 0x80));
  }
  return unit_lines;
}

std::optional<Bytecode> ReadBytecode(PyCodeObject* code) {
  Bytecode bytecode;
  PyObject* co_code = PyCode_GetCode(code);
  if (co_code == nullptr) {
    PyErr_Clear();
    return std::nullopt;
  }
  const auto* bytes = reinterpret_cast<const uint8_t*>(PyBytes_AS_STRING(co_code));
  bytecode.code.assign(bytes, bytes + PyBytes_GET_SIZE(co_code));
  Py_DECREF(co_code);
  auto unit_lines = UnitLines(code);
  if (!unit_lines || unit_lines->size() != bytecode.code.size() / 2) return std::nullopt;
  bytecode.unit_lines = std::move(*unit_lines);
  PyObject* table = code->co_exceptiontable;
  if (table == nullptr || !PyBytes_Check(table)) return std::nullopt;
  auto handlers = ParseExceptionTable(reinterpret_cast<const uint8_t*>(PyBytes_AS_STRING(table)), size_t(PyBytes_GET_SIZE(table)));
  if (!handlers) return std::nullopt;
  bytecode.handlers = std::move(*handlers);
  bytecode.first_line = code->co_firstlineno;
  return bytecode;
}

std::optional<std::vector<ExceptionHandler>> ParseExceptionTable(const uint8_t* table, size_t size) {
  std::vector<ExceptionHandler> handlers;
  size_t at = 0;
  auto varint = [&](uint32_t& value) {
    if (at >= size) return false;
    uint8_t byte = table[at++];
    value = byte & 63;
    while (byte & 64) {
      if (at >= size || value > (UINT32_MAX >> 6)) return false;
      byte = table[at++];
      value = (value << 6) | (byte & 63);
    }
    return true;
  };
  while (at < size) {
    uint32_t start = 0, length = 0, target = 0, depth_and_lasti = 0;
    if (!varint(start) || !varint(length) || !varint(target) || !varint(depth_and_lasti)) return std::nullopt;
    handlers.push_back({start, start + length, target});
  }
  return handlers;
}

std::optional<FrameArcs> PossibleArcs(const Bytecode& bytecode) {
  const uint32_t units = uint32_t(bytecode.code.size() / 2);
  if (bytecode.unit_lines.size() != units) return std::nullopt;
  auto decoded = Decode(bytecode.code);
  if (!decoded) return std::nullopt;
  const std::vector<Instruction>& instructions = *decoded;
  std::vector<int32_t> instruction_at(units, -1);  // by start unit
  for (size_t i = 0; i < instructions.size(); ++i) instruction_at[instructions[i].start] = int32_t(i);

  const auto& lines = bytecode.unit_lines;
  const int32_t exit_line = -bytecode.first_line;
  std::vector<Arc> arcs_before_exceptions, arcs_after_exceptions;
  auto arcs_of = [&](bool after_exception_event) -> std::vector<Arc>& {
    return after_exception_event ? arcs_after_exceptions : arcs_before_exceptions;
  };
  std::vector<Arrival> pending;
  std::unordered_set<uint64_t> seen;  // (instruction, last line, after an exception event) already followed
  bool understood = true;

  auto handler_for = [&](uint32_t real) -> const ExceptionHandler* {
    for (const auto& handler : bytecode.handlers)
      if (real >= handler.start && real < handler.end) return &handler;
    return nullptr;
  };
  auto go_to = [&](uint32_t previous_real, int64_t target, int32_t last_line, bool after_exception_event) {
    if (target < 0 || target >= units || instruction_at[target] < 0) {
      understood = false;
      return;
    }
    pending.push_back({previous_real, uint32_t(instruction_at[target]), last_line, after_exception_event});
  };
  // Where control goes after `instruction` ran, with `last_line` the line of the last event.
  auto leave = [&](const Instruction& instruction, int32_t last_line, bool after_exception_event) {
    auto& arcs = arcs_of(after_exception_event);
    const uint8_t opcode = instruction.opcode;
    const ExceptionHandler* handler = handler_for(instruction.real);
    if (handler != nullptr) {
      // CPython reports an exception raised here to the trace function, with the line of
      // this instruction, unless it raises again one being handled (RERAISE, a bare `raise`,
      // the end of `async for`): those go straight to the handler.
      const bool raises_again = opcode == RERAISE || (opcode == RAISE_VARARGS && instruction.oparg == 0) || opcode == END_ASYNC_FOR;
      const bool reported = !raises_again && lines[instruction.real] != -1 && lines[instruction.real] == last_line;
      go_to(instruction.real, handler->target, last_line, after_exception_event || reported);
    }
    if (opcode == RETURN_VALUE) {
      arcs.emplace_back(last_line, exit_line);
      return;
    }
    if (opcode == YIELD_VALUE) return;  // its RESUME is an entry of its own
    // A failing assert is an exception like any other: coverage.py predicts no arc for it.
    if (opcode == LOAD_ASSERTION_ERROR) return;
    if (opcode == RAISE_VARARGS || opcode == RERAISE) {
      if (handler == nullptr) arcs.emplace_back(last_line, exit_line);
      return;
    }
    const int64_t jump = IsBackwardJump(opcode) ? -int64_t(instruction.oparg) : int64_t(instruction.oparg);
    if (IsUnconditionalJump(opcode)) {
      go_to(instruction.real, int64_t(instruction.next) + jump, last_line, after_exception_event);
      return;
    }
    if (IsConditionalJump(opcode)) go_to(instruction.real, int64_t(instruction.next) + jump, last_line, after_exception_event);
    if (instruction.next >= units) {
      understood = false;  // falling off the end of the code
      return;
    }
    go_to(instruction.real, instruction.next, last_line, after_exception_event);
  };

  // CPython compares with no line at all when the previous instruction is the first RESUME
  // (or before it): the first line of a frame always raises an event.
  uint32_t first_traceable = units;
  for (const Instruction& instruction : instructions) {
    if (instruction.opcode == RESUME) {
      first_traceable = instruction.real;
      break;
    }
  }
  auto line_before = [&](uint32_t previous_real) { return previous_real <= first_traceable ? -1 : lines[previous_real]; };

  // Every RESUME is where a frame starts or continues, with a "call" event: from the first
  // line negated for a real call (RESUME 0), else from the line the frame stopped at.
  bool has_entry = false;
  for (const Instruction& instruction : instructions) {
    if (instruction.opcode != RESUME) continue;
    has_entry = true;
    leave(instruction, instruction.oparg == 0 ? exit_line : lines[instruction.real], false);
  }
  if (!has_entry) return std::nullopt;

  // The interpreter's rule (maybe_call_line_trace): an instruction with a line raises a line
  // event when its line differs from the previous instruction's, or when it was reached by a
  // jump backwards (except to SEND, the loop of `yield from` and `await`).
  for (size_t steps = 0; !pending.empty() && understood; ++steps) {
    if (steps > kMaxSteps) return std::nullopt;
    const Arrival arrival = pending.back();
    pending.pop_back();
    const Instruction& instruction = instructions[arrival.instruction];
    const int32_t line = lines[instruction.start];
    int32_t last_line = arrival.last_line;
    const bool backwards = instruction.start < arrival.previous_real && bytecode.code[2 * instruction.start] != SEND;
    if (line != -1 && (line != line_before(arrival.previous_real) || backwards)) {
      arcs_of(arrival.after_exception_event).emplace_back(last_line, line);
      last_line = line;
    }
    const uint64_t key = (uint64_t(arrival.instruction) << 33) | (uint64_t(arrival.after_exception_event) << 32) | uint32_t(last_line);
    if (!seen.insert(key).second) continue;
    leave(instruction, last_line, arrival.after_exception_event);
  }
  if (!understood) return std::nullopt;
  auto sorted_unique = [](std::vector<Arc> arcs) {
    std::sort(arcs.begin(), arcs.end());
    arcs.erase(std::unique(arcs.begin(), arcs.end()), arcs.end());
    return arcs;
  };
  FrameArcs result;
  result.without_exceptions = sorted_unique(arcs_before_exceptions);
  arcs_after_exceptions.insert(arcs_after_exceptions.end(), arcs_before_exceptions.begin(), arcs_before_exceptions.end());
  result.all = sorted_unique(std::move(arcs_after_exceptions));
  return result;
}

std::vector<QuietReturn> QuietReturns(const Bytecode& bytecode) {
  const auto& lines = bytecode.unit_lines;
  const size_t units = std::min(lines.size(), bytecode.code.size() / 2);
  auto quiet = [&](size_t unit) {
    switch (bytecode.code[2 * unit]) {
      case NOP:
      case EXTENDED_ARG:
      case LOAD_FAST:
      case LOAD_CONST: return true;
      default: return false;
    }
  };
  std::vector<QuietReturn> found;
  std::vector<int32_t> not_quiet;  // lines with a run that is not
  for (size_t start = 0; start < units;) {
    const int32_t line = lines[start];
    size_t end = start;  // the run: units [start, end] of one line
    while (end + 1 < units && lines[end + 1] == line) ++end;
    if (line > 0) {
      bool is_quiet = bytecode.code[2 * end] == RETURN_VALUE;
      for (size_t unit = start; unit < end && is_quiet; ++unit) is_quiet = quiet(unit);
      if (is_quiet) found.push_back({uint32_t(end), line});
      else not_quiet.push_back(line);
    }
    start = end + 1;
  }
  std::sort(not_quiet.begin(), not_quiet.end());
  std::erase_if(found, [&](const QuietReturn& r) { return std::binary_search(not_quiet.begin(), not_quiet.end(), r.line); });
  return found;
}

}  // namespace pycov::tracer
