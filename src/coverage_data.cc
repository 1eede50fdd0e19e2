#include "coverage_data.h"

#include <sqlite3.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <memory>

#include <nlohmann/json.hpp>

#include "numbits.h"

namespace pycov {
namespace {

// The schema of coverage.py 6.x/7.x data files (coverage/sqldata.py, SCHEMA_VERSION 7).
constexpr int kSchemaVersion = 7;
constexpr const char* kSchema = R"sql(
CREATE TABLE coverage_schema (version integer);
CREATE TABLE meta (key text, value text, unique (key));
CREATE TABLE file (id integer primary key, path text, unique (path));
CREATE TABLE context (id integer primary key, context text, unique (context));
CREATE TABLE line_bits (
    file_id integer, context_id integer, numbits blob,
    foreign key (file_id) references file (id),
    foreign key (context_id) references context (id),
    unique (file_id, context_id)
);
CREATE TABLE arc (
    file_id integer, context_id integer, fromno integer, tono integer,
    foreign key (file_id) references file (id),
    foreign key (context_id) references context (id),
    unique (file_id, context_id, fromno, tono)
);
CREATE TABLE tracer (file_id integer primary key, tracer text, foreign key (file_id) references file (id));
)sql";

// pycov's own tables, beside coverage.py's (which it never reads): which processes and kinds of
// thread ran each line.
constexpr const char* kOriginSchema = R"sql(
CREATE TABLE pycov_process (
    id integer primary key, pid integer, ppid integer, exec_generation integer, fork_depth integer,
    start_unix_ns integer, argv text);
CREATE TABLE pycov_line_origin (
    process_id integer, file_id integer, thread_kind text, numbits blob,
    foreign key (process_id) references pycov_process (id), foreign key (file_id) references file (id));
)sql";

struct DbCloser {
  void operator()(sqlite3* db) const { sqlite3_close(db); }
};
using Db = std::unique_ptr<sqlite3, DbCloser>;

struct StmtFinalizer {
  void operator()(sqlite3_stmt* s) const { sqlite3_finalize(s); }
};
using Stmt = std::unique_ptr<sqlite3_stmt, StmtFinalizer>;

Error DbError(const std::string& path, sqlite3* db, const std::string& doing) {
  return Error{path + ": " + doing + ": " + (db != nullptr ? sqlite3_errmsg(db) : "out of memory")};
}

Result<Db> OpenDb(const std::string& path, int flags) {
  sqlite3* raw = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &raw, flags, nullptr);
  Db db(raw);
  if (rc != SQLITE_OK) return DbError(path, raw, "cannot open data file");
  sqlite3_busy_timeout(raw, 5000);
  return db;
}

Status Exec(sqlite3* db, const std::string& path, const char* sql) {
  char* message = nullptr;
  if (sqlite3_exec(db, sql, nullptr, nullptr, &message) != SQLITE_OK) {
    std::string text = message != nullptr ? message : "unknown error";
    sqlite3_free(message);
    return Error{path + ": " + text};
  }
  return Ok();
}

Result<Stmt> Prepare(sqlite3* db, const std::string& path, const char* sql) {
  sqlite3_stmt* raw = nullptr;
  if (sqlite3_prepare_v2(db, sql, -1, &raw, nullptr) != SQLITE_OK) return DbError(path, db, "bad data file");
  return Stmt(raw);
}

std::string NowText() {
  std::time_t now = std::time(nullptr);
  char text[32];
  std::strftime(text, sizeof(text), "%Y-%m-%d %H:%M:%S", std::localtime(&now));
  return text;
}

// argv is kept as a JSON array, readable by any SQLite client.
std::string ArgvJson(const std::vector<std::string>& argv) {
  return nlohmann::json(argv).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::vector<std::string> ArgvFromJson(const std::string& text) {
  auto parsed = nlohmann::json::parse(text, nullptr, false);
  if (!parsed.is_array()) return {};
  std::vector<std::string> argv;
  for (const auto& item : parsed)
    if (item.is_string()) argv.push_back(item.get<std::string>());
  return argv;
}

Status WriteOrigins(sqlite3* db, const std::string& path, const CoverageData& data) {
  const LineOrigins& origins = data.origins;
  if (origins.processes.empty()) return Ok();
  if (auto s = Exec(db, path, kOriginSchema); !s) return s;
  auto process = Prepare(db, path,
                         "INSERT INTO pycov_process (id, pid, ppid, exec_generation, fork_depth, start_unix_ns, argv) "
                         "VALUES (?, ?, ?, ?, ?, ?, ?)");
  auto origin = Prepare(db, path,
                        "INSERT INTO pycov_line_origin (process_id, file_id, thread_kind, numbits) "
                        "VALUES (?, (SELECT id FROM file WHERE path = ?), ?, ?)");
  if (!process) return process.error();
  if (!origin) return origin.error();
  for (size_t i = 0; i < origins.processes.size(); ++i) {
    const ProcessOrigin& p = origins.processes[i];
    const std::string argv = ArgvJson(p.argv);
    sqlite3_reset(process->get());
    sqlite3_bind_int64(process->get(), 1, int64_t(i + 1));
    sqlite3_bind_int(process->get(), 2, p.pid);
    sqlite3_bind_int(process->get(), 3, p.ppid);
    sqlite3_bind_int(process->get(), 4, int(p.exec_generation));
    sqlite3_bind_int(process->get(), 5, int(p.fork_depth));
    sqlite3_bind_int64(process->get(), 6, p.start_unix_ns);
    sqlite3_bind_text(process->get(), 7, argv.c_str(), -1, SQLITE_TRANSIENT);
    if (sqlite3_step(process->get()) != SQLITE_DONE) return DbError(path, db, "writing processes");
  }
  for (const auto& [key, lines] : origins.lines) {
    if (key.thread_kind >= kThreadKindCount) continue;
    std::string bits = NumsToNumbits(lines);
    sqlite3_reset(origin->get());
    sqlite3_bind_int64(origin->get(), 1, int64_t(key.process + 1));
    sqlite3_bind_text(origin->get(), 2, key.path.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(origin->get(), 3, kThreadKindNames[key.thread_kind], -1, SQLITE_STATIC);
    sqlite3_bind_blob(origin->get(), 4, bits.data(), int(bits.size()), SQLITE_TRANSIENT);
    if (sqlite3_step(origin->get()) != SQLITE_DONE) return DbError(path, db, "writing line origins");
  }
  return Ok();
}

Status ReadOrigins(sqlite3* db, const std::string& path, CoverageData& data) {
  // Data files written by coverage.py (or another tool) have no origins: that is not an error.
  sqlite3_stmt* probe = nullptr;
  bool present = sqlite3_prepare_v2(db, "SELECT 1 FROM pycov_process LIMIT 1", -1, &probe, nullptr) == SQLITE_OK;
  sqlite3_finalize(probe);
  if (!present) return Ok();
  auto processes = Prepare(db, path,
                           "SELECT id, pid, ppid, exec_generation, fork_depth, start_unix_ns, argv FROM pycov_process "
                           "ORDER BY id");
  if (!processes) return processes.error();
  std::map<int64_t, size_t> index_of;
  int rc;
  while ((rc = sqlite3_step(processes->get())) == SQLITE_ROW) {
    sqlite3_stmt* row = processes->get();
    ProcessOrigin p;
    p.pid = sqlite3_column_int(row, 1);
    p.ppid = sqlite3_column_int(row, 2);
    p.exec_generation = uint32_t(sqlite3_column_int(row, 3));
    p.fork_depth = uint32_t(sqlite3_column_int(row, 4));
    p.start_unix_ns = sqlite3_column_int64(row, 5);
    const unsigned char* argv = sqlite3_column_text(row, 6);
    p.argv = ArgvFromJson(argv != nullptr ? reinterpret_cast<const char*>(argv) : "");
    index_of[sqlite3_column_int64(row, 0)] = data.origins.processes.size();
    data.origins.processes.push_back(std::move(p));
  }
  if (rc != SQLITE_DONE) return DbError(path, db, "reading processes");
  auto origins = Prepare(db, path,
                         "SELECT o.process_id, f.path, o.thread_kind, o.numbits FROM pycov_line_origin o "
                         "JOIN file f ON f.id = o.file_id");
  if (!origins) return origins.error();
  while ((rc = sqlite3_step(origins->get())) == SQLITE_ROW) {
    sqlite3_stmt* row = origins->get();
    auto process = index_of.find(sqlite3_column_int64(row, 0));
    if (process == index_of.end()) return Error{path + ": line origin of an unknown process"};
    const unsigned char* file = sqlite3_column_text(row, 1);
    const unsigned char* kind_text = sqlite3_column_text(row, 2);
    uint32_t kind = kThreadKindCount;
    for (uint32_t k = 0; k < kThreadKindCount && kind_text != nullptr; ++k)
      if (std::strcmp(reinterpret_cast<const char*>(kind_text), kThreadKindNames[k]) == 0) kind = k;
    if (kind == kThreadKindCount || file == nullptr) return Error{path + ": malformed line origin"};
    const void* blob = sqlite3_column_blob(row, 3);
    auto nums = NumbitsToNums(std::string(static_cast<const char*>(blob), size_t(sqlite3_column_bytes(row, 3))));
    auto& lines = data.origins.lines[{process->second, kind, reinterpret_cast<const char*>(file)}];
    if (!lines.empty()) nums.insert(lines.begin(), lines.end());  // two rows for one key: merged
    lines.assign(nums.begin(), nums.end());
  }
  if (rc != SQLITE_DONE) return DbError(path, db, "reading line origins");
  return Ok();
}

Status WriteContents(sqlite3* db, const std::string& path, const CoverageData& data, const std::string& argv_text) {
  if (auto s = Exec(db, path, "PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF; BEGIN;"); !s) return s;
  if (auto s = Exec(db, path, kSchema); !s) return s;
  auto schema = Prepare(db, path, "INSERT INTO coverage_schema (version) VALUES (?)");
  if (!schema) return schema.error();
  sqlite3_bind_int(schema->get(), 1, kSchemaVersion);
  if (sqlite3_step(schema->get()) != SQLITE_DONE) return DbError(path, db, "writing schema");

  auto meta = Prepare(db, path, "INSERT INTO meta (key, value) VALUES (?, ?)");
  if (!meta) return meta.error();
  const std::pair<std::string, std::string> rows[] = {
      {"sys_argv", argv_text},
      {"version", "pycov-" PYCOV_VERSION},
      {"when", NowText()},
      {"has_arcs", data.has_arcs ? "1" : "0"},
  };
  for (const auto& [key, value] : rows) {
    sqlite3_reset(meta->get());
    sqlite3_bind_text(meta->get(), 1, key.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(meta->get(), 2, value.c_str(), -1, SQLITE_TRANSIENT);
    if (sqlite3_step(meta->get()) != SQLITE_DONE) return DbError(path, db, "writing meta");
  }
  if (auto s = Exec(db, path, "INSERT INTO context (id, context) VALUES (1, '')"); !s) return s;

  auto file = Prepare(db, path, "INSERT INTO file (id, path) VALUES (?, ?)");
  auto lines = Prepare(db, path, "INSERT INTO line_bits (file_id, context_id, numbits) VALUES (?, 1, ?)");
  auto arc = Prepare(db, path, "INSERT INTO arc (file_id, context_id, fromno, tono) VALUES (?, 1, ?, ?)");
  if (!file) return file.error();
  if (!lines) return lines.error();
  if (!arc) return arc.error();
  int64_t id = 0;
  for (const auto& [file_path, coverage] : data.files) {
    ++id;
    sqlite3_reset(file->get());
    sqlite3_bind_int64(file->get(), 1, id);
    sqlite3_bind_text(file->get(), 2, file_path.c_str(), -1, SQLITE_TRANSIENT);
    if (sqlite3_step(file->get()) != SQLITE_DONE) return DbError(path, db, "writing files");
    if (data.has_arcs) {
      for (const auto& [from, to] : coverage.arcs) {
        sqlite3_reset(arc->get());
        sqlite3_bind_int64(arc->get(), 1, id);
        sqlite3_bind_int(arc->get(), 2, from);
        sqlite3_bind_int(arc->get(), 3, to);
        if (sqlite3_step(arc->get()) != SQLITE_DONE) return DbError(path, db, "writing arcs");
      }
    } else if (!coverage.lines.empty()) {  // a file with none is listed only, as coverage.py lists it
      std::string bits = NumsToNumbits(coverage.lines);
      sqlite3_reset(lines->get());
      sqlite3_bind_int64(lines->get(), 1, id);
      sqlite3_bind_blob(lines->get(), 2, bits.data(), int(bits.size()), SQLITE_TRANSIENT);
      if (sqlite3_step(lines->get()) != SQLITE_DONE) return DbError(path, db, "writing lines");
    }
  }
  if (auto s = WriteOrigins(db, path, data); !s) return s;
  return Exec(db, path, "COMMIT;");
}

}  // namespace

std::set<int32_t> CoverageData::ExecutedLines(const std::string& path) const {
  auto it = files.find(path);
  if (it == files.end()) return {};
  if (!has_arcs) return it->second.lines;
  std::set<int32_t> lines;
  for (const auto& [from, to] : it->second.arcs) {
    if (from > 0) lines.insert(from);
    if (to > 0) lines.insert(to);
  }
  return lines;
}

Status WriteDataFile(const std::string& path, const CoverageData& data, const std::string& argv_text) {
  const std::string temporary = path + ".pycov-" + std::to_string(getpid()) + ".tmp";
  std::remove(temporary.c_str());
  Status written = [&]() -> Status {
    auto db = OpenDb(temporary, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
    if (!db) return db.error();
    return WriteContents(db->get(), path, data, argv_text);
  }();
  if (!written) {
    std::remove(temporary.c_str());
    return written;
  }
  if (std::rename(temporary.c_str(), path.c_str()) != 0) {
    int saved = errno;
    std::remove(temporary.c_str());
    return Error{path + ": cannot write data file: " + std::strerror(saved)};
  }
  return Ok();
}

namespace {

// Opens a data file for reading, once it has said it is one of coverage.py's schema.
Result<Db> OpenDataFile(const std::string& path) {
  if (access(path.c_str(), R_OK) != 0)
    return Error{path + ": cannot read data file: " + std::strerror(errno)};
  auto db = OpenDb(path, SQLITE_OPEN_READONLY);
  if (!db) return db.error();
  sqlite3* raw = db->get();
  auto version = Prepare(raw, path, "SELECT version FROM coverage_schema");
  if (!version) return Error{path + ": not a coverage data file (" + sqlite3_errmsg(raw) + ")"};
  if (sqlite3_step(version->get()) != SQLITE_ROW)
    return Error{path + ": not a coverage data file (no schema version)"};
  int schema = sqlite3_column_int(version->get(), 0);
  if (schema != kSchemaVersion)
    return Error{path + ": coverage data schema version " + std::to_string(schema) + ", expected " +
                 std::to_string(kSchemaVersion)};
  return db;
}

}  // namespace

Result<CoverageData> ReadDataFile(const std::string& path) {
  auto db = OpenDataFile(path);
  if (!db) return db.error();
  sqlite3* raw = db->get();

  CoverageData data;
  auto meta = Prepare(raw, path, "SELECT value FROM meta WHERE key = 'has_arcs'");
  if (!meta) return meta.error();
  if (sqlite3_step(meta->get()) == SQLITE_ROW) {
    const unsigned char* text = sqlite3_column_text(meta->get(), 0);
    data.has_arcs = text != nullptr && std::atoi(reinterpret_cast<const char*>(text)) != 0;
  }
  std::map<int64_t, std::string> paths;
  auto files = Prepare(raw, path, "SELECT id, path FROM file");
  if (!files) return files.error();
  int rc;
  while ((rc = sqlite3_step(files->get())) == SQLITE_ROW) {
    const unsigned char* text = sqlite3_column_text(files->get(), 1);
    std::string file_path = text != nullptr ? reinterpret_cast<const char*>(text) : "";
    paths[sqlite3_column_int64(files->get(), 0)] = file_path;
    data.files[file_path];
  }
  if (rc != SQLITE_DONE) return DbError(path, raw, "reading files");

  auto lines = Prepare(raw, path, "SELECT file_id, numbits FROM line_bits");
  if (!lines) return lines.error();
  while ((rc = sqlite3_step(lines->get())) == SQLITE_ROW) {
    auto it = paths.find(sqlite3_column_int64(lines->get(), 0));
    if (it == paths.end()) return Error{path + ": line_bits row for an unknown file"};
    const void* blob = sqlite3_column_blob(lines->get(), 1);
    int size = sqlite3_column_bytes(lines->get(), 1);
    auto nums = NumbitsToNums(std::string(static_cast<const char*>(blob), size_t(size)));
    data.files[it->second].lines.insert(nums.begin(), nums.end());
  }
  if (rc != SQLITE_DONE) return DbError(path, raw, "reading lines");

  auto arcs = Prepare(raw, path, "SELECT file_id, fromno, tono FROM arc");
  if (!arcs) return arcs.error();
  while ((rc = sqlite3_step(arcs->get())) == SQLITE_ROW) {
    auto it = paths.find(sqlite3_column_int64(arcs->get(), 0));
    if (it == paths.end()) return Error{path + ": arc row for an unknown file"};
    data.files[it->second].arcs.insert({sqlite3_column_int(arcs->get(), 1), sqlite3_column_int(arcs->get(), 2)});
  }
  if (rc != SQLITE_DONE) return DbError(path, raw, "reading arcs");
  if (auto read = ReadOrigins(raw, path, data); !read) return read.error();
  return data;
}

Status CheckReplaceableDataFile(const std::string& path) {
  if (access(path.c_str(), F_OK) != 0) return Ok();
  // What it holds is not read: a large data file from an earlier run took pycov tens of
  // milliseconds to read before every run (3 MB: 50 ms).
  auto existing = OpenDataFile(path);
  if (!existing)
    return Error{existing.error().message + "; it was left as it is: remove it or choose another --data-file"};
  return Ok();
}

}  // namespace pycov
