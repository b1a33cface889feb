// Many PROCESSES on one PostgreSQL registry at once, as CI runners are: 8
// registry_writer processes each register 100 versions and promote 20, and
// `spatial model promote` races `spatial model rollback` on one environment.
// Nothing is lost, every row is intact and the history is one chain.
#include <chrono>
#include <map>
#include <set>
#include <thread>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "src/registry/audit.h"
#include "src/registry/postgres/postgres_registry.h"
#include "src/registry/postgres/test_server.h"
#include "tests/integration/cli_sandbox.h"
#include "tests/integration/process.h"
#include "tests/integration/registry_writer.h"

namespace spatial::integration {
namespace {

using registry::DeploymentEvent;
using registry::DeploymentKind;
using registry::PostgresRegistry;

// Starts one PostgreSQL server for the whole binary.
[[maybe_unused]] ::testing::Environment* const kPostgres =
    ::testing::AddGlobalTestEnvironment(
        new registry::pgtest::PostgresEnvironment);

constexpr int kWriters = 8;
constexpr int kRegistersEach = 100;
constexpr int kPromotionsEach = 20;

std::string WriterBinary() {
  const char* b = std::getenv("SPATIAL_REGISTRY_WRITER");
  return b != nullptr && *b != '\0' ? b : SPATIAL_REGISTRY_WRITER;
}

std::string FreshDatabase() {
  auto url = registry::pgtest::SharedTestPostgres()->CreateDatabase();
  EXPECT_TRUE(url.ok()) << url.status();
  return url.value_or("");
}

std::unique_ptr<PostgresRegistry> Open(const std::string& url) {
  auto r = PostgresRegistry::Open({.url = url});
  EXPECT_TRUE(r.ok()) << r.status();
  return r.ok() ? std::move(*r) : nullptr;
}

// Every event follows on from the one before it and the active version is
// the last one's: one chain, never a mix of two.
void ExpectOneChain(const std::vector<DeploymentEvent>& history,
                    const std::optional<std::string>& active) {
  std::string last;
  int64_t last_seq = 0;
  for (const auto& e : history) {
    EXPECT_GT(e.seq, last_seq);
    EXPECT_EQ(e.previous_version_id, last) << "seq " << e.seq;
    EXPECT_NE(e.version_id, e.previous_version_id) << "seq " << e.seq;
    last = e.version_id;
    last_seq = e.seq;
  }
  EXPECT_EQ(active.value_or(""), last);
}

TEST(PostgresProcessTest, EightWriterProcessesLoseNothing) {
  const std::string url = FreshDatabase();
  auto reg = Open(url);
  ASSERT_NE(reg, nullptr);
  registry::Environment env;
  env.name = "production";
  env.supported_architectures = {"dual-encoder"};
  env.allow_cpu_only = true;
  ASSERT_TRUE(reg->PutEnvironment(env).ok());

  // All start at the same moment, once every process is up and connected.
  const auto start = std::chrono::system_clock::now() + std::chrono::seconds(2);
  const std::string start_ms =
      std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(
                         start.time_since_epoch())
                         .count());
  std::vector<ProcessResult> results(kWriters);
  std::vector<std::thread> threads;
  const auto t0 = std::chrono::steady_clock::now();
  for (int w = 0; w < kWriters; ++w) {
    threads.emplace_back([&, w] {
      results[w] =
          RunProcess({WriterBinary(), url, std::to_string(w),
                      std::to_string(kRegistersEach),
                      std::to_string(kPromotionsEach), "production", start_ms},
                     {.timeout = std::chrono::seconds(240)});
    });
  }
  for (auto& t : threads) t.join();
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0)
          .count();
  for (const auto& r : results) EXPECT_EQ(r.exit_code, 0) << r;
  std::cout << kWriters << " writer processes, " << kRegistersEach
            << " registers and " << kPromotionsEach
            << " promotions each: " << seconds
            << " s (2 s of it waiting for the common start)\n";

  // Nothing lost, nothing mixed: every version reads back as written.
  auto versions = reg->ListVersions();
  ASSERT_TRUE(versions.ok()) << versions.status();
  ASSERT_EQ(versions->size(), static_cast<size_t>(kWriters * kRegistersEach));
  std::set<std::string> ids;
  for (const auto& v : *versions) {
    ids.insert(v.version_id);
    registry::ModelVersion want = WriterVersion(v.version_id);
    EXPECT_EQ(v.checksum, want.checksum) << v.version_id;
    EXPECT_EQ(v.files, want.files) << v.version_id;
    EXPECT_EQ(v.tags, want.tags) << v.version_id;
    EXPECT_EQ(v.size_bytes, want.size_bytes) << v.version_id;
  }
  for (int w = 0; w < kWriters; ++w) {
    for (int i = 0; i < kRegistersEach; ++i) {
      EXPECT_TRUE(ids.count(WriterVersionId(w, i))) << WriterVersionId(w, i);
    }
  }

  // Every promotion is in the history once, in one chain, and each writer's
  // promotions are in the order it made them.
  auto history = reg->History("production");
  ASSERT_TRUE(history.ok()) << history.status();
  EXPECT_EQ(history->size(), static_cast<size_t>(kWriters * kPromotionsEach));
  ExpectOneChain(*history, *reg->ActiveVersion("production"));
  std::map<std::string, std::vector<std::string>> by_writer;
  std::set<std::string> promoted;
  for (const auto& e : *history) {
    EXPECT_TRUE(promoted.insert(e.version_id).second) << e.version_id;
    by_writer[e.actor].push_back(e.version_id);
  }
  ASSERT_EQ(by_writer.size(), static_cast<size_t>(kWriters));
  const int every = kRegistersEach / kPromotionsEach;
  for (int w = 0; w < kWriters; ++w) {
    std::vector<std::string> want;
    for (int i = 0; i < kRegistersEach; i += every) {
      want.push_back(WriterVersionId(w, i));
    }
    EXPECT_EQ(by_writer[absl::StrCat("writer", w)], want);
  }

  // The audit log has every write, chained without a gap.
  auto audit = reg->ListAudit();
  ASSERT_TRUE(audit.ok()) << audit.status();
  EXPECT_EQ(audit->size(),
            static_cast<size_t>(
                1 + kWriters * (kRegistersEach + 2 * kPromotionsEach)));
  registry::AuditCheck check = registry::VerifyAuditChain(*audit);
  EXPECT_FALSE(check.broken_seq.has_value()) << check.problem;
}

// `spatial model promote NEW` and `spatial model rollback` started at once on
// an environment where CURRENT follows OLD. Whichever commits first, the
// other follows on from it: promotion first, the rollback undoes it (back to
// CURRENT, never to the stale OLD); rollback first, NEW follows OLD.
TEST(PostgresProcessTest, PromotionRacingRollbackEndsInOneState) {
  const std::string url = FreshDatabase();
  Sandbox box;
  const std::string store = box.Path("store");
  auto model = [&](std::vector<std::string> args) {
    args.insert(args.end(), {"--store", store});
    return box.ModelAt(url, args);
  };
  for (const char* id : {"old", "current", "new"}) {
    ProcessResult r =
        model({"register", box.WriteRandomFile(std::string(id) + ".onnx", 256),
               "--version-id", id, "--architecture", "dual-encoder", "--metric",
               "accuracy=0.9", "--metric", "inference_time_ms=50"});
    ASSERT_EQ(r.exit_code, 0) << r;
    r = model({"validate", id, "--environment", "development"});
    ASSERT_EQ(r.exit_code, 0) << r;
  }
  auto reg = Open(url);
  ASSERT_NE(reg, nullptr);
  constexpr int kRounds = 12;
  std::map<std::string, int> endings;
  for (int round = 0; round < kRounds; ++round) {
    for (const char* id : {"old", "current"}) {
      auto active = reg->ActiveVersion("development");
      ASSERT_TRUE(active.ok());
      if (active->value_or("") == id) continue;
      ASSERT_TRUE(
          reg->Activate({.environment = "development", .version_id = id}).ok());
    }
    const size_t before = reg->History("development")->size();
    ProcessResult promote, rollback;
    std::thread a([&] {
      promote = model({"promote", "new", "--environment", "development"});
    });
    std::thread b([&] {
      rollback = model({"rollback", "--environment", "development"});
    });
    a.join();
    b.join();
    ASSERT_EQ(promote.exit_code, 0) << promote;
    ASSERT_EQ(rollback.exit_code, 0) << rollback;
    auto history = reg->History("development");
    ASSERT_TRUE(history.ok());
    auto active = reg->ActiveVersion("development");
    ASSERT_TRUE(active.ok());
    ExpectOneChain(*history, *active);
    ASSERT_EQ(history->size(), before + 2);
    const DeploymentEvent& first = (*history)[before];
    const DeploymentEvent& last = (*history)[before + 1];
    EXPECT_EQ(first.previous_version_id, "current");
    if (first.kind == DeploymentKind::kPromote) {
      EXPECT_EQ(first.version_id, "new");
      EXPECT_EQ(last.kind, DeploymentKind::kRollback);
      EXPECT_EQ(last.version_id, "current") << "rolled back to a stale target";
      ++endings["promotion first, rollback undid it"];
    } else {
      EXPECT_EQ(first.version_id, "old");
      EXPECT_EQ(last.kind, DeploymentKind::kPromote);
      EXPECT_EQ(last.version_id, "new");
      ++endings["rollback first, then the promotion"];
    }
  }
  for (const auto& [ending, count] : endings) {
    std::cout << "promote vs rollback processes: " << ending << " in " << count
              << " of " << kRounds << " rounds\n";
  }
}

}  // namespace
}  // namespace spatial::integration
