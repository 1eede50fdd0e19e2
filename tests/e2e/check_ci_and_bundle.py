"""`pycov doctor` in CI and for bug reports, end to end: SARIF checked field by field against
what GitHub code scanning requires and parsed back; GitHub workflow annotations with their
escaping, the step summary and the automatic choice under GITHUB_ACTIONS; GitLab Code Quality
fingerprints; several formats in one run; a bug-report bundle made from a run with planted
secrets holds none of them, and its manifest's hashes match its members."""
import hashlib
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import unittest
import zipfile

PYCOV = os.path.abspath(os.environ["PYCOV"])
PYTHON = os.environ.get("PYCOV_TEST_PYTHON", "/usr/bin/python3")

# Two forks at two places (PYC104 twice, PYC105 twice), and a Python subprocess.
PROGRAM = """\
import os, subprocess, sys

def fork_and_leave(tag):
    pid = os.fork()
    if pid == 0:
        print(tag)
        os._exit(0)
    os.waitpid(pid, 0)

fork_and_leave("one")
pid = os.fork()
if pid == 0:
    os._exit(0)
os.waitpid(pid, 0)
subprocess.run([sys.executable, "-c", "pass"] + sys.argv[1:])
"""

GITHUB_REQUIRED_RULE_FIELDS = ["id", "name", "shortDescription", "fullDescription", "help", "defaultConfiguration",
                               "properties"]


def clean_environment(**extra):
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "GITLAB_"))}
    environment.update(extra)
    return environment


class Project:
    """A throwaway project directory holding the program, inside a git repository."""

    def __init__(self, name="app.py", program=PROGRAM, subdirectory="project"):
        self.root = tempfile.mkdtemp(prefix="pycov-ci-")
        os.makedirs(os.path.join(self.root, ".git"))
        self.directory = os.path.join(self.root, subdirectory)
        os.makedirs(self.directory)
        self.name = name
        with open(os.path.join(self.directory, name), "w") as f:
            f.write(program)

    def doctor(self, *args, program_args=(), env=None):
        return subprocess.run([PYCOV, "doctor", "--python", PYTHON, "--fail-on", "never", *args, self.name,
                               *program_args], cwd=self.directory, capture_output=True, text=True, timeout=120,
                              env=env or clean_environment())

    def read(self, name):
        with open(os.path.join(self.directory, name)) as f:
            return f.read()

    def remove(self):
        shutil.rmtree(self.root, ignore_errors=True)


def decode_annotation(value):
    return value.replace("%0D", "\r").replace("%0A", "\n").replace("%3A", ":").replace("%2C", ",").replace("%25", "%")


def parse_annotations(log):
    """The workflow commands in a log, as the runner reads them: (command, properties, message)."""
    found = []
    for line in log.splitlines():
        match = re.match(r"^::(error|warning|notice) ([^:]*)::(.*)$", line)
        if match:
            properties = dict(part.split("=", 1) for part in match.group(2).split(","))
            found.append((match.group(1), {k: decode_annotation(v) for k, v in properties.items()},
                          decode_annotation(match.group(3))))
    return found


class SarifTests(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.project = Project()
        cls.result = cls.project.doctor("--format", "text", "--format", "sarif:findings.sarif", "--format",
                                        "json:findings.json")
        cls.sarif = json.loads(cls.project.read("findings.sarif"))
        cls.report = json.loads(cls.project.read("findings.json"))

    @classmethod
    def tearDownClass(cls):
        cls.project.remove()

    def test_several_formats_in_one_run(self):
        self.assertEqual(self.result.returncode, 0, self.result.stderr)
        self.assertIn("error[PYC105 os-exit-skips-save]", self.result.stdout)
        self.assertNotIn('"$schema"', self.result.stdout)
        self.assertTrue(self.report["findings"])

    def test_top_level(self):
        self.assertEqual(self.sarif["version"], "2.1.0")
        self.assertIn("sarif-2.1.0", self.sarif["$schema"])
        self.assertEqual(len(self.sarif["runs"]), 1)
        driver = self.sarif["runs"][0]["tool"]["driver"]
        self.assertEqual(driver["name"], "pycov")
        self.assertRegex(driver["semanticVersion"], r"^\d+\.\d+\.\d+")

    def test_one_rule_per_knowledge_base_entry(self):
        kb = subprocess.run([PYCOV, "kb", "list"], capture_output=True, text=True, check=True).stdout
        ids = re.findall(r"^(PYC\d{3})", kb, re.M)
        rules = self.sarif["runs"][0]["tool"]["driver"]["rules"]
        self.assertEqual([rule["id"] for rule in rules], ids)
        for rule in rules:
            with self.subTest(rule=rule["id"]):
                for field in GITHUB_REQUIRED_RULE_FIELDS:
                    self.assertIn(field, rule)
                self.assertRegex(rule["name"], r"^[A-Z][A-Za-z0-9]+$")
                self.assertTrue(rule["shortDescription"]["text"])
                self.assertLessEqual(len(rule["shortDescription"]["text"]), 1024)
                self.assertTrue(rule["help"]["text"])
                self.assertIn(f"pycov explain {rule['id']}", rule["help"]["markdown"])
                self.assertIn(rule["defaultConfiguration"]["level"], ("error", "warning", "note"))
                self.assertIn(rule["properties"]["problem.severity"], ("error", "warning", "recommendation"))
                self.assertIn("coverage", rule["properties"]["tags"])

    def test_every_result_located_relative_to_the_repository_with_a_fingerprint(self):
        run = self.sarif["runs"][0]
        rules = run["tool"]["driver"]["rules"]
        results = run["results"]
        self.assertEqual(len(results), len(self.report["findings"]))
        base = run["originalUriBaseIds"]["%SRCROOT%"]["uri"]
        self.assertTrue(base.startswith("file:///") and base.endswith("/"))
        self.assertEqual(base, "file://" + self.project.root + "/")
        for result, finding in zip(results, self.report["findings"]):
            with self.subTest(result=result["ruleId"]):
                self.assertEqual(result["ruleId"], finding["id"])
                self.assertEqual(rules[result["ruleIndex"]]["id"], result["ruleId"])
                self.assertIn(result["level"], ("error", "warning", "note"))
                self.assertTrue(result["message"]["text"].startswith(finding["message"]))
                self.assertLessEqual(len(result["locations"]), 10)
                location = result["locations"][0]["physicalLocation"]
                self.assertEqual(location["artifactLocation"]["uriBaseId"], "%SRCROOT%")
                # Relative to the repository root, which is above the project directory.
                self.assertEqual(location["artifactLocation"]["uri"], "project/app.py")
                self.assertFalse(location["artifactLocation"]["uri"].startswith("/"))
                self.assertEqual(location["region"]["startLine"], finding["location"]["line"] or 1)
                self.assertGreaterEqual(location["region"]["startLine"], 1)
                self.assertRegex(result["partialFingerprints"]["pycovFindingHash/v1"], r"^[0-9a-f]{64}$")
        fingerprints = [r["partialFingerprints"]["pycovFindingHash/v1"] for r in results]
        self.assertEqual(len(fingerprints), len(set(fingerprints)))

    def test_fingerprints_are_stable_across_runs_and_line_moves(self):
        first = {(r["ruleId"], r["partialFingerprints"]["pycovFindingHash/v1"]) for r in self.sarif["runs"][0]["results"]}
        moved = Project(program="# a comment that moves every line down\n\n" + PROGRAM)
        try:
            result = moved.doctor("--format", "sarif:findings.sarif")
            self.assertEqual(result.returncode, 0, result.stderr)
            again = json.loads(moved.read("findings.sarif"))["runs"][0]["results"]
            self.assertEqual({(r["ruleId"], r["partialFingerprints"]["pycovFindingHash/v1"]) for r in again}, first)
            lines = sorted(r["locations"][0]["physicalLocation"]["region"]["startLine"] for r in again)
            original = sorted(r["locations"][0]["physicalLocation"]["region"]["startLine"]
                              for r in self.sarif["runs"][0]["results"])
            self.assertEqual(lines, [line + 2 for line in original])
        finally:
            moved.remove()


class GithubTests(unittest.TestCase):
    def test_annotations_escaped_and_step_summary_written_under_github_actions(self):
        # A file name with every character the runner treats specially in a property.
        project = Project(name="odd,na:me%1.py")
        try:
            summary = os.path.join(project.root, "summary.md")
            with open(summary, "w") as f:
                f.write("earlier step\n")
            result = project.doctor(env=clean_environment(GITHUB_ACTIONS="true", GITHUB_STEP_SUMMARY=summary))
            self.assertEqual(result.returncode, 0, result.stderr)
            # The full text log is there too: annotations are capped by GitHub.
            self.assertIn("error[PYC105 os-exit-skips-save]", result.stdout)
            self.assertIn("For more information: pycov explain PYC105", result.stdout)
            raw = [line for line in result.stdout.splitlines() if line.startswith("::")]
            self.assertTrue(raw)
            for line in raw:
                properties = line.split(" ", 1)[1].split("::", 1)[0]
                self.assertIn("file=project/odd%2Cna%3Ame%251.py,", properties)
                message = line.split("::", 2)[2]
                self.assertNotIn("\n", message)
                self.assertIn("%0A", message)  # the message has several lines
            annotations = parse_annotations(result.stdout)
            self.assertEqual(len(annotations), len(raw))
            commands = {a[0] for a in annotations}
            self.assertLessEqual(commands, {"error", "warning", "notice"})
            self.assertIn("error", commands)
            for command, properties, message in annotations:
                self.assertEqual(properties["file"], "project/odd,na:me%1.py")
                self.assertRegex(properties["line"], r"^\d+$")
                self.assertRegex(properties["title"], r"^PYC\d{3} [a-z-]+$")
                self.assertIn("\nMore: pycov explain PYC", message)
            # A message with a ':' and a ',' read back whole: "... at odd,na:me%1.py:7".
            self.assertTrue(any("odd,na:me%1.py:" in message for _, _, message in annotations))
            with open(summary) as f:
                text = f.read()
            self.assertTrue(text.startswith("earlier step\n"), "the summary is appended to, not replaced")
            self.assertIn("| Severity | Rule | Location | Finding | Lines at stake |", text)
            self.assertIn("`PYC105` os-exit-skips-save", text)
        finally:
            project.remove()

    def test_explicit_format_wins_over_github_actions(self):
        project = Project()
        try:
            result = project.doctor("--format", "json", env=clean_environment(GITHUB_ACTIONS="true"))
            self.assertEqual(result.returncode, 0, result.stderr)
            self.assertFalse([line for line in result.stdout.splitlines() if line.startswith("::")])
            json.loads(result.stdout[result.stdout.index("{\n"):])
        finally:
            project.remove()


class GitlabTests(unittest.TestCase):
    def test_code_quality_issues_with_fingerprints_per_location(self):
        project = Project()
        try:
            result = project.doctor("--format", "gitlab:gl-code-quality.json", "--format", "json:findings.json")
            self.assertEqual(result.returncode, 0, result.stderr)
            issues = json.loads(project.read("gl-code-quality.json"))
            findings = json.loads(project.read("findings.json"))["findings"]
            self.assertEqual(len(issues), len(findings))
            for issue in issues:
                self.assertEqual(issue["type"], "issue")
                self.assertIn(issue["severity"], ("info", "minor", "major", "critical", "blocker"))
                self.assertRegex(issue["check_name"], r"^PYC\d{3} [a-z-]+$")
                self.assertTrue(issue["description"])
                self.assertEqual(issue["location"]["path"], "project/app.py")
                self.assertGreaterEqual(issue["location"]["lines"]["begin"], 1)
            # The same rule at two places: two issues, two fingerprints.
            forks = [i for i in issues if i["check_name"].startswith("PYC104")]
            self.assertEqual(len(forks), 2, issues)
            self.assertNotEqual(forks[0]["location"]["lines"]["begin"], forks[1]["location"]["lines"]["begin"])
            fingerprints = [i["fingerprint"] for i in issues]
            self.assertEqual(len(fingerprints), len(set(fingerprints)))
            # And the same again on a second run.
            project.doctor("--format", "gitlab:again.json")
            self.assertEqual(sorted(fingerprints), sorted(i["fingerprint"] for i in json.loads(project.read("again.json"))))
        finally:
            project.remove()

    def test_markdown_and_bad_format_arguments(self):
        project = Project()
        try:
            result = project.doctor("--format", "markdown")
            self.assertEqual(result.returncode, 0, result.stderr)
            self.assertIn("## pycov doctor", result.stdout)
            self.assertIn("| error | `PYC105` os-exit-skips-save |", result.stdout)
            for bad in (["--format", "yaml"], ["--format", "sarif:"], ["--format", "text", "--format", "json"]):
                result = project.doctor(*bad)
                self.assertEqual(result.returncode, 4, (bad, result.stderr))
                self.assertIn("--format", result.stderr)
        finally:
            project.remove()


class HtmlTests(unittest.TestCase):
    def test_html_report_shows_each_finding_under_its_line(self):
        project = Project()
        try:
            result = project.doctor("--format", "html:report", "--format", "json:findings.json")
            self.assertEqual(result.returncode, 0, result.stderr)
            findings = json.loads(project.read("findings.json"))["findings"]
            located = [f for f in findings if f["location"]["path"] == "app.py" and f["location"]["line"] > 0]
            self.assertGreaterEqual(len(located), 4)
            index = project.read(os.path.join("report", "index.html"))
            page = re.search(r'<a href="([^"]+)">app\.py</a>', index).group(1)
            html = project.read(os.path.join("report", page))
            for finding in located:
                # The finding's row comes after its line's row, before the next line's.
                line = finding["location"]["line"]
                rows = html.split(f'id="t{line}">', 1)[1].split(f'id="t{line + 1}">', 1)[0]
                self.assertIn(f'class="note {finding["severity"]}">{finding["severity"]}[{finding["id"]} ', rows)
            self.assertEqual(html.count('class="note '), len(located))
        finally:
            project.remove()


class ColorTests(unittest.TestCase):
    def test_color_only_when_asked_or_on_a_terminal(self):
        project = Project()
        try:
            always = project.doctor("--color", "always")
            self.assertEqual(always.returncode, 0, always.stderr)
            self.assertIn("\x1b[1;31merror[PYC105 os-exit-skips-save]", always.stdout)
            # Not a terminal (captured), or NO_COLOR: plain words, the same words.
            for result in (project.doctor(), project.doctor(env=clean_environment(NO_COLOR="1")),
                           project.doctor("--color", "never")):
                self.assertNotIn("\x1b[", result.stdout)
                self.assertIn("error[PYC105 os-exit-skips-save]", result.stdout)
            bad = project.doctor("--color", "sometimes")
            self.assertEqual(bad.returncode, 4)
            self.assertIn("--color sometimes", bad.stderr)
        finally:
            project.remove()


class BundleTests(unittest.TestCase):
    SECRETS = ["s3cr3t-api-token-value", "hunter2-password-value", "url-pa55w0rd", "bob-url-user"]

    @classmethod
    def setUpClass(cls):
        # The project lives in the home directory, so that paths everywhere would give it away.
        cls.home = tempfile.mkdtemp(prefix="pycov-home-")
        cls.project = Project()
        shutil.move(cls.project.root, os.path.join(cls.home, "work"))
        cls.project.root = os.path.join(cls.home, "work")
        cls.project.directory = os.path.join(cls.project.root, "project")
        env = clean_environment(HOME=cls.home, API_TOKEN=cls.SECRETS[0])
        cls.result = cls.project.doctor(
            "--bundle=report.zip", "--include-source",
            program_args=["--password", cls.SECRETS[1], f"https://{cls.SECRETS[3]}:{cls.SECRETS[2]}@example.com/x"],
            env=env)
        cls.zip_path = os.path.join(cls.project.directory, "report.zip")

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.home, ignore_errors=True)

    def members(self):
        with zipfile.ZipFile(self.zip_path) as bundle:
            return {name: bundle.read(name) for name in bundle.namelist()}

    def test_bundle_is_written_and_holds_what_spec_lists(self):
        self.assertEqual(self.result.returncode, 0, self.result.stderr)
        self.assertIn("bug-report bundle written to report.zip", self.result.stderr)
        names = set(self.members())
        for expected in ("manifest.json", "REPORT.md", "findings.json", "findings.sarif", "observations/os.jsonl",
                         "observations/python.jsonl", "process-tree.txt", "system.txt", "packages.txt",
                         "coverage-config.txt", "data-summary.json", "environment.txt", "source/app.py"):
            self.assertIn(expected, names)
        members = self.members()
        self.assertIn("## How to reproduce", members["REPORT.md"].decode())
        self.assertIn("PYC105", members["REPORT.md"].decode())
        self.assertIn("coverage_version: 6.5.0", members["system.txt"].decode())
        self.assertRegex(members["packages.txt"].decode(), r"(?im)^coverage==6\.5\.0$")
        self.assertIn("pid", members["process-tree.txt"].decode())
        summary = json.loads(members["data-summary.json"])
        self.assertGreaterEqual(len(summary["processes"]), 3)
        for process in summary["processes"]:
            # Every line a process ran, it ran in some kind of thread (a line run by two kinds
            # counts under both).
            self.assertGreaterEqual(sum(process["lines_by_thread_kind"].values()), process["lines"], process)
            self.assertEqual(bool(process["lines_by_thread_kind"]), process["lines"] > 0, process)
        json.loads(members["findings.sarif"])

    def test_no_planted_secret_in_any_member(self):
        for name, content in self.members().items():
            text = content.decode("utf-8", "replace")
            for secret in self.SECRETS + [self.home]:
                self.assertNotIn(secret, text, f"{secret} is in {name}")
                self.assertNotIn(secret, name)
            host = socket.gethostname()
            if len(host) >= 3:
                self.assertIsNone(re.search(r"(?<![\w-])" + re.escape(host) + r"(?![\w-])", text),
                                  f"the host name is in {name}")
        environment = self.members()["environment.txt"].decode()
        self.assertIn("API_TOKEN=<not included>", environment)
        self.assertIn("HOME=~", environment)
        self.assertIn("--password [REDACTED]", self.members()["process-tree.txt"].decode())

    def test_manifest_hashes_and_redaction_counts(self):
        members = self.members()
        manifest = json.loads(members.pop("manifest.json"))
        listed = {m["name"]: m for m in manifest["members"]}
        self.assertEqual(set(listed), set(members))
        for name, content in members.items():
            self.assertEqual(listed[name]["size"], len(content), name)
            self.assertEqual(listed[name]["sha256"], hashlib.sha256(content).hexdigest(), name)
        redactions = manifest["redactions"]
        self.assertGreaterEqual(redactions["argument_secrets"], 1)
        self.assertGreaterEqual(redactions["environment_omitted"], 1)
        self.assertGreaterEqual(redactions["home"], 1)
        self.assertGreaterEqual(redactions["url_credentials"] + redactions["secret_occurrences"], 1)
        self.assertTrue(manifest["include_source"])

    def test_bundle_show_lists_and_checks_members(self):
        shown = subprocess.run([PYCOV, "bundle", "show", self.zip_path], capture_output=True, text=True)
        self.assertEqual(shown.returncode, 0, shown.stderr)
        self.assertRegex(shown.stdout, r"\d+  ok\s+REPORT\.md")
        self.assertIn("findings (", shown.stdout)
        self.assertIn("PYC105", shown.stdout)
        member = subprocess.run([PYCOV, "bundle", "show", self.zip_path, "--member", "REPORT.md"],
                                capture_output=True, text=True)
        self.assertEqual(member.returncode, 0)
        self.assertTrue(member.stdout.startswith("# Coverage bug report"))
        # A member changed after the fact is caught.
        tampered = os.path.join(self.project.directory, "tampered.zip")
        with zipfile.ZipFile(self.zip_path) as source, zipfile.ZipFile(tampered, "w") as target:
            for name in source.namelist():
                content = source.read(name)
                target.writestr(name, content + b"x" if name == "REPORT.md" else content)
        shown = subprocess.run([PYCOV, "bundle", "show", tampered], capture_output=True, text=True)
        self.assertEqual(shown.returncode, 1)
        self.assertRegex(shown.stdout, r"MISMATCH\s+REPORT\.md")
        bad = subprocess.run([PYCOV, "bundle", "show", os.path.join(self.project.directory, "app.py")],
                             capture_output=True, text=True)
        self.assertEqual(bad.returncode, 4)
        self.assertIn("app.py", bad.stderr)

    def test_no_source_without_include_source_and_unwritable_bundle_refused_before_running(self):
        project = Project(program="open('ran', 'w').close()\n")
        try:
            result = project.doctor("--bundle", "b.zip")
            self.assertEqual(result.returncode, 0, result.stderr)
            with zipfile.ZipFile(os.path.join(project.directory, "b.zip")) as bundle:
                self.assertFalse([n for n in bundle.namelist() if n.startswith("source/")])
            os.remove(os.path.join(project.directory, "ran"))
            result = project.doctor("--bundle=/nonexistent-dir/b.zip")
            self.assertEqual(result.returncode, 4)
            self.assertIn("/nonexistent-dir", result.stderr)
            self.assertFalse(os.path.exists(os.path.join(project.directory, "ran")), "the program ran anyway")
        finally:
            project.remove()


if __name__ == "__main__":
    unittest.main()
