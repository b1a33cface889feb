#include "src/security/keys.h"

#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/strip.h"
#include "src/base/files.h"
#include "src/base/sha256.h"
#include "src/base/status_macros.h"

namespace spatial::security {
namespace {

constexpr absl::string_view kPrivateHeader = "spatial-ed25519-private-key v1";
constexpr absl::string_view kPublicPrefix = "ed25519:";
constexpr size_t kMaxKeyFile = 4096;

void InitSodium() {
  static const bool ok = sodium_init() >= 0;
  if (!ok) std::abort();  // no usable random source: nothing can be signed
}

PublicKey MakePublic(const unsigned char* bytes) {
  PublicKey p;
  p.bytes.assign(reinterpret_cast<const char*>(bytes),
                 crypto_sign_PUBLICKEYBYTES);
  p.key_id = KeyId(p.bytes);
  return p;
}

// Reads a small file through an already opened descriptor.
absl::StatusOr<std::string> ReadFd(int fd, const std::string& path) {
  std::string out;
  char buf[1024];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) return base::ErrnoStatus(errno, absl::StrCat("read ", path));
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
    if (out.size() > kMaxKeyFile) {
      sodium_memzero(buf, sizeof buf);
      sodium_memzero(out.data(), out.size());
      return absl::InvalidArgumentError(
          absl::StrCat(path, " is too large to be a key file"));
    }
  }
  sodium_memzero(buf, sizeof buf);
  return out;
}

}  // namespace

std::string ToBase64(absl::string_view bytes) {
  InitSodium();
  const int variant = sodium_base64_VARIANT_ORIGINAL;
  std::string out(sodium_base64_ENCODED_LEN(bytes.size(), variant), '\0');
  sodium_bin2base64(out.data(), out.size(),
                    reinterpret_cast<const unsigned char*>(bytes.data()),
                    bytes.size(), variant);
  out.resize(std::strlen(out.c_str()));
  return out;
}

absl::StatusOr<std::string> FromBase64(absl::string_view text,
                                       absl::string_view what) {
  InitSodium();
  std::string out(text.size(), '\0');
  size_t len = 0;
  const char* end = nullptr;
  if (sodium_base642bin(reinterpret_cast<unsigned char*>(out.data()),
                        out.size(), text.data(), text.size(), nullptr, &len,
                        &end, sodium_base64_VARIANT_ORIGINAL) != 0 ||
      end != text.data() + text.size()) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, " is not valid base64"));
  }
  out.resize(len);
  return out;
}

std::string KeyId(absl::string_view public_key_bytes) {
  return base::Sha256Hex(public_key_bytes).substr(0, 16);
}

std::string PublicKey::Base64() const {
  return absl::StrCat(kPublicPrefix, ToBase64(bytes));
}

absl::StatusOr<PublicKey> PublicKeyFromBase64(absl::string_view text,
                                              absl::string_view where) {
  text = absl::StripAsciiWhitespace(text);
  absl::ConsumePrefix(&text, kPublicPrefix);
  ASSIGN_OR_RETURN(std::string raw,
                   FromBase64(text, absl::StrCat(where, ": the public key")));
  if (raw.size() != crypto_sign_PUBLICKEYBYTES) {
    return absl::InvalidArgumentError(absl::StrCat(
        where, ": an Ed25519 public key has ", crypto_sign_PUBLICKEYBYTES,
        " bytes, this one ", raw.size()));
  }
  return MakePublic(reinterpret_cast<const unsigned char*>(raw.data()));
}

PrivateKey::PrivateKey() { std::memset(secret_, 0, sizeof secret_); }

PrivateKey::PrivateKey(PrivateKey&& o) noexcept : public_(o.public_) {
  std::memcpy(secret_, o.secret_, sizeof secret_);
  sodium_memzero(o.secret_, sizeof o.secret_);
}

PrivateKey::~PrivateKey() { sodium_memzero(secret_, sizeof secret_); }

PrivateKey PrivateKey::Generate() {
  InitSodium();
  PrivateKey k;
  unsigned char pk[crypto_sign_PUBLICKEYBYTES];
  crypto_sign_keypair(pk, k.secret_);
  k.public_ = MakePublic(pk);
  return k;
}

std::string PrivateKey::Sign(absl::string_view message) const {
  unsigned char sig[crypto_sign_BYTES];
  crypto_sign_detached(sig, nullptr,
                       reinterpret_cast<const unsigned char*>(message.data()),
                       message.size(), secret_);
  return std::string(reinterpret_cast<const char*>(sig), sizeof sig);
}

bool VerifySignature(const PublicKey& key, absl::string_view message,
                     absl::string_view signature) {
  InitSodium();
  if (signature.size() != crypto_sign_BYTES ||
      key.bytes.size() != crypto_sign_PUBLICKEYBYTES) {
    return false;
  }
  return crypto_sign_verify_detached(
             reinterpret_cast<const unsigned char*>(signature.data()),
             reinterpret_cast<const unsigned char*>(message.data()),
             message.size(),
             reinterpret_cast<const unsigned char*>(key.bytes.data())) == 0;
}

absl::Status WriteKeyPair(const PrivateKey& key, const std::string& dir) {
  namespace fs = std::filesystem;
  const std::string priv = (fs::path(dir) / kPrivateKeyFile).string();
  const std::string pub = (fs::path(dir) / kPublicKeyFile).string();
  std::error_code ec;
  for (const auto& p : {priv, pub}) {
    if (fs::exists(fs::symlink_status(p, ec))) {
      return absl::AlreadyExistsError(absl::StrCat(
          p,
          " exists; keys are never overwritten (choose another --out, or "
          "move the old keys away first)"));
    }
  }
  RETURN_IF_ERROR(base::MakeDirs(dir));
  // The seed (first 32 bytes) determines the whole key pair.
  std::string body = absl::StrCat(
      kPrivateHeader, "\n",
      ToBase64(absl::string_view(reinterpret_cast<const char*>(key.secret_),
                                 crypto_sign_SEEDBYTES)),
      "\n");
  int fd = ::open(priv.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    sodium_memzero(body.data(), body.size());
    return base::ErrnoStatus(errno, absl::StrCat("create ", priv));
  }
  ::fchmod(fd, 0600);
  const bool written = ::write(fd, body.data(), body.size()) ==
                           static_cast<ssize_t>(body.size()) &&
                       ::fsync(fd) == 0;
  const int err = errno;
  ::close(fd);
  sodium_memzero(body.data(), body.size());
  if (!written) {
    ::unlink(priv.c_str());
    return base::ErrnoStatus(err, absl::StrCat("write ", priv));
  }
  return base::WriteFileAtomic(pub, key.public_key().Base64() + "\n", 0644);
}

absl::StatusOr<PrivateKey> LoadPrivateKey(const std::string& path) {
  InitSodium();
  // A symbolic link is followed (secret mounts are often links); the mode
  // checked is the file's own, through the opened descriptor.
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return base::ErrnoStatus(errno, absl::StrCat("private key ", path));
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return absl::InvalidArgumentError(
        absl::StrCat("private key ", path, " is not a regular file"));
  }
  if ((st.st_mode & 077) != 0) {
    ::close(fd);
    return absl::PermissionDeniedError(absl::StrFormat(
        "private key %s is accessible by group or others (mode %04o); "
        "refusing to use it: run chmod 600 %s (and consider the key "
        "compromised if others could read it)",
        path, st.st_mode & 07777, path));
  }
  auto text = ReadFd(fd, path);
  ::close(fd);
  if (!text.ok()) return text.status();
  absl::string_view rest = *text;
  const bool header = absl::ConsumePrefix(&rest, kPrivateHeader) &&
                      absl::ConsumePrefix(&rest, "\n");
  auto seed = header
                  ? FromBase64(absl::StripAsciiWhitespace(rest), "seed")
                  : absl::StatusOr<std::string>(absl::InvalidArgumentError(""));
  sodium_memzero(text->data(), text->size());
  if (!seed.ok() || seed->size() != crypto_sign_SEEDBYTES) {
    if (seed.ok()) sodium_memzero(seed->data(), seed->size());
    return absl::InvalidArgumentError(absl::StrCat(
        path,
        " is not a spatial private key file (spatial keys generate "
        "writes one)"));
  }
  PrivateKey k;
  unsigned char pk[crypto_sign_PUBLICKEYBYTES];
  crypto_sign_seed_keypair(
      pk, k.secret_, reinterpret_cast<const unsigned char*>(seed->data()));
  sodium_memzero(seed->data(), seed->size());
  k.public_ = MakePublic(pk);
  return k;
}

absl::StatusOr<PublicKey> LoadPublicKey(const std::string& path) {
  ASSIGN_OR_RETURN(std::string text, base::ReadFile(path, kMaxKeyFile));
  if (absl::StrContains(text, kPrivateHeader)) {
    return absl::InvalidArgumentError(absl::StrCat(
        path, " is a private key; pass the public key (signing.pub)"));
  }
  return PublicKeyFromBase64(text, path);
}

absl::StatusOr<std::string> ResolvePrivateKeyPath(const std::string& flag) {
  if (!flag.empty()) return flag;
  const char* env = std::getenv(kSigningKeyEnv);
  if (env != nullptr && *env != '\0') return std::string(env);
  return absl::InvalidArgumentError(
      absl::StrCat("no signing key: pass --key FILE or set ", kSigningKeyEnv,
                   " to the path of the private key file (keys are never "
                   "taken as command-line values)"));
}

}  // namespace spatial::security
