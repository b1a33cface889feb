// Streaming SHA-256 and helpers that hash files in fixed-size chunks without
// loading them whole. OpenSSL's libcrypto is used rather than
// libsodium: it uses the CPU's SHA instructions and measured 3-4x faster than
// sha256sum here (bench/registry_bench.sh), where libsodium ran at 1.0x.
// Sha256 objects are not thread-safe; the free functions are.
#ifndef SPATIAL_BASE_SHA256_H_
#define SPATIAL_BASE_SHA256_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

struct evp_md_ctx_st;  // OpenSSL's EVP_MD_CTX

namespace spatial::base {

// Incremental SHA-256: Update() any number of times, then HexDigest() once.
class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;
  void Update(const void* data, size_t size);
  void Update(absl::string_view data) { Update(data.data(), data.size()); }
  // Finishes the hash; the object must not be updated afterwards.
  std::string HexDigest();

 private:
  ::evp_md_ctx_st* ctx_;
};

// Hex digest of `data`.
std::string Sha256Hex(absl::string_view data);

// Hex digest of the file at `path`, read in chunks. NotFound or
// PermissionDenied/Internal with the path in the message.
absl::StatusOr<std::string> Sha256File(const std::string& path);

// True if `s` is 64 lowercase hex characters.
bool IsSha256Hex(absl::string_view s);

}  // namespace spatial::base

#endif  // SPATIAL_BASE_SHA256_H_
