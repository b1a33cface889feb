#include "src/registry/registry_service.h"

#include <sqlite3.h>
#include <sys/stat.h>

#include <filesystem>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "src/base/files.h"
#include "src/registry/legacy_json.h"
#include "src/registry/sqlite/sqlite_registry.h"

namespace spatial::registry {
namespace {
namespace fs = std::filesystem;

Environment Env(const std::string& name, bool gpu_required, double min_acc) {
  Environment e;
  e.name = name;
  e.supported_architectures = {"dual-encoder", "visual-encoder"};
  e.memory_requirements_gb = 8;
  e.min_gpu_memory_gb = 4;
  e.min_accuracy = min_acc;
  e.max_inference_time_ms = 2000;
  e.allow_cpu_only = !gpu_required;
  e.skip_heavy_tests = !gpu_required;
  return e;
}

class RegistryServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = ::testing::TempDir() + "/registry_service_" + info->name();
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    reg_ = Open(dir_ + "/r.db");
    service_ = MakeService(reg_.get(), dir_ + "/store");
    ASSERT_TRUE(service_
                    ->EnsureEnvironments({Env("development", false, 0.7),
                                          Env("production", true, 0.85)})
                    .ok());
  }

  static std::unique_ptr<Registry> Open(const std::string& path) {
    auto r = SqliteRegistry::Open({.path = path});
    EXPECT_TRUE(r.ok()) << r.status();
    return std::move(*r);
  }

  std::unique_ptr<RegistryService> MakeService(Registry* reg,
                                               const std::string& store) {
    RegistryService::Options o;
    o.registry = reg;
    o.store_root = store;
    o.inspector = [this](const std::string& path) -> absl::StatusOr<Json> {
      inspected_.push_back(path);
      return Json{{"dual_encoder", true},
                  {"memory_estimate_gb", 0.02},
                  {"parameter_count", 580}};
    };
    // A fake of src/validation: what a run on the evaluation set measured.
    o.measure = [this](const ArtifactStore&, const ModelVersion& v,
                       const Environment&) -> absl::StatusOr<Measurement> {
      measured_.push_back(v.version_id);
      Measurement m;
      m.set = "fake set";
      m.set_digest = std::string(64, 'f');
      m.n = 12;
      m.accuracy = 0.9;
      m.latency_p50_ms = m.latency_p95_ms = 2;
      return m;
    };
    return std::make_unique<RegistryService>(std::move(o));
  }

  // A bundle directory (model.onnx + manifest.json): what can be measured.
  ModelVersion RegisterBundle(const std::string& id) {
    WriteFile(id + "/model.onnx", "graph of " + id);
    WriteFile(id + "/manifest.json", R"({"metrics": {"accuracy": 0.92}})");
    RegisterRequest req{
        .path = dir_ + "/" + id, .version_id = id, .actor = "me"};
    auto v = service_->Register(req);
    EXPECT_TRUE(v.ok()) << v.status();
    return *v;
  }

  std::string WriteFile(const std::string& name, const std::string& contents) {
    std::string p = dir_ + "/" + name;
    fs::create_directories(fs::path(p).parent_path());
    EXPECT_TRUE(base::WriteFileAtomic(p, contents).ok());
    return p;
  }

  ModelVersion Register(const std::string& id, const std::string& contents,
                        double acc = 0.9) {
    RegisterRequest req{
        .path = WriteFile(id + ".onnx", contents),
        .version_id = id,
        .metrics = {{"accuracy", acc}, {"inference_time_ms", 3}},
        .actor = "me"};
    auto v = service_->Register(req);
    EXPECT_TRUE(v.ok()) << v.status();
    return *v;
  }

  void ValidateAndPromote(const std::string& id, const std::string& env) {
    auto r = service_->Validate({id, env, "test host has no GPU", "me"});
    ASSERT_TRUE(r.ok()) << r.status();
    ASSERT_TRUE(r->valid) << r->result.dump();
    ASSERT_TRUE(service_->Promote(id, env, "me", "test").ok());
  }

  std::string dir_;
  std::unique_ptr<Registry> reg_;
  std::unique_ptr<RegistryService> service_;
  std::vector<std::string> inspected_;
  std::vector<std::string> measured_;  // version ids, by the fake measure
};

// Register reads the graph for compatibility and infers the architecture.
TEST_F(RegistryServiceTest, RegisterFillsCompatibilityFromTheGraph) {
  ModelVersion v = Register("v1", "graph");
  EXPECT_EQ(v.architecture, "dual-encoder");
  EXPECT_EQ(v.model_type, "spatial-mllm");
  EXPECT_EQ(v.compatibility_info["status"], "known");
  EXPECT_EQ(v.compatibility_info["parameter_count"], 580);
  ASSERT_EQ(inspected_.size(), 1u);
  EXPECT_TRUE(fs::exists(service_->store().BlobPath(v.checksum)));
}

// A bundle directory takes the metrics of its manifest; --metric overrides
// one by name.
TEST_F(RegistryServiceTest, BundleMetricsComeFromItsManifest) {
  WriteFile("bundle/model.onnx", "graph");
  WriteFile(
      "bundle/manifest.json",
      R"({"metrics": {"accuracy": 0.97, "inference_time_ms": 1.5, "other": "x"}})");
  auto v = service_->Register({.path = dir_ + "/bundle", .version_id = "b1"});
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(v->performance_metrics,
            (std::map<std::string, double>{{"accuracy", 0.97},
                                           {"inference_time_ms", 1.5}}));
  EXPECT_EQ(inspected_.back(), dir_ + "/bundle/model.onnx");
  auto given = service_->Register({.path = dir_ + "/bundle",
                                   .version_id = "b2",
                                   .metrics = {{"accuracy", 0.5}}});
  ASSERT_TRUE(given.ok());
  // --metric replaces the manifest's value of its name and keeps the others.
  EXPECT_EQ(given->performance_metrics,
            (std::map<std::string, double>{{"accuracy", 0.5},
                                           {"inference_time_ms", 1.5}}));
}

// A bundle whose file names sort differently by path and by bytes ("a.b",
// "a/b") passes the store check once stored and read back.
TEST_F(RegistryServiceTest, NestedBundlePassesTheStoreCheck) {
  WriteFile("nested/a/b", "in dir");
  WriteFile("nested/a.b", "dotted");
  auto v = service_->Register({.path = dir_ + "/nested",
                               .version_id = "n1",
                               .architecture = "visual-encoder"});
  ASSERT_TRUE(v.ok()) << v.status();
  auto checks = service_->Test();
  ASSERT_TRUE(checks.ok()) << checks.status();
  ASSERT_EQ(checks->size(), 1u);
  EXPECT_TRUE((*checks)[0].status.ok()) << (*checks)[0].status;
}

// A file the inspector cannot read needs --architecture and stays "unknown".
TEST_F(RegistryServiceTest, NonOnnxFileNeedsArchitecture) {
  RegisterRequest req{.path = WriteFile("weights.pth", "torch"),
                      .version_id = "p1"};
  EXPECT_EQ(service_->Register(req).status().code(),
            absl::StatusCode::kInvalidArgument);
  req.architecture = "visual-encoder";
  auto v = service_->Register(req);
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(v->compatibility_info["status"], "unknown");
  EXPECT_EQ(v->model_type, "standard-cnn");
}

// Re-registering a taken id writes nothing to the store.
TEST_F(RegistryServiceTest, DuplicateIdLeavesStoreUntouched) {
  Register("v1", "one");
  RegisterRequest req{.path = WriteFile("two.onnx", "two"), .version_id = "v1"};
  auto before =
      std::distance(fs::recursive_directory_iterator(dir_ + "/store"), {});
  absl::Status s = service_->Register(req).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kAlreadyExists);
  EXPECT_NE(std::string(s.message()).find("another checksum"),
            std::string::npos);
  EXPECT_EQ(
      std::distance(fs::recursive_directory_iterator(dir_ + "/store"), {}),
      before);
}

// Bad requests are InvalidArgument before anything is read or written.
TEST_F(RegistryServiceTest, RejectsBadRequests) {
  std::string f = WriteFile("m.onnx", "x");
  struct Case {
    RegisterRequest req;
    absl::StatusCode code;
  };
  const Case cases[] = {
      {{.path = f, .version_id = "../up"}, absl::StatusCode::kInvalidArgument},
      {{.path = f, .version_id = "ok", .model_type = "gpt"},
       absl::StatusCode::kInvalidArgument},
      {{.path = f, .version_id = "ok", .architecture = "tri-encoder"},
       absl::StatusCode::kInvalidArgument},
      {{.path = f, .version_id = "ok", .metrics = {{"accuracy", 1.5}}},
       absl::StatusCode::kInvalidArgument},
      {{.path = f, .version_id = "ok", .metrics = {{"inference_time_ms", -1}}},
       absl::StatusCode::kInvalidArgument},
      {{.path = f, .version_id = "ok", .tags = {"bad tag"}},
       absl::StatusCode::kInvalidArgument},
      {{.path = dir_ + "/missing.onnx", .version_id = "ok"},
       absl::StatusCode::kNotFound},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(service_->Register(c.req).status().code(), c.code)
        << c.req.version_id;
  }
  EXPECT_TRUE(reg_->ListVersions()->empty());
}

// A tampered artifact fails validation and cannot be promoted.
TEST_F(RegistryServiceTest, TamperedArtifactFailsValidationAndPromotion) {
  ModelVersion v = Register("v1", "good bytes");
  std::string blob = service_->store().BlobPath(v.checksum);
  ::chmod(blob.c_str(), 0644);
  ASSERT_TRUE(base::WriteFileAtomic(blob, "evil bytes").ok());
  auto r = service_->Validate({"v1", "development", "", "me"});
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->valid);
  EXPECT_EQ(r->result["rules"][0]["outcome"], "fail");
  EXPECT_EQ(service_->Promote("v1", "development", "me", "").status().code(),
            absl::StatusCode::kFailedPrecondition);
  auto checks = service_->Test();
  ASSERT_TRUE(checks.ok());
  EXPECT_EQ((*checks)[0].status.code(), absl::StatusCode::kDataLoss);
}

// A validation flipped to valid in the file behind the log's back (what
// anyone with write access to it can do) does not promote: the row no longer
// matches the digest of the record that wrote it.
TEST_F(RegistryServiceTest, ValidationForgedInTheFileDoesNotPromote) {
  RegisterBundle("v1");
  auto failed = service_->Validate({"v1", "production", "", "me"});
  ASSERT_TRUE(failed.ok()) << failed.status();
  ASSERT_FALSE(failed->valid);  // a GPU environment, no override
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open((dir_ + "/r.db").c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db,
                         "UPDATE validations SET valid = 1 WHERE version_id "
                         "= 'v1' AND environment = 'production'",
                         nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(db);
  ASSERT_TRUE(reg_->ListValidations("v1")->front().valid);
  auto refused = service_->Promote("v1", "production", "me", "");
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(refused.status().message()),
              ::testing::HasSubstr(
                  "the registry rows it relies on disagree with the audit "
                  "log (validation of v1 for production was edited after"));
  EXPECT_FALSE(reg_->ActiveVersion("production")->has_value());
}

// Validation for a GPU environment records the CPU override reason.
TEST_F(RegistryServiceTest, CpuOverrideIsStored) {
  RegisterBundle("v1");
  auto without = service_->Validate({"v1", "production", "", "me"});
  ASSERT_TRUE(without.ok());
  EXPECT_FALSE(without->valid);
  auto with =
      service_->Validate({"v1", "production", "CI runner, no GPU", "me"});
  ASSERT_TRUE(with.ok());
  EXPECT_TRUE(with->valid);
  auto stored = reg_->ListValidations("v1");
  ASSERT_TRUE(stored.ok());
  ASSERT_EQ(stored->size(), 1u);
  EXPECT_EQ((*stored)[0].override_reason, "CI runner, no GPU");
  EXPECT_EQ(measured_, (std::vector<std::string>{"v1", "v1"}));
  EXPECT_TRUE(service_->Promote("v1", "production", "me", "").ok());
}

// Where measurement is required a file that cannot be run fails validation
// and the runner is never asked; a validation without a measurement (as
// older ones are) does not promote there; development judges declared values.
TEST_F(RegistryServiceTest, ProductionNeedsAMeasuredValidation) {
  Register("file", "bytes");
  auto prod = service_->Validate({"file", "production", "CI", "me"});
  ASSERT_TRUE(prod.ok()) << prod.status();
  EXPECT_FALSE(prod->valid);
  EXPECT_EQ(prod->result["measurement"]["status"], "not_runnable");
  EXPECT_TRUE(measured_.empty());
  auto dev = service_->Validate({"file", "development", "", "me"});
  ASSERT_TRUE(dev.ok());
  EXPECT_TRUE(dev->valid) << dev->result.dump(1);

  RegisterBundle("old");
  ValidationRecord unmeasured{.version_id = "old",
                              .environment = "production",
                              .valid = true,
                              .result = {{"valid", true}},
                              .actor = "me",
                              .validated_at = "2026-01-01T00:00:00Z"};
  ASSERT_TRUE(reg_->RecordValidation(unmeasured).ok());
  auto refused = service_->Promote("old", "production", "me", "");
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(refused.status().message().find("measured nothing"),
            std::string::npos)
      << refused.status();
  EXPECT_EQ(*reg_->ActiveVersion("production"), std::nullopt);
}

// Rollback plans the newest previously active validated version and executes
// it.
TEST_F(RegistryServiceTest, RollbackPlansAndExecutes) {
  for (const char* id : {"v1", "v2", "v3"}) {
    Register(id, id);
    ValidateAndPromote(id, "development");
  }
  auto plan = service_->PlanRollback("development");
  ASSERT_TRUE(plan.ok());
  EXPECT_EQ(plan->active_version, "v3");
  ASSERT_EQ(plan->candidates.size(), 2u);
  EXPECT_EQ(plan->candidates[0].version_id, "v2");
  EXPECT_EQ(plan->candidates[1].version_id, "v1");
  EXPECT_EQ(reg_->History("development")->size(),
            3u);  // --plan changed nothing
  auto e = service_->Rollback("development", "", "me", "bad canary");
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_EQ(e->version_id, "v2");
  EXPECT_EQ(e->kind, DeploymentKind::kRollback);
  auto to = service_->Rollback("development", "v1", "me", "");
  ASSERT_TRUE(to.ok());
  EXPECT_EQ(**reg_->ActiveVersion("development"), "v1");
  EXPECT_EQ(service_->Rollback("production", "", "me", "").status().code(),
            absl::StatusCode::kFailedPrecondition);
}

// A rollback is planned, then its target verified, then activated; another
// client's promotion can commit in between. The rollback must then not land
// on the target planned against the old state: it is planned again.
class RollbackRaceTest : public RegistryServiceTest {
 protected:
  void SetUp() override {
    RegistryServiceTest::SetUp();
    // Another client of the same registry file, as another process would be.
    other_ = Open(dir_ + "/r.db");
    // An environment that requires signatures, so that the service calls
    // signature_check between planning and activating: the moment where the
    // other client's promotion is made to land.
    Environment canary = Env("canary", false, 0.7);
    canary.extra["require_signature"] = true;
    ASSERT_TRUE(reg_->PutEnvironment(canary).ok());
    for (const char* id : {"v1", "v2", "v3"}) Register(id, id);
    RegistryService::Options o;
    o.registry = reg_.get();
    o.store_root = dir_ + "/store";
    o.signature_check = [this](Registry&, const ArtifactStore&,
                               const ModelVersion&,
                               const Environment&) -> absl::Status {
      if (!meanwhile_.empty()) {
        std::string id = meanwhile_.front();
        meanwhile_.erase(meanwhile_.begin());
        auto e = other_->Activate({.environment = "canary", .version_id = id});
        EXPECT_TRUE(e.ok()) << e.status();
      }
      return absl::OkStatus();
    };
    service_ = std::make_unique<RegistryService>(std::move(o));
    for (const char* id : {"v1", "v2", "v3"}) {
      auto r = service_->Validate({id, "canary", "", "me"});
      ASSERT_TRUE(r.ok() && r->valid) << r.status();
    }
    ASSERT_TRUE(service_->Promote("v1", "canary", "me", "").ok());
    ASSERT_TRUE(service_->Promote("v2", "canary", "me", "").ok());
  }

  std::unique_ptr<Registry> other_;
  std::vector<std::string> meanwhile_;  // promoted by other_, one per check
};

TEST_F(RollbackRaceTest, APromotionBetweenPlanAndActivateIsReplanned) {
  // Planned: v2 active, so back to v1. Meanwhile v3 is promoted; rolling back
  // now means undoing v3, i.e. back to v2.
  meanwhile_ = {"v3"};
  auto e = service_->Rollback("canary", "", "me", "bad canary");
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_TRUE(meanwhile_.empty());
  EXPECT_EQ(e->version_id, "v2");
  EXPECT_EQ(e->previous_version_id, "v3");
  EXPECT_EQ(**reg_->ActiveVersion("canary"), "v2");
  auto h = reg_->History("canary");
  ASSERT_TRUE(h.ok());
  std::vector<std::string> chain;
  for (const auto& d : *h)
    chain.push_back(d.previous_version_id + ">" + d.version_id);
  EXPECT_EQ(chain,
            (std::vector<std::string>{">v1", "v1>v2", "v2>v3", "v3>v2"}));
}

// A rollback meant for one version (the drift alarm's) leaves alone the
// promotion that replaced it between plan and activate.
TEST_F(RollbackRaceTest, OnlyFromAVersionThatWasReplacedDoesNothing) {
  meanwhile_ = {"v3"};
  auto e = service_->Rollback("canary", "v1", "me", "drift", "v2");
  EXPECT_EQ(e.status().code(), absl::StatusCode::kFailedPrecondition)
      << e.status();
  EXPECT_NE(e.status().message().find("v2 is no longer active in canary "
                                      "(active: v3)"),
            std::string::npos)
      << e.status();
  EXPECT_EQ(**reg_->ActiveVersion("canary"), "v3");
  ASSERT_EQ(reg_->History("canary")->size(), 3u);
  // While it is active, the rollback happens.
  auto ok = service_->Rollback("canary", "v2", "me", "drift", "v3");
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_EQ(ok->previous_version_id, "v3");
}

TEST_F(RollbackRaceTest, GivesUpWithAbortedWhenTheStateKeepsChanging) {
  meanwhile_ = {"v3", "v1", "v3"};  // one new active version per attempt
  auto e = service_->Rollback("canary", "", "me", "");
  EXPECT_EQ(e.status().code(), absl::StatusCode::kAborted);
  EXPECT_NE(e.status().message().find("gave up after 3 attempts"),
            std::string::npos)
      << e.status();
  EXPECT_NE(e.status().message().find("expected 'v1', it is now 'v3'"),
            std::string::npos)
      << e.status();
  // Nothing was rolled back: the history is the two promotions and the
  // other client's three.
  auto h = reg_->History("canary");
  ASSERT_TRUE(h.ok());
  ASSERT_EQ(h->size(), 5u);
  for (const auto& d : *h) EXPECT_EQ(d.kind, DeploymentKind::kPromote);
  EXPECT_EQ(**reg_->ActiveVersion("canary"), "v3");
}

// Latest is the newest version validated for the environment.
TEST_F(RegistryServiceTest, LatestIsNewestValidated) {
  Register("v1", "1");
  Register("v2", "2", /*acc=*/0.5);
  Register("v3", "3");
  for (const char* id : {"v1", "v2"})
    ASSERT_TRUE(service_->Validate({id, "development", "", ""}).ok());
  auto latest = service_->Latest("development");
  ASSERT_TRUE(latest.ok());
  EXPECT_EQ(latest->version_id,
            "v1");  // v2 failed (accuracy), v3 never validated
  EXPECT_EQ(service_->Latest("production").status().code(),
            absl::StatusCode::kNotFound);
}

// Export then import into an empty registry and store reproduces everything.
TEST_F(RegistryServiceTest, ExportImportRoundTrips) {
  Register("v1", "1");
  Register("v2", "2");
  ASSERT_TRUE(service_->Validate({"v1", "development", "", ""}).ok());
  ASSERT_TRUE(
      service_->Validate({"v2", "production", "", ""}).ok());  // fails: no GPU
  ASSERT_TRUE(service_->Export(dir_ + "/export").ok());

  auto reg2 = Open(dir_ + "/r2.db");
  auto service2 = MakeService(reg2.get(), dir_ + "/store2");
  // The artifacts lie beside the export, in dir_: named as a root.
  const ImportOptions roots{.artifact_roots = {dir_}};
  auto summary = service2->Import(dir_ + "/export", "", roots);
  ASSERT_TRUE(summary.ok()) << summary.status();
  EXPECT_EQ(summary->versions_added, 2);
  EXPECT_TRUE(summary->missing_artifacts.empty());
  auto a = reg_->ListVersions();
  auto b = reg2->ListVersions();
  ASSERT_EQ(a->size(), b->size());
  for (size_t i = 0; i < a->size(); ++i) {
    // Everything but what validations made here: those come as history.
    Json ja = VersionToJson((*a)[i]), jb = VersionToJson((*b)[i]);
    for (Json* j : {&ja, &jb}) {
      j->erase("deployment_environments");
      j->erase("validation_status");
    }
    EXPECT_EQ(ja, jb);
  }
  EXPECT_EQ((*a)[0].deployment_environments,
            std::vector<std::string>{"development"});
  EXPECT_TRUE((*b)[0].deployment_environments.empty());
  EXPECT_EQ((*b)[0].validation_status, ValidationStatus::kPending);
  auto imported = reg2->ListValidations("v1");
  ASSERT_TRUE(imported.ok());
  ASSERT_EQ(imported->size(), 1u);
  EXPECT_FALSE((*imported)[0].valid);
  EXPECT_TRUE(IsImportedValidation((*imported)[0].result));
  auto promote = service2->Promote("v1", "development", "me", "");
  EXPECT_EQ(promote.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(promote.status().message().find("was imported"), std::string::npos)
      << promote.status();
  auto checks = service2->Test();
  ASSERT_TRUE(checks.ok());
  for (const auto& c : *checks) EXPECT_TRUE(c.status.ok()) << c.status;
  // Importing the same files again changes nothing.
  auto again = service2->Import(dir_ + "/export", "", roots);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->versions_unchanged, 2);
}

// A malformed file anywhere in the import leaves the registry as it was.
TEST_F(RegistryServiceTest, MalformedImportChangesNothing) {
  Register("v1", "1");
  ASSERT_TRUE(service_->Export(dir_ + "/export").ok());
  auto text = base::ReadFile(dir_ + "/export/model_versions.json");
  ASSERT_TRUE(text.ok());
  auto reg2 = Open(dir_ + "/r2.db");
  auto service2 = MakeService(reg2.get(), dir_ + "/store2");
  WriteFile("export/model_versions.json", text->substr(0, text->size() / 2));
  EXPECT_EQ(service2->Import(dir_ + "/export").status().code(),
            absl::StatusCode::kInvalidArgument);
  WriteFile("export/model_versions.json", *text);
  WriteFile("export/deployment_environments.json", "[\"not environments\"]");
  EXPECT_EQ(service2->Import(dir_ + "/export").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(reg2->ListVersions()->empty());
  EXPECT_TRUE(reg2->ListEnvironments()->empty());
}

}  // namespace
}  // namespace spatial::registry
