#include "src/serving/model_manager.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <iostream>

#include "absl/strings/str_cat.h"
#include "src/base/files.h"
#include "src/base/status_macros.h"
#include "src/serving/registry_watcher.h"
#include "src/vision/decode.h"
#include "src/vision/renderer.h"

namespace spatial::serving {
namespace fs = std::filesystem;

std::vector<std::shared_ptr<ServedModel>> ModelSet::all() const {
  std::vector<std::shared_ptr<ServedModel>> v;
  if (spatial) v.push_back(spatial);
  if (standard) v.push_back(standard);
  return v;
}

// The nice value of a swap's warm-up threads (see Warmup::nice).
constexpr int kSwapWarmupNice = 10;

absl::StatusOr<std::shared_ptr<ServedModel>> LoadServedModel(
    const std::string& dir, const std::string& version,
    const Batcher::Options& options, Metrics* metrics, int warmup_rounds,
    int warmup_nice) {
  // The model type labels the batch metrics; read it before workers start.
  ASSIGN_OR_RETURN(auto manifest, inference::LoadManifest(dir));
  // Warm up with a real image so that the first request does not pay for
  // lazy initialisation.
  auto img = vision::DecodeImage(vision::RenderPizza(0, 1, 0, 128).jpeg);
  if (!img.ok()) return img.status();
  Warmup warmup{std::make_shared<inference::PreparedInput>(
                    inference::PrepareInput(manifest, *img)),
                warmup_rounds, warmup_nice};
  ASSIGN_OR_RETURN(
      auto batcher,
      Batcher::Start(
          options, [&] { return inference::Classifier::Open(dir); },
          [metrics, type = manifest.model_type](int size, double seconds) {
            if (metrics) metrics->RecordBatch(type, size, seconds);
          },
          warmup));
  auto model = std::make_shared<ServedModel>();
  model->bundle_dir = dir;
  model->version = version.empty()
                       ? absl::StrCat(manifest.name, "-v", manifest.version)
                       : version;
  model->batcher = std::move(batcher);
  return model;
}

absl::StatusOr<std::vector<security::FileDigest>> MaterializeVersion(
    const registry::ArtifactStore& store, const registry::ModelVersion& v,
    const std::string& dest) {
  if (!v.is_directory) {
    return absl::FailedPreconditionError(absl::StrCat(
        "version '", v.version_id,
        "' is a single file; serving needs a bundle directory (model.onnx + "
        "manifest.json)"));
  }
  if (::mkdir(dest.c_str(), 0700) != 0)
    return base::ErrnoStatus(errno, absl::StrCat("cannot create ", dest));
  std::vector<security::FileDigest> copied;
  for (const auto& f : v.files) {
    fs::path out = fs::path(dest) / f.path;
    // Paths come from the registry; refuse anything that leaves `dest`.
    if (f.path.empty() || fs::path(f.path).is_absolute() ||
        out.lexically_normal().string().rfind(
            fs::path(dest).lexically_normal().string(), 0) != 0 ||
        f.path.find("..") != std::string::npos) {
      return absl::DataLossError(absl::StrCat(
          "version '", v.version_id, "' lists a bad file path '", f.path, "'"));
    }
    // Parents are made inside `dest` only, private like it.
    fs::path parent = fs::path(f.path).parent_path();
    fs::path made = dest;
    for (const auto& part : parent) {
      made /= part;
      if (::mkdir(made.c_str(), 0700) != 0 && errno != EEXIST)
        return base::ErrnoStatus(errno,
                                 absl::StrCat("cannot create ", made.string()));
    }
    uint64_t size = 0;
    auto digest = CopyFileHashed(store.BlobPath(f.sha256), out.string(), &size);
    if (!digest.ok()) {
      if (absl::IsNotFound(digest.status())) {
        return absl::NotFoundError(absl::StrCat("version '", v.version_id,
                                                "': the stored blob of ",
                                                f.path, " is missing"));
      }
      return digest.status();
    }
    if (*digest != f.sha256 || size != f.size) {
      return absl::DataLossError(absl::StrCat(
          "version '", v.version_id, "': ", f.path,
          " does not match its registered sha256 (tampered or corrupted "
          "store); refusing to load it"));
    }
    copied.push_back({f.path, *digest});
  }
  if (registry::ArtifactStore::CombinedChecksum(v.files) != v.checksum) {
    return absl::DataLossError(
        absl::StrCat("version '", v.version_id,
                     "': its file list does not match its checksum"));
  }
  return copied;
}

ModelManager::ModelManager(Options options) : options_(std::move(options)) {
  current_ = std::make_shared<ModelSet>();
}

ModelManager::~ModelManager() { Stop(); }

void ModelManager::Log(const std::string& line) const {
  if (options_.log) {
    options_.log(line);
  } else {
    std::cerr << line << std::endl;
  }
}

absl::StatusOr<std::shared_ptr<ServedModel>> ModelManager::Load(
    const std::string& dir, const std::string& version) {
  ASSIGN_OR_RETURN(
      auto m, LoadServedModel(dir, version, options_.batcher, options_.metrics,
                              options_.warmup_rounds,
                              // A swap warms up behind the serving version.
                              ready_.load() ? kSwapWarmupNice : 0));
  if (m->manifest().has_spatial() && options_.spatial_fault_rate > 0) {
    m->batcher->set_fault_rate(options_.spatial_fault_rate);
  }
  return m;
}

absl::StatusOr<std::shared_ptr<ServedModel>> ModelManager::LoadFixed(
    const std::string& dir, size_t index) {
  if (options_.work_dir.empty()) return Load(dir, "");
  const std::string copy_dir =
      (fs::path(options_.work_dir) / absl::StrCat("bundle-", index)).string();
  auto copy = CopyBundle(dir, copy_dir);
  absl::Status admitted = copy.status();
  if (admitted.ok() && options_.admit_bundle)
    admitted = options_.admit_bundle(dir, *copy);
  absl::StatusOr<std::shared_ptr<ServedModel>> m =
      admitted.ok() ? Load(copy_dir, "")
                    : absl::StatusOr<std::shared_ptr<ServedModel>>(admitted);
  std::error_code ec;
  fs::remove_all(copy_dir, ec);  // loaded into memory; the copy is not needed
  if (m.ok()) (*m)->bundle_dir = dir;
  return m;
}

absl::Status ModelManager::Start() {
  for (size_t i = 0; i < options_.model_dirs.size(); ++i) {
    const std::string& dir = options_.model_dirs[i];
    auto m = LoadFixed(dir, i);
    if (!m.ok()) {
      if (options_.metrics) options_.metrics->RecordModelLoad(false);
      return absl::Status(
          m.status().code(),
          absl::StrCat("cannot serve ", dir, ": ", m.status().message()));
    }
    if (options_.metrics) options_.metrics->RecordModelLoad(true);
    bool spatial = (*m)->manifest().has_spatial();
    auto& slot = spatial ? fixed_spatial_ : fixed_standard_;
    if (slot) {
      return absl::InvalidArgumentError(
          absl::StrCat("two ", spatial ? "spatial" : "standard",
                       " models given; serve one of each"));
    }
    slot = *m;
    Log(absl::StrCat("loaded ", (*m)->version, " from ", dir));
  }
  // Ready when something serves, and in registry mode only once the active
  // version loaded (or none is active): a server that cannot serve what its
  // environment says must not take traffic.
  bool registry_ok = true;
  if (options_.registry) {
    auto swapped = Refresh();  // publishes the version when it loads
    if (!swapped.ok()) {
      registry_ok = false;
      Log(std::string(swapped.status().message()));
    }
  }
  if (Current()->all().empty()) Publish(nullptr);
  if (registry_ok && !Current()->all().empty()) ready_ = true;
  if (options_.registry && options_.poll_interval.count() > 0) {
    poller_ = std::thread([this] { PollLoop(); });
  }
  if (auto listener = options_.registry ? options_.registry->NewChangeListener(
                                              options_.environment)
                                        : nullptr) {
    watcher_ = std::make_unique<RegistryWatcher>(
        std::move(listener),
        RegistryWatcher::Options{
            .on_change =
                [this] {
                  auto swapped = Refresh();
                  if (!swapped.ok()) {
                    Log(std::string(swapped.status().message()));
                  }
                },
            .log = [this](const std::string& line) { Log(line); },
            .describe = options_.registry->Describe()});
  }
  return absl::OkStatus();
}

absl::StatusOr<bool> ModelManager::Refresh(bool force) {
  if (!options_.registry) return false;
  ReapRetired();
  std::lock_guard<std::mutex> refresh(refresh_mu_);
  ASSIGN_OR_RETURN(auto active,
                   options_.registry->ActiveVersion(options_.environment));
  if (!active) {
    if (registry_version_.empty() && !said_waiting_) {
      said_waiting_ = true;
      Log(absl::StrCat("no version is active in ", options_.environment,
                       "; waiting for a promotion"));
    }
    return false;
  }
  if (*active == registry_version_) {
    if (!force || options_.store == nullptr) return false;
    // A reload asked for (SIGHUP, /api/v1/reload) of the version serving:
    // it keeps serving from memory, but a store that could not load it again
    // (a file deleted or changed) is refused loudly, not hidden until the
    // next restart.
    auto version = options_.registry->GetVersion(*active);
    absl::Status intact = version.ok() ? options_.store->VerifyVersion(*version)
                                       : version.status();
    if (!intact.ok()) {
      return absl::FailedPreconditionError(absl::StrCat(
          "not reloading ", *active, " (active in ", options_.environment,
          "): ", intact.message(), "; still serving ", *active,
          " from memory (`spatial model test` lists what is "
          "damaged; a restart could not load it)"));
    }
    return false;
  }
  if (*active == failed_version_ && !force) return false;
  auto fail = [&](const absl::Status& s) -> absl::StatusOr<bool> {
    failed_version_ = *active;
    if (options_.metrics) options_.metrics->RecordModelLoad(false);
    return absl::Status(
        s.code(),
        absl::StrCat("not loading ", *active, " (active in ",
                     options_.environment, "): ", s.message(),
                     "; still serving ",
                     registry_version_.empty() ? "nothing from the registry"
                                               : registry_version_));
  };
  auto version = options_.registry->GetVersion(*active);
  if (!version.ok()) return fail(version.status());
  if (options_.work_dir.empty()) {
    return fail(absl::FailedPreconditionError(
        "no private work directory to copy the version into"));
  }
  // Copied first, then judged on the digests of the copy: a blob swapped
  // after the check cannot be what is loaded.
  std::string dir =
      (fs::path(options_.work_dir) / absl::StrCat(*active, ".", ++loads_))
          .string();
  auto unpacked = MaterializeVersion(*options_.store, *version, dir);
  absl::Status admitted = unpacked.status();
  if (admitted.ok() && options_.admit)
    admitted = options_.admit(*version, *unpacked);
  absl::StatusOr<std::shared_ptr<ServedModel>> model =
      admitted.ok() ? Load(dir, *active)
                    : absl::StatusOr<std::shared_ptr<ServedModel>>(admitted);
  std::error_code ec;
  fs::remove_all(dir, ec);  // loaded into memory; the copy is not needed
  if (!model.ok()) return fail(model.status());
  if (options_.metrics) options_.metrics->RecordModelLoad(true);
  Log(absl::StrCat("serving ", *active, " (active in ", options_.environment,
                   ")",
                   registry_version_.empty()
                       ? ""
                       : absl::StrCat(", replacing ", registry_version_)));
  registry_version_ = *active;
  failed_version_.clear();
  Publish(*model);
  ready_ = true;
  return true;
}

void ModelManager::Publish(std::shared_ptr<ServedModel> from_registry) {
  auto set = std::make_shared<ModelSet>();
  set->spatial = fixed_spatial_;
  set->standard = fixed_standard_;
  if (from_registry) {
    (from_registry->manifest().has_spatial() ? set->spatial : set->standard) =
        from_registry;
  }
  if (options_.metrics) {
    for (const auto& [slot, m] : {std::pair{"spatial", set->spatial},
                                  std::pair{"standard", set->standard}}) {
      options_.metrics->SetModelInfo(slot, m ? m->version : "",
                                     m ? m->manifest().model_type : "");
    }
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (from_registry_) retired_.push_back(std::move(from_registry_));
    if (from_registry) from_registry_ = std::move(from_registry);
    current_ = set;
  }
  if (options_.on_publish) options_.on_publish(*set);
  ReapRetired();
}

void ModelManager::ReapRetired() {
  std::vector<std::shared_ptr<ServedModel>> done;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto it = retired_.begin(); it != retired_.end();) {
      // Only this list holds it: no request can reach it any more.
      if (it->use_count() == 1) {
        done.push_back(std::move(*it));
        it = retired_.erase(it);
      } else {
        ++it;
      }
    }
  }
  for (auto& m : done) {
    m->batcher->Stop();
    Log(absl::StrCat("drained and unloaded ", m->version));
  }
}

std::shared_ptr<const ModelSet> ModelManager::Current() const {
  std::lock_guard<std::mutex> lock(mu_);
  return current_;
}

void ModelManager::PollLoop() {
  // An unreachable registry is said once, when the first poll fails, and
  // once more when one succeeds again: an outage of minutes would otherwise
  // fill the log with the same line every poll.
  int failed_polls = 0;
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(mu_);
      if (stop_cv_.wait_for(lock, options_.poll_interval,
                            [this] { return stopping_; })) {
        return;
      }
    }
    auto swapped = Refresh();
    if (!swapped.ok()) {
      if (failed_polls++ == 0) {
        Log(absl::StrCat(swapped.status().message(),
                         " (said once: polling goes on quietly until the "
                         "registry answers)"));
      }
    } else if (failed_polls > 0) {
      Log(absl::StrCat("the registry answers again after ", failed_polls,
                       " failed poll(s)"));
      failed_polls = 0;
    }
  }
}

void ModelManager::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  stop_cv_.notify_all();
  if (watcher_) watcher_->Stop();
  if (poller_.joinable()) poller_.join();
  std::vector<std::shared_ptr<ServedModel>> all;
  {
    std::lock_guard<std::mutex> lock(mu_);
    all = current_->all();
    for (auto& m : retired_) all.push_back(m);
    if (from_registry_) all.push_back(from_registry_);
  }
  for (auto& m : all) m->batcher->Stop();  // finishes what is queued
}

}  // namespace spatial::serving
