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

// Controls, bidi overrides and broken UTF-8 are escaped; text, UTF-8 letters
// included, is kept.
TEST(TextTest, EscapeForTerminalEscapesControlsOnly) {
  struct Case {
    std::string in, want;
  };
  const Case cases[] = {
      {"plain text 1.0_a-b", "plain text 1.0_a-b"},
      {"", ""},
      {"two\nlines", "two\\nlines"},
      {"cr\r tab\t", "cr\\r tab\\t"},
      {"\x1b[2Jclear", "\\x1b[2Jclear"},
      {std::string("nul\0x", 5), "nul\\x00x"},
      {"bell\x07 del\x7f", "bell\\x07 del\\x7f"},
      {"back\\slash", "back\\\\slash"},
      {"p\xc3\xa2te \xe2\x82\xac \xf0\x9f\x8d\x95",
       "p\xc3\xa2te \xe2\x82\xac \xf0\x9f\x8d\x95"},
      // C1 CSI (U+009B) and a right-to-left override (U+202E).
      {"\xc2\x9b"
       "2J",
       "\\u009b2J"},
      {"a\xe2\x80\xae"
       "b",
       "a\\u202eb"},
      {"\xe2\x81\xa6x", "\\u2066x"},
      // Not UTF-8: a lone continuation byte, a truncated sequence, an
      // overlong form, a surrogate.
      {"\x80", "\\x80"},
      {"\xe2\x82", "\\xe2\\x82"},
      {"\xc0\xaf", "\\xc0\\xaf"},
      {"\xed\xa0\x80", "\\xed\\xa0\\x80"},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(EscapeForTerminal(c.in), c.want) << c.in;
  }
}

// What an escape produces never holds a control byte.
TEST(TextTest, EscapeForTerminalLeavesNoControlByte) {
  std::string all;
  for (int b = 0; b < 256; ++b) all += static_cast<char>(b);
  for (unsigned char c : EscapeForTerminal(all)) {
    EXPECT_FALSE(c < 0x20 || c == 0x7f) << static_cast<int>(c);
  }
}

}  // namespace
}  // namespace spatial::base
