// Creating and migrating a SQLite registry's schema (sqlite_schema.h; the
// tables themselves are sql_schema.h's). The caller holds the connection's
// mutex.
#include "src/registry/sqlite/sqlite_schema.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "src/base/status_macros.h"
#include "src/registry/sql_schema.h"
#include "src/registry/sqlite/sqlite_audit.h"
#include "src/registry/sqlite/sqlite_db.h"
#include "src/registry/sqlite/sqlite_registry.h"

namespace spatial::registry::sqlite {

static_assert(sql::kMigrations == SqliteRegistry::kSchemaVersion);

absl::Status MigrateSchema(sqlite3* db, absl::string_view path, int target) {
  ASSIGN_OR_RETURN(Transaction tx, Transaction::Begin(db, /*write=*/true));
  int32_t app_id = 0;
  {
    Stmt app(db, "PRAGMA application_id");
    ASSIGN_OR_RETURN(bool got, app.Step());
    if (got) app_id = static_cast<int32_t>(app.Int(0));
  }
  int version = 0;
  if (app_id == 0) {
    ASSIGN_OR_RETURN(auto tables, Column(db, "SELECT name FROM sqlite_master"));
    if (!tables.empty()) {
      return absl::FailedPreconditionError(absl::StrCat(
          path, " is a SQLite database of another application (tables: ",
          absl::StrJoin(tables, ", "), "), not a spatial-deploy registry"));
    }
    RETURN_IF_ERROR(
        Exec(db, absl::StrCat("PRAGMA application_id = ", kApplicationId)));
  } else {
    Stmt v(db, "SELECT version FROM schema_version");
    ASSIGN_OR_RETURN(bool has, v.Step());
    if (!has)
      return absl::DataLossError(
          absl::StrCat(path, ": schema_version is empty"));
    version = static_cast<int>(v.Int(0));
  }
  if (version > target) {
    return absl::FailedPreconditionError(absl::StrCat(
        path, " has schema version ", version, ", newer than this binary's ",
        target, "; upgrade spatial"));
  }
  for (int i = version; i < target; ++i) {
    RETURN_IF_ERROR(Exec(db, sql::Migration(i, sql::kSqlite)));
    if (i == 2) RETURN_IF_ERROR(AdoptExistingRows(db));
    RETURN_IF_ERROR(
        Exec(db, absl::StrCat("UPDATE schema_version SET version = ", i + 1)));
  }
  return tx.Commit();
}

}  // namespace spatial::registry::sqlite
