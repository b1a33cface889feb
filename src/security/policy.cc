#include "src/security/policy.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "src/base/status_macros.h"
#include "src/security/signing.h"

namespace spatial::security {
namespace {

using registry::Json;

constexpr const char* kTrustedKeys = "trusted_keys";

Json& KeyList(registry::Environment& env) {
  Json& list = env.extra[kTrustedKeys];
  if (!list.is_array()) list = Json::array();
  return list;
}

}  // namespace

absl::StatusOr<std::vector<PublicKey>> TrustedKeys(
    const registry::Environment& env) {
  std::vector<PublicKey> out;
  auto it = env.extra.find(kTrustedKeys);
  if (it == env.extra.end() || it->is_null()) return out;
  const std::string where =
      absl::StrCat("environment ", env.name, ": ", kTrustedKeys);
  if (!it->is_array()) {
    return absl::InvalidArgumentError(absl::StrCat(where, " must be a list"));
  }
  for (const auto& k : *it) {
    if (!k.is_object() || !k.contains("public_key") ||
        !k["public_key"].is_string()) {
      return absl::InvalidArgumentError(absl::StrCat(
          where, ": each entry needs \"public_key\": \"ed25519:BASE64\""));
    }
    ASSIGN_OR_RETURN(
        PublicKey key,
        PublicKeyFromBase64(k["public_key"].get<std::string>(), where));
    if (k.contains("id") && k["id"] != key.key_id) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, ": id ", k["id"].dump(),
                       " is not the id of its key (", key.key_id, ")"));
    }
    out.push_back(std::move(key));
  }
  return out;
}

absl::Status AddTrustedKey(registry::Environment& env, const PublicKey& key) {
  ASSIGN_OR_RETURN(auto keys, TrustedKeys(env));
  for (const auto& k : keys) {
    if (k.key_id == key.key_id) {
      return absl::AlreadyExistsError(
          absl::StrCat(env.name, " already trusts key ", key.key_id));
    }
  }
  KeyList(env).push_back({{"id", key.key_id}, {"public_key", key.Base64()}});
  return absl::OkStatus();
}

absl::Status RemoveTrustedKey(registry::Environment& env,
                              const std::string& key_id) {
  ASSIGN_OR_RETURN(auto keys, TrustedKeys(env));
  std::vector<std::string> ids;
  for (const auto& k : keys) ids.push_back(k.key_id);
  if (std::find(ids.begin(), ids.end(), key_id) == ids.end()) {
    return absl::NotFoundError(absl::StrCat(
        env.name, " does not trust key ", key_id,
        " (trusted: ", ids.empty() ? "none" : absl::StrJoin(ids, ", "), ")"));
  }
  Json& list = KeyList(env);
  Json kept = Json::array();
  for (size_t i = 0; i < list.size(); ++i) {
    if (keys[i].key_id != key_id) kept.push_back(list[i]);
  }
  list = kept;
  return absl::OkStatus();
}

absl::StatusOr<registry::Environment> PinTrust(
    const registry::Environment& env, const std::vector<PublicKey>& anchor,
    const std::string& anchor_source) {
  ASSIGN_OR_RETURN(auto listed, TrustedKeys(env));
  registry::Environment pinned = env;
  pinned.extra["require_signature"] = true;
  Json& list = KeyList(pinned);
  list = Json::array();
  std::vector<std::string> listed_ids, anchor_ids;
  for (const auto& a : anchor) anchor_ids.push_back(a.key_id);
  for (const auto& k : listed) {
    listed_ids.push_back(k.key_id);
    // The key itself, not its 64-bit id, must be one of the given ones.
    const std::string bytes = k.Base64();
    if (std::any_of(anchor.begin(), anchor.end(),
                    [&](const PublicKey& a) { return a.Base64() == bytes; })) {
      list.push_back({{"id", k.key_id}, {"public_key", bytes}});
    }
  }
  if (list.empty()) {
    return absl::FailedPreconditionError(absl::StrCat(
        env.name, " trusts none of the keys given with ", anchor_source, " (",
        absl::StrJoin(anchor_ids, ", "), "); the registry trusts ",
        listed_ids.empty() ? "none" : absl::StrJoin(listed_ids, ", "),
        " (spatial keys trust signing.pub --environment ", env.name, ")"));
  }
  return pinned;
}

namespace {

// CheckSigned against `files` when given, else against the blobs in `store`.
absl::Status CheckSignedAgainst(registry::Registry& registry,
                                const registry::ArtifactStore* store,
                                const std::vector<FileDigest>* files,
                                const registry::ModelVersion& v,
                                const registry::Environment& env) {
  ASSIGN_OR_RETURN(auto trusted, TrustedKeys(env));
  if (trusted.empty()) {
    return absl::FailedPreconditionError(
        absl::StrCat(env.name,
                     " requires a signature by a trusted key but trusts none; "
                     "add one: spatial keys trust PUBFILE --environment ",
                     env.name));
  }
  ASSIGN_OR_RETURN(auto signatures, registry.ListSignatures(v.version_id));
  if (signatures.empty()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "version ", v.version_id, " is unsigned and ", env.name,
        " requires a signature by a trusted key (spatial model sign ",
        v.version_id, " --key FILE)"));
  }
  std::vector<std::string> problems;
  for (const auto& sig : signatures) {
    absl::Status s = [&]() -> absl::Status {
      ASSIGN_OR_RETURN(Envelope e,
                       Envelope::Parse(sig.envelope, "stored signature"));
      if (files == nullptr) return VerifyStoredVersion(*store, v, e, trusted);
      ASSIGN_OR_RETURN(SignedManifest m, VerifyEnvelope(e, trusted));
      return CompareFiles(m, *files);
    }();
    if (s.ok()) return absl::OkStatus();
    problems.push_back(absl::StrCat("key ", sig.key_id, ": ", s.message()));
  }
  return absl::FailedPreconditionError(absl::StrCat(
      "version ", v.version_id, " has no valid signature by a key ", env.name,
      " trusts (", absl::StrJoin(problems, "; "), ")"));
}

}  // namespace

absl::Status CheckSigned(registry::Registry& registry,
                         const registry::ArtifactStore& store,
                         const registry::ModelVersion& v,
                         const registry::Environment& env) {
  return CheckSignedAgainst(registry, &store, nullptr, v, env);
}

absl::Status CheckServableFiles(registry::Registry& registry,
                                const registry::ModelVersion& v,
                                const registry::Environment& env,
                                const std::vector<FileDigest>& files) {
  if (!env.requires_signature()) return absl::OkStatus();
  return CheckSignedAgainst(registry, nullptr, &files, v, env);
}

absl::Status CheckServable(registry::Registry& registry,
                           const registry::ArtifactStore& store,
                           const registry::ModelVersion& v,
                           const registry::Environment& env) {
  if (!env.requires_signature()) return absl::OkStatus();
  return CheckSigned(registry, store, v, env);
}

}  // namespace spatial::security
