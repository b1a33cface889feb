// Bearer tokens for the management API: a tokens file stores, per token, a
// name, a role and the sha256 of the token (never the token itself), so that
// the file can be read by the server without holding a usable secret.
//   {"tokens": [{"name": "ci", "role": "deployer", "sha256": "<hex>"}]}
// Lookup hashes the presented token and compares it with every entry in
// constant time (no early exit), so timing says nothing about which bytes or
// which entry matched. Thread-safe after construction.
#ifndef SPATIAL_SERVING_TOKENS_H_
#define SPATIAL_SERVING_TOKENS_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace spatial::serving {

enum class Role { kViewer = 1, kDeployer = 2, kAdmin = 3 };
const char* RoleName(Role r);
absl::StatusOr<Role> ParseRole(const std::string& name);

struct TokenEntry {
  std::string name;
  Role role = Role::kViewer;
  std::string sha256;  // hex of sha256(token)
};

class TokenTable {
 public:
  // Parses a tokens file's text; InvalidArgument naming what is wrong.
  static absl::StatusOr<TokenTable> Parse(const std::string& text,
                                          const std::string& where);
  // Reads a tokens file; refuses one that others may write.
  static absl::StatusOr<TokenTable> Load(const std::string& path);

  // The entry of `token`, or nullopt.
  std::optional<TokenEntry> Find(const std::string& token) const;
  size_t size() const { return entries_.size(); }

 private:
  std::vector<TokenEntry> entries_;
};

// A new random token (32 bytes, hex) and its entry.
std::pair<std::string, TokenEntry> NewToken(const std::string& name, Role role);

}  // namespace spatial::serving

#endif  // SPATIAL_SERVING_TOKENS_H_
