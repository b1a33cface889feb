// The artifact half of `spatial model import`: bringing the files named by
// the `file_path` of imported versions into the store, given that the
// model_versions.json naming them may come from anyone. In two phases, so
// that a refusal changes nothing: Check() resolves and hashes every artifact
// (reading only regular files beneath the import directory and the
// directories named with --artifacts-root, within a size bound, writing
// nothing), then Store() copies what matched its declared checksum. Undo()
// removes the blobs Store() created when the registry then refuses the
// import, so that no blob is left that no version owns. Not thread-safe; one
// per import.
#ifndef SPATIAL_REGISTRY_IMPORT_ARTIFACTS_H_
#define SPATIAL_REGISTRY_IMPORT_ARTIFACTS_H_

#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "src/registry/artifact_source.h"
#include "src/registry/artifact_store.h"
#include "src/registry/model_version.h"

namespace spatial::registry {

struct ImportOptions {
  // Directories besides the import directory that file_path may point into
  // (`--artifacts-root`, repeatable). Default: none.
  std::vector<std::string> artifact_roots;
  // Bound on one version's artifact (`--max-artifact-mb`); default 2 GiB.
  uint64_t max_artifact_bytes = uint64_t{2} << 30;
};

class ImportedArtifacts {
 public:
  // Phase one for `versions` (all new to the registry): InvalidArgument,
  // naming the version and what to do, for an artifact that may not be read
  // or does not match its checksum; nothing has been written then.
  static absl::StatusOr<ImportedArtifacts> Check(
      const ArtifactStore& store, const std::string& dir,
      const ImportOptions& options, const std::vector<ModelVersion>& versions);

  // Phase two: copies the checked artifacts and records their files in
  // `versions`. On failure removes what it stored.
  absl::Status Store(std::vector<ModelVersion>& versions);

  // Removes the blobs Store() created.
  void Undo() const;

  // Versions whose file_path does not exist (imported without files).
  const std::vector<std::string>& missing() const { return missing_; }

 private:
  ImportedArtifacts(const ArtifactStore& store, std::vector<std::string> roots)
      : store_(&store), roots_(std::move(roots)) {}

  const ArtifactStore* store_;
  std::vector<std::string> roots_;                // resolved
  std::map<std::string, ScannedSource> scanned_;  // by version id
  std::vector<std::string> missing_;
  std::vector<std::string> created_;
};

}  // namespace spatial::registry

#endif  // SPATIAL_REGISTRY_IMPORT_ARTIFACTS_H_
