#include "doctor_report.h"

#include <string.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace pycov {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

int Rank(rules::Severity severity) {
  return severity == rules::Severity::kError ? 3 : severity == rules::Severity::kWarning ? 2 : 1;
}

std::string SourceLine(const std::string& project_dir, const std::string& path, int line) {
  if (path.empty() || line <= 0) return {};
  std::ifstream in(fs::path(path).is_absolute() ? fs::path(path) : fs::path(project_dir) / path);
  std::string text;
  for (int n = 1; std::getline(in, text); ++n)
    if (n == line) return text;
  return {};
}

std::string ProgramOutcome(const ProgramExit& exit) {
  if (exit.signal == 0) return "exited " + std::to_string(exit.exit_code);
  const char* name = sigabbrev_np(exit.signal);
  return name != nullptr ? std::string("died of SIG") + name : "died of signal " + std::to_string(exit.signal);
}

std::string Indent(const std::string& text, const std::string& prefix) {
  std::string result;
  size_t at = 0;
  while (at < text.size()) {
    size_t end = text.find('\n', at);
    result += prefix + text.substr(at, end == std::string::npos ? std::string::npos : end - at) + "\n";
    if (end == std::string::npos) break;
    at = end + 1;
  }
  return result;
}

struct Counts {
  int errors = 0, warnings = 0, infos = 0;
};
Counts CountFindings(const std::vector<Finding>& findings) {
  Counts counts;
  for (const auto& f : findings)
    (f.severity == rules::Severity::kError ? counts.errors
     : f.severity == rules::Severity::kWarning ? counts.warnings
                                                : counts.infos)++;
  return counts;
}

// ANSI colour that only backs up what the words already say.
struct Palette {
  bool on = false;
  std::string Paint(const std::string& text, const char* code) const {
    return on ? fmt::format("\x1b[{}m{}\x1b[0m", code, text) : text;
  }
  std::string Severity(rules::Severity severity, const std::string& text) const {
    return Paint(text, severity == rules::Severity::kError     ? "1;31"
                       : severity == rules::Severity::kWarning ? "1;33"
                                                               : "1;36");
  }
  std::string Gutter(const std::string& text) const { return Paint(text, "1;34"); }
  std::string Bold(const std::string& text) const { return Paint(text, "1"); }
};

// What a finding puts at stake, as the text report and the HTML report's notes say it.
std::string ImpactSentence(const Finding& f) {
  return fmt::format("{} line(s) in {} file(s) ran only there; without a remedy coverage.py reports them as missed",
                     f.impact.lines, f.impact.by_file.size());
}

}  // namespace

bool AtOrAbove(rules::Severity severity, const std::string& fail_on) {
  const int threshold = fail_on == "error" ? 3 : fail_on == "warning" ? 2 : fail_on == "info" ? 1 : 99;
  return Rank(severity) >= threshold;
}

bool DoctorReport::Fails() const {
  for (const auto& f : findings)
    if (AtOrAbove(f.severity, fail_on)) return true;
  return false;
}

std::string RepositoryRootOf(const std::string& directory) {
  std::error_code ignored;
  for (fs::path at = fs::absolute(directory).lexically_normal(); !at.empty(); at = at.parent_path()) {
    if (fs::exists(at / ".git", ignored)) return at.string();
    if (at == at.root_path()) break;
  }
  return fs::absolute(directory).lexically_normal().string();
}

std::vector<HtmlNote> HtmlNotes(const DoctorReport& report) {
  std::vector<HtmlNote> notes;
  for (const auto& f : report.findings) {
    std::string text = fmt::format("{}[{} {}]: {}", rules::SeverityName(f.severity), f.entry->id, f.entry->slug, f.message);
    if (f.impact.lines > 0) text += ". " + ImpactSentence(f);
    if (!f.handled_by.empty()) text += fmt::format(". Your coverage.py config already handles this ({})", f.handled_by);
    else if (!f.remediation.empty()) text += ". Help: " + f.remediation.front()->title;
    text += fmt::format(". More: pycov explain {}", f.entry->id);
    notes.push_back({f.path, f.line, rules::SeverityName(f.severity), std::move(text)});
  }
  return notes;
}

std::string RenderDoctorText(const DoctorReport& report, bool color) {
  const Palette palette{color};
  std::string out;
  for (const auto& f : report.findings) {
    out += palette.Severity(f.severity, fmt::format("{}[{} {}]", rules::SeverityName(f.severity), f.entry->id,
                                                    f.entry->slug)) +
           palette.Bold(": " + f.message) + "\n";
    if (!f.path.empty()) {
      out += fmt::format("{} {}{}\n", palette.Gutter(" -->"), f.path, f.line > 0 ? ":" + std::to_string(f.line) : "");
      if (std::string source = SourceLine(report.project_dir, f.path, f.line); !source.empty()) {
        // The gutter is as wide as the line number, as rustc draws it.
        const std::string number = std::to_string(f.line);
        const std::string blank(std::max<size_t>(number.size(), 3), ' ');
        out += palette.Gutter(blank + " |") + "\n";
        out += palette.Gutter(fmt::format("{:>{}} |", number, blank.size())) + " " + source + "\n";
        out += palette.Gutter(blank + " |") + "\n";
      }
    }
    if (!f.pids.empty()) {
      std::string pids;
      for (size_t i = 0; i < f.pids.size() && i < 8; ++i) pids += (i ? ", " : "") + std::to_string(f.pids[i]);
      if (f.pids.size() > 8) pids += fmt::format(" and {} more", f.pids.size() - 8);
      out += fmt::format("  = evidence: pid {}\n", pids);
    }
    if (f.impact.lines > 0) out += "  = impact: " + ImpactSentence(f) + "\n";
    if (f.no_impact) out += "  = note: no project line depended on it in this run\n";
    if (!f.pycov_note.empty()) out += "  = pycov: " + f.pycov_note + "\n";
    if (!f.handled_by.empty())
      out += fmt::format("  = note: your coverage.py config already handles this ({})\n", f.handled_by);
    else
      for (const auto* remedy : f.remediation) {
        out += palette.Paint("help", "1;32") + ": " + remedy->title + "\n";
        if (!remedy->pyproject.empty()) out += "  pyproject.toml:\n" + Indent(remedy->pyproject, "      ");
        if (!remedy->coveragerc.empty()) out += "  .coveragerc:\n" + Indent(remedy->coveragerc, "      ");
        if (!remedy->text.empty()) out += "  " + remedy->text + "\n";
      }
    if (!out.ends_with("\n\n")) out += "\n";
    out += fmt::format("For more information: pycov explain {}\n\n", f.entry->id);
  }
  const Counts counts = CountFindings(report.findings);
  const MeasuredRun& run = *report.run;
  out += fmt::format("coverage: {}% of {} statements in {} file(s); program {} ({})\n",
                     DisplayPercent(report.coverage.TotalPercent()), report.coverage.total_statements,
                     report.coverage.files.size(), ProgramOutcome(run.exit),
                     report.coveragepy.version.empty() ? "coverage.py not installed for this interpreter"
                                                       : "coverage.py " + report.coveragepy.version);
  // A measured file that cannot be analysed is not in the figures above; coverage.py's
  // report stops at it.
  for (const auto& problem : report.coverage.problems) out += "coverage: left out: " + problem + "\n";
  const bool fails = report.Fails();
  out += fmt::format("{}: {} error(s), {} warning(s), {} info (--fail-on {})\n",
                     palette.Paint(fails ? "fail" : "ok", fails ? "1;31" : "1;32"), counts.errors, counts.warnings,
                     counts.infos, report.fail_on);
  return out;
}

std::string RenderDoctorJson(const DoctorReport& report) {
  const MeasuredRun& run = *report.run;
  json out;
  out["schema"] = 1;
  out["pycov"] = {{"version", PYCOV_VERSION}, {"sandbox", sandbox::ModeName(run.mode)}};
  out["program"] = {{"argv", run.argv},
                    {"exit_code", run.exit.signal == 0 ? json(run.exit.exit_code) : json(nullptr)},
                    {"signal", run.exit.signal == 0 ? json(nullptr) : json(run.exit.signal)},
                    {"timed_out", run.timed_out}};
  json files = json::array();
  for (const auto& file : report.coverage.files)
    files.push_back({{"path", file.name}, {"statements", file.statements.size()}, {"missing", file.missing.size()},
                     {"percent_covered", file.PercentCovered()}});
  out["coverage"] = {{"totals",
                      {{"statements", report.coverage.total_statements},
                       {"missing", report.coverage.total_missing},
                       {"percent_covered", report.coverage.TotalPercent()}}},
                     {"files", files},
                     {"not_analysed", report.coverage.problems},
                     {"data_file", run.data_file}};
  json processes = json::array();
  for (const auto& p : run.combined.processes)
    processes.push_back({{"pid", p.pid}, {"ppid", p.ppid}, {"exec_generation", p.exec_generation},
                         {"fork_depth", p.fork_depth}, {"argv", p.argv}, {"lines", p.lines}});
  out["processes"] = processes;
  out["coveragepy"] = {
      {"version", report.coveragepy.version.empty() ? json(nullptr) : json(report.coveragepy.version)},
      {"config_files", report.coveragepy.config_files}};
  json list = json::array();
  for (const auto& f : report.findings) {
    json impact_files = json::object();
    for (const auto& [path, lines] : f.impact.by_file) impact_files[path] = lines;
    json remediation = json::array();
    for (const auto* r : f.remediation)
      remediation.push_back(
          {{"title", r->title}, {"pyproject", r->pyproject}, {"coveragerc", r->coveragerc}, {"text", r->text}});
    list.push_back({{"id", f.entry->id},
                    {"slug", f.entry->slug},
                    {"severity", rules::SeverityName(f.severity)},
                    {"message", f.message},
                    {"location",
                     {{"path", f.path.empty() ? json(nullptr) : json(f.path)},
                      {"line", f.line > 0 ? json(f.line) : json(nullptr)}}},
                    {"evidence", {{"pids", f.pids}}},
                    {"impact", {{"lines", f.impact.lines}, {"files", impact_files}}},
                    {"handled_by_config", f.handled_by.empty() ? json(nullptr) : json(f.handled_by)},
                    {"pycov", f.pycov_note.empty() ? json(nullptr) : json(f.pycov_note)},
                    {"remediation", remediation}});
  }
  out["findings"] = list;
  out["verdict"] = {{"fail_on", report.fail_on}, {"fails", report.Fails()}};
  return out.dump(2, ' ', false, json::error_handler_t::replace) + "\n";
}

std::string RenderDoctorMarkdown(const DoctorReport& report) {
  const Counts counts = CountFindings(report.findings);
  const MeasuredRun& run = *report.run;
  std::string out = "## pycov doctor\n\n";
  out += fmt::format("**{}**: {} error(s), {} warning(s), {} info (`--fail-on {}`). Coverage {}% of {} statements "
                     "in {} file(s); the program {}",
                     report.Fails() ? "Fail" : "OK", counts.errors, counts.warnings, counts.infos, report.fail_on,
                     DisplayPercent(report.coverage.TotalPercent()), report.coverage.total_statements,
                     report.coverage.files.size(), ProgramOutcome(run.exit));
  out += report.coveragepy.version.empty() ? "; coverage.py is not installed for this interpreter.\n\n"
                                           : fmt::format("; coverage.py {}.\n\n", report.coveragepy.version);
  if (!report.coverage.problems.empty()) {
    out += "Left out of the coverage figures:\n\n";
    for (const auto& problem : report.coverage.problems) out += "- " + MarkdownCell(problem) + "\n";
    out += "\n";
  }
  if (report.findings.empty()) return out + "No known coverage problem was observed.\n";
  out += "| Severity | Rule | Location | Finding | Lines at stake |\n|---|---|---|---|---|\n";
  for (const auto& f : report.findings) {
    std::string location = f.path.empty() ? "" : "`" + f.path + (f.line > 0 ? ":" + std::to_string(f.line) : "") + "`";
    out += fmt::format("| {} | `{}` {} | {} | {} | {} |\n", rules::SeverityName(f.severity), f.entry->id,
                       f.entry->slug, MarkdownCell(location), MarkdownCell(f.message), f.impact.lines);
  }
  out += "\n";
  for (const auto& f : report.findings) {
    out += fmt::format("### {} {}\n\n{}\n\n", f.entry->id, f.entry->slug, f.message);
    if (!f.handled_by.empty()) {
      out += fmt::format("Your coverage.py config already handles this (`{}`).\n\n", f.handled_by);
    } else {
      for (const auto* remedy : f.remediation) {
        out += fmt::format("- **{}**\n", remedy->title);
        if (!remedy->pyproject.empty()) out += "\n  ```toml\n" + Indent(remedy->pyproject, "  ") + "  ```\n";
        if (!remedy->coveragerc.empty()) out += "\n  ```ini\n" + Indent(remedy->coveragerc, "  ") + "  ```\n";
        if (!remedy->text.empty()) out += "\n  " + remedy->text + "\n";
      }
      if (!f.remediation.empty()) out += "\n";
    }
    if (!f.pycov_note.empty()) out += "pycov: " + f.pycov_note + "\n\n";
    out += fmt::format("More: `pycov explain {}`\n\n", f.entry->id);
  }
  return out;
}

}  // namespace pycov
