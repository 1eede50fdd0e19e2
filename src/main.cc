// pycov's command line: dispatches to the subcommands.
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "coverage_data.h"
#include "coverage_report.h"
#include "exit_codes.h"
#include "bug_report_bundle.h"
#include "digests.h"
#include "doctor_command.h"
#include "kb_command.h"
#include "project_config.h"
#include "run_command.h"

namespace {

constexpr const char* kUsage =
    "pycov " PYCOV_VERSION " - coverage measurement of every Python process and thread\n"
    "\n"
    "usage:\n"
    "  pycov run    [OPTIONS] [--] (SCRIPT | -m MODULE) [ARGS...]\n"
    "  pycov doctor [OPTIONS] [--] (SCRIPT | -m MODULE) [ARGS...]\n"
    "  pycov report [--show-missing] [--format text|json|lcov|xml|markdown|html] [--data-file PATH] [-o PATH]\n"
    "  pycov kb list | kb show ID-OR-SLUG | kb check [DIR]\n"
    "  pycov explain ID-OR-SLUG\n"
    "  pycov bundle show FILE [--member NAME]\n"
    "  pycov --version | --help\n"
    "\n"
    "exit status: `run` exits with the program's status (or dies of the program's signal);\n"
    "`report` exits 1 when a measured file could not be reported. Both exit 3 when pycov\n"
    "itself failed and 4 for a usage or configuration error.\n"
    "defaults: [tool.pycov] in ./pyproject.toml (branch, source, include, omit, data_file, python).\n";

int ReportCommand(std::vector<std::string> args) {
  CLI::App app{"Report the coverage in a data file written by pycov run (or coverage.py).", "pycov report"};
  std::string data_file = ".coverage";
  std::string format = "text";
  std::string output;
  bool show_missing = false;
  app.add_option("--data-file", data_file, "data file to read (default: .coverage)");
  app.add_option("--format", format, "text, json, lcov, xml (Cobertura), markdown or html")
      ->check(CLI::IsMember({"text", "json", "lcov", "xml", "markdown", "html"}));
  app.add_option("-o,--output", output,
                 "write the report to this file instead of stdout (html: the directory, default htmlcov)");
  app.add_flag("-m,--show-missing", show_missing, "show line numbers of statements not run");
  std::reverse(args.begin(), args.end());
  try {
    app.parse(args);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    fmt::print(stderr, "pycov: error: {}\n", e.what());
    return pycov::kExitUsage;
  }

  if (auto loaded = format == "lcov" ? pycov::LoadDigests() : pycov::Ok(); !loaded) {  // lcov's line checksums
    fmt::print(stderr, "pycov: error: {}\n", loaded.error().message);
    return pycov::kExitPycovFailed;
  }
  auto data = pycov::ReadDataFile(data_file);
  if (!data) {
    fmt::print(stderr, "pycov: error: {}\n", data.error().message);
    return pycov::kExitUsage;
  }
  const std::string cwd = std::filesystem::current_path().string();
  pycov::CoverageReport report = pycov::BuildCoverageReport(data.value(), cwd);
  for (const auto& problem : report.problems) fmt::print(stderr, "pycov: error: {}\n", problem);
  if (data->has_arcs)
    fmt::print(stderr, "pycov: note: {} holds branch data; this report counts statements only "
                       "(branch figures are not implemented yet; `python3 -m coverage report` reads the file)\n",
               data_file);
  if (report.files.empty() && report.problems.empty()) {
    fmt::print(stderr, "pycov: error: no data to report in {}\n", data_file);
    return pycov::kExitFindings;
  }
  if (format == "html") {
    const std::string directory = output.empty() ? "htmlcov" : output;
    if (auto written = pycov::WriteHtmlReport(directory, pycov::RenderHtmlReport(report)); !written) {
      fmt::print(stderr, "pycov: error: {}\n", written.error().message);
      return pycov::kExitUsage;
    }
    fmt::print(stderr, "pycov: wrote the HTML report to {}/index.html\n", directory);
    return report.problems.empty() ? 0 : pycov::kExitFindings;
  }
  std::string text = format == "json"       ? pycov::RenderJsonReport(report, data->has_arcs)
                     : format == "lcov"     ? pycov::RenderLcovReport(report)
                     : format == "xml"      ? pycov::RenderCoberturaReport(report, cwd)
                     : format == "markdown" ? pycov::RenderMarkdownReport(report, show_missing)
                                            : pycov::RenderTextReport(report, show_missing);
  if (output.empty()) {
    fmt::print("{}", text);
  } else {
    std::ofstream out(output);
    out << text;
    out.close();
    if (!out) {
      fmt::print(stderr, "pycov: error: cannot write report to {}\n", output);
      return pycov::kExitUsage;
    }
  }
  return report.problems.empty() ? 0 : pycov::kExitFindings;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty() || args[0] == "-h" || args[0] == "--help" || args[0] == "help") {
    fmt::print(args.empty() ? stderr : stdout, "{}", kUsage);
    return args.empty() ? pycov::kExitUsage : 0;
  }
  if (args[0] == "--version") {
    fmt::print("pycov {}\n", PYCOV_VERSION);
    return 0;
  }
  const std::string command = args[0];
  args.erase(args.begin());
  if (command == "run") {
    auto project = pycov::ReadProjectConfig("pyproject.toml");
    if (!project) {
      fmt::print(stderr, "pycov: error: {}\n", project.error().message);
      return pycov::kExitUsage;
    }
    auto options = pycov::ParseRunArguments(args, pycov::RunDefaultsFrom(project.value()));
    if (!options) {
      fmt::print(stderr, "pycov: error: {}\n", options.error().message);
      return pycov::kExitUsage;
    }
    if (options->help) {
      fmt::print("{}", pycov::RunUsage());
      return 0;
    }
    return pycov::RunCommand(options.value());
  }
  if (command == "report") return ReportCommand(args);
  if (command == "kb") return pycov::KbCommand(args);
  if (command == "doctor") return pycov::DoctorCommand(args);
  if (command == "explain") return pycov::ExplainCommand(args);
  if (command == "bundle") return pycov::BundleCommand(args);
  fmt::print(stderr, "pycov: error: unknown command '{}'\n\n{}", command, kUsage);
  return pycov::kExitUsage;
}
