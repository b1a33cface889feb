// Metrics: the server's counters, gauges and histograms, rendered in the
// Prometheus text exposition format (version 0.0.4) for GET /metrics.
// Thread-safe: every update takes one short mutex.
#ifndef SPATIAL_SERVING_METRICS_H_
#define SPATIAL_SERVING_METRICS_H_

#include <map>
#include <mutex>
#include <string>
#include <tuple>
#include <vector>

namespace spatial::serving {

struct PredictionCacheStats;  // prediction_cache.h

class Metrics {
 public:
  Metrics();
  void RecordRequest(const std::string& endpoint, int status, double seconds);
  void RecordBatch(const std::string& model, int size, double seconds);
  void RecordPrediction(const std::string& model,
                        const std::string& predicted_class);
  void RecordFallback();
  // A model load or swap that succeeded or failed (checksum, signature,
  // warm-up, ...).
  void RecordModelLoad(bool ok);
  // The model in `slot`; an empty version removes the slot.
  void SetModelInfo(const std::string& slot, const std::string& version,
                    const std::string& model_type);
  // Everything, with the queue depths, the prediction cache's figures (when
  // there is a cache) and process memory/CPU read now.
  std::string Render(const std::map<std::string, size_t>& queue_depths,
                     const PredictionCacheStats* cache = nullptr) const;

 private:
  struct Histogram {
    std::vector<double> bounds;
    std::vector<uint64_t> counts;  // one per bound, plus +Inf
    double sum = 0;
    uint64_t count = 0;
    void Observe(double v);
  };
  mutable std::mutex mu_;
  std::map<std::tuple<std::string, int>, uint64_t> requests_;
  std::map<std::string, Histogram> request_seconds_;    // by endpoint
  std::map<std::string, Histogram> inference_seconds_;  // by model
  std::map<std::string, Histogram> batch_size_;         // by model
  std::map<std::tuple<std::string, std::string>, uint64_t> predictions_;
  std::map<std::string, std::tuple<std::string, std::string>>
      models_;  // slot -> version, type
  uint64_t fallbacks_ = 0;
  uint64_t loads_ok_ = 0, loads_failed_ = 0;
};

}  // namespace spatial::serving

#endif  // SPATIAL_SERVING_METRICS_H_
