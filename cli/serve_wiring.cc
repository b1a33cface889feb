// ServeConfig -> a running `spatial serve`: the order things are built in,
// and who points at whom.
#include "cli/serve_wiring.h"

#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <iostream>
#include <set>
#include <thread>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "cli/audited_tokens.h"
#include "cli/serve_workdir.h"
#include "src/base/files.h"
#include "src/base/status_macros.h"
#include "src/security/policy.h"
#include "src/serving/feedback_api.h"

namespace spatial::cli {

namespace {

// The server's environment as the registry has it, pinned to the keys given
// (`anchor`) when there are any.
absl::StatusOr<registry::Environment> PinnedEnvironment(
    registry::Registry& reg, const std::string& environment,
    const std::vector<security::PublicKey>& anchor,
    const std::string& anchor_source) {
  ASSIGN_OR_RETURN(registry::Environment env, reg.GetEnvironment(environment));
  if (anchor.empty()) return env;
  return security::PinTrust(env, anchor, anchor_source);
}

// For the management API: would this server load `version_id` (its stored
// signature, on the store's blobs, against the pinned keys)? Null without a
// registry or given keys.
std::function<absl::Status(const std::string&)> ServableCheck(
    RegistryContext* registry, const ServeConfig& c,
    const std::vector<security::PublicKey>& anchor) {
  if (registry == nullptr || anchor.empty()) return nullptr;
  return [reg = registry->registry.get(), store = &registry->service->store(),
          env_name = c.environment, anchor, source = c.trusted_keys.given_by](
             const std::string& version_id) -> absl::Status {
    auto v = reg->GetVersion(version_id);
    if (!v.ok()) return absl::OkStatus();  // the promotion says what is wrong
    ASSIGN_OR_RETURN(registry::Environment env,
                     PinnedEnvironment(*reg, env_name, anchor, source));
    return security::CheckServable(*reg, *store, *v, env);
  };
}

}  // namespace

ServeStack::RemovedDir::~RemovedDir() {
  if (path.empty()) return;
  std::error_code ec;
  std::filesystem::remove_all(path, ec);
}

ServeStack::ServeStack(const ServeConfig& config)
    : config_(config), cache_(config.cache_bytes) {}

ServeStack::~ServeStack() = default;

absl::StatusOr<std::unique_ptr<ServeStack>> ServeStack::Build(
    const ServeConfig& config) {
  std::unique_ptr<ServeStack> s(new ServeStack(config));
  const ServeConfig& c = s->config_;
  serving::ModelManager::Options mo;
  mo.batcher.workers =
      c.workers > 0
          ? c.workers
          : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  mo.batcher.max_batch = c.max_batch;
  mo.batcher.max_queue_delay = std::chrono::microseconds(c.max_queue_delay_us);
  mo.batcher.queue_capacity = static_cast<size_t>(c.queue_capacity);
  mo.warmup_rounds = c.warmup_rounds;
  mo.metrics = &s->metrics_;
  // Results of versions no longer served are dropped at once.
  mo.on_publish = [cache = &s->cache_](const serving::ModelSet& set) {
    std::set<serving::CacheModel> served;
    for (const auto& m : set.all()) served.insert(serving::CacheModelOf(*m));
    cache->RetainOnly(std::move(served));
  };
  mo.model_dirs = c.model_dirs;
  mo.environment = c.environment;
  mo.poll_interval =
      std::chrono::milliseconds(static_cast<int64_t>(c.poll_registry_s * 1000));
  mo.spatial_fault_rate = c.inject_spatial_faults;

  std::optional<double> floor = c.accuracy_floor;
  std::string floor_source = "--accuracy-floor";
  std::optional<registry::Environment> served_env;
  std::vector<security::PublicKey> anchor;  // the keys given, with a registry
  if (c.has_registry()) {
    ASSIGN_OR_RETURN(s->registry_, OpenRegistryContext(c.registry));
    AnnounceRegistry(s->registry_->location, c.registry_source);
    registry::Registry* reg = s->registry_->registry.get();
    RETURN_IF_ERROR(RequireEnvironment(*reg, c.environment));
    ASSIGN_OR_RETURN(served_env, reg->GetEnvironment(c.environment));
    // Its trusted keys admit the --model-dir bundles below: never a key
    // slipped into the row behind the audit log's back.
    if (absl::Status rows =
            s->registry_->service->CheckEnvironmentRows(c.environment);
        !rows.ok()) {
      return absl::FailedPreconditionError(
          absl::StrCat("not serving ", c.environment, ": ", rows.message()));
    }
    // The keys given at deploy time anchor the registry's: whoever can
    // write the registry can append a chain-valid `keys.trust` of a key of
    // their own (or turn its require_signature off), not change the files
    // this server was given. Where signatures are required they must be
    // given; then only a key in both counts (security::PinTrust).
    ASSIGN_OR_RETURN(anchor, LoadTrustedKeyFiles(c.trusted_keys));
    const std::string& environment = c.environment;
    if (anchor.empty() &&
        (served_env->requires_signature() ||
         EnvironmentsFileRequiresSignature(environment, c.registry.config))) {
      return absl::InvalidArgumentError(absl::StrCat(
          "not serving ", environment, " from a registry without keys of its ",
          "own: ", environment,
          " requires signatures, and the keys the registry ",
          "trusts can be changed by whoever can write it; give the public ",
          "keys ", environment, " trusts with --trusted-key signing.pub (or ",
          "$SPATIAL_TRUSTED_KEYS), as a file deployed with the server ",
          "(docs/SECURITY.md, \"Keys given to the server\")"));
    }
    if (!anchor.empty()) {
      ASSIGN_OR_RETURN(
          *served_env,
          security::PinTrust(*served_env, anchor, c.trusted_keys.given_by));
      ASSIGN_OR_RETURN(auto pinned, security::TrustedKeys(*served_env));
      std::vector<std::string> ids;
      for (const auto& k : pinned) ids.push_back(k.key_id);
      std::cout << environment << " serves only what key"
                << (ids.size() > 1 ? "s " : " ") << absl::StrJoin(ids, ", ")
                << " signed (given with " << c.trusted_keys.given_by
                << ", trusted in the registry)" << std::endl;
    }
    if (!floor && served_env->min_accuracy) {
      floor = served_env->min_accuracy;
      floor_source =
          absl::StrCat("the accuracy requirement of ", served_env->name);
    }
    // Never on rows edited behind the audit log's back: a deployment row or
    // a trusted key inserted with sqlite3 or psql is not what a promotion
    // wrote (the same check promote runs). Then, where the environment
    // requires it (or keys were given), only versions signed by a key it
    // trusts, pinned to the given keys: the policy read anew for every load,
    // checked on the digests of the private copy that is then loaded.
    mo.admit =
        [reg, service = s->registry_->service.get(), env_name = c.environment,
         anchor, anchor_source = c.trusted_keys.given_by](
            const registry::ModelVersion& v,
            const std::vector<security::FileDigest>& files) -> absl::Status {
      RETURN_IF_ERROR(service->CheckServedRows(v.version_id, env_name));
      ASSIGN_OR_RETURN(
          registry::Environment env,
          PinnedEnvironment(*reg, env_name, anchor, anchor_source));
      return security::CheckServableFiles(*reg, v, env, files);
    };
    mo.registry = reg;
    mo.store = &s->registry_->service->store();
  }
  // Bundles given as directories: signed by a key the environment trusts
  // where its policy requires it (cli/serve_trust.h).
  ASSIGN_OR_RETURN(
      security::BundleTrust trust,
      ResolveBundleTrust(c.environment, served_env ? &*served_env : nullptr,
                         c.registry.config, c.trusted_keys));
  s->gate_.emplace(std::move(trust));
  mo.admit_bundle = [gate = &*s->gate_](const std::string& source,
                                        const serving::CopiedBundle& copy) {
    return gate->Admit(source, copy);
  };
  // Everything is loaded from a private copy (sweeps the dirs of killed
  // servers first).
  ASSIGN_OR_RETURN(s->work_dir_.path, MakeServeWorkDir());
  mo.work_dir = s->work_dir_.path;
  s->manager_ = std::make_unique<serving::ModelManager>(std::move(mo));

  // Live accuracy from /feedback; with --rollback-on-drift an alarm rolls the
  // environment back.
  if (c.rollback_on_drift) {
    char host[256] = "";
    gethostname(host, sizeof host - 1);
    s->rollback_.emplace(serving::DriftRollback::Options{
        .service = s->registry_->service.get(),
        .manager = s->manager_.get(),
        .environment = c.environment,
        .actor = absl::StrCat("pizza-api-spatial@", host, " (pid ", getpid(),
                              ", --rollback-on-drift)")});
  }
  s->live_ =
      std::make_unique<serving::LiveAccuracy>(serving::LiveAccuracy::Options{
          .window = c.feedback_window,
          .min_labelled = c.feedback_min_labelled,
          .max_per_labeler = c.feedback_max_per_token,
          .floor = floor,
          .on_alarm = [rollback = &s->rollback_](const serving::LiveAlarm& a) {
            if (*rollback) (*rollback)->OnAlarm(a);
          }});
  if (floor) {
    std::cout << "live accuracy floor " << *floor << " (" << floor_source
              << "), judged once " << c.feedback_min_labelled << " of the last "
              << c.feedback_window << " predictions per version have feedback"
              << (s->rollback_ ? "; an alarm rolls the environment back" : "")
              << std::endl;
  }
  if (!c.tokens_file.empty()) {
    ASSIGN_OR_RETURN(
        s->tokens_,
        LoadAuditedTokens(c.tokens_file, s->RegistryOrNull(), std::cerr));
  }
  const serving::TokenTable* tokens = s->tokens_ ? &*s->tokens_ : nullptr;
  const bool feedback_needs_token = serving::FeedbackNeedsToken(
      c.environment, c.rollback_on_drift, c.require_token);
  if (feedback_needs_token) {
    std::cout << "POST /feedback needs a labeler token"
              << (tokens ? ""
                         : " and there is no --tokens-file: all of it "
                           "is refused")
              << "; one token holds at most " << c.feedback_max_per_token
              << " labels of a version's window" << std::endl;
  }
  s->management_ =
      std::make_unique<serving::ManagementApi>(serving::ManagementApi::Options{
          .tokens = tokens,
          .service = s->registry_ ? s->registry_->service.get() : nullptr,
          .manager = s->manager_.get(),
          .environment = c.environment,
          .servable = ServableCheck(s->registry_ ? &*s->registry_ : nullptr, c,
                                    anchor)});
  s->console_ =
      std::make_unique<serving::ConsoleApi>(serving::ConsoleApi::Options{
          .service = s->registry_ ? s->registry_->service.get() : nullptr,
          .environment = c.environment});
  serving::ModelManager* manager = s->manager_.get();
  char host[256] = "";
  gethostname(host, sizeof host - 1);
  s->api_ = std::make_unique<serving::PizzaApi>(
      serving::PizzaApi::Options{.environment = c.environment,
                                 .instance = absl::StrCat(host, ":", getpid()),
                                 .ab_split = c.ab_split,
                                 .metrics = &s->metrics_,
                                 .management = s->management_.get(),
                                 .console = s->console_.get(),
                                 .tokens = tokens,
                                 .require_token = c.require_token,
                                 .feedback_needs_token = feedback_needs_token,
                                 .cache = &s->cache_,
                                 .live = s->live_.get()},
      [manager] { return manager->Current(); },
      [manager] { return manager->ready(); });
  return s;
}

absl::Status ServeStack::Start(std::chrono::steady_clock::time_point started) {
  const ServeConfig& c = config_;
  serving::http::HttpServer::Options ho;
  ho.address = c.address;
  ho.port = c.port;
  ho.io_threads = c.io_threads;
  ASSIGN_OR_RETURN(server_, serving::http::HttpServer::Start(ho, api_.get()));
  if (!c.port_file.empty()) {
    RETURN_IF_ERROR(base::WriteFileAtomic(c.port_file,
                                          absl::StrCat(server_->port(), "\n")));
  }
  std::cout << "pizza-api-spatial listening on http://" << c.address << ":"
            << server_->port() << " (environment " << c.environment
            << "); loading models" << std::endl;
  // Listening first, ready later: liveness answers while models load and
  // /v2/health/ready says 503 until every model is warm.
  if (absl::Status s = manager_->Start(); !s.ok()) {
    server_->Stop(std::chrono::seconds(1));
    return s;
  }
  if (std::string w = gate_->UnsignedWarning(); !w.empty())
    std::cerr << w << std::endl;
  double ready_ms = std::chrono::duration<double, std::milli>(
                        std::chrono::steady_clock::now() - started)
                        .count();
  // A snapshot held here would keep a swapped-out model from draining.
  auto models = manager_->Current();
  std::cout << "pizza-api-spatial "
            << (manager_->ready() ? "ready" : "NOT ready (see above)")
            << ": spatial "
            << (models->spatial ? models->spatial->version : "none")
            << ", standard "
            << (models->standard ? models->standard->version : "none")
            << (registry_ ? absl::StrCat("; watching ", registry_->location,
                                         " every ", c.poll_registry_s, " s")
                          : "")
            << " (" << static_cast<int>(ready_ms) << " ms after start)"
            << std::endl;
  return absl::OkStatus();
}

void ServeStack::Refresh() {
  if (tokens_) {
    // A token revoked (removed from the file) stops working from here on;
    // a file that cannot be read keeps the tokens as they were.
    // With a registry, only the tokens its audit log vouches for.
    auto fresh =
        LoadAuditedTokens(config_.tokens_file, RegistryOrNull(), std::cerr);
    absl::Status s = fresh.status();
    if (s.ok()) {
      tokens_->Replace(*fresh);
      std::cout << "received SIGHUP: reloaded " << tokens_->size()
                << " token(s) from " << config_.tokens_file << std::endl;
    } else {
      std::cerr << "received SIGHUP: tokens file not reloaded, the "
                   "previous tokens stay: "
                << s.message() << std::endl;
    }
  }
  std::cout << "received SIGHUP: checking the registry" << std::endl;
  auto swapped = manager_->Refresh(/*force=*/true);
  if (!swapped.ok()) {
    std::cerr << swapped.status().message() << std::endl;
  } else if (!*swapped) {
    std::cout << "nothing new to serve" << std::endl;
  }
}

void ServeStack::Stop() {
  if (server_) server_->Stop(std::chrono::seconds(20));
  if (rollback_) rollback_->Stop();
  manager_->Stop();
}

}  // namespace spatial::cli
