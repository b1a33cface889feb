// Tests of Subprocess and RunSubprocess with real children (/bin/sh,
// /bin/sleep): exit codes, signals, timeouts, capture and redirects,
// environment and working directory, process groups, and a program that
// cannot be run. Single-threaded; each test owns its children and files.
#include "src/base/subprocess.h"

#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace spatial::base {
namespace {

std::string Slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// A fresh path under the test's temp dir (ctest runs tests in parallel).
std::string TempPath(const std::string& name) {
  return absl::StrCat(::testing::TempDir(), "/subprocess_", ::getpid(), "_",
                      name);
}

// No such process, or only its zombie (a reparented one waits for init).
bool Gone(pid_t pid) {
  if (::kill(pid, 0) != 0 && errno == ESRCH) return true;
  std::string stat = Slurp(absl::StrCat("/proc/", pid, "/stat"));
  size_t close = stat.rfind(')');
  return close == std::string::npos || close + 2 >= stat.size() ||
         stat[close + 2] == 'Z' || stat[close + 2] == 'X';
}

SpawnOptions Captured() {
  SpawnOptions o;
  o.out = Redirect::Capture();
  o.err = Redirect::Capture();
  return o;
}

// Exit codes come back as the child gave them, streams apart.
TEST(RunSubprocessTest, ReturnsExitCodeAndCapturesBothStreams) {
  auto r = RunSubprocess({"/bin/sh", "-c", "echo out; echo err >&2; exit 3"},
                         Captured(), absl::Seconds(20));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->exit.code, 3);
  EXPECT_EQ(r->exit.signal, 0);
  EXPECT_FALSE(r->timed_out);
  EXPECT_EQ(r->out, "out\n");
  EXPECT_EQ(r->err, "err\n");
  EXPECT_EQ(r->exit.Describe(), "exited with code 3");
}

// A child killed by a signal: 128 + signal, and the signal itself.
TEST(RunSubprocessTest, KilledBySignalIs128PlusSignal) {
  auto r =
      RunSubprocess({"/bin/sh", "-c", "kill -TERM $$"}, {}, absl::Seconds(20));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->exit.signal, SIGTERM);
  EXPECT_EQ(r->exit.code, 128 + SIGTERM);
  EXPECT_EQ(r->exit.Describe(), "was killed by signal 15");
}

// Past the timeout the child is killed and the result says so.
TEST(RunSubprocessTest, TimeoutKillsTheChild) {
  auto r = RunSubprocess({"/bin/sleep", "30"}, {}, absl::Milliseconds(200));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE(r->timed_out);
  EXPECT_EQ(r->exit.signal, SIGKILL);
}

// `stop` ends the wait early, like a timeout.
TEST(RunSubprocessTest, StopPredicateEndsTheWait) {
  int polls = 0;
  auto r = RunSubprocess({"/bin/sleep", "30"}, {}, absl::Seconds(30),
                         [&polls] { return ++polls > 3; });
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE(r->timed_out);
  EXPECT_GT(polls, 3);
}

// A program that does not exist: NotFound naming it, no exit code.
TEST(SpawnTest, MissingProgramIsNotFoundNamingIt) {
  auto c = Subprocess::Spawn({"/nonexistent/program", "x"});
  EXPECT_EQ(c.status().code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(absl::StrContains(c.status().message(),
                                "cannot run /nonexistent/program"))
      << c.status();
  EXPECT_TRUE(CouldNotExecute(c.status()));
  auto r = RunSubprocess({"/nonexistent/program"}, {}, absl::Seconds(5));
  EXPECT_EQ(r.status().code(), absl::StatusCode::kNotFound);
}

// A file that is not executable: PermissionDenied naming it.
TEST(SpawnTest, NonExecutableIsPermissionDenied) {
  const std::string path = TempPath("not_exec");
  std::ofstream(path) << "#!/bin/sh\nexit 0\n";
  ::chmod(path.c_str(), 0644);
  auto c = Subprocess::Spawn({path});
  EXPECT_EQ(c.status().code(), absl::StatusCode::kPermissionDenied)
      << c.status();
  EXPECT_TRUE(absl::StrContains(c.status().message(), path)) << c.status();
}

// A working directory that does not exist: NotFound naming it.
TEST(SpawnTest, MissingWorkingDirectoryIsNotFound) {
  SpawnOptions o;
  o.cwd = "/nonexistent/dir";
  auto c = Subprocess::Spawn({"/bin/true"}, o);
  EXPECT_EQ(c.status().code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(absl::StrContains(c.status().message(), "/nonexistent/dir"))
      << c.status();
}

TEST(SpawnTest, EmptyArgvIsInvalidArgument) {
  EXPECT_EQ(Subprocess::Spawn({}).status().code(),
            absl::StatusCode::kInvalidArgument);
}

// An output file that cannot be opened: an error naming it.
TEST(SpawnTest, UnwritableOutputFileIsNamed) {
  SpawnOptions o;
  o.out = Redirect::File("/nonexistent/dir/out.log");
  auto c = Subprocess::Spawn({"/bin/true"}, o);
  EXPECT_EQ(c.status().code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(
      absl::StrContains(c.status().message(), "/nonexistent/dir/out.log"));
  EXPECT_FALSE(CouldNotExecute(c.status()));
}

// The environment is the caller's with `env` set over it; cwd applies.
TEST(SpawnTest, EnvironmentAndWorkingDirectory) {
  ::setenv("SPATIAL_SUBPROCESS_TEST_KEEP", "kept", 1);
  SpawnOptions o = Captured();
  o.env = {{"SPATIAL_SUBPROCESS_TEST", "set"}, {"HOME", "/replaced"}};
  o.cwd = "/";
  auto r = RunSubprocess(
      {"/bin/sh", "-c",
       "echo $SPATIAL_SUBPROCESS_TEST $SPATIAL_SUBPROCESS_TEST_KEEP "
       "$HOME; pwd"},
      o, absl::Seconds(20));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->out, "set kept /replaced\n/\n");
}

// File redirects: truncate, append, and stderr to wherever stdout goes.
TEST(SpawnTest, FileRedirects) {
  const std::string log = TempPath("log");
  std::ofstream(log) << "old\n";
  SpawnOptions append;
  append.out = Redirect::Append(log);
  append.err = Redirect::SameAsStdout();
  auto r = RunSubprocess({"/bin/sh", "-c", "echo a; echo b >&2"}, append,
                         absl::Seconds(20));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(Slurp(log), "old\na\nb\n");
  SpawnOptions truncate;
  truncate.out = Redirect::File(log);
  truncate.err = Redirect::Null();
  r = RunSubprocess({"/bin/sh", "-c", "echo c; echo d >&2"}, truncate,
                    absl::Seconds(20));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(Slurp(log), "c\n");
  // A file it creates gets the mode asked for (a dump: owner only).
  const std::string secret = TempPath("secret");
  ::unlink(secret.c_str());
  SpawnOptions owner_only;
  owner_only.out = Redirect::File(secret, 0600);
  ASSERT_TRUE(RunSubprocess({"/bin/true"}, owner_only, absl::Seconds(20)).ok());
  struct stat st {};
  ASSERT_EQ(::stat(secret.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

// More output than a pipe holds does not deadlock the wait.
TEST(SpawnTest, LargeCapturedOutput) {
  auto r = RunSubprocess({"/bin/sh", "-c", "head -c 1000000 /dev/zero"},
                         Captured(), absl::Seconds(20));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->exit.code, 0);
  EXPECT_EQ(r->out.size(), 1000000u);
}

// Running, Signal and Wait on a background child.
TEST(SubprocessTest, BackgroundChildCanBeSignalledAndWaited) {
  auto c = Subprocess::Spawn({"/bin/sleep", "30"});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_TRUE(c->Running());
  EXPECT_FALSE(c->Wait(absl::Milliseconds(50)).has_value());
  c->Signal(SIGINT);
  auto exit = c->Wait(absl::Seconds(20));
  ASSERT_TRUE(exit.has_value());
  EXPECT_EQ(exit->signal, SIGINT);
  EXPECT_FALSE(c->Running());
  EXPECT_EQ(c->exit()->code, 128 + SIGINT);
}

// Stop: SIGTERM first; a child that ignores it gets SIGKILL after the grace.
TEST(SubprocessTest, StopEscalatesToSigkill) {
  auto polite = Subprocess::Spawn({"/bin/sleep", "30"});
  ASSERT_TRUE(polite.ok()) << polite.status();
  EXPECT_EQ(polite->Stop(absl::Seconds(10)).signal, SIGTERM);

  SpawnOptions o = Captured();
  auto stubborn = Subprocess::Spawn(
      {"/bin/sh", "-c", "trap '' TERM; echo ready; sleep 30"}, o);
  ASSERT_TRUE(stubborn.ok()) << stubborn.status();
  // Wait until the trap is set (bounded by the Wait timeouts).
  for (int i = 0; i < 200 && stubborn->out().empty(); ++i) {
    stubborn->Wait(absl::Milliseconds(20));
  }
  ASSERT_EQ(stubborn->out(), "ready\n");
  EXPECT_EQ(stubborn->Stop(absl::Milliseconds(200)).signal, SIGKILL);
}

// With its own group, Stop reaches the grandchildren too.
TEST(SubprocessTest, GroupStopKillsGrandchildren) {
  SpawnOptions o = Captured();
  o.new_process_group = true;
  auto c =
      Subprocess::Spawn({"/bin/sh", "-c", "/bin/sleep 30 & echo $!; wait"}, o);
  ASSERT_TRUE(c.ok()) << c.status();
  for (int i = 0; i < 200 && c->out().find('\n') == std::string::npos; ++i) {
    c->Wait(absl::Milliseconds(20));
  }
  const pid_t grandchild = std::atoi(c->out().c_str());
  ASSERT_GT(grandchild, 0) << c->out();
  c->Stop(absl::Seconds(5));
  bool gone = false;
  for (int i = 0; i < 200 && !gone; ++i) {
    gone = Gone(grandchild);
    if (!gone) ::usleep(10000);
  }
  EXPECT_TRUE(gone) << "grandchild " << grandchild << " survived";
}

// Destroying a running Subprocess kills it; Release hands it over instead.
TEST(SubprocessTest, DestructorKillsUnlessReleased) {
  pid_t pid = -1;
  {
    auto c = Subprocess::Spawn({"/bin/sleep", "30"});
    ASSERT_TRUE(c.ok()) << c.status();
    pid = c->pid();
  }
  EXPECT_TRUE(Gone(pid));
  pid_t released = -1;
  {
    auto c = Subprocess::Spawn({"/bin/sleep", "30"});
    ASSERT_TRUE(c.ok()) << c.status();
    released = c->Release();
  }
  EXPECT_FALSE(Gone(released));
  ::kill(released, SIGKILL);
  int status = 0;
  ::waitpid(released, &status, 0);
}

TEST(FindInPathTest, FindsShAndNotNonsense) {
  EXPECT_FALSE(FindInPath("sh").empty());
  EXPECT_EQ(FindInPath("no-such-program-spatial"), "");
}

}  // namespace
}  // namespace spatial::base
