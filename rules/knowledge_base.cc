#include "knowledge_base.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <regex>
#include <set>

#include <toml++/toml.h>

namespace pycov::rules {

const char* SeverityName(Severity severity) {
  switch (severity) {
    case Severity::kInfo: return "info";
    case Severity::kWarning: return "warning";
    case Severity::kError: return "error";
  }
  return "?";
}

const KbEntry* KnowledgeBase::Find(const std::string& id_or_slug) const {
  std::string upper = id_or_slug;
  std::transform(upper.begin(), upper.end(), upper.begin(), [](unsigned char c) { return char(std::toupper(c)); });
  for (const auto& entry : entries)
    if (entry.id == upper || entry.slug == id_or_slug) return &entry;
  return nullptr;
}

namespace {

// Reads one entry, turning every problem into "file:line: field 'name': what is wrong".
class EntryReader {
 public:
  explicit EntryReader(std::string path) : path_(std::move(path)) {}

  Error Fail(const toml::node* node, const std::string& field, const std::string& problem) const {
    int line = node != nullptr ? int(node->source().begin.line) : 1;
    return Error{path_ + ":" + std::to_string(line) + ": field '" + field + "': " + problem};
  }

  /// Every key of `table` must be one of `known`.
  Status OnlyKnownKeys(const toml::table& table, const std::string& where, std::initializer_list<const char*> known) const {
    for (const auto& [key, node] : table) {
      std::string name(key.str());
      if (std::none_of(known.begin(), known.end(), [&](const char* k) { return name == k; })) {
        std::string list;
        for (const char* k : known) list += (list.empty() ? "" : ", ") + std::string(k);
        return Fail(&node, where.empty() ? name : where + "." + name, "unknown field (known: " + list + ")");
      }
    }
    return Ok();
  }

  Result<std::string> String(const toml::table& table, const std::string& where, const char* key, bool required) const {
    const toml::node* node = table.get(key);
    const std::string field = where.empty() ? key : where + "." + key;
    if (node == nullptr) {
      if (required) return Fail(&table, field, "missing");
      return std::string();
    }
    auto text = node->value<std::string>();
    if (!text) return Fail(node, field, "must be a string");
    if (required && text->empty()) return Fail(node, field, "must not be empty");
    return *text;
  }

  Result<VersionRange> Range(const toml::table& table, const std::string& where, const char* key, bool required) const {
    auto text = String(table, where, key, required);
    if (!text) return text.error();
    auto range = VersionRange::Parse(*text);
    if (!range) return Fail(table.get(key), where + "." + key, range.error().message);
    return *range;
  }

  /// An array of tables; a missing key is an empty array.
  Result<std::vector<const toml::table*>> Tables(const toml::table& table, const std::string& field, const char* key) const {
    std::vector<const toml::table*> tables;
    const toml::node* node = table.get(key);
    if (node == nullptr) return tables;
    const toml::array* array = node->as_array();
    if (array == nullptr) return Fail(node, field, "must be an array of tables");
    for (const toml::node& item : *array) {
      const toml::table* t = item.as_table();
      if (t == nullptr) return Fail(&item, field, "must hold tables only");
      tables.push_back(t);
    }
    return tables;
  }

  Result<Pattern> ReadPattern(const toml::table& table, const std::string& field) const {
    Pattern pattern;
    for (const auto& [key, node] : table) {
      std::string name(key.str());
      std::vector<std::string> accepted;
      auto scalar = [&](const toml::node& value) -> bool {
        if (auto text = value.value<std::string>()) accepted.push_back(*text);
        else if (value.is_boolean()) accepted.push_back(*value.value<bool>() ? "true" : "false");
        else if (value.is_integer()) accepted.push_back(std::to_string(*value.value<int64_t>()));
        else return false;
        return true;
      };
      if (const toml::array* alternatives = node.as_array()) {
        for (const toml::node& value : *alternatives)
          if (!scalar(value)) return Fail(&value, field + "." + name, "alternatives must be strings, numbers or booleans");
        if (accepted.empty()) return Fail(&node, field + "." + name, "must list at least one value");
      } else if (!scalar(node)) {
        return Fail(&node, field + "." + name, "must be a string, number, boolean or a list of them");
      }
      pattern.fields[name] = std::move(accepted);
    }
    if (!pattern.fields.count("kind")) return Fail(&table, field, "a pattern needs 'kind'");
    static const std::set<std::string> kKinds = {"os", "python", "module", "coveragepy", "interpreter", "data"};
    for (const auto& kind : pattern.fields["kind"])
      if (!kKinds.count(kind))
        return Fail(table.get("kind"), field + ".kind",
                    "'" + kind + "' is not an observation kind (os, python, module, coveragepy, interpreter, data)");
    return pattern;
  }

  Result<std::vector<Pattern>> Patterns(const toml::table& match, const char* key, bool required) const {
    const std::string field = std::string("match.") + key;
    auto tables = Tables(match, field, key);
    if (!tables) return tables.error();
    if (required && tables->empty()) return Fail(&match, field, "needs at least one pattern");
    std::vector<Pattern> patterns;
    for (const toml::table* t : *tables) {
      auto pattern = ReadPattern(*t, field);
      if (!pattern) return pattern.error();
      patterns.push_back(std::move(*pattern));
    }
    return patterns;
  }

  const toml::table* SubTable(const toml::table& table, const char* key) const {
    const toml::node* node = table.get(key);
    return node != nullptr ? node->as_table() : nullptr;
  }

  Result<KbEntry> Read(const toml::table& root) const {
    KbEntry entry;
    entry.file = path_;
    if (auto s = OnlyKnownKeys(root, "",
                               {"schema", "id", "slug", "title", "severity", "since", "seed", "match", "coveragepy",
                                "message", "explanation", "remediation", "reference", "test"});
        !s)
      return s.error();
    const toml::node* schema = root.get("schema");
    if (schema == nullptr) return Fail(&root, "schema", "missing");
    if (schema->value<int64_t>() != std::optional<int64_t>(1)) return Fail(schema, "schema", "must be 1");

    auto id = String(root, "", "id", true);
    if (!id) return id.error();
    if (!std::regex_match(*id, std::regex("PYC[0-9]{3}"))) return Fail(root.get("id"), "id", "must look like PYC101");
    entry.id = *id;
    auto slug = String(root, "", "slug", true);
    if (!slug) return slug.error();
    if (!std::regex_match(*slug, std::regex("[a-z0-9]+(-[a-z0-9]+)*")))
      return Fail(root.get("slug"), "slug", "must be lowercase words joined by '-'");
    entry.slug = *slug;
    const std::string expected_name = entry.id + "-" + entry.slug + ".toml";
    if (std::filesystem::path(path_).filename() != expected_name)
      return Fail(root.get("id"), "id", "the file must be named " + expected_name);

    auto title = String(root, "", "title", true);
    if (!title) return title.error();
    entry.title = *title;
    auto severity = String(root, "", "severity", true);
    if (!severity) return severity.error();
    if (*severity == "error") entry.severity = Severity::kError;
    else if (*severity == "warning") entry.severity = Severity::kWarning;
    else if (*severity == "info") entry.severity = Severity::kInfo;
    else return Fail(root.get("severity"), "severity", "must be error, warning or info");
    auto since = String(root, "", "since", true);
    if (!since) return since.error();
    if (!ParseVersion(*since)) return Fail(root.get("since"), "since", "must be a version such as 0.1.0");
    entry.since = *since;
    auto seed = String(root, "", "seed", false);
    if (!seed) return seed.error();
    entry.seed = *seed;

    const toml::table* match = SubTable(root, "match");
    if (match == nullptr) return Fail(root.get("match") ? root.get("match") : &root, "match", "missing table");
    if (auto s = OnlyKnownKeys(*match, "match", {"any", "unless"}); !s) return s.error();
    auto any = Patterns(*match, "any", true);
    if (!any) return any.error();
    entry.match_any = std::move(*any);
    auto unless = Patterns(*match, "unless", false);
    if (!unless) return unless.error();
    entry.match_unless = std::move(*unless);

    if (const toml::table* coveragepy = SubTable(root, "coveragepy")) {
      if (auto s = OnlyKnownKeys(*coveragepy, "coveragepy", {"fixed_by"}); !s) return s.error();
      auto fixes = Tables(*coveragepy, "coveragepy.fixed_by", "fixed_by");
      if (!fixes) return fixes.error();
      for (const toml::table* fix : *fixes) {
        if (auto s = OnlyKnownKeys(*fix, "coveragepy.fixed_by", {"version", "config"}); !s) return s.error();
        auto versions = Range(*fix, "coveragepy.fixed_by", "version", true);
        if (!versions) return versions.error();
        auto config = String(*fix, "coveragepy.fixed_by", "config", false);
        if (!config) return config.error();
        entry.fixed_by.push_back({*versions, *config});
      }
    }

    const toml::table* message = SubTable(root, "message");
    if (message == nullptr) return Fail(&root, "message", "missing table");
    if (auto s = OnlyKnownKeys(*message, "message", {"text", "pycov"}); !s) return s.error();
    auto text = String(*message, "message", "text", true);
    if (!text) return text.error();
    entry.message = *text;
    auto pycov_note = String(*message, "message", "pycov", false);
    if (!pycov_note) return pycov_note.error();
    entry.pycov_note = *pycov_note;

    const toml::table* explanation = SubTable(root, "explanation");
    if (explanation == nullptr) return Fail(&root, "explanation", "missing table");
    if (auto s = OnlyKnownKeys(*explanation, "explanation", {"markdown"}); !s) return s.error();
    auto markdown = String(*explanation, "explanation", "markdown", true);
    if (!markdown) return markdown.error();
    entry.explanation = *markdown;

    auto remediations = Tables(root, "remediation", "remediation");
    if (!remediations) return remediations.error();
    for (const toml::table* r : *remediations) {
      if (auto s = OnlyKnownKeys(*r, "remediation", {"title", "coveragepy", "pyproject", "coveragerc", "text"}); !s)
        return s.error();
      Remediation remediation;
      auto r_title = String(*r, "remediation", "title", true);
      if (!r_title) return r_title.error();
      remediation.title = *r_title;
      auto versions = Range(*r, "remediation", "coveragepy", false);
      if (!versions) return versions.error();
      remediation.coveragepy = *versions;
      for (auto [key, into] : {std::pair{"pyproject", &remediation.pyproject},
                               std::pair{"coveragerc", &remediation.coveragerc}, std::pair{"text", &remediation.text}}) {
        auto value = String(*r, "remediation", key, false);
        if (!value) return value.error();
        *into = *value;
      }
      if (remediation.pyproject.empty() && remediation.coveragerc.empty() && remediation.text.empty())
        return Fail(r, "remediation", "needs pyproject, coveragerc or text");
      entry.remediation.push_back(std::move(remediation));
    }

    auto references = Tables(root, "reference", "reference");
    if (!references) return references.error();
    for (const toml::table* r : *references) {
      if (auto s = OnlyKnownKeys(*r, "reference", {"title", "url"}); !s) return s.error();
      auto url = String(*r, "reference", "url", true);
      if (!url) return url.error();
      if (url->rfind("https://", 0) != 0 && url->rfind("http://", 0) != 0)
        return Fail(r->get("url"), "reference.url", "must be an http(s) address");
      auto r_title = String(*r, "reference", "title", false);
      if (!r_title) return r_title.error();
      entry.references.push_back({*r_title, *url});
    }

    auto tests = Tables(root, "test", "test");
    if (!tests) return tests.error();
    for (const toml::table* t : *tests) {
      if (auto s = OnlyKnownKeys(*t, "test", {"name", "program", "fires", "line"}); !s) return s.error();
      KbTest test;
      auto name = String(*t, "test", "name", true);
      if (!name) return name.error();
      test.name = *name;
      auto program = String(*t, "test", "program", true);
      if (!program) return program.error();
      test.program = *program;
      const toml::node* fires = t->get("fires");
      if (fires == nullptr || !fires->is_boolean()) return Fail(fires ? fires : t, "test.fires", "must be true or false");
      test.fires = *fires->value<bool>();
      const toml::node* line = t->get("line");
      if (test.fires) {
        if (line == nullptr || !line->is_integer() || *line->value<int64_t>() < 1)
          return Fail(line ? line : t, "test.line", "a test that fires needs the line its finding points at");
        test.line = int(*line->value<int64_t>());
      }
      entry.tests.push_back(std::move(test));
    }
    return entry;
  }

 private:
  std::string path_;
};

}  // namespace

Result<KbEntry> LoadKbEntry(const std::string& path) {
  toml::table root;
  // Debian's toml++ is built with exceptions: a syntax error is thrown, and stops here.
  try {
    root = toml::parse_file(path);
  } catch (const toml::parse_error& error) {
    return Error{path + ":" + std::to_string(error.source().begin.line) + ": " + std::string(error.description())};
  }
  return EntryReader(path).Read(root);
}

Result<KnowledgeBase> LoadKnowledgeBase(const std::vector<std::string>& directories) {
  KnowledgeBase kb;
  for (const auto& directory : directories) {
    std::error_code ec;
    if (!std::filesystem::is_directory(directory, ec))
      return Error{directory + ": not a knowledge-base directory"};
    std::vector<std::string> files;
    for (const auto& item : std::filesystem::directory_iterator(directory, ec))
      if (item.path().extension() == ".toml") files.push_back(item.path().string());
    std::sort(files.begin(), files.end());
    for (const auto& file : files) {
      auto entry = LoadKbEntry(file);
      if (!entry) return entry.error();
      for (const auto& other : kb.entries) {
        if (other.id == entry->id) return Error{file + ": id " + entry->id + " is already used by " + other.file};
        if (other.slug == entry->slug)
          return Error{file + ": slug " + entry->slug + " is already used by " + other.file};
      }
      kb.entries.push_back(std::move(*entry));
    }
  }
  std::sort(kb.entries.begin(), kb.entries.end(), [](const KbEntry& a, const KbEntry& b) { return a.id < b.id; });
  return kb;
}

}  // namespace pycov::rules
