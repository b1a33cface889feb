#include "src/serving/bundle_copy.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>

#include "absl/strings/str_cat.h"
#include "src/base/files.h"
#include "src/base/sha256.h"
#include "src/base/status_macros.h"
#include "src/registry/model_version.h"

namespace spatial::serving {
namespace {
namespace fs = std::filesystem;

constexpr size_t kMaxSignatureBytes = 1 << 20;

using Fd = base::UniqueFd;

// Opens `path` for reading without following a final symbolic link; the
// descriptor must be a regular file.
absl::Status OpenRegular(const std::string& path, Fd& in) {
  in.reset(::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
  if (in.get() < 0) {
    if (errno == ELOOP) {
      return absl::InvalidArgumentError(
          absl::StrCat(path, " is a symbolic link (not allowed in a bundle)"));
    }
    return base::ErrnoStatus(errno, absl::StrCat("cannot open ", path));
  }
  struct stat st;
  if (::fstat(in.get(), &st) != 0 || !S_ISREG(st.st_mode)) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, " is not a regular file"));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::optional<std::string>> ReadSignature(
    const std::string& path) {
  struct stat st;
  if (::lstat(path.c_str(), &st) != 0 && errno == ENOENT) return std::nullopt;
  Fd in;
  RETURN_IF_ERROR(OpenRegular(path, in));
  std::string text;
  char buf[1 << 14];
  for (;;) {
    ssize_t n = ::read(in.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return base::ErrnoStatus(errno, absl::StrCat("read ", path));
    if (n == 0) break;
    text.append(buf, static_cast<size_t>(n));
    if (text.size() > kMaxSignatureBytes) {
      return absl::InvalidArgumentError(
          absl::StrCat(path, " is larger than 1 MB: not a signature"));
    }
  }
  return text;
}

}  // namespace

absl::StatusOr<std::string> MakePrivateDir(const std::string& parent,
                                           const std::string& prefix) {
  std::string tmpl = (fs::path(parent) / (prefix + "XXXXXX")).string();
  if (::mkdtemp(tmpl.data()) == nullptr) {
    return base::ErrnoStatus(
        errno, absl::StrCat("cannot make a directory in ", parent));
  }
  return tmpl;  // mkdtemp makes it 0700
}

absl::StatusOr<std::string> CopyFileHashed(const std::string& src,
                                           const std::string& dest,
                                           uint64_t* size) {
  Fd in, out;
  RETURN_IF_ERROR(OpenRegular(src, in));
  out.reset(::open(dest.c_str(),
                   O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (out.get() < 0)
    return base::ErrnoStatus(errno, absl::StrCat("cannot create ", dest));
  base::Sha256 h;
  uint64_t total = 0;
  std::vector<char> buf(1 << 16);
  for (;;) {
    ssize_t n = ::read(in.get(), buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return base::ErrnoStatus(errno, absl::StrCat("read ", src));
    if (n == 0) break;
    h.Update(buf.data(), static_cast<size_t>(n));
    for (ssize_t done = 0; done < n;) {
      ssize_t w =
          ::write(out.get(), buf.data() + done, static_cast<size_t>(n - done));
      if (w < 0 && errno == EINTR) continue;
      if (w < 0) return base::ErrnoStatus(errno, absl::StrCat("write ", dest));
      done += w;
    }
    total += static_cast<uint64_t>(n);
  }
  // close() reports a delayed write error: checked, and never retried.
  if (::close(out.release()) != 0) {
    return base::ErrnoStatus(errno, absl::StrCat("write ", dest));
  }
  if (size) *size = total;
  return h.HexDigest();
}

absl::StatusOr<CopiedBundle> CopyBundle(const std::string& src,
                                        const std::string& dest) {
  std::error_code ec;
  if (!fs::is_directory(fs::symlink_status(src, ec))) {
    return absl::InvalidArgumentError(
        absl::StrCat(src,
                     " is not a directory (a model bundle: model.onnx + "
                     "manifest.json)"));
  }
  if (::mkdir(dest.c_str(), 0700) != 0)
    return base::ErrnoStatus(errno, absl::StrCat("cannot create ", dest));
  CopiedBundle out;
  out.dir = dest;
  ASSIGN_OR_RETURN(
      out.signature,
      ReadSignature((fs::path(src) / registry::kSignatureFile).string()));
  for (auto it = fs::recursive_directory_iterator(src, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    const fs::file_status st = it->symlink_status();
    const fs::path rel = fs::relative(it->path(), src);
    const fs::path to = fs::path(dest) / rel;
    if (fs::is_directory(st)) {
      if (::mkdir(to.c_str(), 0700) != 0)
        return base::ErrnoStatus(errno,
                                 absl::StrCat("cannot create ", to.string()));
      continue;
    }
    if (!fs::is_regular_file(st)) {
      return absl::InvalidArgumentError(
          absl::StrCat(it->path().string(),
                       " is not a regular file (symbolic links and special "
                       "files are not allowed in a bundle)"));
    }
    if (rel == registry::kSignatureFile) continue;
    ASSIGN_OR_RETURN(std::string digest,
                     CopyFileHashed(it->path().string(), to.string()));
    out.files.push_back({rel.string(), digest});
  }
  if (ec) {
    return absl::InternalError(
        absl::StrCat("cannot list ", src, ": ", ec.message()));
  }
  if (out.files.empty())
    return absl::InvalidArgumentError(absl::StrCat(src, " holds no files"));
  std::sort(out.files.begin(), out.files.end(),
            [](const auto& a, const auto& b) {
              return fs::path(a.path) < fs::path(b.path);
            });
  return out;
}

}  // namespace spatial::serving
