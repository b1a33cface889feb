#include "src/security/bundle_signature.h"

#include <filesystem>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "src/registry/model_version.h"

namespace spatial::security {
namespace {

// Every refusal is a failed check (exit 1), never a usage error: a parse
// error of model.sig comes back as InvalidArgument and is re-coded here.
absl::Status Refuse(absl::StatusCode code, const std::string& what,
                    absl::string_view why) {
  return absl::Status(code, absl::StrCat(what, ": ", why));
}

std::string KeyIds(const std::vector<PublicKey>& keys) {
  std::vector<std::string> ids;
  for (const auto& k : keys) ids.push_back(k.key_id);
  return ids.empty() ? "none" : absl::StrJoin(ids, ", ");
}

std::string SignerIds(const Envelope& e) {
  std::vector<std::string> ids;
  for (const auto& s : e.signatures)
    ids.push_back(s.keyid.empty() ? "(no keyid)" : s.keyid);
  return absl::StrJoin(ids, ", ");
}

// True when most of the signed files are not among `files` (by digest): the
// signature is of some other bundle, not of this one with a file changed.
bool SharesNoFile(const SignedManifest& m,
                  const std::vector<FileDigest>& files) {
  std::set<std::string> now;
  for (const auto& f : files) now.insert(f.sha256);
  size_t kept = 0;
  for (const auto& f : m.files) kept += now.count(f.sha256);
  return kept * 2 < m.files.size();
}

}  // namespace

absl::StatusOr<BundleCheck> CheckBundleSignature(
    const std::string& dir, const std::optional<std::string>& signature,
    const std::vector<FileDigest>& files, const BundleTrust& trust) {
  const std::string sig_path =
      (std::filesystem::path(dir) / registry::kSignatureFile).string();
  const std::string refusing =
      absl::StrCat("refusing to serve ", dir, " in ", trust.environment);
  if (!signature) {
    if (!trust.require_signature) return BundleCheck{};
    return absl::FailedPreconditionError(absl::StrCat(
        refusing, ": it is unsigned (no ", sig_path, ") and ",
        trust.environment,
        " requires a signature by a trusted key; sign it with `spatial model "
        "sign ",
        dir, " --key signing.key`"));
  }
  auto envelope = Envelope::Parse(*signature, sig_path);
  if (!envelope.ok()) {
    return Refuse(absl::StatusCode::kFailedPrecondition, refusing,
                  absl::StrCat(envelope.status().message(),
                               " (truncated or garbled? sign the bundle "
                               "again)"));
  }
  auto statement = ParseEnvelopeStatement(*envelope);
  if (!statement.ok()) {
    return Refuse(absl::StatusCode::kFailedPrecondition, refusing,
                  absl::StrCat(sig_path, ": ", statement.status().message()));
  }
  BundleCheck out;
  out.signed_name = statement->name;
  if (trust.trusted.empty() && trust.require_signature) {
    return absl::FailedPreconditionError(absl::StrCat(
        refusing, ": ", sig_path, " is signed by key ", SignerIds(*envelope),
        " but ", trust.environment, " trusts no key (", trust.source,
        "); give the public key with --trusted-key signing.pub, or trust it in "
        "the registry (spatial keys trust)"));
  }
  SignedManifest manifest = *statement;
  if (!trust.trusted.empty()) {
    auto verified = VerifyEnvelope(*envelope, trust.trusted);
    if (!verified.ok()) {
      return Refuse(
          absl::StatusCode::kFailedPrecondition, refusing,
          absl::StrCat(sig_path, " is signed by key ", SignerIds(*envelope),
                       ", which ", trust.environment,
                       " does not trust (trusted: ", KeyIds(trust.trusted),
                       ", from ", trust.source, ")"));
    }
    manifest = *verified;
    out.verdict = BundleVerdict::kVerified;
    out.key_id = verified->key_id;
  } else {
    out.verdict = BundleVerdict::kIntegrityOnly;
    out.key_id = SignerIds(*envelope);
  }
  if (SharesNoFile(manifest, files)) {
    return Refuse(
        absl::StatusCode::kDataLoss, refusing,
        absl::StrCat(sig_path, " is the signature of another bundle ('",
                     manifest.name, "', sha256 ", manifest.subject_sha256,
                     "), not of these files"));
  }
  if (absl::Status s = CompareFiles(manifest, files); !s.ok()) {
    return Refuse(absl::StatusCode::kDataLoss, refusing,
                  absl::StrCat(s.message(), " (", sig_path, ")"));
  }
  return out;
}

}  // namespace spatial::security
