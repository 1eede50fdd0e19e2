// CoverageReport: per-file statement, miss and exclusion figures computed from the data and
// the source, and its renderings (text table, JSON). Reporters never re-run anything.
#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "coverage_data.h"
#include "result.h"

namespace pycov {

struct FileReport {
  std::string path;  // absolute, as in the data file
  std::string name;  // relative to the current directory when under it
  std::set<int32_t> statements;
  // Translated to statement first lines; as coverage.py's `executed`, also lines that ran but
  // are not statements (excluded ones, a `# pragma: no cover` line that ran).
  std::set<int32_t> executed;
  std::set<int32_t> missing;
  std::set<int32_t> excluded;
  std::vector<std::string> source_lines;  // the decoded source, line N at index N-1

  double PercentCovered() const;
};

struct CoverageReport {
  std::vector<FileReport> files;      // sorted by name
  std::vector<std::string> problems;  // files that could not be analysed, one line each
  size_t total_statements = 0;
  size_t total_missing = 0;
  double TotalPercent() const;
};

/// Analyses every file in `data` (relative names against `cwd`).
CoverageReport BuildCoverageReport(const CoverageData& data, const std::string& cwd);

/// coverage.py's whole-number percentage: never 0 or 100 unless exactly so.
std::string DisplayPercent(double percent);

/// The text table: Name, Stmts, Miss, Cover[, Missing].
std::string RenderTextReport(const CoverageReport& report, bool show_missing);

/// JSON in the shape of coverage.py's json report ("meta", "files", "totals").
std::string RenderJsonReport(const CoverageReport& report, bool has_arcs);

/// LCOV, as coverage.py writes it: per file its executed, then its missing statements, each
/// with the checksum of its source line (genhtml can check them), and the line totals.
std::string RenderLcovReport(const CoverageReport& report);

/// Cobertura XML, as coverage.py writes it: files grouped by directory into packages, each
/// statement a line with its hits (0 or 1). `cwd` is where relative names start.
std::string RenderCoberturaReport(const CoverageReport& report, const std::string& cwd);

/// Text for a Markdown table cell, which cannot hold a bare '|' or a newline.
std::string MarkdownCell(std::string_view text);

/// A Markdown table of the text report's columns, for a CI job's summary or a comment.
std::string RenderMarkdownReport(const CoverageReport& report, bool show_missing);

struct HtmlPage {
  std::string name;  // file name within the report's directory
  std::string html;
};

/// Something to show on a source line of the HTML report (pycov doctor's findings).
struct HtmlNote {
  std::string file;  // a FileReport's name; a note on no file of the report goes on the index
  int32_t line = 0;
  std::string kind;  // a CSS class: error, warning or info
  std::string text;
};

/// An HTML report: index.html with the text report's table, each name a link to a page of
/// that file's source with every statement marked run, missed or excluded, and each note
/// under its line. Self-contained (styles inline, no script), so that a CI job can keep the
/// directory as it is.
std::vector<HtmlPage> RenderHtmlReport(const CoverageReport& report, const std::vector<HtmlNote>& notes = {});

/// Writes the pages into `directory`, made if missing. The error names the file.
Status WriteHtmlReport(const std::string& directory, const std::vector<HtmlPage>& pages);

}  // namespace pycov
