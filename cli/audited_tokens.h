// The tokens a server or console admits: the tokens file's entries, and,
// where a registry is attached, only those its audit log vouches for
// (src/registry/audit_tokens.h). Functions only.
#ifndef SPATIAL_CLI_AUDITED_TOKENS_H_
#define SPATIAL_CLI_AUDITED_TOKENS_H_

#include <ostream>
#include <string>

#include "absl/status/statusor.h"
#include "src/registry/registry.h"
#include "src/serving/tokens.h"

namespace spatial::cli {

// Reads the tokens file at `path` (as TokenTable::Load does); with
// `registry`, drops each entry that no token.add record of its sha256, name
// and role vouches for, saying so on `log` with the entry's name. An error
// when the file cannot be read or the audit log is broken.
absl::StatusOr<serving::TokenTable> LoadAuditedTokens(
    const std::string& path, registry::Registry* registry, std::ostream& log);

}  // namespace spatial::cli

#endif  // SPATIAL_CLI_AUDITED_TOKENS_H_
