// The knowledge base of known problems (SPEC §4): one TOML file per entry, kb/PYCnnn-slug.toml,
// loaded and validated as a whole. A malformed entry is an error naming the file, the line and
// the field; nothing is skipped silently.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "result.h"
#include "rules/version_range.h"

namespace pycov::rules {

enum class Severity { kInfo, kWarning, kError };
const char* SeverityName(Severity severity);

/// One condition on an observation: every key must match (kind, event, and other fields).
/// A value lists the alternatives it accepts.
struct Pattern {
  std::map<std::string, std::vector<std::string>> fields;
};

/// A coverage.py setting that handles the problem, from the versions that have it.
struct CoveragePyFix {
  VersionRange versions;
  std::string config;  // e.g. "run.patch contains execv", "run.concurrency contains greenlet"
};

struct Remediation {
  std::string title;
  VersionRange coveragepy;  // the coverage.py versions this advice is for (all when empty)
  std::string pyproject;    // a pyproject.toml snippet
  std::string coveragerc;   // the same as .coveragerc
  std::string text;         // advice that is not a setting
};

struct Reference {
  std::string title;
  std::string url;
};

/// A program that must fire the entry (with the finding at `line` of the program), or must
/// leave it silent.
struct KbTest {
  std::string name;
  std::string program;  // Python source, run as app.py
  bool fires = true;
  int line = 0;         // where the finding points, when it fires
};

struct KbEntry {
  std::string file;  // where it was loaded from
  std::string id;    // PYCnnn: permanent, never reused
  std::string slug;
  std::string title;
  Severity severity = Severity::kWarning;
  std::string since;
  std::string seed;  // the known-problems entry it comes from, if any
  std::vector<Pattern> match_any;
  std::vector<Pattern> match_unless;
  std::vector<CoveragePyFix> fixed_by;
  std::string message;      // a template: {field} is filled from the observation
  std::string pycov_note;   // a template too: what pycov itself did about the problem (optional)
  std::string explanation;  // Markdown
  std::vector<Remediation> remediation;
  std::vector<Reference> references;
  std::vector<KbTest> tests;
};

struct KnowledgeBase {
  std::vector<KbEntry> entries;  // by id

  /// The entry with this id or slug (case-insensitive for ids), or nullptr.
  const KbEntry* Find(const std::string& id_or_slug) const;
};

/// Parses and validates one entry file.
Result<KbEntry> LoadKbEntry(const std::string& path);

/// Loads every *.toml file of the directories, in order (later directories may add entries,
/// never redefine an id or slug). Any invalid file is an error.
Result<KnowledgeBase> LoadKnowledgeBase(const std::vector<std::string>& directories);

}  // namespace pycov::rules
