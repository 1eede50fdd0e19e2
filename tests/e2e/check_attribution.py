"""pycov's data file says which process (pid, parent, exec generation, fork depth) and which
kind of thread (main, threading, raw _thread, native, greenlet) ran each line, so that the
lines only an affected process or thread ran can be found. Checked on scenario programs whose
threads and processes are known."""
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import unittest

from coverage.numbits import numbits_to_nums

PYCOV = os.path.abspath(os.environ["PYCOV"])
PYTHON = os.environ.get("PYCOV_TEST_PYTHON", "/usr/bin/python3")
SCENARIOS = os.path.abspath(os.environ["PYCOV_SCENARIOS"])


class Attribution(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="pycov-attribution-")
        self.addCleanup(shutil.rmtree, self.dir, True)
        shutil.copytree(SCENARIOS, self.dir, dirs_exist_ok=True)

    def measure(self, *program):
        result = subprocess.run([PYCOV, "run", "--python", PYTHON, *program], cwd=self.dir,
                                capture_output=True, text=True, timeout=120)
        self.assertEqual(result.returncode, 0, result.stderr)
        db = sqlite3.connect(os.path.join(self.dir, ".coverage"))
        processes = {row[0]: {"pid": row[1], "ppid": row[2], "exec_generation": row[3], "fork_depth": row[4],
                              "argv": json.loads(row[5])}
                     for row in db.execute("SELECT id, pid, ppid, exec_generation, fork_depth, argv FROM pycov_process")}
        origins = []  # (process, file name, thread kind, lines)
        for process_id, path, kind, bits in db.execute(
                "SELECT o.process_id, f.path, o.thread_kind, o.numbits FROM pycov_line_origin o "
                "JOIN file f ON f.id = o.file_id"):
            origins.append((processes[process_id], os.path.relpath(path, self.dir), kind, set(numbits_to_nums(bits))))
        return processes, origins

    def kinds_of(self, origins, name, line):
        return {kind for _, path, kind, lines in origins if path == name and line in lines}

    def line_of(self, name, text):
        with open(os.path.join(self.dir, name)) as f:
            return next(n for n, source in enumerate(f, 1) if text in source)

    def test_thread_kinds(self):
        _, origins = self.measure("threads_every_origin.py")
        name = "threads_every_origin.py"
        self.assertEqual(self.kinds_of(origins, name, self.line_of(name, 'message = f"raw {tag}"')), {"raw_thread"})
        self.assertEqual(self.kinds_of(origins, name, self.line_of(name, "value = 40 + 2")), {"native"})
        self.assertEqual(self.kinds_of(origins, name, self.line_of(name, 'print("threading")')), {"threading"})
        self.assertEqual(self.kinds_of(origins, name, self.line_of(name, 'print("main done")')), {"main"})

    def test_complete_code_still_recorded_by_other_threads_and_processes(self):
        processes, origins = self.measure("complete_code_elsewhere.py")
        name = "complete_code_elsewhere.py"
        line = self.line_of(name, "doubled = x * 2")
        parent = next(p for p in processes.values() if p["fork_depth"] == 0)
        child = next(p for p in processes.values() if p["fork_depth"] == 1)
        kinds = lambda process: {kind for p, path, kind, lines in origins
                                 if p is process and path == name and line in lines}
        self.assertEqual(kinds(parent), {"main", "threading", "raw_thread"})
        self.assertEqual(kinds(child), {"main"})
        self.assertEqual(self.kinds_of(origins, name, self.line_of(name, 'return "late"')), {"main"})

    def test_greenlets(self):
        _, origins = self.measure("greenlet_switching.py")
        self.assertEqual(self.kinds_of(origins, "greenlet_worker.py", 4), {"greenlet"})  # b = 2, after a switch
        self.assertEqual(self.kinds_of(origins, "greenlet_worker.py", 1), {"main"})      # the def, at import
        self.assertEqual(self.kinds_of(origins, "greenlet_switching.py", self.line_of("greenlet_switching.py", "y = 20")),
                         {"main"})
        _, origins = self.measure("gevent_switching.py")
        task = os.path.join("helpers", "cooperative_tasks.py")
        self.assertEqual(self.kinds_of(origins, task, self.line_of(task, 'step 3')), {"greenlet"})

    def test_code_complete_for_one_kind_is_recorded_for_the_other(self):
        _, origins = self.measure("greenlet_complete_code.py")
        name = "greenlet_complete_code.py"
        for text in ("total = 0", "total += i", "return total"):
            self.assertEqual(self.kinds_of(origins, name, self.line_of(name, text)), {"main", "greenlet"}, text)
        self.assertEqual(self.kinds_of(origins, name, self.line_of(name, "return n * 2")), {"greenlet", "main"})
        self.assertEqual(self.kinds_of(origins, name, self.line_of(name, "return shared(3) + greenlets_first(4)")),
                         {"greenlet"})

    def test_exec_generations_of_one_pid(self):
        processes, origins = self.measure("exec_chain.py")
        self.assertEqual(len({p["pid"] for p in processes.values()}), 1)
        self.assertEqual(sorted(p["exec_generation"] for p in processes.values()), [0, 1, 2, 3])
        name = "exec_chain.py"
        by_generation = {p["exec_generation"]: lines for p, path, _, lines in origins if path == name}
        self.assertIn(self.line_of(name, 'print("start"'), by_generation[0])
        self.assertIn(self.line_of(name, 'print("after execv"'), by_generation[1])
        self.assertIn(self.line_of(name, 'print("last stage"'), by_generation[3])
        self.assertNotIn(self.line_of(name, 'print("last stage"'), by_generation[0])

    def test_forked_child_is_its_own_process(self):
        processes, origins = self.measure("fork_and_exit.py")
        parent = next(p for p in processes.values() if p["fork_depth"] == 0)
        child = next(p for p in processes.values() if p["fork_depth"] == 1)
        self.assertEqual(child["ppid"], parent["pid"])
        name = "fork_and_exit.py"
        child_only = self.line_of(name, "total = sum(range(10))")
        owners = [p for p, path, _, lines in origins if path == name and child_only in lines]
        self.assertEqual([p["pid"] for p in owners], [child["pid"]])


if __name__ == "__main__":
    unittest.main()
