// ModelManager: which models pizza-api-spatial serves, and changing them
// without dropping a request.
//
// Two sources, combined: fixed bundles (`--model-dir`, or the shipped ones)
// and, with a registry, the version active for the server's environment. The
// registry version takes the slot of its kind (spatial or standard); a fixed
// bundle fills the other slot (the standard fallback, typically).
//
// Every model is loaded from a private copy in `work_dir` (a directory of mode
// 0700 the caller made with MakePrivateDir): a fixed bundle is copied there,
// each file hashed on the way, and `admit_bundle` (the signature policy) judges
// exactly those digests; a registry version's files are copied out of the
// content-addressed store the same way, compared with the registry's digests,
// then `admit` judges the copied digests. So what is loaded is exactly what
// was verified, and nobody else can change it in between. Then the workers
// are started
// and every worker is warmed with a real image (for a swap, by threads at
// nice 10, so that the warm-up yields to the version serving). Only then is
// the new model swapped in, atomically: requests that took the old one finish
// on it; it is
// stopped once nobody holds it (drained). A load that fails leaves the old
// version serving and is logged and counted; that version is not retried
// until the registry points somewhere else or Refresh(force) is called.
//
// With a registry that tells of changes (PostgreSQL: LISTEN/NOTIFY), a
// promotion is acted on at once (RegistryWatcher); polling stays as the
// fallback, and is all there is for SQLite.
//
// Thread-safe. Current() is cheap (one mutex, one shared_ptr copy).
#ifndef SPATIAL_SERVING_MODEL_MANAGER_H_
#define SPATIAL_SERVING_MODEL_MANAGER_H_

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "src/registry/artifact_store.h"
#include "src/registry/registry.h"
#include "src/security/signing.h"
#include "src/serving/batcher.h"
#include "src/serving/bundle_copy.h"
#include "src/serving/metrics.h"
#include "src/serving/served_model.h"

namespace spatial::serving {

// The models served at one moment. Either may be null.
struct ModelSet {
  std::shared_ptr<ServedModel> spatial, standard;
  std::vector<std::shared_ptr<ServedModel>> all() const;
};

// Starts a batcher on the bundle at `dir`, each worker warmed up first with
// `warmup_rounds` rounds of a rendered image in every batch size (see
// Warmup; not reported to `metrics`). `version` "" means the bundle's
// name-vN.
absl::StatusOr<std::shared_ptr<ServedModel>> LoadServedModel(
    const std::string& dir, const std::string& version,
    const Batcher::Options& options, Metrics* metrics, int warmup_rounds = 1,
    int warmup_nice = 0);

// Copies a registered directory artifact out of `store` into `dest` (made
// here with mode 0700; it must not exist), verifying every file's sha256
// against `v` as it is written and the version's combined checksum; returns
// the digests of the bytes written. DataLoss names a file that does not
// match; NotFound a missing blob; FailedPrecondition a single-file artifact.
absl::StatusOr<std::vector<security::FileDigest>> MaterializeVersion(
    const registry::ArtifactStore& store, const registry::ModelVersion& v,
    const std::string& dest);

class RegistryWatcher;

class ModelManager {
 public:
  struct Options {
    Batcher::Options batcher;
    int warmup_rounds = 1;                // Warmup rounds before a model serves
    Metrics* metrics = nullptr;           // required, not owned
    std::vector<std::string> model_dirs;  // fixed bundles
    // With a registry: serve the version active in `environment`.
    registry::Registry* registry = nullptr;          // not owned
    const registry::ArtifactStore* store = nullptr;  // not owned
    std::string environment;
    // Private directory (mode 0700, see MakePrivateDir) where bundles and
    // versions are copied to be loaded; "" loads fixed bundles in place
    // (tests only) and cannot serve a registry.
    std::string work_dir;
    std::chrono::milliseconds poll_interval{5000};  // 0: never poll
    // Runs before a registry version is loaded, with the digests of the
    // files copied out of the store; an error refuses it.
    std::function<absl::Status(const registry::ModelVersion&,
                               const std::vector<security::FileDigest>&)>
        admit;
    // Runs before a fixed bundle is loaded, with the path given and its
    // private copy; an error refuses it (Start fails).
    std::function<absl::Status(const std::string& source,
                               const CopiedBundle& copy)>
        admit_bundle;
    // Testing: the share of spatial inferences made to fail (Batcher).
    double spatial_fault_rate = 0;
    // Progress and failures, one line each (default: stderr).
    std::function<void(const std::string&)> log;
    // Called with the new set after every change of what is served (e.g. to
    // drop cached results of versions that left); serialized.
    std::function<void(const ModelSet&)> on_publish;
  };

  explicit ModelManager(Options options);
  ~ModelManager();  // Stop()

  // Loads the fixed bundles (an error is returned: nothing can be served as
  // asked), then the registry's active version (an error there is logged and
  // the server stays unready until a good version is promoted), then starts
  // polling. ready() is true once a model serves and, with a registry, the
  // active version (if any) is among them; it stays true across failed
  // swaps, since the old version keeps serving.
  absl::Status Start();

  // Checks the registry once; true when a new version was swapped in. With
  // `force` a version whose load failed before is tried again, and the
  // version serving is checked in the store: FailedPrecondition naming the
  // file when it could not be loaded again (it keeps serving from memory).
  absl::StatusOr<bool> Refresh(bool force = false);

  std::shared_ptr<const ModelSet> Current() const;
  bool ready() const { return ready_.load(); }

  // Stops polling and listening, then drains and stops every model.
  // Idempotent.
  void Stop();

 private:
  void Log(const std::string& line) const;
  absl::StatusOr<std::shared_ptr<ServedModel>> Load(const std::string& dir,
                                                    const std::string& version);
  // A fixed bundle: copied into work_dir, admitted, loaded from the copy.
  absl::StatusOr<std::shared_ptr<ServedModel>> LoadFixed(const std::string& dir,
                                                         size_t index);
  void Publish(std::shared_ptr<ServedModel> from_registry);
  void ReapRetired();
  void PollLoop();

  Options options_;
  std::shared_ptr<ServedModel> fixed_spatial_, fixed_standard_;
  std::atomic<bool> ready_{false};
  std::mutex refresh_mu_;                          // one Refresh at a time
  std::string registry_version_, failed_version_;  // guarded by refresh_mu_
  bool said_waiting_ = false;                      // guarded by refresh_mu_
  mutable std::mutex mu_;
  std::shared_ptr<const ModelSet> current_;            // guarded by mu_
  std::shared_ptr<ServedModel> from_registry_;         // guarded by mu_
  std::vector<std::shared_ptr<ServedModel>> retired_;  // guarded by mu_
  std::condition_variable stop_cv_;
  bool stopping_ = false;  // guarded by mu_
  std::thread poller_;
  std::unique_ptr<RegistryWatcher> watcher_;  // with a listening registry
  uint64_t loads_ = 0;  // guarded by refresh_mu_, names work dirs
};

}  // namespace spatial::serving

#endif  // SPATIAL_SERVING_MODEL_MANAGER_H_
