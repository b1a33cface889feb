// Thin RAII helpers over the SQLite C API for SqliteRegistry: prepared
// statements with typed binds, and transactions that roll back unless
// committed. Not thread-safe; the caller holds the connection's mutex.
#ifndef SPATIAL_REGISTRY_SQLITE_SQLITE_DB_H_
#define SPATIAL_REGISTRY_SQLITE_SQLITE_DB_H_

#include <sqlite3.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace spatial::registry::sqlite {

// Maps a SQLite result code to a canonical status with `what` as context.
absl::Status SqliteStatus(sqlite3* db, int rc, absl::string_view what);

// Runs SQL without results (several statements allowed).
absl::Status Exec(sqlite3* db, absl::string_view sql);

class Stmt {
 public:
  Stmt(sqlite3* db, absl::string_view sql);
  ~Stmt();
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;

  // Status of preparing; checked by Step().
  const absl::Status& status() const { return status_; }
  Stmt& Bind(int i, absl::string_view v);
  Stmt& Bind(int i, int64_t v);
  Stmt& Bind(int i, double v);
  Stmt& BindNull(int i);
  // true when a row is ready, false when done.
  absl::StatusOr<bool> Step();
  // Steps to completion; OK when the statement ran.
  absl::Status Run();
  // Steps through every row, calling `row()` (which reads this statement's
  // columns) for each; the first error, SQLite's or `row`'s, stops it.
  absl::Status ForEachRow(const std::function<absl::Status()>& row);

  std::string Text(int col) const;
  int64_t Int(int col) const;
  double Double(int col) const;
  bool IsNull(int col) const;

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_ = nullptr;
  absl::Status status_;
  std::string sql_;
};

// The first column of every row of `sql` (a query without parameters).
absl::StatusOr<std::vector<std::string>> Column(sqlite3* db, const char* sql);

// BEGIN IMMEDIATE (writers) or DEFERRED (readers); rolls back in the
// destructor unless Commit() succeeded.
class Transaction {
 public:
  static absl::StatusOr<Transaction> Begin(sqlite3* db, bool write);
  Transaction(Transaction&& o) noexcept : db_(o.db_), open_(o.open_) {
    o.open_ = false;
  }
  Transaction& operator=(Transaction&&) = delete;
  ~Transaction();
  absl::Status Commit();

 private:
  explicit Transaction(sqlite3* db) : db_(db), open_(true) {}
  sqlite3* db_;
  bool open_;
};

}  // namespace spatial::registry::sqlite

#endif  // SPATIAL_REGISTRY_SQLITE_SQLITE_DB_H_
