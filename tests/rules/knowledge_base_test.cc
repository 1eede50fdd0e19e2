#include "rules/knowledge_base.h"

#include <gtest/gtest.h>

#include "rules/rule_engine.h"
#include "rules/version_range.h"
#include "test_dir.h"

namespace pycov::rules {
namespace {

using pycov::testing::TestDir;

// A valid entry; tests replace one line to make it invalid.
std::string ValidEntry(const std::string& id = "PYC999", const std::string& slug = "test-entry") {
  return "schema = 1\n"
         "id = \"" + id + "\"\n"
         "slug = \"" + slug + "\"\n"
         "title = \"A test entry\"\n"
         "severity = \"warning\"\n"
         "since = \"0.1.0\"\n"
         "[match]\n"
         "any = [ { kind = \"os\", event = \"exec\", replaces = \"python\" } ]\n"
         "[message]\n"
         "text = \"pid {pid} at {site}\"\n"
         "[explanation]\n"
         "markdown = \"Why.\"\n";
}

std::string Replace(std::string text, const std::string& from, const std::string& to) {
  size_t at = text.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  return text.replace(at, from.size(), to);
}

Error LoadError(const std::string& text, const std::string& name = "PYC999-test-entry.toml") {
  TestDir dir;
  auto entry = LoadKbEntry(dir.Write(name, text));
  EXPECT_FALSE(entry.ok());
  return entry.ok() ? Error{} : entry.error();
}

TEST(KnowledgeBase, TheShippedEntriesAreValidAndHaveTheSpecIdsAndSlugs) {
  auto kb = LoadKnowledgeBase({PYCOV_KB_DIR});
  ASSERT_TRUE(kb.ok()) << kb.error().message;
  const std::vector<std::pair<std::string, std::string>> expected = {
      {"PYC101", "exec-replaces-process"},   {"PYC102", "multiprocessing-children"},
      {"PYC103", "python-subprocess-unmeasured"}, {"PYC104", "fork-without-exec"},
      {"PYC105", "os-exit-skips-save"},      {"PYC106", "killed-by-signal"},
      {"PYC107", "environment-scrubbed"},    {"PYC108", "orphaned-process"},
      {"PYC109", "isolated-interpreter"},    {"PYC201", "raw-thread"},
      {"PYC202", "native-thread"},           {"PYC203", "greenlet-switching"},
      {"PYC301", "foreign-trace-function"},  {"PYC302", "trace-function-fiddling"},
      {"PYC303", "setprofile-blind-spot"},   {"PYC401", "no-source"},
      {"PYC901", "python25-bug-1569356"}};
  ASSERT_EQ(kb->entries.size(), expected.size());
  for (size_t i = 0; i < expected.size(); ++i) {
    EXPECT_EQ(kb->entries[i].id, expected[i].first);
    EXPECT_EQ(kb->entries[i].slug, expected[i].second);
    EXPECT_FALSE(kb->entries[i].remediation.empty()) << kb->entries[i].id;
    EXPECT_FALSE(kb->entries[i].references.empty()) << kb->entries[i].id;
    // Every entry has a program that must stay silent; all but PYC901 one that must fire.
    bool silent = false, fires = false;
    for (const auto& test : kb->entries[i].tests) (test.fires ? fires : silent) = true;
    EXPECT_TRUE(silent) << kb->entries[i].id;
    EXPECT_EQ(fires, kb->entries[i].id != "PYC901") << kb->entries[i].id;
  }
  EXPECT_EQ(kb->Find("pyc105")->slug, "os-exit-skips-save");
  EXPECT_EQ(kb->Find("raw-thread")->id, "PYC201");
  EXPECT_EQ(kb->Find("nothing"), nullptr);
}

TEST(KnowledgeBase, AValidEntryLoads) {
  TestDir dir;
  auto entry = LoadKbEntry(dir.Write("PYC999-test-entry.toml", ValidEntry()));
  ASSERT_TRUE(entry.ok()) << entry.error().message;
  EXPECT_EQ(entry->severity, Severity::kWarning);
  ASSERT_EQ(entry->match_any.size(), 1u);
  EXPECT_EQ(entry->match_any[0].fields.at("replaces"), std::vector<std::string>{"python"});
}

TEST(KnowledgeBase, ErrorsNameFileLineAndField) {
  auto bad_severity = LoadError(Replace(ValidEntry(), "severity = \"warning\"", "severity = \"fatal\""));
  EXPECT_NE(bad_severity.message.find("PYC999-test-entry.toml:5: field 'severity': must be error, warning or info"),
            std::string::npos)
      << bad_severity.message;
  auto unknown = LoadError("colour = \"red\"\n" + ValidEntry());
  EXPECT_NE(unknown.message.find(":1: field 'colour': unknown field"), std::string::npos) << unknown.message;
  auto unknown_nested = LoadError(ValidEntry() + "colour = \"red\"\n");
  EXPECT_NE(unknown_nested.message.find(":13: field 'explanation.colour': unknown field"), std::string::npos)
      << unknown_nested.message;
  auto no_message = LoadError(Replace(ValidEntry(), "[message]\ntext = \"pid {pid} at {site}\"\n", ""));
  EXPECT_NE(no_message.message.find("field 'message': missing"), std::string::npos) << no_message.message;
  auto bad_kind = LoadError(Replace(ValidEntry(), "kind = \"os\"", "kind = \"kernel\""));
  EXPECT_NE(bad_kind.message.find(":8: field 'match.any.kind': 'kernel' is not an observation kind"),
            std::string::npos)
      << bad_kind.message;
  auto wrong_name = LoadError(ValidEntry(), "PYC998-other.toml");
  EXPECT_NE(wrong_name.message.find("must be named PYC999-test-entry.toml"), std::string::npos) << wrong_name.message;
  auto syntax = LoadError(Replace(ValidEntry(), "title = \"A test entry\"", "title = \"unterminated"));
  EXPECT_NE(syntax.message.find("PYC999-test-entry.toml:4"), std::string::npos) << syntax.message;
  auto bad_range = LoadError(ValidEntry() + "[coveragepy]\nfixed_by = [ { version = \"7.10\", config = \"x\" } ]\n");
  EXPECT_NE(bad_range.message.find("field 'coveragepy.fixed_by.version'"), std::string::npos) << bad_range.message;
  auto test_without_line =
      LoadError(ValidEntry() + "[[test]]\nname = \"t\"\nfires = true\nprogram = \"print(1)\"\n");
  EXPECT_NE(test_without_line.message.find("field 'test.line'"), std::string::npos) << test_without_line.message;
}

TEST(KnowledgeBase, IdsAndSlugsAreUniqueAcrossDirectories) {
  TestDir first, second;
  first.Write("PYC999-test-entry.toml", ValidEntry());
  second.Write("PYC999-other-slug.toml", ValidEntry("PYC999", "other-slug"));
  auto kb = LoadKnowledgeBase({first.path(), second.path()});
  ASSERT_FALSE(kb.ok());
  EXPECT_NE(kb.error().message.find("id PYC999 is already used by"), std::string::npos) << kb.error().message;
  TestDir third;
  third.Write("PYC998-test-entry.toml", ValidEntry("PYC998", "test-entry"));
  kb = LoadKnowledgeBase({first.path(), third.path()});
  ASSERT_FALSE(kb.ok());
  EXPECT_NE(kb.error().message.find("slug test-entry is already used"), std::string::npos) << kb.error().message;
}

TEST(VersionRanges, CompareNumberByNumber) {
  auto range = VersionRange::Parse(">=7.10");
  ASSERT_TRUE(range.ok());
  EXPECT_TRUE(range->Contains(*ParseVersion("7.10.1")));
  EXPECT_FALSE(range->Contains(*ParseVersion("7.9")));
  EXPECT_FALSE(range->Contains(*ParseVersion("6.5.0")));
  auto window = VersionRange::Parse(">=2.5, <2.6");
  ASSERT_TRUE(window.ok());
  EXPECT_TRUE(window->Contains(*ParseVersion("2.5.4")));
  EXPECT_FALSE(window->Contains(*ParseVersion("2.6")));
  EXPECT_TRUE(VersionRange::Parse("")->Contains(*ParseVersion("1")));
  EXPECT_FALSE(VersionRange::Parse("7.10").ok());
  EXPECT_EQ(*ParseVersion("7.0b1"), (Version{7, 0}));
}

TEST(RuleEngine, MatchesAnyPatternUnlessTheRunSaysOtherwise) {
  TestDir dir;
  dir.Write("PYC999-test-entry.toml",
            ValidEntry() + "");
  dir.Write("PYC998-with-unless.toml",
            Replace(Replace(ValidEntry("PYC998", "with-unless"), "replaces = \"python\" } ]",
                            "replaces = \"python\" } ]\nunless = [ { kind = \"coveragepy\", event = \"config\", patch = [\"execv\", \"subprocess\"] } ]"),
                    "{pid} at {site}", "{pid} {{literal}} {unknown}"));
  auto kb = LoadKnowledgeBase({dir.path()});
  ASSERT_TRUE(kb.ok()) << kb.error().message;
  Observation exec{"os", "exec", {{"replaces", "python"}, {"pid", "42"}, {"site", "app.py:3"}}};
  Observation other{"os", "exec", {{"replaces", "other"}, {"pid", "43"}}};
  auto matches = MatchObservations(*kb, {exec, other});
  ASSERT_EQ(matches.size(), 2u);  // both entries, the first observation only
  EXPECT_EQ(matches[0].entry->id, "PYC998");
  EXPECT_EQ(FillTemplate(matches[0].entry->message, *matches[0].observation), "pid 42 {literal} {unknown}");
  EXPECT_EQ(FillTemplate(matches[1].entry->message, *matches[1].observation), "pid 42 at app.py:3");

  EXPECT_EQ(matches[0].handled_by, nullptr);

  // The user's config handles PYC998: it still matches, saying what handles it.
  std::vector<Observation> run = {exec, Observation{"coveragepy", "config", {{"patch", "execv"}}}};
  matches = MatchObservations(*kb, run);
  ASSERT_EQ(matches.size(), 2u);
  EXPECT_EQ(matches[0].entry->id, "PYC998");
  ASSERT_NE(matches[0].handled_by, nullptr);
  EXPECT_EQ(matches[0].handled_by->fields.at("patch"), "execv");
  EXPECT_EQ(matches[1].handled_by, nullptr);
}

}  // namespace
}  // namespace pycov::rules
