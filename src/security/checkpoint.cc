#include "src/security/checkpoint.h"

#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "nlohmann/json.hpp"
#include "src/security/dsse.h"

namespace spatial::security {
namespace {

using Json = nlohmann::json;

bool IsSha256Hex(const std::string& s) {
  if (s.size() != 64) return false;
  for (char ch : s) {
    if (!absl::ascii_isxdigit(static_cast<unsigned char>(ch)) ||
        absl::ascii_isupper(static_cast<unsigned char>(ch))) {
      return false;
    }
  }
  return true;
}

absl::Status NotACheckpoint(absl::string_view where, absl::string_view why) {
  return absl::FailedPreconditionError(
      absl::StrCat(where, " is not an audit checkpoint (", why,
                   "); pass a file written by `spatial audit checkpoint`"));
}

absl::StatusOr<Checkpoint> ParsePayload(absl::string_view payload,
                                        absl::string_view where) {
  Json j = Json::parse(payload.begin(), payload.end(), nullptr,
                       /*allow_exceptions=*/false);
  if (!j.is_object() || j.value("_type", "") != kCheckpointType) {
    return NotACheckpoint(
        where, absl::StrCat("its payload is not of type ", kCheckpointType));
  }
  Checkpoint c;
  auto str = [&](const char* k, std::string& out) {
    auto it = j.find(k);
    if (it == j.end() || !it->is_string() || it->get<std::string>().empty())
      return false;
    out = it->get<std::string>();
    return true;
  };
  if (!str("registry_id", c.registry_id) || !str("head", c.head) ||
      !str("time", c.time) || !j.contains("seq") ||
      !j["seq"].is_number_integer() || j["seq"].get<int64_t>() < 1 ||
      !IsSha256Hex(c.head)) {
    return NotACheckpoint(
        where, "its payload lacks registry_id, seq >= 1, head or time");
  }
  c.seq = j["seq"].get<int64_t>();
  return c;
}

}  // namespace

absl::StatusOr<Checkpoint> MakeCheckpoint(
    const registry::AuditSnapshot& snapshot, std::string time) {
  if (snapshot.records.empty()) {
    return absl::FailedPreconditionError(
        "the audit log is empty: there is nothing to checkpoint yet");
  }
  Checkpoint c;
  c.registry_id = snapshot.registry_id;
  c.seq = snapshot.records.back().seq;
  c.head = snapshot.records.back().hash;
  c.time = std::move(time);
  return c;
}

std::string SignCheckpoint(const Checkpoint& c, const PrivateKey& key) {
  Envelope e;
  e.payload_type = kCheckpointPayloadType;
  e.payload = Json{
      {"_type", kCheckpointType},
      {"registry_id", c.registry_id},
      {"seq", c.seq},
      {"head", c.head},
      {"time",
       c.time}}.dump();
  e.signatures.push_back(
      {key.public_key().key_id, key.Sign(Pae(e.payload_type, e.payload))});
  return e.Serialize() + "\n";
}

absl::StatusOr<Checkpoint> ReadCheckpoint(absl::string_view text,
                                          absl::string_view where,
                                          const PublicKey& key) {
  absl::StatusOr<Envelope> e = Envelope::Parse(text, where);
  if (!e.ok()) {
    return NotACheckpoint(
        where, absl::StrCat(e.status().message(), "; is it truncated?"));
  }
  if (e->payload_type != kCheckpointPayloadType) {
    return NotACheckpoint(
        where, absl::StrCat("a DSSE envelope of type ", e->payload_type,
                            ", not ", kCheckpointPayloadType));
  }
  const std::string pae = Pae(e->payload_type, e->payload);
  std::vector<std::string> signers;
  bool by_key = false;
  for (const auto& s : e->signatures) {
    signers.push_back(s.keyid.empty() ? "(no key id)" : s.keyid);
    if (!s.keyid.empty() && s.keyid != key.key_id) continue;
    by_key = by_key || s.keyid == key.key_id;
    if (VerifySignature(key, pae, s.sig)) {
      absl::StatusOr<Checkpoint> c = ParsePayload(e->payload, where);
      if (c.ok()) c->key_id = key.key_id;
      return c;
    }
  }
  if (by_key) {
    return absl::FailedPreconditionError(absl::StrCat(
        "the signature of ", where, " by key ", key.key_id,
        " does not verify: the checkpoint was altered after signing or "
        "forged; do not trust it, take a new one from a log you trust"));
  }
  return absl::FailedPreconditionError(
      absl::StrCat(where, " is signed by key ", absl::StrJoin(signers, ", "),
                   ", not by the given public key ", key.key_id,
                   "; pass --public-key of the key that signs this registry's "
                   "checkpoints"));
}

absl::Status CheckLogContains(const Checkpoint& c,
                              const registry::AuditSnapshot& snapshot,
                              absl::string_view where) {
  if (c.registry_id != snapshot.registry_id) {
    return absl::FailedPreconditionError(
        absl::StrCat(where, " is a checkpoint of registry ", c.registry_id,
                     ", not of this one (", snapshot.registry_id,
                     "); pass a checkpoint taken of this registry"));
  }
  const int64_t records = static_cast<int64_t>(snapshot.records.size());
  const registry::AuditRecord* at = nullptr;
  for (const auto& r : snapshot.records) {
    if (r.seq == c.seq) at = &r;
  }
  if (at == nullptr && (records == 0 || snapshot.records.back().seq < c.seq)) {
    return absl::DataLossError(
        absl::StrCat("the audit log ends at seq ",
                     records == 0 ? 0 : snapshot.records.back().seq, " but ",
                     where, " (taken ", c.time, ") vouches for ", c.seq,
                     " records: the log's tail was cut off"));
  }
  if (at == nullptr) {
    return absl::DataLossError(
        absl::StrCat("the audit log has no record seq ", c.seq, ", which ",
                     where, " (taken ", c.time, ") vouches for"));
  }
  if (at->hash != c.head) {
    return absl::DataLossError(absl::StrCat(
        "the audit log diverges from ", where, " (taken ", c.time,
        "): its record seq ", c.seq, " has hash ", at->hash,
        ", the checkpoint says ", c.head, " (the log was rewritten)"));
  }
  return absl::OkStatus();
}

}  // namespace spatial::security
