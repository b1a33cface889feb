// The signature check of a model bundle given to the server as a directory
// (`spatial serve --model-dir`, $SPATIAL_MODEL_PATH, the shipped bundles):
// DIR/model.sig, the DSSE envelope `spatial model sign DIR` writes, checked
// against the digests of exactly the bytes the server will load (hashed while
// they were copied into its private work directory). Pure functions;
// thread-safe.
#ifndef SPATIAL_SECURITY_BUNDLE_SIGNATURE_H_
#define SPATIAL_SECURITY_BUNDLE_SIGNATURE_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "src/security/keys.h"
#include "src/security/signing.h"

namespace spatial::security {

// What the environment asks of a bundle.
struct BundleTrust {
  std::string environment;         // for messages
  bool require_signature = false;  // the environment's policy
  std::vector<PublicKey> trusted;  // the keys it trusts (may be empty)
  std::string source;              // where the keys came from, for messages
};

enum class BundleVerdict {
  kVerified,       // signed by a trusted key; every file matches
  kUnsigned,       // no model.sig, and the environment allows that
  kIntegrityOnly,  // model.sig matches the files, but no key to check it
};

struct BundleCheck {
  BundleVerdict verdict = BundleVerdict::kUnsigned;
  std::string key_id;       // kVerified: the trusted key; else the signer's
  std::string signed_name;  // the statement's subject name, when signed
};

// Checks bundle `dir` whose model.sig holds `signature` (nullopt: no
// model.sig) and whose files hash to `files`.
// - No model.sig: FailedPrecondition when `trust.require_signature`, else
//   kUnsigned.
// - A model.sig is always checked, whatever the policy: a garbled or
//   truncated envelope, an unknown payload type, a key not in `trust.trusted`
//   (revoked keys are simply no longer there) are FailedPrecondition naming
//   DIR/model.sig and the key id; a file changed, added or missing is
//   DataLoss naming the file; a signature over none of these files is
//   DataLoss saying it is another bundle's.
// - With no trusted key at all and no signature required, a well-formed
//   model.sig that matches every file is kIntegrityOnly.
absl::StatusOr<BundleCheck> CheckBundleSignature(
    const std::string& dir, const std::optional<std::string>& signature,
    const std::vector<FileDigest>& files, const BundleTrust& trust);

}  // namespace spatial::security

#endif  // SPATIAL_SECURITY_BUNDLE_SIGNATURE_H_
