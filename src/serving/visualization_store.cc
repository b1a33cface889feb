// VisualizationStore (visualization_store.h). Thread-safe.
#include "src/serving/visualization_store.h"

#include <cmath>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "opencv2/core.hpp"
#include "opencv2/imgproc.hpp"
#include "src/serving/live_accuracy.h"
#include "src/serving/responses.h"
#include "src/vision/codec.h"

namespace spatial::serving {

std::string VisualizationStore::Store(const inference::PreparedInput& input,
                                      const std::string& owner) {
  // The depth and normal maps are the spatial tensor's four planes.
  const auto side = static_cast<int>(
      std::lround(std::sqrt(static_cast<double>(input.spatial.size()) / 4.0)));
  if (side <= 0 || 4ull * side * side != input.spatial.size()) return "";
  auto plane = [&](int k) {
    return cv::Mat(side, side, CV_32F,
                   const_cast<float*>(input.spatial.data()) +
                       static_cast<size_t>(k) * side * side);
  };
  cv::Mat normals;
  cv::merge(std::vector<cv::Mat>{plane(1), plane(2), plane(3)}, normals);
  cv::Mat depth8, normals8;
  plane(0).convertTo(depth8, CV_8U, 255.0);
  cv::Mat shifted = (normals + cv::Scalar(1, 1, 1)) * 127.5;
  shifted.convertTo(normals8, CV_8UC3);
  cv::cvtColor(normals8, normals8,
               cv::COLOR_RGB2BGR);  // nx -> red, ny -> green, nz -> blue
  auto depth_png = vision::EncodePng(depth8);
  auto normals_png = vision::EncodePng(normals8);
  if (!depth_png.ok() || !normals_png.ok()) return "";
  // Random, not counted: an id says nothing about the others.
  const std::string id = RandomId128();
  std::lock_guard<std::mutex> lock(mu_);
  by_id_[id] = {std::move(*depth_png), std::move(*normals_png), owner};
  order_.push_back(id);
  while (order_.size() > 256) {
    by_id_.erase(order_.front());
    order_.pop_front();
  }
  return absl::StrCat("/visualizations/", id, "/depth.png");
}

http::HttpResponse VisualizationStore::Get(const std::string& path,
                                           const std::string& caller) const {
  // /visualizations/{id}/{depth|normals}.png
  std::vector<std::string> parts = absl::StrSplit(path, '/');
  if (parts.size() != 4 ||
      (parts[3] != "depth.png" && parts[3] != "normals.png")) {
    return Error(absl::NotFoundError(
        "no such visualization (use /visualizations/ID/depth.png "
        "or /visualizations/ID/normals.png)"));
  }
  std::lock_guard<std::mutex> lock(mu_);
  auto it = by_id_.find(parts[2]);
  // Another token's visualization is answered like a missing one: its
  // caller learns nothing, not even that the id exists.
  if (it == by_id_.end() || (owner_only_ && it->second.owner != caller)) {
    return Error(absl::NotFoundError(
        "visualization expired, never existed or was made with another "
        "token"));
  }
  http::HttpResponse r;
  r.content_type = "image/png";
  r.body =
      parts[3] == "depth.png" ? it->second.depth_png : it->second.normals_png;
  return r;
}

}  // namespace spatial::serving
