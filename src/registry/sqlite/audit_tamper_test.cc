// The audit chain against real tampering with the SQLite file: an edited, a
// deleted and a swapped row are each found, naming the row.
#include <sqlite3.h>

#include <filesystem>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "src/registry/registry_conformance.h"
#include "src/registry/sqlite/sqlite_registry.h"

namespace spatial::registry {
namespace {
namespace fs = std::filesystem;
using ::testing::HasSubstr;

class AuditTamperTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = ::testing::TempDir() + "/audit_tamper_" + info->name();
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    auto reg = SqliteRegistry::Open({.path = path()});
    ASSERT_TRUE(reg.ok()) << reg.status();
    ASSERT_TRUE((*reg)->PutEnvironment(TestEnvironment("production")).ok());
    for (const char* id : {"v1", "v2", "v3", "v4"})
      ASSERT_TRUE((*reg)->AddVersion(TestVersion(id)).ok());
  }

  std::string path() const { return dir_ + "/r.db"; }

  // Runs SQL on the file as an attacker with write access would, first
  // removing the append-only triggers.
  void Tamper(const std::string& sql) {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(path().c_str(), &db), SQLITE_OK);
    char* err = nullptr;
    int rc = sqlite3_exec(db,
                          ("DROP TRIGGER audit_log_no_update; DROP TRIGGER "
                           "audit_log_no_delete; " +
                           sql)
                              .c_str(),
                          nullptr, nullptr, &err);
    EXPECT_EQ(rc, SQLITE_OK) << (err ? err : "");
    sqlite3_free(err);
    sqlite3_close(db);
  }

  AuditCheck Check() {
    auto reg = SqliteRegistry::Open({.path = path()});
    EXPECT_TRUE(reg.ok()) << reg.status();
    auto log = (*reg)->ListAudit();
    EXPECT_TRUE(log.ok()) << log.status();
    return VerifyAuditChain(*log);
  }

  std::string dir_;
};

TEST_F(AuditTamperTest, UntouchedLogIsIntact) {
  AuditCheck c = Check();
  EXPECT_FALSE(c.broken_seq.has_value()) << c.problem;
  EXPECT_EQ(c.records, 5);
}

TEST_F(AuditTamperTest, EditedRowIsFound) {
  Tamper("UPDATE audit_log SET actor = 'mallory' WHERE seq = 3");
  AuditCheck c = Check();
  ASSERT_TRUE(c.broken_seq.has_value());
  EXPECT_EQ(*c.broken_seq, 3);
  EXPECT_THAT(c.problem, HasSubstr("edited"));
  EXPECT_EQ(c.records, 2);
}

// Rewriting the row's own hash to match moves the break to the next row.
TEST_F(AuditTamperTest, EditedRowWithRecomputedHashIsFoundAtTheNext) {
  auto reg = SqliteRegistry::Open({.path = path()});
  auto log = *(*reg)->ListAudit();
  AuditRecord forged = log[2];
  forged.details["checksum"] = "0000";
  forged.hash = AuditHash(forged);
  reg->reset();
  Tamper("UPDATE audit_log SET details = '" + forged.details.dump() +
         "', hash = '" + forged.hash + "' WHERE seq = 3");
  AuditCheck c = Check();
  ASSERT_TRUE(c.broken_seq.has_value());
  EXPECT_EQ(*c.broken_seq, 4);
  EXPECT_THAT(c.problem, HasSubstr("prev_hash does not match"));
}

TEST_F(AuditTamperTest, DeletedRowIsFound) {
  Tamper("DELETE FROM audit_log WHERE seq = 2");
  AuditCheck c = Check();
  ASSERT_TRUE(c.broken_seq.has_value());
  EXPECT_EQ(*c.broken_seq, 3);
  EXPECT_THAT(c.problem, HasSubstr("seq 2 missing"));
}

// Rows 2 and 3 exchange their contents (seq stays with the position).
TEST_F(AuditTamperTest, SwappedRowsAreFound) {
  const std::string cols =
      "time, actor, action, subject, details, prev_hash, hash";
  Tamper(
      "CREATE TEMP TABLE t AS SELECT * FROM audit_log WHERE seq IN (2, 3);"
      "UPDATE audit_log SET (" +
      cols + ") = (SELECT " + cols +
      " FROM t WHERE t.seq = 5 - audit_log.seq) WHERE seq IN (2, 3);");
  AuditCheck c = Check();
  ASSERT_TRUE(c.broken_seq.has_value());
  EXPECT_EQ(*c.broken_seq, 2);
}

// Without dropping the triggers the log refuses edits outright.
TEST_F(AuditTamperTest, TriggersRefuseUpdateAndDelete) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path().c_str(), &db), SQLITE_OK);
  for (const char* sql : {"UPDATE audit_log SET actor = 'x'",
                          "DELETE FROM audit_log WHERE seq = 1"}) {
    char* err = nullptr;
    EXPECT_NE(sqlite3_exec(db, sql, nullptr, nullptr, &err), SQLITE_OK) << sql;
    EXPECT_THAT(std::string(err ? err : ""), HasSubstr("append-only"));
    sqlite3_free(err);
  }
  sqlite3_close(db);
  EXPECT_FALSE(Check().broken_seq.has_value());
}

// A registry of schema version 1 (before signatures and the audit log) is
// upgraded when opened, keeping its versions.
TEST_F(AuditTamperTest, SchemaOneRegistryIsUpgraded) {
  Tamper(
      "DROP TABLE audit_log; DROP TABLE signatures; "
      "UPDATE schema_version SET version = 1");
  auto reg = SqliteRegistry::Open({.path = path()});
  ASSERT_TRUE(reg.ok()) << reg.status();
  EXPECT_EQ((*reg)->ListVersionIds()->size(), 4u);
  EXPECT_TRUE((*reg)->ListAudit()->empty());
  ASSERT_TRUE((*reg)->AddVersion(TestVersion("v5")).ok());
  EXPECT_EQ((*reg)->ListAudit()->size(), 1u);
}

}  // namespace
}  // namespace spatial::registry
