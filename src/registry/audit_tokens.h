// Bearer tokens in the audit log. A tokens file lives outside the registry,
// so `spatial token add|revoke` records each change as an audit event
// (token.add / token.revoke, with the token's name, role and sha256, never
// the token), and a server following the registry admits only the entries of
// its tokens file that the log vouches for: an entry written into the file by
// hand, or one whose role was edited, is refused. Functions only.
#ifndef SPATIAL_REGISTRY_AUDIT_TOKENS_H_
#define SPATIAL_REGISTRY_AUDIT_TOKENS_H_

#include <cstdint>
#include <map>
#include <string>

#include "absl/status/statusor.h"
#include "src/registry/audit.h"
#include "src/registry/registry.h"

namespace spatial::registry {

inline constexpr const char* kTokenAddAction = "token.add";
inline constexpr const char* kTokenRevokeAction = "token.revoke";

// What the audit log says of one token: the last token.add of its sha256
// not followed by a token.revoke of it.
struct AuditedToken {
  std::string name;
  std::string role;
  std::string sha256;
  std::string added_by;  // the record's actor
  int64_t seq = 0;       // the token.add record
};

// The audit records of `spatial token add` and `spatial token revoke`.
// `file` is the tokens file, as an absolute path.
AuditNote TokenAddNote(const std::string& actor, const std::string& name,
                       const std::string& role, const std::string& sha256,
                       const std::string& file);
AuditNote TokenRevokeNote(const std::string& actor, const std::string& name,
                          const std::string& sha256, const std::string& file);

// The tokens the log vouches for, by sha256. FailedPrecondition when the
// chain is broken (nothing in a broken log is evidence).
absl::StatusOr<std::map<std::string, AuditedToken>> AuditedTokens(
    Registry& registry);

// Why the log does not vouch for an entry of a tokens file (name, role,
// sha256); "" when it does.
std::string TokenEntryProblem(
    const std::map<std::string, AuditedToken>& audited, const std::string& name,
    const std::string& role, const std::string& sha256);

}  // namespace spatial::registry

#endif  // SPATIAL_REGISTRY_AUDIT_TOKENS_H_
