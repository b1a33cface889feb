// PredictionCache: results of /classify kept in memory, keyed by the sha256 of
// the uploaded bytes and the model (kind and version) that produced them, so
// that the same image sent again to the same model skips decoding,
// preprocessing and inference.
//
// Bounded in bytes (an estimate of each entry's heap use, see EntryBytes);
// the least recently used entries are evicted first. A stale answer cannot be
// returned since the version is part of the key; RetainOnly() additionally
// drops the entries of versions no longer served (a model swap) and refuses
// later inserts for them (a request that started on the old version and
// finishes after the swap), so their memory is freed at once.
//
// Thread-safe: one mutex around the map and the LRU list; every call is
// O(1) apart from RetainOnly() (O(entries)).
#ifndef SPATIAL_SERVING_PREDICTION_CACHE_H_
#define SPATIAL_SERVING_PREDICTION_CACHE_H_

#include <cstdint>
#include <list>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <unordered_map>
#include <utility>

#include "src/inference/classifier.h"
#include "src/serving/served_model.h"
#include "src/vision/preprocess.h"

namespace spatial::serving {

// The response header of every classification: "hit" when the answer came
// from the cache, "miss" when it was computed (spatial bench counts it).
inline constexpr char kPredictionCacheHeader[] = "X-Prediction-Cache";

// Which model produced a result: its kind (manifest model_type) and version.
struct CacheModel {
  std::string kind;     // "spatial-mllm", "standard-cnn"
  std::string version;  // the served version id
  bool operator<(const CacheModel& o) const {
    return std::tie(kind, version) < std::tie(o.kind, o.version);
  }
};

inline CacheModel CacheModelOf(const ServedModel& m) {
  return {m.manifest().model_type, m.version};
}

// What a hit gives back: everything a classify answer needs that the image
// determines (the request's options are applied when answering).
struct CachedPrediction {
  inference::Prediction prediction;
  std::optional<vision::SpatialFeatures> features;  // spatial models only
};

struct PredictionCacheStats {
  uint64_t hits = 0, misses = 0;
  uint64_t insertions = 0;     // new entries (a refresh is not one)
  uint64_t evictions = 0;      // dropped to stay within the byte bound
  uint64_t invalidations = 0;  // dropped because their model left (swap)
  uint64_t bytes = 0, entries = 0;
  uint64_t capacity_bytes = 0;
};

class PredictionCache {
 public:
  // `capacity_bytes` 0 disables the cache (enabled() is false; Lookup
  // misses without counting, Insert keeps nothing).
  explicit PredictionCache(uint64_t capacity_bytes);
  PredictionCache(const PredictionCache&) = delete;
  PredictionCache& operator=(const PredictionCache&) = delete;

  bool enabled() const { return capacity_bytes_ > 0; }

  // The result of `model` for the image whose sha256 (hex) is
  // `image_sha256`, if cached (it becomes the most recently used). Counts a
  // hit or a miss.
  std::optional<CachedPrediction> Lookup(const std::string& image_sha256,
                                         const CacheModel& model);

  // Stores (or refreshes) a result, evicting the least recently used entries
  // until it fits. An entry larger than the whole cache, or for a model that
  // RetainOnly() has excluded, is not stored.
  void Insert(const std::string& image_sha256, const CacheModel& model,
              CachedPrediction value);

  // From now on only these models' results are kept: drops every other
  // entry (counted as invalidations) and refuses inserts for other models.
  void RetainOnly(std::set<CacheModel> served);

  PredictionCacheStats Stats() const;

  // The estimate of heap bytes an entry takes (key, value, list and map
  // nodes), which the capacity bounds.
  static uint64_t EntryBytes(const std::string& key,
                             const CachedPrediction& value);

 private:
  struct Entry {
    std::string key;
    CacheModel model;
    CachedPrediction value;
    uint64_t bytes = 0;
  };
  using List = std::list<Entry>;  // front = most recently used

  static std::string Key(const std::string& image_sha256,
                         const CacheModel& model);
  void EraseLocked(List::iterator it);

  const uint64_t capacity_bytes_;
  mutable std::mutex mu_;
  List lru_;                                               // guarded by mu_
  std::unordered_map<std::string, List::iterator> index_;  // guarded by mu_
  std::optional<std::set<CacheModel>> served_;  // guarded by mu_; none: all
  PredictionCacheStats stats_;                  // guarded by mu_
};

}  // namespace spatial::serving

#endif  // SPATIAL_SERVING_PREDICTION_CACHE_H_
