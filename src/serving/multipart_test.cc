#include "src/serving/multipart.h"

#include "gtest/gtest.h"

namespace spatial::serving {
namespace {

std::string Body(const std::string& b) {
  return "--" + b + "\r\n" +
         "Content-Disposition: form-data; name=\"file\"; "
         "filename=\"pizza.jpg\"\r\n" +
         "Content-Type: image/JPEG\r\n\r\n" +
         std::string("\xff\xd8\r\n--x\r\n\xff\xd9", 10) + "\r\n--" + b +
         "\r\n" +
         "Content-Disposition: form-data; "
         "name=\"use_spatial\"\r\n\r\ntrue\r\n--" +
         b + "--\r\n";
}

// Two parts with names, filename, lower-cased type, and bodies that contain
// CRLF and look-alike boundaries.
TEST(MultipartTest, ParsesPartsAndBodies) {
  const std::string body = Body("XyZ");  // the parts view it
  auto parts = ParseMultipart(body, "XyZ");
  ASSERT_TRUE(parts.ok()) << parts.status();
  ASSERT_EQ(parts->size(), 2u);
  EXPECT_EQ((*parts)[0].name, "file");
  EXPECT_EQ((*parts)[0].filename, "pizza.jpg");
  EXPECT_EQ((*parts)[0].content_type, "image/jpeg");
  EXPECT_EQ((*parts)[0].body,
            absl::string_view("\xff\xd8\r\n--x\r\n\xff\xd9", 10));
  EXPECT_EQ((*parts)[1].name, "use_spatial");
  EXPECT_EQ((*parts)[1].body, "true");
}

TEST(MultipartTest, ExtractsBoundaryFromContentType) {
  EXPECT_EQ(*MultipartBoundary("multipart/form-data; boundary=abc123"),
            "abc123");
  EXPECT_EQ(*MultipartBoundary(
                "Multipart/Form-Data; charset=utf-8; boundary=\"q r\""),
            "q r");
  EXPECT_EQ(MultipartBoundary("application/json").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(MultipartBoundary("multipart/form-data").status().code(),
            absl::StatusCode::kInvalidArgument);
}

// Table of broken bodies: each is InvalidArgument, never a crash.
TEST(MultipartTest, RejectsMalformedBodies) {
  const std::string good = Body("B");
  const std::string cases[] = {
      "",
      "no boundary here",
      good.substr(0, good.size() / 2),  // truncated
      good.substr(0, good.size() - 4),  // closing boundary cut
      "--B\r\nContent-Type: text/plain\r\n\r\nx\r\n--B--",  // no disposition
      "--B\r\n\r\nx\r\n--B--",                              // no headers
      "--B\r\nContent-Disposition: attachment; name=a\r\n\r\nx\r\n--B--",
      "--B\r\nContent-Disposition: form-data; name=a",  // headers never end
      "--Bjunk\r\n",
  };
  for (const auto& c : cases) {
    auto r = ParseMultipart(c, "B");
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument) << c;
  }
  MultipartLimits limits;
  limits.max_parts = 1;
  EXPECT_EQ(ParseMultipart(good, "B", limits).status().code(),
            absl::StatusCode::kInvalidArgument);
}

// Deterministic fuzzing: random edits of a valid body never crash and any
// returned part lies inside the body.
TEST(MultipartTest, SurvivesRandomCorruption) {
  const std::string good = Body("fuzz");
  uint32_t state = 7;
  for (int round = 0; round < 5000; ++round) {
    std::string b = good;
    int edits = 1 + round % 6;
    for (int k = 0; k < edits; ++k) {
      state = state * 1664525u + 1013904223u;
      size_t pos = state % b.size();
      switch ((state >> 8) % 3) {
        case 0:
          b[pos] = static_cast<char>(state >> 16);
          break;
        case 1:
          b.erase(pos, 1 + (state >> 20) % 8);
          break;
        default:
          b.insert(pos, "\r\n--fuzz");
          break;
      }
      if (b.empty()) b = "x";
    }
    auto r = ParseMultipart(b, "fuzz");
    if (!r.ok()) continue;
    for (const auto& p : *r) {
      EXPECT_GE(p.body.data(), b.data());
      EXPECT_LE(p.body.data() + p.body.size(), b.data() + b.size());
    }
  }
}

}  // namespace
}  // namespace spatial::serving
