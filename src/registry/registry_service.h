// RegistryService: the operations of `spatial model` (register, validate,
// promote, rollback, latest, test, import, export) on a Registry and an
// ArtifactStore. Holds no state of its own beyond its options, so it is as
// thread-safe as the Registry it is given. Does not own the Registry.
#ifndef SPATIAL_REGISTRY_REGISTRY_SERVICE_H_
#define SPATIAL_REGISTRY_REGISTRY_SERVICE_H_

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "src/registry/artifact_store.h"
#include "src/registry/audit_links.h"
#include "src/registry/import_artifacts.h"
#include "src/registry/registry.h"
#include "src/registry/rules.h"

namespace spatial::registry {

struct RegisterRequest {
  std::string path;  // a file, or a directory (model.onnx + manifest.json)
  std::string version_id;
  std::string model_type;  // "" = from the graph (dual-encoder -> spatial-mllm)
  std::string architecture;  // "" = from the graph
  std::map<std::string, double>
      metrics;  // over a bundle's manifest.json metrics, by name
  std::vector<std::string> tags;
  Json training_config = Json::object();
  // The registered version this one was derived from (an int8 or pruned
  // variant): kept as training_config["parent"] (src/registry/lineage.h).
  std::string parent;
  std::string actor;
  // Check everything a registration checks (id, flags, path, graph,
  // signature file) and return the version without storing or recording it
  // (no checksum, files or size: those come from the copy into the store).
  bool dry_run = false;
};

struct ValidateRequest {
  std::string version_id;
  std::string environment;
  std::string cpu_override_reason;
  std::string actor;
};

struct RollbackCandidate {
  std::string version_id;
  std::string last_active_at;  // when it last became active
};

struct RollbackPlan {
  std::string environment;
  std::string active_version;                 // "" when nothing is active
  std::vector<RollbackCandidate> candidates;  // recommended first
};

struct VersionCheck {
  std::string version_id;
  absl::Status status;
};

struct ImportSummary {
  int environments = 0;
  int versions_added = 0;
  int versions_unchanged = 0;
  std::vector<std::string> missing_artifacts;  // imported without their files
};

class RegistryService {
 public:
  // Reads an ONNX graph and returns compatibility info ({inputs, outputs,
  // parameter_count, memory_estimate_gb, dual_encoder, ...}).
  using Inspector =
      std::function<absl::StatusOr<Json>(const std::string& onnx_path)>;

  struct Options {
    Registry* registry = nullptr;  // required, not owned
    std::string store_root;        // required
    Inspector inspector;  // empty: compatibility is recorded as unknown
    // What validation knows of this machine, asked only when a validation
    // runs (probing a GPU driver costs every other command nothing then);
    // empty: no GPU.
    std::function<HostFacts()> host;
    // Checks that a version carries a valid signature by a key the
    // environment trusts, over its stored files (security::CheckSigned).
    // Called for environments that require signatures (validation,
    // promotion, rollback); empty: they refuse every version.
    std::function<absl::Status(Registry&, const ArtifactStore&,
                               const ModelVersion&, const Environment&)>
        signature_check;
    // Runs a version on the environment's evaluation set and measures it
    // (src/validation, wired by cli/ for the commands that validate, so
    // that no other command loads the inference stack). Called only for a
    // runnable version (a bundle with model.onnx and manifest.json); an
    // error fails the validation with its message. Empty: nothing is
    // measured, which fails validation where measurement is required.
    std::function<absl::StatusOr<Measurement>(
        const ArtifactStore&, const ModelVersion&, const Environment&)>
        measure;
  };

  explicit RegistryService(Options options)
      : options_(std::move(options)), store_(options_.store_root) {}

  absl::StatusOr<ModelVersion> Register(const RegisterRequest& request);
  // Measures the version (Options::measure), applies the environment's rules,
  // stores and returns the validation; the record says valid or not.
  absl::StatusOr<ValidationRecord> Validate(const ValidateRequest& request);
  // Promotes a version validated for `environment` by this registry: an
  // imported validation never counts, and where the environment requires
  // measurement (MeasurementRequired) the validation must hold one. With
  // `dry_run`, runs every check and returns the event it would record
  // (previous_version_id: the version active now) without changing anything.
  absl::StatusOr<DeploymentEvent> Promote(const std::string& version_id,
                                          const std::string& environment,
                                          const std::string& actor,
                                          const std::string& reason,
                                          bool dry_run = false);
  absl::StatusOr<RollbackPlan> PlanRollback(const std::string& environment);
  // Rolls back to `to`, or to the plan's first candidate when `to` is empty.
  // With `only_from` set, only while that version is the active one
  // (FailedPrecondition once another is: a rollback meant for one version
  // never undoes the promotion that replaced it).
  absl::StatusOr<DeploymentEvent> Rollback(const std::string& environment,
                                           const std::string& to,
                                           const std::string& actor,
                                           const std::string& reason,
                                           const std::string& only_from = "");
  // The newest version validated for `environment`; NotFound when none.
  absl::StatusOr<ModelVersion> Latest(const std::string& environment);
  // Verifies every version's files against the store.
  absl::StatusOr<std::vector<VersionCheck>> Test();
  // What a server following the registry runs before it loads the version
  // active in `environment`: FailedPrecondition when a row it relies on (the
  // environment's deployments, rules and trusted keys; the version, its
  // validation and signatures) disagrees with the audit record that wrote it
  // (ServingProblems), so that rows forged with sqlite3 or psql are not
  // served.
  absl::Status CheckServedRows(const std::string& version_id,
                               const std::string& environment);
  // The same for the environment's own rows alone (its rules, trusted keys
  // and deployments): what a server relies on before it trusts the keys it
  // admits --model-dir bundles with.
  absl::Status CheckEnvironmentRows(const std::string& environment);

  absl::Status Export(const std::string& dir);
  // Reads the two files in `dir`; artifacts only from beneath `dir` and
  // `options.artifact_roots` (see ImportedArtifacts). All or nothing.
  absl::StatusOr<ImportSummary> Import(const std::string& dir,
                                       const std::string& actor = "",
                                       const ImportOptions& options = {});

  // Loads `environments` when the registry has none yet (audited as an
  // import by `actor`).
  absl::Status EnsureEnvironments(const std::vector<Environment>& environments,
                                  const std::string& actor = "config");

  const ArtifactStore& store() const { return store_; }
  Registry& registry() const { return *options_.registry; }

 private:
  Json InspectCompatibility(const std::string& path, bool is_directory) const;
  // The signature check for `env`: OK where none is required.
  absl::Status CheckSignature(const ModelVersion& v,
                              const Environment& env) const;
  // Reads a bundle's model.sig into signatures of `version_id` (none when the
  // directory has no model.sig). InvalidArgument for a malformed file.
  absl::StatusOr<std::vector<StoredSignature>> BundleSignatures(
      const std::string& dir, const std::string& version_id,
      const std::string& actor) const;
  // The measurement of `v` for `env`, or why there is none.
  MeasureResult MeasureFor(const ModelVersion& v, const Environment& env) const;
  // FailedPrecondition unless `v` has a validation for `env` this registry
  // ran (not imported), with a measurement where `env` requires one.
  absl::Status CheckPromotable(const ModelVersion& v,
                               const Environment& env) const;
  // Checks the version's files in the store, then activates it (with
  // `dry_run`: only checks, and fills in the version active now).
  absl::StatusOr<DeploymentEvent> ActivateVerified(DeploymentEvent event,
                                                   bool dry_run = false);
  // FailedPrecondition listing `problems` of the registry's audit links for
  // `version_id` in `environment`; OK when there are none.
  using ProblemsFn = std::vector<std::string> (*)(const AuditLinkCheck&,
                                                  const std::string&,
                                                  const std::string&);
  absl::Status CheckRowsAgainstAudit(const std::string& version_id,
                                     const std::string& environment,
                                     ProblemsFn problems);

  Options options_;
  ArtifactStore store_;
};

}  // namespace spatial::registry

#endif  // SPATIAL_REGISTRY_REGISTRY_SERVICE_H_
