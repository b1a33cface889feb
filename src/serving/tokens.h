// Bearer tokens for the management API: a tokens file stores, per token, a
// name, a role and the sha256 of the token (never the token itself), so that
// the file can be read by the server without holding a usable secret.
//   {"tokens": [{"name": "ci", "role": "deployer", "sha256": "<hex>"}]}
// Lookup hashes the presented token and compares it with every entry in
// constant time (no early exit), so timing says nothing about which bytes or
// which entry matched. Thread-safe after construction.
#ifndef SPATIAL_SERVING_TOKENS_H_
#define SPATIAL_SERVING_TOKENS_H_

#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace spatial::serving {

// Roles in ascending order: each may do everything the ones below it may.
// viewer reads (and, with --require-token, classifies); labeler may also send
// POST /feedback; deployer may also promote, roll back and reload; admin may
// do everything.
enum class Role { kViewer = 1, kLabeler = 2, kDeployer = 3, kAdmin = 4 };
const char* RoleName(Role r);
// InvalidArgument naming the roles for anything but a role's name.
absl::StatusOr<Role> ParseRole(const std::string& name);
// True when `have` may do what `need` may.
inline bool RoleAtLeast(Role have, Role need) {
  return static_cast<int>(have) >= static_cast<int>(need);
}

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
  // A table of `entries` (those of a loaded file that passed a check).
  static TokenTable FromEntries(std::vector<TokenEntry> entries);

  // The entry of `token`, or nullopt.
  std::optional<TokenEntry> Find(const std::string& token) const;
  size_t size() const { return Snapshot()->size(); }
  // Every entry (name, role, hash), in file order.
  std::vector<TokenEntry> Entries() const { return *Snapshot(); }

  // Replaces the entries with `fresh`'s (a reload of the file, so that a
  // token removed from it by `spatial token revoke` stops working). Safe
  // while other threads call Find (each Find sees the old or the new
  // entries, never a mix).
  void Replace(const TokenTable& fresh);

 private:
  using EntryList = std::vector<TokenEntry>;
  std::shared_ptr<const EntryList> Snapshot() const;

  // A pointer so that the table stays movable; guards entries_.
  std::unique_ptr<std::mutex> mu_ = std::make_unique<std::mutex>();
  std::shared_ptr<const EntryList> entries_ =
      std::make_shared<const EntryList>();  // guarded by *mu_
};

// A new random token (32 bytes, hex) and its entry.
std::pair<std::string, TokenEntry> NewToken(const std::string& name, Role role);

}  // namespace spatial::serving

#endif  // SPATIAL_SERVING_TOKENS_H_
