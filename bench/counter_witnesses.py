#!/usr/bin/python3
"""How many functions that stay traced could run untraced if the interpreter's own adaptive
counters witnessed their missing lines (a design study for line coverage; see
docs/performance.md, "Code with a line that never runs stays traced").

CPython 3.11 quickens a code object after a few calls: each specialisable instruction
(LOAD_ATTR, LOAD_GLOBAL, CALL, BINARY_OP, COMPARE_OP, ...) then counts its executions in its
inline cache, in the bytecode that runs, not in `co_code`. An untraced frame that executes
such an instruction changes it. A missing line is counted as witnessed when from each point
where control can enter it the instructions run straight on (no jump, and no other entry
crossed, possibly into the next lines) to a specialisable instruction, or to a return, yield
or raise, where the tracer learns the frame's last instruction anyway. Lines only an
exception reaches are counted like the others, so the figures are on the low side.

usage: bench/counter_witnesses.py DATA_FILE...   (coverage data files of runs of pycov)
"""
import dis
import sys
import types

from coverage import CoverageData

SPECIALISABLE = {"LOAD_ATTR", "LOAD_GLOBAL", "LOAD_METHOD", "STORE_ATTR", "BINARY_SUBSCR", "STORE_SUBSCR",
                 "CALL", "PRECALL", "BINARY_OP", "COMPARE_OP", "UNPACK_SEQUENCE"}
FRAME_STOPS = {"RETURN_VALUE", "YIELD_VALUE", "RAISE_VARARGS", "RERAISE"}
JUMPS = set(dis.hasjrel) | set(dis.hasjabs)


def code_objects(code):
    yield code
    for constant in code.co_consts:
        if isinstance(constant, types.CodeType):
            yield from code_objects(constant)


def witnessed_lines(code):
    """{line: True if every entry into the line runs straight on to a witness}."""
    instructions = [i for i in dis.get_instructions(code) if i.opname != "CACHE"]
    lines = [i.positions.lineno for i in instructions]
    entries = {k for k, i in enumerate(instructions)
               if k == 0 or lines[k] != lines[k - 1] or i.is_jump_target or instructions[k - 1].opname == "YIELD_VALUE"}
    # Entries where control can come from elsewhere than the instruction before.
    joins = {k for k in entries if k == 0 or instructions[k].is_jump_target or instructions[k - 1].opname == "YIELD_VALUE"}
    witnessed = {}
    for k in sorted(entries):
        line = lines[k]
        if line is None:
            continue
        found = False
        j = k
        while j < len(instructions) and (j == k or j not in joins):
            name = instructions[j].opname
            if name in SPECIALISABLE or name in FRAME_STOPS:
                found = True
                break
            if instructions[j].opcode in JUMPS:
                break
            j += 1
        witnessed[line] = witnessed.get(line, True) and found
    return witnessed


def study(data_file):
    data = CoverageData(basename=data_file)
    data.read()
    functions = eligible = missing_lines = witnessed_total = 0
    unwitnessed = {}
    for path in data.measured_files():
        executed = set(data.lines(path) or [])
        try:
            with open(path) as f:
                source = f.read()
            module = compile(source, path, "exec")
        except (OSError, SyntaxError, ValueError):
            continue
        text = source.splitlines()
        for code in code_objects(module):
            if code.co_name == "<module>":
                continue
            lines = {line for _, _, line in code.co_lines() if line is not None} - {code.co_firstlineno}
            missing = lines - executed
            if not lines & executed or not missing:
                continue
            witnessed = witnessed_lines(code)
            functions += 1
            missing_lines += len(missing)
            good = [line for line in missing if witnessed.get(line, False)]
            witnessed_total += len(good)
            eligible += len(good) == len(missing)
            for line in set(missing) - set(good):
                word = text[line - 1].split()[0] if line <= len(text) and text[line - 1].split() else "?"
                unwitnessed[word] = unwitnessed.get(word, 0) + 1
    print(f"{data_file}: {functions} functions ran with lines missing; every missing line witnessed in "
          f"{eligible} ({100 * eligible // max(functions, 1)}%); missing lines witnessed: {witnessed_total} of {missing_lines}")
    print("  unwitnessed lines by first word:", sorted(unwitnessed.items(), key=lambda item: -item[1])[:10])


if __name__ == "__main__":
    for data_file in sys.argv[1:]:
        study(data_file)
