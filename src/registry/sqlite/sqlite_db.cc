#include "src/registry/sqlite/sqlite_db.h"

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "src/base/status_macros.h"

namespace spatial::registry::sqlite {

absl::Status SqliteStatus(sqlite3* db, int rc, absl::string_view what) {
  std::string msg =
      absl::StrCat(what, ": ", db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
  // "disk I/O error" alone does not say that the disk is full: the OS does.
  const int os_errno = db ? sqlite3_system_errno(db) : 0;
  if (((rc & 0xff) == SQLITE_IOERR || (rc & 0xff) == SQLITE_FULL) &&
      os_errno != 0) {
    absl::StrAppend(&msg, " (", std::strerror(os_errno), ")");
    if (os_errno == ENOSPC || os_errno == EDQUOT || os_errno == EFBIG) {
      return absl::ResourceExhaustedError(msg);
    }
  }
  switch (rc & 0xff) {
    case SQLITE_OK:
    case SQLITE_DONE:
    case SQLITE_ROW:
      return absl::OkStatus();
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return absl::UnavailableError(absl::StrCat(
          msg, " (another process holds the registry; try again)"));
    case SQLITE_CONSTRAINT:
      return absl::FailedPreconditionError(msg);
    case SQLITE_NOTADB:
      return absl::FailedPreconditionError(msg);
    case SQLITE_CORRUPT:
      return absl::DataLossError(msg);
    case SQLITE_CANTOPEN:
    case SQLITE_PERM:
    case SQLITE_READONLY:
      return absl::PermissionDeniedError(msg);
    case SQLITE_FULL:
      return absl::ResourceExhaustedError(msg);
    default:
      return absl::InternalError(msg);
  }
}

absl::Status Exec(sqlite3* db, absl::string_view sql) {
  char* err = nullptr;
  int rc = sqlite3_exec(db, std::string(sql).c_str(), nullptr, nullptr, &err);
  if (err != nullptr) sqlite3_free(err);
  if (rc != SQLITE_OK) return SqliteStatus(db, rc, "registry");
  return absl::OkStatus();
}

Stmt::Stmt(sqlite3* db, absl::string_view sql) : db_(db), sql_(sql) {
  int rc = sqlite3_prepare_v2(db, sql_.c_str(), static_cast<int>(sql_.size()),
                              &stmt_, nullptr);
  if (rc != SQLITE_OK) status_ = SqliteStatus(db, rc, "registry query");
}

Stmt::~Stmt() { sqlite3_finalize(stmt_); }

Stmt& Stmt::Bind(int i, absl::string_view v) {
  if (stmt_)
    sqlite3_bind_text(stmt_, i, v.data(), static_cast<int>(v.size()),
                      SQLITE_TRANSIENT);
  return *this;
}
Stmt& Stmt::Bind(int i, int64_t v) {
  if (stmt_) sqlite3_bind_int64(stmt_, i, v);
  return *this;
}
Stmt& Stmt::Bind(int i, double v) {
  if (stmt_) sqlite3_bind_double(stmt_, i, v);
  return *this;
}
Stmt& Stmt::BindNull(int i) {
  if (stmt_) sqlite3_bind_null(stmt_, i);
  return *this;
}

absl::StatusOr<bool> Stmt::Step() {
  if (!status_.ok()) return status_;
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return SqliteStatus(db_, rc, "registry");
}

absl::Status Stmt::Run() {
  for (;;) {
    auto more = Step();
    if (!more.ok()) return more.status();
    if (!*more) return absl::OkStatus();
  }
}

absl::Status Stmt::ForEachRow(const std::function<absl::Status()>& row) {
  for (;;) {
    auto more = Step();
    if (!more.ok()) return more.status();
    if (!*more) return absl::OkStatus();
    absl::Status s = row();
    if (!s.ok()) return s;
  }
}

std::string Stmt::Text(int col) const {
  const unsigned char* t = sqlite3_column_text(stmt_, col);
  int n = sqlite3_column_bytes(stmt_, col);
  return t ? std::string(reinterpret_cast<const char*>(t),
                         static_cast<size_t>(n))
           : std::string();
}
int64_t Stmt::Int(int col) const { return sqlite3_column_int64(stmt_, col); }
double Stmt::Double(int col) const { return sqlite3_column_double(stmt_, col); }
bool Stmt::IsNull(int col) const {
  return sqlite3_column_type(stmt_, col) == SQLITE_NULL;
}

absl::StatusOr<Transaction> Transaction::Begin(sqlite3* db, bool write) {
  absl::Status s = Exec(db, write ? "BEGIN IMMEDIATE" : "BEGIN");
  if (!s.ok()) return s;
  return Transaction(db);
}

Transaction::~Transaction() {
  if (open_) (void)Exec(db_, "ROLLBACK");
}

absl::Status Transaction::Commit() {
  absl::Status s = Exec(db_, "COMMIT");
  if (s.ok()) open_ = false;
  return s;
}

absl::StatusOr<std::vector<std::string>> Column(sqlite3* db, const char* sql) {
  Stmt s(db, sql);
  std::vector<std::string> out;
  for (;;) {
    ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) break;
    out.push_back(s.Text(0));
  }
  return out;
}

}  // namespace spatial::registry::sqlite
