#include "doctor.h"

#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <toml++/toml.h>

#include "python_bootstrap.h"
#include "unmeasured_processes.h"

namespace pycov {
namespace {

namespace fs = std::filesystem;

std::string Lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(), [](unsigned char c) { return char(std::tolower(c)); });
  return text;
}

std::string Trim(const std::string& text) {
  size_t begin = text.find_first_not_of(" \t\r\n");
  size_t end = text.find_last_not_of(" \t\r\n");
  return begin == std::string::npos ? "" : text.substr(begin, end - begin + 1);
}

// The settings the knowledge base asks about, in coverage.py's [run] section.
bool IsWatchedSetting(const std::string& key) {
  return key == "patch" || key == "concurrency" || key == "parallel" || key == "timid" || key == "sigterm";
}

// Values of an INI setting: comma- or line-separated lists, as coverage.py reads them.
std::vector<std::string> IniValues(const std::string& value) {
  std::vector<std::string> values;
  std::string current;
  for (char c : value + ",") {
    if (c == ',' || c == '\n') {
      if (!Trim(current).empty()) values.push_back(Lower(Trim(current)));
      current.clear();
    } else {
      current += c;
    }
  }
  return values;
}

// [run] (or [coverage:run]) of an INI file; empty when the section is absent.
std::vector<std::pair<std::string, std::string>> ReadIniRun(const std::string& path, const std::string& section) {
  std::vector<std::pair<std::string, std::string>> settings;
  std::ifstream in(path);
  std::string line, current_section, key, value;
  auto flush = [&] {
    if (current_section == section && IsWatchedSetting(key))
      for (const auto& v : IniValues(value)) settings.push_back({key, v});
    key.clear();
    value.clear();
  };
  while (std::getline(in, line)) {
    std::string trimmed = Trim(line);
    if (trimmed.empty() || trimmed[0] == '#' || trimmed[0] == ';') continue;
    if (trimmed.front() == '[' && trimmed.back() == ']') {
      flush();
      current_section = Trim(trimmed.substr(1, trimmed.size() - 2));
      continue;
    }
    if ((line[0] == ' ' || line[0] == '\t') && !key.empty()) {  // a continuation line
      value += "\n" + trimmed;
      continue;
    }
    flush();
    size_t eq = trimmed.find_first_of("=:");
    if (eq == std::string::npos) continue;
    key = Lower(Trim(trimmed.substr(0, eq)));
    value = Trim(trimmed.substr(eq + 1));
  }
  flush();
  return settings;
}

std::vector<std::pair<std::string, std::string>> ReadPyprojectRun(const std::string& path) {
  std::vector<std::pair<std::string, std::string>> settings;
  try {
    toml::table root = toml::parse_file(path);
    const toml::table* run = root["tool"]["coverage"]["run"].as_table();
    if (run == nullptr) return settings;
    for (const auto& [key_view, node] : *run) {
      std::string key(key_view.str());
      if (!IsWatchedSetting(key)) continue;
      if (auto flag = node.value<bool>()) settings.push_back({key, *flag ? "true" : "false"});
      else if (auto text = node.value<std::string>()) settings.push_back({key, Lower(*text)});
      else if (const toml::array* list = node.as_array())
        for (const auto& item : *list)
          if (auto text = item.value<std::string>()) settings.push_back({key, Lower(*text)});
    }
  } catch (const toml::parse_error&) {
    // A pyproject.toml coverage.py cannot read either: no settings from it.
  }
  return settings;
}

std::string RelativeToProject(const std::string& path, const std::string& project_dir) {
  if (path.empty()) return path;
  fs::path absolute = fs::absolute(path).lexically_normal();
  std::string relative = absolute.lexically_relative(project_dir).string();
  return relative.empty() || relative.rfind("..", 0) == 0 ? absolute.string() : relative;
}

std::string SignalName(int signal) {
  const char* abbreviation = sigabbrev_np(signal);
  return abbreviation != nullptr ? std::string("SIG") + abbreviation : "signal " + std::to_string(signal);
}

std::string Join(const std::vector<std::string>& parts, const std::string& separator) {
  std::string text;
  for (const auto& part : parts) text += (text.empty() ? "" : separator) + part;
  return text;
}

// What the supervisor's log and the per-process data say, as one view over processes.
class RunView {
 public:
  RunView(const MeasuredRun& run, const std::string& project_dir) : run_(run), project_dir_(project_dir) {
    if (run.log)
      for (const auto& task : run.log->tasks)
        if (task.kind == sandbox::TaskKind::kProcess) {
          children_[task.parent].push_back(task.tid);
          parent_[task.tid] = task.parent;
        }
  }

  /// Python programs this pid ran that recorded lines (one per exec generation).
  std::vector<const ProcessRecord*> PythonPrograms(int32_t pid) const {
    std::vector<const ProcessRecord*> programs;
    for (const auto& p : run_.combined.processes)
      if (p.pid == pid && p.lines > 0) programs.push_back(&p);
    return programs;
  }
  bool RanPython(int32_t pid) const { return !PythonPrograms(pid).empty(); }

  /// The script a Python process ran (sys.argv[0]), relative to the project.
  std::string ScriptOf(int32_t pid) const {
    auto programs = PythonPrograms(pid);
    if (programs.empty() || programs.back()->argv.empty()) return {};
    return RelativeToProject(programs.back()->argv[0], project_dir_);
  }

  /// The script of the nearest process, `pid` or an ancestor, that ran Python: where a
  /// process started through a shell or another program came from.
  std::string NearestScript(int32_t pid) const {
    for (int depth = 0; pid > 0 && depth < 64; ++depth) {
      if (std::string script = ScriptOf(pid); !script.empty()) return script;
      auto up = parent_.find(pid);
      if (up == parent_.end()) break;
      pid = up->second;
    }
    return {};
  }

  /// The nearest process, `pid` or an ancestor, that ran Python, or 0.
  int32_t NearestPythonProcess(int32_t pid) const {
    for (int depth = 0; pid > 0 && depth < 64; ++depth) {
      if (!PythonPrograms(pid).empty()) return pid;
      auto up = parent_.find(pid);
      if (up == parent_.end()) break;
      pid = up->second;
    }
    return 0;
  }

  /// The latest Python-level event of `pid` among `kinds` no later than `before_ns`.
  const PythonEvent* LatestEvent(int32_t pid, std::initializer_list<const char*> kinds, int64_t before_ns) const {
    const PythonEvent* latest = nullptr;
    for (const auto& event : run_.python_events) {
      if (event.pid != pid || event.unix_ns > before_ns) continue;
      if (std::none_of(kinds.begin(), kinds.end(), [&](const char* k) { return event.event == k; })) continue;
      latest = &event;
    }
    return latest;
  }

  /// `pid` and every process it started, transitively.
  std::set<int32_t> Subtree(int32_t pid) const {
    std::set<int32_t> tree{pid};
    std::vector<int32_t> work{pid};
    while (!work.empty()) {
      int32_t next = work.back();
      work.pop_back();
      auto found = children_.find(next);
      if (found == children_.end()) continue;
      for (int32_t child : found->second)
        if (tree.insert(child).second) work.push_back(child);
    }
    return tree;
  }

 private:
  const MeasuredRun& run_;
  std::string project_dir_;
  std::map<int32_t, std::vector<int32_t>> children_;
  std::map<int32_t, int32_t> parent_;
};

bool IsMultiprocessingCommand(const std::vector<std::string>& argv, std::string* method) {
  for (const auto& arg : argv) {
    if (arg.find("multiprocessing.spawn") != std::string::npos) return *method = "spawn", true;
    if (arg.find("multiprocessing.forkserver") != std::string::npos) return *method = "forkserver", true;
  }
  return false;
}

}  // namespace

std::string InterpreterVersion(const std::string& python) {
  return CaptureOutput({python, "-c", "import platform; print(platform.python_version())"}).value_or("");
}

CoveragePySetup ReadCoveragePySetup(const std::string& python, const std::string& project_dir,
                                    const std::string& explicit_config) {
  CoveragePySetup setup;
  if (auto version = CaptureOutput({python, "-c", "import coverage; print(coverage.__version__)"}))
    setup.version = *version;
  auto read = [&](const std::string& path) {
    if (path.size() >= 5 && path.compare(path.size() - 5, 5, ".toml") == 0) return ReadPyprojectRun(path);
    std::string name = fs::path(path).filename().string();
    bool prefixed = name == "setup.cfg" || name == "tox.ini";
    return ReadIniRun(path, prefixed ? "coverage:run" : "run");
  };
  if (!explicit_config.empty()) {
    setup.settings = read(explicit_config);
    setup.config_files.push_back(explicit_config);
    return setup;
  }
  for (const char* name : {".coveragerc", "setup.cfg", "tox.ini", "pyproject.toml"}) {
    std::string path = (fs::path(project_dir) / name).string();
    if (access(path.c_str(), R_OK) != 0) continue;
    auto settings = read(path);
    if (settings.empty() && std::string(name) != ".coveragerc") continue;
    setup.settings = std::move(settings);
    setup.config_files.push_back(path);
    break;
  }
  return setup;
}

std::vector<DoctorObservation> CollectObservations(const MeasuredRun& run, const CoveragePySetup& coveragepy,
                                                   const std::string& python_version, const std::string& project_dir) {
  std::vector<DoctorObservation> observations;
  RunView view(run, project_dir);
  auto add = [&](std::string kind, std::string event, std::map<std::string, std::string> fields) -> DoctorObservation& {
    observations.push_back({rules::Observation{std::move(kind), std::move(event), std::move(fields)}, {}, -1, "", 0});
    return observations.back();
  };
  auto site = [](const std::string& path, int line) {
    return path.empty() ? std::string("an unknown place") : line > 0 ? path + ":" + std::to_string(line) : path;
  };
  // Points an observation at the call in the user's code, when the tracer saw it.
  auto locate = [&](DoctorObservation& o, const PythonEvent* event) {
    if (event == nullptr || event->site.path.empty()) return;
    o.path = RelativeToProject(event->site.path, project_dir);
    o.line = event->site.line;
    o.observation.fields["site"] = site(o.path, o.line);
  };
  static constexpr std::initializer_list<const char*> kStarts = {"subprocess.Popen", "os.system", "os.posix_spawn",
                                                                  "os.fork", "os.forkpty", "os.exec"};

  if (run.log) {
    const auto& tasks = run.log->tasks;
    const sandbox::TaskRecord* main = tasks.empty() ? nullptr : &tasks.front();
    std::set<int32_t> forkservers;
    for (const auto& task : tasks) {
      if (task.kind != sandbox::TaskKind::kProcess) continue;
      const int32_t pid = task.tid;
      const std::string pid_text = std::to_string(pid);
      // Where it points: the Python program that started this process (or that it was).
      const std::string parent_script = view.NearestScript(task.parent);

      std::string method;
      for (size_t i = 0; i < task.execs.size(); ++i) {
        const sandbox::ExecRecord& exec = task.execs[i];
        const bool python = exec.program_kind == "python";
        // Did this pid run Python before this exec? (an earlier program, or the forked parent's)
        bool replaces = false;
        for (const ProcessRecord* program : view.PythonPrograms(pid))
          if (program->start_unix_ns < exec.unix_ns) replaces = true;
        const bool root = main != nullptr && pid == main->tid && (i == 0 || !replaces);
        auto skipping = BootstrapSkippingOptions(exec.argv);
        std::vector<std::string> flags;
        for (size_t a = 1; a < exec.argv.size() && a < 4; ++a)
          if (exec.argv[a] == "-I" || exec.argv[a] == "-E" || exec.argv[a] == "-S") flags.push_back(exec.argv[a]);
        const std::string location = replaces ? view.ScriptOf(pid) : parent_script;
        auto& o = add("os", "exec",
                      {{"pid", pid_text},
                       {"path", exec.path},
                       {"program", python ? "python" : "other"},
                       {"replaces", replaces ? "python" : "other"},
                       {"root", root ? "true" : "false"},
                       {"instrumented", exec.instrumented ? "true" : "false"},
                       {"injected", exec.injected.empty() ? "false" : "true"},
                       {"isolated", skipping.empty() ? "false" : "true"},
                       {"skips_site", skipping.find('S') != std::string::npos ? "true" : "false"},
                       {"flags", flags.empty() ? "-I/-E/-S" : Join(flags, " ")},
                       {"worker", IsMultiprocessingCommand(exec.argv, &method) ? "true" : "false"},
                       {"site", site(location, 0)}});
        o.affected_pids = view.Subtree(pid);
        o.path = location;
        if (replaces) locate(o, view.LatestEvent(pid, {"os.exec"}, exec.unix_ns));
        else locate(o, view.LatestEvent(view.NearestPythonProcess(task.parent), kStarts, task.start_unix_ns));
        if (IsMultiprocessingCommand(exec.argv, &method)) {
          auto& worker = add("os", "worker",
                             {{"pid", pid_text}, {"framework", "multiprocessing"}, {"method", method},
                              {"site", site(parent_script, 0)}});
          worker.affected_pids = view.Subtree(pid);
          worker.path = parent_script;
          locate(worker, view.LatestEvent(view.NearestPythonProcess(task.parent), kStarts, task.start_unix_ns));
          if (method == "forkserver") forkservers.insert(pid);
        }
      }

      if (task.created_by == "fork" && view.RanPython(task.parent)) {
        const bool worker = forkservers.count(task.parent) > 0;
        bool child_python = false;
        for (const ProcessRecord* program : view.PythonPrograms(pid))
          if (program->fork_depth > 0) child_python = true;
        auto& o = add("os", "fork",
                      {{"pid", std::to_string(task.parent)},
                       {"child", pid_text},
                       {"child_runs_python", child_python ? "true" : "false"},
                       {"child_execs", task.execs.empty() ? "false" : "true"},
                       {"framework", worker ? "multiprocessing" : "none"},
                       {"site", site(parent_script, 0)}});
        o.affected_pids = view.Subtree(pid);
        o.path = parent_script;
        locate(o, view.LatestEvent(task.parent, {"os.fork", "os.forkpty"}, task.start_unix_ns));
        if (worker) {
          auto& w = add("os", "worker",
                        {{"pid", pid_text}, {"framework", "multiprocessing"}, {"method", "forkserver"},
                         {"site", site(parent_script, 0)}});
          w.affected_pids = view.Subtree(pid);
          w.path = parent_script;
        }
      }

      if (view.RanPython(pid)) {
        const std::string script = view.ScriptOf(pid);
        const std::string path = task.execs.empty() ? script : task.execs.back().path;
        if (task.ending == sandbox::TaskEnding::kSignaled) {
          auto& o = add("os", "exit",
                        {{"pid", pid_text}, {"path", path}, {"program", "python"}, {"how", "signal"},
                         {"signal_name", SignalName(task.signal)}, {"site", site(script, 0)}});
          o.affected_pids = view.Subtree(pid);
          o.path = script;
        }
        const bool outlived = main != nullptr && pid != main->tid &&
                              (task.killed_reason == "orphan-grace" ||
                               (main->end_unix_ns > 0 && task.end_unix_ns > main->end_unix_ns));
        if (outlived) {
          auto& o = add("os", "orphan", {{"pid", pid_text}, {"path", path}, {"program", "python"},
                                         {"site", site(script, 0)}});
          o.affected_pids = view.Subtree(pid);
          o.path = script;
        }
      }
    }
  }

  // What the tracers saw, each at its call site.
  for (const auto& event : run.python_events) {
    auto field = [&event](const char* name) {
      auto found = event.fields.find(name);
      return found != event.fields.end() ? found->second : std::string();
    };
    DoctorObservation* o = nullptr;
    if (event.event == "os._exit") {
      o = &add("python", "os._exit", {{"pid", std::to_string(event.pid)}, {"code", field("code")}});
      o->affected_pids = {event.pid};
    } else if (event.event == "sys.settrace" || event.event == "sys.setprofile" || event.event == "trace-fiddling") {
      const std::string function = field("function");
      o = &add("python", event.event,
               {{"pid", std::to_string(event.pid)},
                {"function", function == "None" ? "none" : "other"},
                {"function_name", function}});
    } else if (event.event == "_thread.start_new_thread") {
      o = &add("python", event.event, {{"pid", std::to_string(event.pid)}, {"function_name", field("function")}});
    } else if (event.event == "no-source") {
      o = &add("python", "no-source", {{"pid", std::to_string(event.pid)}, {"filename", field("filename")}});
    } else if (event.event == "import") {
      o = &add("module", "imported", {{"pid", std::to_string(event.pid)}, {"name", field("module")}});
    }
    if (o == nullptr) continue;
    o->observation.fields["site"] = site("", 0);
    locate(*o, &event);
  }

  // Lines only threads of one kind ran: what coverage.py's thread tracing cannot reach.
  for (uint32_t kind : {2u, 3u, 4u}) {  // raw_thread, native, greenlet
    auto only = run.combined.data.origins.LinesOnlyRunBy(
        [kind](const ProcessOrigin&, uint32_t thread_kind) { return thread_kind == kind; });
    for (const auto& [path, lines] : only) {
      const std::string relative = RelativeToProject(path, project_dir);
      auto& o = add("data", "thread-lines",
                    {{"thread_kind", kThreadKindNames[kind]},
                     {"path", relative},
                     {"lines", std::to_string(lines.size())},
                     {"site", site(relative, *lines.begin())}});
      o.affected_thread_kind = int(kind);
      o.path = relative;
      o.line = *lines.begin();
    }
  }

  // What pycov itself did, for entries that say so.
  for (auto& o : observations)
    o.observation.fields["pycov_timid"] =
        run.timid ? "ran with --timid: while the program's own trace function was installed, pycov stepped "
                    "aside and did not measure those lines"
                  : "did not need --timid: the program's trace function ran chained behind pycov's, and pycov "
                    "kept measuring";
  if (!python_version.empty()) {
    std::string major_minor = python_version.substr(0, python_version.find('.', python_version.find('.') + 1));
    add("interpreter", "version", {{"version", python_version}, {"major_minor", major_minor}});
  }
  if (!coveragepy.version.empty()) add("coveragepy", "version", {{"version", coveragepy.version}});
  // One observation per setting value; the parallel flag travels with each (PYC102 needs both).
  std::string parallel = "false";
  for (const auto& [key, value] : coveragepy.settings)
    if (key == "parallel") parallel = value == "true" || value == "1" || value == "yes" ? "true" : "false";
  for (const auto& [key, value] : coveragepy.settings)
    add("coveragepy", "config", {{key, value}, {"parallel", parallel}});
  return observations;
}

std::vector<Finding> BuildFindings(const rules::KnowledgeBase& kb, const std::vector<DoctorObservation>& observations,
                                   const MeasuredRun& run, const CoveragePySetup& coveragepy) {
  std::vector<rules::Observation> plain;
  for (const auto& o : observations) plain.push_back(o.observation);
  std::set<int32_t> measured_pids;
  for (const auto& process : run.combined.processes) measured_pids.insert(process.pid);
  const auto version = rules::ParseVersion(coveragepy.version);

  std::vector<Finding> findings;
  findings.reserve(observations.size());  // pointers into it stay valid while matches are grouped
  std::map<size_t, std::set<int32_t>> affected_pids;                      // by finding
  std::map<size_t, std::pair<int, std::string>> affected_kinds;           // by finding: kind, file
  std::map<std::pair<std::string, std::string>, size_t> by_entry_and_place;
  for (const auto& match : rules::MatchObservations(kb, plain)) {
    const DoctorObservation& observation = observations[size_t(match.observation - plain.data())];
    const auto key = std::make_pair(match.entry->id, observation.path + ":" + std::to_string(observation.line));
    auto found = by_entry_and_place.find(key);
    Finding* finding;
    if (found == by_entry_and_place.end()) {
      by_entry_and_place[key] = findings.size();
      findings.push_back({});
      finding = &findings.back();
      finding->entry = match.entry;
      finding->severity = match.entry->severity;
      finding->message = rules::FillTemplate(match.entry->message, *match.observation);
      finding->pycov_note = rules::FillTemplate(match.entry->pycov_note, *match.observation);
      finding->path = observation.path;
      finding->line = observation.line;
      for (const auto& remedy : match.entry->remediation)
        if (remedy.coveragepy.empty() || !version || remedy.coveragepy.Contains(*version))
          finding->remediation.push_back(&remedy);
      if (match.handled_by != nullptr) {
        // The user's coverage.py setup already handles it: still worth knowing, not a failure.
        finding->severity = rules::Severity::kInfo;
        for (const auto& [name, value] : match.handled_by->fields)
          if (name != "parallel" || match.handled_by->fields.size() == 1)
            finding->handled_by = name + " = " + value;
      }
    } else {
      finding = &findings[found->second];
    }
    const std::string pid = rules::FieldOf(*match.observation, "pid");
    if (!pid.empty() && std::find(finding->pids.begin(), finding->pids.end(), std::stoi(pid)) == finding->pids.end())
      finding->pids.push_back(std::stoi(pid));
    affected_pids[size_t(finding - findings.data())].insert(observation.affected_pids.begin(),
                                                           observation.affected_pids.end());
    if (observation.affected_thread_kind >= 0)
      affected_kinds[size_t(finding - findings.data())] = {observation.affected_thread_kind, observation.path};
  }
  // Impact: the lines that only the processes (or threads) a finding is about ran.
  for (size_t i = 0; i < findings.size(); ++i) {
    Finding& finding = findings[i];
    std::map<std::string, std::set<int32_t>> only;
    if (auto kind = affected_kinds.find(i); kind != affected_kinds.end()) {
      const uint32_t thread_kind = uint32_t(kind->second.first);
      only = run.combined.data.origins.LinesOnlyRunBy(
          [thread_kind](const ProcessOrigin&, uint32_t k) { return k == thread_kind; });
      // The finding is about one file.
      for (auto it = only.begin(); it != only.end();)
        it = it->first.ends_with(kind->second.second) ? std::next(it) : only.erase(it);
    } else if (!affected_pids[i].empty()) {
      const std::set<int32_t>& pids = affected_pids[i];
      only = run.combined.data.origins.LinesOnlyRunBy(
          [&pids](const ProcessOrigin& process, uint32_t) { return pids.count(process.pid) > 0; });
    }
    finding.impact.by_file = std::move(only);
  }
  for (auto& finding : findings) {
    finding.impact.lines = 0;
    for (const auto& [path, lines] : finding.impact.by_file) finding.impact.lines += lines.size();
  }
  // A problem that cost no line of the project in this run (every affected process was
  // measured, and none ran a project line the others did not) is worth knowing, not failing.
  for (size_t i = 0; i < findings.size(); ++i) {
    Finding& finding = findings[i];
    if (finding.impact.lines > 0 || finding.severity == rules::Severity::kInfo) continue;
    // Only findings about processes (with the lines they ran) can be judged by their impact.
    if (affected_pids[i].empty() || affected_kinds.count(i)) continue;
    bool all_measured = true;
    for (int32_t pid : affected_pids[i]) all_measured = all_measured && measured_pids.count(pid) > 0;
    if (all_measured) {
      finding.severity = rules::Severity::kInfo;
      finding.no_impact = true;
    }
  }
  return findings;
}

}  // namespace pycov
