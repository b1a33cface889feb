#include "src/registry/artifact_store.h"

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

#include "gtest/gtest.h"
#include "src/base/files.h"
#include "src/base/sha256.h"

namespace spatial::registry {
namespace {
namespace fs = std::filesystem;

std::string FreshDir(const std::string& name) {
  std::string d = ::testing::TempDir() + "/artifact_store_" + name;
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

// A file lands under its digest, read-only, and verifies.
TEST(ArtifactStoreTest, IngestsFileUnderItsDigest) {
  std::string dir = FreshDir("file");
  ASSERT_TRUE(base::WriteFileAtomic(dir + "/m.onnx", "model bytes").ok());
  ArtifactStore store(dir + "/store");
  auto r = store.Ingest(dir + "/m.onnx");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_FALSE(r->is_directory);
  ASSERT_EQ(r->files.size(), 1u);
  EXPECT_EQ(r->files[0].path, "m.onnx");
  EXPECT_EQ(r->checksum, base::Sha256Hex("model bytes"));
  std::string blob = store.BlobPath(r->checksum);
  EXPECT_TRUE(fs::exists(blob));
  EXPECT_EQ(fs::status(blob).permissions() & fs::perms::owner_write,
            fs::perms::none);
  EXPECT_TRUE(store.Verify(r->files[0]).ok());
  EXPECT_TRUE(fs::is_empty(dir + "/store/tmp"));
}

// A directory is ingested file by file; its checksum covers every file.
TEST(ArtifactStoreTest, IngestsDirectoryWithCombinedChecksum) {
  std::string dir = FreshDir("dir");
  fs::create_directories(dir + "/bundle/ref");
  ASSERT_TRUE(base::WriteFileAtomic(dir + "/bundle/model.onnx", "graph").ok());
  ASSERT_TRUE(base::WriteFileAtomic(dir + "/bundle/manifest.json", "{}").ok());
  ASSERT_TRUE(base::WriteFileAtomic(dir + "/bundle/ref/in.npy", "ref").ok());
  ArtifactStore store(dir + "/store");
  auto r = store.Ingest(dir + "/bundle");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE(r->is_directory);
  ASSERT_EQ(r->files.size(), 3u);
  EXPECT_EQ(r->files[0].path, "manifest.json");
  EXPECT_EQ(r->files[2].path, "ref/in.npy");
  EXPECT_EQ(r->total_size, 5u + 2u + 3u);
  EXPECT_EQ(r->checksum, ArtifactStore::CombinedChecksum(r->files));
  EXPECT_EQ(r->checksum,
            base::Sha256Hex(base::Sha256Hex("{}") + base::Sha256Hex("graph") +
                            base::Sha256Hex("ref")));
}

// Files are listed in byte order of their relative paths, the order in which
// the registries store them: "a.b" ('.' is 0x2e) before "a/b" ('/' is 0x2f),
// although path order puts the directory "a" first.
TEST(ArtifactStoreTest, ListsFilesInByteOrderOfTheirPaths) {
  std::string dir = FreshDir("order");
  fs::create_directories(dir + "/bundle/a");
  ASSERT_TRUE(base::WriteFileAtomic(dir + "/bundle/a/b", "in dir").ok());
  ASSERT_TRUE(base::WriteFileAtomic(dir + "/bundle/a.b", "dotted").ok());
  ASSERT_TRUE(base::WriteFileAtomic(dir + "/bundle/a-c", "dashed").ok());
  ArtifactStore store(dir + "/store");
  auto r = store.Ingest(dir + "/bundle");
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->files.size(), 3u);
  EXPECT_EQ(r->files[0].path, "a-c");
  EXPECT_EQ(r->files[1].path, "a.b");
  EXPECT_EQ(r->files[2].path, "a/b");
  EXPECT_EQ(r->checksum, base::Sha256Hex(base::Sha256Hex("dashed") +
                                         base::Sha256Hex("dotted") +
                                         base::Sha256Hex("in dir")));
}

// Missing paths, symlinks and empty directories are refused with specific
// codes.
TEST(ArtifactStoreTest, RefusesWhatIsNotAnArtifact) {
  std::string dir = FreshDir("bad");
  ArtifactStore store(dir + "/store");
  EXPECT_EQ(store.Ingest(dir + "/missing").status().code(),
            absl::StatusCode::kNotFound);
  fs::create_directories(dir + "/empty");
  EXPECT_EQ(store.Ingest(dir + "/empty").status().code(),
            absl::StatusCode::kInvalidArgument);
  ASSERT_TRUE(base::WriteFileAtomic(dir + "/real", "x").ok());
  fs::create_symlink(dir + "/real", dir + "/link");
  EXPECT_EQ(store.Ingest(dir + "/link").status().code(),
            absl::StatusCode::kInvalidArgument);
  fs::create_directories(dir + "/withlink");
  fs::create_symlink(dir + "/real", dir + "/withlink/link");
  EXPECT_EQ(store.Ingest(dir + "/withlink").status().code(),
            absl::StatusCode::kInvalidArgument);
}

// A blob changed on disk is reported as DataLoss; a removed one as NotFound.
TEST(ArtifactStoreTest, VerifyDetectsTamperingAndLoss) {
  std::string dir = FreshDir("tamper");
  ASSERT_TRUE(base::WriteFileAtomic(dir + "/m", "original").ok());
  ArtifactStore store(dir + "/store");
  auto r = store.Ingest(dir + "/m");
  ASSERT_TRUE(r.ok());
  std::string blob = store.BlobPath(r->checksum);
  ::chmod(blob.c_str(), 0644);
  ASSERT_TRUE(base::WriteFileAtomic(blob, "tampered").ok());
  absl::Status s = store.Verify(r->files[0]);
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(std::string(s.message()).find("'m'"), std::string::npos);
  fs::remove(blob);
  EXPECT_EQ(store.Verify(r->files[0]).code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace spatial::registry
