"""pycov's command line end to end: bad input gives a one-line error naming the thing, a
documented exit status (4: usage or configuration, SPEC §2), and never a crash or a damaged
data file; [tool.pycov] in pyproject.toml sets defaults that the command line overrides."""
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import unittest

PYCOV = os.path.abspath(os.environ["PYCOV"])
PYTHON = os.environ.get("PYCOV_TEST_PYTHON", "/usr/bin/python3")
USAGE = 4


class CliTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="pycov-bad-")
        self.addCleanup(shutil.rmtree, self.dir, True)

    def write(self, name, data):
        path = os.path.join(self.dir, name)
        with open(path, "wb") as f:
            f.write(data if isinstance(data, bytes) else data.encode())
        return path

    def pycov(self, *args, **kwargs):
        return subprocess.run([PYCOV, *args], cwd=self.dir, capture_output=True, text=True, timeout=60, **kwargs)

    def python(self, *args):
        return subprocess.run([PYTHON, *args], cwd=self.dir, capture_output=True, text=True, timeout=60)

    def assert_measured_run_matches_plain(self, script, *pycov_args, plain_shows=None):
        """`script` run unmeasured succeeds (printing `plain_shows`, if given) and under
        `pycov run` gives the same exit status and standard output."""
        plain = self.python(script)
        self.assertEqual(plain.returncode, 0, plain.stderr)
        if plain_shows is not None:
            self.assertIn(plain_shows, plain.stdout)
        measured = self.pycov("run", "--python", PYTHON, *pycov_args, script)
        self.assertEqual((measured.returncode, measured.stdout), (plain.returncode, plain.stdout), measured.stderr)

    def assert_one_line_error(self, result, *names):
        self.assertEqual(result.returncode, USAGE, result.stderr)
        lines = result.stderr.strip().splitlines()
        self.assertEqual(len(lines), 1, result.stderr)
        self.assertTrue(lines[0].startswith("pycov: error: "), lines[0])
        for name in names:
            self.assertIn(name, lines[0])


class BadInput(CliTest):
    def test_missing_script(self):
        result = self.pycov("run", "--python", PYTHON, "nothere.py")
        self.assert_one_line_error(result, "nothere.py")
        self.assertFalse(os.path.exists(os.path.join(self.dir, ".coverage")))

    def test_missing_module(self):
        # The program's own process finds out (its bootstrap asks the import system), before
        # anything of the program runs; the data file of an earlier run stays as it was.
        self.write("ok.py", "print('hi')\n")
        self.assertEqual(self.pycov("run", "--python", PYTHON, "ok.py").returncode, 0)
        with open(os.path.join(self.dir, ".coverage"), "rb") as f:
            before = f.read()
        for sandbox in ("observe", "off"):
            with self.subTest(sandbox=sandbox):
                result = self.pycov("run", "--python", PYTHON, "--sandbox", sandbox, "-m", "no_such_module_xyz.sub")
                self.assert_one_line_error(result, "no_such_module_xyz")
                self.assertEqual(result.stdout, "")
                with open(os.path.join(self.dir, ".coverage"), "rb") as f:
                    self.assertEqual(f.read(), before)

    def test_module_in_the_current_directory_runs_without_pycovs_variable(self):
        # -m puts the current directory first on sys.path; the variable that names the module
        # to look for is the first process's alone.
        self.write("localmod.py", "import os, subprocess, sys\n"
                                  "print(os.environ.get('PYCOV_MAIN_MODULE'))\n"
                                  "subprocess.run([sys.executable, '-c', 'print(1)'], check=True)\n")
        result = self.pycov("run", "--python", PYTHON, "-m", "localmod")
        self.assertEqual((result.returncode, result.stdout), (0, "None\n1\n"), result.stderr)

    def test_unknown_option(self):
        self.assert_one_line_error(self.pycov("run", "--bogus", "x.py"), "--bogus")

    def test_missing_program(self):
        self.assert_one_line_error(self.pycov("run", "--branch"), "SCRIPT")

    def test_data_file_in_missing_directory(self):
        self.write("ok.py", "print('hi')\n")
        result = self.pycov("run", "--python", PYTHON, "--data-file", "no/such/dir/.coverage", "ok.py")
        self.assert_one_line_error(result, "no/such/dir/.coverage")
        self.assertEqual(result.stdout, "", "the program must not run when its data cannot be kept")

    def test_data_file_on_a_file_system_that_refuses_files(self):
        # /proc refuses new files even to root, for whom permission bits do not count.
        self.write("ok.py", "print('hi')\n")
        result = self.pycov("run", "--python", PYTHON, "--data-file", "/proc/pycov.coverage", "ok.py")
        self.assert_one_line_error(result, "/proc/pycov.coverage")
        self.assertEqual(result.stdout, "")

    def test_data_file_under_a_regular_file(self):
        self.write("ok.py", "print('hi')\n")
        self.write("afile", "x")
        result = self.pycov("run", "--python", PYTHON, "--data-file", "afile/.coverage", "ok.py")
        self.assert_one_line_error(result, "afile/.coverage")

    def test_existing_corrupt_data_file_is_kept(self):
        self.write("ok.py", "print('hi')\n")
        junk = b"not a coverage database\n" * 10
        path = self.write(".coverage", junk)
        result = self.pycov("run", "--python", PYTHON, "ok.py")
        self.assert_one_line_error(result, ".coverage")
        with open(path, "rb") as f:
            self.assertEqual(f.read(), junk)

    def test_a_data_file_with_damaged_contents_is_replaced(self):
        # pycov checks only that the file it would replace is a coverage data file; what an
        # earlier run's data holds is not read (it made every run slower by the file's size).
        self.write("ok.py", "print('hi')\n")
        self.assertEqual(self.pycov("run", "--python", PYTHON, "ok.py").returncode, 0)
        import sqlite3
        with sqlite3.connect(os.path.join(self.dir, ".coverage")) as db:
            db.execute("INSERT INTO line_bits (file_id, context_id, numbits) VALUES (999, 1, x'01')")
        self.assert_one_line_error(self.pycov("report"), ".coverage")  # the damage is real
        result = self.pycov("run", "--python", PYTHON, "ok.py")
        self.assertEqual((result.returncode, result.stdout), (0, "hi\n"), result.stderr)
        self.assertEqual(self.pycov("report").returncode, 0)

    def test_report_on_corrupt_or_missing_data(self):
        self.write(".coverage", "junk")
        self.assert_one_line_error(self.pycov("report"), ".coverage")
        self.assert_one_line_error(self.pycov("report", "--data-file", "absent.db"), "absent.db")

    def test_non_utf8_source_behaves_as_under_python(self):
        self.write("latin.py", b"print('caf\xe9')\n")
        plain = self.python("latin.py")
        measured = self.pycov("run", "--python", PYTHON, "latin.py")
        self.assertEqual(plain.returncode, 1)
        self.assertEqual((measured.returncode, measured.stdout, measured.stderr),
                         (plain.returncode, plain.stdout, plain.stderr))

    def test_the_program_and_its_children_see_the_descriptors_they_would_unmeasured(self):
        # pycov keeps no file descriptor open in a measured process: the first file a program
        # opens gets the number it would get unmeasured, and a child has exactly the
        # descriptors it was passed (CPython's test_subprocess checks that).
        self.write("fds.py", "import os, subprocess, sys\n"
                             "print(sorted(os.listdir('/proc/self/fd')), os.open(os.devnull, os.O_RDONLY), flush=True)\n"
                             "subprocess.run([sys.executable, '-c', "
                             "'import os; print(sorted(os.listdir(\"/proc/self/fd\")))'], check=True)\n")
        for sandbox in ("observe", "off"):
            with self.subTest(sandbox=sandbox):
                self.assert_measured_run_matches_plain("fds.py", "--sandbox", sandbox)

    def test_a_raw_thread_that_raises_is_reported_with_its_own_function(self):
        # sys.unraisablehook gets the function given to _thread.start_new_thread, as unmeasured
        # (CPython's test_thread checks that), and SystemExit ends such a thread silently.
        self.write("raw.py", "import _thread, sys, time\n"
                             "seen = []\n"
                             "sys.unraisablehook = lambda u: seen.append((u.object is task, u.err_msg, str(u.exc_value)))\n"
                             "def task(kind):\n"
                             "    raise kind('ended')\n"
                             "for kind in (ValueError, SystemExit):\n"
                             "    _thread.start_new_thread(task, (kind,))\n"
                             "    time.sleep(0.2)\n"
                             "print(seen)\n")
        self.assert_measured_run_matches_plain(
            "raw.py", plain_shows="(True, 'Exception ignored in thread started by', 'ended')")

    def test_a_programs_code_extra_free_function_runs_only_for_its_own_extras(self):
        # CPython calls a code-object extra's free function on every code object whose extras
        # array covers its index, NULL or not. pycov's extras must not make the program's free
        # function run for code objects it never touched (CPython's test_code crashed at exit).
        self.write("extra.py", "import ctypes, gc\n"
                               "freefunc = ctypes.CFUNCTYPE(None, ctypes.c_void_p)\n"
                               "calls = []\n"
                               "FREE = freefunc(lambda pointer: calls.append(pointer))\n"
                               "request = ctypes.pythonapi._PyEval_RequestCodeExtraIndex\n"
                               "request.argtypes, request.restype = (freefunc,), ctypes.c_ssize_t\n"
                               "request(FREE)\n"
                               "for i in range(20):\n"
                               "    namespace = {}\n"
                               "    exec(compile(f'def f():\\n    return {i}\\n', 'extra.py', 'exec'), namespace)\n"
                               "    namespace['f']()\n"
                               "    del namespace\n"
                               "gc.collect()\n"
                               "print(f'free function called {len(calls)} times')\n")
        self.assert_measured_run_matches_plain("extra.py", plain_shows="called 0 times")

    def test_settrace_from_the_del_of_the_replaced_trace_function_fails_as_unmeasured(self):
        # CPython's sys.settrace refuses a nested call while it releases the previous trace
        # function (CPython's test_sys_settrace checks it); pycov, which keeps the program's
        # function chained, must refuse it too, and keep the function the outer call set.
        self.write("reentrant.py", "import sys\n"
                                   "def foo(*args): pass\n"
                                   "def bar(*args): pass\n"
                                   "class A:\n"
                                   "    def __call__(self, *args): pass\n"
                                   "    def __del__(self):\n"
                                   "        try:\n"
                                   "            sys.settrace(bar)\n"
                                   "        except RuntimeError as e:\n"
                                   "            print('refused:', e)\n"
                                   "sys.settrace(A())\n"
                                   "sys.settrace(foo)\n"
                                   "print(sys.gettrace() is foo)\n"
                                   "sys.settrace(None)\n")
        self.assert_measured_run_matches_plain("reentrant.py", plain_shows="refused: Cannot install a trace function")

    def test_code_of_an_unmeasured_file_runs_untraced_from_its_first_frame(self):
        # Traced, CPython allocates a bound method for each call of a method descriptor, which
        # moves the garbage collector's runs into the middle of such calls. This loop (from
        # CPython's test_queue) sees its queue's order broken if its first and only frame,
        # in a file that is not measured, runs traced.
        os.makedirs(os.path.join(self.dir, "lib"))
        self.write("lib/reentrant_queue.py", "import itertools\n"
                                             "from queue import SimpleQueue\n"
                                             "def run():\n"
                                             "    q, gen, results = SimpleQueue(), itertools.count(), []\n"
                                             "    class Circular:\n"
                                             "        def __init__(self):\n"
                                             "            self.circular = self\n"
                                             "        def __del__(self):\n"
                                             "            q.put(next(gen))\n"
                                             "    while True:\n"
                                             "        o = Circular()\n"
                                             "        q.put(next(gen))\n"
                                             "        del o\n"
                                             "        results.append(q.get())\n"
                                             "        if results[-1] >= 10000:\n"
                                             "            break\n"
                                             "    return results == list(range(10001))\n")
        self.write("main.py", "from lib import reentrant_queue\nprint(reentrant_queue.run())\n")
        self.assert_measured_run_matches_plain("main.py", "--omit", "*/lib/*", plain_shows="True")

    def test_gettrace_gives_none_while_pycov_has_paused_tracing(self):
        # The outer frame's code becomes complete while it runs (the inner call ran the other
        # lines), so pycov pauses the thread's tracing until it returns; sys.gettrace() must
        # still say None (regrtest hands what it got back to sys.settrace).
        self.write("paused.py", "import sys\n"
                                "def probe(inner):\n"
                                "    if inner:\n"
                                "        return None\n"
                                "    probe(True)\n"
                                "    return sys.gettrace()\n"
                                "print(probe(False))\n")
        self.assert_measured_run_matches_plain("paused.py", plain_shows="None")

    def test_subscript_method_of_a_class_made_before_pycov_started_keeps_its_lines(self):
        # CPython 3.11.0-3.11.3 call a __getitem__ written in Python from a specialised
        # subscript without passing the frame hook (docs/performance.md). A module that a .pth
        # file imports exists before pycov's tracer starts (on Debian, `collections` often
        # does): its classes' __getitem__ must be kept out of such calls all the same.
        site_packages = os.path.join(self.dir, "userbase", "lib", "python3.11", "site-packages")
        os.makedirs(site_packages)
        self.write("userbase/lib/python3.11/site-packages/early.pth",
                   f"import sys; sys.path.insert(0, {self.dir!r}); import early_shelf\n")
        self.write("early_shelf.py", "import sys\n"
                                     "BEFORE_SITECUSTOMIZE = 'sitecustomize' not in sys.modules\n"
                                     "class EarlyShelf:\n"
                                     "    def __getitem__(self, index):\n"
                                     "        if index == 'late':\n"
                                     "            return 'late'  # first run from an untraced subscript\n"
                                     "        return index\n")
        self.write("main.py", "import early_shelf\n"
                              "def pick_later(container, index, now):\n"
                              "    if now:\n"
                              "        return container[index]\n"
                              "    return None\n"
                              "pick_later([1], 0, True)\n"
                              "for number in range(50):\n"
                              "    pick_later(None, number, False)  # quickened, the subscript not run since\n"
                              "print(early_shelf.BEFORE_SITECUSTOMIZE, pick_later(early_shelf.EarlyShelf(), 'late', True))\n")
        env = dict(os.environ, PYTHONUSERBASE=os.path.join(self.dir, "userbase"))
        env.pop("PYTHONPATH", None)
        plain = subprocess.run([PYTHON, "main.py"], cwd=self.dir, env=env, capture_output=True, text=True, timeout=60)
        self.assertEqual((plain.returncode, plain.stdout), (0, "True late\n"), plain.stderr)
        for mode in ([], ["--branch"]):
            with self.subTest(mode=mode):
                measured = self.pycov("run", "--python", PYTHON, *mode, "main.py", env=env)
                self.assertEqual((measured.returncode, measured.stdout), (0, plain.stdout), measured.stderr)
                from coverage import CoverageData
                data = CoverageData(basename=os.path.join(self.dir, ".coverage"))
                data.read()
                self.assertEqual(sorted(data.lines(os.path.join(self.dir, "early_shelf.py")) or ()), [5, 6])

    def test_code_compiled_again_and_again_does_not_grow_the_process(self):
        # pycov's state for a code object of a measured file dies with it: 10,000 compiles of
        # the same source (as a template engine would) grew a measured process by 22 MiB.
        self.write("churn.py", "source = 'def f(x):\\n' + ''.join(f'    x = x + {i}\\n' for i in range(50)) + "
                               "'    return x\\nf(1)\\n'\n"
                               "def rss_kib():\n"
                               "    with open('/proc/self/status') as status:\n"
                               "        return next(int(l.split()[1]) for l in status if l.startswith('VmRSS:'))\n"
                               "for i in range(1000):\n"
                               "    exec(compile(source, __file__, 'exec'), {})\n"
                               "before = rss_kib()\n"
                               "for i in range(10000):\n"
                               "    exec(compile(source, __file__, 'exec'), {})\n"
                               "print(rss_kib() - before)\n")
        for mode in ([], ["--branch"]):
            with self.subTest(mode=mode):
                measured = self.pycov("run", "--python", PYTHON, *mode, "churn.py")
                self.assertEqual(measured.returncode, 0, measured.stderr)
                self.assertLess(int(measured.stdout), 4096, "KiB grown over 10,000 compiles")

    def test_report_names_a_file_whose_source_is_gone(self):
        self.write("keep.py", "import gone\nprint('kept')\n")
        self.write("gone.py", "x = 1\n")
        self.assertEqual(self.pycov("run", "--python", PYTHON, "keep.py").returncode, 0)
        os.remove(os.path.join(self.dir, "gone.py"))
        result = self.pycov("report")
        self.assertEqual(result.returncode, 1)
        self.assertIn("gone.py", result.stderr)
        self.assertIn("keep.py", result.stdout)

    def test_interrupted_program_dies_of_the_same_signal_and_keeps_data(self):
        self.write("interrupt.py",
                   "import os, signal\nprint('start', flush=True)\nos.killpg(0, signal.SIGINT)\nprint('after')\n")
        plain = subprocess.run([PYTHON, "interrupt.py"], cwd=self.dir, capture_output=True, text=True,
                               start_new_session=True, timeout=60)
        measured = subprocess.run([PYCOV, "run", "--python", PYTHON, "interrupt.py"], cwd=self.dir,
                                  capture_output=True, text=True, start_new_session=True, timeout=60)
        self.assertEqual(plain.returncode, -signal.SIGINT)
        self.assertEqual((measured.returncode, measured.stdout, measured.stderr),
                         (plain.returncode, plain.stdout, plain.stderr))
        report = self.pycov("report", "-m")
        self.assertEqual(report.returncode, 0, report.stderr)
        self.assertIn("interrupt.py", report.stdout)
        self.assertRegex(report.stdout, r"interrupt\.py\s+4\s+1\s+75%\s+4")


    def test_sigterm_to_pycov_reaches_the_program_and_data_is_kept(self):
        # 'ready' and the sleep share a line, so that line is recorded before the test sees 'ready'.
        self.write("sleeper.py", "import time\nprint('ready', flush=True) or time.sleep(60)\nprint('never')\n")
        process = subprocess.Popen([PYCOV, "run", "--python", PYTHON, "sleeper.py"], cwd=self.dir,
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.assertEqual(process.stdout.readline(), "ready\n")
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=30)
        self.assertEqual(process.returncode, -signal.SIGTERM, stderr)
        report = self.pycov("report", "-m")
        self.assertRegex(report.stdout, r"sleeper\.py\s+3\s+1\s+67%\s+3")


    def test_full_disk_never_breaks_the_program(self):
        # Hit files go to $TMPDIR: a 96 KiB tmpfs in a private mount namespace fills up.
        source = "\n".join(f"x{i} = {i}" for i in range(20000)) + "\nprint('big module ran')\n"
        self.write("big.py", source)
        self.write("app.py", "import big\nprint('done')\n")
        small = os.path.join(self.dir, "small")
        os.mkdir(small)
        script = (f"mount -t tmpfs -o size=96k tmpfs {small} || exit 77\n"
                  f"TMPDIR={small} exec {PYCOV} run --python {PYTHON} --branch app.py\n")
        result = subprocess.run(["unshare", "--mount", "sh", "-c", script], cwd=self.dir,
                                capture_output=True, text=True, timeout=120)
        if result.returncode == 77:
            self.skipTest("cannot mount a tmpfs here: " + result.stderr.strip())
        self.assertEqual((result.returncode, result.stdout), (0, "big module ran\ndone\n"), result.stderr)
        self.assertIn("could not record every line", result.stderr)
        self.assertEqual(self.pycov("report").returncode, 0)


class KnowledgeBaseCommands(CliTest):
    USER_ENTRY = """schema = 1
id = "PYC950"
slug = "my-problem"
title = "A problem of our own"
severity = "info"
since = "0.1.0"
[match]
any = [ { kind = "module", event = "imported", name = "ourlib" } ]
[message]
text = "ourlib is imported at {site}"
[explanation]
markdown = "Our own explanation."
"""

    def test_list_show_and_explain(self):
        listed = self.pycov("kb", "list")
        self.assertEqual(listed.returncode, 0, listed.stderr)
        self.assertEqual(len(listed.stdout.splitlines()), 17)
        self.assertIn("PYC302  trace-function-fiddling", listed.stdout)
        shown = self.pycov("kb", "show", "os-exit-skips-save")
        self.assertEqual(shown.returncode, 0, shown.stderr)
        self.assertTrue(shown.stdout.startswith("PYC105 os-exit-skips-save (error)"))
        self.assertIn('patch = ["_exit"]', shown.stdout)
        explained = self.pycov("explain", "PYC901")
        self.assertEqual(explained.returncode, 0, explained.stderr)
        self.assertIn("1569356", explained.stdout)

    def test_unknown_entry_is_a_usage_error(self):
        self.assert_one_line_error(self.pycov("explain", "PYC777"), "PYC777")

    def test_user_entries_join_with_kb(self):
        os.mkdir(os.path.join(self.dir, "ours"))
        self.write("ours/PYC950-my-problem.toml", self.USER_ENTRY)
        listed = self.pycov("kb", "list", "--kb", "ours")
        self.assertEqual(listed.returncode, 0, listed.stderr)
        self.assertIn("PYC950  my-problem", listed.stdout)
        checked = self.pycov("kb", "check", "ours")
        self.assertEqual((checked.returncode, checked.stdout), (0, "1 entries, 0 test programs: valid\n"))

    def test_check_names_file_line_and_field(self):
        os.mkdir(os.path.join(self.dir, "ours"))
        self.write("ours/PYC950-my-problem.toml", self.USER_ENTRY.replace('severity = "info"', 'severity = "loud"'))
        checked = self.pycov("kb", "check", "ours")
        self.assertEqual(checked.returncode, 1, checked.stderr)
        self.assertIn("ours/PYC950-my-problem.toml:5: field 'severity': must be error, warning or info",
                      checked.stderr)
        # A broken user directory stops the other commands too, as a configuration error.
        self.assert_one_line_error(self.pycov("kb", "list", "--kb", "ours"), "PYC950-my-problem.toml:5")


class SourceDirectories(CliTest):
    def test_modules_never_imported_are_in_the_data_as_coverage_py_lists_them(self):
        # With --source, coverage.py lists every module the program could have imported from
        # the directory, run or not, so that reports count the ones never run as 0%.
        # Subdirectories count only as packages (with an __init__.py); editor side-files and
        # --omit are left out.
        files = {"app/main.py": "import pkg.used\nprint(pkg.used.twice(2))\n",
                 "app/never.py": "def f():\n    return 1\n",
                 "app/tool.pyw": "x = 1\n",
                 "app/#scratch.py": "x = 1\n",
                 "app/pkg/__init__.py": "",
                 "app/pkg/used.py": "def twice(x):\n    return 2 * x\n",
                 "app/pkg/unused.py": "import os\nif os.sep == '/':\n    y = 2\n",
                 "app/pkg/test_skipped.py": "z = 3\n",
                 "app/pkg/sub/__init__.py": "",
                 "app/pkg/sub/deep.py": "w = 4\n",
                 "app/scripts/helper.py": "v = 5\n",
                 "app/scripts/inner/__init__.py": ""}
        for name, text in files.items():
            os.makedirs(os.path.dirname(os.path.join(self.dir, name)), exist_ok=True)
            self.write(name, text)
        app = os.path.join(self.dir, "app")
        from coverage import CoverageData
        for mode in ([], ["--branch"]):
            with self.subTest(mode=mode):
                options = [*mode, "--source", app, "--omit", "*/test_*.py"]
                measured = self.pycov("run", "--python", PYTHON, "--data-file", "pycov.db", *options, "app/main.py")
                self.assertEqual((measured.returncode, measured.stdout), (0, "4\n"), measured.stderr)
                theirs = self.python("-m", "coverage", "run", "--data-file", "coverage.db", *options, "app/main.py")
                self.assertEqual(theirs.returncode, 0, theirs.stderr)
                found = {}
                for data_file in ("pycov.db", "coverage.db"):
                    data = CoverageData(basename=os.path.join(self.dir, data_file))
                    data.read()
                    found[data_file] = {os.path.relpath(f, app): sorted(data.lines(f) or ()) for f in data.measured_files()}
                self.assertEqual(found["pycov.db"], found["coverage.db"])
                self.assertEqual(found["pycov.db"]["never.py"], [])
                self.assertNotIn("scripts/helper.py", found["pycov.db"])
                report = self.pycov("report", "--data-file", "pycov.db")
                self.assertRegex(report.stdout, r"TOTAL\s+11\s+7\s+36%")


class ProjectDefaults(CliTest):
    def test_tool_pycov_sets_defaults(self):
        self.write("pyproject.toml", "[tool.pycov]\nbranch = true\ndata_file = 'measured.db'\n")
        self.write("app.py", "x = 1\nif x:\n    print('yes')\n")
        result = self.pycov("run", "--python", PYTHON, "app.py")
        self.assertEqual((result.returncode, result.stdout), (0, "yes\n"), result.stderr)
        from coverage import CoverageData
        data = CoverageData(basename=os.path.join(self.dir, "measured.db"))
        data.read()
        self.assertTrue(data.has_arcs())

    def test_command_line_wins(self):
        self.write("pyproject.toml", "[tool.pycov]\ndata_file = 'configured.db'\n")
        self.write("app.py", "print('hi')\n")
        self.assertEqual(self.pycov("run", "--python", PYTHON, "--data-file", "given.db", "app.py").returncode, 0)
        self.assertTrue(os.path.exists(os.path.join(self.dir, "given.db")))
        self.assertFalse(os.path.exists(os.path.join(self.dir, "configured.db")))

    def test_malformed_pyproject_names_file_and_line(self):
        self.write("pyproject.toml", "[project]\nname = 'x'\n[tool.pycov]\nbranch = 'sometimes'\n")
        self.write("app.py", "print('hi')\n")
        result = self.pycov("run", "--python", PYTHON, "app.py")
        self.assert_one_line_error(result, "pyproject.toml:4", "branch")
        self.assertEqual(result.stdout, "")


if __name__ == "__main__":
    unittest.main()
