// Reading artifacts named by a file nobody vouches for (an imported
// model_versions.json): only regular files beneath directories the user named,
// never a device, fifo, socket, /proc or /sys file, never through a symbolic
// link that leaves those directories, and never more than a size bound. The
// files are hashed here without being copied anywhere, so that the store only
// receives what matches its declared checksum. Pure functions over the file
// system, thread-safe.
#ifndef SPATIAL_REGISTRY_ARTIFACT_SOURCE_H_
#define SPATIAL_REGISTRY_ARTIFACT_SOURCE_H_

#include <sys/stat.h>

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace spatial::registry {

struct SourceLimits {
  // Directories (resolved with realpath) that every file read must lie
  // beneath. Empty: nothing may be read.
  std::vector<std::string> roots;
  // Bound on the bytes of one artifact (a file, or all files of a
  // directory). Default 2 GiB: the shipped models are kilobytes.
  uint64_t max_bytes = uint64_t{2} << 30;
  // Bound on the files of a directory artifact (default 10,000).
  size_t max_files = 10000;
  // Relative paths of a directory left out (e.g. model.sig).
  std::vector<std::string> skip;
};

// One file of a scanned artifact: where it is and what it hashed to.
struct SourceFile {
  std::string relative;  // the file name, or the path inside the directory
  std::string path;      // resolved absolute path
  uint64_t size = 0;
  std::string sha256;
};

struct ScannedSource {
  bool is_directory = false;
  std::vector<SourceFile> files;  // byte order of `relative`
  uint64_t total_size = 0;
  std::string checksum;  // as IngestResult::checksum defines it
};

// Resolves `path` with realpath; InvalidArgument when the result is not
// beneath one of `roots` (themselves resolved), NotFound when it does not
// exist.
absl::StatusOr<std::string> ResolveBeneath(
    const std::string& path, const std::vector<std::string>& roots);

// Opens a regular file beneath `roots` for reading (O_NOFOLLOW, O_NONBLOCK so
// that a fifo never blocks) and fills `st`. InvalidArgument for anything but
// a regular file on an ordinary file system, or one whose opened descriptor
// lies outside `roots`. The caller closes the descriptor.
absl::StatusOr<int> OpenConfined(const std::string& path,
                                 const std::vector<std::string>& roots,
                                 struct stat* st);

// Hashes the file or directory at `path` (already resolved) within `limits`,
// writing nothing. NotFound when it is absent; InvalidArgument for a special
// file, a symbolic link, an artifact over the bounds or an empty directory.
absl::StatusOr<ScannedSource> ScanSource(const std::string& path,
                                         const SourceLimits& limits);

// The sha256 of `fd`'s content from its current offset, reading at most
// `max_bytes` (InvalidArgument naming `what` past that).
absl::StatusOr<std::string> HashFd(int fd, uint64_t max_bytes,
                                   const std::string& what, uint64_t* size);

}  // namespace spatial::registry

#endif  // SPATIAL_REGISTRY_ARTIFACT_SOURCE_H_
