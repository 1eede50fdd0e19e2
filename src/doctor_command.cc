#include "doctor_command.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "coverage_report.h"
#include "doctor.h"
#include "exit_codes.h"
#include "kb_command.h"
#include "project_config.h"
#include "rules/knowledge_base.h"

namespace pycov {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

void PrintError(const std::string& message) { fmt::print(stderr, "pycov: error: {}\n", message); }

constexpr const char* kDoctorUsage =
    "usage: pycov doctor [OPTIONS] [--] (SCRIPT | -m MODULE) [ARGS...]\n"
    "\n"
    "Run the program measured (as pycov run does, writing the data file), then report which\n"
    "known coverage problems it hits, where, what they cost, and how to fix them for your\n"
    "coverage.py version and config.\n"
    "\n"
    "options (besides those of pycov run):\n"
    "  --format text|json      how to report (default text)\n"
    "  --output PATH           write the report there; the program's output is untouched\n"
    "  --fail-on LEVEL         error (default), warning, info or never: exit 1 when a finding\n"
    "                          is at or above LEVEL\n"
    "  --coverage-config PATH  the coverage.py config to judge (default: .coveragerc, setup.cfg,\n"
    "                          tox.ini, pyproject.toml in the current directory)\n"
    "  --kb DIR                add a directory of knowledge-base entries of your own\n"
    "exit status: 0 no finding at or above --fail-on, 1 findings, 3 pycov failed or could not\n"
    "observe the program, 4 usage or configuration error.\n";

struct DoctorOptions {
  std::string format = "text";
  std::string output;
  std::string fail_on = "error";
  std::string coverage_config;
  std::vector<std::string> kb_directories;
  std::vector<std::string> run_arguments;
  bool help = false;
};

// Doctor's own options come before the program, mixed with pycov run's; the rest is run's.
Result<DoctorOptions> ParseDoctorArguments(const std::vector<std::string>& args) {
  DoctorOptions options;
  static const char* kValued[] = {"--format", "--output", "--fail-on", "--coverage-config", "--kb"};
  static const char* kRunValued[] = {"--source",  "--include", "--omit",         "--data-file",
                                     "--python",  "--sandbox", "--timeout",      "--orphan-grace",
                                     "--observation-log"};
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    // The program starts at the script, -m or --: everything from there is pycov run's.
    if (arg == "--" || arg == "-m" || arg.empty() || arg[0] != '-') {
      options.run_arguments.insert(options.run_arguments.end(), args.begin() + long(i), args.end());
      break;
    }
    if (arg == "-h" || arg == "--help") {
      options.help = true;
      return options;
    }
    std::string name = arg, value;
    bool inline_value = false;
    if (size_t eq = arg.find('='); arg.rfind("--", 0) == 0 && eq != std::string::npos) {
      name = arg.substr(0, eq);
      value = arg.substr(eq + 1);
      inline_value = true;
    }
    bool ours = std::any_of(std::begin(kValued), std::end(kValued), [&](const char* v) { return name == v; });
    if (!ours) {
      // An option of pycov run's, with its value.
      options.run_arguments.push_back(arg);
      bool valued = std::any_of(std::begin(kRunValued), std::end(kRunValued), [&](const char* v) { return arg == v; });
      if (valued && i + 1 < args.size()) options.run_arguments.push_back(args[++i]);
      continue;
    }
    if (!inline_value) {
      if (i + 1 >= args.size()) return Error{name + " needs a value"};
      value = args[++i];
    }
    if (name == "--format") {
      if (value != "text" && value != "json") return Error{"--format " + value + ": expected text or json"};
      options.format = value;
    } else if (name == "--output") {
      options.output = value;
    } else if (name == "--fail-on") {
      if (value != "error" && value != "warning" && value != "info" && value != "never")
        return Error{"--fail-on " + value + ": expected error, warning, info or never"};
      options.fail_on = value;
    } else if (name == "--coverage-config") {
      if (access(value.c_str(), R_OK) != 0) return Error{"--coverage-config " + value + ": no such file"};
      options.coverage_config = value;
    } else {
      options.kb_directories.push_back(value);
    }
  }
  return options;
}

int Rank(rules::Severity severity) { return severity == rules::Severity::kError ? 3 : severity == rules::Severity::kWarning ? 2 : 1; }
int FailRank(const std::string& fail_on) {
  return fail_on == "error" ? 3 : fail_on == "warning" ? 2 : fail_on == "info" ? 1 : 99;
}

std::string SourceLine(const std::string& path, int line) {
  if (path.empty() || line <= 0) return {};
  std::ifstream in(path);
  std::string text;
  for (int n = 1; std::getline(in, text); ++n)
    if (n == line) return text;
  return {};
}

std::string RenderText(const std::vector<Finding>& findings, const CoverageReport& coverage, const MeasuredRun& run,
                       const CoveragePySetup& coveragepy, const std::string& fail_on) {
  std::string out;
  for (const auto& f : findings) {
    out += fmt::format("{}[{} {}]: {}\n", rules::SeverityName(f.severity), f.entry->id, f.entry->slug, f.message);
    if (!f.path.empty()) {
      out += fmt::format(" --> {}{}\n", f.path, f.line > 0 ? ":" + std::to_string(f.line) : "");
      if (std::string source = SourceLine(f.path, f.line); !source.empty())
        out += fmt::format("    |\n{:>3} | {}\n    |\n", f.line, source);
    }
    if (!f.pids.empty()) {
      std::string pids;
      for (size_t i = 0; i < f.pids.size() && i < 8; ++i) pids += (i ? ", " : "") + std::to_string(f.pids[i]);
      if (f.pids.size() > 8) pids += fmt::format(" and {} more", f.pids.size() - 8);
      out += fmt::format("  = evidence: pid {}\n", pids);
    }
    if (f.impact.lines > 0)
      out += fmt::format("  = impact: {} line(s) in {} file(s) ran only there; without a remedy coverage.py "
                         "reports them as missed\n",
                         f.impact.lines, f.impact.by_file.size());
    if (f.no_impact) out += "  = note: no project line depended on it in this run\n";
    if (!f.pycov_note.empty()) out += "  = pycov: " + f.pycov_note + "\n";
    if (!f.handled_by.empty())
      out += fmt::format("  = note: your coverage.py config already handles this ({})\n", f.handled_by);
    else
      for (const auto* remedy : f.remediation) {
        out += fmt::format("help: {}\n", remedy->title);
        auto indent = [](const std::string& text) {
          std::string result;
          size_t at = 0;
          while (at < text.size()) {
            size_t end = text.find('\n', at);
            result += "      " + text.substr(at, end == std::string::npos ? std::string::npos : end - at) + "\n";
            if (end == std::string::npos) break;
            at = end + 1;
          }
          return result;
        };
        if (!remedy->pyproject.empty()) out += "  pyproject.toml:\n" + indent(remedy->pyproject);
        if (!remedy->coveragerc.empty()) out += "  .coveragerc:\n" + indent(remedy->coveragerc);
        if (!remedy->text.empty()) out += "  " + remedy->text + "\n";
      }
    if (!out.ends_with("\n\n")) out += "\n";
    out += fmt::format("For more information: pycov explain {}\n\n", f.entry->id);
  }
  int errors = 0, warnings = 0, infos = 0;
  bool fails = false;
  for (const auto& f : findings) {
    (f.severity == rules::Severity::kError ? errors : f.severity == rules::Severity::kWarning ? warnings : infos)++;
    fails = fails || Rank(f.severity) >= FailRank(fail_on);
  }
  out += fmt::format("coverage: {}% of {} statements in {} file(s); program {} ({})\n",
                     DisplayPercent(coverage.TotalPercent()), coverage.total_statements, coverage.files.size(),
                     run.exit.signal != 0 ? "died of " + std::string(sigabbrev_np(run.exit.signal) ? "SIG" : "") +
                                                (sigabbrev_np(run.exit.signal) ? sigabbrev_np(run.exit.signal) : "?")
                                          : "exited " + std::to_string(run.exit.exit_code),
                     coveragepy.version.empty() ? "coverage.py not installed for this interpreter"
                                                : "coverage.py " + coveragepy.version);
  out += fmt::format("{}: {} error(s), {} warning(s), {} info (--fail-on {})\n", fails ? "fail" : "ok", errors,
                     warnings, infos, fail_on);
  return out;
}

std::string RenderJson(const std::vector<Finding>& findings, const CoverageReport& coverage, const MeasuredRun& run,
                       const CoveragePySetup& coveragepy) {
  json out;
  out["schema"] = 1;
  out["pycov"] = {{"version", PYCOV_VERSION}, {"sandbox", sandbox::ModeName(run.mode)}};
  out["program"] = {{"argv", run.argv},
                    {"exit_code", run.exit.signal == 0 ? json(run.exit.exit_code) : json(nullptr)},
                    {"signal", run.exit.signal == 0 ? json(nullptr) : json(run.exit.signal)},
                    {"timed_out", run.timed_out}};
  json files = json::array();
  for (const auto& file : coverage.files)
    files.push_back({{"path", file.name}, {"statements", file.statements.size()}, {"missing", file.missing.size()},
                     {"percent_covered", file.PercentCovered()}});
  out["coverage"] = {{"totals",
                      {{"statements", coverage.total_statements},
                       {"missing", coverage.total_missing},
                       {"percent_covered", coverage.TotalPercent()}}},
                     {"files", files},
                     {"data_file", run.data_file}};
  json processes = json::array();
  for (const auto& p : run.combined.processes)
    processes.push_back({{"pid", p.pid}, {"ppid", p.ppid}, {"exec_generation", p.exec_generation},
                         {"fork_depth", p.fork_depth}, {"argv", p.argv}, {"lines", p.lines}});
  out["processes"] = processes;
  out["coveragepy"] = {{"version", coveragepy.version.empty() ? json(nullptr) : json(coveragepy.version)},
                       {"config_files", coveragepy.config_files}};
  json list = json::array();
  for (const auto& f : findings) {
    json impact_files = json::object();
    for (const auto& [path, lines] : f.impact.by_file) impact_files[path] = lines;
    json remediation = json::array();
    for (const auto* r : f.remediation)
      remediation.push_back({{"title", r->title}, {"pyproject", r->pyproject}, {"coveragerc", r->coveragerc},
                             {"text", r->text}});
    list.push_back({{"id", f.entry->id},
                    {"slug", f.entry->slug},
                    {"severity", rules::SeverityName(f.severity)},
                    {"message", f.message},
                    {"location", {{"path", f.path.empty() ? json(nullptr) : json(f.path)},
                                  {"line", f.line > 0 ? json(f.line) : json(nullptr)}}},
                    {"evidence", {{"pids", f.pids}}},
                    {"impact", {{"lines", f.impact.lines}, {"files", impact_files}}},
                    {"handled_by_config", f.handled_by.empty() ? json(nullptr) : json(f.handled_by)},
                    {"pycov", f.pycov_note.empty() ? json(nullptr) : json(f.pycov_note)},
                    {"remediation", remediation}});
  }
  out["findings"] = list;
  return out.dump(2, ' ', false, json::error_handler_t::replace) + "\n";
}

}  // namespace

int DoctorCommand(const std::vector<std::string>& args) {
  auto options = ParseDoctorArguments(args);
  if (!options) {
    PrintError(options.error().message);
    return kExitUsage;
  }
  if (options->help) {
    fmt::print("{}", kDoctorUsage);
    return 0;
  }
  std::vector<std::string> kb_directories = {BuiltInKnowledgeBaseDirectory()};
  kb_directories.insert(kb_directories.end(), options->kb_directories.begin(), options->kb_directories.end());
  auto kb = rules::LoadKnowledgeBase(kb_directories);
  if (!kb) {
    PrintError(kb.error().message);
    return kExitUsage;
  }
  auto project = ReadProjectConfig("pyproject.toml");
  if (!project) {
    PrintError(project.error().message);
    return kExitUsage;
  }
  auto run_options = ParseRunArguments(options->run_arguments, RunDefaultsFrom(*project));
  if (!run_options) {
    PrintError(run_options.error().message);
    return kExitUsage;
  }
  if (!options->output.empty()) {
    // Refuse an unwritable report path before the program runs, not after.
    std::ofstream probe(options->output, std::ios::app);
    if (!probe) {
      PrintError("--output " + options->output + ": cannot write there");
      return kExitUsage;
    }
  }

  MeasuredRun run;
  if (int failed = MeasureProgram(*run_options, run); failed != 0) return failed;

  const std::string project_dir = fs::current_path().string();
  CoveragePySetup coveragepy = ReadCoveragePySetup(run.python, project_dir, options->coverage_config);
  const std::string python_version = InterpreterVersion(run.python);
  auto observations = CollectObservations(run, coveragepy, python_version, project_dir);
  auto findings = BuildFindings(*kb, observations, run, coveragepy);
  std::stable_sort(findings.begin(), findings.end(),
                   [](const Finding& a, const Finding& b) { return Rank(a.severity) > Rank(b.severity); });
  CoverageReport coverage = BuildCoverageReport(run.combined.data, project_dir);

  const std::string report = options->format == "json" ? RenderJson(findings, coverage, run, coveragepy)
                                                       : RenderText(findings, coverage, run, coveragepy, options->fail_on);
  if (options->output.empty()) {
    fmt::print("{}", report);
  } else {
    std::ofstream out(options->output, std::ios::trunc);
    out << report;
    if (!out) {
      PrintError("--output " + options->output + ": cannot write the report");
      return kExitPycovFailed;
    }
  }
  if (run.timed_out) return kExitPycovFailed;
  for (const auto& f : findings)
    if (Rank(f.severity) >= FailRank(options->fail_on)) return kExitFindings;
  return 0;
}

}  // namespace pycov
