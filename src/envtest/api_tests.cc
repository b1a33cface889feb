// API checks: every endpoint of pizza-api-spatial with the field names and
// types of its response, then the bad inputs (each must be the right 4xx with
// an {"error": "..."} body). Requests go through base::HttpFetch.
// Thread-safe: no shared state.
#include <chrono>
#include <cmath>
#include <functional>
#include <memory>
#include <set>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "src/base/http_client.h"
#include "src/envtest/checks.h"
#include "src/vision/renderer.h"

namespace spatial::envtest {
namespace {

using Json = nlohmann::json;

enum class Type { kString, kNumber, kBool, kObject, kArray };
const char* TypeName(Type t) {
  switch (t) {
    case Type::kString:
      return "string";
    case Type::kNumber:
      return "number";
    case Type::kBool:
      return "boolean";
    case Type::kObject:
      return "object";
    case Type::kArray:
      return "array";
  }
  return "?";
}
bool Is(const Json& v, Type t) {
  switch (t) {
    case Type::kString:
      return v.is_string();
    case Type::kNumber:
      return v.is_number();
    case Type::kBool:
      return v.is_boolean();
    case Type::kObject:
      return v.is_object();
    case Type::kArray:
      return v.is_array();
  }
  return false;
}

// Collects what is wrong with one answer.
class Problems {
 public:
  void Add(std::string p) { list_.push_back(std::move(p)); }
  void Need(bool ok, absl::string_view what) {
    if (!ok) Add(std::string(what));
  }
  // `field` of `j` has type `t` (or is null when `nullable`).
  void Field(const Json& j, const std::string& field, Type t,
             bool nullable = false) {
    if (!j.is_object() || !j.contains(field)) {
      return Add(absl::StrCat("field '", field, "' is missing"));
    }
    const Json& v = j[field];
    if (Is(v, t) || (nullable && v.is_null())) return;
    Add(absl::StrCat("field '", field, "' is ", v.type_name(), ", expected ",
                     TypeName(t), nullable ? " or null" : ""));
  }
  bool empty() const { return list_.empty(); }
  std::string Join() const { return absl::StrJoin(list_, "; "); }

 private:
  std::vector<std::string> list_;
};

// Parses a JSON object body or records why not.
Json ParseObject(const base::HttpReply& r, Problems* p) {
  Json j = Json::parse(r.body, nullptr, false);
  if (!j.is_object()) {
    p->Add(absl::StrCat("the body is not a JSON object: '",
                        r.body.substr(0, 80), "'"));
    return Json::object();
  }
  return j;
}

const std::set<std::string> kClasses(vision::kClassNames.begin(),
                                     vision::kClassNames.end());

// The /classify answer of SPEC.md.
void ClassifySchema(const Json& j, Problems* p, const char* model = nullptr) {
  p->Field(j, "predicted_class", Type::kString);
  p->Field(j, "confidence", Type::kNumber);
  p->Field(j, "probabilities", Type::kObject, /*nullable=*/true);
  p->Field(j, "model_used", Type::kString);
  p->Field(j, "inference_time", Type::kNumber);
  p->Field(j, "spatial_features", Type::kObject, true);
  p->Field(j, "visualization_url", Type::kString, true);
  p->Field(j, "ab_test_group", Type::kString, true);
  p->Field(j, "timestamp", Type::kString);
  if (!p->empty()) return;
  p->Need(kClasses.count(j["predicted_class"].get<std::string>()) > 0,
          "predicted_class is not one of the six classes");
  double c = j["confidence"].get<double>();
  p->Need(c >= 0 && c <= 1, "confidence is outside [0, 1]");
  std::string used = j["model_used"];
  p->Need(used == "spatial-mllm" || used == "standard-cnn",
          absl::StrCat("model_used is '", used, "'"));
  if (model) {
    p->Need(used == model,
            absl::StrCat("model_used is '", used, "', expected '", model, "'"));
  }
  p->Need(j["inference_time"].get<double>() >= 0, "inference_time < 0");
  const std::string ts = j["timestamp"];
  p->Need(ts.size() >= 19 && ts[4] == '-' && ts[10] == 'T',
          absl::StrCat("timestamp '", ts, "' is not ISO 8601"));
  if (j["probabilities"].is_object()) {
    double sum = 0;
    for (const auto& [k, v] : j["probabilities"].items()) {
      p->Need(kClasses.count(k) > 0, absl::StrCat("unknown class '", k, "'"));
      if (v.is_number()) sum += v.get<double>();
    }
    p->Need(j["probabilities"].size() == 6, "probabilities has not 6 classes");
    p->Need(std::abs(sum - 1.0) < 1e-3,
            absl::StrCat("probabilities sum to ", sum));
  }
  if (used == "spatial-mllm") {
    p->Need(j["spatial_features"].is_object(),
            "spatial-mllm answered without spatial_features");
  }
}

struct Check {
  std::string name;
  std::string method = "GET";
  std::string path;
  std::string content_type;
  std::function<std::string()> body;  // built lazily (the 11 MB one)
  int expect_status = 200;
  // Checks the answer's body; nullptr for error answers ({"error"} checked).
  std::function<void(const base::HttpReply&, const Json&, Problems*)> schema;
};

}  // namespace

std::vector<TestResult> RunApiTests(const Targets& targets, int port) {
  const std::string env = targets.environment;
  const std::string pizza = vision::RenderPizza(1, 4242, 0, 128).jpeg;
  auto form = [](std::vector<base::FormPart> parts) {
    return [parts] { return base::MultipartBody(parts, kFormBoundary); };
  };
  auto classify_schema = [](const char* model) {
    return [model](const base::HttpReply&, const Json& j, Problems* p) {
      ClassifySchema(j, p, model);
    };
  };
  // Where the visualization check finds its URL.
  auto viz_url = std::make_shared<std::string>();

  std::vector<Check> checks = {
      {.name = "GET /",
       .path = "/",
       .schema =
           [env](const base::HttpReply&, const Json& j, Problems* p) {
             p->Field(j, "service", Type::kString);
             p->Field(j, "environment", Type::kString);
             p->Field(j, "endpoints", Type::kArray);
             if (p->empty())
               p->Need(
                   j["environment"] == env,
                   absl::StrCat("environment is ", j["environment"].dump()));
           }},
      {.name = "GET /health",
       .path = "/health",
       .schema =
           [env](const base::HttpReply&, const Json& j, Problems* p) {
             p->Field(j, "status", Type::kString);
             p->Field(j, "models", Type::kObject);
             p->Field(j, "environment", Type::kString);
             p->Field(j, "timestamp", Type::kString);
             if (!p->empty()) return;
             p->Need(j["status"] == "healthy",
                     absl::StrCat("status is ", j["status"].dump()));
             p->Need(j["environment"] == env,
                     absl::StrCat("environment is ", j["environment"].dump()));
             p->Need(!j["models"].empty(), "no model is loaded");
           }},
      {.name = "GET /status",
       .path = "/status",
       .schema =
           [](const base::HttpReply&, const Json& j, Problems* p) {
             p->Field(j, "service", Type::kString);
             p->Field(j, "environment", Type::kString);
             p->Field(j, "uptime_seconds", Type::kNumber);
             p->Field(j, "requests", Type::kNumber);
             p->Field(j, "models", Type::kObject);
             p->Field(j, "timestamp", Type::kString);
             if (!p->empty()) return;
             for (const auto& [name, m] : j["models"].items()) {
               for (const char* f : {"version", "model_type", "architecture"})
                 p->Field(m, f, Type::kString);
             }
           }},
      {.name = "GET /metrics",
       .path = "/metrics",
       .schema = nullptr},  // text, checked below
      {.name = "GET /ab-test/status",
       .path = "/ab-test/status",
       .schema =
           [](const base::HttpReply&, const Json& j, Problems* p) {
             p->Field(j, "split", Type::kObject);
             p->Field(j, "groups", Type::kObject);
             p->Field(j, "timestamp", Type::kString);
             if (!p->empty()) return;
             for (const char* g : {"A", "B"}) {
               p->Field(j["split"], g, Type::kNumber);
               p->Field(j["groups"], g, Type::kObject);
               if (!j["groups"].contains(g)) continue;
               for (const char* f : {"requests", "errors", "error_rate"})
                 p->Field(j["groups"][g], f, Type::kNumber);
               p->Field(j["groups"][g], "model", Type::kString);
             }
           }},
      {.name = "GET /v2/health/live",
       .path = "/v2/health/live",
       .schema =
           [](const base::HttpReply&, const Json& j, Problems* p) {
             p->Field(j, "live", Type::kBool);
             if (p->empty()) p->Need(j["live"] == true, "live is false");
           }},
      {.name = "GET /v2/health/ready",
       .path = "/v2/health/ready",
       .schema =
           [](const base::HttpReply&, const Json& j, Problems* p) {
             p->Field(j, "ready", Type::kBool);
             if (p->empty()) p->Need(j["ready"] == true, "ready is false");
           }},
      {.name = "POST /classify",
       .method = "POST",
       .path = "/classify",
       .content_type = kFormContentType,
       .body = form({{"file", "image/jpeg", pizza}}),
       .schema = classify_schema(nullptr)},
      {.name = "POST /predict/spatial",
       .method = "POST",
       .path = "/predict/spatial",
       .content_type = kFormContentType,
       .body = form({{"file", "image/jpeg", pizza}}),
       .schema = classify_schema("spatial-mllm")},
      {.name = "POST /predict/standard",
       .method = "POST",
       .path = "/predict/standard",
       .content_type = kFormContentType,
       .body = form({{"file", "image/jpeg", pizza}}),
       .schema = classify_schema("standard-cnn")},
      {.name = "POST /ab-test/compare",
       .method = "POST",
       .path = "/ab-test/compare",
       .content_type = kFormContentType,
       .body = form({{"file", "image/jpeg", pizza}}),
       .schema =
           [](const base::HttpReply&, const Json& j, Problems* p) {
             for (const char* m : {"spatial-mllm", "standard-cnn"}) {
               p->Field(j, m, Type::kObject);
               if (!j.contains(m)) continue;
               p->Field(j[m], "predicted_class", Type::kString);
               p->Field(j[m], "confidence", Type::kNumber);
               p->Field(j[m], "probabilities", Type::kObject);
             }
             p->Field(j, "agreement", Type::kBool);
             p->Field(j, "inference_time", Type::kNumber);
             p->Field(j, "timestamp", Type::kString);
           }},
      {.name = "POST /classify enable_visualization=true",
       .method = "POST",
       .path = "/classify",
       .content_type = kFormContentType,
       .body = form({{"file", "image/jpeg", pizza},
                     {"use_spatial", "", "true"},
                     {"enable_visualization", "", "true"}}),
       .schema =
           [viz_url](const base::HttpReply&, const Json& j, Problems* p) {
             ClassifySchema(j, p, "spatial-mllm");
             if (!p->empty()) return;
             p->Need(j["visualization_url"].is_string(),
                     "visualization_url is null with enable_visualization");
             if (j["visualization_url"].is_string())
               *viz_url = j["visualization_url"];
           }},
      // Bad inputs (issue #4).
      {.name = "bad input: not an image",
       .method = "POST",
       .path = "/classify",
       .content_type = kFormContentType,
       .body = form({{"file", "image/jpeg", "this is not an image"}}),
       .expect_status = 400},
      {.name = "bad input: truncated JPEG",
       .method = "POST",
       .path = "/classify",
       .content_type = kFormContentType,
       .body =
           form({{"file", "image/jpeg", pizza.substr(0, pizza.size() / 2)}}),
       .expect_status = 400},
      {.name = "bad input: wrong content type",
       .method = "POST",
       .path = "/classify",
       .content_type = kFormContentType,
       .body = form({{"file", "text/plain", pizza}}),
       .expect_status = 400},
      {.name = "bad input: missing file field",
       .method = "POST",
       .path = "/classify",
       .content_type = kFormContentType,
       .body = form({{"image", "image/jpeg", pizza}}),
       .expect_status = 400},
      {.name = "bad input: body over 10 MB",
       .method = "POST",
       .path = "/classify",
       .content_type = kFormContentType,
       .body = form({{"file", "image/jpeg", std::string(11 << 20, 'x')}}),
       .expect_status = 413},
      {.name = "bad input: unknown path",
       .path = "/no/such/endpoint",
       .expect_status = 404},
  };

  std::vector<TestResult> results;
  for (const Check& c : checks) {
    const auto t0 = std::chrono::steady_clock::now();
    TestResult t{.category = "api", .name = c.name};
    t.threshold = {{"status", c.expect_status}};
    base::HttpOptions fo{.method = c.method, .content_type = c.content_type};
    if (c.body) fo.body = c.body();
    auto reply = base::HttpFetch(port, c.path, fo);
    Problems p;
    if (!reply.ok()) {
      t.status = TestStatus::kError;
      t.reason = std::string(reply.status().message());
    } else {
      t.measured = {{"status", reply->status}};
      p.Need(reply->status == c.expect_status,
             absl::StrCat("HTTP ", reply->status, ", expected ",
                          c.expect_status, ": ", reply->body.substr(0, 160)));
      if (p.empty() && c.path == "/metrics") {
        p.Need(absl::StartsWith(reply->content_type, "text/plain"),
               absl::StrCat("content type '", reply->content_type, "'"));
        p.Need(
            absl::StrContains(reply->body, "# TYPE pizza_api_requests_total"),
            "no pizza_api_requests_total family in the Prometheus text");
      } else if (p.empty()) {
        Json j = ParseObject(*reply, &p);
        if (p.empty() && c.expect_status >= 400) {
          p.Field(j, "error", Type::kString);
          if (p.empty())
            p.Need(!j["error"].get<std::string>().empty(),
                   "the error message is empty");
        } else if (p.empty() && c.schema) {
          c.schema(*reply, j, &p);
        }
      }
      t.status = p.empty() ? TestStatus::kPassed : TestStatus::kFailed;
      t.reason = p.empty() ? absl::StrCat("HTTP ", reply->status,
                                          c.expect_status >= 400
                                              ? " with an error message"
                                              : ", schema valid")
                           : p.Join();
    }
    t.seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0)
            .count();
    results.push_back(std::move(t));
  }

  // The visualization the classify above returned must be a PNG.
  TestResult t{.category = "api", .name = "GET visualization_url"};
  t.threshold = {{"status", 200}, {"content_type", "image/png"}};
  if (viz_url->empty()) {
    t.status = TestStatus::kError;
    t.reason = "no visualization_url to fetch (see the classify check)";
  } else {
    auto reply = base::HttpFetch(port, *viz_url);
    if (!reply.ok()) {
      t.status = TestStatus::kError;
      t.reason = std::string(reply.status().message());
    } else {
      t.measured = {{"status", reply->status},
                    {"content_type", reply->content_type}};
      bool png = reply->status == 200 && reply->content_type == "image/png" &&
                 reply->body.substr(0, 8) == "\x89PNG\r\n\x1a\n";
      t.status = png ? TestStatus::kPassed : TestStatus::kFailed;
      t.reason = png ? absl::StrCat(*viz_url, " is a PNG")
                     : absl::StrCat(*viz_url, ": HTTP ", reply->status, " ",
                                    reply->content_type, ", not a PNG");
    }
  }
  results.push_back(std::move(t));
  return results;
}

}  // namespace spatial::envtest
