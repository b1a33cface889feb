#include "src/loadtest/parse.h"

#include "gtest/gtest.h"

namespace spatial::loadtest {
namespace {

// Durations with units parse; anything else is a usage error.
TEST(ParseDurationTest, AcceptsUnitsAndRejectsTheRest) {
  struct Case {
    const char* text;
    bool ok;
    int64_t ns;
  };
  const Case cases[] = {
      {"500ms", true, 500000000},
      {"10s", true, 10000000000},
      {"2m", true, 120000000000},
      {"1.5s", true, 1500000000},
      {"250us", true, 250000},
      {"7ns", true, 7},
      {"1h", true, 3600000000000},
      {" 3s ", true, 3000000000},
      {"0s", true, 0},
      {"10", false, 0},
      {"", false, 0},
      {"s", false, 0},
      {"-1s", false, 0},
      {"5 parsecs", false, 0},
      {"1.2.3s", false, 0},
      {"5d", false, 0},
      {"99999999999h", false, 0},
  };
  for (const Case& c : cases) {
    auto d = ParseDuration(c.text);
    EXPECT_EQ(d.ok(), c.ok) << c.text;
    if (c.ok && d.ok()) {
      EXPECT_EQ(absl::ToInt64Nanoseconds(*d), c.ns) << c.text;
    } else if (!c.ok) {
      EXPECT_EQ(d.status().code(), absl::StatusCode::kInvalidArgument)
          << c.text;
      EXPECT_NE(d.status().message().find("examples"), absl::string_view::npos);
    }
  }
}

// Concurrency: one level, additive ranges and multiplicative sweeps.
TEST(ParseConcurrencyLevelsTest, ExpandsRanges) {
  struct Case {
    const char* text;
    std::vector<int> levels;  // empty: a usage error
  };
  const Case cases[] = {
      {"16", {16}},
      {"1:64:x2", {1, 2, 4, 8, 16, 32, 64}},
      {"1:50:x2", {1, 2, 4, 8, 16, 32}},
      {"4:16:4", {4, 8, 12, 16}},
      {"1:3", {1, 2, 3}},
      {"2:2", {2}},
      {"0", {}},
      {"8:4", {}},
      {"1:8:x1", {}},
      {"1:8:0", {}},
      {"a:b", {}},
      {"1:2:3:4", {}},
      {"", {}},
      {"200000", {}},
  };
  for (const Case& c : cases) {
    auto got = ParseConcurrencyLevels(c.text);
    if (c.levels.empty()) {
      EXPECT_EQ(got.status().code(), absl::StatusCode::kInvalidArgument)
          << c.text;
    } else {
      ASSERT_TRUE(got.ok()) << c.text << ": " << got.status();
      EXPECT_EQ(*got, c.levels) << c.text;
    }
  }
}

TEST(FormatLatencyTest, PicksAReadableUnit) {
  EXPECT_EQ(FormatLatency(512), "512ns");
  EXPECT_EQ(FormatLatency(850000), "850us");
  EXPECT_EQ(FormatLatency(1234567), "1.23ms");
  EXPECT_EQ(FormatLatency(123456789), "123.5ms");
  EXPECT_EQ(FormatLatency(1520000000), "1.52s");
}

}  // namespace
}  // namespace spatial::loadtest
