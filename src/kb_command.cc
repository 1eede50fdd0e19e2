#include "kb_command.h"

#include <fmt/format.h>

#include "exit_codes.h"
#include "rules/knowledge_base.h"

namespace pycov {
namespace {

void PrintError(const std::string& message) { fmt::print(stderr, "pycov: error: {}\n", message); }

constexpr const char* kKbUsage =
    "usage:\n"
    "  pycov kb list [--kb DIR]...             every known problem, a line each\n"
    "  pycov kb show ID-OR-SLUG [--kb DIR]...  one problem: explanation, fixes, references\n"
    "  pycov kb check [DIR]                    validate a knowledge base (default: pycov's own)\n"
    "  pycov explain ID-OR-SLUG                the same as kb show\n"
    "--kb DIR adds a directory of your own entries to pycov's.\n";

struct KbArguments {
  std::vector<std::string> positional;
  std::vector<std::string> directories;
};

Result<KbArguments> SplitArguments(const std::vector<std::string>& args) {
  KbArguments parsed;
  parsed.directories.push_back(BuiltInKnowledgeBaseDirectory());
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--kb") {
      if (i + 1 >= args.size()) return Error{"--kb needs a directory"};
      parsed.directories.push_back(args[++i]);
    } else if (args[i].rfind("--kb=", 0) == 0) {
      parsed.directories.push_back(args[i].substr(5));
    } else if (!args[i].empty() && args[i][0] == '-') {
      return Error{"unknown option " + args[i] + "\n" + kKbUsage};
    } else {
      parsed.positional.push_back(args[i]);
    }
  }
  return parsed;
}

std::string Indent(const std::string& text, const std::string& prefix) {
  std::string out;
  size_t at = 0;
  while (at < text.size()) {
    size_t end = text.find('\n', at);
    std::string line = text.substr(at, end == std::string::npos ? std::string::npos : end - at);
    out += line.empty() ? "\n" : prefix + line + "\n";
    if (end == std::string::npos) break;
    at = end + 1;
  }
  return out;
}

void PrintEntry(const rules::KbEntry& entry) {
  fmt::print("{} {} ({})\n{}\n\n", entry.id, entry.slug, rules::SeverityName(entry.severity), entry.title);
  std::string explanation = entry.explanation;
  while (!explanation.empty() && explanation.back() == '\n') explanation.pop_back();
  fmt::print("{}\n", explanation);
  if (!entry.fixed_by.empty()) {
    fmt::print("\ncoverage.py handles it:\n");
    for (const auto& fix : entry.fixed_by) fmt::print("  coverage.py {}: {}\n", fix.versions.text(), fix.config);
  }
  for (const auto& remedy : entry.remediation) {
    fmt::print("\nhelp: {}{}\n", remedy.title,
               remedy.coveragepy.empty() ? "" : " [coverage.py " + remedy.coveragepy.text() + "]");
    if (!remedy.pyproject.empty()) fmt::print("  pyproject.toml:\n{}", Indent(remedy.pyproject, "    "));
    if (!remedy.coveragerc.empty()) fmt::print("  .coveragerc:\n{}", Indent(remedy.coveragerc, "    "));
    if (!remedy.text.empty()) fmt::print("{}", Indent(remedy.text, "  "));
  }
  if (!entry.references.empty()) {
    fmt::print("\nreferences:\n");
    for (const auto& reference : entry.references)
      fmt::print("  {}{}\n", reference.title.empty() ? "" : reference.title + ": ", reference.url);
  }
  if (!entry.seed.empty()) fmt::print("\nfrom coverage.py's known problems: {}\n", entry.seed);
}

int Show(const KbArguments& parsed) {
  if (parsed.positional.size() != 1) {
    PrintError(std::string("name one ID or slug\n") + kKbUsage);
    return kExitUsage;
  }
  auto kb = rules::LoadKnowledgeBase(parsed.directories);
  if (!kb) {
    PrintError(kb.error().message);
    return kExitUsage;
  }
  const rules::KbEntry* entry = kb->Find(parsed.positional[0]);
  if (entry == nullptr) {
    PrintError("no known problem '" + parsed.positional[0] + "' (see pycov kb list)");
    return kExitUsage;
  }
  PrintEntry(*entry);
  return 0;
}

}  // namespace

std::string BuiltInKnowledgeBaseDirectory() { return PYCOV_KB_DIR; }

int KbCommand(const std::vector<std::string>& args) {
  if (args.empty() || args[0] == "-h" || args[0] == "--help") {
    fmt::print(args.empty() ? stderr : stdout, "{}", kKbUsage);
    return args.empty() ? kExitUsage : 0;
  }
  const std::string verb = args[0];
  auto parsed = SplitArguments(std::vector<std::string>(args.begin() + 1, args.end()));
  if (!parsed) {
    PrintError(parsed.error().message);
    return kExitUsage;
  }
  if (verb == "list") {
    auto kb = rules::LoadKnowledgeBase(parsed->directories);
    if (!kb) {
      PrintError(kb.error().message);
      return kExitUsage;
    }
    for (const auto& entry : kb->entries)
      fmt::print("{}  {:<30} {:<8} {}\n", entry.id, entry.slug, rules::SeverityName(entry.severity), entry.title);
    return 0;
  }
  if (verb == "show") return Show(*parsed);
  if (verb == "check") {
    // `check DIR` validates that directory alone; with no DIR, pycov's own entries and any --kb.
    std::vector<std::string> directories = parsed->directories;
    if (parsed->positional.size() > 1) {
      PrintError(std::string("check takes one directory\n") + kKbUsage);
      return kExitUsage;
    }
    if (parsed->positional.size() == 1) directories = {parsed->positional[0]};
    auto kb = rules::LoadKnowledgeBase(directories);
    if (!kb) {
      PrintError(kb.error().message);
      return kExitFindings;
    }
    size_t tests = 0;
    for (const auto& entry : kb->entries) tests += entry.tests.size();
    fmt::print("{} entries, {} test programs: valid\n", kb->entries.size(), tests);
    return 0;
  }
  PrintError("unknown kb command '" + verb + "'\n" + kKbUsage);
  return kExitUsage;
}

int ExplainCommand(const std::vector<std::string>& args) {
  auto parsed = SplitArguments(args);
  if (!parsed) {
    PrintError(parsed.error().message);
    return kExitUsage;
  }
  return Show(*parsed);
}

}  // namespace pycov
