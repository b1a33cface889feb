#include "cli/serve_workdir.h"

#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace spatial::cli {
namespace {

namespace fs = std::filesystem;

// A PID that belonged to a process which has exited and been reaped.
pid_t DeadPid() {
  pid_t child = ::fork();
  if (child == 0) ::_exit(0);
  int status = 0;
  ::waitpid(child, &status, 0);
  return child;
}

TEST(ServeWorkDirTest, RemovesOnlyDirectoriesOfServersThatAreGone) {
  fs::path parent = fs::path(::testing::TempDir()) /
                    absl::StrCat("sweep-", ::getpid(), "-", __LINE__);
  fs::remove_all(parent);
  fs::create_directories(parent);
  const fs::path dead = parent / absl::StrCat("spatial-serve-", DeadPid());
  const fs::path live = parent / absl::StrCat("spatial-serve-", ::getpid());
  const fs::path other = parent / "spatial-serve-notapid";
  const fs::path file = parent / absl::StrCat("spatial-serve-", DeadPid());
  for (const auto& d : {dead, live, other}) {
    fs::create_directories(d / "v1");
    std::ofstream(d / "v1" / "model.onnx") << "graph";
  }
  std::ofstream(file) << "a file, not a work dir";

  auto removed = SweepStaleServeDirs(parent.string());
  ASSERT_EQ(removed.size(), 1u);
  EXPECT_EQ(removed[0], dead.string());
  EXPECT_FALSE(fs::exists(dead));
  EXPECT_TRUE(fs::exists(live / "v1" / "model.onnx"));
  EXPECT_TRUE(fs::exists(other));
  EXPECT_TRUE(fs::exists(file));
  EXPECT_TRUE(SweepStaleServeDirs((parent / "missing").string()).empty());
  fs::remove_all(parent);
}

// The mkdtemp form is swept too; a link named like a dead server's dir is
// removed as a link at most, never followed into its target.
TEST(ServeWorkDirTest, SweepsSuffixedDirsAndNeverFollowsALink) {
  fs::path parent = fs::path(::testing::TempDir()) /
                    absl::StrCat("sweep-", ::getpid(), "-", __LINE__);
  fs::remove_all(parent);
  fs::create_directories(parent / "target");
  std::ofstream(parent / "target" / "keep") << "not ours to delete";
  const fs::path dead =
      parent / absl::StrCat("spatial-serve-", DeadPid(), "-Ab12Cd");
  fs::create_directories(dead);
  const fs::path link = parent / absl::StrCat("spatial-serve-", DeadPid());
  fs::create_directory_symlink(parent / "target", link);

  auto removed = SweepStaleServeDirs(parent.string());
  ASSERT_EQ(removed.size(), 1u);
  EXPECT_EQ(removed[0], dead.string());
  EXPECT_TRUE(fs::exists(parent / "target" / "keep"));
  fs::remove_all(parent);
}

// Each work dir is new and private: a directory made first under the old
// predictable name is not used.
TEST(ServeWorkDirTest, WorkDirIsNewAndPrivate) {
  fs::path parent = fs::path(::testing::TempDir()) /
                    absl::StrCat("workdir-", ::getpid(), "-", __LINE__);
  fs::remove_all(parent);
  fs::create_directories(parent / absl::StrCat("spatial-serve-", ::getpid()));
  auto dir = MakeServeWorkDir(parent.string());
  ASSERT_TRUE(dir.ok()) << dir.status();
  EXPECT_NE(*dir,
            (parent / absl::StrCat("spatial-serve-", ::getpid())).string());
  EXPECT_EQ(fs::status(*dir).permissions(), fs::perms::owner_all);
  fs::remove_all(parent);
}

}  // namespace
}  // namespace spatial::cli
