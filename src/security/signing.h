// Model signatures in the spirit of OpenSSF model-signing: an in-toto
// Statement v1 whose subject is the model (sha256 over the concatenated
// per-file hex digests in path order, as ArtifactStore::CombinedChecksum) and
// whose predicate lists every file with its sha256, wrapped in a DSSE envelope
// signed with Ed25519. Verification recomputes every digest from the bytes and
// names the first file added, removed or changed. Thread-safe.
#ifndef SPATIAL_SECURITY_SIGNING_H_
#define SPATIAL_SECURITY_SIGNING_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "src/registry/artifact_store.h"
#include "src/registry/model_version.h"
#include "src/security/dsse.h"
#include "src/security/keys.h"

namespace spatial::security {

constexpr const char* kStatementType = "https://in-toto.io/Statement/v1";
constexpr const char* kPredicateType =
    "https://spatial-deploy.dev/model-signature/v1";

// One file of a model: its path relative to the model root and its sha256.
struct FileDigest {
  std::string path;
  std::string sha256;
  bool operator==(const FileDigest&) const = default;
};

// What a verified envelope says.
struct SignedManifest {
  std::string name;            // the subject's name
  std::string subject_sha256;  // the subject's digest
  std::string key_id;          // the trusted key that verified it
  std::vector<FileDigest> files;
};

// The in-toto statement JSON of `files` (sorted here by path).
std::string BuildStatement(const std::string& name,
                           std::vector<FileDigest> files);

// Signs `files` as the model `name`. InvalidArgument when `files` is empty or
// a digest is not sha256 hex.
absl::StatusOr<Envelope> SignFiles(const std::string& name,
                                   std::vector<FileDigest> files,
                                   const PrivateKey& key);

// Checks the envelope's signature against `trusted` (by key id, then by
// trying every trusted key) and parses its statement. FailedPrecondition when
// no trusted key verifies it (the message names the key ids), InvalidArgument
// for a malformed statement.
absl::StatusOr<SignedManifest> VerifyEnvelope(
    const Envelope& envelope, const std::vector<PublicKey>& trusted);

// Parses the envelope's statement without checking any signature (to name
// what a signature is of, or to check integrity where no key is trusted).
// InvalidArgument for a payload type other than in-toto's or a malformed
// statement.
absl::StatusOr<SignedManifest> ParseEnvelopeStatement(const Envelope& envelope);

// OK when `actual` holds exactly the manifest's files with the same digests;
// DataLoss naming the first file changed, added or missing otherwise.
absl::Status CompareFiles(const SignedManifest& manifest,
                          const std::vector<FileDigest>& actual);

// The sha256 of every regular file under `dir` (relative paths, path order),
// leaving out the top-level signature file (model.sig). Symbolic links and
// special files are refused.
absl::StatusOr<std::vector<FileDigest>> HashDirectory(const std::string& dir);

// Verifies a bundle directory against `envelope`: signature, then every
// file's bytes.
absl::Status VerifyDirectory(const std::string& dir, const Envelope& envelope,
                             const std::vector<PublicKey>& trusted);

// The digests of a registered version, recomputed from its blobs' bytes in
// `store` (NotFound naming the file when a blob is gone).
absl::StatusOr<std::vector<FileDigest>> HashStoredVersion(
    const registry::ArtifactStore& store, const registry::ModelVersion& v);

// Verifies a registered version's blobs against `envelope`.
absl::Status VerifyStoredVersion(const registry::ArtifactStore& store,
                                 const registry::ModelVersion& v,
                                 const Envelope& envelope,
                                 const std::vector<PublicKey>& trusted);

}  // namespace spatial::security

#endif  // SPATIAL_SECURITY_SIGNING_H_
