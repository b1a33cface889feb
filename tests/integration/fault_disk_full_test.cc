// Fault: the disk fills up. During `model register` (registry and store on
// the full disk), `model backup` (its output there) and a server's swap
// (its private work dir there, where a version is copied to be loaded;
// the visualisation store keeps its PNGs in memory and must go on). Each
// gets a clear error naming the disk's complaint, leaves nothing half-
// written (no partial blob, temp file or backup file, no registry row),
// and the registry and the server work as before once space is back.
//
// The disk is a real 16 MB tmpfs filled to its last block when this test may
// mount one (root with CAP_SYS_ADMIN, as here and in the CI container);
// otherwise the processes run with RLIMIT_FSIZE (SIGXFSZ ignored, so a write
// past it fails with EFBIG like a full disk) and the test says so.
#include <signal.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <thread>

#include "gtest/gtest.h"
#include "src/vision/renderer.h"
#include "tests/integration/cli_sandbox.h"
#include "tests/integration/fault_support.h"
#include "tests/integration/serve_client.h"
#include "tests/integration/server_process.h"

namespace spatial::integration {
namespace {

namespace fs = std::filesystem;
using std::chrono::seconds;

constexpr rlim_t kFsizeLimit = 64 * 1024;

// DIR/disk: a tmpfs that Fill() fills, or (when mounting is not allowed) a
// plain directory whose writers Fill() limits with RLIMIT_FSIZE.
class FullDisk {
 public:
  explicit FullDisk(const Sandbox& box) : dir_(box.Path("disk")) {
    fs::create_directories(dir_);
    // SPATIAL_TEST_NO_MOUNT=1 tries the fallback where mounting works.
    const char* no_mount = std::getenv("SPATIAL_TEST_NO_MOUNT");
    tmpfs_ = (no_mount == nullptr || std::string(no_mount) != "1") &&
             ::mount("tmpfs", dir_.c_str(), "tmpfs", 0, "size=16m") == 0;
    if (!tmpfs_)
      why_not_ = no_mount ? "SPATIAL_TEST_NO_MOUNT" : std::strerror(errno);
    ::signal(SIGXFSZ, SIG_IGN);  // inherited: writes fail with EFBIG
  }
  ~FullDisk() {
    Free();
    if (tmpfs_) ::umount2(dir_.c_str(), MNT_DETACH);
  }
  FullDisk(const FullDisk&) = delete;
  FullDisk& operator=(const FullDisk&) = delete;

  const std::string& dir() const { return dir_; }
  std::string how() const {
    return tmpfs_ ? "a 16 MB tmpfs filled to its last block"
                  : "RLIMIT_FSIZE of 64 KB (cannot mount a tmpfs: " + why_not_ +
                        ")";
  }

  // The disk is full from now on, for this process's children and `pid`.
  // The disk is full from now on (but for `room` bytes on a tmpfs), for
  // this process's children and `pid`.
  void Fill(pid_t pid = 0, size_t room = 0) {
    if (tmpfs_) {
      // 64 KB steps, then 4 KB ones to the last page (bounded: 16 MB).
      const std::string block(64 * 1024, 'x');
      std::ofstream filler(dir_ + "/filler", std::ios::binary);
      for (int i = 0; i < 256 && filler.write(block.data(), block.size());) {
        ++i;
      }
      filler.close();
      std::ofstream tail(dir_ + "/filler2", std::ios::binary);
      for (int i = 0; i < 16 && tail.write(block.data(), 4096); ++i) {
      }
      tail.close();
      if (room > 0) {
        std::error_code ec;
        const auto size = fs::file_size(dir_ + "/filler", ec);
        fs::resize_file(dir_ + "/filler", size > room ? size - room : 0, ec);
      }
    } else {
      SetLimit(0, kFsizeLimit);
      if (pid > 0) SetLimit(pid, kFsizeLimit);
      limited_pid_ = pid;
    }
  }
  void Free() {
    if (tmpfs_) {
      fs::remove(dir_ + "/filler");
      fs::remove(dir_ + "/filler2");
    } else {
      SetLimit(0, RLIM_INFINITY);
      if (limited_pid_ > 0) SetLimit(limited_pid_, RLIM_INFINITY);
      limited_pid_ = 0;
    }
  }

 private:
  static void SetLimit(pid_t pid, rlim_t soft) {
    rlimit now{};
    ASSERT_EQ(::prlimit(pid, RLIMIT_FSIZE, nullptr, &now), 0);
    now.rlim_cur = std::min(soft, now.rlim_max);
    ASSERT_EQ(::prlimit(pid, RLIMIT_FSIZE, &now, nullptr), 0);
  }

  std::string dir_, why_not_;
  bool tmpfs_ = false;
  pid_t limited_pid_ = 0;
};

// Files under `dir` whose name says they are temporary or partial.
std::vector<std::string> Leftovers(const std::string& dir) {
  std::vector<std::string> found;
  for (const auto& p : ListTree(dir)) {
    const std::string name = fs::path(p).filename().string();
    if (name.find("tmp") != std::string::npos ||
        name.find("ingest.") != std::string::npos ||
        name.find(".partial") != std::string::npos ||
        name.find("spbackup") != std::string::npos) {
      if (!fs::is_directory(dir + "/" + p)) found.push_back(p);
    }
  }
  return found;
}

TEST(FaultDiskFullTest, RegisterFailsCleanlyAndTheRegistryWorksAfter) {
  Sandbox box;
  FullDisk disk(box);
  const std::string reg = disk.dir() + "/registry.db";
  const std::string store = disk.dir() + "/store";
  auto model = [&](std::vector<std::string> args) {
    args.insert(args.end(), {"--store", store});
    return box.ModelAt(reg, args);
  };
  ProcessResult r = model(
      {"register", ShippedBundle("standard-pizza-v1"), "--version-id", "t1"});
  ASSERT_EQ(r.exit_code, 0) << r;
  const auto blobs_before = ListTree(store + "/sha256");

  // Full to the last page (the registry cannot even open its WAL), then
  // with room for the registry but not for the 1.5 MB of blobs.
  for (size_t room : {size_t{0}, size_t{256 * 1024}}) {
    disk.Fill(0, room);
    ProcessResult full = model(
        {"register", ShippedBundle("spatial-pizza-v1"), "--version-id", "s1"});
    disk.Free();
    std::cout << "fault disk-full register (" << disk.how() << ", " << room
              << " bytes left): exit " << full.exit_code << ": " << full.err
              << std::endl;
    EXPECT_EQ(full.exit_code, 1) << full;
    EXPECT_TRUE(full.err.find("No space left on device") != std::string::npos ||
                full.err.find("File too large") != std::string::npos)
        << full;
    EXPECT_EQ(full.err.find("not a spatial-deploy registry"), std::string::npos)
        << full;
    EXPECT_EQ(ListTree(store + "/sha256"), blobs_before) << "a blob was left";
    EXPECT_EQ(Leftovers(store), std::vector<std::string>{}) << full;
  }
  // Usable after: the list is as before, the store intact, the chain whole,
  // and the same register goes through once there is room.
  Json list = ParseJsonOrFail(model({"list", "--json"}).out, "list");
  EXPECT_EQ(list.size(), 1u) << list.dump();
  EXPECT_EQ(model({"test"}).exit_code, 0);
  ProcessResult audit =
      box.Spatial({"audit", "verify", "--registry", reg, "--store", store});
  EXPECT_EQ(audit.exit_code, 0) << audit;
  r = model(
      {"register", ShippedBundle("spatial-pizza-v1"), "--version-id", "s1"});
  EXPECT_EQ(r.exit_code, 0) << r;
  EXPECT_EQ(model({"test"}).exit_code, 0);
}

TEST(FaultDiskFullTest, BackupFailsCleanlyAndLeavesNoPartialFile) {
  Sandbox box;
  FullDisk disk(box);
  box.Register(ShippedBundle("spatial-pizza-v1"), "s1");
  const std::string out = disk.dir() + "/registry.spbackup";
  disk.Fill();
  ProcessResult full = box.Model({"backup", "--out", out});
  disk.Free();
  std::cout << "fault disk-full backup (" << disk.how() << "): exit "
            << full.exit_code << ": " << full.err << std::endl;
  EXPECT_EQ(full.exit_code, 1) << full;
  EXPECT_TRUE(full.err.find("No space left on device") != std::string::npos ||
              full.err.find("File too large") != std::string::npos ||
              full.err.find("disk is full") != std::string::npos)
      << full;
  EXPECT_NE(full.err.find("no backup written to " + out), std::string::npos)
      << full;
  EXPECT_FALSE(fs::exists(out)) << "a partial backup was left";
  EXPECT_EQ(ListTree(disk.dir()), std::vector<std::string>{})
      << "something was left on the full disk";
  EXPECT_EQ(box.Model({"test"}).exit_code, 0);
  ProcessResult ok = box.Model({"backup", "--out", out});
  EXPECT_EQ(ok.exit_code, 0) << ok;
}

TEST(FaultDiskFullTest, ServerSwapFailsCleanlyAndVisualisationsGoOn) {
  Sandbox box;
  FullDisk disk(box);
  box.RegisterAndPromote(ShippedBundle("spatial-pizza-v1"), "s1");
  // The server makes its private work dir under $TMPDIR: the small disk.
  ::setenv("TMPDIR", disk.dir().c_str(), 1);
  ServerProcess server(
      {"--registry", box.registry(), "--environment", "development",
       "--workers", "1", "--poll-registry-s", "0", "--cache-mb", "0"},
      box.dir(), box.Path("serve.log"));
  ::unsetenv("TMPDIR");
  ASSERT_TRUE(server.WaitReady(seconds(30))) << server.Log();
  const int port = server.port();
  box.RegisterAndPromote(box.VariantBundle("v2"), "s2");

  disk.Fill(server.pid());
  ASSERT_EQ(::kill(server.pid(), SIGHUP), 0);
  ASSERT_TRUE(WaitForLog(server, "not loading s2", seconds(20)))
      << server.Log();
  const std::string log = server.Log();
  const size_t at = log.find("not loading s2");
  std::cout << "fault disk-full swap (" << disk.how()
            << "): " << log.substr(at, log.find('\n', at) - at) << std::endl;
  EXPECT_TRUE(log.find("No space left on device") != std::string::npos ||
              log.find("File too large") != std::string::npos)
      << log;
  // Still serving s1, visualisations included (kept in memory).
  const std::string jpeg = vision::RenderPizza(4, 1, 0, 96).jpeg;
  Reply c = Request(port, "POST", "/classify", kForm,
                    Multipart({{"file", "image/jpeg", jpeg},
                               {"use_spatial", "", "true"},
                               {"enable_visualization", "", "true"}}));
  ASSERT_EQ(c.status, 200) << c.body;
  Json j = ParseJsonBody(c);
  EXPECT_EQ(j["model_version"], "s1");
  ASSERT_TRUE(j["visualization_url"].is_string()) << c.body;
  Reply png = Request(port, "GET", j["visualization_url"].get<std::string>());
  EXPECT_EQ(png.status, 200);
  EXPECT_EQ(png.body.substr(1, 3), "PNG");
  // Nothing of the failed copy is left in the work dir.
  for (const auto& p : ListTree(disk.dir())) {
    EXPECT_EQ(p.find("s2."), std::string::npos) << p << " was left";
  }
  disk.Free();
  ASSERT_EQ(::kill(server.pid(), SIGHUP), 0);
  EXPECT_TRUE(WaitForLog(server, "serving s2", seconds(20))) << server.Log();
  EXPECT_EQ(ParseJsonBody(Request(port, "POST", "/classify", kForm,
                                  ClassifyBody(jpeg)))["model_version"],
            "s2");
  EXPECT_EQ(server.Terminate(seconds(20)), 0) << server.Log();
}

}  // namespace
}  // namespace spatial::integration
