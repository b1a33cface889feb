// registry_list_bench: fills a SQLite registry with N versions (default
// 10,000) of realistic metadata through the public Registry API, then times
// listing them in-process (Registry::ListVersions) and through the CLI
// (`spatial model list [--json]`), each against the 50 ms goal of SPEC.md.
// The start of the binary alone (`spatial --version`) is timed as the
// reference that tells process start-up from listing work.
//
// Usage: registry_list_bench [--versions N] [--individual M] [--spatial PATH]
//   --versions N    versions in the registry (default 10000)
//   --individual M  how many of them go in through AddVersion (and their
//                   validations through RecordValidation) one transaction
//                   each, as `spatial model register` does (default: all);
//                   the rest come in one Registry::Import transaction, which
//                   shortens the set-up (~2.5 ms per fsynced commit here)
//   --spatial PATH  the CLI binary (default: the one this build made)
//   --keep 1        keep the temp dir with the registry (for profiling)
//   --registry-only DIR  make the registry as DIR/reg.db (DIR must not
//                   exist) and stop, timing nothing: for
//                   bench/startup_bench.sh, which times the CLI from the shell
// The CLI runs go through bench::RunQuiet (base::RunSubprocess).
// Single-threaded.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "bench/flags.h"
#include "bench/serve_child.h"
#include "src/base/files.h"
#include "src/base/sha256.h"
#include "src/registry/legacy_json.h"
#include "src/registry/model_version.h"
#include "src/registry/registry.h"
#include "src/registry/sqlite/sqlite_registry.h"

namespace {

namespace fs = std::filesystem;
using spatial::registry::DeploymentEvent;
using spatial::registry::Json;
using spatial::registry::ModelVersion;
using spatial::registry::RegistrySnapshot;
using spatial::registry::SqliteRegistry;
using spatial::registry::ValidationRecord;
using Clock = std::chrono::steady_clock;

constexpr double kGoalMs = 50.0;

double MsSince(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start)
      .count();
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

// Runs `fn` `runs` times and returns the median wall time in ms. What `fn`
// returns is destroyed after the clock stops, so that freeing a result is
// not counted as making it.
template <typename Fn>
double MedianMs(int runs, Fn fn) {
  std::vector<double> t;
  for (int i = 0; i < runs; ++i) {
    auto start = Clock::now();
    [[maybe_unused]] auto result = fn();
    t.push_back(MsSince(start));
  }
  return Median(t);
}

[[noreturn]] void Die(const std::string& what) {
  std::fprintf(stderr, "registry_list_bench: %s\n", what.c_str());
  std::exit(1);
}

void Check(const absl::Status& s, const char* what) {
  if (!s.ok()) Die(absl::StrCat(what, ": ", s.ToString()));
}

// Runs argv with stdout to /dev/null (no shell in between); dies unless it
// exits 0.
void RunQuiet(const std::vector<std::string>& args) {
  if (int rc = spatial::bench::RunQuiet(args); rc != 0) {
    Die(absl::StrCat(args[0], " ", args.size() > 1 ? args[1] : "",
                     " ... failed (exit code ", rc, ")"));
  }
}

// A version as `spatial model register` would have stored it for a
// dual-encoder ONNX model, with per-version variety in every field.
ModelVersion MakeVersion(int i) {
  ModelVersion v;
  v.version_id = absl::StrFormat("spatial-mllm-v%d.%d.%d", 1 + i / 1000,
                                 (i / 100) % 10, i % 100);
  bool dual = i % 4 != 3;
  v.model_type = dual ? "spatial-mllm" : "standard-cnn";
  v.architecture = dual ? "dual-encoder" : "visual-encoder";
  v.file_path =
      absl::StrCat("/srv/models/exports/", v.version_id, "/model.onnx");
  // Registered one every ten minutes from 2024-01-01.
  int minutes = i * 10;
  v.creation_date = absl::StrFormat(
      "2024-%02d-%02dT%02d:%02d:00Z", 1 + (minutes / 43200) % 12,
      1 + (minutes / 1440) % 28, (minutes / 60) % 24, minutes % 60);
  v.checksum = spatial::base::Sha256Hex(v.version_id);
  v.size_bytes = 4'000'000 + static_cast<uint64_t>(i) * 1'337 % 2'000'000;
  v.performance_metrics = {{"accuracy", 0.70 + (i % 29) / 100.0},
                           {"f1", 0.65 + (i % 31) / 100.0},
                           {"inference_time_ms", 5.0 + (i % 97)},
                           {"p99_latency_ms", 9.0 + (i % 89)}};
  v.compatibility_info = {
      {"status", "known"},
      {"dual_encoder", dual},
      {"inputs",
       Json::array({{{"name", "image"}, {"shape", {1, 3, 64, 64}}},
                    {{"name", "spatial"}, {"shape", {1, 3, 64, 64}}}})},
      {"outputs", Json::array({{{"name", "logits"}, {"shape", {1, 3}}}})},
      {"parameter_count", 1'200'000 + i},
      {"memory_estimate_gb", 0.02},
      {"opset", 13}};
  v.training_config = {{"epochs", 20 + i % 10}, {"learning_rate", 0.001},
                       {"batch_size", 64},      {"seed", i},
                       {"dataset", "pizza-v3"}, {"optimizer", "adam"}};
  v.tags = {i % 2 ? "nightly" : "release", absl::StrCat("exp-", i % 50)};
  v.actor = "ci-bot";
  v.files = {{"model.onnx", v.checksum, v.size_bytes}};
  return v;
}

// Every third version is validated for development, every tenth tried on
// staging (most fail the GPU rule on a CPU host: recorded invalid).
std::vector<ValidationRecord> MakeValidations(const ModelVersion& v, int i) {
  std::vector<ValidationRecord> out;
  Json result = {
      {"architecture", {{"ok", true}}},
      {"accuracy",
       {{"ok", true}, {"value", v.performance_metrics.at("accuracy")}}},
      {"gpu", {{"ok", false}, {"detail", "no GPU on this host"}}}};
  if (i % 3 == 0) {
    out.push_back({v.version_id, "development", true, result, "", "ci-bot",
                   v.creation_date});
  }
  if (i % 10 == 0) {
    bool valid = i % 50 == 0;
    out.push_back({v.version_id, "staging", valid, result,
                   valid ? "benchmark host without GPU" : "", "ci-bot",
                   v.creation_date});
  }
  return out;
}

struct Args {
  int versions = 10000;
  int individual = -1;  // all
  std::string spatial = SPATIAL_BINARY;
  bool keep = false;
  std::string registry_only;  // "": make a temp dir and time everything
};

Args ParseArgs(int argc, char** argv) {
  Args a;
  std::string keep = "0";
  spatial::bench::Flags("registry_list_bench",
                        "usage: registry_list_bench [--versions N] "
                        "[--individual M] [--spatial PATH] [--keep 1] "
                        "[--registry-only DIR]")
      .Int("--versions", &a.versions)
      .Int("--individual", &a.individual, 0)
      .Text("--spatial", &a.spatial)
      .Text("--keep", &keep)
      .Text("--registry-only", &a.registry_only)
      .Parse(argc, argv);
  a.keep = keep != "0";
  a.individual =
      a.individual < 0 ? a.versions : std::min(a.individual, a.versions);
  return a;
}

std::string Verdict(double ms) { return ms < kGoalMs ? "PASS" : "MISS"; }

}  // namespace

int main(int argc, char** argv) {
  Args args = ParseArgs(argc, argv);
  std::string tmpl =
      (fs::temp_directory_path() / "registry_list_bench.XXXXXX").string();
  if (!args.registry_only.empty()) {
    tmpl = args.registry_only;
    if (!fs::create_directory(tmpl)) {
      Die(absl::StrCat("--registry-only ", tmpl,
                       ": cannot create it (it must not exist)"));
    }
    args.keep = true;
  } else if (::mkdtemp(tmpl.data()) == nullptr) {
    Die("mkdtemp failed");
  }
  const std::string dir = tmpl;
  struct Cleanup {
    std::string dir;
    bool keep;
    ~Cleanup() {
      std::error_code ec;
      if (keep) {
        std::printf("kept %s\n", dir.c_str());
      } else {
        fs::remove_all(dir, ec);
      }
    }
  } cleanup{dir, args.keep};
  const std::string db = dir + "/reg.db";

  double setup_individual_ms = 0, setup_validate_ms = 0, setup_import_ms = 0;
  int validations_individual = 0;
  size_t imported_validations = 0;
  {
    auto opened = SqliteRegistry::Open({.path = db});
    Check(opened.status(), "open registry");
    SqliteRegistry& reg = **opened;
    auto text = spatial::base::ReadFile(
        SPATIAL_SOURCE_DIR "/config/environments.json", 1 << 20);
    Check(text.status(), "read config/environments.json");
    auto json = spatial::registry::ParseJson(*text, "config/environments.json");
    Check(json.status(), "parse environments");
    auto envs = spatial::registry::EnvironmentsFromJson(
        *json, "config/environments.json");
    Check(envs.status(), "environments");
    for (const auto& e : *envs) Check(reg.PutEnvironment(e), "PutEnvironment");

    // One transaction per version, as `spatial model register` does.
    auto start = Clock::now();
    for (int i = 0; i < args.individual; ++i) {
      Check(reg.AddVersion(MakeVersion(i)), "AddVersion");
    }
    setup_individual_ms = MsSince(start);
    start = Clock::now();
    for (int i = 0; i < args.individual; ++i) {
      for (const auto& r : MakeValidations(MakeVersion(i), i)) {
        Check(reg.RecordValidation(r), "RecordValidation");
        ++validations_individual;
      }
    }
    setup_validate_ms = MsSince(start);

    // The rest in one Import transaction.
    RegistrySnapshot snap;
    for (int i = args.individual; i < args.versions; ++i) {
      snap.versions.push_back(MakeVersion(i));
      for (auto& r : MakeValidations(snap.versions.back(), i)) {
        snap.validations.push_back(std::move(r));
      }
    }
    imported_validations = snap.validations.size();
    if (!snap.versions.empty()) {
      start = Clock::now();
      Check(reg.Import(snap), "Import");
      setup_import_ms = MsSince(start);
    }

    // A short deployment history so that the text listing shows ACTIVE IN.
    for (int i = 0; i < std::min(args.versions, 300); i += 30) {
      DeploymentEvent e;
      e.environment = "development";
      e.version_id = MakeVersion(i).version_id;
      e.actor = "ci-bot";
      e.reason = "benchmark";
      Check(reg.Activate(e).status(), "Activate");
    }
  }

  if (!args.registry_only.empty()) {
    std::printf("registry_list_bench: %d versions in %s\n", args.versions,
                db.c_str());
    return 0;
  }

  auto opened = SqliteRegistry::Open({.path = db});
  Check(opened.status(), "reopen registry");
  SqliteRegistry& reg = **opened;
  auto list_once = [&] {
    auto v = reg.ListVersions();
    Check(v.status(), "ListVersions");
    return v;
  };
  // The first call warms the page cache and SQLite's.
  const size_t listed = list_once()->size();
  if (listed != static_cast<size_t>(args.versions)) {
    Die(absl::StrCat("ListVersions returned ", listed, " versions, expected ",
                     args.versions));
  }
  double list_ms = MedianMs(10, list_once);
  double ids_ms = MedianMs(10, [&] {
    auto ids = reg.ListVersionIds();
    Check(ids.status(), "ListVersionIds");
    return ids;
  });

  // Where the time of a listing goes, piece by piece (information): parsing
  // the four JSON columns ReadVersionRow parses per row, building the --json
  // document, pretty-printing it, and freeing the listed versions.
  std::vector<std::string> stored;
  for (int i = 0; i < args.versions; ++i) {
    ModelVersion v = MakeVersion(i);
    Json metrics = Json::object();
    for (const auto& [k, val] : v.performance_metrics) metrics[k] = val;
    stored.push_back(metrics.dump());
    stored.push_back(v.compatibility_info.dump());
    stored.push_back(v.training_config.dump());
    stored.push_back(Json(v.tags).dump());
  }
  double parse_ms = MedianMs(5, [&] {
    std::vector<Json> parsed;
    parsed.reserve(stored.size());
    for (const auto& t : stored) {
      parsed.push_back(Json::parse(t, nullptr, false));
    }
    return parsed;
  });
  auto versions = list_once();
  double to_json_ms = MedianMs(5, [&] {
    auto doc = std::make_unique<Json>(Json::array());
    for (const auto& v : *versions) {
      doc->push_back(spatial::registry::VersionToJson(v));
    }
    return doc;
  });
  Json doc = Json::array();
  for (const auto& v : *versions) {
    doc.push_back(spatial::registry::VersionToJson(v));
  }
  size_t json_bytes = 0;
  double dump_ms = MedianMs(5, [&] {
    std::string out = doc.dump(2);
    json_bytes = out.size();
    return out;
  });
  double free_ms = 0;
  {
    std::vector<double> t;
    for (int i = 0; i < 5; ++i) {
      auto copy = std::make_unique<std::vector<ModelVersion>>(*versions);
      auto start = Clock::now();
      copy.reset();
      t.push_back(MsSince(start));
    }
    free_ms = Median(t);
  }

  RunQuiet(
      {args.spatial, "model", "list", "--registry", db, "--json"});  // warm
  auto run = [&](std::vector<std::string> cli_args) {
    return [&args, cli_args = std::move(cli_args)] {
      std::vector<std::string> full = {args.spatial};
      full.insert(full.end(), cli_args.begin(), cli_args.end());
      RunQuiet(full);
      return 0;
    };
  };
  double start_ms = MedianMs(5, run({"--version"}));
  double cli_json_ms =
      MedianMs(5, run({"model", "list", "--registry", db, "--json"}));
  double cli_text_ms = MedianMs(5, run({"model", "list", "--registry", db}));
  std::error_code ec;
  auto db_bytes = fs::file_size(db, ec);

  std::printf(
      "registry_list_bench: %d versions, %d validations, SQLite file %.1f MB\n",
      args.versions,
      validations_individual + static_cast<int>(imported_validations),
      static_cast<double>(db_bytes) / 1e6);
  std::printf("set-up (information, no goal):\n");
  if (args.individual > 0) {
    std::printf(
        "  AddVersion, one transaction each      %6d in %8.1f ms  (%.3f ms "
        "each)\n",
        args.individual, setup_individual_ms,
        setup_individual_ms / args.individual);
  }
  if (validations_individual > 0) {
    std::printf(
        "  RecordValidation, one transaction each %5d in %8.1f ms  (%.3f ms "
        "each)\n",
        validations_individual, setup_validate_ms,
        setup_validate_ms / validations_individual);
  }
  if (args.versions > args.individual) {
    std::printf(
        "  Import, one transaction               %6d in %8.1f ms  (%.3f ms "
        "each)\n",
        args.versions - args.individual, setup_import_ms,
        setup_import_ms / (args.versions - args.individual));
  }
  std::printf("listing %zu versions (median; goal < %.0f ms):\n", listed,
              kGoalMs);
  auto row = [](const char* what, double ms, bool goal) {
    if (goal) {
      std::printf("  %-40s %8.2f ms  %5.2fx of goal  %s\n", what, ms,
                  ms / kGoalMs, Verdict(ms).c_str());
    } else {
      std::printf("  %-40s %8.2f ms  %5.2fx of goal  (reference)\n", what, ms,
                  ms / kGoalMs);
    }
  };
  row("Registry::ListVersions (in-process, n=10)", list_ms, true);
  row("  + freeing its result (n=5)", free_ms, false);
  row("Registry::ListVersionIds (n=10)", ids_ms, false);
  std::printf("  where in-process time goes (information, n=5):\n");
  row("  json::parse of 4 stored columns x N", parse_ms, false);
  row("  VersionToJson x N (--json only)", to_json_ms, false);
  std::printf("  %-40s %8.2f ms  (%.1f MB)\n", "  json.dump(2) (--json only)",
              dump_ms, static_cast<double>(json_bytes) / 1e6);
  row("spatial --version (process start, n=5)", start_ms, false);
  row("spatial model list --json (n=5)", cli_json_ms, true);
  row("spatial model list (n=5)", cli_text_ms, true);
  return 0;
}
