// The Runner's order, skip and exit-code logic with real subprocesses.
#include "src/pipeline/runner.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "gtest/gtest.h"

namespace spatial::pipeline {
namespace {

// A stage that runs a real program and records that it ran.
Stage Cmd(std::string name, std::vector<std::string> deps,
          std::vector<std::string> argv, std::vector<std::string>* ran) {
  Stage s;
  s.name = name;
  s.deps = std::move(deps);
  s.run = [name, argv, ran] {
    ran->push_back(name);
    return FromCommand(RunCommand(argv, {}), argv[0], "");
  };
  return s;
}

const StageOutcome& Find(const std::vector<StageOutcome>& v,
                         const std::string& name) {
  for (const auto& o : v) {
    if (o.name == name) return o;
  }
  static StageOutcome none;
  ADD_FAILURE() << "no outcome for " << name;
  return none;
}

TEST(RunnerTest, AllPassRunsEveryStageInDependencyOrder) {
  std::vector<std::string> ran;
  std::ostringstream progress;
  Runner r(&progress);
  // Added out of order: b needs a, c needs b.
  ASSERT_TRUE(r.Add(Cmd("c", {"b"}, {"/bin/true"}, &ran)).ok());
  ASSERT_TRUE(r.Add(Cmd("a", {}, {"/bin/true"}, &ran)).ok());
  ASSERT_TRUE(r.Add(Cmd("b", {"a"}, {"/bin/true"}, &ran)).ok());
  auto out = r.Run();
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(ran, (std::vector<std::string>{"a", "b", "c"}));
  for (const auto& o : *out) {
    EXPECT_EQ(o.result.status, StageStatus::kPassed) << o.name;
  }
  EXPECT_EQ(ExitCodeFor(*out), 0);
  EXPECT_NE(progress.str().find("[1/3] a"), std::string::npos)
      << progress.str();
  EXPECT_NE(progress.str().find("[3/3] c"), std::string::npos);
}

TEST(RunnerTest, FailureSkipsDependantsButNotIndependentStages) {
  std::vector<std::string> ran;
  std::ostringstream progress;
  Runner r(&progress);
  ASSERT_TRUE(r.Add(Cmd("env", {}, {"/bin/true"}, &ran)).ok());
  ASSERT_TRUE(r.Add(Cmd("validate", {"env"}, {"/bin/false"}, &ran)).ok());
  ASSERT_TRUE(r.Add(Cmd("perf", {"validate"}, {"/bin/true"}, &ran)).ok());
  ASSERT_TRUE(r.Add(Cmd("deploy", {"perf"}, {"/bin/true"}, &ran)).ok());
  ASSERT_TRUE(r.Add(Cmd("container", {"env"}, {"/bin/true"}, &ran)).ok());
  auto out = r.Run();
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(ran, (std::vector<std::string>{"env", "validate", "container"}));
  EXPECT_EQ(Find(*out, "validate").result.status, StageStatus::kFailed);
  EXPECT_NE(Find(*out, "validate").result.reason.find("exited with 1"),
            std::string::npos);
  EXPECT_EQ(Find(*out, "perf").result.status, StageStatus::kSkipped);
  EXPECT_EQ(Find(*out, "perf").result.reason, "dependency validate failed");
  // Transitively: deploy's dependency was itself skipped for a failure.
  EXPECT_EQ(Find(*out, "deploy").result.status, StageStatus::kSkipped);
  EXPECT_EQ(Find(*out, "deploy").result.reason, "dependency perf was skipped");
  EXPECT_EQ(Find(*out, "container").result.status, StageStatus::kPassed);
  EXPECT_EQ(ExitCodeFor(*out), 1);
  EXPECT_NE(progress.str().find("skipped: dependency validate failed"),
            std::string::npos)
      << progress.str();
}

TEST(RunnerTest, StatedSkipDoesNotBlockDependants) {
  std::vector<std::string> ran;
  Runner r(nullptr);
  Stage skipped;
  skipped.name = "container";
  skipped.skip_reason = "no container engine";
  ASSERT_TRUE(r.Add(skipped).ok());
  ASSERT_TRUE(r.Add(Cmd("deploy", {"container"}, {"/bin/true"}, &ran)).ok());
  auto out = r.Run();
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(Find(*out, "container").result.status, StageStatus::kSkipped);
  EXPECT_EQ(Find(*out, "container").result.reason, "no container engine");
  EXPECT_EQ(Find(*out, "deploy").result.status, StageStatus::kPassed);
  EXPECT_EQ(ExitCodeFor(*out), 0);
}

TEST(RunnerTest, ErrorWhenProgramCannotStartOrTimesOut) {
  std::vector<std::string> ran;
  Runner r(nullptr);
  ASSERT_TRUE(r.Add(Cmd("missing", {}, {"/nonexistent/program"}, &ran)).ok());
  Stage slow;
  slow.name = "slow";
  slow.run = [] {
    CommandOptions o;
    o.timeout = std::chrono::milliseconds(300);
    return FromCommand(RunCommand({"/bin/sleep", "30"}, o), "sleep", "");
  };
  ASSERT_TRUE(r.Add(slow).ok());
  auto started = std::chrono::steady_clock::now();
  auto out = r.Run();
  ASSERT_TRUE(out.ok());
  EXPECT_LT(std::chrono::steady_clock::now() - started,
            std::chrono::seconds(10));
  // execv fails in the child: exit 127, a failed command.
  EXPECT_EQ(Find(*out, "missing").result.status, StageStatus::kFailed);
  EXPECT_NE(Find(*out, "missing").result.reason.find("127"), std::string::npos);
  EXPECT_EQ(Find(*out, "slow").result.status, StageStatus::kError);
  EXPECT_NE(Find(*out, "slow").result.reason.find("timed out"),
            std::string::npos);
  EXPECT_EQ(ExitCodeFor(*out), 1);
}

TEST(RunnerTest, RejectsUnknownDependencyCycleAndDuplicate) {
  std::vector<std::string> ran;
  {
    Runner r(nullptr);
    ASSERT_TRUE(r.Add(Cmd("a", {"ghost"}, {"/bin/true"}, &ran)).ok());
    EXPECT_FALSE(r.Run().ok());
  }
  {
    Runner r(nullptr);
    ASSERT_TRUE(r.Add(Cmd("a", {"b"}, {"/bin/true"}, &ran)).ok());
    ASSERT_TRUE(r.Add(Cmd("b", {"a"}, {"/bin/true"}, &ran)).ok());
    EXPECT_FALSE(r.Run().ok());
  }
  {
    Runner r(nullptr);
    ASSERT_TRUE(r.Add(Cmd("a", {}, {"/bin/true"}, &ran)).ok());
    EXPECT_FALSE(r.Add(Cmd("a", {}, {"/bin/true"}, &ran)).ok());
  }
  EXPECT_TRUE(ran.empty());
}

TEST(SubprocessTest, CapturesOutputToLogAndKillsGroupOnTimeout) {
  auto dir = std::filesystem::temp_directory_path() /
             ("pipeline_subprocess_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::string log = (dir / "logs" / "echo.log").string();
  CommandOptions o;
  o.log_path = log;
  auto r = RunCommand({"/bin/sh", "-c", "echo out; echo err >&2; exit 3"}, o);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->exit_code, 3);
  std::ifstream in(log);
  std::string text((std::istreambuf_iterator<char>(in)), {});
  EXPECT_NE(text.find("out"), std::string::npos);
  EXPECT_NE(text.find("err"), std::string::npos);

  // A shell that starts a grandchild and sleeps: both die on timeout.
  std::string pidfile = (dir / "grandchild.pid").string();
  o.log_path = "";
  o.timeout = std::chrono::milliseconds(500);
  auto t = RunCommand(
      {"/bin/sh", "-c", "sleep 60 & echo $! > " + pidfile + "; wait"}, o);
  ASSERT_TRUE(t.ok());
  EXPECT_TRUE(t->timed_out);
  std::ifstream p(pidfile);
  int grandchild = 0;
  p >> grandchild;
  ASSERT_GT(grandchild, 0);
  // Killed (maybe a zombie for a moment until init reaps it).
  bool gone = false;
  for (int i = 0; i < 200 && !gone; ++i) {
    std::ifstream stat("/proc/" + std::to_string(grandchild) + "/stat");
    std::string line;
    gone = !std::getline(stat, line) || line.find(") Z") != std::string::npos;
    if (!gone) usleep(10000);
  }
  EXPECT_TRUE(gone) << "grandchild " << grandchild << " still running";
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace spatial::pipeline
