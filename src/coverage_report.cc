#include "coverage_report.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <map>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "digests.h"
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

// The source lines as coverage.py hashes them for LCOV. The analysis split the text at \n, read
// as coverage.py reads a file (\r\n and \r made \n, form feeds blanked); str.splitlines(),
// which coverage.py uses here, also ends a line at \v, \x1c, \x1d, \x1e, U+0085, U+2028 and
// U+2029. Line N is at index N-1.
std::vector<std::string> LinesAsCoveragePySplitsThem(const std::vector<std::string>& decoded_lines) {
  std::vector<std::string> lines;
  for (const std::string& text : decoded_lines) {
    std::string current;
    for (size_t i = 0; i < text.size(); ++i) {
      const unsigned char c = static_cast<unsigned char>(text[i]);
      size_t separator = 0;  // bytes of a line separator starting here
      if (c == '\v' || c == 0x1c || c == 0x1d || c == 0x1e) separator = 1;
      else if (c == 0xc2 && i + 1 < text.size() && static_cast<unsigned char>(text[i + 1]) == 0x85) separator = 2;
      else if (c == 0xe2 && i + 2 < text.size() && static_cast<unsigned char>(text[i + 1]) == 0x80 &&
               (static_cast<unsigned char>(text[i + 2]) == 0xa8 || static_cast<unsigned char>(text[i + 2]) == 0xa9))
        separator = 3;
      if (separator == 0) {
        current.push_back(char(c));
        continue;
      }
      lines.push_back(std::move(current));
      current.clear();
      i += separator - 1;
    }
    lines.push_back(std::move(current));
  }
  return lines;
}

// coverage.py's checksum of a line: the MD5 of its text in base64, without the padding.
std::string LineChecksum(const std::vector<std::string>& lines, int32_t line) {
  return Md5Base64(line >= 1 && size_t(line) <= lines.size() ? std::string_view(lines[line - 1]) : "");
}

// Cobertura's rates: a fraction with 4 significant digits, "1" when there is nothing to count.
std::string Rate(size_t hit, size_t total) {
  if (total == 0) return "1";
  char text[32];
  std::snprintf(text, sizeof(text), "%.4g", double(hit) / double(total));
  return text;
}

// Text in XML or HTML, in an element or a quoted attribute.
std::string MarkupEscaped(std::string_view text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      default: out.push_back(c);
    }
  }
  return out;
}

}  // namespace

std::string MarkdownCell(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (c == '|') out += "\\|";
    else if (c == '\n') out += "<br>";
    else out.push_back(c);
  }
  return out;
}

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
    file.executed = analysis->TranslateLines(data.ExecutedLines(path));
    file.source_lines = std::move(analysis->source_lines);
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

std::string RenderLcovReport(const CoverageReport& report) {
  // coverage.py goes through the files in the order of their paths.
  std::vector<const FileReport*> files;
  for (const auto& file : report.files) files.push_back(&file);
  std::sort(files.begin(), files.end(), [](const FileReport* a, const FileReport* b) { return a->path < b->path; });
  std::string out;
  for (const FileReport* file : files) {
    const std::vector<std::string> lines = LinesAsCoveragePySplitsThem(file->source_lines);
    out += "TN:\nSF:" + file->name + "\n";
    for (int32_t line : file->executed) out += fmt::format("DA:{},1,{}\n", line, LineChecksum(lines, line));
    for (int32_t line : file->missing) out += fmt::format("DA:{},0,{}\n", line, LineChecksum(lines, line));
    out += fmt::format("LF:{}\nLH:{}\nend_of_record\n", file->statements.size(), file->executed.size());
  }
  return out;
}

std::string RenderCoberturaReport(const CoverageReport& report, const std::string& cwd) {
  struct Package {
    std::vector<const FileReport*> files;
    size_t lines = 0;
    size_t hits = 0;
  };
  std::map<std::string, Package> packages;
  std::set<std::string> sources;
  for (const auto& file : report.files) {
    // A name relative to the current directory has it as its source; an absolute one, "".
    sources.insert(file.name == file.path ? "" : cwd);
    const size_t slash = file.name.rfind('/');
    std::string package = slash == std::string::npos ? "." : file.name.substr(0, slash);
    std::replace(package.begin(), package.end(), '/', '.');
    Package& into = packages[package];
    into.files.push_back(&file);
    into.lines += file.statements.size();
    into.hits += file.statements.size() - file.missing.size();
  }
  std::vector<std::string> package_names;
  for (const auto& [name, package] : packages) package_names.push_back(name);
  std::sort(package_names.begin(), package_names.end(), HumanLess);
  std::vector<std::string> source_list(sources.begin(), sources.end());
  std::sort(source_list.begin(), source_list.end(), HumanLess);

  const auto millis = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  std::string out = "<?xml version=\"1.0\" ?>\n";
  out += fmt::format("<coverage version=\"pycov-{}\" timestamp=\"{}\" lines-valid=\"{}\" lines-covered=\"{}\" "
                     "line-rate=\"{}\" branches-covered=\"0\" branches-valid=\"0\" branch-rate=\"0\" complexity=\"0\">\n",
                     PYCOV_VERSION, millis, report.total_statements, report.total_statements - report.total_missing,
                     Rate(report.total_statements - report.total_missing, report.total_statements));
  out += "\t<!-- Generated by pycov -->\n";
  out += "\t<!-- Based on https://raw.githubusercontent.com/cobertura/web/master/htdocs/xml/coverage-04.dtd -->\n";
  out += "\t<sources>\n";
  for (const auto& source : source_list) out += "\t\t<source>" + MarkupEscaped(source) + "</source>\n";
  out += "\t</sources>\n\t<packages>\n";
  for (const auto& name : package_names) {
    const Package& package = packages[name];
    out += fmt::format("\t\t<package name=\"{}\" line-rate=\"{}\" branch-rate=\"0\" complexity=\"0\">\n\t\t\t<classes>\n",
                       MarkupEscaped(name), Rate(package.hits, package.lines));
    std::vector<const FileReport*> files = package.files;
    std::sort(files.begin(), files.end(), [](const FileReport* a, const FileReport* b) { return HumanLess(a->name, b->name); });
    for (const FileReport* file : files) {
      const size_t slash = file->name.rfind('/');
      const std::string class_name = slash == std::string::npos ? file->name : file->name.substr(slash + 1);
      out += fmt::format("\t\t\t\t<class name=\"{}\" filename=\"{}\" complexity=\"0\" line-rate=\"{}\" branch-rate=\"0\">\n"
                         "\t\t\t\t\t<methods/>\n",
                         MarkupEscaped(class_name), MarkupEscaped(file->name),
                         Rate(file->statements.size() - file->missing.size(), file->statements.size()));
      if (file->statements.empty()) {
        out += "\t\t\t\t\t<lines/>\n";
      } else {
        out += "\t\t\t\t\t<lines>\n";
        for (int32_t line : file->statements)
          out += fmt::format("\t\t\t\t\t\t<line number=\"{}\" hits=\"{}\"/>\n", line, file->missing.count(line) ? 0 : 1);
        out += "\t\t\t\t\t</lines>\n";
      }
      out += "\t\t\t\t</class>\n";
    }
    out += "\t\t\t</classes>\n\t\t</package>\n";
  }
  out += "\t</packages>\n</coverage>\n";
  return out;
}

std::string RenderMarkdownReport(const CoverageReport& report, bool show_missing) {
  std::string out = show_missing ? "| Name | Stmts | Miss | Cover | Missing |\n|---|---:|---:|---:|---|\n"
                                 : "| Name | Stmts | Miss | Cover |\n|---|---:|---:|---:|\n";
  for (const auto& file : report.files) {
    out += fmt::format("| {} | {} | {} | {}% |", MarkdownCell(file.name), file.statements.size(), file.missing.size(),
                       DisplayPercent(file.PercentCovered()));
    if (show_missing) out += " " + FormatLineRanges(file.statements, file.missing) + " |";
    out += "\n";
  }
  out += fmt::format("| **TOTAL** | **{}** | **{}** | **{}%** |", report.total_statements, report.total_missing,
                     DisplayPercent(report.TotalPercent()));
  if (show_missing) out += " |";
  return out + "\n";
}

namespace {

constexpr const char* kHtmlStyle =
    "body{font-family:sans-serif;margin:1.5em}"
    "table.index{border-collapse:collapse}table.index td,table.index th{padding:.2em .8em;text-align:right}"
    "table.index td:first-child,table.index th:first-child{text-align:left}"
    "table.index tr.total{font-weight:bold;border-top:1px solid #999}"
    "table.source{border-collapse:collapse;font-family:monospace;white-space:pre}"
    "table.source td{padding:0 .6em}td.number{color:#888;text-align:right;user-select:none}"
    "tr.run td.text{background:#dfd}tr.mis td.text{background:#fdd}tr.exc td.text{color:#888}"
    "span.key{padding:0 .4em;margin-right:.6em}"
    "td.note{font-family:sans-serif;white-space:normal;padding:.2em .6em;border-left:4px solid #999}"
    "td.error{border-color:#c00;background:#fee}td.warning{border-color:#c80;background:#ffd}"
    "td.info{border-color:#06c;background:#eef}";

std::string HtmlDocument(const std::string& title, const std::string& body) {
  return "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>" + MarkupEscaped(title) +
         "</title>\n<style>" + kHtmlStyle + "</style>\n</head>\n<body>\n" + body + "</body>\n</html>\n";
}

// A page name for each file: its position and its name with the directories joined by "_",
// so that names stay unique and readable.
std::string PageName(size_t index, const std::string& name) {
  std::string flat;
  for (char c : name) flat.push_back(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' ? c : '_');
  return fmt::format("{}_{}.html", index + 1, flat);
}

}  // namespace

std::vector<HtmlPage> RenderHtmlReport(const CoverageReport& report, const std::vector<HtmlNote>& notes) {
  std::map<std::pair<std::string, int32_t>, std::vector<const HtmlNote*>> notes_by_line;
  std::set<const HtmlNote*> placed;
  for (const auto& note : notes) notes_by_line[{note.file, note.line}].push_back(&note);
  std::vector<HtmlPage> pages;
  std::string rows;
  for (size_t i = 0; i < report.files.size(); ++i) {
    const FileReport& file = report.files[i];
    const std::string page = PageName(i, file.name);
    rows += fmt::format("<tr><td><a href=\"{}\">{}</a></td><td>{}</td><td>{}</td><td>{}</td><td>{}%</td></tr>\n", page,
                        MarkupEscaped(file.name), file.statements.size(), file.missing.size(), file.excluded.size(),
                        DisplayPercent(file.PercentCovered()));
    std::string lines;
    for (size_t n = 1; n <= file.source_lines.size(); ++n) {
      const int32_t line = int32_t(n);
      const char* kind = file.excluded.count(line)   ? " class=\"exc\""
                         : file.missing.count(line)  ? " class=\"mis\""
                         : file.statements.count(line) ? " class=\"run\""
                                                       : "";
      lines += fmt::format("<tr{} id=\"t{}\"><td class=\"number\"><a href=\"#t{}\">{}</a></td><td class=\"text\">{}</td></tr>\n",
                           kind, line, line, line, MarkupEscaped(file.source_lines[n - 1]));
      auto here = notes_by_line.find({file.name, line});
      if (here == notes_by_line.end()) continue;
      for (const HtmlNote* note : here->second) {
        lines += fmt::format("<tr><td></td><td class=\"note {}\">{}</td></tr>\n", MarkupEscaped(note->kind),
                             MarkupEscaped(note->text));
        placed.insert(note);
      }
    }
    const std::string body =
        fmt::format("<h1>{}: {}%</h1>\n<p>{} statements, {} run, {} missing, {} excluded. "
                    "<span class=\"key\" style=\"background:#dfd\">run</span>"
                    "<span class=\"key\" style=\"background:#fdd\">missing</span>"
                    "<span class=\"key\" style=\"color:#888\">excluded</span><a href=\"index.html\">all files</a></p>\n"
                    "<table class=\"source\">\n{}</table>\n",
                    MarkupEscaped(file.name), DisplayPercent(file.PercentCovered()), file.statements.size(),
                    file.statements.size() - file.missing.size(), file.missing.size(), file.excluded.size(), lines);
    pages.push_back({page, HtmlDocument(file.name + " - pycov", body)});
  }
  std::string unplaced;
  for (const auto& note : notes) {
    if (placed.count(&note)) continue;
    const std::string where = note.file.empty() ? "" : fmt::format("{}:{}: ", note.file, note.line);
    unplaced += fmt::format("<tr><td class=\"note {}\">{}{}</td></tr>\n", MarkupEscaped(note.kind),
                            MarkupEscaped(where), MarkupEscaped(note.text));
  }
  if (!unplaced.empty()) unplaced = "<h2>Findings</h2>\n<table>\n" + unplaced + "</table>\n";
  const std::string index =
      fmt::format("<h1>Coverage: {}%</h1>\n{}<table class=\"index\">\n"
                  "<tr><th>Name</th><th>Stmts</th><th>Miss</th><th>Excl</th><th>Cover</th></tr>\n{}"
                  "<tr class=\"total\"><td>TOTAL</td><td>{}</td><td>{}</td><td></td><td>{}%</td></tr>\n</table>\n"
                  "<p>pycov {}</p>\n",
                  DisplayPercent(report.TotalPercent()), unplaced, rows, report.total_statements, report.total_missing,
                  DisplayPercent(report.TotalPercent()), PYCOV_VERSION);
  pages.insert(pages.begin(), {"index.html", HtmlDocument("Coverage report - pycov", index)});
  return pages;
}

Status WriteHtmlReport(const std::string& directory, const std::vector<HtmlPage>& pages) {
  std::error_code ec;
  std::filesystem::create_directories(directory, ec);
  if (ec) return Error{fmt::format("cannot make {}: {}", directory, ec.message())};
  for (const auto& page : pages) {
    const std::string path = directory + "/" + page.name;
    std::ofstream out(path);
    out << page.html;
    out.close();
    if (!out) return Error{"cannot write report to " + path};
  }
  return Ok();
}

}  // namespace pycov
