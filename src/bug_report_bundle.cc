#include "bug_report_bundle.h"

#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>

#include <archive.h>
#include <archive_entry.h>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "digests.h"
#include "exit_codes.h"
#include "program_launch.h"
#include "shared_library.h"

namespace pycov {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr const char* kManifestName = "manifest.json";

// What the target interpreter can say about itself and its packages, as JSON.
constexpr const char* kInterpreterFactsScript = R"PY(
import json, os, platform, sys
facts = {
    "python": sys.version.replace("\n", " "),
    "executable": sys.executable,
    "implementation": platform.python_implementation(),
    "platform": platform.platform(),
    "prefix": sys.prefix,
    "base_prefix": sys.base_prefix,
    "path": sys.path[1:],
    "packages": [],
}
try:
    import importlib.metadata as metadata
    facts["packages"] = sorted({"%s==%s" % (d.metadata["Name"], d.version) for d in metadata.distributions()},
                               key=str.lower)
except Exception as error:
    facts["packages_error"] = repr(error)
print(json.dumps(facts))
)PY";

std::string JoinArguments(const std::vector<std::string>& argv) {
  std::string line;
  for (const auto& a : argv) line += (line.empty() ? "" : " ") + a;
  return line;
}

// "key: value" lines aligned like `coverage debug sys`.
std::string FactsSection(const std::string& title, const std::vector<std::pair<std::string, std::string>>& facts) {
  std::string out = fmt::format("-- {} {}\n", title, std::string(60 - std::min<size_t>(title.size(), 56), '-'));
  for (const auto& [key, value] : facts) {
    bool first = true;
    std::istringstream lines(value.empty() ? std::string("-none-") : value);
    for (std::string line; std::getline(lines, line); first = false)
      out += first ? fmt::format("{:>31}: {}\n", key, line) : fmt::format("{:>31}  {}\n", "", line);
  }
  return out;
}

const char* EndingName(sandbox::TaskEnding ending) {
  switch (ending) {
    case sandbox::TaskEnding::kRunning: return "running";
    case sandbox::TaskEnding::kExited: return "exited";
    case sandbox::TaskEnding::kSignaled: return "signaled";
    case sandbox::TaskEnding::kKilled: return "killed";
    case sandbox::TaskEnding::kExecReplaced: return "exec-replaced";
  }
  return "?";
}

// The supervisor's log as JSON lines (tasks, then violations, then notes), redacted.
std::string OsObservations(const sandbox::ObservationLog& log, Redactor& redactor) {
  std::string out;
  out += json({{"mode", log.mode}, {"start_unix_ns", log.start_unix_ns}, {"finished", log.finished},
               {"timed_out", log.timed_out}, {"seccomp_stops", log.seccomp_stops}, {"event_stops", log.event_stops},
               {"signal_stops", log.signal_stops}})
             .dump() +
         "\n";
  for (const auto& task : log.tasks) {
    json execs = json::array();
    for (const auto& exec : task.execs)
      execs.push_back({{"unix_ns", exec.unix_ns}, {"from_tid", exec.from_tid}, {"path", redactor.Scrub(exec.path)},
                       {"executable", redactor.Scrub(exec.executable)}, {"argv", redactor.RedactArguments(exec.argv)},
                       {"program_kind", exec.program_kind}, {"instrumented", exec.instrumented},
                       {"injected", exec.injected}, {"injection_error", redactor.Scrub(exec.injection_error)}});
    out += json({{"task", task.tid}, {"tgid", task.tgid}, {"parent", task.parent},
                 {"kind", task.kind == sandbox::TaskKind::kProcess ? "process" : "thread"},
                 {"created_by", task.created_by}, {"start_unix_ns", task.start_unix_ns}, {"execs", execs},
                 {"ending", EndingName(task.ending)}, {"exit_code", task.exit_code}, {"signal", task.signal},
                 {"core_dumped", task.core_dumped}, {"killed_reason", task.killed_reason},
                 {"end_unix_ns", task.end_unix_ns}})
               .dump(-1, ' ', false, json::error_handler_t::replace) +
           "\n";
  }
  for (const auto& v : log.violations)
    out += json({{"violation", v.what}, {"unix_ns", v.unix_ns}, {"tid", v.tid}, {"syscall", v.syscall},
                 {"action", v.action}, {"detail", redactor.Scrub(v.detail)}})
               .dump(-1, ' ', false, json::error_handler_t::replace) +
           "\n";
  for (const auto& note : log.notes) out += json({{"note", redactor.Scrub(note)}}).dump() + "\n";
  return out;
}

std::string PythonObservations(const std::vector<PythonEvent>& events, Redactor& redactor) {
  std::string out;
  for (const auto& e : events) {
    json fields = json::object();
    for (const auto& [name, value] : e.fields) fields[name] = redactor.Scrub(value);
    json stack = json::array();
    for (const auto& frame : e.stack) stack.push_back({{"path", redactor.Scrub(frame.path)}, {"line", frame.line}});
    out += json({{"event", e.event}, {"pid", e.pid}, {"unix_ns", e.unix_ns}, {"fields", fields},
                 {"site", {{"path", redactor.Scrub(e.site.path)}, {"line", e.site.line}}}, {"stack", stack}})
               .dump(-1, ' ', false, json::error_handler_t::replace) +
           "\n";
  }
  return out;
}

// The process tree, from the supervisor's log when it ran, else from the measured processes.
std::string ProcessTree(const MeasuredRun& run, Redactor& redactor) {
  std::string out;
  if (run.log) {
    std::map<pid_t, std::vector<const sandbox::TaskRecord*>> children;
    std::vector<const sandbox::TaskRecord*> roots;
    for (const auto& task : run.log->tasks) {
      if (task.kind != sandbox::TaskKind::kProcess) continue;
      (task.parent == 0 ? roots : children[run.log->Find(task.parent) ? run.log->Find(task.parent)->tgid : 0])
          .push_back(&task);
    }
    std::function<void(const sandbox::TaskRecord*, int)> print = [&](const sandbox::TaskRecord* task, int depth) {
      std::string ending = EndingName(task->ending);
      if (task->ending == sandbox::TaskEnding::kExited) ending += " " + std::to_string(task->exit_code);
      if (task->ending == sandbox::TaskEnding::kSignaled) ending += fmt::format(" (signal {})", task->signal);
      if (task->ending == sandbox::TaskEnding::kKilled) ending += " (" + task->killed_reason + ")";
      out += fmt::format("{}pid {} [{}] {}\n", std::string(size_t(depth) * 2, ' '), task->tid, task->created_by, ending);
      for (const auto& exec : task->execs)
        out += fmt::format("{}  exec {}\n", std::string(size_t(depth) * 2, ' '),
                           JoinArguments(redactor.RedactArguments(exec.argv)));
      if (auto found = children.find(task->tid); found != children.end())
        for (const auto* child : found->second) print(child, depth + 1);
    };
    for (const auto* root : roots) print(root, 0);
    return out;
  }
  out += "(the supervisor did not run: the Python processes pycov measured)\n";
  for (const auto& p : run.combined.processes)
    out += fmt::format("pid {} (parent {}) {}\n", p.pid, p.ppid, JoinArguments(redactor.RedactArguments(p.argv)));
  return out;
}

// Per process: what it measured, by kind of thread.
std::string DataSummary(const MeasuredRun& run, Redactor& redactor) {
  static const char* kKinds[] = {"main", "threading", "raw_thread", "native", "greenlet"};
  const LineOrigins& origins = run.combined.data.origins;
  // One pass over the origins (a run of thousands of processes has hundreds of thousands).
  std::vector<json> by_kind(run.combined.processes.size(), json::object());
  for (const auto& [key, lines] : origins.lines) {
    if (key.process >= by_kind.size()) continue;
    const std::string kind = key.thread_kind < std::size(kKinds) ? kKinds[key.thread_kind] : "other";
    by_kind[key.process][kind] = by_kind[key.process].value(kind, 0) + lines.size();
  }
  json processes = json::array();
  for (size_t i = 0; i < run.combined.processes.size(); ++i) {
    const ProcessRecord& p = run.combined.processes[i];
    processes.push_back({{"pid", p.pid}, {"ppid", p.ppid}, {"exec_generation", p.exec_generation},
                         {"fork_depth", p.fork_depth}, {"argv", redactor.RedactArguments(p.argv)},
                         {"files", p.files}, {"lines", p.lines}, {"lost_data", p.lost_data},
                         {"lines_by_thread_kind", by_kind[i]}});
  }
  json warnings = json::array();
  for (const auto& w : run.combined.warnings) warnings.push_back(redactor.Scrub(w));
  return json({{"data_file", redactor.Scrub(run.data_file)}, {"has_arcs", run.combined.data.has_arcs},
               {"measured_files", run.combined.data.files.size()}, {"processes", processes},
               {"warnings", warnings}})
             .dump(2, ' ', false, json::error_handler_t::replace) +
         "\n";
}

std::string ReportTemplate(const DoctorReport& report, const std::string& findings_markdown,
                           const std::vector<std::string>& command) {
  const MeasuredRun& run = *report.run;
  std::string out = "# Coverage bug report\n\n";
  out += "<!-- Fill in the three sections below; the rest was written by pycov doctor. -->\n\n";
  out += "## How to reproduce\n\n```sh\n" + JoinArguments(command) + "\n```\n\n";
  out += "<!-- Anything else needed: files, packages, a minimal program. -->\n\n";
  out += "## What I expected\n\n<!-- e.g. every line of worker.py reported as run -->\n\n";
  out += "## What happened\n\n<!-- e.g. coverage report shows worker.py 0% -->\n\n";
  out += fmt::format("## Setup\n\n- pycov {}\n- Python {} ({})\n- coverage.py {}\n- sandbox: {}\n\n", PYCOV_VERSION,
                     report.python_version.empty() ? "?" : report.python_version, run.python,
                     report.coveragepy.version.empty() ? "not installed" : report.coveragepy.version,
                     sandbox::ModeName(run.mode));
  out += "## What pycov doctor found\n\n";
  // The findings' own heading level moves under this one.
  out += findings_markdown.rfind("## pycov doctor\n\n", 0) == 0 ? findings_markdown.substr(17) : findings_markdown;
  out += "\n## What this bundle holds\n\nSee `manifest.json` (sizes, SHA-256, what was redacted), or run "
         "`pycov bundle show` on the zip.\n";
  return out;
}

}  // namespace

std::string DefaultBundlePath() {
  std::time_t now = std::time(nullptr);
  std::tm utc{};
  gmtime_r(&now, &utc);
  char stamp[32];
  std::strftime(stamp, sizeof(stamp), "%Y%m%d-%H%M%S", &utc);
  return std::string("pycov-bundle-") + stamp + ".zip";
}

std::vector<BundleMember> BuildBundle(const DoctorReport& report, const rules::KnowledgeBase& kb,
                                      const BundleOptions& options) {
  const MeasuredRun& run = *report.run;
  Redactor redactor(options.identity);
  // Learn every secret first, from everywhere one can come from, so that no member written
  // before another learned it can still hold it.
  redactor.LearnEnvironment(options.environment);
  redactor.LearnArguments(run.argv);
  redactor.LearnArguments(options.command);
  for (const auto& p : run.combined.processes) redactor.LearnArguments(p.argv);
  if (run.log)
    for (const auto& task : run.log->tasks)
      for (const auto& exec : task.execs) redactor.LearnArguments(exec.argv);
  for (const auto& [name, value] : report.coveragepy.settings) redactor.LearnSetting(name, value);

  std::vector<BundleMember> members;
  auto add = [&](std::string name, const std::string& content) {
    members.push_back({redactor.Scrub(name), redactor.Scrub(content)});
  };

  std::vector<std::string> command = redactor.RedactArguments(options.command);
  const std::string findings_markdown = RenderDoctorMarkdown(report);
  add("REPORT.md", ReportTemplate(report, findings_markdown, command));
  add("findings.json", RenderDoctorJson(report));
  add("findings.sarif", RenderSarif(report, kb));
  add("findings.txt", RenderDoctorText(report, false));
  if (run.log)
    add("observations/os.jsonl", OsObservations(*run.log, redactor));
  add("observations/python.jsonl", PythonObservations(run.python_events, redactor));
  add("process-tree.txt", ProcessTree(run, redactor));
  add("data-summary.json", DataSummary(run, redactor));

  // System facts, in the style of `coverage debug sys`.
  utsname uts{};
  uname(&uts);
  std::vector<std::pair<std::string, std::string>> pycov_facts = {
      {"pycov_version", PYCOV_VERSION},
      {"sandbox", sandbox::ModeName(run.mode)},
      {"kernel", fmt::format("{} {} {}", uts.sysname, uts.release, uts.machine)},
      {"knowledge_base", fmt::format("{} entries", kb.entries.size())},
      {"data_file", run.data_file},
      {"timid", run.timid ? "true" : "false"},
  };
  std::string system = FactsSection("pycov", pycov_facts);
  std::string packages;
  if (auto facts_text = CaptureOutput({run.python, "-c", kInterpreterFactsScript})) {
    try {
      json facts = json::parse(*facts_text);
      std::vector<std::pair<std::string, std::string>> python_facts;
      for (const char* key : {"python", "executable", "implementation", "platform", "prefix", "base_prefix"})
        python_facts.push_back({key, facts.value(key, "")});
      std::string path;
      for (const auto& entry : facts["path"]) path += entry.get<std::string>() + "\n";
      python_facts.push_back({"path", path});
      system += FactsSection("python", python_facts);
      for (const auto& package : facts["packages"]) packages += package.get<std::string>() + "\n";
      if (facts.contains("packages_error")) packages += "# could not list: " + facts["packages_error"].get<std::string>() + "\n";
    } catch (const json::exception& error) {
      system += "# the interpreter's facts did not parse: " + std::string(error.what()) + "\n";
    }
  } else {
    system += "# " + run.python + " could not be asked for its facts\n";
  }
  std::string coverage_config;
  if (!report.coveragepy.version.empty()) {
    system += CaptureOutput({run.python, "-m", "coverage", "debug", "sys"}).value_or("# coverage debug sys failed") + "\n";
    coverage_config = CaptureOutput({run.python, "-m", "coverage", "debug", "config"}).value_or("# coverage debug config failed") + "\n";
  } else {
    coverage_config = "# coverage.py is not installed for " + run.python + "\n";
  }
  std::vector<std::pair<std::string, std::string>> read_settings;
  for (const auto& [name, value] : report.coveragepy.settings)
    read_settings.push_back({"run." + name, LooksSecretName(name) ? Redactor::kMask : value});
  std::string files;
  for (const auto& file : report.coveragepy.config_files) files += file + "\n";
  read_settings.push_back({"config_files", files});
  coverage_config += FactsSection("what pycov doctor judged", read_settings);
  add("system.txt", system);
  add("packages.txt", packages);
  add("coverage-config.txt", coverage_config);

  std::string environment;
  for (const auto& line : redactor.RedactEnvironment(options.environment)) environment += line + "\n";
  add("environment.txt", environment);

  if (options.include_source)
    for (const auto& file : report.coverage.files) {
      if (fs::path(file.name).is_absolute() || file.name.rfind("..", 0) == 0) continue;  // outside the project
      std::ifstream in(file.path, std::ios::binary);
      std::stringstream text;
      text << in.rdbuf();
      if (in) add("source/" + file.name, text.str());
    }

  // The manifest describes the members as written, so it comes last.
  json listed = json::array();
  for (const auto& member : members)
    listed.push_back({{"name", member.name}, {"size", member.content.size()}, {"sha256", Sha256Hex(member.content)}});
  const RedactionCounts& counts = redactor.counts();
  std::time_t now = std::time(nullptr);
  char created[32];
  std::strftime(created, sizeof(created), "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&now));
  json manifest = {{"schema", 1},
                   {"pycov", PYCOV_VERSION},
                   {"created", created},
                   {"command", command},
                   {"include_source", options.include_source},
                   {"members", listed},
                   {"redactions",
                    {{"environment_omitted", counts.environment_omitted},
                     {"environment_masked", counts.environment_masked},
                     {"argument_secrets", counts.argument_secrets},
                     {"config_secrets", counts.config_secrets},
                     {"url_credentials", counts.url_credentials},
                     {"token_shaped", counts.token_shaped},
                     {"secret_occurrences", counts.secret_occurrences},
                     {"home", counts.home},
                     {"user", counts.user},
                     {"host", counts.host}}}};
  members.push_back({kManifestName, manifest.dump(2, ' ', false, json::error_handler_t::replace) + "\n"});
  return members;
}

namespace {

// What the bundle uses of libarchive, bound when a bundle is first written or read: loading
// libarchive and what it pulls in (libxml2, ICU, compressors) at pycov's start cost every
// command about 3 ms.
#define PYCOV_ARCHIVE_FUNCTIONS(X)                                                                        \
  X(archive_write_new) X(archive_write_free) X(archive_write_set_format_zip) X(archive_write_open_filename) \
  X(archive_write_header) X(archive_write_data) X(archive_write_close) X(archive_read_new)                 \
  X(archive_read_free) X(archive_read_support_format_zip) X(archive_read_open_filename)                   \
  X(archive_read_next_header) X(archive_read_data) X(archive_error_string) X(archive_entry_new)            \
  X(archive_entry_free) X(archive_entry_set_pathname) X(archive_entry_set_size)                           \
  X(archive_entry_set_filetype) X(archive_entry_set_perm) X(archive_entry_set_mtime) X(archive_entry_pathname)

struct LibArchive {
#define PYCOV_DECLARE(function) decltype(&::function) function = nullptr;
  PYCOV_ARCHIVE_FUNCTIONS(PYCOV_DECLARE)
#undef PYCOV_DECLARE
};

/// libarchive's functions, loaded once; the error names the library and what is missing.
Result<const LibArchive*> LoadLibArchive() {
  static const Result<LibArchive> loaded = []() -> Result<LibArchive> {
    auto library = SharedLibrary::Open(PYCOV_LIBARCHIVE_SONAME);
    if (!library) return library.error();
    LibArchive functions;
#define PYCOV_BIND(function) \
  if (auto bound = library->Bind(#function, functions.function); !bound) return bound.error();
    PYCOV_ARCHIVE_FUNCTIONS(PYCOV_BIND)
#undef PYCOV_BIND
    return functions;
  }();
  if (!loaded) return loaded.error();
  return &loaded.value();
}

}  // namespace

Status LoadZipLibrary() {
  auto library = LoadLibArchive();
  if (!library) return library.error();
  return Ok();
}

Status WriteZip(const std::string& path, const std::vector<BundleMember>& members) {
  auto library = LoadLibArchive();
  if (!library) return Error{fmt::format("{}: cannot write the bundle: {}", path, library.error().message)};
  const LibArchive& libarchive = **library;
  const std::string partial = path + ".partial";
  std::unique_ptr<archive, decltype(&archive_write_free)> zip(libarchive.archive_write_new(), libarchive.archive_write_free);
  if (!zip || libarchive.archive_write_set_format_zip(zip.get()) != ARCHIVE_OK ||
      libarchive.archive_write_open_filename(zip.get(), partial.c_str()) != ARCHIVE_OK)
    return Error{fmt::format("{}: cannot write the bundle: {}", path,
                             zip ? libarchive.archive_error_string(zip.get()) ? libarchive.archive_error_string(zip.get()) : "?" : "?")};
  const std::time_t now = std::time(nullptr);
  for (const auto& member : members) {
    std::unique_ptr<archive_entry, decltype(&archive_entry_free)> entry(libarchive.archive_entry_new(), libarchive.archive_entry_free);
    libarchive.archive_entry_set_pathname(entry.get(), member.name.c_str());
    libarchive.archive_entry_set_size(entry.get(), la_int64_t(member.content.size()));
    libarchive.archive_entry_set_filetype(entry.get(), AE_IFREG);
    libarchive.archive_entry_set_perm(entry.get(), 0644);
    libarchive.archive_entry_set_mtime(entry.get(), now, 0);
    if (libarchive.archive_write_header(zip.get(), entry.get()) != ARCHIVE_OK ||
        (!member.content.empty() &&
         libarchive.archive_write_data(zip.get(), member.content.data(), member.content.size()) != la_ssize_t(member.content.size()))) {
      std::string why = libarchive.archive_error_string(zip.get()) ? libarchive.archive_error_string(zip.get()) : "write failed";
      zip.reset();
      unlink(partial.c_str());
      return Error{fmt::format("{}: cannot write member {}: {}", path, member.name, why)};
    }
  }
  if (libarchive.archive_write_close(zip.get()) != ARCHIVE_OK) {
    std::string why = libarchive.archive_error_string(zip.get()) ? libarchive.archive_error_string(zip.get()) : "close failed";
    zip.reset();
    unlink(partial.c_str());
    return Error{fmt::format("{}: cannot finish the bundle: {}", path, why)};
  }
  zip.reset();
  if (rename(partial.c_str(), path.c_str()) != 0) {
    std::string why = strerror(errno);
    unlink(partial.c_str());
    return Error{fmt::format("{}: {}", path, why)};
  }
  return Ok();
}

Result<std::vector<BundleMember>> ReadZip(const std::string& path) {
  if (access(path.c_str(), R_OK) != 0) return Error{fmt::format("{}: {}", path, strerror(errno))};
  auto library = LoadLibArchive();
  if (!library) return Error{fmt::format("{}: cannot read the bundle: {}", path, library.error().message)};
  const LibArchive& libarchive = **library;
  std::unique_ptr<archive, decltype(&archive_read_free)> zip(libarchive.archive_read_new(), libarchive.archive_read_free);
  libarchive.archive_read_support_format_zip(zip.get());
  if (libarchive.archive_read_open_filename(zip.get(), path.c_str(), 1 << 16) != ARCHIVE_OK)
    return Error{fmt::format("{}: not a zip file: {}", path, libarchive.archive_error_string(zip.get()))};
  std::vector<BundleMember> members;
  archive_entry* entry = nullptr;
  for (int status; (status = libarchive.archive_read_next_header(zip.get(), &entry)) != ARCHIVE_EOF;) {
    if (status != ARCHIVE_OK && status != ARCHIVE_WARN)
      return Error{fmt::format("{}: unreadable after {} member(s): {}", path, members.size(),
                               libarchive.archive_error_string(zip.get()))};
    BundleMember member{libarchive.archive_entry_pathname(entry) ? libarchive.archive_entry_pathname(entry) : "", ""};
    char buffer[1 << 14];
    for (la_ssize_t n; (n = libarchive.archive_read_data(zip.get(), buffer, sizeof(buffer))) != 0;) {
      if (n < 0)
        return Error{fmt::format("{}: member {} is damaged: {}", path, member.name, libarchive.archive_error_string(zip.get()))};
      member.content.append(buffer, size_t(n));
    }
    members.push_back(std::move(member));
  }
  return members;
}

int BundleCommand(const std::vector<std::string>& args) {
  constexpr const char* kUsage =
      "usage: pycov bundle show FILE [--member NAME]\n"
      "\n"
      "Print what a bug-report bundle made by `pycov doctor --bundle` holds: its members with\n"
      "sizes, each checked against the manifest's SHA-256, what was redacted, and the findings.\n"
      "--member NAME prints one member instead.\n";
  if (args.empty() || args[0] == "-h" || args[0] == "--help") {
    fmt::print(args.empty() ? stderr : stdout, "{}", kUsage);
    return args.empty() ? kExitUsage : 0;
  }
  if (args[0] != "show") {
    fmt::print(stderr, "pycov: error: bundle {}: unknown command (expected show)\n{}", args[0], kUsage);
    return kExitUsage;
  }
  if (auto loaded = LoadDigests(); !loaded) {  // members are checked against their SHA-256
    fmt::print(stderr, "pycov: error: {}\n", loaded.error().message);
    return kExitPycovFailed;
  }
  std::string file, member_name;
  for (size_t i = 1; i < args.size(); ++i) {
    if (args[i] == "--member" && i + 1 < args.size()) member_name = args[++i];
    else if (args[i].rfind("--member=", 0) == 0) member_name = args[i].substr(9);
    else if (file.empty() && args[i].rfind("-", 0) != 0) file = args[i];
    else {
      fmt::print(stderr, "pycov: error: bundle show: unexpected argument {}\n", args[i]);
      return kExitUsage;
    }
  }
  if (file.empty()) {
    fmt::print(stderr, "pycov: error: bundle show needs a FILE\n");
    return kExitUsage;
  }
  auto members = ReadZip(file);
  if (!members) {
    fmt::print(stderr, "pycov: error: {}\n", members.error().message);
    return kExitUsage;
  }
  if (!member_name.empty()) {
    for (const auto& m : *members)
      if (m.name == member_name) {
        fmt::print("{}", m.content);
        return 0;
      }
    fmt::print(stderr, "pycov: error: {}: no member named {}\n", file, member_name);
    return kExitUsage;
  }
  const BundleMember* manifest_member = nullptr;
  for (const auto& m : *members)
    if (m.name == kManifestName) manifest_member = &m;
  if (manifest_member == nullptr) {
    fmt::print(stderr, "pycov: error: {}: no {}: not a pycov bundle\n", file, kManifestName);
    return kExitUsage;
  }
  json manifest;
  try {
    manifest = json::parse(manifest_member->content);
  } catch (const json::exception& error) {
    fmt::print(stderr, "pycov: error: {}: {} does not parse: {}\n", file, kManifestName, error.what());
    return kExitUsage;
  }
  std::map<std::string, std::string> listed_hashes;
  const json listed_members = manifest.value("members", json::array());
  for (const auto& m : listed_members)
    listed_hashes[m.value("name", "")] = m.value("sha256", "");
  fmt::print("bundle {} (pycov {}, made {})\n", file, manifest.value("pycov", "?"), manifest.value("created", "?"));
  if (manifest.contains("command")) {
    std::string command;
    for (const auto& a : manifest["command"]) command += (command.empty() ? "" : " ") + a.get<std::string>();
    fmt::print("command: {}\n", command);
  }
  int damaged = 0;
  fmt::print("\n{:>10}  {:<8}  {}\n", "bytes", "sha256", "member");
  for (const auto& m : *members) {
    std::string check = "manifest";
    if (m.name != kManifestName) {
      auto listed = listed_hashes.find(m.name);
      check = listed == listed_hashes.end() ? "UNLISTED" : listed->second == Sha256Hex(m.content) ? "ok" : "MISMATCH";
      if (check != "ok") ++damaged;
    }
    fmt::print("{:>10}  {:<8}  {}\n", m.content.size(), check, m.name);
  }
  for (const auto& [name, hash] : listed_hashes)
    if (std::none_of(members->begin(), members->end(), [&](const BundleMember& m) { return m.name == name; })) {
      fmt::print("{:>10}  {:<8}  {}\n", "-", "MISSING", name);
      ++damaged;
    }
  fmt::print("\nredacted:");
  const json redactions = manifest.value("redactions", json::object());
  for (const auto& [what, count] : redactions.items())
    if (count.is_number() && count.get<long>() > 0) fmt::print(" {} {},", what, count.get<long>());
  fmt::print(" source files {}\n", manifest.value("include_source", false) ? "included" : "not included");
  for (const auto& m : *members) {
    if (m.name != "findings.json") continue;
    try {
      json findings = json::parse(m.content);
      fmt::print("\nfindings ({}):\n", findings["findings"].size());
      for (const auto& f : findings["findings"]) {
        std::string where = f["location"]["path"].is_string() ? f["location"]["path"].get<std::string>() : "";
        if (f["location"]["line"].is_number()) where += ":" + std::to_string(f["location"]["line"].get<int>());
        fmt::print("  {}[{} {}] {} {}\n", f.value("severity", "?"), f.value("id", "?"), f.value("slug", "?"), where,
                   f.value("message", ""));
      }
    } catch (const json::exception&) {
      fmt::print("\nfindings.json does not parse\n");
    }
  }
  if (damaged > 0) {
    fmt::print(stderr, "pycov: error: {}: {} member(s) do not match the manifest\n", file, damaged);
    return kExitFindings;
  }
  return 0;
}

}  // namespace pycov
