// ArtifactStore: a content-addressed store of model files on a local or shared
// path, `<root>/sha256/<first two hex>/<digest>`. A blob is written to a temp
// name under `<root>/tmp`, fsynced and renamed into place, so that a crash or a
// failed register never leaves a half-written blob under its digest. Blobs are
// immutable and made read-only. Thread- and process-safe: two writers of the
// same content race harmlessly by rename.
//
// Modes: blobs 0440 and directories 0770 less the umask (0750 under the usual
// 022). Never world-readable: an artifact is whatever a user registered or
// imported, and the store is often on a shared volume; the people and servers
// that use a store share its group (umask 002 makes the directories group-
// writable for a team that registers into one store).
#ifndef SPATIAL_REGISTRY_ARTIFACT_STORE_H_
#define SPATIAL_REGISTRY_ARTIFACT_STORE_H_

#include <sys/types.h>

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "src/registry/artifact_source.h"
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
  // files whose relative path is in `skip` are left out. When `created` is
  // given, the blob paths this call created (not those already there) are
  // appended to it, also on failure, for RemoveBlobs.
  absl::StatusOr<IngestResult> Ingest(
      const std::string& path, const std::vector<std::string>& skip = {},
      std::vector<std::string>* created = nullptr) const;

  // Copies the files of `scanned` (hashed by ScanSource, opened again beneath
  // `roots`) into the store, each only when what was copied still hashes to
  // what was scanned (else DataLoss: it changed meanwhile). Appends the blob
  // paths this call created (not those already there) to `created`, also on
  // failure, for RemoveBlobs.
  absl::StatusOr<IngestResult> StoreScanned(
      const ScannedSource& scanned, const std::vector<std::string>& roots,
      std::vector<std::string>* created) const;

  // Removes blobs Ingest or StoreScanned created, when what they were for
  // failed.
  void RemoveBlobs(const std::vector<std::string>& created) const;

  static constexpr mode_t kBlobMode = 0440;
  static constexpr mode_t kDirMode = 0770;  // less the umask

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
  absl::StatusOr<ArtifactFile> IngestFile(
      const std::string& src, std::string relative,
      std::vector<std::string>* created) const;
  // Copies `in` (from its offset) into a blob, hashing as it goes. With
  // `expected` set, DataLoss unless the copy hashes to it. `*created` tells
  // whether the blob was new.
  absl::StatusOr<ArtifactFile> WriteBlob(int in, const std::string& what,
                                         std::string relative,
                                         const std::string& expected,
                                         bool* created) const;
  // mkdir -p with kDirMode.
  absl::Status MakeStoreDirs(const std::string& dir) const;
  std::string root_;
};

}  // namespace spatial::registry

#endif  // SPATIAL_REGISTRY_ARTIFACT_STORE_H_
