#include "src/security/signing.h"

#include <filesystem>
#include <random>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "src/base/files.h"
#include "src/registry/artifact_store.h"

namespace spatial::security {
namespace {
namespace fs = std::filesystem;
using ::testing::HasSubstr;

// A bundle directory: model.onnx (random bytes), manifest.json, sub/extra.bin.
class SigningTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = ::testing::TempDir() + "/signing_test_" + info->name();
    fs::remove_all(dir_);
    bundle_ = dir_ + "/bundle";
    std::mt19937 rng(42);
    std::string onnx(4096, '\0');
    for (auto& c : onnx) c = static_cast<char>(rng());
    ASSERT_TRUE(base::MakeDirs(bundle_ + "/sub").ok());
    ASSERT_TRUE(base::WriteFileAtomic(bundle_ + "/model.onnx", onnx).ok());
    ASSERT_TRUE(
        base::WriteFileAtomic(bundle_ + "/manifest.json", "{\"a\": 1}").ok());
    ASSERT_TRUE(base::WriteFileAtomic(bundle_ + "/sub/extra.bin", "xyz").ok());
  }

  Envelope SignBundle(const PrivateKey& key) {
    auto files = HashDirectory(bundle_);
    EXPECT_TRUE(files.ok()) << files.status();
    auto e = SignFiles("bundle", *files, key);
    EXPECT_TRUE(e.ok()) << e.status();
    return *e;
  }

  std::string dir_, bundle_;
  PrivateKey key_ = PrivateKey::Generate();
};

TEST(DsseTest, PaeMatchesTheSpecExample) {
  EXPECT_EQ(Pae("http://example.com/HelloWorld", "hello world"),
            "DSSEv1 29 http://example.com/HelloWorld 11 hello world");
}

TEST_F(SigningTest, SignedBundleVerifiesAndEnvelopeRoundTrips) {
  Envelope e = SignBundle(key_);
  auto parsed = Envelope::Parse(e.Serialize(), "model.sig");
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->payload, e.payload);
  ASSERT_EQ(parsed->signatures.size(), 1u);
  EXPECT_EQ(parsed->signatures[0].keyid, key_.public_key().key_id);
  EXPECT_TRUE(VerifyDirectory(bundle_, *parsed, {key_.public_key()}).ok());
  // A model.sig beside the files is not one of them.
  ASSERT_TRUE(
      base::WriteFileAtomic(bundle_ + "/model.sig", e.Serialize()).ok());
  EXPECT_TRUE(VerifyDirectory(bundle_, *parsed, {key_.public_key()}).ok());
}

// The statement is an in-toto Statement v1 whose subject digest is the
// registry's checksum of the same directory.
TEST_F(SigningTest, StatementSubjectIsTheRegistryChecksum) {
  Envelope e = SignBundle(key_);
  auto j = nlohmann::json::parse(e.payload);
  EXPECT_EQ(j["_type"], "https://in-toto.io/Statement/v1");
  EXPECT_EQ(j["predicateType"], kPredicateType);
  EXPECT_EQ(e.payload_type, "application/vnd.in-toto+json");
  ASSERT_EQ(j["predicate"]["resources"].size(), 3u);
  registry::ArtifactStore store(dir_ + "/store");
  auto ingest = store.Ingest(bundle_);
  ASSERT_TRUE(ingest.ok()) << ingest.status();
  EXPECT_EQ(j["subject"][0]["digest"]["sha256"], ingest->checksum);
}

TEST_F(SigningTest, OneChangedByteFailsNamingTheFile) {
  Envelope e = SignBundle(key_);
  std::string bytes = *base::ReadFile(bundle_ + "/model.onnx");
  bytes[1234] ^= 0x01;
  ASSERT_TRUE(base::WriteFileAtomic(bundle_ + "/model.onnx", bytes).ok());
  absl::Status s = VerifyDirectory(bundle_, e, {key_.public_key()});
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss) << s;
  EXPECT_THAT(s.message(), HasSubstr("file 'model.onnx' was changed"));
}

TEST_F(SigningTest, AddedFileFailsNamingTheFile) {
  Envelope e = SignBundle(key_);
  ASSERT_TRUE(base::WriteFileAtomic(bundle_ + "/sub/new.txt", "new").ok());
  absl::Status s = VerifyDirectory(bundle_, e, {key_.public_key()});
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss) << s;
  EXPECT_THAT(s.message(),
              HasSubstr("file 'sub/new.txt' is not in the signed manifest"));
}

TEST_F(SigningTest, RemovedFileFailsNamingTheFile) {
  Envelope e = SignBundle(key_);
  fs::remove(bundle_ + "/manifest.json");
  absl::Status s = VerifyDirectory(bundle_, e, {key_.public_key()});
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss) << s;
  EXPECT_THAT(s.message(), HasSubstr("file 'manifest.json' is in the signed "
                                     "manifest but missing"));
}

TEST_F(SigningTest, WrongKeyFails) {
  Envelope e = SignBundle(key_);
  PrivateKey other = PrivateKey::Generate();
  absl::Status s = VerifyDirectory(bundle_, e, {other.public_key()});
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition) << s;
  EXPECT_THAT(s.message(), HasSubstr(key_.public_key().key_id));
  EXPECT_THAT(s.message(), HasSubstr(other.public_key().key_id));
  // Claiming the trusted key's id does not help a signature by another key.
  Envelope forged = SignBundle(other);
  forged.signatures[0].keyid = key_.public_key().key_id;
  EXPECT_FALSE(VerifyDirectory(bundle_, forged, {key_.public_key()}).ok());
}

// Editing the statement (e.g. to match a changed file) breaks the signature.
TEST_F(SigningTest, EditedStatementFailsTheSignature) {
  Envelope e = SignBundle(key_);
  std::string bytes = *base::ReadFile(bundle_ + "/model.onnx");
  bytes[0] ^= 0x01;
  ASSERT_TRUE(base::WriteFileAtomic(bundle_ + "/model.onnx", bytes).ok());
  auto files = HashDirectory(bundle_);
  ASSERT_TRUE(files.ok());
  e.payload = BuildStatement("bundle", *files);
  absl::Status s = VerifyDirectory(bundle_, e, {key_.public_key()});
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition) << s;
  EXPECT_THAT(s.message(), HasSubstr("does not verify"));
}

TEST_F(SigningTest, MalformedEnvelopeIsRefused) {
  for (const char* text : {"", "[]", "{\"payloadType\": \"x\"}",
                           "{\"payloadType\":\"x\",\"payload\":\"!!\","
                           "\"signatures\":[{\"sig\":\"AA==\"}]}"}) {
    auto e = Envelope::Parse(text, "model.sig");
    EXPECT_EQ(e.status().code(), absl::StatusCode::kInvalidArgument) << text;
  }
}

// A statement is read before its signature is checked: fields of the wrong
// type are a malformed statement, not an exception that ends the process
// (found by fuzz/dsse_fuzz.cc).
TEST(StatementTest, FieldsOfTheWrongTypeAreMalformed) {
  for (const char* payload :
       {R"({"_type": 5})",
        R"({"_type": "https://in-toto.io/Statement/v1", "predicateType": [],
            "subject": [{"name": 1, "digest": {"sha256": 2}}]})",
        R"({"_type": "https://in-toto.io/Statement/v1",
            "predicateType": "https://spatial-deploy.dev/model-signature/v1",
            "subject": [{"name": "m", "digest": {"sha256": 2}}],
            "predicate": {"resources": [{"name": "a", "digest":
            {"sha256": false}}]}})"}) {
    Envelope e{.payload_type = kInTotoPayloadType, .payload = payload};
    auto m = ParseEnvelopeStatement(e);
    EXPECT_EQ(m.status().code(), absl::StatusCode::kInvalidArgument) << payload;
    EXPECT_NE(m.status().message().find("statement is malformed"),
              std::string::npos)
        << m.status();
  }
}

}  // namespace
}  // namespace spatial::security
