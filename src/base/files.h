// File helpers: whole-file reads, crash-safe writes (temp file, fsync, rename,
// fsync of the directory) and errno -> Status conversion. All functions are
// thread-safe; concurrent writers to the same path race by rename, last wins.
#ifndef SPATIAL_BASE_FILES_H_
#define SPATIAL_BASE_FILES_H_

#include <unistd.h>

#include <cstdint>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace spatial::base {

// Owns a file descriptor (-1: none) and closes it when it goes out of scope
// or is reset. Not copyable: one owner.
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd() { Close(); }
  int get() const { return fd_; }
  // Gives the descriptor up to the caller, who closes it.
  int release() { return std::exchange(fd_, -1); }
  void reset(int fd) {
    Close();
    fd_ = fd;
  }
  void Close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_ = -1;
};

// Maps an errno value to the closest canonical code, message "<what>:
// <strerror>".
absl::Status ErrnoStatus(int err, absl::string_view what);

// Reads the whole file. NotFound if it does not exist; FailedPrecondition if it
// is larger than `max_bytes`.
absl::StatusOr<std::string> ReadFile(const std::string& path,
                                     uint64_t max_bytes = 256ull << 20);

// Writes `contents` to `path` so that a reader or a crash sees the old file or
// the new one, never a mix: write to a temp name beside it, fsync, rename.
absl::Status WriteFileAtomic(const std::string& path,
                             absl::string_view contents, int mode = 0644);

// Creates `dir` and its parents (mode 0755); OK when it exists already.
absl::Status MakeDirs(const std::string& dir);

// fsyncs the directory so that a rename inside it survives a crash.
absl::Status FsyncDir(const std::string& dir);

// The directory part of `path` ("." for a bare name).
std::string DirName(const std::string& path);

}  // namespace spatial::base

#endif  // SPATIAL_BASE_FILES_H_
