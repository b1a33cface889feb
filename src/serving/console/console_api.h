// ConsoleApi: the operator console at /console, for a browser.
//   GET /console, /console/                    the page (open: it holds no
//   data) GET /console/assets/{name}                 its script and style
//   (open) GET /console/api/session                   viewer: who the token is,
//   what
//                                              this server is and may do
//   GET /console/api/environments              viewer: each environment's
//                                              active version, history, keys
//   GET /console/api/environments/{env}/rollback-plan   viewer
//   GET /console/api/versions?offset=&limit=&q=         viewer, newest first
//   GET /console/api/versions/{id}             viewer: metrics declared and
//                                              measured, validations,
//                                              signatures, files, lineage
//   GET /console/api/audit?offset=&limit=      viewer, newest first
//   GET /console/api/audit/verify              viewer: the hash chain checked
//   GET /console/api/runs                      viewer: pipeline runs found
//   GET /console/api/runs/{run}/*              viewer: a file of one run
// The data routes need a viewer token, as /api/v1's reads do; the page sends
// it from the tab's sessionStorage. Every change the console offers (promote,
// roll back, reload) is a call of the management API (management_api.h) with
// its roles and audit records: nothing here writes. Listings are paged so
// that a page view costs the same over ten versions or ten thousand. The
// routes are rows of the one route table (route_table.cc). Thread-safe (the
// registry serialises its own use; the rest is immutable).
#ifndef SPATIAL_SERVING_CONSOLE_CONSOLE_API_H_
#define SPATIAL_SERVING_CONSOLE_CONSOLE_API_H_

#include <string>

#include "absl/status/statusor.h"
#include "src/registry/registry_service.h"
#include "src/serving/http/http_server.h"
#include "src/serving/route_table.h"

namespace spatial::serving {

class ConsoleApi {
 public:
  struct Options {
    registry::RegistryService* service = nullptr;  // not owned; null: 503
    // The environment this server serves; "" for `spatial console`, which
    // serves no model (then the page shows no live figures and no reload).
    std::string environment;
    // Where `spatial pipeline run` leaves its runs (default: relative to the
    // working directory, as the pipeline writes them).
    std::string runs_dir = "output/spatial_pipeline_runs";
  };
  explicit ConsoleApi(Options options) : options_(std::move(options)) {}

  // Page sizes of the listings: the default and the most one page may ask.
  static constexpr int kDefaultPage = 50;
  static constexpr int kMaxPage = 200;

 private:
  friend class RouteTable;  // the handlers below are its rows'
  void Page(const RouteCall& call, http::Responder respond);
  void Asset(const RouteCall& call, http::Responder respond);
  void Session(const RouteCall& call, http::Responder respond);
  void Environments(const RouteCall& call, http::Responder respond);
  void RollbackPlan(const RouteCall& call, http::Responder respond);
  void Versions(const RouteCall& call, http::Responder respond);
  void Version(const RouteCall& call, http::Responder respond);
  void Audit(const RouteCall& call, http::Responder respond);
  void AuditVerify(const RouteCall& call, http::Responder respond);
  void Runs(const RouteCall& call, http::Responder respond);
  void RunFile(const RouteCall& call, http::Responder respond);
  // The registry, or the 503 of a server without one.
  absl::StatusOr<registry::Registry*> RegistryOr503();

  Options options_;
};

}  // namespace spatial::serving

#endif  // SPATIAL_SERVING_CONSOLE_CONSOLE_API_H_
