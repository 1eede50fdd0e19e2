"""Report formats: `pycov report --format lcov` equals `coverage lcov`, and `--format xml`
equals `coverage xml` but for the version, the time and the generator's comment, on one data
file: every top-level module of the standard library and a few of its packages (absolute
names), and a package under the current directory (relative names), with every third line of
each file run. `--format json` lists the same executed lines as `coverage json` (excluded
lines that ran among them), and `--format markdown` has the text report's rows."""
import glob
import html
import json
import os
import re
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ElementTree

from coverage import CoverageData

pycov = os.path.abspath(sys.argv[1])
python = sys.argv[2]
stdlib = "/usr/lib/python3.11"
failures = []


def run(work, *argv):
    result = subprocess.run(argv, cwd=work, capture_output=True, text=True)
    if result.returncode != 0:
        failures.append(f"{' '.join(argv)} exited {result.returncode}: {result.stderr}")
    return result.stdout


def comparable_xml(text):
    """The document without its version and time, and without the whitespace between tags."""
    root = ElementTree.fromstring(text)
    del root.attrib["version"], root.attrib["timestamp"]
    for element in root.iter():
        element.text = element.text.strip() if element.text else None
        element.tail = None
    return ElementTree.tostring(root, encoding="unicode")


with tempfile.TemporaryDirectory(prefix="pycov-formats-") as work:
    package = os.path.join(work, "app", "handlers")
    os.makedirs(package)
    with open(os.path.join(package, "web.py"), "w") as f:
        f.write("import os\nx = 1  # pragma: no cover\n\ndef f(a):\n    if a:\n        return (1 +\n"
                "                2)\n    return 0\nf(1)\n")
    with open(os.path.join(work, "app", "main.py"), "w") as f:
        f.write("print('main')\n")
    # Line ends and characters that coverage.py's reading and str.splitlines() treat their own
    # way, before the lines are hashed: a form feed, \v and \x1c in strings, U+0085 and U+2028
    # in comments, \r\n and a lone \r.
    with open(os.path.join(work, "app", "odd_lines.py"), "wb") as f:
        f.write("x = 1  # a form feed:\f.\ny = 2\r\nz = 3\rw = 4\ns = 'vertical\x0btab'\nt = 'file\x1cseparator'\n"
                "# next line\u0085and a line separator\u2028here\nu = 5\n".encode())
    # Not through a link (Debian's sitecustomize.py): coverage.py reports the file linked to.
    files = sorted(path for path in glob.glob(os.path.join(stdlib, "*.py")) + glob.glob(os.path.join(stdlib, "json", "*.py"))
                   + glob.glob(os.path.join(stdlib, "email", "mime", "*.py")) if not os.path.islink(path))
    files += [os.path.join(package, "web.py"), os.path.join(work, "app", "main.py"), os.path.join(work, "app", "odd_lines.py")]
    data = CoverageData(basename=os.path.join(work, "data.cov"))
    lines = {}
    for path in files:
        with open(path, "rb") as source:
            count = source.read().count(b"\n")
        lines[path] = list(range(1, count + 1, 3))  # lines of the file (coverage lcov fails past its end)
    lines[os.path.join(package, "web.py")] = [1, 2, 4, 5, 6, 9]
    lines[os.path.join(work, "app", "odd_lines.py")] = [1, 2, 3, 4, 5, 8]
    data.add_lines(lines)
    data.write()

    ours = run(work, pycov, "report", "--format", "lcov", "--data-file", "data.cov")
    ref = run(work, python, "-m", "coverage", "lcov", "-q", "--data-file", "data.cov", "-o", "-")
    if ours != ref:
        ours_records, ref_records = ours.split("end_of_record\n"), ref.split("end_of_record\n")
        differing = [(a, b) for a, b in zip(ours_records, ref_records) if a != b]
        failures.append(f"lcov differs in {len(differing)} of {len(ref_records)} records; the first:\n"
                        f"--- pycov\n{differing[0][0] if differing else ours[:500]}\n"
                        f"--- coverage.py\n{differing[0][1] if differing else ref[:500]}")

    ours = run(work, pycov, "report", "--format", "xml", "--data-file", "data.cov")
    ref = run(work, python, "-m", "coverage", "xml", "-q", "--data-file", "data.cov", "-o", "-")
    if comparable_xml(ours) != comparable_xml(ref):
        failures.append("xml differs:\n" + "\n".join(
            f"- {a}\n+ {b}" for a, b in zip(comparable_xml(ours).split("<class "), comparable_xml(ref).split("<class "))
            if a != b)[:3000])
    if ours.count("<class ") < 100:
        failures.append(f"only {ours.count('<class ')} files in the xml report")

    ours = json.loads(run(work, pycov, "report", "--format", "json", "--data-file", "data.cov"))["files"]
    ref = json.loads(run(work, python, "-m", "coverage", "json", "-q", "--data-file", "data.cov", "-o", "-"))["files"]
    for name in sorted(set(ours) | set(ref)):
        if ours.get(name, {}).get("executed_lines") != ref.get(name, {}).get("executed_lines"):
            failures.append(f"json executed_lines of {name} differ")

    text = run(work, pycov, "report", "--data-file", "data.cov")
    markdown = run(work, pycov, "report", "--format", "markdown", "--data-file", "data.cov")
    text_rows = re.findall(r"^(\S+)\s+(\d+)\s+(\d+)\s+(\d+%)$", text, re.M)
    markdown_rows = [(re.sub(r"\*\*", "", a), *[re.sub(r"\*\*", "", x) for x in rest])
                     for a, *rest in re.findall(r"^\| (.+?) \| (.+?) \| (.+?) \| (.+?) \|$", markdown, re.M)[1:]]
    if [tuple(row) for row in markdown_rows] != text_rows:
        failures.append(f"markdown rows differ from the text report's:\n{markdown[:800]}")
    if len(text_rows) < 100:
        failures.append(f"only {len(text_rows)} rows reported")

    # HTML: the index has the text report's rows, each linking to a page whose lines are
    # marked as the JSON report has them.
    run(work, pycov, "report", "--format", "html", "-o", "html", "--data-file", "data.cov")
    with open(os.path.join(work, "html", "index.html"), encoding="utf-8") as f:
        index = f.read()
    links = re.findall(r'<tr><td><a href="([^"]+)">([^<]+)</a></td><td>(\d+)</td><td>(\d+)</td><td>\d+</td>'
                       r'<td>(\d+%)</td></tr>', index)
    if [(html.unescape(name), stmts, miss, cover) for _, name, stmts, miss, cover in links] != text_rows[:-1]:
        failures.append("the HTML index's rows differ from the text report's")
    if len(links) < 100:
        failures.append(f"only {len(links)} pages in the HTML report")
    for page, name, _, _, _ in links:
        with open(os.path.join(work, "html", page), encoding="utf-8") as f:
            text_of_page = f.read()
        marked = {kind: {int(n) for n in re.findall(rf'<tr class="{kind}" id="t(\d+)">', text_of_page)}
                  for kind in ("run", "mis", "exc")}
        reported = ours[html.unescape(name)]
        if marked["mis"] != set(reported["missing_lines"]) or marked["exc"] != set(reported["excluded_lines"]):
            failures.append(f"{page}: the lines marked missing or excluded differ from the JSON report's")
        run_statements = reported["summary"]["num_statements"] - reported["summary"]["missing_lines"]
        if not marked["run"] <= set(reported["executed_lines"]) or len(marked["run"]) != run_statements:
            failures.append(f"{page}: the lines marked run are not the statements that ran")

for failure in failures:
    print("FAIL:", failure)
print("ok" if not failures else f"{len(failures)} problem(s)")
sys.exit(1 if failures else 0)
