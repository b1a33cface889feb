#include "tests/integration/cli_sandbox.h"

#include <stdlib.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "gtest/gtest.h"
#include "src/base/sha256.h"

namespace spatial::integration {
namespace fs = std::filesystem;

namespace {

// The variable when set, else the path compiled in by CMake.
std::string EnvOr(const char* name, const char* fallback) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? std::string(v) : std::string(fallback);
}

std::string CurrentTestName() {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  return info == nullptr ? "unknown" : info->name();
}

}  // namespace

std::string SpatialBinary() {
  return EnvOr("SPATIAL_BINARY", SPATIAL_DEFAULT_BINARY);
}
std::string SourceDir() {
  return EnvOr("SPATIAL_SOURCE_DIR", SPATIAL_DEFAULT_SOURCE_DIR);
}
std::string ShippedBundle(const std::string& name) {
  return SourceDir() + "/models/" + name;
}

Sandbox::Sandbox() : rng_(std::random_device{}()) {
  std::string templ = (fs::path(::testing::TempDir()) /
                       ("cli_" + CurrentTestName() + "_XXXXXX"))
                          .string();
  if (::mkdtemp(templ.data()) == nullptr) {
    std::cerr << "mkdtemp " << templ << " failed\n";
    std::abort();
  }
  dir_ = templ;
}

Sandbox::~Sandbox() {
  if (::testing::Test::HasFailure()) {
    std::cerr << "sandbox kept for inspection: " << dir_ << "\n";
    return;
  }
  std::error_code ec;
  fs::remove_all(dir_, ec);
}

std::string Sandbox::Path(const std::string& relative) const {
  return (fs::path(dir_) / relative).string();
}

ProcessResult Sandbox::Spatial(const std::vector<std::string>& args) const {
  std::vector<std::string> argv = {SpatialBinary()};
  argv.insert(argv.end(), args.begin(), args.end());
  return RunProcess(argv, {.cwd = dir_});
}

ProcessResult Sandbox::SpatialOk(std::vector<std::string> args,
                                 const std::string& config) const {
  args.insert(args.end(), {"--registry", registry()});
  if (!config.empty()) args.insert(args.end(), {"--config", config});
  ProcessResult r = Spatial(args);
  EXPECT_EQ(r.exit_code, 0) << r;
  return r;
}

ProcessResult Sandbox::ModelAt(const std::string& registry,
                               const std::vector<std::string>& args) const {
  std::vector<std::string> argv = {"model"};
  argv.insert(argv.end(), args.begin(), args.end());
  argv.insert(argv.end(),
              {"--registry", registry, "--config",
               SourceDir() + "/config/environments.json", "--actor", "tester"});
  return Spatial(argv);
}

ProcessResult Sandbox::Model(const std::vector<std::string>& args) const {
  return ModelAt(registry(), args);
}

void Sandbox::RegisterAndPromote(const std::string& path,
                                 const std::string& id) const {
  for (const auto& args : std::vector<std::vector<std::string>>{
           {"register", path, "--version-id", id},
           {"validate", id, "--environment", "development"},
           {"promote", id, "--environment", "development"}}) {
    ProcessResult r = Model(args);
    ASSERT_EQ(r.exit_code, 0) << r;
  }
}

std::string Sandbox::AddToken(const std::string& name,
                              const std::string& role) const {
  ProcessResult r =
      Spatial({"token", "add", "--name", name, "--role", role, "--file",
               tokens_file(), "--registry", registry(), "--config",
               SourceDir() + "/config/environments.json", "--actor", "tester"});
  std::string token = r.out.substr(0, r.out.find('\n'));
  EXPECT_EQ(r.exit_code, 0) << r;
  EXPECT_EQ(token.size(), 64u) << r;
  return r.exit_code == 0 && token.size() == 64 ? token : "";
}

std::string Sandbox::VariantBundle(const std::string& name) const {
  std::string d = Path(name);
  fs::create_directories(d);
  fs::copy_file(ShippedBundle("spatial-pizza-v1") + "/model.onnx",
                d + "/model.onnx");
  std::string m =
      ReadBytes(ShippedBundle("spatial-pizza-v1") + "/manifest.json");
  m.insert(m.find('{') + 1, "\"note\": \"" + name + "\",");
  WriteFile(name + "/manifest.json", m);
  return d;
}

void Sandbox::RegisterAt(const std::string& registry, const std::string& path,
                         const std::string& id,
                         const std::vector<std::string>& extra) const {
  std::vector<std::string> args = {
      "register", path, "--version-id", id, "--architecture", "dual-encoder"};
  args.insert(args.end(), extra.begin(), extra.end());
  ProcessResult r = ModelAt(registry, args);
  EXPECT_EQ(r.exit_code, 0) << r;
}

void Sandbox::Register(const std::string& path, const std::string& id,
                       const std::vector<std::string>& extra) const {
  RegisterAt(registry(), path, id, extra);
}

Json Sandbox::JsonAt(const std::string& registry,
                     std::vector<std::string> args) const {
  args.push_back("--json");
  ProcessResult r = ModelAt(registry, args);
  EXPECT_EQ(r.exit_code, 0) << r;
  if (r.exit_code != 0) return nullptr;
  return ParseJsonOrFail(r.out, r.command);
}

std::string Sandbox::WriteFile(const std::string& relative,
                               const std::string& contents) const {
  fs::path p = fs::path(dir_) / relative;
  fs::create_directories(p.parent_path());
  std::ofstream f(p, std::ios::binary | std::ios::trunc);
  f << contents;
  f.close();
  EXPECT_TRUE(f.good()) << "cannot write " << p;
  return p.string();
}

std::string Sandbox::WriteRandomFile(const std::string& relative, size_t size) {
  std::string bytes(size, '\0');
  for (char& c : bytes) c = static_cast<char>(rng_() & 0xff);
  return WriteFile(relative, bytes);
}

Json ParseJsonOrFail(const std::string& text, const std::string& what) {
  Json j = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) {
    ADD_FAILURE() << what << " printed no valid JSON:\n" << text;
    return nullptr;
  }
  return j;
}

std::string ReadBytes(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::ostringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

std::string Sha256OfFile(const std::string& path) {
  auto digest = base::Sha256File(path);
  EXPECT_TRUE(digest.ok()) << path;
  return digest.ok() ? *digest : std::string();
}

std::vector<std::string> ListTree(const std::string& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(dir, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    out.push_back(fs::relative(it->path(), dir).string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

Json FindRule(const Json& result, const std::string& rule) {
  if (!result.is_object() || !result.contains("rules")) return nullptr;
  for (const auto& r : result["rules"]) {
    if (r.value("rule", "") == rule) return r;
  }
  return nullptr;
}

bool HostHasGpu() {
  std::error_code ec;
  return fs::directory_iterator("/proc/driver/nvidia/gpus", ec) !=
         fs::directory_iterator();
}

}  // namespace spatial::integration
