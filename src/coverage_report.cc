#include "coverage_report.h"

#include <algorithm>
#include <cstdio>
#include <ctime>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "source_analysis.h"

namespace pycov {
namespace {

double Percent(size_t statements, size_t missing) {
  return statements == 0 ? 100.0 : 100.0 * double(statements - missing) / double(statements);
}

std::string RelativeName(const std::string& path, const std::string& cwd) {
  if (!cwd.empty() && path.size() > cwd.size() && path.compare(0, cwd.size(), cwd) == 0 && path[cwd.size()] == '/')
    return path.substr(cwd.size() + 1);
  return path;
}

// coverage.py sorts names "humanly": runs of digits compare as numbers.
bool HumanLess(const std::string& a, const std::string& b) {
  size_t i = 0, j = 0;
  while (i < a.size() && j < b.size()) {
    if (std::isdigit(static_cast<unsigned char>(a[i])) && std::isdigit(static_cast<unsigned char>(b[j]))) {
      size_t ie = i, je = j;
      while (ie < a.size() && std::isdigit(static_cast<unsigned char>(a[ie]))) ++ie;
      while (je < b.size() && std::isdigit(static_cast<unsigned char>(b[je]))) ++je;
      unsigned long long x = std::stoull(a.substr(i, std::min<size_t>(ie - i, 18)));
      unsigned long long y = std::stoull(b.substr(j, std::min<size_t>(je - j, 18)));
      if (x != y) return x < y;
      i = ie;
      j = je;
    } else {
      if (a[i] != b[j]) return a[i] < b[j];
      ++i;
      ++j;
    }
  }
  return a.size() - i < b.size() - j;
}

}  // namespace

double FileReport::PercentCovered() const { return Percent(statements.size(), missing.size()); }
double CoverageReport::TotalPercent() const { return Percent(total_statements, total_missing); }

std::string DisplayPercent(double pc) {
  if (pc > 0 && pc < 1) pc = 1;
  else if (pc > 99 && pc < 100) pc = 99;
  return fmt::format("{:.0f}", pc);
}

CoverageReport BuildCoverageReport(const CoverageData& data, const std::string& cwd) {
  CoverageReport report;
  const auto excludes = DefaultExcludeRegexes();
  for (const auto& [path, coverage] : data.files) {
    auto analysis = AnalyzeSource(path, excludes);
    if (!analysis) {
      report.problems.push_back(analysis.error().message);
      continue;
    }
    FileReport file;
    file.path = path;
    file.name = RelativeName(path, cwd);
    file.statements = analysis->statements;
    file.excluded = analysis->excluded;
    for (int32_t line : analysis->TranslateLines(data.ExecutedLines(path)))
      if (file.statements.count(line)) file.executed.insert(line);
    std::set_difference(file.statements.begin(), file.statements.end(), file.executed.begin(), file.executed.end(),
                        std::inserter(file.missing, file.missing.end()));
    report.total_statements += file.statements.size();
    report.total_missing += file.missing.size();
    report.files.push_back(std::move(file));
  }
  std::sort(report.files.begin(), report.files.end(),
            [](const FileReport& a, const FileReport& b) { return HumanLess(a.name, b.name); });
  return report;
}

std::string RenderTextReport(const CoverageReport& report, bool show_missing) {
  size_t name_width = 5;
  for (const auto& file : report.files) name_width = std::max(name_width, file.name.size());
  std::string header = fmt::format("{:<{}}   Stmts   Miss  Cover", "Name", name_width);
  if (show_missing) header += "   Missing";
  const std::string rule(header.size(), '-');
  std::string out = header + "\n" + rule + "\n";
  for (const auto& file : report.files) {
    out += fmt::format("{:<{}}  {:6d} {:6d} {:>5}%", file.name, name_width, file.statements.size(), file.missing.size(),
                       DisplayPercent(file.PercentCovered()));
    if (show_missing && !file.missing.empty()) out += "   " + FormatLineRanges(file.statements, file.missing);
    out += "\n";
  }
  if (!report.files.empty()) {
    out += rule + "\n";
    out += fmt::format("{:<{}}  {:6d} {:6d} {:>5}%", "TOTAL", name_width, report.total_statements,
                       report.total_missing, DisplayPercent(report.TotalPercent()));
    out += "\n";
  }
  return out;
}

std::string RenderJsonReport(const CoverageReport& report, bool has_arcs) {
  using nlohmann::json;
  auto summary = [](size_t statements, size_t missing, size_t excluded) {
    double pc = Percent(statements, missing);
    return json{{"covered_lines", statements - missing},
                {"num_statements", statements},
                {"percent_covered", pc},
                {"percent_covered_display", DisplayPercent(pc)},
                {"missing_lines", missing},
                {"excluded_lines", excluded}};
  };
  std::time_t now = std::time(nullptr);
  char when[32];
  std::strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", std::localtime(&now));
  json files = json::object();
  size_t total_excluded = 0;
  for (const auto& file : report.files) {
    total_excluded += file.excluded.size();
    files[file.name] = {{"executed_lines", file.executed},
                        {"summary", summary(file.statements.size(), file.missing.size(), file.excluded.size())},
                        {"missing_lines", file.missing},
                        {"excluded_lines", file.excluded}};
  }
  json out = {{"meta", {{"version", "pycov-" PYCOV_VERSION}, {"timestamp", when}, {"branch_coverage", has_arcs},
                        {"show_contexts", false}}},
              {"files", files},
              {"totals", summary(report.total_statements, report.total_missing, total_excluded)}};
  return out.dump(2) + "\n";
}

}  // namespace pycov
