// Black-box tests of a cut audit log on a SQLite registry: the newest records
// deleted (guard triggers dropped first, as anyone holding the file can) are
// caught by the rows that point at them, a cut the rows cannot see by a
// signed checkpoint, and every bad checkpoint gets a clear refusal that
// changes nothing.
#include <filesystem>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/integration/audit_tail_support.h"
#include "tests/integration/cli_sandbox.h"
#include "tests/integration/sqlite_tamper.h"

namespace spatial::integration {
namespace {
using ::testing::HasSubstr;

AuditTarget SqliteTarget(const std::string& path) {
  AuditTarget t;
  t.registry = path;
  t.tamper = [path](const std::string& sql) { TamperSqlite(path, sql); };
  return t;
}

TEST(CliAuditTailTest, CutTailIsCaughtByTheRows) {
  Sandbox box;
  ExpectCutTailCaughtByRows(box, SqliteTarget(box.registry()));
}

TEST(CliAuditTailTest, CutTheRowsCannotSeeIsCaughtByACheckpoint) {
  Sandbox box;
  ExpectCutTailCaughtByCheckpoint(box, SqliteTarget(box.registry()));
}

TEST(CliAuditTailTest, DeletedRowIsNamedByItsRecord) {
  Sandbox box;
  ExpectDeletedRowCaught(box, SqliteTarget(box.registry()));
}

TEST(CliAuditTailTest, ForgedValidationIsCaughtByItsDigest) {
  Sandbox box;
  ExpectForgedValidationCaught(box, SqliteTarget(box.registry()));
}

TEST(CliAuditTailTest, CheckpointOfAnotherRegistryIsRefused) {
  Sandbox box;
  ExpectForeignCheckpointRefused(box, SqliteTarget(box.registry()),
                                 SqliteTarget(box.Path("other.db")));
}

// Each bad checkpoint, key or flag gets a clear error and exit 1 (2 for
// usage); the registry and the good checkpoint stay as they were.
TEST(CliAuditTailTest, BadCheckpointInputIsRefusedAndChangesNothing) {
  Sandbox box;
  const AuditTarget t = SqliteTarget(box.registry());
  MakeHistory(box, t);
  const std::string key = MakeKey(box, "key");
  const std::string other_key = MakeKey(box, "other-key");
  const std::string pub = key + "/signing.pub";
  const std::string cp = box.Path("cp.json");
  TakeCheckpoint(box, t, key, cp);
  const std::string good = ReadBytes(cp);
  const std::string log_before = AuditCmd(box, t, {"list", "--json"}).out;

  Json altered = ParseJsonOrFail(good, cp);
  std::string sig = altered["signatures"][0]["sig"];
  sig[0] = sig[0] == 'A' ? 'B' : 'A';
  altered["signatures"][0]["sig"] = sig;
  const std::string by_other = box.Path("by-other.json");
  TakeCheckpoint(box, t, other_key, by_other);

  struct Case {
    std::string name;
    std::vector<std::string> args;
    int exit_code;
    std::string message;
  };
  auto verify_with = [&](const std::string& file) {
    return std::vector<std::string>{"verify", "--checkpoint", file,
                                    "--public-key", pub};
  };
  const std::vector<Case> cases = {
      {"bad signature",
       verify_with(box.WriteFile("altered.json", altered.dump(2))), 1,
       "does not verify: the checkpoint was altered after signing or forged"},
      {"another key", verify_with(by_other), 1, "not by the given public key"},
      {"truncated",
       verify_with(box.WriteFile("truncated.json", good.substr(0, 60))), 1,
       "is not an audit checkpoint"},
      {"empty", verify_with(box.WriteFile("empty.json", "")), 1,
       "is not an audit checkpoint"},
      {"a model signature",
       verify_with(
           box.WriteFile("model.sig",
                         R"({"payloadType": "application/vnd.in-toto+json",
               "payload": "e30=", "signatures": [{"keyid": "x", "sig": "AAAA"}]})")),
       1, "a DSSE envelope of type application/vnd.in-toto+json"},
      {"a key file", verify_with(pub), 1, "is not an audit checkpoint"},
      {"missing", verify_with(box.Path("nowhere.json")), 1, "nowhere.json"},
      {"no public key",
       {"verify", "--checkpoint", cp},
       2,
       "--checkpoint FILE and --public-key FILE go together"},
      {"checkpoint without --out",
       {"checkpoint", "--key", key + "/signing.key"},
       2,
       "--out"},
      {"checkpoint without a key",
       {"checkpoint", "--out", box.Path("new.json")},
       2,
       "no signing key"},
  };
  for (const auto& c : cases) {
    ProcessResult r = AuditCmd(box, t, c.args);
    EXPECT_EQ(r.exit_code, c.exit_code) << c.name << "\n" << r;
    EXPECT_THAT(r.err, HasSubstr(c.message)) << c.name << "\n" << r;
    EXPECT_THAT(r.out, ::testing::Not(HasSubstr("contains checkpoint")))
        << c.name;
  }
  EXPECT_EQ(AuditCmd(box, t, {"list", "--json"}).out, log_before);
  EXPECT_EQ(ReadBytes(cp), good);
  EXPECT_FALSE(std::filesystem::exists(box.Path("new.json")));
  ProcessResult ok = AuditCmd(box, t, verify_with(cp));
  EXPECT_EQ(ok.exit_code, 0) << ok;
}

// A broken log gets no checkpoint: nothing is written.
TEST(CliAuditTailTest, BrokenLogIsNotCheckpointed) {
  Sandbox box;
  const AuditTarget t = SqliteTarget(box.registry());
  MakeHistory(box, t);
  const std::string key = MakeKey(box, "key");
  t.tamper("DELETE FROM audit_log WHERE seq = 8");
  ProcessResult r = AuditCmd(box, t,
                             {"checkpoint", "--key", key + "/signing.key",
                              "--out", box.Path("cp.json")});
  EXPECT_EQ(r.exit_code, 1) << r;
  EXPECT_THAT(r.err, HasSubstr("no checkpoint written"));
  EXPECT_THAT(r.err, HasSubstr("audit record seq 8, which is missing"));
  EXPECT_FALSE(std::filesystem::exists(box.Path("cp.json")));
}

}  // namespace
}  // namespace spatial::integration
