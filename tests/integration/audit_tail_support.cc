#include "tests/integration/audit_tail_support.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace spatial::integration {
namespace {
using ::testing::HasSubstr;
using ::testing::Not;

ProcessResult ModelCmd(const Sandbox& box, const AuditTarget& t,
                       std::vector<std::string> args) {
  args.insert(args.end(), t.extra.begin(), t.extra.end());
  return box.ModelAt(t.registry, args);
}

}  // namespace

ProcessResult AuditCmd(const Sandbox& box, const AuditTarget& t,
                       std::vector<std::string> args) {
  args.insert(args.begin(), "audit");
  args.insert(args.end(), {"--registry", t.registry});
  args.insert(args.end(), t.extra.begin(), t.extra.end());
  return box.Spatial(args);
}

void MakeHistory(Sandbox& box, const AuditTarget& t) {
  for (const char* id : {"v1", "v2"}) {
    for (std::vector<std::string> args : std::vector<std::vector<std::string>>{
             {"register", box.WriteRandomFile(std::string(id) + ".onnx", 200),
              "--version-id", id, "--architecture", "dual-encoder", "--metric",
              "accuracy=0.9", "--metric", "inference_time_ms=10"},
             {"validate", id, "--environment", "development"},
             {"promote", id, "--environment", "development"}}) {
      ProcessResult r = ModelCmd(box, t, args);
      ASSERT_EQ(r.exit_code, 0) << r;
    }
  }
  ProcessResult r =
      ModelCmd(box, t, {"rollback", "--environment", "development"});
  ASSERT_EQ(r.exit_code, 0) << r;
}

std::string MakeKey(const Sandbox& box, const std::string& name) {
  ProcessResult r = box.Spatial({"keys", "generate", "--out", box.Path(name)});
  EXPECT_EQ(r.exit_code, 0) << r;
  return box.Path(name);
}

void TakeCheckpoint(const Sandbox& box, const AuditTarget& t,
                    const std::string& key_dir, const std::string& out) {
  ProcessResult r = AuditCmd(
      box, t, {"checkpoint", "--key", key_dir + "/signing.key", "--out", out});
  EXPECT_EQ(r.exit_code, 0) << r;
  EXPECT_THAT(r.out, HasSubstr("wrote " + out));
}

void ExpectCutTailCaughtByRows(Sandbox& box, const AuditTarget& t) {
  MakeHistory(box, t);
  t.tamper("DELETE FROM audit_log WHERE seq > 6");
  ProcessResult r = AuditCmd(box, t, {"verify"});
  EXPECT_EQ(r.exit_code, 1) << r;
  // The chain that is left is whole: only the rows can tell.
  EXPECT_THAT(r.out, HasSubstr("6 records, chain intact"));
  EXPECT_THAT(r.err, HasSubstr("audit log and registry rows DISAGREE"));
  EXPECT_THAT(r.err,
              HasSubstr("deployment #2 (v2 to development) was made by audit "
                        "record seq 7, which is missing (the log's tail was "
                        "cut or the record deleted)"));
  EXPECT_THAT(r.err, HasSubstr("deployment #3 (v1 to development) was made by "
                               "audit record seq 8, which is missing"));
}

void ExpectForgedValidationCaught(Sandbox& box, const AuditTarget& t) {
  MakeHistory(box, t);
  ProcessResult clean = AuditCmd(box, t, {"verify"});
  EXPECT_EQ(clean.exit_code, 0) << clean;
  // 1 environment... the import's environments, 2 versions, 2 validations,
  // 3 deployments: every row was written with a digest.
  EXPECT_THAT(clean.out,
              ::testing::MatchesRegex(
                  "(.|\n)* ([0-9]+) rows hold exactly what their record's "
                  "digest says\n"));
  t.tamper(
      "UPDATE validations SET result = '{\"measurement\":{\"accuracy\":"
      "0.99}}' WHERE version_id = 'v2'");
  ProcessResult r = AuditCmd(box, t, {"verify"});
  EXPECT_EQ(r.exit_code, 1) << r;
  EXPECT_THAT(r.out, HasSubstr("8 records, chain intact"));
  EXPECT_THAT(r.err, HasSubstr("validation of v2 for development was edited "
                               "after audit record seq 6"));
  EXPECT_THAT(r.err, HasSubstr("no longer match the digest"));
}

void ExpectCutTailCaughtByCheckpoint(Sandbox& box, const AuditTarget& t) {
  MakeHistory(box, t);
  const std::string key = MakeKey(box, "audit-key");
  const std::string cp = box.Path("checkpoint.json");
  TakeCheckpoint(box, t, key, cp);
  const std::vector<std::string> with_cp = {
      "verify", "--checkpoint", cp, "--public-key", key + "/signing.pub"};
  ProcessResult intact = AuditCmd(box, t, with_cp);
  EXPECT_EQ(intact.exit_code, 0) << intact;
  EXPECT_THAT(intact.out, HasSubstr("contains checkpoint " + cp + " (seq 8"));

  // The rollback undone without a trace: its deployment and its record go.
  t.tamper(
      "DELETE FROM audit_log WHERE seq = 8; "
      "DELETE FROM deployments WHERE seq = 3");
  ProcessResult blind = AuditCmd(box, t, {"verify"});
  EXPECT_EQ(blind.exit_code, 0)
      << "the rows alone cannot see this cut; if they now can, move this "
         "scenario to one they cannot\n"
      << blind;
  ProcessResult cut = AuditCmd(box, t, with_cp);
  EXPECT_EQ(cut.exit_code, 1) << cut;
  EXPECT_THAT(cut.err, HasSubstr("audit log FAILS its checkpoint: the audit "
                                 "log ends at seq 7 but " +
                                 cp));
  EXPECT_THAT(cut.err, HasSubstr("vouches for 8 records: the log's tail was "
                                 "cut off"));

  // New changes fill the gap: the log is as long again, but another log.
  ProcessResult again =
      ModelCmd(box, t, {"rollback", "--environment", "development"});
  ASSERT_EQ(again.exit_code, 0) << again;
  EXPECT_EQ(AuditCmd(box, t, {"verify"}).exit_code, 0);
  ProcessResult diverged = AuditCmd(box, t, with_cp);
  EXPECT_EQ(diverged.exit_code, 1) << diverged;
  EXPECT_THAT(diverged.err, HasSubstr("the audit log diverges from " + cp));
  EXPECT_THAT(diverged.err, HasSubstr("its record seq 8 has hash"));
}

void ExpectDeletedRowCaught(Sandbox& box, const AuditTarget& t) {
  MakeHistory(box, t);
  t.tamper("DELETE FROM deployments WHERE seq = 3");
  ProcessResult r = AuditCmd(box, t, {"verify"});
  EXPECT_EQ(r.exit_code, 1) << r;
  EXPECT_THAT(r.out, HasSubstr("8 records, chain intact"));
  EXPECT_THAT(r.err,
              HasSubstr("audit record seq 8 (rollback v1) made "
                        "deployment #3 (v1 to development), which is gone"));
}

void ExpectForeignCheckpointRefused(Sandbox& box, const AuditTarget& t,
                                    const AuditTarget& other) {
  MakeHistory(box, t);
  ProcessResult r = box.ModelAt(other.registry, [&] {
    std::vector<std::string> a = {
        "register",       box.WriteRandomFile("other.onnx", 200),
        "--version-id",   "other",
        "--architecture", "dual-encoder"};
    a.insert(a.end(), other.extra.begin(), other.extra.end());
    return a;
  }());
  ASSERT_EQ(r.exit_code, 0) << r;
  const std::string key = MakeKey(box, "audit-key");
  const std::string cp = box.Path("other-checkpoint.json");
  TakeCheckpoint(box, other, key, cp);
  ProcessResult v = AuditCmd(
      box, t,
      {"verify", "--checkpoint", cp, "--public-key", key + "/signing.pub"});
  EXPECT_EQ(v.exit_code, 1) << v;
  EXPECT_THAT(v.err, HasSubstr(cp + " is a checkpoint of registry "));
  EXPECT_THAT(v.err, HasSubstr(", not of this one ("));
  EXPECT_THAT(v.out, Not(HasSubstr("contains checkpoint")));
}

}  // namespace spatial::integration
