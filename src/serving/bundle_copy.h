// Private copies of model bundles. The server loads a model only from a
// directory that no other user can write: made by mkdtemp (mode 0700, a name
// nobody can guess or create first), holding the bytes that were hashed while
// they were copied there, so that what is verified is exactly what is loaded.
// Pure functions over files; thread-safe.
#ifndef SPATIAL_SERVING_BUNDLE_COPY_H_
#define SPATIAL_SERVING_BUNDLE_COPY_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "src/security/signing.h"

namespace spatial::serving {

// A bundle copied into a private directory.
struct CopiedBundle {
  std::string dir;                          // the private copy
  std::vector<security::FileDigest> files;  // of the bytes copied, path order
  std::optional<std::string> signature;     // the source's model.sig, if any
};

// A new directory PARENT/PREFIXxxxxxx of mode 0700 made by mkdtemp: it did
// not exist before, whatever else is in PARENT.
absl::StatusOr<std::string> MakePrivateDir(const std::string& parent,
                                           const std::string& prefix);

// Copies the regular file `src` (a symbolic link is refused, not followed)
// to the new file `dest` (mode 0600; it must not exist) and returns the
// sha256 of the bytes written; `size` receives their count.
absl::StatusOr<std::string> CopyFileHashed(const std::string& src,
                                           const std::string& dest,
                                           uint64_t* size = nullptr);

// Copies every file of the bundle at `src` into `dest` (made here with mode
// 0700; it must not exist), hashing each on the way. The top-level model.sig
// is read into `signature` (at most 1 MB) and not copied. Symbolic links and
// special files are refused (InvalidArgument naming them); a bundle without
// files is InvalidArgument.
absl::StatusOr<CopiedBundle> CopyBundle(const std::string& src,
                                        const std::string& dest);

}  // namespace spatial::serving

#endif  // SPATIAL_SERVING_BUNDLE_COPY_H_
