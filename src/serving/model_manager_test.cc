#include "src/serving/model_manager.h"

#include <sys/stat.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <future>
#include <thread>

#include "gtest/gtest.h"
#include "src/base/sha256.h"
#include "src/inference/onnx_info.h"
#include "src/registry/registry_service.h"
#include "src/registry/sqlite/sqlite_registry.h"
#include "src/vision/decode.h"
#include "src/vision/renderer.h"
#include "tests/test_paths.h"

namespace spatial::serving {
namespace {
namespace fs = std::filesystem;
using registry::RegistryService;

std::string ModelDir(const char* name) {
  return spatial::testing::SourceDir() + "/models/" + name;
}

// Appends a byte to a stored (read-only) blob: a tampered store.
void Tamper(const std::string& blob) {
  ASSERT_EQ(chmod(blob.c_str(), 0644), 0);
  std::ofstream(blob, std::ios::app) << "x";
}

// A real SQLite registry with the shipped bundles registered.
class ModelManagerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = ::testing::TempDir() + "/model_manager_" + info->name();
    fs::remove_all(dir_);
    fs::create_directories(dir_ + "/work");
    auto r = registry::SqliteRegistry::Open({.path = dir_ + "/r.db"});
    ASSERT_TRUE(r.ok()) << r.status();
    reg_ = std::move(*r);
    service_ = std::make_unique<RegistryService>(
        RegistryService::Options{.registry = reg_.get(),
                                 .store_root = dir_ + "/store",
                                 .inspector = inference::InspectOnnx});
    registry::Environment dev;
    dev.name = "development";
    dev.supported_architectures = {"dual-encoder", "visual-encoder"};
    dev.memory_requirements_gb = 1;
    dev.allow_cpu_only = true;
    dev.skip_heavy_tests = true;
    ASSERT_TRUE(service_->EnsureEnvironments({dev}).ok());
  }

  void TearDown() override {
    manager_.reset();
    fs::remove_all(dir_);
  }

  registry::ModelVersion Register(const std::string& id,
                                  const std::string& path) {
    auto v = service_->Register(
        {.path = path, .version_id = id, .architecture = "", .actor = "test"});
    EXPECT_TRUE(v.ok()) << v.status();
    auto valid = service_->Validate({id, "development", "", "test"});
    EXPECT_TRUE(valid.ok() && valid->valid) << valid.status();
    return v.ok() ? *v : registry::ModelVersion{};
  }

  void Promote(const std::string& id) {
    auto e = service_->Promote(id, "development", "test", "");
    ASSERT_TRUE(e.ok()) << e.status();
  }

  // A copy of the spatial bundle that differs in its manifest only, so that
  // its manifest blob is its own.
  std::string VariantBundle(const std::string& name) {
    std::string d = dir_ + "/" + name;
    fs::create_directories(d);
    fs::copy_file(ModelDir("spatial-pizza-v1") + "/model.onnx",
                  d + "/model.onnx");
    std::ifstream in(ModelDir("spatial-pizza-v1") + "/manifest.json");
    std::string m((std::istreambuf_iterator<char>(in)), {});
    m.insert(m.find('{') + 1, "\"note\": \"" + name + "\",");
    std::ofstream(d + "/manifest.json") << m;
    return d;
  }

  ModelManager& StartManager(std::vector<std::string> dirs = {}) {
    ModelManager::Options o;
    o.batcher.workers = 1;
    o.batcher.max_queue_delay = std::chrono::microseconds(200);
    o.warmup_rounds = 1;
    o.metrics = &metrics_;
    o.model_dirs = std::move(dirs);
    o.registry = reg_.get();
    o.store = &service_->store();
    o.environment = "development";
    o.work_dir = dir_ + "/work";
    o.poll_interval = std::chrono::milliseconds(0);  // tests call Refresh()
    o.admit = [this](const registry::ModelVersion& v,
                     const std::vector<security::FileDigest>&) {
      return v.version_id == refused_ ? absl::PermissionDeniedError("refused")
                                      : absl::OkStatus();
    };
    o.log = [this](const std::string& line) {
      std::lock_guard<std::mutex> lock(log_mu_);
      log_ += line + "\n";
    };
    manager_ = std::make_unique<ModelManager>(o);
    EXPECT_TRUE(manager_->Start().ok());
    return *manager_;
  }

  std::string Log() {
    std::lock_guard<std::mutex> lock(log_mu_);
    return log_;
  }

  std::string dir_;
  std::unique_ptr<registry::Registry> reg_;
  std::unique_ptr<RegistryService> service_;
  Metrics metrics_;
  std::string refused_;
  std::mutex log_mu_;
  std::string log_;
  std::unique_ptr<ModelManager> manager_;
};

std::shared_ptr<const inference::PreparedInput> Input(const ServedModel& m) {
  auto img = vision::DecodeImage(vision::RenderPizza(3, 1, 0, 96).jpeg);
  EXPECT_TRUE(img.ok());
  return std::make_shared<inference::PreparedInput>(
      inference::PrepareInput(m.manifest(), *img));
}

absl::StatusOr<inference::Prediction> Classify(const ServedModel& m) {
  std::promise<absl::StatusOr<inference::Prediction>> p;
  absl::Status s =
      m.batcher->Submit(Input(m), [&p](auto r) { p.set_value(std::move(r)); });
  if (!s.ok()) return s;
  return p.get_future().get();
}

TEST_F(ModelManagerTest, MaterializeChecksEveryFileItWrites) {
  auto v = Register("s1", ModelDir("spatial-pizza-v1"));
  ASSERT_TRUE(MaterializeVersion(service_->store(), v, dir_ + "/out").ok());
  EXPECT_EQ(*base::Sha256File(dir_ + "/out/model.onnx"),
            *base::Sha256File(ModelDir("spatial-pizza-v1") + "/model.onnx"));
  EXPECT_TRUE(fs::exists(dir_ + "/out/reference"));

  for (const auto& f : v.files) {
    if (f.path == "manifest.json") Tamper(service_->store().BlobPath(f.sha256));
  }
  absl::Status s =
      MaterializeVersion(service_->store(), v, dir_ + "/out2").status();
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss) << s;
  EXPECT_NE(s.message().find("manifest.json"), std::string::npos) << s;
}

TEST_F(ModelManagerTest, UnreadyUntilAVersionIsActiveThenServesIt) {
  Register("s1", ModelDir("spatial-pizza-v1"));
  auto& m = StartManager();
  EXPECT_FALSE(m.ready());
  EXPECT_TRUE(m.Current()->all().empty());
  EXPECT_NE(Log().find("no version is active in development"),
            std::string::npos);

  Promote("s1");
  auto swapped = m.Refresh();
  ASSERT_TRUE(swapped.ok()) << swapped.status();
  EXPECT_TRUE(*swapped);
  EXPECT_TRUE(m.ready());
  ASSERT_NE(m.Current()->spatial, nullptr);
  EXPECT_EQ(m.Current()->spatial->version, "s1");
  EXPECT_EQ(m.Current()->standard, nullptr);
  EXPECT_TRUE(Classify(*m.Current()->spatial).ok());
  EXPECT_FALSE(*m.Refresh());  // nothing new
  // The unpacked copy is gone once loaded.
  EXPECT_TRUE(fs::is_empty(dir_ + "/work"));
}

TEST_F(ModelManagerTest, SwapDrainsTheOldVersionOnceNobodyHoldsIt) {
  Register("s1", ModelDir("spatial-pizza-v1"));
  Register("s2", VariantBundle("s2"));
  Promote("s1");
  auto& m = StartManager();
  auto held = m.Current();  // a request in flight on s1
  Promote("s2");
  ASSERT_TRUE(*m.Refresh());
  EXPECT_EQ(m.Current()->spatial->version, "s2");
  // The old model still answers the request that took it.
  EXPECT_TRUE(Classify(*held->spatial).ok());
  EXPECT_EQ(Log().find("unloaded s1"), std::string::npos);
  held.reset();
  EXPECT_FALSE(*m.Refresh());
  EXPECT_NE(Log().find("drained and unloaded s1"), std::string::npos) << Log();
  EXPECT_NE(metrics_.Render({}).find(
                "pizza_api_model_info{slot=\"spatial\",version=\"s2\""),
            std::string::npos);
}

TEST_F(ModelManagerTest, TamperedOrRefusedVersionKeepsTheOldOneServing) {
  Register("s1", ModelDir("spatial-pizza-v1"));
  auto bad = Register("s3", VariantBundle("s3"));
  Register("s4", VariantBundle("s4"));
  Promote("s1");
  auto& m = StartManager();
  ASSERT_EQ(m.Current()->spatial->version, "s1");

  Promote("s3");  // verified at promotion, tampered afterwards
  for (const auto& f : bad.files) {
    if (f.path == "manifest.json") Tamper(service_->store().BlobPath(f.sha256));
  }
  auto r = m.Refresh();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kDataLoss) << r.status();
  EXPECT_NE(r.status().message().find("still serving s1"), std::string::npos);
  EXPECT_EQ(m.Current()->spatial->version, "s1");
  EXPECT_TRUE(Classify(*m.Current()->spatial).ok());
  EXPECT_NE(metrics_.Render({}).find(
                "pizza_api_model_loads_total{result=\"failure\"} 1"),
            std::string::npos);
  // Not retried on every poll; retried when forced.
  EXPECT_FALSE(*m.Refresh());
  EXPECT_FALSE(m.Refresh(/*force=*/true).ok());

  refused_ = "s4";
  Promote("s4");
  r = m.Refresh();
  EXPECT_EQ(r.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(m.Current()->spatial->version, "s1");
}

TEST_F(ModelManagerTest, RegistryVersionTakesTheSlotOfItsKind) {
  Register("std1", ModelDir("standard-pizza-v1"));
  Promote("std1");
  auto& m = StartManager({ModelDir("spatial-pizza-v1")});
  EXPECT_TRUE(m.ready());
  ASSERT_NE(m.Current()->spatial, nullptr);
  EXPECT_EQ(m.Current()->spatial->version, "spatial-pizza-v1");
  ASSERT_NE(m.Current()->standard, nullptr);
  EXPECT_EQ(m.Current()->standard->version, "std1");
}

TEST_F(ModelManagerTest, SwapsUnderConcurrentLoadFailNoRequest) {
  Register("s1", ModelDir("spatial-pizza-v1"));
  Register("s2", VariantBundle("s2"));
  Promote("s1");
  auto& m = StartManager();
  std::atomic<bool> stop{false};
  std::atomic<int> ok{0}, failed{0};
  std::vector<std::thread> clients;
  for (int i = 0; i < 4; ++i) {
    clients.emplace_back([&] {
      while (!stop) {
        auto set = m.Current();
        (Classify(*set->spatial).ok() ? ok : failed)++;
      }
    });
  }
  for (int i = 0; i < 4; ++i) {
    const std::string next = i % 2 == 0 ? "s2" : "s1";
    auto e = service_->Promote(next, "development", "test", "");
    ASSERT_TRUE(e.ok()) << e.status();
    auto r = m.Refresh();
    ASSERT_TRUE(r.ok() && *r) << r.status();
  }
  stop = true;
  for (auto& t : clients) t.join();
  EXPECT_EQ(failed.load(), 0);
  EXPECT_GT(ok.load(), 20);
  EXPECT_EQ(m.Current()->spatial->version, "s1");
}

}  // namespace
}  // namespace spatial::serving
