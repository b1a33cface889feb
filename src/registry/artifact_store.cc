#include "src/registry/artifact_store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <random>
#include <vector>

#include "absl/strings/str_cat.h"
#include "src/base/files.h"
#include "src/base/sha256.h"
#include "src/base/status_macros.h"

namespace spatial::registry {
namespace fs = std::filesystem;

namespace {

using Fd = base::UniqueFd;

absl::Status WriteAll(int fd, const char* data, size_t n,
                      const std::string& what) {
  size_t off = 0;
  while (off < n) {
    ssize_t w = ::write(fd, data + off, n - off);
    if (w < 0) {
      if (errno == EINTR) continue;
      return base::ErrnoStatus(errno, absl::StrCat("cannot write ", what));
    }
    off += static_cast<size_t>(w);
  }
  return absl::OkStatus();
}

}  // namespace

std::string ArtifactStore::BlobPath(const std::string& sha256) const {
  return absl::StrCat(root_, "/sha256/", sha256.substr(0, 2), "/", sha256);
}

std::string ArtifactStore::CombinedChecksum(
    const std::vector<ArtifactFile>& files) {
  base::Sha256 h;
  for (const auto& f : files) h.Update(f.sha256);
  return h.HexDigest();
}

absl::Status ArtifactStore::MakeStoreDirs(const std::string& dir) const {
  std::error_code ec;
  if (fs::is_directory(dir, ec)) return absl::OkStatus();
  if (fs::path(dir).has_parent_path() && fs::path(dir).parent_path() != dir) {
    RETURN_IF_ERROR(MakeStoreDirs(fs::path(dir).parent_path().string()));
  }
  if (::mkdir(dir.c_str(), kDirMode) != 0 && errno != EEXIST) {
    return base::ErrnoStatus(errno, absl::StrCat("cannot create ", dir));
  }
  return absl::OkStatus();
}

absl::StatusOr<ArtifactFile> ArtifactStore::WriteBlob(
    int in, const std::string& what, std::string relative,
    const std::string& expected, bool* created) const {
  *created = false;
  std::string tmp_dir = absl::StrCat(root_, "/tmp");
  RETURN_IF_ERROR(MakeStoreDirs(tmp_dir));
  std::random_device rd;
  std::string tmp =
      absl::StrCat(tmp_dir, "/ingest.", ::getpid(), ".", rd(), rd());
  // Private until it is complete and checked.
  Fd out{::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600)};
  if (out.get() < 0)
    return base::ErrnoStatus(errno, absl::StrCat("cannot create ", tmp));
  auto fail = [&](absl::Status s) {
    ::unlink(tmp.c_str());
    return s;
  };
  (void)::posix_fadvise(in, 0, 0, POSIX_FADV_SEQUENTIAL);
  base::Sha256 h;
  std::vector<char> buf(1 << 20);
  uint64_t size = 0;
  for (;;) {
    ssize_t n = ::read(in, buf.data(), buf.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail(base::ErrnoStatus(errno, absl::StrCat("cannot read ", what)));
    }
    if (n == 0) break;
    h.Update(buf.data(), static_cast<size_t>(n));
    absl::Status w =
        WriteAll(out.get(), buf.data(), static_cast<size_t>(n), tmp);
    if (!w.ok()) return fail(w);
    size += static_cast<uint64_t>(n);
  }
  std::string digest = h.HexDigest();
  if (!expected.empty() && digest != expected) {
    return fail(absl::DataLossError(
        absl::StrCat(what, " changed while it was imported (sha256 ", digest,
                     ", was ", expected, "); nothing was stored")));
  }
  if (::fsync(out.get()) != 0) {
    return fail(base::ErrnoStatus(errno, absl::StrCat("cannot fsync ", tmp)));
  }
  ::fchmod(out.get(), kBlobMode);
  std::string final_path = BlobPath(digest);
  std::string final_dir = base::DirName(final_path);
  absl::Status s = MakeStoreDirs(final_dir);
  if (!s.ok()) return fail(s);
  // link() tells a new blob from one already there; an intact one is kept,
  // a damaged one replaced.
  if (::link(tmp.c_str(), final_path.c_str()) == 0) {
    *created = true;
    ::unlink(tmp.c_str());
  } else {
    const bool existed = errno == EEXIST;
    auto have = base::Sha256File(final_path);
    if (existed && have.ok() && *have == digest) {
      ::unlink(tmp.c_str());
    } else {
      *created = !existed && !have.ok();
      if (::rename(tmp.c_str(), final_path.c_str()) != 0) {
        return fail(base::ErrnoStatus(
            errno, absl::StrCat("cannot store ", final_path)));
      }
    }
  }
  RETURN_IF_ERROR(base::FsyncDir(final_dir));
  return ArtifactFile{std::move(relative), std::move(digest), size};
}

absl::StatusOr<ArtifactFile> ArtifactStore::IngestFile(
    const std::string& src, std::string relative,
    std::vector<std::string>* created) const {
  // O_NONBLOCK: a fifo put in place of the file must not hang the command.
  Fd in{::open(src.c_str(),
               O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY)};
  if (in.get() < 0) {
    if (errno == ELOOP) {
      return absl::InvalidArgumentError(absl::StrCat(
          src, " is a symbolic link; register the file it points to"));
    }
    return base::ErrnoStatus(errno, absl::StrCat("cannot open ", src));
  }
  struct stat st;
  if (::fstat(in.get(), &st) != 0 || !S_ISREG(st.st_mode)) {
    return absl::InvalidArgumentError(
        absl::StrCat(src, " is not a regular file"));
  }
  bool is_new = false;
  ASSIGN_OR_RETURN(ArtifactFile f,
                   WriteBlob(in.get(), src, std::move(relative), "", &is_new));
  if (is_new && created != nullptr) created->push_back(BlobPath(f.sha256));
  return f;
}

absl::StatusOr<IngestResult> ArtifactStore::StoreScanned(
    const ScannedSource& scanned, const std::vector<std::string>& roots,
    std::vector<std::string>* created) const {
  IngestResult result;
  result.is_directory = scanned.is_directory;
  for (const auto& f : scanned.files) {
    struct stat st;
    ASSIGN_OR_RETURN(int raw, OpenConfined(f.path, roots, &st));
    Fd in{raw};
    bool is_new = false;
    ASSIGN_OR_RETURN(
        ArtifactFile stored,
        WriteBlob(in.get(), f.path, f.relative, f.sha256, &is_new));
    if (is_new) created->push_back(BlobPath(stored.sha256));
    result.total_size += stored.size;
    result.files.push_back(std::move(stored));
  }
  result.checksum = result.is_directory ? CombinedChecksum(result.files)
                                        : result.files.at(0).sha256;
  return result;
}

void ArtifactStore::RemoveBlobs(const std::vector<std::string>& created) const {
  for (const auto& path : created) {
    ::unlink(path.c_str());
    // The shard directory too, when this left it empty (rmdir refuses
    // otherwise).
    ::rmdir(base::DirName(path).c_str());
  }
}

absl::StatusOr<IngestResult> ArtifactStore::Ingest(
    const std::string& path, const std::vector<std::string>& skip,
    std::vector<std::string>* created) const {
  std::error_code ec;
  fs::file_status st = fs::symlink_status(path, ec);
  if (ec || !fs::exists(st)) {
    return absl::NotFoundError(
        absl::StrCat("no such file or directory: ", path));
  }
  if (fs::is_symlink(st)) {
    return absl::InvalidArgumentError(absl::StrCat(
        path, " is a symbolic link; register the file it points to"));
  }
  IngestResult result;
  if (fs::is_regular_file(st)) {
    ASSIGN_OR_RETURN(
        ArtifactFile f,
        IngestFile(path, fs::path(path).filename().string(), created));
    result.total_size = f.size;
    result.checksum = f.sha256;
    result.files.push_back(std::move(f));
    return result;
  }
  if (!fs::is_directory(st)) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, " is neither a regular file nor a directory"));
  }
  result.is_directory = true;
  std::vector<fs::path> entries;
  for (auto it = fs::recursive_directory_iterator(path, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    fs::file_status est = it->symlink_status();
    if (fs::is_symlink(est)) {
      return absl::InvalidArgumentError(absl::StrCat(
          it->path().string(),
          " is a symbolic link; artifacts hold regular files only"));
    }
    if (fs::is_directory(est)) continue;
    if (!fs::is_regular_file(est)) {
      return absl::InvalidArgumentError(
          absl::StrCat(it->path().string(), " is not a regular file"));
    }
    if (std::find(skip.begin(), skip.end(),
                  fs::relative(it->path(), path).string()) != skip.end()) {
      continue;
    }
    entries.push_back(it->path());
  }
  if (ec)
    return base::ErrnoStatus(ec.value(), absl::StrCat("cannot list ", path));
  if (entries.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, " is an empty directory"));
  }
  // Byte order of the relative path, as both adapters list files (SQLite's
  // BINARY collation, PostgreSQL's COLLATE "C"), so that the combined
  // checksum of the stored list is the one computed here. (Path order would
  // differ for names like "a.b" and "a/b".)
  std::vector<std::pair<std::string, fs::path>> sorted;
  for (const auto& e : entries)
    sorted.emplace_back(fs::relative(e, path).string(), e);
  std::sort(sorted.begin(), sorted.end());
  for (const auto& [relative, e] : sorted) {
    ASSIGN_OR_RETURN(ArtifactFile f, IngestFile(e.string(), relative, created));
    result.total_size += f.size;
    result.files.push_back(std::move(f));
  }
  result.checksum = CombinedChecksum(result.files);
  return result;
}

absl::Status ArtifactStore::Verify(const ArtifactFile& file) const {
  std::string blob = BlobPath(file.sha256);
  auto digest = base::Sha256File(blob);
  if (!digest.ok()) {
    return absl::NotFoundError(absl::StrCat("artifact file '", file.path,
                                            "' is missing from the store (",
                                            blob, ")"));
  }
  if (*digest != file.sha256) {
    return absl::DataLossError(absl::StrCat("artifact file '", file.path,
                                            "' is corrupted: sha256 ", *digest,
                                            ", expected ", file.sha256));
  }
  return absl::OkStatus();
}

absl::Status ArtifactStore::VerifyVersion(const ModelVersion& v) const {
  if (v.files.empty()) {
    return absl::NotFoundError(absl::StrCat(
        "version ", v.version_id, " has no artifact files in the store"));
  }
  for (const auto& f : v.files) RETURN_IF_ERROR(Verify(f));
  std::string expected =
      v.is_directory ? CombinedChecksum(v.files) : v.files[0].sha256;
  if (expected != v.checksum) {
    return absl::DataLossError(
        absl::StrCat("version ", v.version_id, ": checksum ", v.checksum,
                     " does not match its files (", expected, ")"));
  }
  return absl::OkStatus();
}

}  // namespace spatial::registry
