// Signature policy of the deployment environments: which public keys an
// environment trusts (extra.trusted_keys: [{"id": KEYID, "public_key":
// "ed25519:BASE64"}]) and whether it requires a signature
// (extra.require_signature). CheckServable is the one check the server's
// model manager runs before loading a version. Thread-safe as the Registry.
#ifndef SPATIAL_SECURITY_POLICY_H_
#define SPATIAL_SECURITY_POLICY_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "src/registry/artifact_store.h"
#include "src/registry/registry.h"
#include "src/security/keys.h"
#include "src/security/signing.h"

namespace spatial::security {

// The environment's trusted keys. InvalidArgument naming the environment for
// a malformed entry or an id that does not match its key.
absl::StatusOr<std::vector<PublicKey>> TrustedKeys(
    const registry::Environment& env);

// Adds `key` to the environment's trusted keys; AlreadyExists when there.
absl::Status AddTrustedKey(registry::Environment& env, const PublicKey& key);
// Removes the key with `key_id`; NotFound (naming the trusted ids) otherwise.
absl::Status RemoveTrustedKey(registry::Environment& env,
                              const std::string& key_id);

// `env` as a server given the deploy-time keys `anchor` (from outside the
// registry: --trusted-key, $SPATIAL_TRUSTED_KEYS) judges it: a signature is
// required, and of the keys `env` trusts only those also in `anchor` count.
// Whoever can write the registry can make it trust a key of their own; not a
// key the server was given. `anchor_source` names where the anchor came from
// in messages. Keys are compared whole, not by their 64-bit ids.
// FailedPrecondition naming both lists when no key is in both.
absl::StatusOr<registry::Environment> PinTrust(
    const registry::Environment& env, const std::vector<PublicKey>& anchor,
    const std::string& anchor_source);

// OK when one of the version's stored signatures is by a key `env` trusts and
// every file of the version, hashed from its blob in `store`, matches it.
// FailedPrecondition otherwise, with a message that says which of: unsigned,
// no trusted key, signed by an untrusted key, files changed (naming the file).
absl::Status CheckSigned(registry::Registry& registry,
                         const registry::ArtifactStore& store,
                         const registry::ModelVersion& v,
                         const registry::Environment& env);

// What the server runs before it loads `v` in `env`: OK when `env` does not
// require signatures, else CheckSigned.
absl::Status CheckServable(registry::Registry& registry,
                           const registry::ArtifactStore& store,
                           const registry::ModelVersion& v,
                           const registry::Environment& env);

// What the server runs before it loads `v` in `env`, given `files`: the
// digests of the bytes it copied out of the store into its private work
// directory (what it will load, not the blobs as they may be by then). OK
// when `env` does not require signatures; else as CheckSigned.
absl::Status CheckServableFiles(registry::Registry& registry,
                                const registry::ModelVersion& v,
                                const registry::Environment& env,
                                const std::vector<FileDigest>& files);

}  // namespace spatial::security

#endif  // SPATIAL_SECURITY_POLICY_H_
