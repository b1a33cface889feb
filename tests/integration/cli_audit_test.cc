// Black-box tests of `spatial audit list` and `spatial audit verify`: every
// registry change through the CLI is recorded with its actor, and an edited,
// a deleted and a swapped row of the SQLite file are each caught, naming it.
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/integration/cli_sandbox.h"
#include "tests/integration/sqlite_tamper.h"

namespace spatial::integration {
namespace {
using ::testing::HasSubstr;

std::vector<std::string> RegistryFlags(const Sandbox& box) {
  return {"--registry", box.registry(), "--config",
          SourceDir() + "/config/environments.json"};
}

ProcessResult Audit(const Sandbox& box, std::vector<std::string> args) {
  args.insert(args.begin(), "audit");
  for (const auto& f : RegistryFlags(box)) args.push_back(f);
  return box.Spatial(args);
}

// register, validate and promote two versions (as tester), trust a key (as
// alice) and roll back (as bob).
void MakeHistory(Sandbox& box) {
  for (const char* id : {"v1", "v2"}) {
    box.Register(
        box.WriteRandomFile(std::string(id) + ".onnx", 200), id,
        {"--metric", "accuracy=0.9", "--metric", "inference_time_ms=10"});
    ASSERT_EQ(
        box.Model({"validate", id, "--environment", "development"}).exit_code,
        0);
    ASSERT_EQ(
        box.Model({"promote", id, "--environment", "development"}).exit_code,
        0);
  }
  ASSERT_EQ(box.Spatial({"keys", "generate", "--out", box.Path("k")}).exit_code,
            0);
  std::vector<std::string> trust = {
      "keys",    "trust", box.Path("k/signing.pub"), "--environment", "staging",
      "--actor", "alice"};
  for (const auto& f : RegistryFlags(box)) trust.push_back(f);
  ASSERT_EQ(box.Spatial(trust).exit_code, 0);
  std::vector<std::string> rollback = {
      "model", "rollback", "--environment", "development", "--actor", "bob"};
  for (const auto& f : RegistryFlags(box)) rollback.push_back(f);
  ASSERT_EQ(box.Spatial(rollback).exit_code, 0);
}

// Edits the registry file as someone with write access to it would.
void Tamper(const Sandbox& box, const std::string& sql) {
  TamperSqlite(box.registry(), sql);
}

TEST(CliAuditTest, EveryChangeIsListedWithItsActor) {
  Sandbox box;
  MakeHistory(box);
  ProcessResult list = Audit(box, {"list", "--json"});
  ASSERT_EQ(list.exit_code, 0) << list;
  Json records = ParseJsonOrFail(list.out, list.command);
  std::vector<std::string> actions;
  for (const auto& r : records) actions.push_back(r["action"]);
  EXPECT_EQ(actions,
            (std::vector<std::string>{"import", "register", "validate",
                                      "promote", "register", "validate",
                                      "promote", "key.trust", "rollback"}))
      << records.dump(2);
  EXPECT_EQ(records[1]["actor"], "tester");
  EXPECT_EQ(records[1]["subject"], "v1");
  EXPECT_EQ(records[7]["actor"], "alice");
  EXPECT_EQ(records[7]["subject"], "staging");
  EXPECT_EQ(records[8]["actor"], "bob");
  EXPECT_EQ(records[8]["subject"], "v1");
  EXPECT_EQ(records[8]["details"]["environment"], "development");
  EXPECT_EQ(records[8]["details"]["previous_version_id"], "v2");

  ProcessResult verify = Audit(box, {"verify"});
  EXPECT_EQ(verify.exit_code, 0) << verify;
  EXPECT_THAT(verify.out, HasSubstr("9 records, chain intact"));

  ProcessResult text = Audit(box, {"list"});
  EXPECT_THAT(text.out, HasSubstr("key.trust"));
  EXPECT_THAT(text.out, HasSubstr("9 record(s)"));
  ProcessResult later = Audit(box, {"list", "--since", "2999-01-01T00:00:00Z"});
  EXPECT_EQ(later.exit_code, 0) << later;
  EXPECT_THAT(later.out, HasSubstr("0 record(s)"));
  ProcessResult bad = Audit(box, {"list", "--since", "yesterday"});
  EXPECT_EQ(bad.exit_code, 2) << bad;
  EXPECT_THAT(bad.err, HasSubstr("--since takes an ISO 8601 time"));
}

TEST(CliAuditTest, VerifyNamesAnEditedRecord) {
  Sandbox box;
  MakeHistory(box);
  Tamper(box, "UPDATE audit_log SET actor = 'someone-else' WHERE seq = 4");
  ProcessResult r = Audit(box, {"verify"});
  EXPECT_EQ(r.exit_code, 1) << r;
  EXPECT_THAT(r.err, HasSubstr("BROKEN at seq 4"));
  EXPECT_THAT(r.err, HasSubstr("edited"));
}

TEST(CliAuditTest, VerifyNamesADeletedRecord) {
  Sandbox box;
  MakeHistory(box);
  Tamper(box, "DELETE FROM audit_log WHERE seq = 5");
  ProcessResult r = Audit(box, {"verify"});
  EXPECT_EQ(r.exit_code, 1) << r;
  EXPECT_THAT(r.err, HasSubstr("BROKEN at seq 6: seq 5 missing"));
}

TEST(CliAuditTest, VerifyNamesSwappedRecords) {
  Sandbox box;
  MakeHistory(box);
  // Records 3 and 4 trade places: their seqs are exchanged.
  Tamper(box,
         "UPDATE audit_log SET seq = -3 WHERE seq = 3;"
         "UPDATE audit_log SET seq = 3 WHERE seq = 4;"
         "UPDATE audit_log SET seq = 4 WHERE seq = -3;");
  ProcessResult r = Audit(box, {"verify"});
  EXPECT_EQ(r.exit_code, 1) << r;
  EXPECT_THAT(r.err, HasSubstr("BROKEN at seq 3"));
}

}  // namespace
}  // namespace spatial::integration
