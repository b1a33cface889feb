#include "src/registry/registry_service.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <set>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "src/base/files.h"
#include "src/base/sha256.h"
#include "src/base/status_macros.h"
#include "src/base/text.h"
#include "src/registry/audit_links.h"
#include "src/registry/import_artifacts.h"
#include "src/registry/legacy_json.h"
#include "src/registry/lineage.h"

namespace spatial::registry {
namespace fs = std::filesystem;
namespace {

constexpr const char* kModelTypes[] = {"spatial-mllm", "standard-cnn"};
constexpr const char* kArchitectures[] = {"dual-encoder", "visual-encoder",
                                          "spatial-encoder"};

template <size_t N>
absl::Status CheckOneOf(const std::string& value,
                        const char* const (&allowed)[N],
                        absl::string_view what) {
  for (const char* a : allowed) {
    if (value == a) return absl::OkStatus();
  }
  std::vector<std::string> names(std::begin(allowed), std::end(allowed));
  return absl::InvalidArgumentError(
      absl::StrCat("unknown ", what, " '", value,
                   "' (expected one of: ", absl::StrJoin(names, ", "), ")"));
}

absl::Status CheckMetrics(const std::map<std::string, double>& metrics) {
  for (const auto& [name, value] : metrics) {
    RETURN_IF_ERROR(base::CheckIdentifier(name, "metric name"));
    if (!std::isfinite(value)) {
      return absl::InvalidArgumentError(
          absl::StrCat("metric ", name, " must be a finite number"));
    }
    if (name == "accuracy" && (value < 0 || value > 1)) {
      return absl::InvalidArgumentError(
          absl::StrCat("metric accuracy must lie in [0, 1], got ", value));
    }
    if (name == "inference_time_ms" && value < 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          "metric inference_time_ms must not be negative, got ", value));
    }
  }
  return absl::OkStatus();
}

// The graph to inspect: the file itself, or model.onnx (or the one .onnx)
// inside a directory.
std::optional<std::string> OnnxPathOf(const std::string& path,
                                      bool is_directory) {
  if (!is_directory) {
    return fs::path(path).extension() == ".onnx" ? std::optional(path)
                                                 : std::nullopt;
  }
  if (fs::is_regular_file(fs::path(path) / "model.onnx")) {
    return (fs::path(path) / "model.onnx").string();
  }
  std::optional<std::string> found;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(path, ec)) {
    if (e.path().extension() == ".onnx") {
      if (found) return std::nullopt;  // ambiguous
      found = e.path().string();
    }
  }
  return found;
}

// accuracy and inference_time_ms from DIR/manifest.json's "metrics", if any.
std::map<std::string, double> ManifestMetrics(const std::string& dir) {
  std::map<std::string, double> out;
  auto text = base::ReadFile(dir + "/manifest.json", 4 << 20);
  if (!text.ok()) return out;
  Json j = Json::parse(*text, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object() || !j.contains("metrics") || !j["metrics"].is_object())
    return out;
  for (const char* key : {"accuracy", "inference_time_ms"}) {
    auto it = j["metrics"].find(key);
    if (it != j["metrics"].end() && it->is_number())
      out[key] = it->get<double>();
  }
  return out;
}

}  // namespace

absl::Status RegistryService::CheckSignature(const ModelVersion& v,
                                             const Environment& env) const {
  if (!env.requires_signature()) return absl::OkStatus();
  if (!options_.signature_check) {
    return absl::FailedPreconditionError(
        absl::StrCat(env.name,
                     " requires a signature and no signature check is "
                     "configured"));
  }
  return options_.signature_check(*options_.registry, store_, v, env);
}

absl::StatusOr<std::vector<StoredSignature>> RegistryService::BundleSignatures(
    const std::string& dir, const std::string& version_id,
    const std::string& actor) const {
  std::vector<StoredSignature> out;
  const std::string path = (fs::path(dir) / kSignatureFile).string();
  std::error_code ec;
  if (!fs::is_directory(dir, ec) || !fs::exists(fs::symlink_status(path, ec)))
    return out;
  ASSIGN_OR_RETURN(std::string text, base::ReadFile(path, 1 << 20));
  Json j = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object() || !j.contains("signatures") ||
      !j["signatures"].is_array() || j["signatures"].empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        path,
        " is not a DSSE signature envelope (spatial model sign writes "
        "one); remove it or sign the bundle again"));
  }
  const std::string now = base::FormatIso8601(absl::Now());
  for (const auto& sig : j["signatures"]) {
    if (!sig.is_object() || !sig.contains("keyid") ||
        !sig["keyid"].is_string() ||
        base::CheckIdentifier(sig["keyid"].get<std::string>(), "key id").ok() ==
            false) {
      return absl::InvalidArgumentError(
          absl::StrCat(path, ": a signature without a valid keyid"));
    }
    out.push_back(
        {version_id, sig["keyid"].get<std::string>(), text, actor, now});
  }
  return out;
}

Json RegistryService::InspectCompatibility(const std::string& path,
                                           bool is_directory) const {
  auto onnx = OnnxPathOf(path, is_directory);
  if (!onnx) {
    return {
        {"status", "unknown"},
        {"reason",
         "no ONNX graph found (a .onnx file, or model.onnx in a directory)"}};
  }
  if (!options_.inspector) {
    return {{"status", "unknown"}, {"reason", "no ONNX reader configured"}};
  }
  auto info = options_.inspector(*onnx);
  if (!info.ok()) {
    return {{"status", "unknown"},
            {"reason", std::string(info.status().message())}};
  }
  Json j = *info;
  j["status"] = "known";
  return j;
}

absl::StatusOr<ModelVersion> RegistryService::Register(
    const RegisterRequest& req) {
  RETURN_IF_ERROR(base::CheckIdentifier(req.version_id, "version id"));
  if (!req.model_type.empty())
    RETURN_IF_ERROR(CheckOneOf(req.model_type, kModelTypes, "model type"));
  if (!req.architecture.empty()) {
    RETURN_IF_ERROR(
        CheckOneOf(req.architecture, kArchitectures, "architecture"));
  }
  RETURN_IF_ERROR(CheckMetrics(req.metrics));
  for (const auto& t : req.tags)
    RETURN_IF_ERROR(base::CheckIdentifier(t, "tag"));
  if (!req.training_config.is_object()) {
    return absl::InvalidArgumentError("training config must be a JSON object");
  }
  std::error_code ec;
  if (!fs::exists(fs::symlink_status(req.path, ec))) {
    return absl::NotFoundError(
        absl::StrCat("no such file or directory: ", req.path));
  }
  // A taken id is refused before anything is written to the store.
  auto existing = options_.registry->GetVersion(req.version_id);
  if (existing.ok()) {
    std::string note;
    if (!existing->is_directory && fs::is_regular_file(req.path)) {
      auto digest = base::Sha256File(req.path);
      if (digest.ok()) {
        note = *digest == existing->checksum
                   ? " with the same checksum"
                   : absl::StrCat(" with another checksum (",
                                  existing->checksum, ", this file is ",
                                  *digest, "); choose a new version id");
      }
    }
    return absl::AlreadyExistsError(absl::StrCat(
        "version '", req.version_id, "' is already registered", note));
  }
  if (existing.status().code() != absl::StatusCode::kNotFound)
    return existing.status();

  ModelVersion v;
  v.version_id = req.version_id;
  v.compatibility_info =
      InspectCompatibility(req.path, fs::is_directory(req.path));
  v.architecture = req.architecture;
  if (v.architecture.empty()) {
    const Json& c = v.compatibility_info;
    if (c.value("status", "") != "known") {
      return absl::InvalidArgumentError(
          absl::StrCat("cannot tell the architecture of ", req.path, " (",
                       c.value("reason", "unknown"), "); pass --architecture"));
    }
    v.architecture =
        c.value("dual_encoder", false) ? "dual-encoder" : "visual-encoder";
  }
  v.model_type =
      req.model_type.empty()
          ? (v.architecture == "dual-encoder" ? "spatial-mllm" : "standard-cnn")
          : req.model_type;
  v.training_config = req.training_config;
  if (!req.parent.empty()) {
    ASSIGN_OR_RETURN(v.training_config["parent"],
                     ParentRecord(*options_.registry, req.parent, req.path,
                                  req.training_config));
  }
  // A bundle's signature is kept as a signature of the version, not a file.
  ASSIGN_OR_RETURN(auto signatures,
                   BundleSignatures(req.path, req.version_id, req.actor));
  if (req.dry_run) {
    // Checked as a registration would be; nothing stored, nothing recorded.
    v.file_path = fs::absolute(req.path).lexically_normal().string();
    v.is_directory = fs::is_directory(req.path, ec);
    v.tags = req.tags;
    v.actor = req.actor;
    return v;
  }
  // A register that fails (a full disk half-way, the row refused) takes
  // back the blobs it added: nothing of it is left in the store.
  std::vector<std::string> created;
  auto undo = absl::MakeCleanup([&] { store_.RemoveBlobs(created); });
  ASSIGN_OR_RETURN(IngestResult ingest,
                   store_.Ingest(req.path, {kSignatureFile}, &created));
  v.file_path = fs::absolute(req.path).lexically_normal().string();
  v.creation_date = base::FormatIso8601(absl::Now());
  v.checksum = ingest.checksum;
  v.size_bytes = ingest.total_size;
  // A bundle's manifest carries the metrics `spatial eval` measured; a metric
  // given with the request replaces the manifest's of that name only.
  if (ingest.is_directory) v.performance_metrics = ManifestMetrics(req.path);
  for (const auto& [name, value] : req.metrics)
    v.performance_metrics[name] = value;
  v.tags = req.tags;
  v.actor = req.actor;
  v.is_directory = ingest.is_directory;
  v.files = std::move(ingest.files);
  RETURN_IF_ERROR(options_.registry->AddVersion(v));
  std::move(undo).Cancel();
  for (const auto& sig : signatures) {
    absl::Status s = options_.registry->AddSignature(sig);
    if (!s.ok()) {
      return absl::Status(
          s.code(),
          absl::StrCat("registered ", v.version_id,
                       " but could not store its signature (", s.message(),
                       "); sign it again with "
                       "spatial model sign"));
    }
  }
  return v;
}

absl::StatusOr<ValidationRecord> RegistryService::Validate(
    const ValidateRequest& req) {
  RETURN_IF_ERROR(base::CheckIdentifier(req.version_id, "version id"));
  ASSIGN_OR_RETURN(ModelVersion v,
                   options_.registry->GetVersion(req.version_id));
  ASSIGN_OR_RETURN(Environment env,
                   options_.registry->GetEnvironment(req.environment));
  ValidationInput in;
  in.version = &v;
  in.environment = &env;
  if (options_.host) in.host = options_.host();
  in.cpu_override_reason = req.cpu_override_reason;
  if (absl::Status s = store_.VerifyVersion(v); !s.ok()) {
    in.artifact_error = std::string(s.message());
  }
  if (absl::Status s = CheckSignature(v, env); !s.ok()) {
    in.signature_error = std::string(s.message());
  }
  // Nothing is run from files that are missing or altered.
  if (in.artifact_error) {
    in.measure = {.status = MeasureStatus::kFailed,
                  .why = "the stored artifact failed its check"};
  } else {
    in.measure = MeasureFor(v, env);
  }
  ValidationOutcome outcome = ApplyRules(in);
  ValidationRecord r;
  r.version_id = v.version_id;
  r.environment = env.name;
  r.valid = outcome.valid;
  r.result = outcome.ToJson();
  r.result["version_id"] = v.version_id;
  r.result["environment"] = env.name;
  r.result["measurement"] = in.measure.ToJson();
  r.result["host"] = {{"gpu_count", in.host.gpu_count},
                      {"gpu_memory_gb", in.host.gpu_memory_gb},
                      {"cuda_available", in.host.cuda_available}};
  if (!req.cpu_override_reason.empty())
    r.result["cpu_override_reason"] = req.cpu_override_reason;
  r.override_reason = req.cpu_override_reason;
  r.actor = req.actor;
  r.validated_at = base::FormatIso8601(absl::Now());
  r.result["validated_at"] = r.validated_at;
  RETURN_IF_ERROR(options_.registry->RecordValidation(r));
  return r;
}

MeasureResult RegistryService::MeasureFor(const ModelVersion& v,
                                          const Environment& env) const {
  auto has = [&v](absl::string_view path) {
    return std::any_of(v.files.begin(), v.files.end(),
                       [&](const ArtifactFile& f) { return f.path == path; });
  };
  if (!v.is_directory || !has("model.onnx") || !has("manifest.json")) {
    return {
        .status = MeasureStatus::kNotRunnable,
        .why = absl::StrCat(
            "'", v.version_id, "' is ",
            v.is_directory
                ? "a directory without model.onnx and "
                  "manifest.json"
                : absl::StrCat("a single file (",
                               fs::path(v.file_path).filename().string(), ")"),
            ", not a model bundle the server can run")};
  }
  if (!options_.measure) {
    return {.status = MeasureStatus::kNotRunnable,
            .why = "no model runner is configured here"};
  }
  auto m = options_.measure(store_, v, env);
  if (!m.ok()) {
    return {.status = MeasureStatus::kFailed,
            .why = std::string(m.status().message())};
  }
  return {.status = MeasureStatus::kMeasured, .measurement = *std::move(m)};
}

absl::Status RegistryService::CheckPromotable(const ModelVersion& v,
                                              const Environment& env) const {
  ASSIGN_OR_RETURN(auto validations,
                   options_.registry->ListValidations(v.version_id));
  auto it = std::find_if(
      validations.begin(), validations.end(),
      [&](const ValidationRecord& r) { return r.environment == env.name; });
  // No validation at all: the registry's own refusal says so.
  if (it == validations.end()) return absl::OkStatus();
  const std::string again =
      absl::StrCat("; run `spatial model validate ", v.version_id,
                   " --environment ", env.name, "` here first");
  if (IsImportedValidation(it->result)) {
    return absl::FailedPreconditionError(absl::StrCat(
        "refusing to promote '", v.version_id, "' in ", env.name,
        ": its only validation for ", env.name, " was imported (",
        it->result.value("imported_from", "another registry"),
        "); an imported validation is history, not a validation this "
        "registry ran",
        again));
  }
  if (!it->valid || !MeasurementRequired(env)) return absl::OkStatus();
  MeasureResult mr = MeasureResultOf(it->result);
  if (mr.status != MeasureStatus::kMeasured) {
    return absl::FailedPreconditionError(absl::StrCat(
        "refusing to promote '", v.version_id, "' in ", env.name,
        ": its validation of ", it->validated_at, " measured nothing, and ",
        env.name,
        " requires accuracy and latency measured on its evaluation set",
        again));
  }
  return absl::OkStatus();
}

absl::StatusOr<DeploymentEvent> RegistryService::ActivateVerified(
    DeploymentEvent event, bool dry_run) {
  RETURN_IF_ERROR(base::CheckIdentifier(event.version_id, "version id"));
  ASSIGN_OR_RETURN(ModelVersion v,
                   options_.registry->GetVersion(event.version_id));
  // An environment is never pointed at files that are gone or altered.
  if (absl::Status s = store_.VerifyVersion(v); !s.ok()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "refusing to ",
        event.kind == DeploymentKind::kPromote ? "promote '" : "roll back to '",
        event.version_id, "': ", s.message()));
  }
  // Nor at a version without a signature it trusts, where one is required
  // (a validation imported from elsewhere does not lift this).
  ASSIGN_OR_RETURN(Environment env,
                   options_.registry->GetEnvironment(event.environment));
  if (absl::Status s = CheckSignature(v, env); !s.ok()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "refusing to ",
        event.kind == DeploymentKind::kPromote ? "promote '" : "roll back to '",
        event.version_id, "' in ", env.name, ": ", s.message()));
  }
  // A rollback returns to a version that was active before, whatever its
  // validation measured then; a promotion needs one this registry ran.
  if (event.kind == DeploymentKind::kPromote) {
    RETURN_IF_ERROR(CheckPromotable(v, env));
  }
  // And never on rows edited behind the audit log's back (a validation forged
  // valid, a key slipped into the environment's trusted keys): every row the
  // checks above read must be what the record that wrote it vouches for.
  if (absl::Status s =
          CheckRowsAgainstAudit(event.version_id, env.name, ActivationProblems);
      !s.ok()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "refusing to ",
        event.kind == DeploymentKind::kPromote ? "promote '" : "roll back to '",
        event.version_id, "' in ", env.name, ": ", s.message()));
  }
  if (dry_run) {
    // Every check above passed; say what the change would replace.
    ASSIGN_OR_RETURN(auto active, options_.registry->ActiveVersion(env.name));
    event.previous_version_id = active.value_or("");
    return event;
  }
  return options_.registry->Activate(std::move(event));
}

absl::Status RegistryService::CheckRowsAgainstAudit(
    const std::string& version_id, const std::string& environment,
    ProblemsFn problems) {
  ASSIGN_OR_RETURN(AuditSnapshot snapshot,
                   options_.registry->ReadAuditSnapshot());
  std::vector<std::string> forged =
      problems(CheckAuditLinks(snapshot), version_id, environment);
  if (forged.empty()) return absl::OkStatus();
  return absl::FailedPreconditionError(absl::StrCat(
      "the registry rows it relies on disagree with the audit log (",
      absl::StrJoin(forged, "; "),
      "); see `spatial audit verify`, and restore the registry from a "
      "backup you trust"));
}

absl::Status RegistryService::CheckServedRows(const std::string& version_id,
                                              const std::string& environment) {
  return CheckRowsAgainstAudit(version_id, environment, ServingProblems);
}

absl::Status RegistryService::CheckEnvironmentRows(
    const std::string& environment) {
  // No version has an empty id: only the environment's rows are named.
  return CheckRowsAgainstAudit("", environment, ServingProblems);
}

absl::StatusOr<DeploymentEvent> RegistryService::Promote(
    const std::string& version_id, const std::string& environment,
    const std::string& actor, const std::string& reason, bool dry_run) {
  return ActivateVerified({.environment = environment,
                           .version_id = version_id,
                           .kind = DeploymentKind::kPromote,
                           .actor = actor,
                           .reason = reason},
                          dry_run);
}

absl::StatusOr<RollbackPlan> RegistryService::PlanRollback(
    const std::string& environment) {
  ASSIGN_OR_RETURN(Environment env,
                   options_.registry->GetEnvironment(environment));
  ASSIGN_OR_RETURN(auto history, options_.registry->History(env.name));
  ASSIGN_OR_RETURN(auto validations, options_.registry->ListValidations(""));
  std::set<std::string> valid;
  for (const auto& r : validations) {
    if (r.environment == env.name && r.valid) valid.insert(r.version_id);
  }
  RollbackPlan plan;
  plan.environment = env.name;
  if (!history.empty()) plan.active_version = history.back().version_id;
  std::set<std::string> seen = {plan.active_version};
  for (auto it = history.rbegin(); it != history.rend(); ++it) {
    if (seen.insert(it->version_id).second && valid.count(it->version_id)) {
      plan.candidates.push_back({it->version_id, it->created_at});
    }
  }
  return plan;
}

absl::StatusOr<DeploymentEvent> RegistryService::Rollback(
    const std::string& environment, const std::string& to,
    const std::string& actor, const std::string& reason,
    const std::string& only_from) {
  // The target is planned before the activating transaction (and the files
  // are verified in between), so another promotion or rollback may commit
  // meanwhile; rolling back to the plan's target would then undo the wrong
  // change. So the activation only lands if the version the plan saw active
  // still is (compare-and-set), and is planned again when it is not.
  constexpr int kAttempts = 3;
  absl::Status last;
  for (int attempt = 0; attempt < kAttempts; ++attempt) {
    ASSIGN_OR_RETURN(RollbackPlan plan, PlanRollback(environment));
    if (!only_from.empty() && plan.active_version != only_from) {
      return absl::FailedPreconditionError(absl::StrCat(
          "not rolled back: ", only_from, " is no longer active in ",
          environment, " (active: ",
          plan.active_version.empty() ? "none" : plan.active_version, ")"));
    }
    std::string target = to;
    if (target.empty()) {
      if (plan.candidates.empty()) {
        return absl::FailedPreconditionError(absl::StrCat(
            "nothing to roll back to in ", environment,
            ": no previously active version is still validated for it"));
      }
      target = plan.candidates.front().version_id;
    }
    auto event = ActivateVerified({.environment = environment,
                                   .version_id = target,
                                   .kind = DeploymentKind::kRollback,
                                   .actor = actor,
                                   .reason = reason,
                                   .expect_active = plan.active_version});
    if (event.ok() || event.status().code() != absl::StatusCode::kAborted) {
      return event;
    }
    last = event.status();
  }
  return absl::AbortedError(absl::StrCat(
      "rollback in ", environment, " gave up after ", kAttempts,
      " attempts: the active version kept changing while the rollback was "
      "planned (last: ",
      last.message(), "); look at `spatial model history --environment ",
      environment, "` and try again"));
}

absl::StatusOr<ModelVersion> RegistryService::Latest(
    const std::string& environment) {
  ASSIGN_OR_RETURN(Environment env,
                   options_.registry->GetEnvironment(environment));
  ASSIGN_OR_RETURN(auto versions, options_.registry->ListVersions());
  for (auto it = versions.rbegin(); it != versions.rend(); ++it) {
    const auto& envs = it->deployment_environments;
    if (std::find(envs.begin(), envs.end(), env.name) != envs.end()) return *it;
  }
  return absl::NotFoundError(
      absl::StrCat("no version is validated for ", env.name));
}

absl::StatusOr<std::vector<VersionCheck>> RegistryService::Test() {
  ASSIGN_OR_RETURN(auto versions, options_.registry->ListVersions());
  std::vector<VersionCheck> out;
  for (const auto& v : versions)
    out.push_back({v.version_id, store_.VerifyVersion(v)});
  return out;
}

absl::Status RegistryService::EnsureEnvironments(
    const std::vector<Environment>& environments, const std::string& actor) {
  ASSIGN_OR_RETURN(auto existing, options_.registry->ListEnvironments());
  if (!existing.empty()) return absl::OkStatus();
  RegistrySnapshot snapshot;
  snapshot.environments = environments;
  snapshot.actor = actor;
  return options_.registry->Import(snapshot);
}

}  // namespace spatial::registry
