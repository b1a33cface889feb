// Black-box tests of `spatial model` promote, history and rollback.
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/integration/cli_sandbox.h"

namespace spatial::integration {
namespace {

using ::testing::HasSubstr;

// Registers `ids` with good metrics and validates each for development.
void RegisterValidated(Sandbox& box, const std::vector<std::string>& ids) {
  for (const auto& id : ids) {
    box.Register(
        box.WriteRandomFile(id + ".onnx", 128), id,
        {"--metric", "accuracy=0.9", "--metric", "inference_time_ms=50"});
    ProcessResult r =
        box.Model({"validate", id, "--environment", "development"});
    EXPECT_EQ(r.exit_code, 0) << r;
  }
}

Json History(const Sandbox& box) {
  return box.JsonAt(box.registry(), {"history"});
}

// Promoting a version that was never validated, or whose validation failed,
// is refused (exit 1) with the command to run, and records nothing.
TEST(CliRegistryTest, PromoteIsRefusedWhenVersionIsNotValidated) {
  Sandbox box;
  box.Register(box.WriteRandomFile("m.onnx", 128), "v1",
               {"--metric", "accuracy=0.5"});
  ProcessResult never =
      box.Model({"promote", "v1", "--environment", "development"});
  EXPECT_EQ(never.exit_code, 1) << never;
  EXPECT_THAT(
      never.err,
      HasSubstr(
          "version 'v1' is not validated for development; run: spatial model "
          "validate v1 --environment development"));

  ASSERT_EQ(
      box.Model({"validate", "v1", "--environment", "development"}).exit_code,
      1);
  ProcessResult failed =
      box.Model({"promote", "v1", "--environment", "development"});
  EXPECT_EQ(failed.exit_code, 1) << failed;
  EXPECT_THAT(failed.err, HasSubstr("(its last validation failed)"));
  EXPECT_EQ(History(box), Json::array());
}

// promote records who and why; rollback --plan lists the candidates and
// changes nothing; rollback returns to the previous version as kind
// "rollback"; rollback --to picks a given version.
TEST(CliRegistryTest, RollbackReturnsToPreviousVersionWhenPlanWasOnlyPrinted) {
  Sandbox box;
  RegisterValidated(box, {"v1", "v2", "v3"});
  ProcessResult p1 = box.Model(
      {"promote", "v1", "--environment", "development", "--reason", "first"});
  ASSERT_EQ(p1.exit_code, 0) << p1;
  EXPECT_EQ(p1.out, "promoted v1 to development (previous: none)\n");
  ProcessResult p2 =
      box.Model({"promote", "v2", "--environment", "development"});
  ASSERT_EQ(p2.exit_code, 0) << p2;
  EXPECT_EQ(p2.out, "promoted v2 to development (previous: v1)\n");
  ProcessResult again =
      box.Model({"promote", "v2", "--environment", "development"});
  EXPECT_EQ(again.exit_code, 1) << again;
  EXPECT_THAT(again.err, HasSubstr("already active in development"));

  Json before = History(box);
  ASSERT_EQ(before.size(), 2u) << before.dump(2);
  EXPECT_EQ(before[0]["kind"], "promote");
  EXPECT_EQ(before[0]["version_id"], "v1");
  EXPECT_EQ(before[0]["previous_version_id"], "");
  EXPECT_EQ(before[0]["reason"], "first");
  EXPECT_EQ(before[0]["actor"], "tester");
  EXPECT_EQ(before[1]["version_id"], "v2");
  EXPECT_EQ(before[1]["previous_version_id"], "v1");

  ProcessResult plan =
      box.Model({"rollback", "--environment", "development", "--plan"});
  ASSERT_EQ(plan.exit_code, 0) << plan;
  EXPECT_THAT(plan.out, HasSubstr("active:      v2\n"));
  EXPECT_THAT(plan.out, HasSubstr("v1"));
  EXPECT_THAT(plan.out, HasSubstr("nothing changed (--plan)"));
  Json plan_json = box.JsonAt(
      box.registry(), {"rollback", "--environment", "development", "--plan"});
  EXPECT_EQ(plan_json["environment"], "development");
  EXPECT_EQ(plan_json["active"], "v2");
  ASSERT_EQ(plan_json["candidates"].size(), 1u) << plan_json.dump(2);
  EXPECT_EQ(plan_json["candidates"][0]["version_id"], "v1");
  EXPECT_EQ(History(box), before);
  EXPECT_EQ(box.Model({"latest", "--environment", "development"}).out, "v3\n");

  ProcessResult back = box.Model(
      {"rollback", "--environment", "development", "--reason", "v2 regressed"});
  ASSERT_EQ(back.exit_code, 0) << back;
  EXPECT_EQ(back.out, "rolled back development from v2 to v1\n");
  Json after = History(box);
  ASSERT_EQ(after.size(), 3u) << after.dump(2);
  EXPECT_EQ(after[2]["kind"], "rollback");
  EXPECT_EQ(after[2]["version_id"], "v1");
  EXPECT_EQ(after[2]["previous_version_id"], "v2");
  EXPECT_EQ(after[2]["reason"], "v2 regressed");
  EXPECT_GT(after[2]["seq"].get<int64_t>(), after[1]["seq"].get<int64_t>());
  ProcessResult list = box.Model({"list"});
  EXPECT_THAT(list.out, testing::ContainsRegex(
                            "\nv1 +spatial-mllm +dual-encoder +validated +"
                            "development +development "));

  ProcessResult to =
      box.Model({"rollback", "--environment", "development", "--to", "v3"});
  ASSERT_EQ(to.exit_code, 0) << to;
  EXPECT_EQ(to.out, "rolled back development from v1 to v3\n");
  Json last = History(box);
  ASSERT_EQ(last.size(), 4u);
  EXPECT_EQ(last[3]["kind"], "rollback");
  EXPECT_EQ(last[3]["version_id"], "v3");

  // history --environment filters; text history names the kinds.
  EXPECT_EQ(box.JsonAt(box.registry(), {"history", "--environment", "staging"}),
            Json::array());
  EXPECT_EQ(
      box.JsonAt(box.registry(), {"history", "--environment", "development"}),
      last);
  ProcessResult text = box.Model({"history"});
  EXPECT_THAT(text.out, HasSubstr("rollback"));
  EXPECT_THAT(text.out, HasSubstr("v2 regressed"));
}

// With nothing previously active, rollback is refused (exit 1) and rollback
// --to an unvalidated or unknown version is refused too; history is unchanged.
TEST(CliRegistryTest, RollbackIsRefusedWhenThereIsNothingToReturnTo) {
  Sandbox box;
  RegisterValidated(box, {"v1"});
  box.Register(box.WriteRandomFile("raw.onnx", 64), "raw");
  ASSERT_EQ(
      box.Model({"promote", "v1", "--environment", "development"}).exit_code,
      0);
  Json before = History(box);

  ProcessResult r = box.Model({"rollback", "--environment", "development"});
  EXPECT_EQ(r.exit_code, 1) << r;
  EXPECT_THAT(r.err, HasSubstr("nothing to roll back to in development"));
  ProcessResult raw =
      box.Model({"rollback", "--environment", "development", "--to", "raw"});
  EXPECT_EQ(raw.exit_code, 1) << raw;
  EXPECT_THAT(raw.err, HasSubstr("not validated for development"));
  ProcessResult unknown =
      box.Model({"rollback", "--environment", "development", "--to", "v9"});
  EXPECT_EQ(unknown.exit_code, 1) << unknown;
  EXPECT_THAT(unknown.err, HasSubstr("unknown version id 'v9'"));
  ProcessResult env = box.Model({"rollback", "--environment", "qa", "--plan"});
  EXPECT_EQ(env.exit_code, 2) << env;  // a usage error, as everywhere
  EXPECT_THAT(env.err, HasSubstr("unknown environment 'qa'"));
  EXPECT_EQ(History(box), before);
}

}  // namespace
}  // namespace spatial::integration
