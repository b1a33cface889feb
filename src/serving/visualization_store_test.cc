// VisualizationStore: the PNGs it keeps are the image's depth and normal
// maps, as ComputeSpatialMaps makes them, read from the prepared input's
// spatial tensor (which is all a PreparedInput keeps of them).
#include "src/serving/visualization_store.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "opencv2/imgproc.hpp"
#include "src/inference/classifier.h"
#include "src/vision/codec.h"
#include "src/vision/decode.h"
#include "src/vision/preprocess.h"
#include "src/vision/renderer.h"
#include "tests/test_paths.h"

namespace spatial::serving {
namespace {

TEST(VisualizationStoreTest, KeepsTheDepthAndNormalMapsOfTheInput) {
  auto manifest = inference::LoadManifest(spatial::testing::SourceDir() +
                                          "/models/spatial-pizza-v1");
  ASSERT_TRUE(manifest.ok()) << manifest.status();
  auto img = vision::DecodeImage(vision::RenderPizza(2, 77, 0, 128).jpeg);
  ASSERT_TRUE(img.ok());
  const inference::PreparedInput input =
      inference::PrepareInput(*manifest, *img);
  const vision::SpatialMaps maps = vision::ComputeSpatialMaps(
      vision::ResizeSquare(*img, manifest->spatial_size));
  cv::Mat want_depth, want_normals;
  maps.depth.convertTo(want_depth, CV_8U, 255.0);
  cv::Mat shifted = (maps.normals + cv::Scalar(1, 1, 1)) * 127.5;
  shifted.convertTo(want_normals, CV_8UC3);
  cv::cvtColor(want_normals, want_normals, cv::COLOR_RGB2BGR);

  VisualizationStore store(/*owner_only=*/false);
  const std::string url = store.Store(input, "");
  ASSERT_FALSE(url.empty());
  const std::string base = url.substr(0, url.rfind('/'));
  auto depth_png = store.Get(url, "");
  auto normals_png = store.Get(base + "/normals.png", "");
  ASSERT_EQ(depth_png.status, 200) << depth_png.body;
  ASSERT_EQ(normals_png.status, 200) << normals_png.body;
  auto depth = vision::DecodePng(depth_png.body);
  auto normals = vision::DecodePng(normals_png.body);
  ASSERT_TRUE(depth.ok() && normals.ok());
  // DecodePng gives 3 channels; a grey PNG's are all the same.
  ASSERT_EQ(depth->channels(), 3);
  ASSERT_EQ(normals->channels(), 3);
  std::vector<cv::Mat> grey;
  cv::split(*depth, grey);
  for (const cv::Mat& channel : grey)
    EXPECT_EQ(cv::norm(channel, want_depth, cv::NORM_INF), 0);
  EXPECT_EQ(cv::norm(*normals, want_normals, cv::NORM_INF), 0);

  // An input without a spatial tensor has no maps to keep.
  inference::PreparedInput visual_only;
  visual_only.visual = input.visual;
  EXPECT_EQ(store.Store(visual_only, ""), "");
}

}  // namespace
}  // namespace spatial::serving
