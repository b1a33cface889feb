// The registry's tables, written once for both SQL adapters: the migrations
// that build the schema, with the few column types and statements in which
// SQLite and PostgreSQL differ filled in per dialect. JSON stays TEXT in both
// so that it reads back byte-exact. Pure; thread-safe.
#ifndef SPATIAL_REGISTRY_SQL_SCHEMA_H_
#define SPATIAL_REGISTRY_SQL_SCHEMA_H_

#include <string>

namespace spatial::registry::sql {

// What differs between the dialects.
struct SqlDialect {
  const char* serial_key;  // an auto-numbered primary key column
  const char* integer;     // a 64-bit integer
  const char* boolean;
  const char* audit_log_append_only;  // statements that refuse UPDATE/DELETE
  const char* meta_table;             // statements added by migration 2
};
extern const SqlDialect kSqlite;
extern const SqlDialect kPostgres;

// The number of migrations: the schema version a new registry gets.
inline constexpr int kMigrations = 3;

// The SQL that brings the schema from version i to i + 1, i in
// [0, kMigrations), in `dialect`.
std::string Migration(int i, const SqlDialect& dialect);

}  // namespace spatial::registry::sql

#endif  // SPATIAL_REGISTRY_SQL_SCHEMA_H_
