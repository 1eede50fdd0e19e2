"""End-to-end check of one scenario program under `pycov run`.

The program is run three ways in a scratch copy of tests/scenarios: unmeasured, under pycov,
and under Debian's coverage.py (the reference). It checks that:
  - pycov's run prints the same stdout and stderr and ends the same way as the unmeasured run;
  - coverage.py's own reader accepts pycov's data file, and `coverage report` on it gives the
    same statement and miss counts as `pycov report`;
  - with --expect equal: pycov's executed lines (and arcs with --branch) equal coverage.py's;
  - with --expect superset: pycov has every line coverage.py has, every line marked
    "# pycov: runs", and nothing else; with --branch, every arc marked "# pycov: arc from N"
    (from line N to the marked one), and no arc between lines of different functions (one
    that crosses from a frame to another: a switch, a call or a return taken for a step).
"""
import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import types

from coverage import CoverageData

MARK = "# pycov: runs"
ARC_MARK = re.compile(r"# pycov: arc from (-?\d+(?:\s*,\s*-?\d+)*)")


def run(argv, cwd, env=None):
    return subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=120)


def read_data(path):
    data = CoverageData(basename=path)
    data.read()
    return data


def marked_lines(path):
    with open(path, encoding="utf-8") as source:
        return {n for n, text in enumerate(source, 1) if MARK in text}


def files_of_the_program(work, program):
    """The program's script and each helper module its text names ("helpers/NAME.py",
    os.path.join("helpers", "NAME.py"), helpers.NAME), as absolute paths."""
    if not program or not program[0].endswith(".py"):
        return set()
    script = os.path.join(work, program[0])
    with open(script, encoding="utf-8") as source:
        names = set(re.findall(r"""helpers(?:/|\.|["'],\s*["'])(\w+)""", source.read()))
    helpers = {os.path.join(work, "helpers", name + ".py") for name in names}
    return {script} | {path for path in helpers if os.path.exists(path)}


def marked_arcs(path):
    arcs = set()
    with open(path, encoding="utf-8") as source:
        for n, text in enumerate(source, 1):
            match = ARC_MARK.search(text)
            if match:
                arcs |= {(int(start), n) for start in match.group(1).split(",")}
    return arcs


def lines_of_each_code_object(path):
    """The lines of each code object compiled from `path`, as sets."""
    with open(path, "rb") as source:
        pending = [compile(source.read(), path, "exec")]
    found = []
    while pending:
        code = pending.pop()
        found.append({line for _, _, line in code.co_lines() if line is not None})
        pending += [const for const in code.co_consts if isinstance(const, types.CodeType)]
    return found


def arcs_across_functions(arcs, path):
    """The arcs between two lines that no one code object has both of."""
    codes = lines_of_each_code_object(path)
    return {(start, end) for start, end in arcs
            if start > 0 and end > 0 and not any(start in lines and end in lines for lines in codes)}


def line_count(path):
    with open(path, encoding="utf-8", errors="replace") as source:
        return sum(1 for _ in source)


def report_rows(text):
    """Name -> (stmts, miss) from a text report."""
    rows = {}
    for line in text.splitlines():
        match = re.match(r"^(\S+)\s+(\d+)\s+(\d+)\s", line)
        if match:
            rows[match.group(1)] = (int(match.group(2)), int(match.group(3)))
    return rows


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--pycov", required=True)
    parser.add_argument("--python", required=True)
    parser.add_argument("--scenarios", required=True)
    parser.add_argument("--branch", action="store_true")
    parser.add_argument("--run-option", action="append", default=[],
                        help="an option given to both `pycov run` and `coverage run`")
    parser.add_argument("--expect", choices=["equal", "superset"], default="equal")
    parser.add_argument("--pycov-warning", action="append", default=[],
                        help="a regular expression that one of pycov's own warning lines must match; "
                             "pycov's lines are taken out of its stderr before comparing")
    parser.add_argument("program", nargs=argparse.REMAINDER, help="SCRIPT [ARGS] or -m MODULE [ARGS]")
    args = parser.parse_args()
    if args.program[:1] == ["--"]:
        args.program = args.program[1:]
    args.pycov = os.path.abspath(args.pycov)
    args.scenarios = os.path.abspath(args.scenarios)

    failures = []
    work = tempfile.mkdtemp(prefix="pycov-e2e-")
    try:
        shutil.copytree(args.scenarios, work, dirs_exist_ok=True)
        env = dict(os.environ)
        env.pop("COVERAGE_FILE", None)
        env.pop("PYTHONPATH", None)
        branch = (["--branch"] if args.branch else []) + args.run_option

        plain = run([args.python] + args.program, work, env)
        measured = run([args.pycov, "run", "--python", args.python, "--data-file", "pycov.cov"] + branch
                       + ["--"] + args.program, work, env)
        ref_env = dict(env, COVERAGE_FILE=os.path.join(work, "reference.cov"))
        reference = run([args.python, "-m", "coverage", "run"] + branch + args.program, work, ref_env)

        # pycov's own lines ("pycov: ...") are not the program's: each must be expected.
        ours_lines = [line for line in measured.stderr.splitlines(True) if line.startswith("pycov: ")]
        measured.stderr = "".join(line for line in measured.stderr.splitlines(True) if not line.startswith("pycov: "))
        for pattern in args.pycov_warning:
            matching = [line for line in ours_lines if re.search(pattern, line)]
            if not matching:
                failures.append(f"no pycov line matches {pattern!r}; pycov said:\n{''.join(ours_lines)}")
            ours_lines = [line for line in ours_lines if line not in matching]
        if ours_lines:
            failures.append("unexpected lines from pycov:\n" + "".join(ours_lines))
        for what in ("stdout", "stderr", "returncode"):
            if getattr(plain, what) != getattr(measured, what):
                failures.append(f"{what} differs from the unmeasured run:\n--- unmeasured\n"
                                f"{getattr(plain, what)}\n--- pycov\n{getattr(measured, what)}")
        if not os.path.exists(os.path.join(work, "pycov.cov")):
            failures.append("pycov wrote no data file")
            raise SystemExit(report(failures))

        ours = read_data(os.path.join(work, "pycov.cov"))
        ref = read_data(os.path.join(work, "reference.cov"))
        if ours.has_arcs() != bool(args.branch):
            failures.append(f"has_arcs is {ours.has_arcs()}")
        # SPEC §2: by default only files under the current directory count. (Debian's
        # coverage.py also measures some dist-packages files outside it.)
        files = sorted(p for p in set(ours.measured_files()) | set(ref.measured_files())
                       if p.startswith(work + os.sep) or args.run_option)
        if args.expect == "superset":
            # The program's own file and the helpers it names, even where neither run measured
            # them: their marks must still be met.
            files = sorted(set(files) | files_of_the_program(work, args.program))
        for path in files:
            got = set(ours.lines(path) or ())
            want = set(ref.lines(path) or ())
            name = os.path.relpath(path, work)
            if args.expect == "equal":
                if got != want:
                    failures.append(f"{name}: lines differ from coverage.py: only pycov {sorted(got - want)}, "
                                    f"only coverage.py {sorted(want - got)}")
                if args.branch and set(ours.arcs(path) or ()) != set(ref.arcs(path) or ()):
                    a, b = set(ours.arcs(path) or ()), set(ref.arcs(path) or ())
                    failures.append(f"{name}: arcs differ: only pycov {sorted(a - b)}, only coverage.py {sorted(b - a)}")
            else:
                marks = marked_lines(path) if os.path.exists(path) else set()
                # Under greenlet switching coverage.py can record lines against the wrong
                # file, numbers past its end: those are not lines pycov lost.
                want = {n for n in want if n <= line_count(path)}
                if want - got:
                    failures.append(f"{name}: coverage.py saw lines pycov lost: {sorted(want - got)}")
                if marks - got:
                    failures.append(f"{name}: marked lines not measured: {sorted(marks - got)}")
                if got - want - marks:
                    failures.append(f"{name}: lines measured that neither ran under coverage.py nor are "
                                    f"marked: {sorted(got - want - marks)}")
                if args.branch and os.path.exists(path):
                    got_arcs = set(ours.arcs(path) or ())
                    if marked_arcs(path) - got_arcs:
                        failures.append(f"{name}: marked arcs not measured: {sorted(marked_arcs(path) - got_arcs)}")
                    across = arcs_across_functions(got_arcs, path)
                    if across:
                        failures.append(f"{name}: arcs between lines of different functions: {sorted(across)}")

        if ours.measured_files():
            cov_report = run([args.python, "-m", "coverage", "report", "--data-file", "pycov.cov"], work, env)
            our_report = run([args.pycov, "report", "--data-file", "pycov.cov"], work, env)
            if cov_report.returncode != 0:
                failures.append(f"coverage report cannot read pycov's data:\n{cov_report.stdout}{cov_report.stderr}")
            elif our_report.returncode != 0:
                failures.append(f"pycov report failed:\n{our_report.stdout}{our_report.stderr}")
            else:
                # Branch columns change coverage.py's Cover, not Stmts or Miss.
                want_rows = {k: v for k, v in report_rows(cov_report.stdout).items()}
                got_rows = report_rows(our_report.stdout)
                if want_rows != got_rows:
                    failures.append(f"report counts differ:\n--- coverage report\n{cov_report.stdout}"
                                    f"--- pycov report\n{our_report.stdout}")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    raise SystemExit(report(failures))


def report(failures):
    for failure in failures:
        print("FAIL:", failure)
    print("ok" if not failures else f"{len(failures)} problem(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    main()
