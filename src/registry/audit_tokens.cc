#include "src/registry/audit_tokens.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "src/base/status_macros.h"

namespace spatial::registry {

AuditNote TokenAddNote(const std::string& actor, const std::string& name,
                       const std::string& role, const std::string& sha256,
                       const std::string& file) {
  return {actor,
          kTokenAddAction,
          name,
          {{"role", role}, {"sha256", sha256}, {"file", file}}};
}

AuditNote TokenRevokeNote(const std::string& actor, const std::string& name,
                          const std::string& sha256, const std::string& file) {
  return {
      actor, kTokenRevokeAction, name, {{"sha256", sha256}, {"file", file}}};
}

absl::StatusOr<std::map<std::string, AuditedToken>> AuditedTokens(
    Registry& registry) {
  ASSIGN_OR_RETURN(std::vector<AuditRecord> log, registry.ListAudit());
  AuditCheck chain = VerifyAuditChain(log);
  if (chain.broken_seq) {
    return absl::FailedPreconditionError(
        absl::StrCat("the audit log is broken at record ", *chain.broken_seq,
                     " (", chain.problem, "); no token is vouched for by it"));
  }
  std::map<std::string, AuditedToken> tokens;
  for (const AuditRecord& r : log) {
    if (r.action != kTokenAddAction && r.action != kTokenRevokeAction) continue;
    if (!r.details.is_object() || !r.details.contains("sha256") ||
        !r.details["sha256"].is_string()) {
      continue;
    }
    const std::string sha256 = r.details["sha256"];
    if (r.action == kTokenRevokeAction) {
      tokens.erase(sha256);
      continue;
    }
    const Json role = r.details.value("role", Json());
    tokens[sha256] = {.name = r.subject,
                      .role = role.is_string() ? role.get<std::string>() : "",
                      .sha256 = sha256,
                      .added_by = r.actor,
                      .seq = r.seq};
  }
  return tokens;
}

std::string TokenEntryProblem(
    const std::map<std::string, AuditedToken>& audited, const std::string& name,
    const std::string& role, const std::string& sha256) {
  auto it = audited.find(sha256);
  if (it == audited.end()) {
    return "no `spatial token add` of it in the registry's audit log (added "
           "by hand, revoked, or added to another registry)";
  }
  const AuditedToken& t = it->second;
  if (t.name != name || t.role != role) {
    return absl::StrCat("the audit log (record ", t.seq, ") added it as '",
                        t.name, "' (", t.role, "), not '", name, "' (", role,
                        "): the file was edited by hand");
  }
  return "";
}

}  // namespace spatial::registry
