// Test helpers for backup/restore (backup_test_support.h). Single-threaded.
#include "src/registry/backup/backup_test_support.h"

#include <filesystem>
#include <random>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "src/base/files.h"
#include "src/registry/backup/backup.h"
#include "src/registry/open/registry_open.h"
#include "src/registry/registry_service.h"

namespace spatial::registry::backup::testing {
namespace fs = std::filesystem;

std::string FreshDir(const std::string& tag) {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  std::string dir = absl::StrCat(::testing::TempDir(), "/backup_", tag, "_",
                                 info->test_suite_name(), "_", info->name());
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

namespace {

std::string RandomFile(const std::string& path, size_t size) {
  static std::mt19937_64 rng(std::random_device{}());
  std::string bytes(size, '\0');
  for (auto& c : bytes) c = static_cast<char>(rng() & 0xff);
  fs::create_directories(fs::path(path).parent_path());
  EXPECT_TRUE(base::WriteFileAtomic(path, bytes).ok());
  return path;
}

Environment Dev() {
  Environment e;
  e.name = "development";
  e.supported_architectures = {"dual-encoder", "visual-encoder"};
  e.memory_requirements_gb = 8;
  e.min_accuracy = 0.7;
  e.max_inference_time_ms = 2000;
  e.allow_cpu_only = true;
  e.skip_heavy_tests = true;
  return e;
}

}  // namespace

void Populate(const std::string& registry, const std::string& store,
              const std::string& dir, const std::string& prefix) {
  auto reg = OpenRegistry(registry, /*create=*/true);
  ASSERT_TRUE(reg.ok()) << reg.status();
  RegistryService::Options o;
  o.registry = reg->get();
  o.store_root = store;
  // The graph inspector is ONNX parsing; these artifacts are random bytes.
  o.inspector = [](const std::string&) -> absl::StatusOr<Json> {
    return Json{{"dual_encoder", true},
                {"memory_estimate_gb", 0.02},
                {"parameter_count", 580}};
  };
  RegistryService service(std::move(o));
  ASSERT_TRUE(service.EnsureEnvironments({Dev()}, "tester").ok());
  for (const char* id : {"a", "b"}) {
    RegisterRequest req{
        .path =
            RandomFile(absl::StrCat(dir, "/src/", prefix, id, ".onnx"), 3000),
        .version_id = prefix + id,
        .metrics = {{"accuracy", 0.9}, {"inference_time_ms", 3}},
        .actor = "tester"};
    auto v = service.Register(req);
    ASSERT_TRUE(v.ok()) << v.status();
  }
  std::string bundle = absl::StrCat(dir, "/src/", prefix, "c");
  RandomFile(bundle + "/model.onnx", 5000);
  RandomFile(bundle + "/extra.bin", 700);
  auto c = service.Register({.path = bundle,
                             .version_id = prefix + "c",
                             .metrics = {{"accuracy", 0.8}},
                             .actor = "tester"});
  ASSERT_TRUE(c.ok()) << c.status();
  auto val = service.Validate({prefix + "a", "development", "", "tester"});
  ASSERT_TRUE(val.ok()) << val.status();
  ASSERT_TRUE(val->valid) << val->result.dump();
  auto p = service.Promote(prefix + "a", "development", "tester", "test");
  ASSERT_TRUE(p.ok()) << p.status();
}

Contents Read(const std::string& registry) {
  Contents out;
  auto reg = OpenRegistry(registry, /*create=*/false);
  EXPECT_TRUE(reg.ok()) << reg.status();
  if (!reg.ok()) return out;
  auto versions = (*reg)->ListVersions();
  EXPECT_TRUE(versions.ok()) << versions.status();
  for (const auto& v : versions.value_or(std::vector<ModelVersion>{})) {
    std::string s =
        absl::StrCat(v.version_id, " ", v.checksum, " ", v.validation_status);
    for (const auto& f : v.files)
      absl::StrAppend(&s, " ", f.path, "=", f.sha256);
    out.versions.push_back(s);
  }
  auto history = (*reg)->History("");
  EXPECT_TRUE(history.ok()) << history.status();
  for (const auto& e : history.value_or(std::vector<DeploymentEvent>{})) {
    out.history.push_back(absl::StrCat(e.seq, " ", e.environment, " ",
                                       e.version_id, " ",
                                       static_cast<int>(e.kind)));
  }
  auto audit = (*reg)->ListAudit();
  EXPECT_TRUE(audit.ok()) << audit.status();
  for (const auto& r : audit.value_or(std::vector<AuditRecord>{})) {
    out.audit.push_back(r.hash);
  }
  return out;
}

}  // namespace spatial::registry::backup::testing
