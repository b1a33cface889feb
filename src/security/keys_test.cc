#include "src/security/keys.h"

#include <sys/stat.h>

#include <filesystem>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "src/base/files.h"

namespace spatial::security {
namespace {
namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::Not;

std::string FreshDir(const std::string& name) {
  std::string dir = ::testing::TempDir() + "/keys_test_" + name;
  fs::remove_all(dir);
  return dir;
}

int ModeOf(const std::string& path) {
  struct stat st {};
  EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
  return static_cast<int>(st.st_mode & 07777);
}

// generate writes a 0600 private key and a public key that reads back as the
// same key; a signature made with the loaded key verifies with the public key
// file and not with another key.
TEST(KeysTest, GeneratedKeyRoundTripsThroughItsFiles) {
  const std::string dir = FreshDir("roundtrip");
  PrivateKey key = PrivateKey::Generate();
  ASSERT_TRUE(WriteKeyPair(key, dir).ok());
  EXPECT_EQ(ModeOf(dir + "/signing.key"), 0600);
  auto loaded = LoadPrivateKey(dir + "/signing.key");
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  auto pub = LoadPublicKey(dir + "/signing.pub");
  ASSERT_TRUE(pub.ok()) << pub.status();
  EXPECT_EQ(pub->bytes, key.public_key().bytes);
  EXPECT_EQ(loaded->public_key().key_id, pub->key_id);
  EXPECT_EQ(pub->key_id.size(), 16u);
  const std::string sig = loaded->Sign("message");
  EXPECT_TRUE(VerifySignature(*pub, "message", sig));
  EXPECT_FALSE(VerifySignature(*pub, "messagf", sig));
  EXPECT_FALSE(
      VerifySignature(PrivateKey::Generate().public_key(), "message", sig));
}

TEST(KeysTest, WriteKeyPairNeverOverwritesAKey) {
  const std::string dir = FreshDir("overwrite");
  ASSERT_TRUE(WriteKeyPair(PrivateKey::Generate(), dir).ok());
  const std::string before = *base::ReadFile(dir + "/signing.key");
  absl::Status again = WriteKeyPair(PrivateKey::Generate(), dir);
  EXPECT_EQ(again.code(), absl::StatusCode::kAlreadyExists) << again;
  EXPECT_EQ(*base::ReadFile(dir + "/signing.key"), before);
}

// A private key readable by the group (or others) is refused, with the fix in
// the message and none of the key's bytes.
TEST(KeysTest, GroupReadablePrivateKeyIsRefused) {
  const std::string dir = FreshDir("mode");
  ASSERT_TRUE(WriteKeyPair(PrivateKey::Generate(), dir).ok());
  const std::string path = dir + "/signing.key";
  const std::string contents = *base::ReadFile(path);
  const std::string seed = contents.substr(contents.find('\n') + 1, 40);
  for (int mode : {0640, 0604, 0660}) {
    ASSERT_EQ(::chmod(path.c_str(), static_cast<mode_t>(mode)), 0);
    auto k = LoadPrivateKey(path);
    ASSERT_FALSE(k.ok()) << mode;
    EXPECT_EQ(k.status().code(), absl::StatusCode::kPermissionDenied);
    EXPECT_THAT(k.status().message(), HasSubstr("chmod 600"));
    EXPECT_THAT(k.status().message(), Not(HasSubstr(seed.substr(0, 20))));
  }
  ASSERT_EQ(::chmod(path.c_str(), 0400), 0);
  EXPECT_TRUE(LoadPrivateKey(path).ok());
}

// A link to the key (as secret mounts use) is followed; the mode that counts
// is the key file's.
TEST(KeysTest, SymlinkedPrivateKeyIsCheckedByItsTarget) {
  const std::string dir = FreshDir("link");
  ASSERT_TRUE(WriteKeyPair(PrivateKey::Generate(), dir).ok());
  fs::create_symlink(dir + "/signing.key", dir + "/link.key");
  EXPECT_TRUE(LoadPrivateKey(dir + "/link.key").ok());
  ASSERT_EQ(::chmod((dir + "/signing.key").c_str(), 0644), 0);
  EXPECT_EQ(LoadPrivateKey(dir + "/link.key").status().code(),
            absl::StatusCode::kPermissionDenied);
}

TEST(KeysTest, PublicKeyFileIsNotAcceptedAsPrivateKeyAndViceVersa) {
  const std::string dir = FreshDir("swap");
  ASSERT_TRUE(WriteKeyPair(PrivateKey::Generate(), dir).ok());
  ASSERT_EQ(::chmod((dir + "/signing.pub").c_str(), 0600), 0);
  EXPECT_EQ(LoadPrivateKey(dir + "/signing.pub").status().code(),
            absl::StatusCode::kInvalidArgument);
  auto pub = LoadPublicKey(dir + "/signing.key");
  EXPECT_EQ(pub.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(pub.status().message(), HasSubstr("is a private key"));
}

TEST(KeysTest, Base64RoundTripsAndRejectsGarbage) {
  const std::string raw("\x00\xff\x10 binary\n", 10);
  auto back = FromBase64(ToBase64(raw), "x");
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, raw);
  EXPECT_EQ(ToBase64("hello"), "aGVsbG8=");
  EXPECT_FALSE(FromBase64("not base64!", "x").ok());
  EXPECT_FALSE(PublicKeyFromBase64("ed25519:aGVsbG8=", "x").ok());
}

TEST(KeysTest, KeyPathComesFromFlagOrEnvironmentVariable) {
  ::unsetenv(kSigningKeyEnv);
  EXPECT_EQ(ResolvePrivateKeyPath("").status().code(),
            absl::StatusCode::kInvalidArgument);
  ::setenv(kSigningKeyEnv, "/keys/k", 1);
  EXPECT_EQ(*ResolvePrivateKeyPath(""), "/keys/k");
  EXPECT_EQ(*ResolvePrivateKeyPath("/flag/k"), "/flag/k");
  ::unsetenv(kSigningKeyEnv);
}

}  // namespace
}  // namespace spatial::security
