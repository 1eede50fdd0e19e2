"""End-to-end check of pycov on generated programs whose functions take new paths late, from
other contexts.

Each program (one per seed, the same every run) has a few functions built from `if`/`elif`,
`while` and `for` (with `break`, `continue` and `else`), `try` in every form, `with`, closures
and lambdas, comprehensions, `match`, subscripts and properties of classes written in Python
(with a `__getitem__` given by `type()`, set afterwards or of a metaclass), a descriptor,
`__class_getitem__`, `__init_subclass__` of classes made by `type()`, exceptions thrown into
generators, generators driven by `send` and coroutines driven by hand. The functions first
run with arguments 13-29, so that pycov starts their frames untraced, and then with the other
arguments, which take new paths, from four contexts chosen by the seed: plainly, in a
`threading` thread, in a `_thread.start_new_thread` thread, inside an exception handler, under
a trace function of the program's that it then removes (set at module level or inside a
function), under a profile function, from a generator, in a greenlet, in a forked child (also
while a thread of the parent runs), in a signal handler, an `atexit` function, a `__del__`.

coverage.py loses lines in some of those contexts, so the reference for the functions is
coverage.py's run of a copy of the program that makes the same calls plainly: pycov's lines
(and arcs with --branch) of the functions must equal it, and its lines of the rest of the
program must include coverage.py's. pycov's run must print what the unmeasured run prints.

usage: check_generated_contexts.py --pycov PATH --python PATH [--seeds N] [--first N] [--branch]
"""
import os
import random
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from check_generated_programs import GeneratedRuns, differences, missing  # noqa: E402

PRELUDE = """\
import sys, threading
class Guard:
    def __init__(self, swallow):
        self.swallow = swallow
    def __enter__(self):
        return self
    def __exit__(self, kind, value, traceback):
        return self.swallow and kind is KeyError
class Shelf:
    def __init__(self, n):
        self.n = n
    def __getitem__(self, i):
        if i > 40:
            return -i
        return self.n + i
    @property
    def twice(self):
        if self.n > 45:
            return 0
        return self.n * 2
def crate_item(self, i):
    if i > 42:
        return -i
    return i + 1
Crate = type("Crate", (), {"__getitem__": crate_item})
class Bin:
    pass
def bin_item(self, i):
    if i < 4:
        return i * 3
    return i
Bin.__getitem__ = bin_item
class Registry(type):
    def __getitem__(cls, i):
        if i % 7 == 3:
            return i * 7
        return i
class Thing(metaclass=Registry):
    pass
def pick(c, i, now):
    if now:
        return c[i]
    return 0
pick([1], 0, True)
for _ in range(50):
    pick(None, 0, False)
class Described:
    def __get__(self, obj, kind=None):
        if obj is not None and obj.n > 50:
            return -1
        return 1
class Holder:
    d = Described()
    def __init__(self, n):
        self.n = n
    def __class_getitem__(cls, item):
        if item > 55:
            return "late"
        return item
    def __init_subclass__(cls, **options):
        if options.get("late"):
            cls.flag = True
def thrower(n):
    try:
        yield 1
        yield 2
    except KeyError:
        if n > 33:
            yield 3
    finally:
        if n < 5:
            pass
def boom(n, k):
    if n == k:
        raise (KeyError if k % 2 else ValueError)(n)
    return n
class Ready:
    def __await__(self):
        yield 1
        return 2
def drive(coroutine):
    try:
        while True:
            coroutine.send(None)
    except StopIteration as stop:
        return stop.value
"""

CONTEXTS = ["plain", "thread", "start_new_thread", "handler", "settrace", "settrace_in_function", "setprofile",
            "generator", "greenlet", "fork", "fork_while_a_thread_runs", "signal_handler", "atexit", "finalizer"]


class ProgramWriter:
    """One generated program, from its seed."""

    def __init__(self, seed):
        self.rnd = random.Random(seed)

    def condition(self):
        kind = self.rnd.choice(["modulo", "modulo", "above", "below", "equal"])
        if kind == "modulo":
            k = self.rnd.randint(2, 5)
            return f"n % {k} == {self.rnd.randint(0, k - 1)}"
        if kind == "above":
            return f"n > {self.rnd.randint(30, 58)}"
        if kind == "below":
            return f"n < {self.rnd.randint(0, 12)}"
        return f"n == {self.rnd.randint(0, 60)}"

    def block(self, depth, indent, index, inside):
        """Statements at `indent`; `inside` says whether a loop, generator or coroutine encloses them."""
        rnd, pad, lines = self.rnd, " " * indent, []
        for _ in range(rnd.randint(1, 3)):
            kinds = ["add", "add", "call"]
            if depth < 3:
                kinds += ["if", "while", "for", "try", "with", "closure", "comprehension", "match", "subscript",
                          "descriptor", "subclass", "throw"]
                kinds += ["break", "continue"] if "loop" in inside else []
                kinds += ["yield"] if "generator" in inside else []
                kinds += ["await"] if "coroutine" in inside else []
            kind = rnd.choice(kinds)

            def nested(extra_indent=4, more=()):
                return self.block(depth + 1, indent + extra_indent, index, inside | set(more))
            if kind == "add":
                lines.append(f"{pad}acc += {rnd.randint(1, 9)}")
            elif kind == "call":
                if index > 0 and rnd.random() < 0.6:
                    lines.append(f"{pad}acc += helper{rnd.randint(0, index - 1)}(n)")
                else:
                    lines.append(f"{pad}acc += boom(n, {rnd.randint(0, 60)})")
            elif kind in ("break", "continue"):
                lines.append(f"{pad}if {self.condition()}: {kind}")
            elif kind == "yield":
                lines.append(f"{pad}acc += (yield acc) or 0")
            elif kind == "await":
                lines.append(f"{pad}acc += await Ready()")
            elif kind == "if":
                lines += [f"{pad}if {self.condition()}:"] + nested()
                if rnd.random() < 0.4:
                    lines += [f"{pad}elif {self.condition()}:"] + nested()
                if rnd.random() < 0.5:
                    lines += [f"{pad}else:"] + nested()
            elif kind in ("while", "for"):
                if kind == "while":
                    lines += [f"{pad}w{depth} = n % {rnd.randint(2, 5)}", f"{pad}while w{depth} > 0:",
                              f"{pad}    w{depth} -= 1"]
                else:
                    lines.append(f"{pad}for i{depth} in range(n % {rnd.randint(2, 4)}):")
                lines += nested(more=["loop"])
                if rnd.random() < 0.3:
                    lines += [f"{pad}else:"] + nested()
            elif kind == "try":
                lines += [f"{pad}try:"] + nested()
                form = rnd.choice(["except", "finally", "both", "else", "reraise"])
                if form in ("except", "both", "else"):
                    lines += [f"{pad}except {rnd.choice(['KeyError', 'ValueError', 'Exception'])}:"] + nested()
                if form == "else":
                    lines += [f"{pad}else:"] + nested()
                if form == "reraise":
                    lines += [f"{pad}except ValueError:", f"{pad}    acc -= 2", f"{pad}    raise"]
                if form in ("finally", "both", "reraise"):
                    lines += [f"{pad}finally:", f"{pad}    acc += 100"]
            elif kind == "with":
                lines += [f"{pad}with Guard({rnd.choice(['True', 'False'])}):"] + nested()
            elif kind == "closure":
                name = f"inner{depth}_{rnd.randint(0, 999)}"
                lines += [f"{pad}def {name}(m):", f"{pad}    if m % {rnd.randint(2, 5)} == 0:",
                          f"{pad}        return m + acc", f"{pad}    return m - 1",
                          f"{pad}acc += {name}(n) + (lambda q: q if q > {rnd.randint(20, 58)} else -q)(n)"]
            elif kind == "comprehension":
                lines += [f"{pad}acc += sum([x for x in range(n % 7) if x % {rnd.randint(2, 5)} == 0])",
                          f"{pad}acc += len({{x: x for x in range(n % 4) if x > n - {rnd.randint(40, 60)}}})"]
            elif kind == "match":
                lines += [f"{pad}match n % {rnd.randint(2, 6)}:", f"{pad}    case 0:"] + nested(8)
                lines += [f"{pad}    case 1 | 2:", f"{pad}        acc += 1", f"{pad}    case _:"] + nested(8)
            elif kind == "subscript":
                # The __getitem__ of Crate (from type()), Bin (set afterwards) or Thing's metaclass
                # may first be called from pick's subscript, quickened without having run, in a
                # frame that runs untraced.
                lines.append(f"{pad}acc += Shelf(n)[n % {rnd.randint(3, 50)}] + Shelf(n).twice + "
                             f"pick({rnd.choice(['Crate()', 'Bin()', 'Thing'])}, n, True)")
            elif kind == "descriptor":
                lines.append(f"{pad}acc += Holder(n).d + (1 if Holder[n] == 'late' else 0)")
            elif kind == "subclass":
                lines.append(f"{pad}acc += len(type('Sub', (Holder,), {{}}, late=n > {rnd.randint(30, 58)}).__dict__)")
            else:
                lines += [f"{pad}thrown = thrower(n)", f"{pad}next(thrown)", f"{pad}try:",
                          f"{pad}    acc += thrown.throw(KeyError) or 0", f"{pad}except (KeyError, StopIteration):",
                          f"{pad}    acc -= 1", f"{pad}thrown.close()"]
        return lines

    def function(self, index):
        """helper{index}(n), made of a plain function, a method, a generator or a coroutine."""
        flavour = self.rnd.choice(["plain", "plain", "plain", "generator", "coroutine", "method"])
        body = self.block(0, 4, index, {flavour})
        if flavour == "method":
            return ([f"class Worker{index}:", "    def run(self, n):", "        acc = 0"] +
                    ["    " + line for line in body] +
                    ["        return acc", f"def helper{index}(n):", f"    return Worker{index}().run(n)"])
        if flavour == "generator":
            return ([f"def steps{index}(n):", "    acc = 0", "    acc += (yield acc) or 0"] + body +
                    ["    return acc"] +
                    [f"def helper{index}(n):", f"    it = steps{index}(n)", "    total = 0", "    try:",
                     "        total += next(it)", "        while True:", "            total += it.send(n % 3)",
                     "    except StopIteration as stop:", "        return total + (stop.value or 0)"])
        if flavour == "coroutine":
            return ([f"async def task{index}(n):", "    acc = 0"] + body + ["    return acc"] +
                    [f"def helper{index}(n):", f"    return drive(task{index}(n))"])
        return [f"def helper{index}(n):", "    acc = 0"] + body + ["    return acc"]

    def programs(self):
        """The program, the copy that makes the same calls plainly, and the last line of the functions."""
        count = self.rnd.randint(3, 6)
        lines = PRELUDE.splitlines()
        for index in range(count):
            lines += self.function(index)
        functions_end = len(lines)
        lines += ["def call(f, n):", "    try:", "        return f(n)", "    except (KeyError, ValueError) as e:",
                  "        return type(e).__name__", "results = []", "def phase(ns):", "    for n in ns:"]
        lines += [f"        results.append(call(helper{index}, n))" for index in range(count)]
        lines.append("phase(range(13, 30))")
        plain = list(lines)
        later = list(range(30, 61)) + list(range(13))
        self.rnd.shuffle(later)
        chunks = [later[i::4] for i in range(4)]
        for context, chunk in zip(self.rnd.sample(CONTEXTS, 4), chunks):
            plain.append(f"phase({chunk})")
            half = len(chunk) // 2
            lines += {
                "plain": [f"phase({chunk})"],
                "thread": [f"t = threading.Thread(target=phase, args=({chunk},))", "t.start()", "t.join()"],
                "handler": ["try:", "    raise OSError('x')", "except OSError:", f"    phase({chunk})"],
                "settrace": ["def own_tracer(frame, event, arg):", "    return None", "sys.settrace(own_tracer)",
                             f"phase({chunk[:half]})", "sys.settrace(None)", f"phase({chunk[half:]})"],
                "setprofile": ["sys.setprofile(lambda *a: None)", f"phase({chunk})", "sys.setprofile(None)"],
                "generator": ["def phase_steps(ns):", "    for n in ns:", "        phase([n])", "        yield n",
                              f"for _ in phase_steps({chunk}):", "    pass"],
                "greenlet": ["import greenlet", f"greenlet.greenlet(phase).switch({chunk})"],
                # Waits on a lock: a wait loop's lines would run or not with the threads' timing.
                "start_new_thread": ["import _thread", "finished = _thread.allocate_lock()", "finished.acquire()",
                                     f"_thread.start_new_thread(lambda: (phase({chunk}), finished.release()), ())",
                                     "finished.acquire()"],
                "settrace_in_function": ["def traced_phase(ns):", "    sys.settrace(lambda *a: None)", "    phase(ns)",
                                         "    sys.settrace(None)", f"traced_phase({chunk})"],
                "fork_while_a_thread_runs": [
                    "import os", f"busy = threading.Thread(target=phase, args=({chunk[:half]},))", "busy.start()",
                    "child = os.fork()", "if child == 0:", f"    phase({chunk[half:]})", "    os._exit(0)",
                    "os.waitpid(child, 0)", "busy.join()"],
                "signal_handler": ["import os, signal", f"signal.signal(signal.SIGUSR1, lambda *a: phase({chunk}))",
                                   "os.kill(os.getpid(), signal.SIGUSR1)",
                                   "signal.signal(signal.SIGUSR1, signal.SIG_DFL)"],
                "atexit": ["import atexit", f"atexit.register(phase, {chunk})"],
                "finalizer": ["class Last:", "    def __del__(self):", f"        phase({chunk})", "Last()"],
                "fork": ["import os", "child = os.fork()", "if child == 0:", f"    phase({chunk})", "    os._exit(0)",
                         "os.waitpid(child, 0)"],
            }[context]
        lines.append("print(results)")
        plain.append("print(results)")
        return "\n".join(lines) + "\n", "\n".join(plain) + "\n", functions_end


def main():
    runs = GeneratedRuns(__doc__.splitlines()[0], default_seeds=24)

    def check_one(seed):
        name, plain_name = f"contexts_{seed}.py", f"contexts_{seed}_plain.py"
        source, plain_source, functions_end = ProgramWriter(seed).programs()
        path, plain_path = runs.write(name, source), runs.write(plain_name, plain_source)
        unmeasured, measured = runs.unmeasured(name), runs.pycov(name, "pycov.cov")
        reference, plain = runs.coverage_py(name, "reference.cov"), runs.coverage_py(plain_name, "plain.cov")
        failed = runs.failed_runs(name, unmeasured, measured, reference, plain)
        if failed:
            return path, failed
        ours, theirs, plain_data = runs.data("pycov.cov"), runs.data("reference.cov"), runs.data("plain.cov")

        def in_functions(line):
            return 0 < line <= functions_end

        def of_functions(arcs):
            return {arc for arc in arcs or () if in_functions(arc[0]) or in_functions(arc[1])}

        got = set(ours.lines(path) or ())
        problems = differences(f"{name}: lines of the functions (against coverage.py's plain run)",
                               {line for line in got if in_functions(line)},
                               {line for line in plain_data.lines(plain_path) or () if in_functions(line)})
        problems += missing(f"{name}: lines of the calls", got,
                            {line for line in theirs.lines(path) or () if not in_functions(line)})
        if runs.args.branch:
            problems += differences(f"{name}: arcs of the functions (against coverage.py's plain run)",
                                    of_functions(ours.arcs(path)), of_functions(plain_data.arcs(plain_path)))
        return path, problems

    return runs.check_each(check_one)


if __name__ == "__main__":
    sys.exit(main())
