// The findings in the formats CI systems read: SARIF 2.1.0 (GitHub code scanning), GitHub
// workflow annotations, GitLab Code Quality.
#include <algorithm>
#include <filesystem>
#include <map>
#include <fstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "digests.h"
#include "doctor_report.h"

namespace pycov {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr const char* kSarifSchema = "https://json.schemastore.org/sarif-2.1.0.json";

// Where a finding is shown: its own location, else the program's script (SARIF results and
// annotations must point at a file), as a path relative to the repository root with '/'.
struct ShownLocation {
  std::string path;  // relative to the repository root
  int line = 1;
};

ShownLocation LocationOf(const DoctorReport& report, const Finding& finding) {
  auto relative_to_repository = [&](const std::string& path) -> std::string {
    if (path.empty()) return {};
    fs::path absolute = fs::path(path).is_absolute() ? fs::path(path) : fs::path(report.project_dir) / path;
    fs::path relative = absolute.lexically_normal().lexically_relative(report.repository_root);
    if (relative.empty() || *relative.begin() == "..") return {};  // outside the repository
    return relative.generic_string();
  };
  ShownLocation shown;
  shown.path = relative_to_repository(finding.path);
  if (!shown.path.empty()) {
    shown.line = finding.line > 0 ? finding.line : 1;
  } else {
    shown.path = relative_to_repository(report.program_path);
    shown.line = 1;
  }
  return shown;
}

std::string SourceLineAt(const DoctorReport& report, const ShownLocation& shown) {
  std::ifstream in(fs::path(report.repository_root) / shown.path);
  std::string text;
  for (int n = 1; std::getline(in, text); ++n)
    if (n == shown.line) break;
  if (!in) return {};
  // Indentation changes should not make a finding new.
  size_t first = text.find_first_not_of(" \t"), last = text.find_last_not_of(" \t\r");
  return first == std::string::npos ? std::string() : text.substr(first, last - first + 1);
}

// A URI reference for a relative path: unreserved characters and '/' as they are, the rest
// percent-encoded (RFC 3986).
std::string UriOfPath(const std::string& path) {
  std::string uri;
  for (unsigned char c : path) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~' || c == '/')
      uri += char(c);
    else
      uri += fmt::format("%{:02X}", c);
  }
  return uri;
}

const char* SarifLevel(rules::Severity severity) {
  return severity == rules::Severity::kError ? "error" : severity == rules::Severity::kWarning ? "warning" : "note";
}

// "exec-replaces-process" -> "ExecReplacesProcess": SARIF's rule name is an identifier.
std::string PascalCase(const std::string& slug) {
  std::string name;
  bool upper = true;
  for (char c : slug) {
    if (c == '-' || c == '_') {
      upper = true;
      continue;
    }
    name += upper ? char(std::toupper(static_cast<unsigned char>(c))) : c;
    upper = false;
  }
  return name;
}

std::string RemediationMarkdown(const rules::KbEntry& entry) {
  std::string out;
  for (const auto& remedy : entry.remediation) {
    out += "\n### " + remedy.title + "\n";
    if (!remedy.coveragepy.empty()) out += "\nFor coverage.py " + remedy.coveragepy.text() + ".\n";
    if (!remedy.pyproject.empty()) out += "\n```toml\n" + remedy.pyproject + (remedy.pyproject.ends_with("\n") ? "" : "\n") + "```\n";
    if (!remedy.coveragerc.empty()) out += "\n```ini\n" + remedy.coveragerc + (remedy.coveragerc.ends_with("\n") ? "" : "\n") + "```\n";
    if (!remedy.text.empty()) out += "\n" + remedy.text + "\n";
  }
  return out;
}

// What a finding says beyond its message: the lines at stake and the first piece of advice.
std::string FindingDetails(const Finding& f) {
  std::string out;
  if (f.impact.lines > 0)
    out += fmt::format("{} line(s) in {} file(s) ran only in the affected processes or threads; without a remedy "
                       "coverage.py reports them as missed.",
                       f.impact.lines, f.impact.by_file.size());
  if (!f.handled_by.empty())
    out += (out.empty() ? "" : " ") + fmt::format("Your coverage.py config already handles this ({}).", f.handled_by);
  else if (!f.remediation.empty())
    out += (out.empty() ? "" : " ") + fmt::format("Fix: {}.", f.remediation.front()->title);
  return out;
}

}  // namespace

std::string RenderSarif(const DoctorReport& report, const rules::KnowledgeBase& kb) {
  json rules_list = json::array();
  std::map<std::string, size_t> rule_index;
  for (const auto& entry : kb.entries) {
    rule_index[entry.id] = rules_list.size();
    std::string markdown = entry.explanation + "\n" + RemediationMarkdown(entry);
    if (!entry.references.empty()) {
      markdown += "\n### References\n\n";
      for (const auto& reference : entry.references)
        markdown += fmt::format("- [{}]({})\n", reference.title.empty() ? reference.url : reference.title, reference.url);
    }
    markdown += fmt::format("\nRun `pycov explain {}` for the whole entry.\n", entry.id);
    json rule = {{"id", entry.id},
                 {"name", PascalCase(entry.slug)},
                 {"shortDescription", {{"text", entry.title}}},
                 {"fullDescription", {{"text", entry.title}}},
                 {"help", {{"text", entry.explanation}, {"markdown", markdown}}},
                 {"defaultConfiguration", {{"level", SarifLevel(entry.severity)}}},
                 {"properties",
                  {{"tags", {"coverage", entry.slug}},
                   {"precision", "high"},
                   {"problem.severity", entry.severity == rules::Severity::kInfo ? "recommendation"
                                                                                 : SarifLevel(entry.severity)}}}};
    if (!entry.references.empty()) rule["helpUri"] = entry.references.front().url;
    rules_list.push_back(rule);
  }
  // Fingerprints stay the same across runs and edits that move a line: the rule, the file, the
  // text of the line and, for identical lines, which of them it is (as GitHub's own line hash).
  std::vector<std::string> fingerprint_keys;
  std::map<std::string, std::vector<int>> lines_of_key;
  for (const auto& f : report.findings) {
    const ShownLocation shown = LocationOf(report, f);
    const std::string source = SourceLineAt(report, shown);
    fingerprint_keys.push_back(f.entry->id + '\0' + shown.path + '\0' +
                               (source.empty() ? std::to_string(shown.line) : source));
    lines_of_key[fingerprint_keys.back()].push_back(shown.line);
  }
  for (auto& [key, lines] : lines_of_key) std::sort(lines.begin(), lines.end());
  json results = json::array();
  for (size_t i = 0; i < report.findings.size(); ++i) {
    const Finding& f = report.findings[i];
    const ShownLocation shown = LocationOf(report, f);
    std::string text = f.message;
    if (std::string details = FindingDetails(f); !details.empty()) text += "\n" + details;
    const auto& same = lines_of_key[fingerprint_keys[i]];
    const size_t occurrence = size_t(std::find(same.begin(), same.end(), shown.line) - same.begin());
    const std::string fingerprint = Sha256Hex(fingerprint_keys[i] + '\0' + std::to_string(occurrence));
    json result = {{"ruleId", f.entry->id},
                   {"level", SarifLevel(f.severity)},
                   {"message", {{"text", text}}},
                   {"locations",
                    {{{"physicalLocation",
                       {{"artifactLocation", {{"uri", UriOfPath(shown.path)}, {"uriBaseId", "%SRCROOT%"}}},
                        {"region", {{"startLine", shown.line}}}}}}}},
                   {"partialFingerprints", {{"pycovFindingHash/v1", fingerprint}}},
                   {"properties",
                    {{"slug", f.entry->slug}, {"pids", f.pids}, {"impactLines", f.impact.lines}}}};
    if (auto index = rule_index.find(f.entry->id); index != rule_index.end()) result["ruleIndex"] = index->second;
    results.push_back(result);
  }
  const MeasuredRun& run = *report.run;
  json invocation = {{"executionSuccessful", !run.timed_out},
                     {"commandLine", [&] {
                        std::string line;
                        for (const auto& a : run.argv) line += (line.empty() ? "" : " ") + a;
                        return line;
                      }()}};
  json sarif = {{"$schema", kSarifSchema},
                {"version", "2.1.0"},
                {"runs",
                 {{{"tool",
                    {{"driver",
                      {{"name", "pycov"},
                       {"version", PYCOV_VERSION},
                       {"semanticVersion", PYCOV_VERSION},
                       {"rules", rules_list}}}}},
                   {"originalUriBaseIds",
                    {{"%SRCROOT%", {{"uri", "file://" + UriOfPath(report.repository_root + "/")}}}}},
                   {"invocations", {invocation}},
                   {"columnKind", "unicodeCodePoints"},
                   {"results", results}}}}};
  return sarif.dump(2, ' ', false, json::error_handler_t::replace) + "\n";
}

std::string EscapeAnnotationMessage(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (c == '%') out += "%25";
    else if (c == '\r') out += "%0D";
    else if (c == '\n') out += "%0A";
    else out += c;
  }
  return out;
}

std::string EscapeAnnotationProperty(const std::string& text) {
  std::string out;
  for (char c : EscapeAnnotationMessage(text)) {
    if (c == ':') out += "%3A";
    else if (c == ',') out += "%2C";
    else out += c;
  }
  return out;
}

std::string RenderGithubAnnotations(const DoctorReport& report) {
  std::string out;
  for (const auto& f : report.findings) {
    const ShownLocation shown = LocationOf(report, f);
    const char* command = f.severity == rules::Severity::kError     ? "error"
                          : f.severity == rules::Severity::kWarning ? "warning"
                                                                    : "notice";
    std::string message = f.message;
    if (std::string details = FindingDetails(f); !details.empty()) message += "\n" + details;
    message += "\nMore: pycov explain " + f.entry->id;
    std::string properties;
    if (!shown.path.empty()) properties += fmt::format("file={},line={},", EscapeAnnotationProperty(shown.path), shown.line);
    properties += "title=" + EscapeAnnotationProperty(f.entry->id + " " + f.entry->slug);
    out += fmt::format("::{} {}::{}\n", command, properties, EscapeAnnotationMessage(message));
  }
  return out;
}

std::string RenderGitlabCodeQuality(const DoctorReport& report) {
  json issues = json::array();
  for (const auto& f : report.findings) {
    const ShownLocation shown = LocationOf(report, f);
    std::string description = f.message;
    if (std::string details = FindingDetails(f); !details.empty()) description += " " + details;
    issues.push_back(
        {{"type", "issue"},
         {"engine_name", "pycov"},
         {"check_name", f.entry->id + " " + f.entry->slug},
         {"description", description},
         {"categories", {"Bug Risk"}},
         {"severity", f.severity == rules::Severity::kError     ? "major"
                      : f.severity == rules::Severity::kWarning ? "minor"
                                                                : "info"},
         // GitLab tells issues apart by fingerprint: one per rule and place.
         {"fingerprint", Sha256Hex(f.entry->id + '\0' + shown.path + '\0' + std::to_string(shown.line))},
         {"location", {{"path", shown.path}, {"lines", {{"begin", shown.line}}}}}});
  }
  return issues.dump(2, ' ', false, json::error_handler_t::replace) + "\n";
}

}  // namespace pycov
