#include "src/registry/import_artifacts.h"

#include <climits>
#include <cstdlib>
#include <filesystem>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "src/base/status_macros.h"

namespace spatial::registry {
namespace fs = std::filesystem;
namespace {

absl::Status Refused(const ModelVersion& v, absl::string_view why) {
  return absl::InvalidArgumentError(
      absl::StrCat("import refused: version '", v.version_id, "': file_path '",
                   v.file_path, "' ", why, "; nothing was imported"));
}

bool LexicallyBeneath(const fs::path& p,
                      const std::vector<std::string>& roots) {
  const std::string s = p.string();
  for (const auto& r : roots) {
    if (r == "/" || s == r || absl::StartsWith(s, r + "/")) return true;
  }
  return false;
}

}  // namespace

absl::StatusOr<ImportedArtifacts> ImportedArtifacts::Check(
    const ArtifactStore& store, const std::string& dir,
    const ImportOptions& options, const std::vector<ModelVersion>& versions) {
  // The directories an import may read: the import directory and each
  // --artifacts-root, as given and as resolved.
  std::vector<std::string> given = {dir};
  given.insert(given.end(), options.artifact_roots.begin(),
               options.artifact_roots.end());
  std::vector<std::string> resolved, lexical;
  for (const auto& g : given) {
    char buf[PATH_MAX];
    std::error_code ec;
    if (::realpath(g.c_str(), buf) == nullptr || !fs::is_directory(buf, ec)) {
      return absl::InvalidArgumentError(
          absl::StrCat("--artifacts-root ", g,
                       " is not a directory; name the directory "
                       "that holds the artifacts the import refers to"));
    }
    resolved.push_back(buf);
    lexical.push_back(buf);
    lexical.push_back(fs::absolute(g).lexically_normal().string());
  }
  for (auto& l : lexical) {
    while (l.size() > 1 && l.back() == '/') l.pop_back();
  }
  const std::string where =
      options.artifact_roots.empty()
          ? absl::StrCat("the import directory ", dir)
          : absl::StrCat("the import directory ", dir, " and --artifacts-root ",
                         absl::StrJoin(options.artifact_roots, ", "));
  ImportedArtifacts out(store, resolved);
  SourceLimits limits;
  limits.roots = resolved;
  limits.max_bytes = options.max_artifact_bytes;
  limits.skip = {kSignatureFile};
  for (const auto& v : versions) {
    // Files this store already holds intact need nothing read.
    if (!v.files.empty() && store.VerifyVersion(v).ok()) continue;
    if (v.file_path.empty()) return Refused(v, "is empty");
    fs::path src = v.file_path;
    if (src.is_relative()) src = fs::path(dir) / src;
    src = fs::absolute(src).lexically_normal();
    // Outside by its name: not even looked at.
    if (!LexicallyBeneath(src, lexical)) {
      return Refused(
          v, absl::StrCat("lies outside ", where,
                          "; copy the artifact there, or name the directory "
                          "holding it with --artifacts-root DIR"));
    }
    auto real = ResolveBeneath(src.string(), resolved);
    if (absl::IsNotFound(real.status())) {
      out.missing_.push_back(v.version_id);
      continue;
    }
    if (!real.ok()) {
      return Refused(
          v, absl::StrCat("cannot be read (", real.status().message(), " ",
                          where, "); it must not leave them"));
    }
    auto scanned = ScanSource(*real, limits);
    if (absl::IsNotFound(scanned.status())) {
      out.missing_.push_back(v.version_id);
      continue;
    }
    if (!scanned.ok()) {
      return Refused(
          v, absl::StrCat("cannot be imported: ", scanned.status().message()));
    }
    if (scanned->checksum != v.checksum) {
      return Refused(v,
                     absl::StrCat("hashes to ", scanned->checksum,
                                  ", the entry declares checksum ", v.checksum,
                                  "; fix the entry or the file"));
    }
    out.scanned_.emplace(v.version_id, *std::move(scanned));
  }
  return out;
}

absl::Status ImportedArtifacts::Store(std::vector<ModelVersion>& versions) {
  for (auto& v : versions) {
    auto it = scanned_.find(v.version_id);
    if (it == scanned_.end()) continue;
    auto stored = store_->StoreScanned(it->second, roots_, &created_);
    if (!stored.ok()) {
      Undo();
      return absl::Status(
          stored.status().code(),
          absl::StrCat("import refused: version '", v.version_id, "': ",
                       stored.status().message(), "; nothing was imported"));
    }
    v.files = stored->files;
    v.is_directory = stored->is_directory;
    v.size_bytes = stored->total_size;
  }
  return absl::OkStatus();
}

void ImportedArtifacts::Undo() const { store_->RemoveBlobs(created_); }

}  // namespace spatial::registry
