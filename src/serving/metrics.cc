#include "src/serving/metrics.h"

#include <sys/resource.h>
#include <unistd.h>

#include <fstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "src/serving/prediction_cache.h"

namespace spatial::serving {
namespace {

const std::vector<double> kSecondsBounds = {
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5};
const std::vector<double> kBatchBounds = {1, 2, 4, 8, 16, 32, 64};

std::string Escape(const std::string& v) {
  std::string out;
  for (char c : v) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

std::string Num(double v) { return absl::StrFormat("%.17g", v); }

void Header(std::string* out, const char* name, const char* type,
            const char* help) {
  absl::StrAppend(out, "# HELP ", name, " ", help, "\n# TYPE ", name, " ", type,
                  "\n");
}

void RenderCache(std::string* out, const PredictionCacheStats& c) {
  Header(out, "pizza_api_prediction_cache_lookups_total", "counter",
         "Prediction cache lookups by result.");
  absl::StrAppend(
      out, "pizza_api_prediction_cache_lookups_total{result=\"hit\"} ", c.hits,
      "\npizza_api_prediction_cache_lookups_total{result=\"miss\"} ", c.misses,
      "\n");
  Header(out, "pizza_api_prediction_cache_evictions_total", "counter",
         "Entries evicted (least recently used) to stay within the size.");
  absl::StrAppend(out, "pizza_api_prediction_cache_evictions_total ",
                  c.evictions, "\n");
  Header(out, "pizza_api_prediction_cache_invalidations_total", "counter",
         "Entries dropped because their model version is no longer served.");
  absl::StrAppend(out, "pizza_api_prediction_cache_invalidations_total ",
                  c.invalidations, "\n");
  Header(out, "pizza_api_prediction_cache_entries", "gauge",
         "Results in the prediction cache.");
  absl::StrAppend(out, "pizza_api_prediction_cache_entries ", c.entries, "\n");
  Header(out, "pizza_api_prediction_cache_bytes", "gauge",
         "Memory the prediction cache's entries take (estimate).");
  absl::StrAppend(out, "pizza_api_prediction_cache_bytes ", c.bytes, "\n");
  Header(out, "pizza_api_prediction_cache_capacity_bytes", "gauge",
         "The prediction cache's bound (--cache-mb; 0: disabled).");
  absl::StrAppend(out, "pizza_api_prediction_cache_capacity_bytes ",
                  c.capacity_bytes, "\n");
}

}  // namespace

void Metrics::Histogram::Observe(double v) {
  if (counts.empty()) counts.assign(bounds.size() + 1, 0);
  size_t i = 0;
  while (i < bounds.size() && v > bounds[i]) ++i;
  ++counts[i];
  sum += v;
  ++count;
}

Metrics::Metrics() = default;

void Metrics::RecordRequest(const std::string& endpoint, int status,
                            double seconds) {
  std::lock_guard<std::mutex> lock(mu_);
  ++requests_[{endpoint, status}];
  auto& h = request_seconds_[endpoint];
  if (h.bounds.empty()) h.bounds = kSecondsBounds;
  h.Observe(seconds);
}

void Metrics::RecordBatch(const std::string& model, int size, double seconds) {
  std::lock_guard<std::mutex> lock(mu_);
  auto& s = inference_seconds_[model];
  if (s.bounds.empty()) s.bounds = kSecondsBounds;
  s.Observe(seconds);
  auto& b = batch_size_[model];
  if (b.bounds.empty()) b.bounds = kBatchBounds;
  b.Observe(size);
}

void Metrics::RecordPrediction(const std::string& model,
                               const std::string& predicted_class) {
  std::lock_guard<std::mutex> lock(mu_);
  ++predictions_[{model, predicted_class}];
}

void Metrics::RecordFallback() {
  std::lock_guard<std::mutex> lock(mu_);
  ++fallbacks_;
}

void Metrics::SetModelInfo(const std::string& slot, const std::string& version,
                           const std::string& model_type) {
  std::lock_guard<std::mutex> lock(mu_);
  if (version.empty()) {
    models_.erase(slot);
  } else {
    models_[slot] = {version, model_type};
  }
}

void Metrics::RecordModelLoad(bool ok) {
  std::lock_guard<std::mutex> lock(mu_);
  ++(ok ? loads_ok_ : loads_failed_);
}

std::string Metrics::Render(const std::map<std::string, size_t>& queue_depths,
                            const PredictionCacheStats* cache) const {
  std::lock_guard<std::mutex> lock(mu_);
  std::string out;
  Header(&out, "pizza_api_requests_total", "counter",
         "HTTP requests by endpoint and status.");
  for (const auto& [key, n] : requests_) {
    absl::StrAppend(&out, "pizza_api_requests_total{endpoint=\"",
                    Escape(std::get<0>(key)), "\",status=\"", std::get<1>(key),
                    "\"} ", n, "\n");
  }
  auto histograms = [&](const char* name, const char* label, const char* help,
                        const std::map<std::string, Histogram>& hs) {
    Header(&out, name, "histogram", help);
    for (const auto& [key, h] : hs) {
      uint64_t cumulative = 0;
      for (size_t i = 0; i <= h.bounds.size(); ++i) {
        cumulative += h.counts[i];
        std::string le =
            i < h.bounds.size() ? absl::StrCat(h.bounds[i]) : "+Inf";
        absl::StrAppend(&out, name, "_bucket{", label, "=\"", Escape(key),
                        "\",le=\"", le, "\"} ", cumulative, "\n");
      }
      absl::StrAppend(&out, name, "_sum{", label, "=\"", Escape(key), "\"} ",
                      Num(h.sum), "\n");
      absl::StrAppend(&out, name, "_count{", label, "=\"", Escape(key), "\"} ",
                      h.count, "\n");
    }
  };
  histograms("pizza_api_request_duration_seconds", "endpoint",
             "Time from a complete request to its answer.", request_seconds_);
  histograms("pizza_api_inference_duration_seconds", "model",
             "Time of one batched forward pass.", inference_seconds_);
  histograms("pizza_api_batch_size", "model", "Requests per forward pass.",
             batch_size_);
  Header(&out, "pizza_api_queue_depth", "gauge",
         "Requests waiting for an inference worker.");
  for (const auto& [model, depth] : queue_depths) {
    absl::StrAppend(&out, "pizza_api_queue_depth{model=\"", Escape(model),
                    "\"} ", depth, "\n");
  }
  Header(&out, "pizza_api_predictions_total", "counter",
         "Predictions by model and class.");
  for (const auto& [key, n] : predictions_) {
    absl::StrAppend(&out, "pizza_api_predictions_total{model=\"",
                    Escape(std::get<0>(key)), "\",class=\"",
                    Escape(std::get<1>(key)), "\"} ", n, "\n");
  }
  Header(&out, "pizza_api_fallbacks_total", "counter",
         "Requests served by another model than the one asked for.");
  absl::StrAppend(&out, "pizza_api_fallbacks_total ", fallbacks_, "\n");
  Header(&out, "pizza_api_model_loads_total", "counter",
         "Model loads and swaps by result (a failure keeps the old model).");
  absl::StrAppend(&out, "pizza_api_model_loads_total{result=\"success\"} ",
                  loads_ok_,
                  "\npizza_api_model_loads_total{result=\"failure\"} ",
                  loads_failed_, "\n");
  Header(&out, "pizza_api_model_info", "gauge", "The loaded models (value 1).");
  for (const auto& [slot, info] : models_) {
    absl::StrAppend(&out, "pizza_api_model_info{slot=\"", Escape(slot),
                    "\",version=\"", Escape(std::get<0>(info)),
                    "\",model_type=\"", Escape(std::get<1>(info)), "\"} 1\n");
  }
  if (cache) RenderCache(&out, *cache);
  // Process figures from the kernel, read at scrape time.
  long rss_pages = 0;
  {
    std::ifstream statm("/proc/self/statm");
    long size_pages = 0;
    statm >> size_pages >> rss_pages;
  }
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  double cpu =
      static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
      static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
  Header(&out, "process_resident_memory_bytes", "gauge",
         "Resident memory size in bytes.");
  absl::StrAppend(&out, "process_resident_memory_bytes ",
                  static_cast<uint64_t>(rss_pages) *
                      static_cast<uint64_t>(sysconf(_SC_PAGESIZE)),
                  "\n");
  Header(&out, "process_cpu_seconds_total", "counter",
         "User and system CPU time in seconds.");
  absl::StrAppend(&out, "process_cpu_seconds_total ", Num(cpu), "\n");
  return out;
}

}  // namespace spatial::serving
