// The 8 stages of `spatial pipeline run` (the seed's order and names). Each
// stage runs the real work, mostly by spawning the `spatial` binary itself
// with its output in <run>/logs/<stage>.log and its JSON report in
// <run>/reports/, like a CI job.
#ifndef SPATIAL_PIPELINE_STAGES_H_
#define SPATIAL_PIPELINE_STAGES_H_

#include <string>
#include <vector>

#include "nlohmann/json.hpp"
#include "src/pipeline/runner.h"

namespace spatial::pipeline {

struct PipelineConfig {
  std::string spatial;     // the binary to spawn (this one)
  std::string source_dir;  // repo root: config/, deploy/, scripts/, models/
  std::string environment = "development";
  std::string model_version;  // --model-version: already registered
  std::string model_dir;      // --model: a bundle to register
  // --server URLs (repeatable or comma-separated): the servers that follow
  // the registry, verified after the promotion; the performance stage benches
  // the first when it has no bundle to serve.
  std::vector<std::string> servers;
  // --canary-url: one address in front of the replicas (a Kubernetes
  // Service) or of one replica. After the promotion, its /health must report
  // the version on every answer for a while, and the canary runs through it;
  // the report names each replica (/health's "instance") that answered and
  // what it served. Empty: none.
  std::string canary_url;
  std::string registry, store, config;  // passed on to `spatial model`
  bool container_build = false;
  bool skip_tests = false;
  std::string run_dir;  // <output>/<UTC timestamp>
  std::string run_id;   // the timestamp, also in generated version ids
  std::string bench_duration = "2s";
  std::string bench_concurrency = "1:8:x2";
  int canary_per_class = 4;
  int deploy_timeout_s = 60;
  // --signing-key or $SPATIAL_SIGNING_KEY_FILE ("" = none): the pipeline signs
  // the version it takes to deployment with it (SignForDeployment).
  std::string signing_key;
  // --rehearsal: the registry is a throwaway one that no fleet follows; the
  // deployment stage and the report say so instead of reporting a deployment.
  bool rehearsal = false;
  // --allow-cpu-override REASON ("" = none): a host without the GPU the
  // environment requires is accepted, by environment-validation and by
  // `model validate` (which records REASON with the validation and in the
  // audit log); the report carries it.
  std::string cpu_override;
};

// What stages learn and pass on.
struct PipelineState {
  std::string version_id;      // the version this run takes to deployment
  std::string bundle_dir;      // its model bundle on disk ("" = unknown)
  nlohmann::json environment;  // the environment's rules (may be null)
  nlohmann::json signing;      // what SignForDeployment signed (null: none)
};

// The 8 stage names in seed order.
const std::vector<std::string>& StageNames();

// What the stage `name` does, in one line, for `pipeline run --dry-run`.
std::string StageDescription(const std::string& name);

// Parses --stages: names or 1-based numbers, comma separated; "" or "all" =
// every stage. InvalidArgument names the unknown entry.
absl::StatusOr<std::vector<std::string>> ParseStageList(
    const std::string& list);

// The stages, wired to `config` and sharing `state` (which must outlive them).
// Stages not in `selected` are recorded as skipped.
std::vector<Stage> MakeStages(const PipelineConfig& config,
                              PipelineState* state,
                              const std::vector<std::string>& selected);

// ---- shared by the stage implementations (stages_*.cc) ----
std::string LogPath(const PipelineConfig& c, const std::string& stage);
std::string ReportPath(const PipelineConfig& c, const std::string& file);
std::string ArtifactPath(const PipelineConfig& c, const std::string& file);
// --store/--config as given (the registry itself is not an argument: see
// RunSpatial).
std::vector<std::string> RegistryArgs(const PipelineConfig& c);
// Runs `spatial ARGS...`; output appended to the stage's log (stdout to
// `stdout_path` instead when given). The log gets a "$ command" line first.
// A `spatial model ...` child gets the run's registry as $SPATIAL_REGISTRY in
// its environment, never on its command line, where `ps` would show a
// password to every user.
absl::StatusOr<CommandResult> RunSpatial(const PipelineConfig& c,
                                         const std::string& stage,
                                         const std::vector<std::string>& args,
                                         const std::string& stdout_path = "",
                                         int timeout_s = 600);
// Renders labelled images (`spatial data render`) into DIR; OK when DIR/
// labels.csv exists afterwards.
absl::Status RenderImages(const PipelineConfig& c, const std::string& stage,
                          const std::string& dir, int per_class, int seed);
// The environment's rule `performance_requirements.<key>`; `fallback` when
// absent.
double EnvRequirement(const PipelineState& s, const std::string& key,
                      double fallback);

// Reads the environment's rules into state->environment once (`spatial
// model environments --json`, so the registry's own copy); stays null on
// failure, and the stages then use the seed's development numbers.
void LoadEnvironment(const PipelineConfig& c, PipelineState* s,
                     const std::string& stage);

StageResult RunPerformanceStage(const PipelineConfig& c, PipelineState* s);
StageResult RunSecurityStage(const PipelineConfig& c, PipelineState* s);
StageResult RunDeploymentStage(const PipelineConfig& c, PipelineState* s);

// With config.signing_key, before any stage runs: signs what the run takes to
// deployment, so that the environment's signature rule (validation,
// promotion, the servers' load) can pass. A bundle (--model) is copied to
// <run>/artifacts/bundle/NAME and the copy signed (model.sig, kept as the
// version's signature when registered); config->model_dir and s->bundle_dir
// then name the copy.
// A registered version (--model-version) is signed in the registry. Records
// what was signed in s->signing; the error of `spatial model sign` otherwise.
absl::Status SignForDeployment(PipelineConfig* config, PipelineState* s);

}  // namespace spatial::pipeline

#endif  // SPATIAL_PIPELINE_STAGES_H_
