// The audit log's records and their hash chain. Every registry change appends
// one record in the transaction of the change; each record's hash covers its
// fields and the previous record's hash, so that an edited, deleted or
// reordered record breaks the chain from there on. Pure functions;
// thread-safe.
#ifndef SPATIAL_REGISTRY_AUDIT_H_
#define SPATIAL_REGISTRY_AUDIT_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "src/registry/model_version.h"

namespace spatial::registry {

// What a change is, as the caller describes it to the registry.
struct AuditNote {
  std::string actor;
  std::string action;   // "register", "validate", "promote", "key.trust", ...
  std::string subject;  // a version id or an environment name
  Json details = Json::object();
};

struct AuditRecord {
  int64_t seq = 0;   // 1, 2, 3, ... without gaps
  std::string time;  // ISO 8601, UTC
  std::string actor;
  std::string action;
  std::string subject;
  Json details = Json::object();
  std::string prev_hash;  // the previous record's hash; kAuditGenesis for seq 1
  std::string hash;       // AuditHash(*this)
};

// prev_hash of the first record.
inline constexpr const char* kAuditGenesis =
    "0000000000000000000000000000000000000000000000000000000000000000";

// sha256 hex over the canonical JSON (sorted keys, no spaces) of seq, time,
// actor, action, subject, details and prev_hash.
std::string AuditHash(const AuditRecord& r);

// The record that follows `prev` (nullopt: the first one) for `note` at `time`,
// with seq, prev_hash and hash filled in.
AuditRecord NextAuditRecord(const std::optional<AuditRecord>& prev,
                            const AuditNote& note, std::string time);

struct AuditCheck {
  int64_t records = 0;
  std::optional<int64_t> broken_seq;  // the first record that breaks the chain
  std::string problem;                // why, when broken
  std::string head;                   // the last record's hash
};

// Walks `records` (in seq order, as stored) and reports the first break:
// a gap or repeat in seq (a record deleted or reordered), a prev_hash that is
// not the previous record's hash, or a hash that does not match the record.
AuditCheck VerifyAuditChain(const std::vector<AuditRecord>& records);

// The JSON of a record ({seq, time, actor, action, subject, details,
// prev_hash, hash}).
Json AuditRecordToJson(const AuditRecord& r);

}  // namespace spatial::registry

#endif  // SPATIAL_REGISTRY_AUDIT_H_
