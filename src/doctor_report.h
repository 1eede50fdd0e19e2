// The renderings of `pycov doctor`'s findings (SPEC §6): text in the rustc/Ruff style, JSON
// (schema 1), Markdown, and the formats CI systems read: SARIF 2.1.0 for GitHub code scanning,
// GitHub workflow annotations and step summary, GitLab Code Quality. Renderers only format
// what the analysis found; none of them re-runs anything.
#pragma once

#include <string>
#include <vector>

#include "coverage_report.h"
#include "doctor.h"
#include "rules/knowledge_base.h"

namespace pycov {

struct DoctorReport {
  std::vector<Finding> findings;  // most severe first
  CoverageReport coverage;
  const MeasuredRun* run = nullptr;
  CoveragePySetup coveragepy;
  std::string python_version;
  std::string fail_on = "error";  // error | warning | info | never
  std::string project_dir;        // absolute; finding paths are relative to it
  std::string repository_root;    // absolute; the project itself when it is not in a repository
  std::string program_path;       // the script, relative to the project: where a finding with no
                                  // location of its own is shown (SARIF and annotations need one)

  /// True when a finding is at or above `fail_on`.
  bool Fails() const;
};

/// The nearest directory at or above `directory` that holds `.git`, or `directory` itself.
std::string RepositoryRootOf(const std::string& directory);

/// Whether a finding is at or above a --fail-on level.
bool AtOrAbove(rules::Severity severity, const std::string& fail_on);

/// Text for a terminal or a log. `color` adds ANSI colour that backs up the words.
std::string RenderDoctorText(const DoctorReport& report, bool color);

/// JSON, schema 1 (consumers must accept new fields).
std::string RenderDoctorJson(const DoctorReport& report);

/// Markdown: a verdict, a table of findings and the advice (also GitHub's step summary).
std::string RenderDoctorMarkdown(const DoctorReport& report);

/// The findings as notes for the HTML coverage report: each under its line, with its id,
/// slug, message (which names the processes) and impact, and the first advice.
std::vector<HtmlNote> HtmlNotes(const DoctorReport& report);

/// SARIF 2.1.0 as GitHub code scanning accepts it: one rule per knowledge-base entry, every
/// result located relative to the repository, with a stable fingerprint.
std::string RenderSarif(const DoctorReport& report, const rules::KnowledgeBase& kb);

/// GitHub Actions workflow commands (`::error file=...,line=...,title=...::message`), one per
/// finding.
std::string RenderGithubAnnotations(const DoctorReport& report);

/// GitLab Code Quality JSON: an array of issues whose fingerprints include the location.
std::string RenderGitlabCodeQuality(const DoctorReport& report);

/// Escaping of a workflow command's message (`%`, CR, LF) and of a property value (also `:`
/// and `,`), as the GitHub Actions runner reads them.
std::string EscapeAnnotationMessage(const std::string& text);
std::string EscapeAnnotationProperty(const std::string& text);

}  // namespace pycov
