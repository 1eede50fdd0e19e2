"""What the tracer costs each measured process at start (SPEC §8): it brings no libstdc++ into
the process (loading it costs about 1.2 ms), and where the process may not write bytecode it
still runs the bootstrap from the bytecode built with pycov instead of compiling it. Both are
checked in a measured child, whose lines must still be recorded. pycov's own start is
checked too: `pycov run` loads none of libpython, libarchive and libcrypto, which only source
analysis, bundles and digests need (loading them took about 5 ms of every command)."""
import os
import shutil
import subprocess
import tempfile
import unittest

from coverage import CoverageData

PYCOV = os.path.abspath(os.environ["PYCOV"])
PYTHON = os.environ.get("PYCOV_TEST_PYTHON", "/usr/bin/python3")

PARENT = """\
import os, subprocess, sys
env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
child = subprocess.run([sys.executable, "-v", "child.py"], env=env, capture_output=True, text=True)
sys.stdout.write(child.stdout)
with open("child-imports.txt", "w") as f:
    f.write(child.stderr)
"""
CHILD = """\
with open("/proc/self/maps") as maps:
    mapped = maps.read()
print("libstdc++ mapped:", "libstdc++" in mapped)
"""


class StartupFootprint(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="pycov-startup-")
        self.addCleanup(shutil.rmtree, self.dir, True)
        for name, text in (("parent.py", PARENT), ("child.py", CHILD)):
            with open(os.path.join(self.dir, name), "w") as f:
                f.write(text)

    def test_measured_child_loads_no_libstdcxx_and_compiles_no_bootstrap(self):
        run = subprocess.run([PYCOV, "run", "--python", PYTHON, "parent.py"], cwd=self.dir,
                             capture_output=True, text=True, timeout=60)
        self.assertEqual(run.returncode, 0, run.stderr)
        self.assertIn("libstdc++ mapped: False", run.stdout)

        with open(os.path.join(self.dir, "child-imports.txt")) as f:
            verbose = f.read()
        bootstrap = os.path.join(os.path.dirname(PYCOV), "bootstrap")
        cached = os.path.join(bootstrap, "__pycache__", "sitecustomize.cpython-311.pyc")
        self.assertIn(f"code object from '{cached}'", verbose)
        self.assertNotIn(f"code object from {os.path.join(bootstrap, 'sitecustomize.py')}", verbose)

        data = CoverageData(basename=os.path.join(self.dir, ".coverage"))
        data.read()
        child_lines = {os.path.basename(f): set(data.lines(f)) for f in data.measured_files()}
        self.assertEqual(child_lines.get("child.py"), {1, 2, 3})

    def test_pycov_run_maps_no_library_that_only_other_commands_need(self):
        with open(os.path.join(self.dir, "parent_maps.py"), "w") as f:
            f.write("import os\n"
                    "with open(f'/proc/{os.getppid()}/maps') as maps:\n"
                    "    mapped = {line.split()[-1].rsplit('/', 1)[-1] for line in maps if '/' in line}\n"
                    "print('pycov maps', sorted(name for name in mapped if name.startswith('lib')))\n")
        for sandbox in ("observe", "off"):
            with self.subTest(sandbox=sandbox):
                run = subprocess.run([PYCOV, "run", "--python", PYTHON, "--sandbox", sandbox, "parent_maps.py"],
                                     cwd=self.dir, capture_output=True, text=True, timeout=60)
                self.assertEqual(run.returncode, 0, run.stderr)
                # The parent is pycov: its own libraries are listed (the check reads the right process).
                self.assertIn("libseccomp", run.stdout)
                self.assertNotIn("libpython", run.stdout)
                self.assertNotIn("libarchive", run.stdout)
                self.assertNotIn("libcrypto", run.stdout)
        report = subprocess.run([PYCOV, "report"], cwd=self.dir, capture_output=True, text=True, timeout=60)
        self.assertEqual(report.returncode, 0, report.stderr)
        self.assertRegex(report.stdout, r"parent_maps.py\s+4\s+0\s+100%")


if __name__ == "__main__":
    unittest.main()
