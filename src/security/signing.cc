#include "src/security/signing.h"

#include <algorithm>
#include <filesystem>
#include <map>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "nlohmann/json.hpp"
#include "src/base/sha256.h"
#include "src/base/status_macros.h"
#include "src/registry/registry.h"

namespace spatial::security {
namespace fs = std::filesystem;
using Json = nlohmann::json;

namespace {

void SortByPath(std::vector<FileDigest>& files) {
  // fs::path order, as ArtifactStore::Ingest sorts a directory's files.
  std::sort(files.begin(), files.end(),
            [](const FileDigest& a, const FileDigest& b) {
              return fs::path(a.path) < fs::path(b.path);
            });
}

std::string CombinedDigest(const std::vector<FileDigest>& files) {
  base::Sha256 h;
  for (const auto& f : files) h.Update(f.sha256);
  return h.HexDigest();
}

// obj[key] when it is a string, else "" (json::value() throws when the key
// holds another type: a statement is outside input until its signature is
// checked, and ParseEnvelopeStatement reads it before).
std::string StringField(const Json& obj, const char* key) {
  auto it = obj.find(key);
  return it != obj.end() && it->is_string() ? it->get<std::string>() : "";
}

absl::StatusOr<SignedManifest> ParseStatement(const std::string& payload) {
  Json j = Json::parse(payload, nullptr, /*allow_exceptions=*/false);
  auto bad = [](absl::string_view what) {
    return absl::InvalidArgumentError(
        absl::StrCat("the signed statement is malformed: ", what));
  };
  if (!j.is_object() || StringField(j, "_type") != kStatementType)
    return bad("not an in-toto Statement v1");
  if (StringField(j, "predicateType") != kPredicateType)
    return bad(absl::StrCat("predicateType is not ", kPredicateType));
  const Json& subject = j.value("subject", Json());
  if (!subject.is_array() || subject.size() != 1 || !subject[0].is_object())
    return bad("expected one subject");
  SignedManifest m;
  m.name = StringField(subject[0], "name");
  const Json& sd = subject[0].value("digest", Json::object());
  m.subject_sha256 = sd.is_object() ? StringField(sd, "sha256") : "";
  const Json& pred = j.value("predicate", Json::object());
  const Json& res = pred.is_object() ? pred.value("resources", Json()) : Json();
  if (!res.is_array() || res.empty()) return bad("no resources");
  for (const auto& r : res) {
    if (!r.is_object() || !r.contains("name") || !r["name"].is_string() ||
        !r.contains("digest") || !r["digest"].is_object())
      return bad("a resource without name or digest");
    FileDigest f{r["name"].get<std::string>(),
                 StringField(r["digest"], "sha256")};
    if (!base::IsSha256Hex(f.sha256))
      return bad(absl::StrCat("resource '", f.path, "' has no sha256"));
    m.files.push_back(std::move(f));
  }
  if (CombinedDigest(m.files) != m.subject_sha256)
    return bad("the subject digest does not match the resources");
  return m;
}

absl::Status CheckPayloadType(const Envelope& envelope) {
  if (envelope.payload_type == kInTotoPayloadType) return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrCat("signature payloadType is '", envelope.payload_type,
                   "', expected ", kInTotoPayloadType));
}

}  // namespace

std::string BuildStatement(const std::string& name,
                           std::vector<FileDigest> files) {
  SortByPath(files);
  Json resources = Json::array();
  for (const auto& f : files)
    resources.push_back({{"name", f.path}, {"digest", {{"sha256", f.sha256}}}});
  Json j = {
      {"_type", kStatementType},
      {"subject",
       Json::array({{{"name", name},
                     {"digest", {{"sha256", CombinedDigest(files)}}}}})},
      {"predicateType", kPredicateType},
      {"predicate", {{"resources", resources}}},
  };
  return j.dump();
}

absl::StatusOr<Envelope> SignFiles(const std::string& name,
                                   std::vector<FileDigest> files,
                                   const PrivateKey& key) {
  if (files.empty())
    return absl::InvalidArgumentError("nothing to sign: no files");
  for (const auto& f : files) {
    if (!base::IsSha256Hex(f.sha256)) {
      return absl::InvalidArgumentError(
          absl::StrCat("file '", f.path, "' has no sha256 digest"));
    }
  }
  Envelope e;
  e.payload_type = kInTotoPayloadType;
  e.payload = BuildStatement(name, std::move(files));
  e.signatures.push_back(
      {key.public_key().key_id, key.Sign(Pae(e.payload_type, e.payload))});
  return e;
}

absl::StatusOr<SignedManifest> ParseEnvelopeStatement(
    const Envelope& envelope) {
  RETURN_IF_ERROR(CheckPayloadType(envelope));
  return ParseStatement(envelope.payload);
}

absl::StatusOr<SignedManifest> VerifyEnvelope(
    const Envelope& envelope, const std::vector<PublicKey>& trusted) {
  RETURN_IF_ERROR(CheckPayloadType(envelope));
  if (trusted.empty()) {
    return absl::FailedPreconditionError(
        "no trusted public key to verify the signature with");
  }
  const std::string pae = Pae(envelope.payload_type, envelope.payload);
  std::vector<std::string> signed_by, trusted_ids;
  for (const auto& k : trusted) trusted_ids.push_back(k.key_id);
  for (const auto& s : envelope.signatures) {
    signed_by.push_back(s.keyid.empty() ? "(no keyid)" : s.keyid);
    for (const auto& k : trusted) {
      if (!s.keyid.empty() && s.keyid != k.key_id) continue;
      if (VerifySignature(k, pae, s.sig)) {
        ASSIGN_OR_RETURN(SignedManifest m, ParseStatement(envelope.payload));
        m.key_id = k.key_id;
        return m;
      }
    }
  }
  return absl::FailedPreconditionError(absl::StrCat(
      "the signature does not verify with a trusted key (signed by key id ",
      absl::StrJoin(signed_by, ", "),
      "; trusted: ", absl::StrJoin(trusted_ids, ", "), ")"));
}

absl::Status CompareFiles(const SignedManifest& manifest,
                          const std::vector<FileDigest>& actual) {
  std::map<std::string, std::string> signed_files;
  for (const auto& f : manifest.files) signed_files[f.path] = f.sha256;
  std::map<std::string, std::string> now;
  for (const auto& f : actual) now[f.path] = f.sha256;
  for (const auto& [path, digest] : now) {
    auto it = signed_files.find(path);
    if (it == signed_files.end()) {
      return absl::DataLossError(
          absl::StrCat("file '", path,
                       "' is not in the signed manifest (added after "
                       "signing)"));
    }
    if (it->second != digest) {
      return absl::DataLossError(absl::StrCat("file '", path,
                                              "' was changed after signing: "
                                              "sha256 ",
                                              digest, ", signed ", it->second));
    }
  }
  for (const auto& [path, digest] : signed_files) {
    if (!now.count(path)) {
      return absl::DataLossError(absl::StrCat(
          "file '", path, "' is in the signed manifest but missing"));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<FileDigest>> HashDirectory(const std::string& dir) {
  std::error_code ec;
  if (!fs::is_directory(fs::symlink_status(dir, ec))) {
    return absl::InvalidArgumentError(
        absl::StrCat(dir, " is not a directory (a model bundle)"));
  }
  std::vector<FileDigest> out;
  for (auto it = fs::recursive_directory_iterator(dir, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    fs::file_status st = it->symlink_status();
    if (fs::is_directory(st)) continue;
    if (!fs::is_regular_file(st)) {
      return absl::InvalidArgumentError(
          absl::StrCat(it->path().string(),
                       " is not a regular file (symbolic links and special "
                       "files are not allowed in a bundle)"));
    }
    std::string rel = fs::relative(it->path(), dir).string();
    if (rel == registry::kSignatureFile) continue;
    ASSIGN_OR_RETURN(std::string digest, base::Sha256File(it->path().string()));
    out.push_back({rel, digest});
  }
  if (ec) return absl::InternalError(absl::StrCat("cannot list ", dir));
  if (out.empty())
    return absl::InvalidArgumentError(absl::StrCat(dir, " holds no files"));
  SortByPath(out);
  return out;
}

absl::Status VerifyDirectory(const std::string& dir, const Envelope& envelope,
                             const std::vector<PublicKey>& trusted) {
  ASSIGN_OR_RETURN(SignedManifest m, VerifyEnvelope(envelope, trusted));
  ASSIGN_OR_RETURN(auto files, HashDirectory(dir));
  return CompareFiles(m, files);
}

absl::StatusOr<std::vector<FileDigest>> HashStoredVersion(
    const registry::ArtifactStore& store, const registry::ModelVersion& v) {
  if (v.files.empty()) {
    return absl::NotFoundError(absl::StrCat(
        "version ", v.version_id, " has no artifact files in the store"));
  }
  std::vector<FileDigest> out;
  for (const auto& f : v.files) {
    auto digest = base::Sha256File(store.BlobPath(f.sha256));
    if (!digest.ok()) {
      return absl::NotFoundError(absl::StrCat(
          "file '", f.path, "' of version ", v.version_id,
          " is missing from the store (", store.BlobPath(f.sha256), ")"));
    }
    out.push_back({f.path, *digest});
  }
  return out;
}

absl::Status VerifyStoredVersion(const registry::ArtifactStore& store,
                                 const registry::ModelVersion& v,
                                 const Envelope& envelope,
                                 const std::vector<PublicKey>& trusted) {
  ASSIGN_OR_RETURN(SignedManifest m, VerifyEnvelope(envelope, trusted));
  ASSIGN_OR_RETURN(auto files, HashStoredVersion(store, v));
  return CompareFiles(m, files);
}

}  // namespace spatial::security
