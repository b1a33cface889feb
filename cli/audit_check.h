// `spatial audit verify` and `spatial audit checkpoint`: check the audit log
// whole (hash chain, row links both ways, optionally against a signed
// checkpoint) and sign checkpoints of it. Each call opens its own registry.
#ifndef SPATIAL_CLI_AUDIT_CHECK_H_
#define SPATIAL_CLI_AUDIT_CHECK_H_

#include <string>

#include "absl/status/statusor.h"
#include "cli/registry_context.h"

namespace spatial::cli {

struct AuditCheckFlags {
  RegistryFlags reg;
  std::string checkpoint;  // verify: --checkpoint FILE
  std::string public_key;  // verify: --public-key FILE
  std::string key;         // checkpoint: --key FILE ($SPATIAL_SIGNING_KEY_FILE)
  std::string out;         // checkpoint: --out FILE
};

// Prints what holds on stdout and every break on stderr; exit 1 when the
// chain is broken, a row and its record do not match, or the log does not
// contain the checkpoint.
absl::StatusOr<int> RunAuditVerify(const AuditCheckFlags& f);

// Verifies the log as RunAuditVerify does (refusing to vouch for a broken
// one), then writes a checkpoint of it signed with the key to --out.
absl::StatusOr<int> RunAuditCheckpoint(const AuditCheckFlags& f);

}  // namespace spatial::cli

#endif  // SPATIAL_CLI_AUDIT_CHECK_H_
