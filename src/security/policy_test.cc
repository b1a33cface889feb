#include "src/security/policy.h"

#include <sys/stat.h>

#include <filesystem>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "src/base/files.h"
#include "src/registry/registry_service.h"
#include "src/registry/sqlite/sqlite_registry.h"
#include "src/security/signing.h"

namespace spatial::security {
namespace {
namespace fs = std::filesystem;
using registry::Environment;
using registry::Json;
using ::testing::HasSubstr;

// An environment whose other rules a CPU host passes, requiring signatures or
// not.
Environment Env(const std::string& name, bool require_signature) {
  Environment e;
  e.name = name;
  e.supported_architectures = {"dual-encoder"};
  e.memory_requirements_gb = 8;
  e.min_accuracy = 0.5;
  e.max_inference_time_ms = 2000;
  e.allow_cpu_only = true;
  e.skip_heavy_tests = true;
  e.extra["require_signature"] = require_signature;
  return e;
}

class PolicyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = ::testing::TempDir() + "/policy_test_" + info->name();
    fs::remove_all(dir_);
    fs::create_directories(dir_ + "/bundle");
    auto r = registry::SqliteRegistry::Open({.path = dir_ + "/r.db"});
    ASSERT_TRUE(r.ok()) << r.status();
    reg_ = std::move(*r);
    registry::RegistryService::Options o;
    o.registry = reg_.get();
    o.store_root = dir_ + "/store";
    o.inspector = [](const std::string&) -> absl::StatusOr<Json> {
      return Json{{"dual_encoder", true}, {"memory_estimate_gb", 0.02}};
    };
    o.signature_check = CheckSigned;
    service_ = std::make_unique<registry::RegistryService>(std::move(o));
    ASSERT_TRUE(service_
                    ->EnsureEnvironments({Env("development", false),
                                          Env("staging", true),
                                          Env("production", true)})
                    .ok());
    ASSERT_TRUE(
        base::WriteFileAtomic(bundle() + "/model.onnx", std::string(1000, 'm'))
            .ok());
    ASSERT_TRUE(base::WriteFileAtomic(bundle() + "/manifest.json", "{}").ok());
    auto v = service_->Register(
        {.path = bundle(),
         .version_id = "v1",
         .metrics = {{"accuracy", 0.9}, {"inference_time_ms", 10}},
         .actor = "me"});
    ASSERT_TRUE(v.ok()) << v.status();
  }

  std::string bundle() const { return dir_ + "/bundle"; }

  void Trust(const std::string& env, const PublicKey& key) {
    ASSERT_TRUE(reg_->UpdateEnvironment(
                        env,
                        [&](Environment& e) { return AddTrustedKey(e, key); },
                        {"me", "key.trust", env, {{"key_id", key.key_id}}})
                    .ok());
  }

  void Sign(const std::string& id, const PrivateKey& key) {
    auto v = reg_->GetVersion(id);
    ASSERT_TRUE(v.ok());
    auto files = HashStoredVersion(service_->store(), *v);
    ASSERT_TRUE(files.ok()) << files.status();
    auto e = SignFiles(id, *files, key);
    ASSERT_TRUE(e.ok());
    ASSERT_TRUE(reg_->AddSignature({id, key.public_key().key_id, e->Serialize(),
                                    "me", "now"})
                    .ok());
  }

  Json SignatureRule(const registry::ValidationRecord& r) {
    for (const auto& rule : r.result["rules"])
      if (rule["rule"] == "signature") return rule;
    return nullptr;
  }

  std::string dir_;
  std::unique_ptr<registry::Registry> reg_;
  std::unique_ptr<registry::RegistryService> service_;
  PrivateKey key_ = PrivateKey::Generate();
};

TEST_F(PolicyTest, StagingValidationNeedsASignatureByATrustedKey) {
  // Unsigned, no trusted key: the signature rule fails and says what to do.
  auto r = service_->Validate({"v1", "staging", "", "me"});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_FALSE(r->valid);
  EXPECT_EQ(SignatureRule(*r)["outcome"], "fail");
  EXPECT_THAT(SignatureRule(*r)["message"].get<std::string>(),
              HasSubstr("trusts none; add one: spatial keys trust"));
  // Trusted key, still unsigned.
  Trust("staging", key_.public_key());
  r = service_->Validate({"v1", "staging", "", "me"});
  EXPECT_FALSE(r->valid);
  EXPECT_THAT(SignatureRule(*r)["message"].get<std::string>(),
              HasSubstr("version v1 is unsigned"));
  // Signed by another key.
  PrivateKey other = PrivateKey::Generate();
  Sign("v1", other);
  r = service_->Validate({"v1", "staging", "", "me"});
  EXPECT_FALSE(r->valid);
  EXPECT_THAT(SignatureRule(*r)["message"].get<std::string>(),
              HasSubstr("no valid signature by a key staging trusts"));
  // Signed by the trusted key: valid. Development never asks.
  Sign("v1", key_);
  r = service_->Validate({"v1", "staging", "", "me"});
  EXPECT_TRUE(r->valid) << r->result.dump(2);
  EXPECT_EQ(SignatureRule(*r)["outcome"], "pass");
  auto dev = service_->Validate({"v1", "development", "", "me"});
  EXPECT_TRUE(dev->valid);
  EXPECT_TRUE(SignatureRule(*dev).is_null());
}

// A validation for production brought in by import does not let an unsigned
// version be promoted there; a signed one is.
TEST_F(PolicyTest, UnsignedPromotionToProductionIsRefused) {
  Trust("production", key_.public_key());
  ASSERT_TRUE(reg_->RecordValidation({.version_id = "v1",
                                      .environment = "production",
                                      .valid = true,
                                      .actor = "import"})
                  .ok());
  auto p = service_->Promote("v1", "production", "me", "");
  EXPECT_EQ(p.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(p.status().message(),
              HasSubstr("refusing to promote 'v1' in production: version v1 "
                        "is unsigned"));
  EXPECT_FALSE(reg_->ActiveVersion("production")->has_value());
  Sign("v1", key_);
  EXPECT_TRUE(service_->Promote("v1", "production", "me", "").ok());
}

// CheckServable: fine anywhere without the requirement; where required, a
// changed blob fails it naming the file.
TEST_F(PolicyTest, CheckServableCatchesATamperedBlob) {
  Trust("staging", key_.public_key());
  Sign("v1", key_);
  auto v = *reg_->GetVersion("v1");
  auto staging = *reg_->GetEnvironment("staging");
  auto dev = *reg_->GetEnvironment("development");
  EXPECT_TRUE(CheckServable(*reg_, service_->store(), v, staging).ok());
  const registry::ArtifactFile* onnx = nullptr;
  for (const auto& f : v.files)
    if (f.path == "model.onnx") onnx = &f;
  ASSERT_NE(onnx, nullptr);
  const std::string blob = service_->store().BlobPath(onnx->sha256);
  ASSERT_EQ(::chmod(blob.c_str(), 0644), 0);
  std::string bytes = *base::ReadFile(blob);
  bytes[10] ^= 0x20;
  ASSERT_TRUE(base::WriteFileAtomic(blob, bytes).ok());
  absl::Status s = CheckServable(*reg_, service_->store(), v, staging);
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(s.message(), HasSubstr("file 'model.onnx' was changed"));
  EXPECT_TRUE(CheckServable(*reg_, service_->store(), v, dev).ok());
}

// Registering a bundle with model.sig keeps the signature and leaves the file
// out of the version's files.
TEST_F(PolicyTest, RegisteringASignedBundleKeepsItsSignature) {
  auto files = HashDirectory(bundle());
  ASSERT_TRUE(files.ok());
  auto e = SignFiles("bundle", *files, key_);
  ASSERT_TRUE(
      base::WriteFileAtomic(bundle() + "/model.sig", e->Serialize()).ok());
  auto v = service_->Register(
      {.path = bundle(),
       .version_id = "v2",
       .metrics = {{"accuracy", 0.9}, {"inference_time_ms", 10}},
       .actor = "me"});
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(v->files.size(), 2u);
  auto sigs = reg_->ListSignatures("v2");
  ASSERT_EQ(sigs->size(), 1u);
  EXPECT_EQ((*sigs)[0].key_id, key_.public_key().key_id);
  Trust("staging", key_.public_key());
  EXPECT_TRUE(service_->Validate({"v2", "staging", "", "me"})->valid);
}

TEST_F(PolicyTest, TrustedKeysAreAddedOnceAndRemovedById) {
  Environment e = Env("x", true);
  ASSERT_TRUE(AddTrustedKey(e, key_.public_key()).ok());
  EXPECT_EQ(AddTrustedKey(e, key_.public_key()).code(),
            absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(TrustedKeys(e)->size(), 1u);
  absl::Status missing = RemoveTrustedKey(e, "0123456789abcdef");
  EXPECT_EQ(missing.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(missing.message(), HasSubstr(key_.public_key().key_id));
  ASSERT_TRUE(RemoveTrustedKey(e, key_.public_key().key_id).ok());
  EXPECT_TRUE(TrustedKeys(e)->empty());
  e.extra["trusted_keys"] = Json::array(
      {{{"id", "wrong"}, {"public_key", key_.public_key().Base64()}}});
  EXPECT_EQ(TrustedKeys(e).status().code(), absl::StatusCode::kInvalidArgument);
}

// The keys given to a server anchor the registry's list: only a key in both
// counts, a signature is required even where the row says otherwise, and no
// key in both is an error naming both lists.
TEST_F(PolicyTest, PinTrustKeepsOnlyTheKeysInBoth) {
  const PrivateKey theirs = PrivateKey::Generate();
  const PrivateKey spare = PrivateKey::Generate();
  Environment e = Env("production", false);
  ASSERT_TRUE(AddTrustedKey(e, key_.public_key()).ok());
  ASSERT_TRUE(AddTrustedKey(e, theirs.public_key()).ok());

  auto pinned =
      PinTrust(e, {spare.public_key(), key_.public_key()}, "--trusted-key");
  ASSERT_TRUE(pinned.ok()) << pinned.status();
  EXPECT_TRUE(pinned->requires_signature());
  auto kept = TrustedKeys(*pinned);
  ASSERT_TRUE(kept.ok());
  ASSERT_EQ(kept->size(), 1u);
  EXPECT_EQ((*kept)[0].key_id, key_.public_key().key_id);
  EXPECT_EQ(TrustedKeys(e)->size(), 2u);  // the original is untouched

  absl::StatusOr<Environment> none =
      PinTrust(e, {spare.public_key()}, "$SPATIAL_TRUSTED_KEYS");
  EXPECT_EQ(none.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(none.status().message(),
              HasSubstr("production trusts none of the keys given with "
                        "$SPATIAL_TRUSTED_KEYS (" +
                        spare.public_key().key_id + ")"));
  EXPECT_THAT(none.status().message(), HasSubstr(theirs.public_key().key_id));

  // A given key that merely carries the id of one the registry trusts (the
  // id is 64 bits of the key's hash) does not count: keys compare whole.
  PublicKey same_id = spare.public_key();
  same_id.key_id = theirs.public_key().key_id;
  EXPECT_EQ(PinTrust(e, {same_id}, "--trusted-key").status().code(),
            absl::StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace spatial::security
