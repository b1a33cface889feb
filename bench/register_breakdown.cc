// register_breakdown: where the time of `spatial model register FILE` goes.
// Times, on one file already in the page cache, each piece of what the
// register path does (read, sha256, copy into the store, fsync) and two
// alternatives (copy_file_range, copying in a second thread while hashing),
// each as a ratio of `sha256sum FILE` measured in the same run.
//
// Usage: register_breakdown FILE [--runs N] [--dir DIR]
//   FILE      a large file (registry_bench.sh makes a 1 GiB one)
//   --runs N  repetitions per piece, the median counts (default 3)
//   --dir DIR where the copies go (default: beside FILE, same file system)
// sha256sum runs through bench::RunQuiet (base::RunSubprocess). One thread,
// but for the copier of the two-thread arrangement, which shares only the
// file it copies.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#ifdef SPATIAL_BENCH_HAVE_OPENSSL
#include <openssl/evp.h>
#endif

#include "absl/strings/str_cat.h"
#include "bench/serve_child.h"
#include "src/base/sha256.h"
#include "src/base/subprocess.h"
#include "src/registry/artifact_store.h"

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
constexpr size_t kChunk = 1 << 20;  // what Sha256File and ArtifactStore use

[[noreturn]] void Die(const std::string& what) {
  std::fprintf(stderr, "register_breakdown: %s\n", what.c_str());
  std::exit(1);
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

double TimeSec(const std::function<void()>& fn) {
  auto start = Clock::now();
  fn();
  return std::chrono::duration<double>(Clock::now() - start).count();
}

int OpenOrDie(const std::string& path, int flags, mode_t mode = 0644) {
  int fd = ::open(path.c_str(), flags | O_CLOEXEC, mode);
  if (fd < 0) {
    Die(absl::StrCat("cannot open ", path, ": ", std::strerror(errno)));
  }
  return fd;
}

// Reads `path` in 1 MiB chunks, handing each to `sink`.
void ReadChunks(const std::string& path,
                const std::function<void(const char*, size_t)>& sink) {
  int fd = OpenOrDie(path, O_RDONLY);
  std::vector<char> buf(kChunk);
  for (;;) {
    ssize_t n = ::read(fd, buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) Die(absl::StrCat("read: ", std::strerror(errno)));
    if (n == 0) break;
    sink(buf.data(), static_cast<size_t>(n));
  }
  ::close(fd);
}

void WriteAll(int fd, const char* p, size_t n) {
  while (n > 0) {
    ssize_t w = ::write(fd, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w < 0) Die(absl::StrCat("write: ", std::strerror(errno)));
    p += w;
    n -= static_cast<size_t>(w);
  }
}

void FsyncOrDie(int fd) {
  if (::fsync(fd) != 0) Die(absl::StrCat("fsync: ", std::strerror(errno)));
}

// In-kernel copy of a whole file; no user-space buffer.
void CopyFileRange(int in, int out, uint64_t size) {
  uint64_t left = size;
  while (left > 0) {
    ssize_t n = ::copy_file_range(in, nullptr, out, nullptr, left, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) Die(absl::StrCat("copy_file_range: ", std::strerror(errno)));
    if (n == 0) break;
    left -= static_cast<uint64_t>(n);
  }
}

std::string LibsodiumSha256(const std::string& path) {
  auto d = spatial::base::Sha256File(path);
  if (!d.ok()) Die(d.status().ToString());
  return *d;
}

#ifdef SPATIAL_BENCH_HAVE_OPENSSL
void OpensslSha256(const std::string& path) {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr);
  ReadChunks(path,
             [&](const char* p, size_t n) { EVP_DigestUpdate(ctx, p, n); });
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_DigestFinal_ex(ctx, out, &len);
  EVP_MD_CTX_free(ctx);
}
#endif

// Runs args (args[0] looked up in PATH) with stdout to /dev/null; dies
// unless it exits 0.
void RunQuiet(const std::vector<std::string>& args) {
  std::vector<std::string> argv = args;
  argv[0] = spatial::base::FindInPath(args[0]);
  if (int rc = spatial::bench::RunQuiet(argv); rc != 0) {
    Die(absl::StrCat(args[0], " failed (exit code ", rc, ")"));
  }
}

}  // namespace

int main(int argc, char** argv) {
  std::string file;
  std::string dir;
  int runs = 3;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--runs" && i + 1 < argc) {
      runs = std::max(1, std::atoi(argv[++i]));
    } else if (a == "--dir" && i + 1 < argc) {
      dir = argv[++i];
    } else if (file.empty() && a.rfind("--", 0) != 0) {
      file = a;
    } else {
      Die("usage: register_breakdown FILE [--runs N] [--dir DIR]");
    }
  }
  if (file.empty()) {
    Die("usage: register_breakdown FILE [--runs N] [--dir DIR]");
  }
  std::error_code ec;
  const uint64_t size = fs::file_size(file, ec);
  if (ec) Die(absl::StrCat("cannot stat ", file, ": ", ec.message()));
  if (dir.empty()) dir = fs::path(file).parent_path().string();
  if (dir.empty()) dir = ".";
  const std::string work =
      absl::StrCat(dir, "/register_breakdown.", ::getpid());
  fs::create_directories(work);
  const std::string copy = work + "/copy";
  const double mb = static_cast<double>(size) / (1024.0 * 1024.0);

  // Warm the page cache once so that every piece reads from memory.
  ReadChunks(file, [](const char*, size_t) {});

  struct Row {
    std::string what;
    double sec;
  };
  std::vector<Row> rows;
  auto measure = [&](const std::string& what, const std::function<void()>& fn,
                     const std::function<void()>& after = nullptr) {
    std::vector<double> t;
    for (int r = 0; r < runs; ++r) {
      t.push_back(TimeSec(fn));
      if (after) after();
    }
    rows.push_back({what, Median(t)});
  };
  auto remove_copy = [&] { ::unlink(copy.c_str()); };

  measure("sha256sum FILE (reference)", [&] { RunQuiet({"sha256sum", file}); });
  const double ref = rows.back().sec;
  measure("read only, 1 MiB chunks",
          [&] { ReadChunks(file, [](const char*, size_t) {}); });
  measure("libsodium sha256 (base::Sha256File)",
          [&] { LibsodiumSha256(file); });
#ifdef SPATIAL_BENCH_HAVE_OPENSSL
  measure("OpenSSL EVP sha256 (SHA-NI if the CPU has it)",
          [&] { OpensslSha256(file); });
#endif
  measure(
      "copy read+write 1 MiB, no fsync",
      [&] {
        int out = OpenOrDie(copy, O_WRONLY | O_CREAT | O_TRUNC);
        ReadChunks(file, [&](const char* p, size_t n) { WriteAll(out, p, n); });
        ::close(out);
      },
      remove_copy);
  {
    // fsync of a freshly written copy, on its own.
    std::vector<double> t;
    for (int r = 0; r < runs; ++r) {
      int out = OpenOrDie(copy, O_WRONLY | O_CREAT | O_TRUNC);
      ReadChunks(file, [&](const char* p, size_t n) { WriteAll(out, p, n); });
      t.push_back(TimeSec([&] { FsyncOrDie(out); }));
      ::close(out);
      remove_copy();
    }
    rows.push_back({"fsync of the copy, alone", Median(t)});
  }
  measure(
      "copy_file_range + fsync",
      [&] {
        int in = OpenOrDie(file, O_RDONLY);
        int out = OpenOrDie(copy, O_WRONLY | O_CREAT | O_TRUNC);
        CopyFileRange(in, out, size);
        FsyncOrDie(out);
        ::close(out);
        ::close(in);
      },
      remove_copy);
  const std::string store_root = work + "/store";
  measure(
      "ArtifactStore::Ingest (what register does)",
      [&] {
        auto r = spatial::registry::ArtifactStore(store_root).Ingest(file);
        if (!r.ok()) Die(r.status().ToString());
      },
      [&] { fs::remove_all(store_root); });
  auto overlapped = [&](const std::function<void()>& hash) {
    return [&, hash] {
      std::thread copier([&] {
        int in = OpenOrDie(file, O_RDONLY);
        int out = OpenOrDie(copy, O_WRONLY | O_CREAT | O_TRUNC);
        CopyFileRange(in, out, size);
        FsyncOrDie(out);
        ::close(out);
        ::close(in);
      });
      hash();
      copier.join();
    };
  };
  measure("libsodium sha256 || copy_file_range+fsync (2 threads)",
          overlapped([&] { LibsodiumSha256(file); }), remove_copy);
#ifdef SPATIAL_BENCH_HAVE_OPENSSL
  measure("OpenSSL sha256 || copy_file_range+fsync (2 threads)",
          overlapped([&] { OpensslSha256(file); }), remove_copy);
#endif
  fs::remove_all(work, ec);

  std::printf(
      "register_breakdown: %.0f MiB file in the page cache, median of %d, "
      "ratio = sha256sum time / piece time (>= 0.80 is the register goal)\n",
      mb, runs);
  for (const auto& r : rows) {
    std::printf("  %-52s %7.3f s  %7.0f MiB/s  ratio %5.2f\n", r.what.c_str(),
                r.sec, mb / r.sec, ref / r.sec);
  }
  return 0;
}
