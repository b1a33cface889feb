#include "src/serving/prediction_cache.h"

#include "absl/strings/str_cat.h"

namespace spatial::serving {

PredictionCache::PredictionCache(uint64_t capacity_bytes)
    : capacity_bytes_(capacity_bytes) {
  stats_.capacity_bytes = capacity_bytes;
}

std::string PredictionCache::Key(const std::string& image_sha256,
                                 const CacheModel& model) {
  // '\n' cannot occur in a version id, a model type or a hex digest, so
  // distinct triples give distinct keys.
  return absl::StrCat(model.kind, "\n", model.version, "\n", image_sha256);
}

uint64_t PredictionCache::EntryBytes(const std::string& key,
                                     const CachedPrediction& value) {
  // The key is held twice (map and list); the strings' heap blocks, the
  // probabilities, and a fixed allowance for the list node, the hash node
  // and bucket, and the std::string headers.
  constexpr uint64_t kNodeOverhead = 160;
  return kNodeOverhead + sizeof(Entry) + 2 * key.size() +
         value.prediction.probabilities.capacity() * sizeof(float);
}

std::optional<CachedPrediction> PredictionCache::Lookup(
    const std::string& image_sha256, const CacheModel& model) {
  if (!enabled()) return std::nullopt;
  const std::string key = Key(image_sha256, model);
  std::lock_guard<std::mutex> lock(mu_);
  auto it = index_.find(key);
  if (it == index_.end()) {
    ++stats_.misses;
    return std::nullopt;
  }
  ++stats_.hits;
  lru_.splice(lru_.begin(), lru_, it->second);  // most recently used
  return it->second->value;
}

void PredictionCache::Insert(const std::string& image_sha256,
                             const CacheModel& model, CachedPrediction value) {
  if (!enabled()) return;
  std::string key = Key(image_sha256, model);
  const uint64_t bytes = EntryBytes(key, value);
  if (bytes > capacity_bytes_) return;
  std::lock_guard<std::mutex> lock(mu_);
  if (served_ && !served_->count(model)) return;  // its model has left
  // A refresh replaces the entry (not counted as another insertion).
  bool replaced = false;
  if (auto it = index_.find(key); it != index_.end()) {
    EraseLocked(it->second);
    replaced = true;
  }
  while (!lru_.empty() && stats_.bytes + bytes > capacity_bytes_) {
    EraseLocked(std::prev(lru_.end()));
    ++stats_.evictions;
  }
  lru_.push_front(Entry{key, model, std::move(value), bytes});
  index_.emplace(std::move(key), lru_.begin());
  stats_.bytes += bytes;
  ++stats_.entries;
  if (!replaced) ++stats_.insertions;
}

void PredictionCache::RetainOnly(std::set<CacheModel> served) {
  std::lock_guard<std::mutex> lock(mu_);
  for (auto it = lru_.begin(); it != lru_.end();) {
    auto next = std::next(it);
    if (!served.count(it->model)) {
      EraseLocked(it);
      ++stats_.invalidations;
    }
    it = next;
  }
  served_ = std::move(served);
}

void PredictionCache::EraseLocked(List::iterator it) {
  stats_.bytes -= it->bytes;
  --stats_.entries;
  index_.erase(it->key);
  lru_.erase(it);
}

PredictionCacheStats PredictionCache::Stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stats_;
}

}  // namespace spatial::serving
