// The audit chain against real tampering with the SQLite file: an edited, a
// deleted and a swapped row are each found, naming the row; so are a cut
// tail (by the rows that point at the missing records) and a registry row
// deleted or relinked behind the log's back.
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
                          ("DROP TRIGGER IF EXISTS audit_log_no_update; DROP "
                           "TRIGGER IF EXISTS audit_log_no_delete; " +
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

  AuditLinkCheck Links() {
    auto reg = SqliteRegistry::Open({.path = path()});
    EXPECT_TRUE(reg.ok()) << reg.status();
    auto snap = (*reg)->ReadAuditSnapshot();
    EXPECT_TRUE(snap.ok()) << snap.status();
    return CheckAuditLinks(*snap);
  }

  // Takes the file back to schema `version` (1 or 2), as an older binary
  // left it.
  void Downgrade(int version) {
    std::string sql =
        "DROP TABLE registry_meta; "
        "ALTER TABLE environments DROP COLUMN audit_seq; "
        "ALTER TABLE versions DROP COLUMN audit_seq; "
        "ALTER TABLE validations DROP COLUMN audit_seq; "
        "ALTER TABLE deployments DROP COLUMN audit_seq; ";
    sql += version == 1 ? "DROP TABLE audit_log; DROP TABLE signatures; "
                        : "ALTER TABLE signatures DROP COLUMN audit_seq; ";
    Tamper(sql +
           "UPDATE schema_version SET version = " + std::to_string(version));
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
// upgraded when opened, keeping its versions; its rows are vouched for by one
// audit.adopt record.
TEST_F(AuditTamperTest, SchemaOneRegistryIsUpgraded) {
  Downgrade(1);
  auto reg = SqliteRegistry::Open({.path = path()});
  ASSERT_TRUE(reg.ok()) << reg.status();
  EXPECT_EQ((*reg)->ListVersionIds()->size(), 4u);
  ASSERT_EQ((*reg)->ListAudit()->size(), 1u);
  EXPECT_EQ((*reg)->ListAudit()->front().action, kAuditAdoptAction);
  ASSERT_TRUE((*reg)->AddVersion(TestVersion("v5")).ok());
  EXPECT_EQ((*reg)->ListAudit()->size(), 2u);
  reg->reset();
  AuditLinkCheck links = Links();
  EXPECT_TRUE(links.problems.empty()) << links.problems.front();
}

// A schema 2 registry (hash chain, no row links) gets an id and one
// audit.adopt record naming every row it held, each row linked to it; the
// old records stay as they were and the whole still verifies.
TEST_F(AuditTamperTest, SchemaTwoRegistryAdoptsItsRows) {
  Downgrade(2);
  auto reg = SqliteRegistry::Open({.path = path()});
  ASSERT_TRUE(reg.ok()) << reg.status();
  auto snap = (*reg)->ReadAuditSnapshot();
  ASSERT_TRUE(snap.ok()) << snap.status();
  EXPECT_EQ(snap->registry_id.size(), 32u);
  ASSERT_EQ(snap->records.size(), 6u);
  const AuditRecord& adopt = snap->records.back();
  EXPECT_EQ(adopt.action, kAuditAdoptAction);
  EXPECT_EQ(adopt.details["rows"],
            Json({{"environment", {"production"}},
                  {"version", {"v1", "v2", "v3", "v4"}}}));
  for (const auto& row : snap->rows) EXPECT_EQ(row.audit_seq, 6);
  EXPECT_FALSE(VerifyAuditChain(snap->records).broken_seq.has_value());
  AuditLinkCheck links = CheckAuditLinks(*snap);
  EXPECT_TRUE(links.problems.empty()) << links.problems.front();
  EXPECT_EQ(links.linked, 6);
}

// Cutting off the newest records leaves an intact chain, but the rows they
// made still point at them: each is named.
TEST_F(AuditTamperTest, CutTailIsFoundByTheRowsThatPointAtIt) {
  Tamper("DELETE FROM audit_log WHERE seq > 3");
  AuditCheck chain = Check();
  EXPECT_FALSE(chain.broken_seq.has_value()) << chain.problem;
  EXPECT_EQ(chain.records, 3);
  AuditLinkCheck links = Links();
  EXPECT_THAT(links.problems,
              ::testing::ElementsAre(
                  "version v3 was made by audit record seq 4, which is "
                  "missing (the log's tail was cut or the record deleted)",
                  "version v4 was made by audit record seq 5, which is "
                  "missing (the log's tail was cut or the record deleted)"));
}

// A row deleted behind the log's back is named by the record that made it.
TEST_F(AuditTamperTest, DeletedRegistryRowIsFoundByItsRecord) {
  Tamper(
      "DELETE FROM artifact_files WHERE version_id = 'v2';"
      "DELETE FROM versions WHERE id = 'v2'");
  EXPECT_FALSE(Check().broken_seq.has_value());
  AuditLinkCheck links = Links();
  EXPECT_THAT(links.problems,
              ::testing::ElementsAre("audit record seq 3 (register v2) made "
                                     "version v2, which is gone"));
}

// Each covered column edited in place, as an attacker with the file would
// (log and links untouched), is named against the record that vouched for
// the row: a failed validation flipped to valid with a forged measurement, a
// version's checksum, an artifact file's sha256, an environment's spec.
TEST_F(AuditTamperTest, RowEditedInPlaceIsFoundByItsDigest) {
  {
    auto reg = SqliteRegistry::Open({.path = path()});
    ASSERT_TRUE(reg.ok()) << reg.status();
    ASSERT_TRUE(
        (*reg)
            ->RecordValidation(TestValidation("v1", "production", false))
            .ok());
  }
  AuditLinkCheck clean = Links();
  EXPECT_TRUE(clean.problems.empty()) << clean.problems.front();
  EXPECT_EQ(clean.digested, 6);  // the environment, 4 versions, 1 validation
  struct Case {
    const char* sql;
    const char* row;
  };
  for (const Case& c : {
           Case{"UPDATE validations SET valid = 1, result = "
                "'{\"measurement\":{\"accuracy\":0.99}}' WHERE version_id "
                "= 'v1'",
                "validation of v1 for production"},
           Case{"UPDATE versions SET checksum = 'forged' WHERE id = 'v2'",
                "version v2"},
           Case{"UPDATE artifact_files SET sha256 = 'forged' WHERE "
                "version_id = 'v3'",
                "version v3"},
           Case{"UPDATE environments SET spec = '{}' WHERE name = "
                "'production'",
                "environment production"},
       }) {
    Tamper(c.sql);
    EXPECT_THAT(Links().problems,
                ::testing::Contains(
                    HasSubstr(std::string(c.row) + " was edited after")))
        << c.sql;
  }
  EXPECT_THAT(Links().problems, ::testing::SizeIs(4));
  // A version's validation_status is derived from its validations (no gate
  // reads it), so it is not covered.
  Tamper(
      "UPDATE versions SET validation_status = 'validated' WHERE id = "
      "'v4'");
  EXPECT_THAT(Links().problems, ::testing::SizeIs(4));
}

// A row pointed at another record (to hide the one that made it) is named
// both ways.
TEST_F(AuditTamperTest, RelinkedRowIsFound) {
  Tamper("UPDATE versions SET audit_seq = 2 WHERE id = 'v2'");
  AuditLinkCheck links = Links();
  EXPECT_THAT(links.problems,
              ::testing::ElementsAre(
                  "version v2 points at audit record seq 2 (register v1), "
                  "which does not describe it",
                  "audit record seq 3 (register v2) made version v2, which "
                  "points at the older audit record seq 2"));
  Tamper("UPDATE versions SET audit_seq = NULL WHERE id = 'v2'");
  EXPECT_THAT(Links().problems,
              ::testing::Contains("version v2 has no audit record (its "
                                  "audit_seq is empty)"));
}

// A result edited in to spell "imported" with a JSON escape is an import to
// every reader, `spatial model list`'s SQL included (SQLite's JSON path
// lookup does not decode escaped keys; the parsed judgement does).
TEST_F(AuditTamperTest, AnEscapedImportedKeyIsStillAnImport) {
  {
    auto reg = SqliteRegistry::Open({.path = path()});
    ASSERT_TRUE(reg.ok()) << reg.status();
    ASSERT_TRUE((*reg)
                    ->RecordValidation(TestValidation("v1", "production", true))
                    .ok());
    ASSERT_TRUE((*reg)
                    ->RecordValidation(TestValidation("v2", "production", true))
                    .ok());
  }
  Tamper(
      "UPDATE validations SET result = '{\"valid\": true, "
      "\"\\u0069mported\": true}' WHERE version_id = 'v1'; "
      "UPDATE validations SET result = '{\"imp\\u006frted\": 1}' "
      "WHERE version_id = 'v2';");
  auto reg = SqliteRegistry::Open({.path = path()});
  ASSERT_TRUE(reg.ok()) << reg.status();
  auto imported = (*reg)->ListImportedValidations();
  ASSERT_TRUE(imported.ok()) << imported.status();
  using Pairs = std::vector<std::pair<std::string, std::string>>;
  EXPECT_EQ(*imported, (Pairs{{"v1", "production"}}));
  EXPECT_EQ(*imported, *(*reg)->Registry::ListImportedValidations());
}

}  // namespace
}  // namespace spatial::registry
