#include "src/registry/registry_conformance.h"

#include "src/base/sha256.h"

namespace spatial::registry {

Environment TestEnvironment(const std::string& name) {
  Environment e;
  e.name = name;
  e.supported_architectures = {"dual-encoder"};
  e.memory_requirements_gb = 8;
  e.min_accuracy = 0.7;
  e.max_inference_time_ms = 3000;
  e.allow_cpu_only = true;
  e.skip_heavy_tests = true;
  return e;
}

ModelVersion TestVersion(const std::string& id,
                         const std::string& checksum_seed) {
  ModelVersion v;
  v.version_id = id;
  v.model_type = "spatial-mllm";
  v.architecture = "dual-encoder";
  v.file_path = "/tmp/" + id + ".onnx";
  v.creation_date = "2026-11-25T10:00:00.000000Z";
  v.checksum = base::Sha256Hex(checksum_seed.empty() ? id : checksum_seed);
  v.size_bytes = 1234;
  v.performance_metrics = {{"accuracy", 0.9}};
  v.compatibility_info = {{"status", "known"}, {"memory_estimate_gb", 0.01}};
  v.training_config = {{"epochs", 3}};
  v.tags = {"t1", "t2"};
  v.actor = "tester";
  v.files = {{id + ".onnx", v.checksum, 1234}};
  return v;
}

ValidationRecord TestValidation(const std::string& id, const std::string& env,
                                bool valid) {
  ValidationRecord r;
  r.version_id = id;
  r.environment = env;
  r.valid = valid;
  r.result = {{"valid", valid}};
  r.actor = "tester";
  r.validated_at = "2026-11-25T11:00:00.000000Z";
  return r;
}

void RegistryConformanceTest::SetUp() {
  reg_ = GetParam().open();
  ASSERT_NE(reg_, nullptr);
  ASSERT_TRUE(reg_->PutEnvironment(TestEnvironment("development")).ok());
  ASSERT_TRUE(reg_->PutEnvironment(TestEnvironment("production")).ok());
}

namespace {

// A version reads back exactly as it was added.
TEST_P(RegistryConformanceTest, AddedVersionReadsBackWhole) {
  ModelVersion v = TestVersion("v1");
  ASSERT_TRUE(reg_->AddVersion(v).ok());
  auto got = reg_->GetVersion("v1");
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->checksum, v.checksum);
  EXPECT_EQ(got->files, v.files);
  EXPECT_EQ(got->tags, v.tags);
  EXPECT_EQ(got->performance_metrics, v.performance_metrics);
  EXPECT_EQ(got->compatibility_info, v.compatibility_info);
  EXPECT_EQ(got->training_config, v.training_config);
  EXPECT_EQ(got->validation_status, ValidationStatus::kPending);
  EXPECT_EQ(got->actor, "tester");
}

// A taken id is AlreadyExists and says whether the checksum differs.
TEST_P(RegistryConformanceTest, DuplicateIdIsAlreadyExists) {
  ASSERT_TRUE(reg_->AddVersion(TestVersion("v1")).ok());
  absl::Status same = reg_->AddVersion(TestVersion("v1"));
  EXPECT_EQ(same.code(), absl::StatusCode::kAlreadyExists);
  EXPECT_NE(std::string(same.message()).find("same checksum"),
            std::string::npos);
  absl::Status other = reg_->AddVersion(TestVersion("v1", "different"));
  EXPECT_EQ(other.code(), absl::StatusCode::kAlreadyExists);
  EXPECT_NE(std::string(other.message()).find("another checksum"),
            std::string::npos);
}

// Unknown ids are NotFound and name the close matches.
TEST_P(RegistryConformanceTest, UnknownIdSuggestsCloseMatches) {
  ASSERT_TRUE(reg_->AddVersion(TestVersion("spatial-v1")).ok());
  auto got = reg_->GetVersion("spatial-v2");
  EXPECT_EQ(got.status().code(), absl::StatusCode::kNotFound);
  EXPECT_NE(std::string(got.status().message()).find("spatial-v1"),
            std::string::npos);
  EXPECT_EQ(reg_->GetEnvironment("prod").status().code(),
            absl::StatusCode::kNotFound);
}

// Listing keeps registration order and attaches files and validated
// environments.
TEST_P(RegistryConformanceTest, ListKeepsOrderAndAttachesDetails) {
  for (const char* id : {"b", "a", "c"})
    ASSERT_TRUE(reg_->AddVersion(TestVersion(id)).ok());
  ASSERT_TRUE(
      reg_->RecordValidation(TestValidation("a", "development", true)).ok());
  ASSERT_TRUE(
      reg_->RecordValidation(TestValidation("a", "production", false)).ok());
  auto all = reg_->ListVersions();
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 3u);
  EXPECT_EQ((*all)[0].version_id, "b");
  EXPECT_EQ((*all)[1].version_id, "a");
  EXPECT_EQ((*all)[1].deployment_environments,
            std::vector<std::string>{"development"});
  EXPECT_EQ((*all)[1].validation_status, ValidationStatus::kValidated);
  EXPECT_EQ((*all)[1].files.size(), 1u);
  auto ids = reg_->ListVersionIds();
  ASSERT_TRUE(ids.ok());
  EXPECT_EQ(*ids, (std::vector<std::string>{"b", "a", "c"}));
}

// The version's status follows its validations: failed only when none is valid.
TEST_P(RegistryConformanceTest, ValidationStatusFollowsRecords) {
  ASSERT_TRUE(reg_->AddVersion(TestVersion("v1")).ok());
  ASSERT_TRUE(
      reg_->RecordValidation(TestValidation("v1", "production", false)).ok());
  EXPECT_EQ(reg_->GetVersion("v1")->validation_status,
            ValidationStatus::kFailed);
  ASSERT_TRUE(
      reg_->RecordValidation(TestValidation("v1", "development", true)).ok());
  EXPECT_EQ(reg_->GetVersion("v1")->validation_status,
            ValidationStatus::kValidated);
  EXPECT_EQ(reg_->RecordValidation(TestValidation("nope", "development", true))
                .code(),
            absl::StatusCode::kNotFound);
  auto vals = reg_->ListValidations("v1");
  ASSERT_TRUE(vals.ok());
  EXPECT_EQ(vals->size(), 2u);
}

// Activation requires a valid validation and records the previous version.
TEST_P(RegistryConformanceTest, ActivateRequiresValidationAndRecordsHistory) {
  ASSERT_TRUE(reg_->AddVersion(TestVersion("v1")).ok());
  ASSERT_TRUE(reg_->AddVersion(TestVersion("v2")).ok());
  DeploymentEvent e{
      .environment = "production", .version_id = "v1", .actor = "me"};
  EXPECT_EQ(reg_->Activate(e).status().code(),
            absl::StatusCode::kFailedPrecondition);
  ASSERT_TRUE(
      reg_->RecordValidation(TestValidation("v1", "production", true)).ok());
  ASSERT_TRUE(
      reg_->RecordValidation(TestValidation("v2", "production", true)).ok());
  auto first = reg_->Activate(e);
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(first->previous_version_id, "");
  EXPECT_EQ(reg_->Activate(e).status().code(),
            absl::StatusCode::kFailedPrecondition);
  e.version_id = "v2";
  e.kind = DeploymentKind::kRollback;
  e.reason = "why not";
  auto second = reg_->Activate(e);
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(second->previous_version_id, "v1");
  EXPECT_GT(second->seq, first->seq);
  EXPECT_EQ(**reg_->ActiveVersion("production"), "v2");
  EXPECT_FALSE(reg_->ActiveVersion("development")->has_value());
  auto h = reg_->History("production");
  ASSERT_TRUE(h.ok());
  ASSERT_EQ(h->size(), 2u);
  EXPECT_EQ((*h)[1].kind, DeploymentKind::kRollback);
  EXPECT_EQ((*h)[1].reason, "why not");
  EXPECT_EQ((*h)[1].actor, "me");
  EXPECT_EQ(reg_->History("")->size(), 2u);
  DeploymentEvent bad_env{.environment = "moon", .version_id = "v1"};
  EXPECT_EQ(reg_->Activate(bad_env).status().code(),
            absl::StatusCode::kNotFound);
}

// With expect_active set, Activate is a compare-and-set: it refuses (Aborted,
// nothing recorded) when another version is active, so that a rollback
// planned against an older state cannot land on a newer one.
TEST_P(RegistryConformanceTest, ActivateWithExpectedActiveIsCompareAndSet) {
  for (const char* id : {"v1", "v2", "v3"}) {
    ASSERT_TRUE(reg_->AddVersion(TestVersion(id)).ok());
    ASSERT_TRUE(
        reg_->RecordValidation(TestValidation(id, "production", true)).ok());
  }
  // Nothing active yet: only "" matches.
  auto refused = reg_->Activate(
      {.environment = "production", .version_id = "v1", .expect_active = "v2"});
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kAborted);
  EXPECT_NE(refused.status().message().find("expected 'v2', it is now nothing"),
            std::string::npos)
      << refused.status();
  auto first = reg_->Activate(
      {.environment = "production", .version_id = "v1", .expect_active = ""});
  ASSERT_TRUE(first.ok()) << first.status();
  ASSERT_TRUE(
      reg_->Activate({.environment = "production", .version_id = "v2"}).ok());
  const size_t audit_before = reg_->ListAudit()->size();
  // A rollback planned while v1 was active, landing after v2's promotion.
  refused = reg_->Activate({.environment = "production",
                            .version_id = "v3",
                            .kind = DeploymentKind::kRollback,
                            .expect_active = "v1"});
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kAborted);
  EXPECT_NE(refused.status().message().find("expected 'v1', it is now 'v2'"),
            std::string::npos)
      << refused.status();
  EXPECT_EQ(**reg_->ActiveVersion("production"), "v2");
  EXPECT_EQ(reg_->History("production")->size(), 2u);
  EXPECT_EQ(reg_->ListAudit()->size(), audit_before);
  // The expectation is checked before "already active".
  EXPECT_EQ(reg_->Activate({.environment = "production",
                            .version_id = "v2",
                            .expect_active = "v1"})
                .status()
                .code(),
            absl::StatusCode::kAborted);
  auto landed = reg_->Activate({.environment = "production",
                                .version_id = "v3",
                                .kind = DeploymentKind::kRollback,
                                .expect_active = "v2"});
  ASSERT_TRUE(landed.ok()) << landed.status();
  EXPECT_EQ(landed->previous_version_id, "v2");
  EXPECT_EQ(**reg_->ActiveVersion("production"), "v3");
  // Nothing of the expectation is stored.
  auto history = reg_->History("production");
  ASSERT_TRUE(history.ok()) << history.status();
  for (const auto& e : *history) {
    EXPECT_FALSE(e.expect_active.has_value()) << e.seq;
  }
}

// An import with a conflicting checksum changes nothing at all.
TEST_P(RegistryConformanceTest, ImportIsAllOrNothing) {
  ASSERT_TRUE(reg_->AddVersion(TestVersion("v1")).ok());
  RegistrySnapshot snap;
  snap.environments = {TestEnvironment("staging")};
  snap.versions = {TestVersion("v2"), TestVersion("v1", "other")};
  EXPECT_EQ(reg_->Import(snap).code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(reg_->ListVersions()->size(), 1u);
  EXPECT_EQ(reg_->GetEnvironment("staging").status().code(),
            absl::StatusCode::kNotFound);
  // A validation for an unknown environment also rolls everything back.
  snap.versions = {TestVersion("v2")};
  snap.validations = {TestValidation("v2", "moon", true)};
  EXPECT_FALSE(reg_->Import(snap).ok());
  EXPECT_EQ(reg_->ListVersions()->size(), 1u);
  snap.validations = {TestValidation("v2", "staging", true)};
  ASSERT_TRUE(reg_->Import(snap).ok());
  EXPECT_EQ(reg_->GetVersion("v2")->deployment_environments,
            std::vector<std::string>{"staging"});
}

}  // namespace
}  // namespace spatial::registry

namespace spatial::registry {
namespace {

// Summaries carry what a table shows, including validated environments.
TEST_P(RegistryConformanceTest, SummariesCarryTableFields) {
  ASSERT_TRUE(reg_->AddVersion(TestVersion("v1")).ok());
  ASSERT_TRUE(
      reg_->RecordValidation(TestValidation("v1", "development", true)).ok());
  auto s = reg_->ListVersionSummaries();
  ASSERT_TRUE(s.ok()) << s.status();
  ASSERT_EQ(s->size(), 1u);
  EXPECT_EQ((*s)[0].version_id, "v1");
  EXPECT_EQ((*s)[0].checksum, TestVersion("v1").checksum);
  EXPECT_EQ((*s)[0].size_bytes, 1234u);
  EXPECT_EQ((*s)[0].validation_status, ValidationStatus::kValidated);
  EXPECT_EQ((*s)[0].deployment_environments,
            std::vector<std::string>{"development"});
}

// Imported validations are exactly those whose result has "imported": true
// at the top (IsImportedValidation), whatever the adapter reads them with.
TEST_P(RegistryConformanceTest, ListsImportedValidationsAsTheirResultsSay) {
  for (const char* id : {"v1", "v2", "v3"})
    ASSERT_TRUE(reg_->AddVersion(TestVersion(id)).ok());
  auto record = [&](const char* id, const char* env, Json result) {
    ValidationRecord r = TestValidation(id, env, true);
    r.result = std::move(result);
    ASSERT_TRUE(reg_->RecordValidation(r).ok());
  };
  record("v1", "development", {{"valid", true}, {"imported", true}});
  record("v1", "production", {{"imported", 1}});
  record("v2", "development", {{"imported", "true"}});
  record("v2", "production", {{"detail", {{"imported", true}}}});
  record("v3", "development", {{"imported", false}});
  record("v3", "production", {{"imported", true}});
  auto imported = reg_->ListImportedValidations();
  ASSERT_TRUE(imported.ok()) << imported.status();
  using Pairs = std::vector<std::pair<std::string, std::string>>;
  EXPECT_EQ(*imported, (Pairs{{"v1", "development"}, {"v3", "production"}}));
  // The same answer as the judgement of every parsed record.
  EXPECT_EQ(*imported, *reg_->Registry::ListImportedValidations());
}

}  // namespace
}  // namespace spatial::registry

namespace spatial::registry {
namespace {

// Imported history is appended as it was, and only when it follows on from
// the active version; otherwise nothing at all is imported.
TEST_P(RegistryConformanceTest, ImportAppendsHistoryThatFollowsOn) {
  RegistrySnapshot snap;
  snap.versions = {TestVersion("v1"), TestVersion("v2")};
  snap.deployments = {{.environment = "production",
                       .version_id = "v1",
                       .actor = "alice",
                       .reason = "first",
                       .created_at = "2026-11-01T10:00:00.000000Z"},
                      {.environment = "production",
                       .version_id = "v2",
                       .previous_version_id = "v1",
                       .kind = DeploymentKind::kRollback,
                       .actor = "bob",
                       .reason = "back",
                       .created_at = "2026-11-02T10:00:00.000000Z"}};
  ASSERT_TRUE(reg_->Import(snap).ok());
  auto h = reg_->History("production");
  ASSERT_TRUE(h.ok()) << h.status();
  ASSERT_EQ(h->size(), 2u);
  EXPECT_LT((*h)[0].seq, (*h)[1].seq);
  EXPECT_EQ((*h)[0].created_at, "2026-11-01T10:00:00.000000Z");
  EXPECT_EQ((*h)[1].kind, DeploymentKind::kRollback);
  EXPECT_EQ((*h)[1].actor, "bob");
  EXPECT_EQ((*h)[1].reason, "back");
  EXPECT_EQ((*h)[1].previous_version_id, "v1");
  EXPECT_EQ(**reg_->ActiveVersion("production"), "v2");

  RegistrySnapshot broken;
  broken.versions = {TestVersion("v3")};
  broken.deployments = {{.environment = "production",
                         .version_id = "v3",
                         .previous_version_id = "v1"}};
  EXPECT_EQ(reg_->Import(broken).code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(reg_->GetVersion("v3").status().code(),
            absl::StatusCode::kNotFound);
  broken.deployments = {{.environment = "moon", .version_id = "v3"}};
  EXPECT_EQ(reg_->Import(broken).code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(reg_->History("")->size(), 2u);
}

}  // namespace
}  // namespace spatial::registry
