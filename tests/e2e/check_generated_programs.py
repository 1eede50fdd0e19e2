"""End-to-end check of pycov against coverage.py on generated programs full of exceptions.

Each program (one per seed, the same every run) has functions of nested `if`, `for`, `try`
(with `except`, `finally`, a bare `raise`), `with` blocks whose context manager may swallow
the exception, raises at chosen arguments, and generators. The functions first run many times
with arguments that raise nothing, so that pycov starts their frames untraced, and then with
every argument that raises. pycov's run must print what the unmeasured run prints, and its
lines (and arcs with --branch) must equal coverage.py's.

usage: check_generated_programs.py --pycov PATH --python PATH [--seeds N] [--first N] [--branch]
"""
import argparse
import os
import random
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from check_scenario import read_data, run  # noqa: E402

PRELUDE = [
    "class Swallow:",
    "    def __init__(self, keys):",
    "        self.keys = keys",
    "    def __enter__(self):",
    "        return self",
    "    def __exit__(self, kind, value, traceback):",
    "        return self.keys and kind is KeyError",
    "def boom(n, k):",
    "    if n == k:",
    "        raise (KeyError if k % 2 else ValueError)(n)",
    "    return n",
]


def block(rnd, depth, indent):
    pad = " " * indent
    lines = []
    for _ in range(rnd.randint(1, 3)):
        kinds = ["call", "call", "if", "try", "with", "for", "raise"] if depth < 3 else ["call", "call", "raise"]
        kind = rnd.choice(kinds)
        if kind == "call":
            lines.append(f"{pad}acc += boom(n, {rnd.randint(0, 12)})")
        elif kind == "raise":
            lines.append(f"{pad}if n == {rnd.randint(0, 12)}: raise KeyError(n)")
        elif kind == "if":
            lines.append(f"{pad}if n % {rnd.randint(2, 4)} == 0:")
            lines += block(rnd, depth + 1, indent + 4)
            if rnd.random() < 0.5:
                lines.append(f"{pad}else:")
                lines += block(rnd, depth + 1, indent + 4)
        elif kind == "for":
            lines.append(f"{pad}for i in range(n % 3):")
            lines += block(rnd, depth + 1, indent + 4)
        elif kind == "with":
            lines.append(f"{pad}with Swallow({rnd.choice(['True', 'False'])}):")
            lines += block(rnd, depth + 1, indent + 4)
        else:
            lines.append(f"{pad}try:")
            lines += block(rnd, depth + 1, indent + 4)
            form = rnd.choice(["except", "finally", "both", "reraise"])
            if form in ("except", "both"):
                lines.append(f"{pad}except {rnd.choice(['KeyError', 'ValueError', 'Exception'])}:")
                lines += block(rnd, depth + 1, indent + 4) if rnd.random() < 0.5 else [f"{pad}    acc -= 1"]
            if form == "reraise":
                lines += [f"{pad}except ValueError:", f"{pad}    acc -= 2", f"{pad}    raise"]
            if form != "except":
                lines += [f"{pad}finally:", f"{pad}    acc += 100"]
    return lines


def program(seed):
    rnd = random.Random(seed)
    lines = list(PRELUDE)
    functions = []
    for index in range(4):
        generator = rnd.random() < 0.25
        body = block(rnd, 0, 4)
        lines += [f"def f{index}(n):", "    acc = 0"]
        lines += (["    yield acc"] if generator else []) + body + (["    yield acc"] if generator else [])
        lines.append("    return acc")
        functions.append((index, generator))
    lines += ["def call(f, n, generator):",
              "    try:",
              "        return list(f(n)) if generator else f(n)",
              "    except (KeyError, ValueError) as e:",
              "        return type(e).__name__",
              "results = []",
              "for n in list(range(13, 60)) + list(range(13)):"]
    lines += [f"    results.append(call(f{index}, n, {generator}))" for index, generator in functions]
    lines.append("print(results)")
    return "\n".join(lines) + "\n"


def differences(what, got, want):
    """The problem, if any, of pycov's `got` differing from coverage.py's `want`."""
    if got == want:
        return []
    return [f"{what} differ: only pycov {sorted(got - want)}, only coverage.py {sorted(want - got)}"]


def missing(what, got, want):
    """The problem, if any, of pycov's `got` lacking some of coverage.py's `want`."""
    lost = want - got
    return [f"{what} that coverage.py has and pycov has not: {sorted(lost)}"] if lost else []


class GeneratedRuns:
    """Runs the generated programs of a check in a scratch directory, one per seed, and collects
    what they find."""

    def __init__(self, description, default_seeds):
        parser = argparse.ArgumentParser(description=description)
        parser.add_argument("--pycov", required=True)
        parser.add_argument("--python", required=True)
        parser.add_argument("--seeds", type=int, default=default_seeds)
        parser.add_argument("--first", type=int, default=1, help="the first seed")
        parser.add_argument("--branch", action="store_true")
        self.args = parser.parse_args()
        self.env = dict(os.environ)
        self.env.pop("COVERAGE_FILE", None)
        self.env.pop("PYTHONPATH", None)
        self.mode = ["--branch"] if self.args.branch else []
        self.work = None

    def write(self, name, text):
        """Writes a program; returns its path."""
        path = os.path.join(self.work, name)
        with open(path, "w") as out:
            out.write(text)
        return path

    def unmeasured(self, name):
        return run([self.args.python, name], self.work, self.env)

    def pycov(self, name, data_file):
        return run([os.path.abspath(self.args.pycov), "run", "--python", self.args.python, "--data-file", data_file,
                    *self.mode, name], self.work, self.env)

    def coverage_py(self, name, data_file):
        return run([self.args.python, "-m", "coverage", "run", *self.mode, "--data-file", data_file, name],
                   self.work, self.env)

    def failed_runs(self, name, unmeasured, measured, *references):
        """The problem, if any, of pycov's run printing other than the unmeasured run, or of a
        run failing (the programs of these checks exit 0)."""
        if (unmeasured.returncode, unmeasured.stdout) != (measured.returncode, measured.stdout):
            return [f"{name}: pycov's run differs from the unmeasured run:\n{measured.stderr[-3000:]}"]
        if any(run.returncode != 0 for run in (unmeasured, *references)):
            return [f"{name}: a run failed:\n" + "".join(run.stderr[-2000:] for run in (unmeasured, *references))]
        return []

    def data(self, data_file):
        return read_data(os.path.join(self.work, data_file))

    def check_each(self, check_one):
        """Calls check_one(seed) for each seed: it writes the seed's program, runs it, and returns
        the program's path and its problems. A program with problems is copied to the temporary
        directory for a look at it. Prints the problems and a summary; returns the exit status."""
        failures = []
        self.work = tempfile.mkdtemp(prefix="pycov-generated-")
        try:
            for seed in range(self.args.first, self.args.first + self.args.seeds):
                path, problems = check_one(seed)
                if problems:
                    shutil.copy(path, os.path.join(tempfile.gettempdir(), "pycov-failed-" + os.path.basename(path)))
                failures += problems
        finally:
            shutil.rmtree(self.work, ignore_errors=True)
        for failure in failures:
            print("FAIL:", failure)
        print(f"{self.args.seeds} generated programs, {'branch' if self.args.branch else 'line'} coverage: "
              f"{len(failures)} problem(s)")
        return 1 if failures else 0


def main():
    runs = GeneratedRuns(__doc__.splitlines()[0], default_seeds=12)

    def check_one(seed):
        name = f"generated_{seed}.py"
        path = runs.write(name, program(seed))
        plain, measured = runs.unmeasured(name), runs.pycov(name, "pycov.cov")
        reference = runs.coverage_py(name, "reference.cov")
        if (plain.returncode, plain.stdout, plain.stderr) != (measured.returncode, measured.stdout, measured.stderr):
            return path, [f"{name}: pycov's run differs from the unmeasured run:\n{measured.stderr}"]
        if reference.returncode != plain.returncode:
            return path, [f"{name}: coverage.py's run failed:\n{reference.stderr}"]
        ours, ref = runs.data("pycov.cov"), runs.data("reference.cov")
        problems = differences(f"{name}: lines", set(ours.lines(path) or ()), set(ref.lines(path) or ()))
        if runs.args.branch:
            problems += differences(f"{name}: arcs", set(ours.arcs(path) or ()), set(ref.arcs(path) or ()))
        return path, problems

    return runs.check_each(check_one)


if __name__ == "__main__":
    sys.exit(main())
