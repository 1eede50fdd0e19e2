"""`pycov doctor` end to end: every knowledge-base entry's [[test]] programs fire it (at the
line they name, where the finding has a line) or leave it silent; a clean program gets no
warning or error; exit codes follow --fail-on; JSON has the documented shape; --output keeps
the program's own output apart."""
import glob
import json
import os
import shutil
import subprocess
import tempfile
import tomllib
import unittest

PYCOV = os.path.abspath(os.environ["PYCOV"])
PYTHON = os.environ.get("PYCOV_TEST_PYTHON", "/usr/bin/python3")
KB = os.path.abspath(os.environ["PYCOV_KB"])

# Observations the doctor gathers: the supervisor's log, the per-thread data, the tracer's
# Python-level events, the interpreter and coverage.py. An entry that could only fire from
# another source would be reported as skipped, by name.
AVAILABLE_KINDS = {"os", "data", "python", "module", "interpreter", "coveragepy"}


def doctor(directory, *args):
    return subprocess.run([PYCOV, "doctor", "--python", PYTHON, *args], cwd=directory, capture_output=True,
                          text=True, timeout=120)


class KnowledgeBaseTests(unittest.TestCase):
    def test_every_entry_fires_or_stays_silent_as_its_tests_say(self):
        checked = skipped = 0
        for path in sorted(glob.glob(os.path.join(KB, "*.toml"))):
            with open(path, "rb") as f:
                entry = tomllib.load(f)
            kinds = {pattern["kind"] for pattern in entry["match"]["any"]}
            for test in entry.get("test", []):
                with self.subTest(entry=entry["id"], test=test["name"]):
                    if test["fires"] and not kinds & AVAILABLE_KINDS:
                        skipped += 1
                        print(f"skipped {entry['id']} '{test['name']}': needs Python-level observations")
                        continue
                    work = tempfile.mkdtemp(prefix="pycov-kbtest-")
                    try:
                        with open(os.path.join(work, "app.py"), "w") as f:
                            f.write(test["program"])
                        result = doctor(work, "--format", "json", "--fail-on", "never", "--orphan-grace", "5",
                                        "app.py")
                        self.assertEqual(result.returncode, 0, result.stderr)
                        report = json.loads(result.stdout[result.stdout.index("{\n"):])
                        found = [f for f in report["findings"] if f["id"] == entry["id"]]
                        if test["fires"]:
                            self.assertTrue(found, f"{entry['id']} did not fire: {report['findings']}")
                            self.assertEqual(found[0]["slug"], entry["slug"])
                            self.assertEqual(found[0]["location"]["path"], "app.py")
                            lines = [f["location"]["line"] for f in found]
                            if any(line is not None for line in lines):
                                self.assertIn(test["line"], lines)
                        else:
                            self.assertFalse(found, f"{entry['id']} fired on a program that must stay silent")
                        checked += 1
                    finally:
                        shutil.rmtree(work, ignore_errors=True)
        print(f"{checked} test programs checked, {skipped} skipped")
        self.assertGreater(checked, 20)


class DoctorCommand(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="pycov-doctor-")
        self.addCleanup(shutil.rmtree, self.dir, True)

    def write(self, name, text):
        os.makedirs(os.path.dirname(os.path.join(self.dir, name)), exist_ok=True)
        with open(os.path.join(self.dir, name), "w") as f:
            f.write(text)

    def test_a_clean_program_has_no_warning_or_error(self):
        self.write("clean.py", "import subprocess, threading\n"
                               "t = threading.Thread(target=print, args=('thread',))\n"
                               "t.start()\n"
                               "t.join()\n"
                               "subprocess.run(['/bin/true'])\n"
                               "try:\n"
                               "    1 / 0\n"
                               "except ZeroDivisionError:\n"
                               "    print('caught')\n")
        result = doctor(self.dir, "--fail-on", "warning", "clean.py")
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        self.assertIn("thread\ncaught\n", result.stdout)
        self.assertIn("ok: 0 error(s), 0 warning(s)", result.stdout)

    def test_findings_decide_the_exit_status(self):
        self.write("app.py", "import os, sys\n"
                             "if len(sys.argv) == 1:\n"
                             "    os.execv(sys.executable, [sys.executable, __file__, 'again'])\n"
                             "print('second program')\n")
        failing = doctor(self.dir, "app.py")
        self.assertEqual(failing.returncode, 1, failing.stderr)
        self.assertIn("error[PYC101 exec-replaces-process]", failing.stdout)
        self.assertIn("For more information: pycov explain PYC101", failing.stdout)
        # Debian's coverage.py is 6.5: the advice is the one for versions before 7.10.
        self.assertIn("coverage.py before 7.10", failing.stdout)
        self.assertNotIn('patch = ["execv"]', failing.stdout)
        self.assertEqual(doctor(self.dir, "--fail-on", "never", "app.py").returncode, 0)

    def test_config_that_handles_a_problem_makes_it_info(self):
        self.write("app.py", "import greenlet\n"
                             "def run():\n"
                             "    main.switch(1)\n"
                             "main = greenlet.getcurrent()\n"
                             "greenlet.greenlet(run).switch()\n")
        self.write(".coveragerc", "[run]\nconcurrency = greenlet\n")
        result = doctor(self.dir, "--format", "json", "app.py")
        report = json.loads(result.stdout)
        greenlet = [f for f in report["findings"] if f["id"] == "PYC203"]
        self.assertTrue(greenlet, report["findings"])
        self.assertEqual(greenlet[0]["severity"], "info")
        self.assertEqual(greenlet[0]["handled_by_config"], "concurrency = greenlet")

    def test_json_report_and_output_file(self):
        self.write("app.py", "import os, signal\nprint('before', flush=True)\nos.kill(os.getpid(), signal.SIGKILL)\n")
        result = doctor(self.dir, "--format", "json", "--output", "report.json", "app.py")
        self.assertEqual(result.returncode, 1, result.stderr)
        self.assertEqual(result.stdout, "before\n")  # only the program's own output
        with open(os.path.join(self.dir, "report.json")) as f:
            report = json.load(f)
        self.assertEqual(report["schema"], 1)
        self.assertEqual(report["program"]["signal"], 9)
        self.assertIsNone(report["program"]["exit_code"])
        self.assertIn("totals", report["coverage"])
        self.assertTrue(report["processes"])
        killed = [f for f in report["findings"] if f["slug"] == "killed-by-signal"]
        self.assertEqual(len(killed), 1)
        for key in ("id", "slug", "severity", "message", "location", "evidence", "impact", "remediation"):
            self.assertIn(key, killed[0])
        self.assertEqual(killed[0]["impact"]["lines"], 3)
        self.assertTrue(os.path.exists(os.path.join(self.dir, ".coverage")))

    def test_a_measured_file_that_does_not_parse_is_named(self):
        # Listed with --source though never imported: coverage.py's report stops at it.
        self.write("pkg/__init__.py", "VALUE = 1\n")
        self.write("pkg/broken.py", "def f(:\n")
        self.write("app.py", "import pkg\n")
        result = doctor(self.dir, "--source", "pkg", "app.py")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("coverage: 100% of 1 statements in 1 file(s)", result.stdout)
        self.assertRegex(result.stdout, r"coverage: left out: couldn't parse '\S+/pkg/broken.py' as Python source")
        report = json.loads(doctor(self.dir, "--source", "pkg", "--format", "json", "app.py").stdout)
        self.assertEqual([f["path"] for f in report["coverage"]["files"]], ["pkg/__init__.py"])
        self.assertEqual(len(report["coverage"]["not_analysed"]), 1)
        self.assertIn("broken.py", report["coverage"]["not_analysed"][0])

    def test_timid_steps_aside_while_the_program_traces(self):
        self.write("app.py", "import sys\n"
                             "def tracer(frame, event, arg):\n"
                             "    return None\n"
                             "def traced():\n"
                             "    return 42\n"
                             "sys.settrace(tracer)\n"
                             "traced()\n"
                             "sys.settrace(None)\n"
                             "def after():\n"
                             "    return 1\n"
                             "after()\n")
        from coverage import CoverageData

        def lines():
            data = CoverageData(basename=os.path.join(self.dir, ".coverage"))
            data.read()
            return set(data.lines(os.path.join(self.dir, "app.py")))

        plain = subprocess.run([PYCOV, "run", "--python", PYTHON, "app.py"], cwd=self.dir, capture_output=True,
                               text=True, timeout=60)
        self.assertEqual(plain.returncode, 0, plain.stderr)
        self.assertIn(5, lines())  # measured while the program's tracer was installed
        timid = subprocess.run([PYCOV, "run", "--python", PYTHON, "--timid", "app.py"], cwd=self.dir,
                               capture_output=True, text=True, timeout=60)
        self.assertEqual(timid.returncode, 0, timid.stderr)
        self.assertNotIn(5, lines())  # the program had the thread to itself
        self.assertIn(10, lines())    # and pycov came back after
        report = json.loads(doctor(self.dir, "--timid", "--format", "json", "app.py").stdout)
        self.assertTrue(any(f["id"] == "PYC301" for f in report["findings"]), report["findings"])

    def test_fiddling_says_whether_pycov_needed_timid(self):
        with open(os.path.join(KB, "PYC302-trace-function-fiddling.toml"), "rb") as f:
            program = tomllib.load(f)["test"][0]["program"]
        self.write("app.py", program)
        report = json.loads(doctor(self.dir, "--format", "json", "app.py").stdout)
        fiddling = [f for f in report["findings"] if f["id"] == "PYC302"]
        self.assertTrue(fiddling, report["findings"])
        self.assertIn("did not need --timid", fiddling[0]["pycov"])
        self.assertIn("timid = true", fiddling[0]["remediation"][0]["pyproject"])

    def test_bad_options_are_usage_errors(self):
        self.write("app.py", "print('x')\n")
        for args, named in ((["--fail-on", "sometimes"], "--fail-on sometimes"), (["--format", "xml"], "--format xml"),
                            (["--coverage-config", "missing.cfg"], "missing.cfg")):
            result = doctor(self.dir, *args, "app.py")
            self.assertEqual(result.returncode, 4, result.stderr)
            self.assertIn(named, result.stderr)
            self.assertEqual(result.stdout, "")


if __name__ == "__main__":
    unittest.main()
