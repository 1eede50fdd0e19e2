// Python-level observations written by the tracer (one `*.events` file per process start in
// the run directory, one JSON object per line): what the program did that matters for coverage
// measurement, with the call site in the user's code and the stack.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace pycov {

struct CodeLocation {
  std::string path;
  int line = 0;
};

struct PythonEvent {
  std::string event;  // os.exec, os.fork, os.system, subprocess.Popen, os.posix_spawn, os._exit,
                      // sys.settrace, trace-fiddling, _thread.start_new_thread, import, no-source
  int32_t pid = 0;
  int64_t unix_ns = 0;
  std::map<std::string, std::string> fields;  // argument, function, code, module, filename
  CodeLocation site;                          // innermost measured frame; empty path if none
  std::vector<CodeLocation> stack;            // innermost first
};

/// Reads every `*.events` file in `run_dir`, in time order. Lines that do not parse (a process
/// killed mid-write) are skipped: an observation is lost, the run is not.
std::vector<PythonEvent> ReadPythonEvents(const std::string& run_dir);

}  // namespace pycov
