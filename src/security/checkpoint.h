// Signed checkpoints of the audit log, as transparency logs keep them: the
// statement "registry R's audit log had N records, the last with hash H, at
// time T", signed with Ed25519 in a DSSE envelope. Kept where whoever can
// write the registry cannot (another machine, a bucket with retention), a
// checkpoint shows a log that was cut shorter than it or rewritten below it,
// which the hash chain alone cannot. Pure functions; thread-safe.
#ifndef SPATIAL_SECURITY_CHECKPOINT_H_
#define SPATIAL_SECURITY_CHECKPOINT_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "src/registry/audit_links.h"
#include "src/security/keys.h"

namespace spatial::security {

constexpr const char* kCheckpointPayloadType =
    "application/vnd.spatial-deploy.audit-checkpoint+json";
constexpr const char* kCheckpointType =
    "https://spatial-deploy.dev/audit-checkpoint/v1";

struct Checkpoint {
  std::string registry_id;  // AuditSnapshot::registry_id
  int64_t seq = 0;          // the number of records, >= 1
  std::string head;         // the hash of record `seq`
  std::string time;         // ISO 8601, when it was taken
  std::string key_id;       // the key that signed it (ReadCheckpoint)
};

// The checkpoint of `snapshot`'s log at `time`. FailedPrecondition when the
// log is empty (there is nothing to vouch for yet).
absl::StatusOr<Checkpoint> MakeCheckpoint(
    const registry::AuditSnapshot& snapshot, std::string time);

// The DSSE envelope JSON of `c` signed by `key`: the checkpoint file.
std::string SignCheckpoint(const Checkpoint& c, const PrivateKey& key);

// Reads a checkpoint file's bytes (`where` names it in messages) and checks
// that `key` signed it. FailedPrecondition, saying what to do, for anything
// else: not a DSSE envelope (e.g. truncated), an envelope of another payload
// type, no signature by `key` (naming the keys that did sign), a signature
// that does not verify (altered after signing), a payload that is not a
// checkpoint.
absl::StatusOr<Checkpoint> ReadCheckpoint(absl::string_view text,
                                          absl::string_view where,
                                          const PublicKey& key);

// OK when `snapshot`'s log contains the checkpoint: its record `c.seq` has
// hash `c.head`. FailedPrecondition when the checkpoint is of another
// registry; DataLoss when the log is shorter than the checkpoint (its tail
// was cut) or has another record at that seq (it was rewritten).
absl::Status CheckLogContains(const Checkpoint& c,
                              const registry::AuditSnapshot& snapshot,
                              absl::string_view where);

}  // namespace spatial::security

#endif  // SPATIAL_SECURITY_CHECKPOINT_H_
