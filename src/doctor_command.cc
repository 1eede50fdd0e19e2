#include "doctor_command.h"

#include <unistd.h>

#include <filesystem>
#include <cstdio>
#include <fstream>

#include <fmt/format.h>

#include "bug_report_bundle.h"
#include "coverage_report.h"
#include "digests.h"
#include "doctor.h"
#include "doctor_report.h"
#include "exit_codes.h"
#include "kb_command.h"
#include "project_config.h"
#include "rules/knowledge_base.h"

namespace pycov {
namespace {

namespace fs = std::filesystem;

void PrintError(const std::string& message) { fmt::print(stderr, "pycov: error: {}\n", message); }

constexpr const char* kDoctorUsage =
    "usage: pycov doctor [OPTIONS] [--] (SCRIPT | -m MODULE) [ARGS...]\n"
    "\n"
    "Run the program measured (as pycov run does, writing the data file), then report which\n"
    "known coverage problems it hits, where, what they cost, and how to fix them for your\n"
    "coverage.py version and config.\n"
    "\n"
    "options (besides those of pycov run):\n"
    "  --format FORMAT[:PATH]  text (default), json, sarif, github, gitlab, markdown or html;\n"
    "                          with :PATH that report goes to PATH. Repeat for several at once:\n"
    "                          --format text --format sarif:findings.sarif. Under GitHub Actions\n"
    "                          (GITHUB_ACTIONS=true) the default is github: the text report,\n"
    "                          workflow annotations, and a table in $GITHUB_STEP_SUMMARY.\n"
    "                          html:DIR (default htmlcov) is the coverage report as HTML with\n"
    "                          each finding shown under its source line\n"
    "  --output PATH           write the report without a :PATH there; the program's own\n"
    "                          output is untouched\n"
    "  --fail-on LEVEL         error (default), warning, info or never: exit 1 when a finding\n"
    "                          is at or above LEVEL\n"
    "  --coverage-config PATH  the coverage.py config to judge (default: .coveragerc, setup.cfg,\n"
    "                          tox.ini, pyproject.toml in the current directory)\n"
    "  --kb DIR                add a directory of knowledge-base entries of your own\n"
    "  --bundle[=PATH]         also write a bug-report zip (default pycov-bundle-DATE-TIME.zip);\n"
    "                          secrets, home, user and host names are redacted before writing\n"
    "  --include-source        put the measured project files in the bundle too\n"
    "exit status: 0 no finding at or above --fail-on, 1 findings, 3 pycov failed or could not\n"
    "observe the program, 4 usage or configuration error.\n";

struct ReportTarget {
  std::string format;  // text, json, sarif, github, gitlab, markdown, html
  std::string path;    // empty: --output, else standard output; html: a directory
};

struct DoctorOptions {
  std::vector<ReportTarget> targets;  // empty: the default for where pycov runs
  std::string output;
  std::string fail_on = "error";
  std::string coverage_config;
  std::vector<std::string> kb_directories;
  std::vector<std::string> run_arguments;
  bool bundle = false;
  std::string bundle_path;  // empty: the default name
  bool include_source = false;
  bool help = false;
};

bool KnownFormat(const std::string& name) {
  for (const char* known : {"text", "json", "sarif", "github", "gitlab", "markdown", "html"})
    if (name == known) return true;
  return false;
}

// Doctor's own options come before the program, mixed with pycov run's; the rest is run's.
Result<DoctorOptions> ParseDoctorArguments(const std::vector<std::string>& args) {
  DoctorOptions options;
  static const char* kValued[] = {"--format", "--output", "--fail-on", "--coverage-config", "--kb"};
  static const char* kRunValued[] = {"--source",  "--include", "--omit",         "--data-file",
                                     "--python",  "--sandbox", "--timeout",      "--orphan-grace",
                                     "--observation-log", "--color"};
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
    if (arg == "--include-source") {
      options.include_source = true;
      continue;
    }
    // --bundle takes its path only as --bundle=PATH or as a following NAME.zip, so that
    // `--bundle app.py` still runs app.py.
    if (arg == "--bundle" || arg.rfind("--bundle=", 0) == 0) {
      options.bundle = true;
      if (arg.size() > 9) options.bundle_path = arg.substr(9);
      else if (i + 1 < args.size() && args[i + 1].ends_with(".zip")) options.bundle_path = args[++i];
      if (arg.size() == 9 && options.bundle_path.empty() && arg.back() == '=') return Error{"--bundle= needs a PATH"};
      continue;
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
      ReportTarget target;
      size_t colon = value.find(':');
      target.format = value.substr(0, colon);
      if (colon != std::string::npos) target.path = value.substr(colon + 1);
      if (!KnownFormat(target.format))
        return Error{"--format " + value + ": expected text, json, sarif, github, gitlab, markdown or html, "
                     "optionally followed by :PATH"};
      if (colon != std::string::npos && target.path.empty()) return Error{"--format " + value + ": empty PATH"};
      if (target.format == "html" && target.path.empty()) target.path = "htmlcov";  // a directory, never stdout
      options.targets.push_back(target);
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
  if (options.targets.empty()) {
    const char* github = getenv("GITHUB_ACTIONS");
    options.targets.push_back({github != nullptr && std::string(github) == "true" ? "github" : "text", ""});
  }
  int unnamed = 0;
  for (auto& target : options.targets) {
    if (target.path.empty()) {
      target.path = options.output;
      ++unnamed;
    }
  }
  if (unnamed > 1) return Error{"--format: only one report can go to " +
                                (options.output.empty() ? std::string("standard output") : options.output) +
                                "; give the others a :PATH"};
  return options;
}

// Colour when asked to, or when a person is likely to be looking at a terminal.
bool UseColor(const std::string& when, const std::string& path) {
  if (!path.empty() || when == "never") return false;
  if (when == "always") return true;
  const char* no_color = getenv("NO_COLOR");
  const char* term = getenv("TERM");
  return (no_color == nullptr || *no_color == '\0') && (term == nullptr || std::string(term) != "dumb") &&
         isatty(STDOUT_FILENO) == 1;
}

Status WriteReport(const std::string& path, const std::string& text, bool append = false) {
  if (path.empty()) {
    fmt::print("{}", text);
    std::fflush(stdout);
    return Ok();
  }
  std::ofstream out(path, append ? std::ios::app : std::ios::trunc);
  out << text;
  out.close();
  if (!out) return Error{path + ": cannot write the report"};
  return Ok();
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
  // The CI formats' fingerprints and the bundle's manifest are digests.
  if (auto loaded = LoadDigests(); !loaded) {
    PrintError(loaded.error().message);
    return kExitPycovFailed;
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
  // Refuse an unwritable report or bundle path before the program runs, not after.
  for (const auto& target : options->targets) {
    if (target.path.empty()) continue;
    if (target.format == "html") {
      std::error_code ec;
      fs::create_directories(target.path, ec);
      if (ec || access(target.path.c_str(), W_OK) != 0) {
        PrintError("--format html:" + target.path + ": cannot write there");
        return kExitUsage;
      }
      continue;
    }
    std::ofstream probe(target.path, std::ios::app);
    if (!probe) {
      PrintError("--format " + target.format + ":" + target.path + ": cannot write there");
      return kExitUsage;
    }
  }
  if (options->bundle) {
    if (options->bundle_path.empty()) options->bundle_path = DefaultBundlePath();
    const fs::path directory = fs::absolute(options->bundle_path).parent_path();
    if (access(directory.c_str(), W_OK) != 0) {
      PrintError("--bundle " + options->bundle_path + ": cannot write in " + directory.string());
      return kExitUsage;
    }
    if (auto loaded = LoadZipLibrary(); !loaded) {
      PrintError("--bundle " + options->bundle_path + ": " + loaded.error().message);
      return kExitPycovFailed;
    }
  }

  MeasuredRun run;
  if (int failed = MeasureProgram(*run_options, run, sandbox::Follow::kWholeTree); failed != 0) return failed;

  DoctorReport report;
  report.run = &run;
  report.fail_on = options->fail_on;
  report.project_dir = fs::current_path().string();
  report.repository_root = RepositoryRootOf(report.project_dir);
  if (!run_options->script.empty())
    report.program_path = fs::absolute(run_options->script).lexically_normal().string();
  report.coveragepy = ReadCoveragePySetup(run.python, report.project_dir, options->coverage_config);
  report.python_version = InterpreterVersion(run.python);
  auto observations = CollectObservations(run, report.coveragepy, report.python_version, report.project_dir);
  report.findings = BuildFindings(*kb, observations, run, report.coveragepy);
  std::stable_sort(report.findings.begin(), report.findings.end(),
                   [](const Finding& a, const Finding& b) { return a.severity > b.severity; });
  report.coverage = BuildCoverageReport(run.combined.data, report.project_dir);

  int status = 0;
  for (const auto& target : options->targets) {
    std::string text;
    if (target.format == "json") text = RenderDoctorJson(report);
    else if (target.format == "sarif") text = RenderSarif(report, *kb);
    else if (target.format == "gitlab") text = RenderGitlabCodeQuality(report);
    else if (target.format == "markdown") text = RenderDoctorMarkdown(report);
    else if (target.format == "html") {
      if (auto written = WriteHtmlReport(target.path, RenderHtmlReport(report.coverage, HtmlNotes(report))); !written) {
        PrintError(written.error().message);
        status = kExitPycovFailed;
      }
      continue;
    }
    else if (target.format == "github") {
      // Annotations are capped per step by GitHub, so the whole text report goes to the log too.
      text = RenderDoctorText(report, false) + RenderGithubAnnotations(report);
      if (const char* summary = getenv("GITHUB_STEP_SUMMARY"); summary != nullptr && *summary != '\0')
        if (auto written = WriteReport(summary, RenderDoctorMarkdown(report), true); !written) {
          PrintError("$GITHUB_STEP_SUMMARY " + written.error().message);
          status = kExitPycovFailed;
        }
    } else {
      text = RenderDoctorText(report, UseColor(run_options->color, target.path));
    }
    if (auto written = WriteReport(target.path, text); !written) {
      PrintError(written.error().message);
      status = kExitPycovFailed;
    }
  }
  if (options->bundle) {
    BundleOptions bundle;
    bundle.path = options->bundle_path;
    bundle.include_source = options->include_source;
    for (char** variable = environ; *variable != nullptr; ++variable) bundle.environment.push_back(*variable);
    bundle.identity = CurrentIdentity();
    bundle.command = {"pycov", "doctor"};
    bundle.command.insert(bundle.command.end(), args.begin(), args.end());
    if (auto written = WriteZip(bundle.path, BuildBundle(report, *kb, bundle)); !written) {
      PrintError(written.error().message);
      status = kExitPycovFailed;
    } else {
      fmt::print(stderr, "pycov: bug-report bundle written to {} (see what it holds: pycov bundle show {})\n",
                 bundle.path, bundle.path);
    }
  }
  if (status != 0 || run.timed_out) return kExitPycovFailed;
  return report.Fails() ? kExitFindings : 0;
}

}  // namespace pycov
