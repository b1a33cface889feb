// Black-box tests of `spatial keys`, `spatial model sign/verify` and the
// signature policy of staging and production, on a copy of a real bundle.
// No output of any command may contain the private key.
#include <sys/stat.h>

#include <filesystem>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/integration/cli_sandbox.h"

namespace spatial::integration {
namespace {
namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::Not;

class CliSecurityTest : public ::testing::Test {
 protected:
  void SetUp() override {
    fs::copy(SourceDir() + "/models/standard-pizza-v1", box_.Path("bundle"),
             fs::copy_options::recursive);
    keys_ = Generate("keys");
    ASSERT_EQ(secret_.size(), 44u) << secret_;  // base64 of the 32-byte seed
  }

  // The private key's base64 must appear in no command's output.
  void TearDown() override {
    for (const auto& r : results_) {
      EXPECT_THAT(r.out, Not(HasSubstr(secret_))) << r.command;
      EXPECT_THAT(r.err, Not(HasSubstr(secret_))) << r.command;
    }
  }

  // `spatial keys generate --out DIR`; returns DIR.
  std::string Generate(const std::string& dir) {
    ProcessResult r = Run({"keys", "generate", "--out", box_.Path(dir)});
    EXPECT_EQ(r.exit_code, 0) << r;
    std::string text = ReadBytes(box_.Path(dir + "/signing.key"));
    std::string seed = text.substr(text.find('\n') + 1);
    while (!seed.empty() && seed.back() == '\n') seed.pop_back();
    if (secret_.empty()) secret_ = seed;
    return box_.Path(dir);
  }

  ProcessResult Run(const std::vector<std::string>& args) {
    results_.push_back(box_.Spatial(args));
    return results_.back();
  }
  ProcessResult Model(const std::vector<std::string>& args) {
    results_.push_back(box_.Model(args));
    return results_.back();
  }
  // `spatial keys ARGS` against the sandbox's registry.
  ProcessResult Keys(std::vector<std::string> args) {
    args.insert(args.begin(), "keys");
    args.insert(args.end(), {"--registry", box_.registry(), "--config",
                             SourceDir() + "/config/environments.json",
                             "--actor", "tester"});
    return Run(args);
  }

  std::string bundle() const { return box_.Path("bundle"); }
  std::string key() const { return keys_ + "/signing.key"; }
  std::string pub() const { return keys_ + "/signing.pub"; }

  void FlipByte(const std::string& path, size_t at) {
    std::string bytes = ReadBytes(path);
    ASSERT_GT(bytes.size(), at);
    bytes[at] ^= 0x01;
    ::chmod(path.c_str(), 0644);
    box_.WriteFile(fs::relative(path, box_.dir()).string(), bytes);
  }

  Sandbox box_;
  std::string keys_, secret_;
  std::vector<ProcessResult> results_;
};

TEST_F(CliSecurityTest, GenerateWritesAPrivateKeyOnlyTheOwnerCanRead) {
  struct stat st {};
  ASSERT_EQ(::stat(key().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_TRUE(fs::exists(pub()));
  ProcessResult again = Run({"keys", "generate", "--out", keys_});
  EXPECT_EQ(again.exit_code, 1) << again;
  EXPECT_THAT(again.err, HasSubstr("keys are never overwritten"));
}

TEST_F(CliSecurityTest, GroupReadablePrivateKeyIsRefused) {
  ASSERT_EQ(::chmod(key().c_str(), 0640), 0);
  ProcessResult r = Model({"sign", bundle(), "--key", key()});
  EXPECT_EQ(r.exit_code, 1) << r;
  EXPECT_THAT(r.err, HasSubstr("accessible by group or others (mode 0640)"));
  EXPECT_THAT(r.err, HasSubstr("chmod 600"));
  EXPECT_FALSE(fs::exists(bundle() + "/model.sig"));
}

TEST_F(CliSecurityTest, KeyComesOnlyFromAFile) {
  ProcessResult none = Model({"sign", bundle()});
  EXPECT_EQ(none.exit_code, 2) << none;
  EXPECT_THAT(none.err, HasSubstr("SPATIAL_SIGNING_KEY_FILE"));
  results_.push_back(
      RunProcess({"/usr/bin/env", "SPATIAL_SIGNING_KEY_FILE=" + key(),
                  SpatialBinary(), "model", "sign", bundle()},
                 {.cwd = box_.dir()}));
  EXPECT_EQ(results_.back().exit_code, 0) << results_.back();
  EXPECT_TRUE(fs::exists(bundle() + "/model.sig"));
}

// A signed bundle verifies; one changed byte, an added and a removed file
// each fail (exit 1) naming the file; so does another key.
TEST_F(CliSecurityTest, BundleVerifyCatchesEveryChangeNamingTheFile) {
  ProcessResult sign = Model({"sign", bundle(), "--key", key()});
  ASSERT_EQ(sign.exit_code, 0) << sign;
  EXPECT_THAT(sign.out, HasSubstr("model.sig"));
  ProcessResult ok = Model({"verify", bundle(), "--public-key", pub()});
  EXPECT_EQ(ok.exit_code, 0) << ok;
  EXPECT_THAT(ok.out, HasSubstr("every file matches"));

  const std::string onnx = bundle() + "/model.onnx";
  const std::string original = ReadBytes(onnx);
  FlipByte(onnx, 1000);
  ProcessResult changed = Model({"verify", bundle(), "--public-key", pub()});
  EXPECT_EQ(changed.exit_code, 1) << changed;
  EXPECT_THAT(changed.err, HasSubstr("file 'model.onnx' was changed"));
  box_.WriteFile("bundle/model.onnx", original);

  box_.WriteFile("bundle/reference/extra.txt", "sneaked in");
  ProcessResult added = Model({"verify", bundle(), "--public-key", pub()});
  EXPECT_EQ(added.exit_code, 1) << added;
  EXPECT_THAT(added.err, HasSubstr("file 'reference/extra.txt' is not in the "
                                   "signed manifest"));
  fs::remove(bundle() + "/reference/extra.txt");

  fs::rename(bundle() + "/manifest.json", box_.Path("manifest.json"));
  ProcessResult removed = Model({"verify", bundle(), "--public-key", pub()});
  EXPECT_EQ(removed.exit_code, 1) << removed;
  EXPECT_THAT(removed.err, HasSubstr("file 'manifest.json' is in the signed "
                                     "manifest but missing"));
  fs::rename(box_.Path("manifest.json"), bundle() + "/manifest.json");

  const std::string other = Generate("other");
  ProcessResult wrong =
      Model({"verify", bundle(), "--public-key", other + "/signing.pub"});
  EXPECT_EQ(wrong.exit_code, 1) << wrong;
  EXPECT_THAT(wrong.err, HasSubstr("does not verify with a trusted key"));

  ProcessResult back = Model({"verify", bundle(), "--public-key", pub()});
  EXPECT_EQ(back.exit_code, 0) << back;
}

// A registered version is signed in the registry; a changed blob in the store
// or another key fails verify.
TEST_F(CliSecurityTest, RegisteredVersionSignatureCoversItsBlobs) {
  box_.Register(bundle(), "v1");
  ProcessResult unsigned_ = Model({"verify", "v1", "--public-key", pub()});
  EXPECT_EQ(unsigned_.exit_code, 1) << unsigned_;
  EXPECT_THAT(unsigned_.err, HasSubstr("version v1 is unsigned"));
  ProcessResult sign = Model({"sign", "v1", "--key", key()});
  ASSERT_EQ(sign.exit_code, 0) << sign;
  EXPECT_THAT(sign.out, HasSubstr("signed v1"));
  ProcessResult ok = Model({"verify", "v1", "--public-key", pub()});
  EXPECT_EQ(ok.exit_code, 0) << ok;
  Json signed_info = box_.JsonAt(box_.registry(), {"info", "v1"});
  ASSERT_EQ(signed_info["signatures"].size(), 1u) << signed_info.dump(2);
  EXPECT_EQ(signed_info["signatures"][0]["actor"], "tester");
  EXPECT_THAT(Model({"info", "v1"}).out, HasSubstr("  key "));

  const std::string other = Generate("other");
  ProcessResult wrong =
      Model({"verify", "v1", "--public-key", other + "/signing.pub"});
  EXPECT_EQ(wrong.exit_code, 1) << wrong;

  Json info = box_.JsonAt(box_.registry(), {"info", "v1"});
  std::string manifest_sha;
  for (const auto& f : info["spatial_deploy"]["files"])
    if (f["path"] == "manifest.json") manifest_sha = f["sha256"];
  ASSERT_FALSE(manifest_sha.empty()) << info.dump(2);
  FlipByte(box_.store() + "/sha256/" + manifest_sha.substr(0, 2) + "/" +
               manifest_sha,
           5);
  ProcessResult tampered = Model({"verify", "v1", "--public-key", pub()});
  EXPECT_EQ(tampered.exit_code, 1) << tampered;
  EXPECT_THAT(tampered.err, HasSubstr("file 'manifest.json' was changed"));
}

// Registering a signed bundle keeps its signature (model.sig is not a file of
// the version).
TEST_F(CliSecurityTest, RegisteringASignedBundleKeepsTheSignature) {
  ASSERT_EQ(Model({"sign", bundle(), "--key", key()}).exit_code, 0);
  box_.Register(bundle(), "v1");
  ProcessResult ok = Model({"verify", "v1", "--public-key", pub()});
  EXPECT_EQ(ok.exit_code, 0) << ok;
  Json info = box_.JsonAt(box_.registry(), {"info", "v1"});
  for (const auto& f : info["spatial_deploy"]["files"])
    EXPECT_NE(f["path"], "model.sig");
}

// Staging validation reports the signature rule: failing while unsigned or
// untrusted, passing once a trusted key signed the version.
TEST_F(CliSecurityTest, StagingValidationNeedsATrustedSignature) {
  // The shipped spatial model with its own measured metrics: with the CPU
  // override every other staging rule passes (its accuracy measured on
  // staging's set agrees with the one it declares): the signature alone
  // decides.
  box_.Register(box_.VariantBundle("spatial"), "v1");
  auto signature_rule = [&](int expected_exit) {
    ProcessResult r = Model({"validate", "v1", "--environment", "staging",
                             "--allow-cpu-override", "test host"});
    EXPECT_EQ(r.exit_code, expected_exit) << r;
    Json result = ParseJsonOrFail(r.out, r.command);
    for (const auto& rule : result["rules"]) {
      if (rule["rule"] != "signature") {
        EXPECT_NE(rule["outcome"], "fail") << rule.dump();
      }
    }
    return FindRule(result, "signature");
  };
  Json rule = signature_rule(1);
  EXPECT_EQ(rule["outcome"], "fail");
  EXPECT_THAT(rule["message"].get<std::string>(), HasSubstr("trusts none"));
  ProcessResult trust = Keys({"trust", pub(), "--environment", "staging"});
  ASSERT_EQ(trust.exit_code, 0) << trust;
  rule = signature_rule(1);
  EXPECT_THAT(rule["message"].get<std::string>(),
              HasSubstr("version v1 is unsigned"));
  ASSERT_EQ(Model({"sign", "v1", "--key", key()}).exit_code, 0);
  EXPECT_EQ(signature_rule(0)["outcome"], "pass");
  // Development does not ask for a signature at all.
  ProcessResult dev = Model({"validate", "v1", "--environment", "development"});
  EXPECT_TRUE(
      FindRule(ParseJsonOrFail(dev.out, dev.command), "signature").is_null());
}

// A version validated for production by import is refused promotion while
// unsigned, and still refused once a trusted key signed it: an imported
// validation is history, not a validation this registry ran.
TEST_F(CliSecurityTest, UnsignedPromotionToProductionIsRefused) {
  box_.RegisterAt(box_.Path("origin.db"), bundle(), "v1");
  ASSERT_EQ(box_.ModelAt(box_.Path("origin.db"),
                         {"export", "--out", box_.Path("export")})
                .exit_code,
            0);
  Json versions = ParseJsonOrFail(
      ReadBytes(box_.Path("export/model_versions.json")), "export");
  for (auto& v : versions) v["deployment_environments"] = {"production"};
  box_.WriteFile("export/model_versions.json", versions.dump(2));
  ProcessResult imp =
      Model({"import", box_.Path("export"), "--artifacts-root", box_.dir()});
  ASSERT_EQ(imp.exit_code, 0) << imp;

  ProcessResult refused =
      Model({"promote", "v1", "--environment", "production"});
  EXPECT_EQ(refused.exit_code, 1) << refused;
  EXPECT_THAT(refused.err, HasSubstr("refusing to promote 'v1' in production"));
  EXPECT_EQ(box_.JsonAt(box_.registry(), {"history"}), Json::array());

  ASSERT_EQ(Keys({"trust", pub(), "--environment", "production"}).exit_code, 0);
  ProcessResult still = Model({"promote", "v1", "--environment", "production"});
  EXPECT_EQ(still.exit_code, 1) << still;
  EXPECT_THAT(still.err, HasSubstr("version v1 is unsigned"));
  ASSERT_EQ(Model({"sign", "v1", "--key", key()}).exit_code, 0);
  // Importing environments again does not change whom production trusts.
  ASSERT_EQ(
      Model({"import", box_.Path("export"), "--artifacts-root", box_.dir()})
          .exit_code,
      0);
  ProcessResult signed_but_imported =
      Model({"promote", "v1", "--environment", "production"});
  EXPECT_EQ(signed_but_imported.exit_code, 1) << signed_but_imported;
  EXPECT_THAT(signed_but_imported.err,
              HasSubstr("its only validation for production was imported"));
  EXPECT_EQ(box_.JsonAt(box_.registry(), {"history"}), Json::array());

  ProcessResult list = Keys({"list", "--environment", "production"});
  EXPECT_THAT(list.out, HasSubstr("signature required"));
  ProcessResult untrust =
      Keys({"untrust", "0000000000000000", "--environment", "production"});
  EXPECT_EQ(untrust.exit_code, 1) << untrust;
  EXPECT_THAT(untrust.err, HasSubstr("does not trust key 0000000000000000"));
}

// `keys require` switches the requirement of an environment on and off; both
// changes are in the audit log.
TEST_F(CliSecurityTest, RequireSwitchesTheSignatureRule) {
  box_.Register(
      bundle(), "v1",
      {"--metric", "accuracy=0.95", "--metric", "inference_time_ms=10"});
  auto dev_rule = [&]() {
    ProcessResult r = Model({"validate", "v1", "--environment", "development"});
    return FindRule(ParseJsonOrFail(r.out, r.command), "signature");
  };
  EXPECT_TRUE(dev_rule().is_null());
  ASSERT_EQ(Keys({"require", "--environment", "development"}).exit_code, 0);
  EXPECT_EQ(dev_rule()["outcome"], "fail");
  ASSERT_EQ(
      Keys({"require", "--environment", "development", "--off"}).exit_code, 0);
  EXPECT_TRUE(dev_rule().is_null());
  ProcessResult audit =
      Run({"audit", "list", "--registry", box_.registry(), "--config",
           SourceDir() + "/config/environments.json"});
  EXPECT_THAT(audit.out, HasSubstr("policy.require_signature"));
  EXPECT_THAT(audit.out, HasSubstr("\"require_signature\":false"));
}

}  // namespace
}  // namespace spatial::integration
