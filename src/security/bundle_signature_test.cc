#include "src/security/bundle_signature.h"

#include "gtest/gtest.h"
#include "src/base/sha256.h"

namespace spatial::security {
namespace {

std::vector<FileDigest> Files(const std::string& onnx) {
  return {{"manifest.json", base::Sha256Hex("{}")},
          {"model.onnx", base::Sha256Hex(onnx)}};
}

std::string Sign(const std::vector<FileDigest>& files, const PrivateKey& key,
                 const std::string& type = kInTotoPayloadType) {
  auto e = SignFiles("bundle", files, key);
  EXPECT_TRUE(e.ok());
  if (type != kInTotoPayloadType) {
    e->payload_type = type;
    e->signatures[0].sig = key.Sign(Pae(type, e->payload));
  }
  return e->Serialize();
}

BundleTrust Production(std::vector<PublicKey> keys) {
  return {.environment = "production",
          .require_signature = true,
          .trusted = std::move(keys),
          .source = "test"};
}

// Each way a bundle fails in production, with its code and what it names.
TEST(BundleSignatureTest, RefusalsNameTheFileOrTheKey) {
  PrivateKey key = PrivateKey::Generate(), other = PrivateKey::Generate();
  const auto files = Files("onnx");
  const std::string good = Sign(files, key);
  struct Case {
    std::string name;
    std::optional<std::string> sig;
    std::vector<FileDigest> files;
    absl::StatusCode code;
    std::string names;
  } cases[] = {
      {"unsigned", std::nullopt, files, absl::StatusCode::kFailedPrecondition,
       "D/model.sig"},
      {"truncated", good.substr(0, good.size() / 2), files,
       absl::StatusCode::kFailedPrecondition, "D/model.sig"},
      {"untrusted", Sign(files, other), files,
       absl::StatusCode::kFailedPrecondition, other.public_key().key_id},
      {"payload type", Sign(files, key, "text/plain"), files,
       absl::StatusCode::kFailedPrecondition, "text/plain"},
      {"changed", good, Files("tampered"), absl::StatusCode::kDataLoss,
       "'model.onnx' was changed after signing"},
      {"another bundle",
       good,
       {{"manifest.json", base::Sha256Hex("[]")},
        {"model.onnx", base::Sha256Hex("x")}},
       absl::StatusCode::kDataLoss,
       "signature of another bundle"},
  };
  for (const Case& c : cases) {
    auto r = CheckBundleSignature("D", c.sig, c.files,
                                  Production({key.public_key()}));
    EXPECT_EQ(r.status().code(), c.code) << c.name << ": " << r.status();
    EXPECT_NE(r.status().message().find(c.names), std::string::npos)
        << c.name << ": " << r.status();
  }
  auto ok =
      CheckBundleSignature("D", good, files, Production({key.public_key()}));
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_EQ(ok->verdict, BundleVerdict::kVerified);
  EXPECT_EQ(ok->key_id, key.public_key().key_id);
}

// Production with no trusted key refuses even a good signature.
TEST(BundleSignatureTest, RequiredWithoutTrustedKeysRefuses) {
  PrivateKey key = PrivateKey::Generate();
  auto r = CheckBundleSignature("D", Sign(Files("onnx"), key), Files("onnx"),
                                Production({}));
  EXPECT_EQ(r.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(r.status().message().find("trusts no key"), std::string::npos);
}

// Development: unsigned passes; a present model.sig is still checked.
TEST(BundleSignatureTest, DevelopmentAllowsUnsignedButChecksASignature) {
  PrivateKey key = PrivateKey::Generate();
  BundleTrust dev{.environment = "development", .source = "test"};
  auto unsigned_ok = CheckBundleSignature("D", std::nullopt, Files("a"), dev);
  ASSERT_TRUE(unsigned_ok.ok());
  EXPECT_EQ(unsigned_ok->verdict, BundleVerdict::kUnsigned);
  const std::string sig = Sign(Files("a"), key);
  auto integrity = CheckBundleSignature("D", sig, Files("a"), dev);
  ASSERT_TRUE(integrity.ok()) << integrity.status();
  EXPECT_EQ(integrity->verdict, BundleVerdict::kIntegrityOnly);
  EXPECT_EQ(CheckBundleSignature("D", sig, Files("b"), dev).status().code(),
            absl::StatusCode::kDataLoss);
  EXPECT_EQ(
      CheckBundleSignature("D", "garbage", Files("a"), dev).status().code(),
      absl::StatusCode::kFailedPrecondition);
  dev.trusted = {PrivateKey::Generate().public_key()};
  EXPECT_EQ(CheckBundleSignature("D", sig, Files("a"), dev).status().code(),
            absl::StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace spatial::security
