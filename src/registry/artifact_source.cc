#include "src/registry/artifact_source.h"

#include <fcntl.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdlib>
#include <filesystem>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "src/base/files.h"
#include "src/base/sha256.h"
#include "src/base/status_macros.h"

namespace spatial::registry {
namespace fs = std::filesystem;
namespace {

using Fd = base::UniqueFd;

bool Beneath(const std::string& path, const std::string& root) {
  if (root == "/") return true;
  return path == root || absl::StartsWith(path, root + "/");
}

bool BeneathAny(const std::string& path,
                const std::vector<std::string>& roots) {
  return std::any_of(roots.begin(), roots.end(),
                     [&](const std::string& r) { return Beneath(path, r); });
}

std::string RealPath(const std::string& path, int* err) {
  char buf[PATH_MAX];
  if (::realpath(path.c_str(), buf) == nullptr) {
    *err = errno;
    return "";
  }
  *err = 0;
  return buf;
}

const char* KindOf(mode_t m) {
  if (S_ISDIR(m)) return "a directory";
  if (S_ISFIFO(m)) return "a fifo";
  if (S_ISSOCK(m)) return "a socket";
  if (S_ISCHR(m)) return "a character device";
  if (S_ISBLK(m)) return "a block device";
  if (S_ISLNK(m)) return "a symbolic link";
  return "not a regular file";
}

// Kernel file systems whose "files" are views of process or kernel state
// (their sizes are 0 or invented): never an artifact.
bool IsPseudoFileSystem(int fd) {
  struct statfs sfs;
  if (::fstatfs(fd, &sfs) != 0) return false;
  switch (static_cast<unsigned long>(sfs.f_type)) {
    case PROC_SUPER_MAGIC:
    case SYSFS_MAGIC:
    case DEVPTS_SUPER_MAGIC:
    case DEBUGFS_MAGIC:
    case SECURITYFS_MAGIC:
    case CGROUP_SUPER_MAGIC:
    case CGROUP2_SUPER_MAGIC:
    case TRACEFS_MAGIC:
    case BPF_FS_MAGIC:
      return true;
    default:
      return false;
  }
}

std::vector<std::string> ResolvedRoots(const std::vector<std::string>& roots) {
  std::vector<std::string> out;
  for (const auto& r : roots) {
    int err = 0;
    std::string real = RealPath(r, &err);
    if (!real.empty()) out.push_back(real);
  }
  return out;
}

}  // namespace

absl::StatusOr<std::string> ResolveBeneath(
    const std::string& path, const std::vector<std::string>& roots) {
  int err = 0;
  std::string real = RealPath(path, &err);
  if (real.empty()) {
    if (err == ENOENT || err == ENOTDIR) {
      return absl::NotFoundError(
          absl::StrCat("no such file or directory: ", path));
    }
    return base::ErrnoStatus(err, absl::StrCat("cannot resolve ", path));
  }
  if (!BeneathAny(real, ResolvedRoots(roots))) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, (real == path ? "" : absl::StrCat(" (", real, ")")),
                     " lies outside the directories an import may read"));
  }
  return real;
}

absl::StatusOr<int> OpenConfined(const std::string& path,
                                 const std::vector<std::string>& roots,
                                 struct stat* st) {
  struct stat lst;
  if (::lstat(path.c_str(), &lst) != 0) {
    if (errno == ENOENT) {
      return absl::NotFoundError(absl::StrCat("no such file: ", path));
    }
    return base::ErrnoStatus(errno, absl::StrCat("cannot stat ", path));
  }
  if (!S_ISREG(lst.st_mode)) {
    return absl::InvalidArgumentError(absl::StrCat(
        path, " is ", KindOf(lst.st_mode), "; an artifact is a regular file"));
  }
  Fd in{::open(path.c_str(),
               O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY)};
  if (in.get() < 0) {
    return base::ErrnoStatus(errno, absl::StrCat("cannot open ", path));
  }
  // What was opened, not what was looked at: the path may have been swapped
  // in between.
  if (::fstat(in.get(), st) != 0) {
    return base::ErrnoStatus(errno, absl::StrCat("cannot stat ", path));
  }
  if (!S_ISREG(st->st_mode)) {
    return absl::InvalidArgumentError(absl::StrCat(
        path, " is ", KindOf(st->st_mode), "; an artifact is a regular file"));
  }
  if (IsPseudoFileSystem(in.get())) {
    return absl::InvalidArgumentError(absl::StrCat(
        path, " is a kernel pseudo-file (/proc, /sys, ...), not an artifact"));
  }
  // Where the descriptor really points, when /proc tells (a directory of the
  // path renamed after it was resolved would otherwise go unnoticed).
  std::error_code ec;
  fs::path opened =
      fs::read_symlink(absl::StrCat("/proc/self/fd/", in.get()), ec);
  if (!ec && !BeneathAny(opened.string(), ResolvedRoots(roots))) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, " (", opened.string(),
                     ") lies outside the directories an import may read"));
  }
  return in.release();
}

absl::StatusOr<std::string> HashFd(int fd, uint64_t max_bytes,
                                   const std::string& what, uint64_t* size) {
  base::Sha256 h;
  std::vector<char> buf(1 << 20);
  uint64_t total = 0;
  for (;;) {
    ssize_t n = ::read(fd, buf.data(), buf.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return base::ErrnoStatus(errno, absl::StrCat("cannot read ", what));
    }
    if (n == 0) break;
    total += static_cast<uint64_t>(n);
    if (total > max_bytes) {
      return absl::InvalidArgumentError(
          absl::StrCat(what, " is larger than the bound of ", max_bytes,
                       " bytes; it was not read further"));
    }
    h.Update(buf.data(), static_cast<size_t>(n));
  }
  *size = total;
  return h.HexDigest();
}

absl::StatusOr<ScannedSource> ScanSource(const std::string& path,
                                         const SourceLimits& limits) {
  struct stat st;
  if (::lstat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) {
      return absl::NotFoundError(
          absl::StrCat("no such file or directory: ", path));
    }
    return base::ErrnoStatus(errno, absl::StrCat("cannot stat ", path));
  }
  ScannedSource out;
  std::vector<std::pair<std::string, std::string>> files;  // relative, path
  if (S_ISDIR(st.st_mode)) {
    out.is_directory = true;
    std::error_code ec;
    uint64_t declared = 0;
    for (auto it = fs::recursive_directory_iterator(path, ec);
         !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
      fs::file_status est = it->symlink_status(ec);
      if (ec) break;
      if (fs::is_directory(est)) continue;
      const std::string relative = fs::relative(it->path(), path).string();
      if (std::find(limits.skip.begin(), limits.skip.end(), relative) !=
          limits.skip.end()) {
        continue;
      }
      if (!fs::is_regular_file(est)) {
        return absl::InvalidArgumentError(absl::StrCat(
            it->path().string(), " is ",
            fs::is_symlink(est) ? "a symbolic link" : "not a regular file",
            "; a directory artifact holds regular files only"));
      }
      declared += it->file_size(ec);
      if (files.size() >= limits.max_files || declared > limits.max_bytes) {
        return absl::InvalidArgumentError(
            absl::StrCat(path, " is a directory of more than ",
                         files.size() >= limits.max_files
                             ? absl::StrCat(limits.max_files, " files")
                             : absl::StrCat(limits.max_bytes, " bytes"),
                         "; it was not read"));
      }
      files.emplace_back(relative, it->path().string());
    }
    if (ec) {
      return base::ErrnoStatus(ec.value(), absl::StrCat("cannot list ", path));
    }
    if (files.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat(path, " is an empty directory"));
    }
    // Byte order of the relative path, as ArtifactStore::Ingest sorts.
    std::sort(files.begin(), files.end());
  } else {
    files.emplace_back(fs::path(path).filename().string(), path);
  }
  uint64_t budget = limits.max_bytes;
  for (const auto& [relative, file] : files) {
    struct stat fst;
    ASSIGN_OR_RETURN(int raw, OpenConfined(file, limits.roots, &fst));
    Fd fd{raw};
    (void)::posix_fadvise(fd.get(), 0, 0, POSIX_FADV_SEQUENTIAL);
    SourceFile f{relative, file, 0, ""};
    const std::string what =
        out.is_directory ? absl::StrCat(path, " (all files)") : file;
    ASSIGN_OR_RETURN(f.sha256, HashFd(fd.get(), budget, what, &f.size));
    budget -= f.size;
    out.total_size += f.size;
    out.files.push_back(std::move(f));
  }
  if (out.is_directory) {
    base::Sha256 h;
    for (const auto& f : out.files) h.Update(f.sha256);
    out.checksum = h.HexDigest();
  } else {
    out.checksum = out.files[0].sha256;
  }
  return out;
}

}  // namespace spatial::registry
