// ArtifactStore: a content-addressed store of model files on a local or shared
// path, `<root>/sha256/<first two hex>/<digest>`. A blob is written to a temp
// name under `<root>/tmp`, fsynced and renamed into place, so that a crash or a
// failed register never leaves a half-written blob under its digest. Blobs are
// immutable and made read-only. Thread- and process-safe: two writers of the
// same content race harmlessly by rename.
#ifndef SPATIAL_REGISTRY_ARTIFACT_STORE_H_
#define SPATIAL_REGISTRY_ARTIFACT_STORE_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "src/registry/model_version.h"

namespace spatial::registry {

// What ingesting a file or a directory produced.
struct IngestResult {
  bool is_directory = false;
  std::vector<ArtifactFile> files;  // sorted by path
  uint64_t total_size = 0;
  // The file's sha256, or for a directory the sha256 over the concatenated
  // hex digests of its files in path order.
  std::string checksum;
};

class ArtifactStore {
 public:
  explicit ArtifactStore(std::string root) : root_(std::move(root)) {}

  // Copies `path` (a regular file, or a directory of regular files) into the
  // store, hashing while it copies. Symbolic links and special files are
  // refused (InvalidArgument), a missing path is NotFound. A directory's
  // files whose relative path is in `skip` are left out.
  absl::StatusOr<IngestResult> Ingest(
      const std::string& path, const std::vector<std::string>& skip = {}) const;

  // Path of the blob with `sha256` (whether or not it exists).
  std::string BlobPath(const std::string& sha256) const;

  // OK when the blob exists and its content still hashes to its name;
  // NotFound or DataLoss (naming `label`) otherwise.
  absl::Status Verify(const ArtifactFile& file) const;

  // Checks every file of a version: the per-file digests and the checksum.
  absl::Status VerifyVersion(const ModelVersion& v) const;

  const std::string& root() const { return root_; }

  // The checksum of a set of files as IngestResult::checksum defines it.
  static std::string CombinedChecksum(const std::vector<ArtifactFile>& files);

 private:
  absl::StatusOr<ArtifactFile> IngestFile(const std::string& src,
                                          std::string relative) const;
  std::string root_;
};

}  // namespace spatial::registry

#endif  // SPATIAL_REGISTRY_ARTIFACT_STORE_H_
