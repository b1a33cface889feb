#include "src/vision/renderer.h"

#include "gtest/gtest.h"
#include "src/vision/decode.h"

namespace spatial::vision {
namespace {

// The same (seed, class, index) renders the same bytes; another seed does not.
TEST(RendererTest, IsDeterministicPerSeed) {
  RenderedPizza a = RenderPizza(2, 42, 7, 96);
  RenderedPizza b = RenderPizza(2, 42, 7, 96);
  RenderedPizza c = RenderPizza(2, 43, 7, 96);
  EXPECT_EQ(a.jpeg, b.jpeg);
  EXPECT_NE(a.jpeg, c.jpeg);
  EXPECT_EQ(a.parameters, b.parameters);
}

// Every class renders a decodable JPEG of the asked size with its parameters.
TEST(RendererTest, EveryClassRendersAValidJpeg) {
  for (int label = 0; label < kNumClasses; ++label) {
    RenderedPizza p = RenderPizza(label, 1, 0, 128);
    auto img = DecodeImage(p.jpeg);
    ASSERT_TRUE(img.ok()) << kClassNames[label];
    EXPECT_EQ(img->cols, 128);
    EXPECT_EQ(p.parameters["class"], kClassNames[label]);
    EXPECT_EQ(p.parameters["label"], label);
    EXPECT_TRUE(p.parameters.contains("jpeg_quality"));
  }
}

// A shift moves its nuisance outside the standard ranges and says so.
TEST(RendererTest, ShiftChangesTheNuisanceRanges) {
  auto all = ParseShift("all");
  ASSERT_TRUE(all.ok());
  int low_shifted = 0, low_standard = 0;
  for (int i = 0; i < 30; ++i) {
    RenderedPizza p = RenderPizza(0, 9, i, 48, *all);
    EXPECT_EQ(p.parameters["shift"], "all");
    low_shifted += p.parameters["jpeg_quality"].get<int>() <= 70;
    low_standard +=
        RenderPizza(0, 9, i, 48).parameters["jpeg_quality"].get<int>() <= 70;
  }
  EXPECT_EQ(low_shifted, 30);   // shifted quality is 35..70
  EXPECT_LT(low_standard, 20);  // standard is 60..95
  EXPECT_EQ(ParseShift("sideways").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ClassIndex("burnt").value(), 1);
  EXPECT_EQ(ClassIndex("pineapple").status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace spatial::vision
