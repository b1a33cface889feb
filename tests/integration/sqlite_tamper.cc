#include "tests/integration/sqlite_tamper.h"

#include <sqlite3.h>

#include "gtest/gtest.h"

namespace spatial::integration {

void TamperSqlite(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  char* err = nullptr;
  int rc = sqlite3_exec(db,
                        ("DROP TRIGGER IF EXISTS audit_log_no_update; "
                         "DROP TRIGGER IF EXISTS audit_log_no_delete; " +
                         sql)
                            .c_str(),
                        nullptr, nullptr, &err);
  EXPECT_EQ(rc, SQLITE_OK) << (err ? err : "");
  sqlite3_free(err);
  sqlite3_close(db);
}

}  // namespace spatial::integration
