#include "run_command.h"

#include <fcntl.h>
#include <limits.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <set>

#include <fmt/format.h>

#include "combine.h"
#include "coverage_data.h"
#include "exit_codes.h"
#include "file_selection.h"
#include "run_config.h"
#include "program_launch.h"
#include "python_bootstrap.h"
#include "run_directory.h"
#include "shared_library.h"
#include "unmeasured_processes.h"
#include "sandbox/observation_log.h"

extern char** environ;

namespace pycov {
namespace {

namespace fs = std::filesystem;

void PrintError(const std::string& message) { fmt::print(stderr, "pycov: error: {}\n", message); }
void PrintWarning(const std::string& message) { fmt::print(stderr, "pycov: warning: {}\n", message); }

std::string CurrentDirectory() {
  char buffer[PATH_MAX];
  return getcwd(buffer, sizeof(buffer)) != nullptr ? buffer : ".";
}

std::string RealPathOr(const std::string& path, const std::string& fallback) {
  char buffer[PATH_MAX];
  return realpath(path.c_str(), buffer) != nullptr ? buffer : fallback;
}

std::vector<std::string> SplitCommas(const std::string& value) {
  std::vector<std::string> parts;
  size_t at = 0;
  while (at <= value.size()) {
    size_t comma = value.find(',', at);
    std::string part = value.substr(at, comma == std::string::npos ? std::string::npos : comma - at);
    if (!part.empty()) parts.push_back(part);
    if (comma == std::string::npos) break;
    at = comma + 1;
  }
  return parts;
}

std::optional<double> ParseSeconds(const std::string& text) {
  char* end = nullptr;
  double value = std::strtod(text.c_str(), &end);
  if (text.empty() || end == nullptr || *end != '\0' || !(value >= 0) || value > 1e9) return std::nullopt;
  return value;
}

// Finds an executable `name` on PATH, as execvp would.
std::string FindOnPath(const std::string& name) {
  const char* path = std::getenv("PATH");
  std::string dirs = path != nullptr ? path : "/usr/local/bin:/usr/bin:/bin";
  size_t at = 0;
  while (at <= dirs.size()) {
    size_t colon = dirs.find(':', at);
    std::string dir = dirs.substr(at, colon == std::string::npos ? std::string::npos : colon - at);
    if (dir.empty()) dir = ".";
    std::string candidate = dir + "/" + name;
    if (access(candidate.c_str(), X_OK) == 0) return candidate;
    if (colon == std::string::npos) break;
    at = colon + 1;
  }
  return {};
}

Result<std::string> ChooseInterpreter(const std::string& requested) {
  if (!requested.empty()) {
    std::string path = requested.find('/') == std::string::npos ? FindOnPath(requested) : requested;
    if (path.empty() || access(path.c_str(), X_OK) != 0)
      return Error{"--python " + requested + ": no such executable"};
    return path;
  }
  if (const char* venv = std::getenv("VIRTUAL_ENV"); venv != nullptr && *venv != '\0') {
    std::string path = std::string(venv) + "/bin/python";
    if (access(path.c_str(), X_OK) == 0) return path;
  }
  std::string path = FindOnPath("python3");
  if (path.empty()) return Error{"no python3 on PATH; name an interpreter with --python"};
  return path;
}

// The bootstrap directory (sitecustomize + tracer) sits beside the pycov executable.
Result<std::string> BootstrapDirectory() {
  const std::string dir = OwnExecutableDirectory() + "/bootstrap";
  if (access((dir + "/sitecustomize.py").c_str(), R_OK) != 0)
    return Error{"pycov is not installed completely: no tracer bootstrap in " + dir};
  return dir;
}

std::string PythonRepr(const std::vector<std::string>& argv) {
  std::string text = "[";
  for (size_t i = 0; i < argv.size(); ++i) {
    if (i) text += ", ";
    text += "'";
    for (char c : argv[i]) {
      if (c == '\'' || c == '\\') text += '\\';
      text += c;
    }
    text += "'";
  }
  return text + "]";
}

// `pycov run -m MODULE`: the program's first process is told the top-level package to look
// for, and takes the variable out of its environment. When the import system of that process
// cannot find it (with the directory that `-m` puts first on sys.path), its bootstrap leaves
// this file in the run directory and exits before anything of the program runs.
constexpr const char* kMainModuleVariable = "PYCOV_MAIN_MODULE";
constexpr const char* kMissingMainModuleFile = "missing-main-module";

bool MissingMainModule(const std::string& run_dir) {
  return access((run_dir + "/" + kMissingMainModuleFile).c_str(), F_OK) == 0;
}

// Creates and removes a file in `dir`: permission bits say nothing to root, and a read-only
// or special file system only shows itself when a file is created.
Status ProbeWritableDirectory(const std::string& dir) {
  std::string probe = dir + "/.pycov-probe-" + std::to_string(getpid());
  int fd = open(probe.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return Error{dir + ": " + std::strerror(errno)};
  close(fd);
  unlink(probe.c_str());
  return Ok();
}

std::vector<std::string> CurrentEnvironment() {
  std::vector<std::string> environment;
  for (char** e = environ; *e != nullptr; ++e) environment.emplace_back(*e);
  return environment;
}

// Removes the run directory when it goes out of scope, unless told to keep it.
struct RunDirectory {
  std::string path;
  bool keep = false;
  ~RunDirectory() {
    if (!keep) Remove();
  }
  void Remove() {
    if (path.empty()) return;
    std::error_code ec;
    fs::remove_all(path, ec);
    path.clear();
  }
};

// A number no program makes execve carry by chance (sandbox::Policy::exec_pass), never 0.
uint64_t NewExecPass() {
  uint64_t pass = 0;
  if (getrandom(&pass, sizeof pass, 0) != ssize_t(sizeof pass)) return 0;  // every exec waits
  return pass;
}

std::string JoinArgv(const std::vector<std::string>& argv) {
  std::string text;
  for (const auto& arg : argv) text += (text.empty() ? "" : " ") + arg;
  return text;
}

// From the supervisor's log, one line each: policy violations, and Python processes that
// could not be measured (rather than losing them silently).
void ReportFromObservationLog(const sandbox::ObservationLog& log, sandbox::Mode mode,
                              const std::vector<ProcessRecord>& measured, InterpreterClassifier& interpreters) {
  for (const auto& v : log.violations)
    PrintWarning(fmt::format("sandbox {}: pid {}: {} ({}): {}: {}", sandbox::ModeName(mode), v.tid, v.what, v.syscall,
                             v.action, v.detail));
  for (const auto& process : FindUnmeasuredPythonProcesses(log, measured, interpreters))
    PrintWarning(fmt::format("pid {} ({}) was not measured: {}", process.pid, JoinArgv(process.argv), process.reason));
}

}  // namespace

std::string RunUsage() {
  return "usage: pycov run [OPTIONS] [--] (SCRIPT | -m MODULE) [ARGS...]\n"
         "\n"
         "Run a Python program measured, with every Python process and thread it starts,\n"
         "and write coverage.py-compatible data.\n"
         "\n"
         "options:\n"
         "  --branch             measure branches (arcs) as well as lines\n"
         "  --timid              while the program has a trace function of its own, leave the\n"
         "                       thread to it (lines run meanwhile are not measured)\n"
         "  --source DIR         measure only files under DIR (repeat or separate with commas)\n"
         "  --include GLOB       measure only files matching GLOB (when no --source)\n"
         "  --omit GLOB          never measure files matching GLOB\n"
         "  --data-file PATH     where to write the data (default: .coverage)\n"
         "  --python PATH        interpreter (default: the active virtualenv's, else python3 on PATH)\n"
         "  --sandbox MODE       observe (default): follow every process and thread with ptrace;\n"
         "                       strict: also confine the program (loopback-only network, rlimits,\n"
         "                       no ptrace/bpf/mount/modules/namespaces); off: no supervisor\n"
         "  --timeout SECONDS    kill the whole process tree after SECONDS (exit status 3)\n"
         "  --orphan-grace SECONDS\n"
         "                       how long processes may outlive the program before they are\n"
         "                       killed (default 2)\n"
         "  --observation-log PATH\n"
         "                       keep the supervisor's log of processes, execs and exits (JSON lines)\n"
         "  --color WHEN         auto (default: when writing to a terminal, unless NO_COLOR is set\n"
         "                       or TERM=dumb), always or never\n"
         "  -h, --help           show this help\n";
}

RunOptions RunDefaultsFrom(const ProjectConfig& config) {
  RunOptions options;
  if (config.branch) options.branch = *config.branch;
  if (config.timid) options.timid = *config.timid;
  if (config.source) options.source_dirs = *config.source;
  if (config.include) options.include_globs = *config.include;
  if (config.omit) options.omit_globs = *config.omit;
  if (config.data_file) options.data_file = *config.data_file;
  if (config.python) options.python = *config.python;
  if (config.sandbox) options.sandbox = *sandbox::ParseMode(*config.sandbox);
  if (config.timeout) options.timeout_seconds = *config.timeout;
  if (config.orphan_grace) options.orphan_grace_seconds = *config.orphan_grace;
  return options;
}

Result<RunOptions> ParseRunArguments(const std::vector<std::string>& args, RunOptions defaults) {
  RunOptions options = std::move(defaults);
  // A list given on the command line replaces the configured one instead of adding to it.
  std::set<const std::vector<std::string>*> given;
  auto add_to = [&](std::vector<std::string>& list, const std::string& value) {
    if (given.insert(&list).second) list.clear();
    for (auto& v : SplitCommas(value)) list.push_back(v);
  };
  auto take_program = [&](size_t at) -> Status {
    if (at >= args.size()) return Error{"missing SCRIPT or -m MODULE (see pycov run --help)"};
    if (args[at] == "-m") {
      if (at + 1 >= args.size()) return Error{"-m needs a MODULE"};
      options.module = args[at + 1];
      options.program_args.assign(args.begin() + long(at) + 2, args.end());
    } else {
      options.script = args[at];
      options.program_args.assign(args.begin() + long(at) + 1, args.end());
    }
    return Ok();
  };
  for (size_t i = 0; i < args.size(); ++i) {
    std::string arg = args[i];
    if (arg == "--") {
      if (auto s = take_program(i + 1); !s) return s.error();
      return options;
    }
    if (arg == "-m") {
      if (auto s = take_program(i); !s) return s.error();
      return options;
    }
    if (arg == "-h" || arg == "--help") {
      options.help = true;
      return options;
    }
    if (arg == "--branch") {
      options.branch = true;
      continue;
    }
    if (arg == "--timid") {
      options.timid = true;
      continue;
    }
    if (arg.size() > 1 && arg[0] == '-') {
      std::string name = arg, value;
      bool has_value = false;
      if (auto eq = arg.find('='); eq != std::string::npos && arg.rfind("--", 0) == 0) {
        name = arg.substr(0, eq);
        value = arg.substr(eq + 1);
        has_value = true;
      }
      static const char* kValued[] = {"--source",  "--include", "--omit",         "--data-file",
                                      "--python",  "--sandbox", "--timeout",      "--orphan-grace",
                                      "--observation-log", "--color"};
      bool valued = false;
      for (const char* v : kValued) valued = valued || name == v;
      if (!valued) return Error{"unknown option " + arg + " (see pycov run --help)"};
      if (!has_value) {
        if (i + 1 >= args.size()) return Error{name + " needs a value"};
        value = args[++i];
      }
      if (name == "--source") add_to(options.source_dirs, value);
      else if (name == "--include") add_to(options.include_globs, value);
      else if (name == "--omit") add_to(options.omit_globs, value);
      else if (name == "--data-file") options.data_file = value;
      else if (name == "--python") options.python = value;
      else if (name == "--observation-log") options.observation_log = value;
      else if (name == "--color") {
        if (value != "auto" && value != "always" && value != "never")
          return Error{"--color " + value + ": expected auto, always or never"};
        options.color = value;
      }
      else if (name == "--sandbox") {
        auto mode = sandbox::ParseMode(value);
        if (!mode) return Error{"--sandbox " + value + ": expected observe, strict or off"};
        options.sandbox = *mode;
        options.sandbox_given = true;
      } else {
        auto seconds = ParseSeconds(value);
        if (!seconds) return Error{name + " " + value + ": expected a number of seconds"};
        (name == "--timeout" ? options.timeout_seconds : options.orphan_grace_seconds) = *seconds;
      }
      continue;
    }
    if (auto s = take_program(i); !s) return s.error();
    return options;
  }
  return Error{"missing SCRIPT or -m MODULE (see pycov run --help)"};
}

int MeasureProgram(const RunOptions& options, MeasuredRun& measured, sandbox::Follow follow) {
  const std::string cwd = CurrentDirectory();

  auto python = ChooseInterpreter(options.python);
  if (!python) {
    PrintError(python.error().message);
    return kExitUsage;
  }
  auto bootstrap = BootstrapDirectory();
  if (!bootstrap) {
    PrintError(bootstrap.error().message);
    return kExitPycovFailed;
  }

  // Where the data goes must be writable before the program runs, not after.
  const std::string data_file = fs::absolute(options.data_file).lexically_normal().string();
  const std::string data_dir = fs::path(data_file).parent_path().string();
  if (auto writable = ProbeWritableDirectory(data_dir); !writable) {
    PrintError(fmt::format("cannot write the data file {}: {}", options.data_file, writable.error().message));
    return kExitUsage;
  }
  if (auto replaceable = CheckReplaceableDataFile(data_file); !replaceable) {
    PrintError(replaceable.error().message);
    return kExitUsage;
  }

  RunConfig config;
  config.branch = options.branch;
  config.timid = options.timid;
  FileSelection& selection = config.selection;
  for (const auto& dir : options.source_dirs) {
    std::string real = RealPathOr(dir, "");
    if (real.empty() || !fs::is_directory(real)) {
      PrintError("--source " + dir + ": no such directory");
      return kExitUsage;
    }
    selection.source_dirs.push_back(real);
  }
  for (const auto& glob : options.include_globs) selection.include_globs.push_back(AbsoluteGlob(glob, cwd));
  for (const auto& glob : options.omit_globs) selection.omit_globs.push_back(AbsoluteGlob(glob, cwd));
  selection.project_roots.push_back(RealPathOr(cwd, cwd));

  std::vector<std::string> environment = CurrentEnvironment();
  std::vector<std::string> argv = {python.value()};
  if (!options.module.empty()) {
    // Whether the module exists is asked by the bootstrap of the program's own process, before
    // anything of the program runs (see MissingMainModule): a Python start of its own cost
    // every `pycov run -m` about 15 ms.
    environment.push_back(std::string(kMainModuleVariable) + "=" + options.module.substr(0, options.module.find('.')));
    argv.push_back("-m");
    argv.push_back(options.module);
  } else {
    struct stat st {};
    if (stat(options.script.c_str(), &st) != 0) {
      PrintError(fmt::format("cannot run '{}': {}", options.script, std::strerror(errno)));
      return kExitUsage;
    }
    // A script outside the current directory is still the user's code.
    std::string script_dir = fs::path(RealPathOr(options.script, options.script)).parent_path().string();
    if (fs::is_directory(options.script)) script_dir = RealPathOr(options.script, options.script);
    selection.project_roots.push_back(script_dir);
    argv.push_back(options.script);
  }
  argv.insert(argv.end(), options.program_args.begin(), options.program_args.end());

  // Hit files live outside the project, so the program sees the directory it would see.
  const char* tmp = std::getenv("TMPDIR");
  std::string pattern = std::string(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp") + "/pycov-run-XXXXXX";
  RunDirectory run_dir;
  if (mkdtemp(pattern.data()) == nullptr) {
    PrintError(fmt::format("cannot create a run directory {}: {}", pattern, std::strerror(errno)));
    return kExitPycovFailed;
  }
  run_dir.path = pattern;
  if (options.sandbox == sandbox::Mode::kObserve && follow == sandbox::Follow::kExecs) {
    // The tracer's own execs that need nothing from the exec monitor carry it (RunConfig).
    config.exec_pass = NewExecPass();
    config.bootstrap_dir = bootstrap.value();
  }
  {
    std::ofstream config_file(run_dir.path + "/config");
    config_file << config.Serialize();
    if (!config_file) {
      PrintError("cannot write " + run_dir.path + "/config");
      return kExitPycovFailed;
    }
  }

  const Bootstrap bootstrap_environment{bootstrap.value(), run_dir.path};
  environment = WithBootstrap(std::move(environment), bootstrap_environment);

  sandbox::Mode mode = options.sandbox;
  if (mode != sandbox::Mode::kOff) {
    if (auto permitted = sandbox::CheckSupervisionPermitted(); !permitted) {
      if (options.sandbox_given) {
        PrintError(fmt::format("--sandbox {}: {}", sandbox::ModeName(mode), permitted.error().message));
        return kExitPycovFailed;
      }
      PrintWarning(permitted.error().message +
                   "; running with --sandbox off: Python processes started with a scrubbed environment are not "
                   "measured, and exits are not observed");
      mode = sandbox::Mode::kOff;
    }
  }

  ProgramExit exit;
  InterpreterClassifier interpreters;
  interpreters.AddInterpreter(python.value());
  bool timed_out = false;
  std::string observation_log;  // empty without the supervisor
  if (mode == sandbox::Mode::kOff) {
    auto unsupervised = RunProgram({argv, environment, options.orphan_grace_seconds, options.timeout_seconds});
    if (!unsupervised) {
      PrintError(unsupervised.error().message);
      return kExitPycovFailed;
    }
    exit = *unsupervised;
    timed_out = exit.timed_out;
  } else {
    const std::string log_path = options.observation_log.empty()
                                     ? run_dir.path + "/observation.jsonl"
                                     : fs::absolute(options.observation_log).lexically_normal().string();
    sandbox::Policy policy;
    policy.mode = mode;
    policy.follow = follow;
    policy.timeout_seconds = options.timeout_seconds;
    policy.orphan_grace_seconds = options.orphan_grace_seconds;
    policy.exec_pass = config.exec_pass;
    // A child that switched user (subprocess's user=, su, runuser) cannot use pycov's own
    // directory: it gets one of its user's before it starts Python. Where that fails (pycov is
    // not root), its bootstrap says it is not measured, and why.
    OtherUserDirectories other_users(run_dir.path);
    auto supervised = sandbox::Supervise(
        {argv, environment}, policy,
        [&](const sandbox::ExecRequest& request) {
          sandbox::ExecVerdict verdict = DecideExec(request, bootstrap_environment, interpreters);
          if (!verdict.program_kind.empty()) (void)other_users.PrepareFor(request.tgid);
          return verdict;
        },
        log_path,
        // What is not Python is not changed: its environment need not be read. (The tracer's
        // exec pass lets such execs by without asking: src/tracer/exec_pass.cc.)
        [&](const std::string& executable) { return interpreters.Classify(executable) != InterpreterKind::kNotPython; });
    if (!supervised) {
      PrintError(supervised.error().message);
      return kExitPycovFailed;
    }
    exit.exit_code = supervised->exit_code;
    exit.signal = supervised->signal;
    exit.orphans_left = supervised->survivors_killed;
    timed_out = supervised->timed_out;
    observation_log = log_path;
  }
  if (!options.module.empty() && MissingMainModule(run_dir.path)) {
    PrintError(fmt::format("no module named '{}' (looked up with {} from {})", options.module, python.value(), cwd));
    return kExitUsage;
  }
  if (exit.orphans_left > 0)
    PrintWarning(fmt::format("{} process(es) started by the program were still running {:g} s after it ended "
                             "and were killed (--orphan-grace)",
                             exit.orphans_left, options.orphan_grace_seconds));
  if (timed_out)
    PrintError(fmt::format("the program ran past --timeout {:g} s: its whole process tree was killed; "
                           "the lines it ran until then are in the data file",
                           options.timeout_seconds));

  auto combined = CombineHitFiles(run_dir.path, options.branch);
  if (!combined) {
    run_dir.keep = true;
    PrintError(combined.error().message + " (hit files kept in " + run_dir.path + ")");
    return kExitPycovFailed;
  }
  for (const auto& warning : combined->warnings) PrintWarning(warning);
  if (!observation_log.empty()) {
    // The log is read once: for the warnings here, and for whoever asked for the run.
    auto log = sandbox::ReadObservationLog(observation_log);
    if (!log) PrintWarning(log.error().message);
    else ReportFromObservationLog(*log, mode, combined->processes, interpreters);
    if (log) measured.log = std::move(*log);
  }
  if (combined->processes.empty())
    PrintWarning("no data was collected: no Python process of the program was measured");
  // As coverage.py does with --source: the modules no process ran are in the data, with no
  // lines, so that reports count them as 0% covered.
  for (const auto& file : ImportableSourceFiles(selection)) combined->data.files.try_emplace(file);

  if (auto written = WriteDataFile(data_file, combined->data, PythonRepr(argv)); !written) {
    run_dir.keep = true;
    PrintError(written.error().message + " (hit files kept in " + run_dir.path + ")");
    return kExitPycovFailed;
  }
  measured.python_events = ReadPythonEvents(run_dir.path);
  run_dir.Remove();
  measured.exit = exit;
  measured.timed_out = timed_out;
  measured.timid = options.timid;
  measured.mode = mode;
  measured.argv = argv;
  measured.python = python.value();
  measured.data_file = data_file;
  measured.combined = std::move(*combined);
  return 0;
}

int RunCommand(const RunOptions& options) {
  MeasuredRun measured;
  // Measuring needs only the execs: at each one the supervisor makes sure a Python program
  // gets its tracer. The whole tree (forks, threads, exits) is followed for a log kept on
  // request, and by doctor, whose findings are about it.
  const sandbox::Follow follow = options.observation_log.empty() ? sandbox::Follow::kExecs : sandbox::Follow::kWholeTree;
  if (int failed = MeasureProgram(options, measured, follow); failed != 0) return failed;
  if (measured.timed_out) return kExitPycovFailed;
  ExitLikeProgram(measured.exit);
}

}  // namespace pycov
