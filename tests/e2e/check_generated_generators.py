"""End-to-end check of pycov on generated generators and coroutines driven every way.

Each program (one per seed, the same every run) has a few generators, coroutines and async
generators built from `yield` and `await` of an awaitable written in Python, `yield from` and
`await` of another generator or coroutine, `if`, `for` and `try` with `except` and `finally`.
Each first runs to its end a dozen times, so that pycov starts its frames untraced, and is
then driven by a seeded list of `send(None)`, `send(3)`, `throw()` of two exceptions and
`close()` (for an async generator: `asend`, `athrow` and `aclose`, stepped by hand), before it
started, at a `yield` or inside a `yield from` or `await`.

The reference is coverage.py's run of the same program. Its C tracer loses track of frames in
some of these programs (it records arcs from one function into another, and stops recording
the module after some throws), so pycov's run must have every line coverage.py has and, with
--branch, every arc of coverage.py's that stays within one code object; more is allowed. pycov's
run must print what the unmeasured run prints.

usage: check_generated_generators.py --pycov PATH --python PATH [--seeds N] [--first N] [--branch]
"""
import os
import random
import sys
import types

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from check_generated_programs import GeneratedRuns, missing  # noqa: E402

PRELUDE = """\
class Step:
    def __init__(self, value):
        self.value = value
    def __await__(self):
        got = yield self.value
        return got
def inner_gen(a):
    try:
        got = yield a
    except KeyError:
        return -1
    return got or 0
async def inner_coro(a):
    try:
        got = await Step(a)
    except KeyError:
        return -1
    return got or 0
"""

DRIVER = """\
def drive(f, acc, operations):
    g = f(acc)
    out = []
    for operation in operations:
        try:
            if operation == 'next':
                out.append(g.send(None))
            elif operation == 'send':
                out.append(g.send(3))
            elif operation == 'close':
                g.close()
            else:
                out.append(g.throw({'key': KeyError, 'value': ValueError}[operation]))
        except (StopIteration, KeyError, ValueError, RuntimeError, TypeError) as stop:
            out.append(type(stop).__name__)
            g = f(acc)
    g.close()
    return out
def run_step(awaitable, out):
    while True:
        try:
            out.append(awaitable.send(None))
        except StopIteration as stop:
            out.append(stop.value)
            return
def drive_async(f, acc, operations):
    g = f(acc)
    out = []
    for operation in operations:
        try:
            if operation == 'next':
                run_step(g.asend(None), out)
            elif operation == 'send':
                run_step(g.asend(3), out)
            elif operation == 'close':
                run_step(g.aclose(), out)
            else:
                run_step(g.athrow({'key': KeyError, 'value': ValueError}[operation]), out)
        except (StopAsyncIteration, KeyError, ValueError, RuntimeError, TypeError) as stop:
            out.append(type(stop).__name__)
            g = f(acc)
    run_step(g.aclose(), out)
    return out
results = []
"""


class ProgramWriter:
    """One generated program, from its seed."""

    def __init__(self, seed):
        self.rnd = random.Random(seed)

    def suspend(self, kind):
        if kind == "async generator":
            return self.rnd.choice(["acc += (await Step(acc)) or 0", "acc += (yield acc) or 0"])
        return "acc += (await Step(acc)) or 0" if kind == "coroutine" else "acc += (yield acc) or 0"

    def block(self, depth, indent, kind):
        rnd, pad, lines = self.rnd, " " * indent, []
        for _ in range(rnd.randint(1, 3)):
            kinds = ["suspend", "suspend", "add"] + (["delegate", "if", "for", "try"] if depth < 3 else [])
            statement = rnd.choice(kinds)
            if statement == "suspend":
                lines.append(pad + self.suspend(kind))
            elif statement == "add":
                lines.append(f"{pad}acc += {rnd.randint(1, 9)}")
            elif statement == "delegate":
                lines.append(f"{pad}acc += await inner_coro(acc)" if kind != "generator"
                             else f"{pad}acc += (yield from inner_gen(acc)) or 0")
            elif statement == "if":
                lines += [f"{pad}if acc % {rnd.randint(2, 4)} == 0:"] + self.block(depth + 1, indent + 4, kind)
                if rnd.random() < 0.5:
                    lines += [f"{pad}else:"] + self.block(depth + 1, indent + 4, kind)
            elif statement == "for":
                lines += [f"{pad}for i{depth} in range(acc % 3):"] + self.block(depth + 1, indent + 4, kind)
            else:
                lines += [f"{pad}try:"] + self.block(depth + 1, indent + 4, kind)
                form = rnd.choice(["except", "finally", "both"])
                if form in ("except", "both"):
                    lines += [f"{pad}except {rnd.choice(['KeyError', 'ValueError', 'Exception'])}:"]
                    lines += self.block(depth + 1, indent + 4, kind)
                if form in ("finally", "both"):
                    lines += [f"{pad}finally:", f"{pad}    acc += 100"]
        return lines

    def program(self):
        rnd, lines, count = self.rnd, PRELUDE.splitlines(), self.rnd.randint(2, 4)
        drivers = []
        for index in range(count):
            kind = rnd.choice(["generator", "coroutine", "async generator"])
            if kind == "async generator":  # an async generator returns no value
                head, first, last = f"async def f{index}(acc):", "acc += (yield acc) or 0", "acc += 1"
                driver = "drive_async"
            else:
                head = f"async def f{index}(acc):" if kind == "coroutine" else f"def f{index}(acc):"
                first, last, driver = self.suspend(kind), "return acc", "drive"
            lines += [head, "    " + first] + self.block(0, 4, kind) + ["    " + last]
            drivers.append(driver)
        lines += DRIVER.splitlines()
        for index in range(count):
            lines += ["for a in range(12):", f"    results.append({drivers[index]}(f{index}, a, ['next'] * 8))"]
        for _ in range(rnd.randint(3, 8)):
            operations = [rnd.choice(["next", "next", "send", "key", "value", "close"])
                          for _ in range(rnd.randint(1, 6))]
            index = rnd.randrange(count)
            lines.append(f"results.append({drivers[index]}(f{index}, {rnd.randint(0, 20)}, {operations!r}))")
        lines.append("print(results)")
        return "\n".join(lines) + "\n"


def code_objects_of_lines(path):
    """For each line, the innermost code object holding it; for each first line, the code
    objects that start there (an arc's -N end)."""
    with open(path) as source:
        code = compile(source.read(), path, "exec")
    innermost, starting, to_visit = {}, {}, [(code, 0)]
    while to_visit:
        code, depth = to_visit.pop()
        starting.setdefault(code.co_firstlineno, set()).add(id(code))
        for _, _, line in code.co_lines():
            if line is not None and (line not in innermost or innermost[line][1] < depth):
                innermost[line] = (id(code), depth)
        to_visit += [(const, depth + 1) for const in code.co_consts if isinstance(const, types.CodeType)]
    return ({line: {owner} for line, (owner, _) in innermost.items()}, starting)


def main():
    runs = GeneratedRuns(__doc__.splitlines()[0], default_seeds=24)

    def check_one(seed):
        name = f"generators_{seed}.py"
        path = runs.write(name, ProgramWriter(seed).program())
        unmeasured, measured = runs.unmeasured(name), runs.pycov(name, "pycov.cov")
        reference = runs.coverage_py(name, "reference.cov")
        failed = runs.failed_runs(name, unmeasured, measured, reference)
        if failed:
            return path, failed
        ours, theirs = runs.data("pycov.cov"), runs.data("reference.cov")
        problems = missing(f"{name}: lines", set(ours.lines(path) or ()), set(theirs.lines(path) or ()))
        if runs.args.branch:
            by_line, by_first_line = code_objects_of_lines(path)

            def code_objects(end):
                return by_first_line.get(-end, set()) if end < 0 else by_line.get(end, set())

            problems += missing(f"{name}: arcs within one code object", set(ours.arcs(path) or ()),
                                {arc for arc in theirs.arcs(path) or () if code_objects(arc[0]) & code_objects(arc[1])})
        return path, problems

    return runs.check_each(check_one)


if __name__ == "__main__":
    sys.exit(main())
