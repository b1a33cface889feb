#include "cli/command.h"

#include "absl/status/status.h"
#include "cli/exit_codes.h"
#include "gtest/gtest.h"

namespace spatial::cli {
namespace {

// Usage errors exit 2, every other error 1, OK 0.
TEST(ExitCodeForTest, MapsCanonicalCodes) {
  struct Case {
    absl::Status status;
    int code;
  };
  const Case cases[] = {
      {absl::OkStatus(), kExitOk},
      {absl::InvalidArgumentError("bad flag"), kExitUsage},
      {absl::NotFoundError("no registry"), kExitFailed},
      {absl::FailedPreconditionError("not valid"), kExitFailed},
      {absl::PermissionDeniedError("no"), kExitFailed},
      {absl::InternalError("disk"), kExitFailed},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(ExitCodeFor(c.status), c.code) << c.status;
  }
}

// A pinned code wins over the canonical code and survives WithContext.
TEST(ExitCodeForTest, WithExitCodePinsTheCode) {
  absl::Status s =
      WithExitCode(absl::InvalidArgumentError("x is a directory"), kExitFailed);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), "x is a directory");
  EXPECT_EQ(ExitCodeFor(s), kExitFailed);
  absl::Status with_context = WithContext("writing the reports", s);
  EXPECT_EQ(with_context.message(), "writing the reports: x is a directory");
  EXPECT_EQ(with_context.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ExitCodeFor(with_context), kExitFailed);
  EXPECT_TRUE(WithExitCode(absl::OkStatus(), kExitFailed).ok());
  EXPECT_TRUE(WithContext("anything", absl::OkStatus()).ok());
}

// An exit code passes through unprinted; OK Status is exit 0.
TEST(FinishTest, ReturnsTheCommandsExitCode) {
  testing::internal::CaptureStderr();
  EXPECT_EQ(Finish(kExitThresholdFailed), kExitThresholdFailed);
  EXPECT_EQ(Finish(ResultOf(absl::OkStatus())), kExitOk);
  EXPECT_EQ(testing::internal::GetCapturedStderr(), "");
}

// An error prints once as "error: MESSAGE", escaped for the terminal.
TEST(FinishTest, PrintsTheErrorEscapedAndMapsIt) {
  testing::internal::CaptureStderr();
  EXPECT_EQ(Finish(absl::NotFoundError("no registry at a\x1b[2Jb")),
            kExitFailed);
  EXPECT_EQ(Finish(ResultOf(absl::InvalidArgumentError("--port must be"))),
            kExitUsage);
  EXPECT_EQ(testing::internal::GetCapturedStderr(),
            "error: no registry at a\\x1b[2Jb\nerror: --port must be\n");
}

}  // namespace
}  // namespace spatial::cli
