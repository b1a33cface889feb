#include "src/serving/prediction_cache.h"

#include <atomic>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "src/base/sha256.h"

namespace spatial::serving {
namespace {

const CacheModel kV1{"spatial-mllm", "spatial-v1"};
const CacheModel kV2{"spatial-mllm", "spatial-v2"};
const CacheModel kStandard{"standard-cnn", "spatial-v1"};  // same version id

std::string Sha(int i) { return base::Sha256Hex(absl::StrCat("image ", i)); }

CachedPrediction Result(int label, float confidence) {
  CachedPrediction p;
  p.prediction.label = label;
  p.prediction.confidence = confidence;
  p.prediction.probabilities.assign(6, (1 - confidence) / 5);
  p.prediction.probabilities[label] = confidence;
  p.features = vision::SpatialFeatures{};
  p.features->depth_mean = confidence;
  return p;
}

// The bytes one entry takes (all test entries have the same shape).
uint64_t OneEntry() {
  return PredictionCache::EntryBytes(
      absl::StrCat(kV1.kind, "\n", kV1.version, "\n", Sha(0)), Result(0, 0.5));
}

TEST(PredictionCacheTest, ReturnsWhatWasStoredAndCountsHitsAndMisses) {
  PredictionCache cache(1 << 20);
  EXPECT_FALSE(cache.Lookup(Sha(1), kV1).has_value());
  cache.Insert(Sha(1), kV1, Result(3, 0.9f));
  auto hit = cache.Lookup(Sha(1), kV1);
  ASSERT_TRUE(hit.has_value());
  EXPECT_EQ(hit->prediction.label, 3);
  EXPECT_FLOAT_EQ(hit->prediction.confidence, 0.9f);
  EXPECT_EQ(hit->prediction.probabilities,
            Result(3, 0.9f).prediction.probabilities);
  ASSERT_TRUE(hit->features.has_value());
  EXPECT_FLOAT_EQ(hit->features->depth_mean, 0.9f);
  EXPECT_FALSE(cache.Lookup(Sha(2), kV1).has_value());
  PredictionCacheStats s = cache.Stats();
  EXPECT_EQ(s.hits, 1u);
  EXPECT_EQ(s.misses, 2u);
  EXPECT_EQ(s.insertions, 1u);
  EXPECT_EQ(s.entries, 1u);
  EXPECT_EQ(s.bytes, OneEntry());
  EXPECT_EQ(s.capacity_bytes, 1u << 20);
}

TEST(PredictionCacheTest, SeparatesVersionsAndKinds) {
  PredictionCache cache(1 << 20);
  cache.Insert(Sha(1), kV1, Result(1, 0.6f));
  EXPECT_FALSE(cache.Lookup(Sha(1), kV2).has_value());
  EXPECT_FALSE(cache.Lookup(Sha(1), kStandard).has_value());
  cache.Insert(Sha(1), kV2, Result(2, 0.7f));
  cache.Insert(Sha(1), kStandard, Result(4, 0.8f));
  EXPECT_EQ(cache.Lookup(Sha(1), kV1)->prediction.label, 1);
  EXPECT_EQ(cache.Lookup(Sha(1), kV2)->prediction.label, 2);
  EXPECT_EQ(cache.Lookup(Sha(1), kStandard)->prediction.label, 4);
  EXPECT_EQ(cache.Stats().entries, 3u);
}

TEST(PredictionCacheTest, EvictsTheLeastRecentlyUsedFirst) {
  PredictionCache cache(3 * OneEntry());  // room for exactly three
  cache.Insert(Sha(1), kV1, Result(1, 0.5f));
  cache.Insert(Sha(2), kV1, Result(2, 0.5f));
  cache.Insert(Sha(3), kV1, Result(3, 0.5f));
  ASSERT_TRUE(cache.Lookup(Sha(1), kV1).has_value());  // 2 is now oldest
  cache.Insert(Sha(4), kV1, Result(4, 0.5f));
  EXPECT_FALSE(cache.Lookup(Sha(2), kV1).has_value());
  EXPECT_TRUE(cache.Lookup(Sha(1), kV1).has_value());
  EXPECT_TRUE(cache.Lookup(Sha(3), kV1).has_value());
  EXPECT_TRUE(cache.Lookup(Sha(4), kV1).has_value());
  // Order now (newest first): 4 3 1; re-inserting 1 refreshes it.
  cache.Insert(Sha(1), kV1, Result(5, 0.5f));
  cache.Insert(Sha(5), kV1, Result(5, 0.5f));
  EXPECT_FALSE(cache.Lookup(Sha(3), kV1).has_value());
  EXPECT_EQ(cache.Lookup(Sha(1), kV1)->prediction.label, 5);
  PredictionCacheStats s = cache.Stats();
  EXPECT_EQ(s.evictions, 2u);
  EXPECT_EQ(s.entries, 3u);
  EXPECT_EQ(s.bytes, 3 * OneEntry());
}

TEST(PredictionCacheTest, StaysWithinItsByteBound) {
  const uint64_t capacity = 10 * OneEntry() + OneEntry() / 2;
  PredictionCache cache(capacity);
  for (int i = 0; i < 100; ++i) {
    cache.Insert(Sha(i), i % 2 ? kV1 : kV2, Result(i % 6, 0.5f));
    PredictionCacheStats s = cache.Stats();
    ASSERT_LE(s.bytes, capacity) << "after insert " << i;
    ASSERT_EQ(s.bytes, s.entries * OneEntry());
  }
  PredictionCacheStats s = cache.Stats();
  EXPECT_EQ(s.entries, 10u);
  EXPECT_EQ(s.evictions, 90u);
  // The ten newest survive.
  for (int i = 90; i < 100; ++i)
    EXPECT_TRUE(cache.Lookup(Sha(i), i % 2 ? kV1 : kV2).has_value()) << i;
}

TEST(PredictionCacheTest, ZeroCapacityDisablesAndOversizedIsNotStored) {
  PredictionCache off(0);
  EXPECT_FALSE(off.enabled());
  off.Insert(Sha(1), kV1, Result(1, 0.5f));
  EXPECT_FALSE(off.Lookup(Sha(1), kV1).has_value());
  EXPECT_EQ(off.Stats().entries, 0u);
  EXPECT_EQ(off.Stats().misses, 0u);  // not a miss: there is no cache

  PredictionCache tiny(OneEntry() - 1);
  tiny.Insert(Sha(1), kV1, Result(1, 0.5f));
  EXPECT_EQ(tiny.Stats().entries, 0u);
  EXPECT_EQ(tiny.Stats().bytes, 0u);
}

TEST(PredictionCacheTest, RetainOnlyDropsOtherModelsAndRefusesTheirInserts) {
  PredictionCache cache(1 << 20);
  for (int i = 0; i < 5; ++i) cache.Insert(Sha(i), kV1, Result(1, 0.5f));
  cache.Insert(Sha(0), kStandard, Result(2, 0.5f));
  cache.RetainOnly({kV2, kStandard});  // v1 was swapped for v2
  PredictionCacheStats s = cache.Stats();
  EXPECT_EQ(s.entries, 1u);
  EXPECT_EQ(s.invalidations, 5u);
  EXPECT_EQ(s.bytes, OneEntry());
  EXPECT_FALSE(cache.Lookup(Sha(0), kV1).has_value());
  EXPECT_TRUE(cache.Lookup(Sha(0), kStandard).has_value());
  // A request that started on v1 and finishes after the swap.
  cache.Insert(Sha(9), kV1, Result(1, 0.5f));
  EXPECT_FALSE(cache.Lookup(Sha(9), kV1).has_value());
  cache.Insert(Sha(9), kV2, Result(3, 0.5f));
  EXPECT_EQ(cache.Lookup(Sha(9), kV2)->prediction.label, 3);
}

// Many threads looking up, inserting and swapping at once: the invariants
// hold, and under ThreadSanitizer (the tsan preset) there is no race.
TEST(PredictionCacheTest, ConcurrentUseKeepsTheInvariants) {
  const uint64_t capacity = 50 * OneEntry();
  PredictionCache cache(capacity);
  std::atomic<uint64_t> lookups{0}, wrong{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 2000; ++i) {
        // Every other lookup is one of 10 hot images (hits even when a
        // thread runs alone, as on a loaded machine), the rest walk 200
        // cold ones (more than the cache holds: evictions).
        const int image = i % 2 == 0 ? (i / 2) % 10 : 10 + (i * 7 + t) % 200;
        const CacheModel& m = image % 3 ? kV1 : kV2;
        if (auto hit = cache.Lookup(Sha(image), m)) {
          // Each (image, model) always maps to the same result.
          if (hit->prediction.label != image % 6) ++wrong;
        } else {
          cache.Insert(Sha(image), m, Result(image % 6, 0.5f));
        }
        ++lookups;
        if (t == 0 && i % 500 == 0) cache.RetainOnly({kV1, kV2});
      }
    });
  }
  for (auto& th : threads) th.join();
  PredictionCacheStats s = cache.Stats();
  EXPECT_EQ(wrong.load(), 0u);
  EXPECT_EQ(s.hits + s.misses, lookups.load());
  EXPECT_LE(s.bytes, capacity);
  EXPECT_EQ(s.bytes, s.entries * OneEntry());
  EXPECT_EQ(s.insertions, s.entries + s.evictions + s.invalidations);
  EXPECT_GT(s.hits, 0u);
  EXPECT_GT(s.evictions, 0u);
}

}  // namespace
}  // namespace spatial::serving
