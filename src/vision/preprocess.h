// The one implementation of the model inputs, used by training (through
// `spatial data tensors`), evaluation and serving:
//  - visual: resize, BGR -> RGB, [0,1], (x - mean) / std, CHW float32;
//  - spatial: an edge-based depth estimate from the single image and the
//    surface normals of that depth, 4 channels (depth, nx, ny, nz).
// Pure functions; thread-safe.
#ifndef SPATIAL_VISION_PREPROCESS_H_
#define SPATIAL_VISION_PREPROCESS_H_

#include <array>
#include <initializer_list>
#include <vector>

#include "opencv2/core.hpp"

namespace spatial::vision {

struct Normalization {
  std::array<float, 3> mean;  // RGB
  std::array<float, 3> std;   // RGB
};

// The original project's statistics of its pizza images.
inline constexpr Normalization kPizzaNormalization = {
    {0.47935871f, 0.39572979f, 0.32422196f},
    {0.23475593f, 0.25177728f, 0.26392367f}};

// Resizes `bgr` to size x size with area interpolation (bilinear when growing).
cv::Mat ResizeSquare(const cv::Mat& bgr, int size);

// Writes 3 * size * size floats (R plane, G plane, B plane) to `out`.
void VisualTensor(const cv::Mat& bgr, int size, const Normalization& norm,
                  float* out);

// Depth (CV_32F in [0,1]) and unit normals (CV_32FC3: nx, ny, nz) of an image.
struct SpatialMaps {
  cv::Mat depth;
  cv::Mat normals;
};

// The depth heuristic of SPEC.md on `bgr` at its own size:
// grey in [0,1]; depth starts at 0.5; +0.3 where grey is above its 75th
// percentile and the pixel lies in the border band (closer than min(h,w)/8 to
// the image edge); +0.15 where |Laplacian| is above its 80th percentile and
// grey lies between its 30th and 75th percentiles; -0.2 where grey is below
// its 25th percentile; Gaussian blur 7x7 sigma 2; clip to [0,1]. Percentiles
// are over the whole image, linearly interpolated (numpy's default). Normals
// are (-dz/dx, -dz/dy, 1) normalised with 3x3 Sobel derivatives.
SpatialMaps ComputeSpatialMaps(const cv::Mat& bgr);

// Resizes to size x size, computes the maps and writes 4 * size * size floats
// (depth, nx, ny, nz planes) to `out`. Returns the maps (for features).
SpatialMaps SpatialTensor(const cv::Mat& bgr, int size, float* out);

// Statistics of the maps, reported by the API as spatial_features.
struct SpatialFeatures {
  float depth_mean = 0, depth_std = 0, depth_p10 = 0, depth_p50 = 0,
        depth_p90 = 0;
  float raised_fraction = 0;    // depth > 0.6
  float recessed_fraction = 0;  // depth < 0.4
  float normal_z_mean = 0;      // 1 = flat
  float mean_tilt_degrees = 0;  // mean angle of the normals from vertical
  float surface_roughness = 0;  // std of nz
};
SpatialFeatures ComputeSpatialFeatures(const SpatialMaps& maps);

// Linear-interpolated percentile (q in [0,100]) of finite `values` (left
// sorted), as numpy's default; by a linear-time radix sort.
float Percentile(std::vector<float>& values, float q);
// Several percentiles of the same values (left sorted), from one sort; each
// is what Percentile(values, q) gives.
std::vector<float> Percentiles(std::vector<float>& values,
                               std::initializer_list<float> qs);

}  // namespace spatial::vision

#endif  // SPATIAL_VISION_PREPROCESS_H_
