#include "cli/audited_tokens.h"

#include <utility>
#include <vector>

#include "src/base/status_macros.h"
#include "src/base/text.h"
#include "src/registry/audit_tokens.h"

namespace spatial::cli {

absl::StatusOr<serving::TokenTable> LoadAuditedTokens(
    const std::string& path, registry::Registry* registry, std::ostream& log) {
  ASSIGN_OR_RETURN(serving::TokenTable table, serving::TokenTable::Load(path));
  if (registry == nullptr) return table;
  ASSIGN_OR_RETURN(auto audited, registry::AuditedTokens(*registry));
  std::vector<serving::TokenEntry> kept;
  for (serving::TokenEntry& e : table.Entries()) {
    std::string problem = registry::TokenEntryProblem(
        audited, e.name, serving::RoleName(e.role), e.sha256);
    if (problem.empty()) {
      kept.push_back(std::move(e));
      continue;
    }
    log << "refusing token '" << base::EscapeForTerminal(e.name) << "' of "
        << base::EscapeForTerminal(path) << ": " << problem
        << "; add tokens with `spatial token add --registry ...`" << std::endl;
  }
  return serving::TokenTable::FromEntries(std::move(kept));
}

}  // namespace spatial::cli
