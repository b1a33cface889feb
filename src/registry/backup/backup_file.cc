#include "src/registry/backup/backup_file.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <unistd.h>

#include <cerrno>
#include <map>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "src/base/files.h"
#include "src/base/sha256.h"
#include "src/base/status_macros.h"
#include "src/registry/sqlite/sqlite_db.h"

namespace spatial::registry::backup {
namespace {

using sqlite::Exec;
using sqlite::SqliteStatus;
using sqlite::Stmt;

// "SPDB": a spatial-deploy backup (the registry itself is "SPDR").
constexpr int32_t kBackupApplicationId = 0x53504442;

constexpr const char* kSchema = R"sql(
CREATE TABLE backup_info (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE backup_registry (
  kind TEXT NOT NULL, sha256 TEXT NOT NULL, size INTEGER NOT NULL,
  data BLOB NOT NULL);
CREATE TABLE backup_blobs (
  sha256 TEXT PRIMARY KEY, size INTEGER NOT NULL, data BLOB);
)sql";

std::string ColumnBytes(sqlite3_stmt* s, int col) {
  const void* p = sqlite3_column_blob(s, col);
  int n = sqlite3_column_bytes(s, col);
  return p ? std::string(static_cast<const char*>(p), static_cast<size_t>(n))
           : std::string();
}

// Runs `sql` (one statement with ?1 = text, ?2 = int, ?3 = blob).
absl::Status InsertBlobRow(sqlite3* db, const char* sql, const std::string& a,
                           int64_t b, const std::string* data) {
  sqlite3_stmt* s = nullptr;
  int rc = sqlite3_prepare_v2(db, sql, -1, &s, nullptr);
  if (rc != SQLITE_OK) return SqliteStatus(db, rc, "backup file");
  sqlite3_bind_text(s, 1, a.data(), static_cast<int>(a.size()),
                    SQLITE_TRANSIENT);
  sqlite3_bind_int64(s, 2, b);
  if (data != nullptr) {
    sqlite3_bind_blob64(s, 3, data->data(), data->size(), SQLITE_STATIC);
  } else {
    sqlite3_bind_null(s, 3);
  }
  rc = sqlite3_step(s);
  sqlite3_finalize(s);
  if (rc != SQLITE_DONE) return SqliteStatus(db, rc, "backup file");
  return absl::OkStatus();
}

absl::Status Damaged(const std::string& path, absl::string_view why) {
  return absl::DataLossError(absl::StrCat(
      path, " is damaged (truncated or altered since it was written): ", why));
}

}  // namespace

absl::StatusOr<std::unique_ptr<BackupWriter>> BackupWriter::Create(
    const std::string& path) {
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &db,
                           SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr);
  if (rc != SQLITE_OK) {
    absl::Status s = SqliteStatus(db, rc, absl::StrCat("cannot create ", path));
    sqlite3_close(db);
    return s;
  }
  std::unique_ptr<BackupWriter> w(new BackupWriter(db, path));
  for (const std::string& sql :
       {absl::StrCat("PRAGMA application_id = ", kBackupApplicationId, ";"),
        std::string("BEGIN"), std::string(kSchema)}) {
    if (absl::Status s = Exec(db, sql); !s.ok()) {
      // Exec says "registry"; this is the backup file (a full disk, say).
      return SqliteStatus(db, sqlite3_extended_errcode(db),
                          absl::StrCat("cannot write ", path));
    }
  }
  return w;
}

BackupWriter::~BackupWriter() {
  if (db_ != nullptr) sqlite3_close(db_);
}

absl::Status BackupWriter::SetInfo(const BackupInfo& info) {
  std::map<std::string, std::string> kv = {
      {"format_version", absl::StrCat(info.format_version)},
      {"source_kind", info.source_kind},
      {"created_at", info.created_at},
      {"spatial_version", info.spatial_version},
      {"source", info.source},
      {"artifacts", info.artifacts ? "included" : "manifest only"}};
  for (const auto& [k, v] : kv) {
    Stmt s(db_, "INSERT OR REPLACE INTO backup_info VALUES (?, ?)");
    s.Bind(1, k).Bind(2, v);
    RETURN_IF_ERROR(s.Run());
  }
  return absl::OkStatus();
}

absl::Status BackupWriter::SetRegistry(const std::string& kind,
                                       const std::string& data) {
  RETURN_IF_ERROR(Exec(db_, "DELETE FROM backup_registry"));
  sqlite3_stmt* s = nullptr;
  int rc = sqlite3_prepare_v2(
      db_, "INSERT INTO backup_registry VALUES (?1, ?2, ?3, ?4)", -1, &s,
      nullptr);
  if (rc != SQLITE_OK) return SqliteStatus(db_, rc, "backup file");
  std::string sha = base::Sha256Hex(data);
  sqlite3_bind_text(s, 1, kind.c_str(), -1, SQLITE_TRANSIENT);
  sqlite3_bind_text(s, 2, sha.c_str(), -1, SQLITE_TRANSIENT);
  sqlite3_bind_int64(s, 3, static_cast<int64_t>(data.size()));
  sqlite3_bind_blob64(s, 4, data.data(), data.size(), SQLITE_STATIC);
  rc = sqlite3_step(s);
  sqlite3_finalize(s);
  if (rc != SQLITE_DONE) return SqliteStatus(db_, rc, "backup file");
  return absl::OkStatus();
}

absl::Status BackupWriter::AddBlob(const std::string& sha256, int64_t size,
                                   const std::optional<std::string>& data) {
  return InsertBlobRow(db_,
                       "INSERT OR IGNORE INTO backup_blobs VALUES (?1, ?2, ?3)",
                       sha256, size, data ? &*data : nullptr);
}

absl::Status BackupWriter::Finish() {
  RETURN_IF_ERROR(Exec(db_, "COMMIT"));
  int rc = sqlite3_close(db_);
  db_ = nullptr;
  if (rc != SQLITE_OK) return SqliteStatus(nullptr, rc, "backup file close");
  int fd = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return base::ErrnoStatus(errno, absl::StrCat("open ", path_));
  int r = ::fsync(fd);
  int e = errno;
  ::close(fd);
  if (r != 0) return base::ErrnoStatus(e, absl::StrCat("fsync ", path_));
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<BackupReader>> BackupReader::Open(
    const std::string& path) {
  if (::access(path.c_str(), R_OK) != 0) {
    return base::ErrnoStatus(errno, absl::StrCat("cannot read backup ", path));
  }
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr);
  std::unique_ptr<BackupReader> r(new BackupReader(db, path));
  if (rc != SQLITE_OK) return SqliteStatus(db, rc, absl::StrCat("open ", path));
  const std::string not_backup =
      absl::StrCat(path, " is not a spatial backup file");
  int64_t app_id = 0;
  {
    Stmt s(db, "PRAGMA application_id");
    auto row = s.Step();
    if (!row.ok() && row.status().code() == absl::StatusCode::kDataLoss) {
      return Damaged(path, row.status().message());
    }
    if (!row.ok()) {
      return absl::FailedPreconditionError(
          absl::StrCat(not_backup, " (", row.status().message(), ")"));
    }
    if (*row) app_id = s.Int(0);
  }
  if (app_id != kBackupApplicationId) {
    return absl::FailedPreconditionError(absl::StrCat(
        not_backup, app_id == 0x53504452
                        ? " (it is a registry; restore takes a file "
                          "written by `spatial model backup`)"
                        : " (written by `spatial model backup`?)"));
  }
  {
    Stmt s(db, "PRAGMA quick_check");
    auto row = s.Step();
    if (!row.ok()) return Damaged(path, row.status().message());
    if (*row && s.Text(0) != "ok") return Damaged(path, s.Text(0));
  }
  std::map<std::string, std::string> kv;
  {
    Stmt s(db, "SELECT key, value FROM backup_info");
    for (;;) {
      auto row = s.Step();
      if (!row.ok()) return Damaged(path, row.status().message());
      if (!*row) break;
      kv[s.Text(0)] = s.Text(1);
    }
  }
  int version = 0;
  if (!absl::SimpleAtoi(kv["format_version"], &version)) {
    return Damaged(path, "backup_info has no format_version");
  }
  if (version > kFormatVersion) {
    return absl::FailedPreconditionError(absl::StrCat(
        path, " has backup format ", version, ", newer than this binary's ",
        kFormatVersion, "; restore with a newer spatial"));
  }
  r->info_.format_version = version;
  r->info_.source_kind = kv["source_kind"];
  r->info_.created_at = kv["created_at"];
  r->info_.spatial_version = kv["spatial_version"];
  r->info_.source = kv["source"];
  r->info_.artifacts = kv["artifacts"] == "included";
  if (r->info_.source_kind != "sqlite" &&
      r->info_.source_kind != "postgresql") {
    return Damaged(
        path, absl::StrCat("unknown source_kind '", r->info_.source_kind, "'"));
  }
  return r;
}

BackupReader::~BackupReader() { sqlite3_close(db_); }

absl::StatusOr<std::string> BackupReader::Registry() const {
  sqlite3_stmt* s = nullptr;
  int rc = sqlite3_prepare_v2(
      db_, "SELECT kind, sha256, size, data FROM backup_registry", -1, &s,
      nullptr);
  if (rc != SQLITE_OK) return Damaged(path_, sqlite3_errmsg(db_));
  rc = sqlite3_step(s);
  if (rc != SQLITE_ROW) {
    sqlite3_finalize(s);
    return Damaged(path_, "it holds no registry");
  }
  std::string kind = ColumnBytes(s, 0), sha = ColumnBytes(s, 1);
  int64_t size = sqlite3_column_int64(s, 2);
  std::string data = ColumnBytes(s, 3);
  sqlite3_finalize(s);
  if (kind != info_.source_kind) {
    return Damaged(
        path_, absl::StrCat("its registry part is of kind '", kind,
                            "', backup_info says '", info_.source_kind, "'"));
  }
  if (static_cast<int64_t>(data.size()) != size ||
      base::Sha256Hex(data) != sha) {
    return Damaged(
        path_, absl::StrCat("the registry part does not match its sha256 ", sha,
                            " (", data.size(), " of ", size, " bytes)"));
  }
  return data;
}

absl::StatusOr<std::vector<BlobEntry>> BackupReader::Blobs() const {
  std::vector<BlobEntry> out;
  Stmt s(db_,
         "SELECT sha256, size, data IS NOT NULL FROM backup_blobs "
         "ORDER BY sha256");
  for (;;) {
    auto row = s.Step();
    if (!row.ok()) return Damaged(path_, row.status().message());
    if (!*row) break;
    out.push_back({s.Text(0), s.Int(1), s.Int(2) != 0});
  }
  return out;
}

absl::Status BackupReader::ForEachBlob(
    const std::function<absl::Status(const BlobEntry&, const std::string*)>& fn)
    const {
  ASSIGN_OR_RETURN(auto blobs, Blobs());
  for (const auto& b : blobs) {
    if (!base::IsSha256Hex(b.sha256) || b.size < 0) {
      return Damaged(path_, absl::StrCat("bad blob entry '", b.sha256, "'"));
    }
    if (!b.has_data) {
      RETURN_IF_ERROR(fn(b, nullptr));
      continue;
    }
    sqlite3_stmt* s = nullptr;
    int rc = sqlite3_prepare_v2(
        db_, "SELECT data FROM backup_blobs WHERE sha256 = ?1", -1, &s,
        nullptr);
    if (rc != SQLITE_OK) return Damaged(path_, sqlite3_errmsg(db_));
    sqlite3_bind_text(s, 1, b.sha256.c_str(), -1, SQLITE_TRANSIENT);
    rc = sqlite3_step(s);
    std::string data = rc == SQLITE_ROW ? ColumnBytes(s, 0) : std::string();
    sqlite3_finalize(s);
    if (rc != SQLITE_ROW) return Damaged(path_, sqlite3_errstr(rc));
    if (static_cast<int64_t>(data.size()) != b.size ||
        base::Sha256Hex(data) != b.sha256) {
      return Damaged(path_,
                     absl::StrCat("blob sha256:", b.sha256,
                                  " does not match its checksum (", data.size(),
                                  " of ", b.size, " bytes)"));
    }
    RETURN_IF_ERROR(fn(b, &data));
  }
  return absl::OkStatus();
}

}  // namespace spatial::registry::backup
