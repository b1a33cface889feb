#include "src/registry/audit.h"

#include "absl/strings/str_cat.h"
#include "src/base/sha256.h"

namespace spatial::registry {

std::string AuditHash(const AuditRecord& r) {
  // nlohmann::json objects keep their keys sorted: dump() is canonical.
  Json j = {{"seq", r.seq},
            {"time", r.time},
            {"actor", r.actor},
            {"action", r.action},
            {"subject", r.subject},
            {"details", r.details},
            {"prev_hash", r.prev_hash}};
  return base::Sha256Hex(j.dump());
}

AuditRecord NextAuditRecord(const std::optional<AuditRecord>& prev,
                            const AuditNote& note, std::string time) {
  AuditRecord r;
  r.seq = prev ? prev->seq + 1 : 1;
  r.time = std::move(time);
  r.actor = note.actor;
  r.action = note.action;
  r.subject = note.subject;
  r.details = note.details.is_null() ? Json::object() : note.details;
  r.prev_hash = prev ? prev->hash : kAuditGenesis;
  r.hash = AuditHash(r);
  return r;
}

AuditCheck VerifyAuditChain(const std::vector<AuditRecord>& records) {
  AuditCheck c;
  std::string prev_hash = kAuditGenesis;
  int64_t expected = 1;
  for (const auto& r : records) {
    auto broken = [&](std::string why) {
      c.broken_seq = r.seq;
      c.problem = std::move(why);
      return c;
    };
    if (r.seq > expected) {
      return broken(absl::StrCat(
          "seq ", expected,
          r.seq - 1 > expected ? absl::StrCat(" to ", r.seq - 1) : "",
          " missing before it (a record was deleted)"));
    }
    if (r.seq < expected) {
      return broken(absl::StrCat("seq ", r.seq, " follows seq ", expected - 1,
                                 " (records were reordered or repeated)"));
    }
    if (r.prev_hash != prev_hash) {
      return broken(absl::StrCat(
          "prev_hash does not match the hash of seq ", r.seq - 1,
          " (a record before it was removed, replaced or reordered)"));
    }
    if (AuditHash(r) != r.hash) {
      return broken(
          "its hash does not match its contents (the record was "
          "edited)");
    }
    prev_hash = r.hash;
    ++expected;
    ++c.records;
  }
  c.head = records.empty() ? "" : records.back().hash;
  return c;
}

Json AuditRecordToJson(const AuditRecord& r) {
  return {{"seq", r.seq},
          {"time", r.time},
          {"actor", r.actor},
          {"action", r.action},
          {"subject", r.subject},
          {"details", r.details},
          {"prev_hash", r.prev_hash},
          {"hash", r.hash}};
}

}  // namespace spatial::registry
