#include "tracer/possible_arcs.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <set>
#include <string>

#include "python_runtime.h"

#include <opcode.h>

namespace pycov::tracer {
namespace {

// Functions whose paths depend on their argument, each called with every argument in
// 0..11: a trace function records the arcs CPython really gives them.
constexpr const char* kProgram = R"py(
import asyncio, contextlib

def loops(n):
    total = 0
    for i in range(n):
        if i == 3:
            continue
        if i == 7:
            break
        total += i
    else:
        total = -1
    while n > 0:
        n -= 3
        if n == 2: break
    else:
        total += 1
    return total

def exceptions(n):
    try:
        if n % 3 == 0:
            raise ValueError(n)
        value = 10 // (n % 4)
    except ValueError:
        value = -1
    except ZeroDivisionError as error:
        value = -2
    else:
        value += 1
    finally:
        value *= 2
    try:
        try:
            if n > 8: return value
        finally:
            value += 1
    except Exception:
        pass
    return value

def raising(n):
    if n % 2:
        raise KeyError(n)
    return n

def calls_raising(n):
    try:
        return raising(n)
    except KeyError:
        return None

def withs(n):
    with contextlib.suppress(ZeroDivisionError):
        x = 1 // (n % 2)
        with contextlib.nullcontext():
            if n > 5:
                return x
    return 0

def generator(n):
    for i in range(n):
        if i % 2:
            yield i
        else:
            yield from range(i % 3)
    return n

def uses_generator(n):
    g = generator(n)
    out = [v for v in g if v] + list({k: k for k in range(n)})
    squares = (k * k for k in range(n) if k % 2)
    return out, sum(squares), (lambda v: v + 1 if v else v)(n)

def matches(n):
    match n % 5:
        case 0:
            return "zero"
        case 1 | 2:
            return "small"
        case x if x > 3:
            return "big"
        case _:
            return "three"

def shortcuts(n):
    a = n > 2 and n < 9 or n == 11
    b = 0 < n < 5
    c = (
        n
        if a
        else -n
    )
    assert n >= 0, "negative"
    return a, b, c

async def helper(n):
    await asyncio.sleep(0)
    return n * 2

async def numbers(n):
    for i in range(n):
        yield i

async def coroutine(n):
    total = 0
    for i in range(n % 4):
        total += await helper(i)
    async for i in numbers(n % 3):
        total += i
    async with contextlib.AsyncExitStack():
        pass
    return total

def groups(n):
    try:
        if n % 2:
            raise ExceptionGroup("g", [ValueError(n), TypeError(n)])
    except* ValueError:
        n += 1
    except* TypeError:
        n += 2
    return n

def guarded_loop(n):
    total = 0
    for i in range(n):
        try:
            total += 10 // (i + 1)
        except ZeroDivisionError:
            total = -1
        with contextlib.nullcontext():
            total += 1
    return total

def yields_in_handler(n):
    try:
        try:
            if n % 2:
                raise KeyError(n)
            yield 0
        finally:
            yield 1
    except KeyError:
        yield 2
    try:
        try:
            if n % 3 == 0:
                raise ValueError(n)
        except ValueError:
            yield 3
            raise
    except ValueError:
        yield 4

class Counter:
    def __init__(self, start):
        self.value = start

    def bump(self, n):
        while True:
            self.value += 1
            if self.value > n:
                return self.value

def run(n):
    loops(n); exceptions(n); calls_raising(n); withs(n); uses_generator(n); matches(n)
    shortcuts(n); asyncio.run(coroutine(n)); groups(n); Counter(n).bump(n + 2); guarded_loop(n)
    list(yields_in_handler(n))
)py";

// The same arcs pycov's tracer records: from -firstlineno at a real call (RESUME 0), from
// the current line when a generator continues, to -firstlineno at a return that is not a
// yield (the next instruction is not RESUME). Also kept apart: the arcs a frame recorded
// before an exception event in it (since it was called or continued), and exception events
// whose line is not the line of the frame's last line event (pycov's tracer starts tracing
// an untraced frame at such an event, from its line).
constexpr const char* kRecorder = R"py(
import dis, sys
RESUME = dis.opmap["RESUME"]
recorded = {}
before_exceptions = {}
excepted = set()
event_line_mismatches = []
last = {}

def record(frame, event, arg):
    code = frame.f_code
    if code.co_filename != "<possible-arcs>":
        return None
    arcs = recorded.setdefault(code, set())
    before = before_exceptions.setdefault(code, set())
    def add(arc):
        arcs.add(arc)
        if frame not in excepted:
            before.add(arc)
    if event == "call":
        raw = code.co_code
        real = raw[frame.f_lasti] != RESUME or raw[frame.f_lasti + 1] == 0
        last[frame] = -code.co_firstlineno if real else frame.f_lineno
        excepted.discard(frame)
    elif event == "line":
        if frame in last:
            add((last[frame], frame.f_lineno))
        last[frame] = frame.f_lineno
    elif event == "exception":
        if frame not in excepted and frame.f_lineno is not None and frame in last and last[frame] != frame.f_lineno:
            event_line_mismatches.append((code.co_qualname, last[frame], frame.f_lineno))
        excepted.add(frame)
    elif event == "return":
        raw = code.co_code
        following = frame.f_lasti + 2
        if frame in last and (following >= len(raw) or raw[following] != RESUME):
            add((last[frame], -code.co_firstlineno))
        last.pop(frame, None)
        excepted.discard(frame)
    return record

namespace = {"__name__": "possible_arcs_program"}
exec(compile(PROGRAM, "<possible-arcs>", "exec"), namespace)
sys.settrace(record)
for n in range(12):
    namespace["run"](n)
sys.settrace(None)
codes = code_objects(compile(PROGRAM, "<possible-arcs>", "exec"))
)py";

struct Traced {
  std::string name;
  int32_t first_line;
  std::set<Arc> recorded;
  std::set<Arc> recorded_before_exceptions;
  std::optional<FrameArcs> possible;
};

std::set<Arc> ArcSet(PyObject* arcs) {
  std::set<Arc> out;
  if (arcs == nullptr) return out;
  PyRef iterator(PyObject_GetIter(arcs));
  for (PyObject* arc; (arc = PyIter_Next(iterator.get())) != nullptr; Py_DECREF(arc))
    out.emplace(int32_t(PyLong_AsLong(PyTuple_GET_ITEM(arc, 0))), int32_t(PyLong_AsLong(PyTuple_GET_ITEM(arc, 1))));
  return out;
}

std::string g_event_line_mismatches;  // from the last TraceProgram()

// Runs the program under the recording trace function; for every code object compiled from
// it, the arcs it recorded and the arcs the analysis gives.
// Globals with the builtins, for a program run with PyRun_String, and code_objects(code):
// `code` and every code object nested in it. Needs the GIL.
PyRef FreshGlobals() {
  PyRef globals(PyDict_New());
  PyDict_SetItemString(globals.get(), "__builtins__", PyEval_GetBuiltins());
  PyRef helper(PyRun_String(R"py(
def code_objects(code):
    found = [code]
    for const in code.co_consts:
        if isinstance(const, type(code)):
            found += code_objects(const)
    return found
)py", Py_file_input, globals.get(), globals.get()));
  if (!helper) ADD_FAILURE() << TakePythonError();
  return globals;
}

// Runs `program` in fresh globals (the GIL held) and gives them, or nothing after reporting
// the program's error.
PyRef RunProgram(const char* program) {
  PyRef globals = FreshGlobals();
  PyRef result(PyRun_String(program, Py_file_input, globals.get(), globals.get()));
  if (!result) {
    ADD_FAILURE() << TakePythonError();
    return PyRef();
  }
  return globals;
}

std::vector<Traced> TraceProgram() {
  std::vector<Traced> traced;
  if (!EnsurePythonRuntime().ok()) return traced;
  PyGILState_STATE gil = PyGILState_Ensure();
  PyRef globals = FreshGlobals();
  PyRef program(PyUnicode_FromString(kProgram));
  PyDict_SetItemString(globals.get(), "PROGRAM", program.get());
  PyRef result(PyRun_String(kRecorder, Py_file_input, globals.get(), globals.get()));
  if (!result) {
    ADD_FAILURE() << TakePythonError();
    PyGILState_Release(gil);
    return traced;
  }
  // Code objects compiled twice are equal, so the recorded dict finds the walked ones.
  PyObject* recorded = PyDict_GetItemString(globals.get(), "recorded");
  PyObject* before_exceptions = PyDict_GetItemString(globals.get(), "before_exceptions");
  PyObject* codes = PyDict_GetItemString(globals.get(), "codes");
  for (Py_ssize_t i = 0; i < PyList_Size(codes); ++i) {
    auto* code = reinterpret_cast<PyCodeObject*>(PyList_GET_ITEM(codes, i));
    Traced entry{PyUnicode_AsUTF8(code->co_qualname), code->co_firstlineno, {}, {}, std::nullopt};
    entry.recorded = ArcSet(PyDict_GetItem(recorded, reinterpret_cast<PyObject*>(code)));
    entry.recorded_before_exceptions = ArcSet(PyDict_GetItem(before_exceptions, reinterpret_cast<PyObject*>(code)));
    if (auto bytecode = ReadBytecode(code)) entry.possible = PossibleArcs(*bytecode);
    traced.push_back(std::move(entry));
  }
  PyRef mismatches(PyObject_Repr(PyDict_GetItemString(globals.get(), "event_line_mismatches")));
  g_event_line_mismatches = mismatches ? PyUnicode_AsUTF8(mismatches.get()) : "?";
  PyGILState_Release(gil);
  return traced;
}

std::string Show(const std::set<Arc>& arcs) {
  std::string text;
  for (const auto& [from, to] : arcs) text += "(" + std::to_string(from) + "," + std::to_string(to) + ") ";
  return text;
}

TEST(PossibleArcs, HoldEveryArcCPythonGivesATraceFunction) {
  const std::vector<Traced> traced = TraceProgram();
  ASSERT_GT(traced.size(), 15u);
  size_t codes_with_arcs = 0;
  for (const Traced& code : traced) {
    ASSERT_TRUE(code.possible.has_value()) << code.name << ": bytecode not understood";
    const std::set<Arc> possible(code.possible->all.begin(), code.possible->all.end());
    std::set<Arc> missing;
    std::set_difference(code.recorded.begin(), code.recorded.end(), possible.begin(), possible.end(),
                        std::inserter(missing, missing.begin()));
    EXPECT_TRUE(missing.empty()) << code.name << " recorded arcs the analysis does not give: " << Show(missing);
    if (!code.recorded.empty()) ++codes_with_arcs;
  }
  EXPECT_GT(codes_with_arcs, 15u);
}

// What lets a frame start untraced while handlers in it never ran: every arc a frame records
// before an exception event in it is among those the analysis gives as recorded without
// exceptions, and at that event the frame's line is the line of its last line event, where
// pycov's tracer takes over.
TEST(PossibleArcs, HoldEveryArcAFrameRecordsBeforeAnExceptionEvent) {
  const std::vector<Traced> traced = TraceProgram();
  ASSERT_GT(traced.size(), 15u);
  size_t codes_with_exceptions = 0;
  for (const Traced& code : traced) {
    ASSERT_TRUE(code.possible.has_value()) << code.name;
    const std::set<Arc> without(code.possible->without_exceptions.begin(), code.possible->without_exceptions.end());
    std::set<Arc> missing;
    std::set_difference(code.recorded_before_exceptions.begin(), code.recorded_before_exceptions.end(), without.begin(),
                        without.end(), std::inserter(missing, missing.begin()));
    EXPECT_TRUE(missing.empty()) << code.name << " recorded before an exception arcs the analysis gives only after one: "
                                 << Show(missing);
    if (code.recorded_before_exceptions != code.recorded) ++codes_with_exceptions;
  }
  EXPECT_GE(codes_with_exceptions, 5u);  // the program's handlers did run
  EXPECT_EQ(g_event_line_mismatches, "[]");
}

// The analysis is of use only if code that took all its paths can be found complete: for
// code without exception handlers, whose every path the program takes, the two agree.
TEST(PossibleArcs, AreExactlyTheArcsTakenWhenEveryPathRan) {
  const std::vector<Traced> traced = TraceProgram();
  std::map<std::string, const Traced*> by_name;
  for (const Traced& code : traced) by_name[code.name] = &code;
  for (const char* name : {"loops", "matches", "shortcuts", "Counter.bump", "uses_generator.<locals>.<lambda>"}) {
    ASSERT_TRUE(by_name.count(name)) << name;
    const Traced& code = *by_name[name];
    ASSERT_TRUE(code.possible.has_value()) << name;
    EXPECT_EQ(Show(code.recorded), Show(std::set<Arc>(code.possible->all.begin(), code.possible->all.end()))) << name;
  }
}

// And code with handlers that never ran, whose other paths all ran, can start untraced: a
// loop around `try` and `with` (every line of it can raise into a handler) records before
// any exception exactly the arcs the analysis gives as recorded without exceptions.
TEST(PossibleArcs, AreExactlyTheArcsTakenBeforeExceptionsWhenEveryOtherPathRan) {
  const std::vector<Traced> traced = TraceProgram();
  for (const Traced& code : traced) {
    if (code.name != "guarded_loop") continue;
    ASSERT_TRUE(code.possible.has_value());
    EXPECT_EQ(Show(code.recorded_before_exceptions),
              Show(std::set<Arc>(code.possible->without_exceptions.begin(), code.possible->without_exceptions.end())));
    EXPECT_NE(code.possible->all, code.possible->without_exceptions);
    return;
  }
  FAIL() << "guarded_loop not compiled";
}

TEST(PossibleArcs, ExceptionTableDecodesAndRejectsTruncation) {
  // start 2, length 4, target 10, depth 1 with lasti: (1 << 1) | 1 = 3; the first byte of
  // an entry has bit 7 set; 70 = 1*64 + 6 spans two bytes.
  const uint8_t table[] = {0x80 | 2, 4, 10, 3, 0x80 | 0x40 | 1, 6, 1, 20, 0};
  auto handlers = ParseExceptionTable(table, sizeof table);
  ASSERT_TRUE(handlers.has_value());
  ASSERT_EQ(handlers->size(), 2u);
  EXPECT_EQ((*handlers)[0].start, 2u);
  EXPECT_EQ((*handlers)[0].end, 6u);
  EXPECT_EQ((*handlers)[0].target, 10u);
  EXPECT_EQ((*handlers)[1].start, 70u);
  EXPECT_EQ((*handlers)[1].end, 71u);
  EXPECT_EQ((*handlers)[1].target, 20u);
  EXPECT_FALSE(ParseExceptionTable(table, 3).has_value());
  EXPECT_FALSE(ParseExceptionTable(table, 6).has_value());
}

TEST(PossibleArcs, GivesUpOnBytecodeItCannotFollow) {
  Bytecode jump_outside;
  jump_outside.code = {RESUME, 0, JUMP_FORWARD, 40};
  jump_outside.unit_lines = {1, 2};
  jump_outside.first_line = 1;
  EXPECT_FALSE(PossibleArcs(jump_outside).has_value());
  Bytecode lines_mismatch = jump_outside;
  lines_mismatch.unit_lines = {1};
  EXPECT_FALSE(PossibleArcs(lines_mismatch).has_value());
  Bytecode no_entry;
  no_entry.code = {RETURN_VALUE, 0};
  no_entry.unit_lines = {1};
  EXPECT_FALSE(PossibleArcs(no_entry).has_value());
}

// Every code object of the standard library's top-level modules, and of a program with lines
// far apart, backwards and without a location, with the line of each code unit as
// co_lines() gives it.
constexpr const char* kLineTablePrograms = R"py(
import glob, types
SPREAD = "def spread(x):\n" + "".join(
    f"    x = x + {i}\n" + "\n" * (i * 37 % 300) for i in range(60)) + "    return (x,\n\n\n x)\n"
BACKWARDS = "y = (1 +\n     2)\nfor i in range(3):\n    y += i\nelse:\n    y = 0\n" + "\n" * 70000 + "z = [\n  i\n  for i in range(2)\n]\n"
sources = [(SPREAD, "<spread>"), (BACKWARDS, "<backwards>")]
for path in sorted(glob.glob("/usr/lib/python3.11/*.py")):
    with open(path, "rb") as f:
        sources.append((f.read(), path))
pairs = []
def walk(code):
    expected = [-1] * (len(code.co_code) // 2)
    for start, end, line in code.co_lines():
        for unit in range(start // 2, end // 2):
            expected[unit] = -1 if line is None else line
    pairs.append((code, expected))
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            walk(const)
for source, name in sources:
    try:
        walk(compile(source, name, "exec", dont_inherit=True))
    except SyntaxError:
        pass
truncated = compile("a = 1\nb = 2\n", "<t>", "exec")
malformed = [truncated.replace(co_linetable=b"\x01"), truncated.replace(co_linetable=truncated.co_linetable * 3),
             truncated.replace(co_linetable=bytes([0x80 | (13 << 3), 0x41]))]
)py";

TEST(UnitLines, AreWhatCoLinesGives) {
  ASSERT_TRUE(EnsurePythonRuntime().ok());
  PyGILState_STATE gil = PyGILState_Ensure();
  PyRef globals = RunProgram(kLineTablePrograms);
  ASSERT_TRUE(globals);
  PyObject* pairs = PyDict_GetItemString(globals.get(), "pairs");
  ASSERT_GT(PyList_Size(pairs), 5000);
  size_t compared = 0, differing = 0;
  std::string first_difference;
  for (Py_ssize_t i = 0; i < PyList_Size(pairs); ++i) {
    PyObject* pair = PyList_GET_ITEM(pairs, i);
    auto* code = reinterpret_cast<PyCodeObject*>(PyTuple_GET_ITEM(pair, 0));
    PyObject* expected_list = PyTuple_GET_ITEM(pair, 1);
    std::vector<int32_t> expected;
    for (Py_ssize_t unit = 0; unit < PyList_Size(expected_list); ++unit)
      expected.push_back(int32_t(PyLong_AsLong(PyList_GET_ITEM(expected_list, unit))));
    auto lines = UnitLines(code);
    ++compared;
    if (!lines || *lines != expected) {
      if (differing++ == 0)
        first_difference = std::string(PyUnicode_AsUTF8(code->co_filename)) + ":" + PyUnicode_AsUTF8(code->co_qualname);
    }
  }
  EXPECT_EQ(differing, 0u) << "of " << compared << " code objects; the first: " << first_difference;
  PyObject* malformed = PyDict_GetItemString(globals.get(), "malformed");
  for (Py_ssize_t i = 0; i < PyList_Size(malformed); ++i)
    EXPECT_FALSE(UnitLines(reinterpret_cast<PyCodeObject*>(PyList_GET_ITEM(malformed, i))).has_value()) << i;
  PyGILState_Release(gil);
}

// Lines marked "quiet" are the quiet returns (possible_arcs.h) of their code objects, and no
// other line is one.
constexpr const char* kQuietReturnProgram = R"py(
SOURCE = """
def loop(items):
    total = 0
    for item in items:
        total += item
    return total  # quiet

def early(x, y):
    if x is None:
        return None  # quiet
    if y:
        return  # quiet
    if x > 3:
        return -1  # quiet
    if x > 2:
        return []
    if x > 1:
        return x.real
    if x > 0: return x
    return x, y

def ends_with_assignment(x):
    x = 1

def in_with(cm, x):
    with cm:
        return x

def in_finally(x):
    try:
        x += 1
    finally:
        x = 0
    return x  # quiet

def generator(n):
    yield n
    return n  # quiet

def over_lines(a,
               b):
    return (  # quiet: the return is this line's, the load the next one's
        a
    )

class Holder:
    def method(self):
        return self  # quiet
"""
marked = [n for n, text in enumerate(SOURCE.splitlines(), 1) if "# quiet" in text]
codes = code_objects(compile(SOURCE, "<quiet>", "exec", dont_inherit=True))
)py";

TEST(QuietReturns, AreTheLinesThatOnlyLoadAndReturn) {
  ASSERT_TRUE(EnsurePythonRuntime().ok());
  PyGILState_STATE gil = PyGILState_Ensure();
  PyRef globals = RunProgram(kQuietReturnProgram);
  ASSERT_TRUE(globals);
  std::set<int32_t> found, marked;
  PyObject* marked_list = PyDict_GetItemString(globals.get(), "marked");
  for (Py_ssize_t i = 0; i < PyList_Size(marked_list); ++i)
    marked.insert(int32_t(PyLong_AsLong(PyList_GET_ITEM(marked_list, i))));
  PyObject* codes = PyDict_GetItemString(globals.get(), "codes");
  for (Py_ssize_t i = 0; i < PyList_Size(codes); ++i) {
    auto bytecode = ReadBytecode(reinterpret_cast<PyCodeObject*>(PyList_GET_ITEM(codes, i)));
    ASSERT_TRUE(bytecode.has_value());
    for (const QuietReturn& quiet : QuietReturns(*bytecode)) {
      EXPECT_EQ(bytecode->code[2 * quiet.unit], RETURN_VALUE) << quiet.line;
      EXPECT_EQ(bytecode->unit_lines[quiet.unit], quiet.line);
      found.insert(quiet.line);
    }
  }
  EXPECT_EQ(found, marked);
  PyGILState_Release(gil);
}

TEST(QuietReturns, NeedEveryRunOfTheLineQuiet) {
  Bytecode two_runs;  // line 2: a quiet run, then a run with a call
  two_runs.code = {RESUME, 0, LOAD_FAST, 0, RETURN_VALUE, 0, LOAD_CONST, 0, PRECALL, 0, CALL, 0, RETURN_VALUE, 0};
  two_runs.unit_lines = {1, 2, 2, 3, 2, 2, 2};
  EXPECT_TRUE(QuietReturns(two_runs).empty());
  Bytecode both_quiet = two_runs;
  both_quiet.code = {RESUME, 0, LOAD_FAST, 0, RETURN_VALUE, 0, LOAD_CONST, 0, NOP, 0, LOAD_CONST, 1, RETURN_VALUE, 0};
  auto found = QuietReturns(both_quiet);
  ASSERT_EQ(found.size(), 2u);
  EXPECT_EQ(found[0].unit, 2u);
  EXPECT_EQ(found[1].unit, 6u);
  Bytecode no_line = both_quiet;
  no_line.unit_lines = {1, -1, -1, 3, -1, -1, -1};
  EXPECT_TRUE(QuietReturns(no_line).empty());
}

}  // namespace
}  // namespace pycov::tracer
