// Ed25519 signing keys (libsodium): generation, the two key files and the key
// id. A private key lives only in a file of mode 0600 (or stricter) and in a
// PrivateKey object, which wipes its bytes when destroyed; nothing here logs
// or prints key material. Pure functions over files; thread-safe.
#ifndef SPATIAL_SECURITY_KEYS_H_
#define SPATIAL_SECURITY_KEYS_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace spatial::security {

constexpr const char* kPrivateKeyFile = "signing.key";
constexpr const char* kPublicKeyFile = "signing.pub";
// The environment variable that may name the private key file.
constexpr const char* kSigningKeyEnv = "SPATIAL_SIGNING_KEY_FILE";

struct PublicKey {
  std::string bytes;   // 32 raw bytes
  std::string key_id;  // KeyId(bytes)
  // "ed25519:" + base64 of the raw bytes, the form stored in signing.pub and
  // in an environment's trusted_keys.
  std::string Base64() const;
};

// Parses the base64 of a 32-byte Ed25519 public key (an optional "ed25519:"
// prefix allowed). InvalidArgument naming `where` otherwise.
absl::StatusOr<PublicKey> PublicKeyFromBase64(absl::string_view text,
                                              absl::string_view where);

class PrivateKey {
 public:
  PrivateKey(const PrivateKey&) = delete;
  PrivateKey& operator=(const PrivateKey&) = delete;
  PrivateKey(PrivateKey&& o) noexcept;
  PrivateKey& operator=(PrivateKey&&) = delete;
  ~PrivateKey();

  // A fresh random key pair.
  static PrivateKey Generate();
  const PublicKey& public_key() const { return public_; }
  // The detached Ed25519 signature (64 raw bytes) of `message`.
  std::string Sign(absl::string_view message) const;

 private:
  friend absl::StatusOr<PrivateKey> LoadPrivateKey(const std::string& path);
  friend absl::Status WriteKeyPair(const PrivateKey& key,
                                   const std::string& dir);
  PrivateKey();
  unsigned char secret_[64];  // libsodium's seed || public key
  PublicKey public_;
};

// The key id: the first 16 hex digits of sha256 over the raw public key.
std::string KeyId(absl::string_view public_key_bytes);

// True when `signature` is a valid Ed25519 signature of `message` by `key`.
bool VerifySignature(const PublicKey& key, absl::string_view message,
                     absl::string_view signature);

// Writes DIR/signing.key (mode 0600, created exclusively: an existing key is
// never overwritten) and DIR/signing.pub. AlreadyExists when either exists.
absl::Status WriteKeyPair(const PrivateKey& key, const std::string& dir);

// Reads a private key file. PermissionDenied when the file is readable or
// writable by group or others (the message says to chmod 600 it);
// InvalidArgument when it is not a key file of ours. Never puts key bytes in
// a message.
absl::StatusOr<PrivateKey> LoadPrivateKey(const std::string& path);

// Reads a public key file (signing.pub).
absl::StatusOr<PublicKey> LoadPublicKey(const std::string& path);

// The private key file to use: `flag` when set, else the file named by
// $SPATIAL_SIGNING_KEY_FILE; InvalidArgument when neither is given.
absl::StatusOr<std::string> ResolvePrivateKeyPath(const std::string& flag);

// Base64 (standard alphabet, padded) of raw bytes, and back.
std::string ToBase64(absl::string_view bytes);
absl::StatusOr<std::string> FromBase64(absl::string_view text,
                                       absl::string_view what);

}  // namespace spatial::security

#endif  // SPATIAL_SECURITY_KEYS_H_
