#include "src/base/text.h"

#include "gtest/gtest.h"

namespace spatial::base {
namespace {

// Table of identifiers and whether the registry accepts them.
TEST(TextTest, CheckIdentifierFollowsTheGrammar) {
  struct Case {
    std::string id;
    bool ok;
  };
  const Case cases[] = {
      {"spatial-mllm-v1.2.0", true},
      {"a", true},
      {"A_b-9.x", true},
      {std::string(128, 'a'), true},
      {std::string(129, 'a'), false},
      {"", false},
      {"-leading", false},
      {".hidden", false},
      {"../../etc/passwd", false},
      {"a/b", false},
      {"a..b", false},
      {"has space", false},
      {std::string("nul\0x", 5), false},
      {"ümlaut", false},
  };
  for (const auto& c : cases) {
    absl::Status s = CheckIdentifier(c.id, "version id");
    EXPECT_EQ(s.ok(), c.ok) << c.id;
    if (!c.ok) {
      EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
    }
  }
}

TEST(TextTest, SuggestsCloseMatches) {
  std::vector<std::string> ids = {"spatial-v1", "spatial-v2", "standard-v1",
                                  "other"};
  auto m = ClosestMatches("spatial-v3", ids);
  ASSERT_GE(m.size(), 2u);
  EXPECT_EQ(m[0], "spatial-v1");
  EXPECT_EQ(DidYouMean("zzzzzzzz", ids), "");
  EXPECT_NE(DidYouMean("stagin", {"staging", "production"}).find("staging"),
            std::string::npos);
}

TEST(TextTest, Iso8601RoundTrips) {
  absl::Time t = absl::FromUnixMicros(1764108180123456);
  std::string s = FormatIso8601(t);
  EXPECT_EQ(s, "2025-11-25T22:03:00.123456Z");
  auto back = ParseIso8601(s);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, t);
  EXPECT_EQ(ParseIso8601("yesterday").status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace spatial::base
