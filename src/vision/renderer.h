// A procedural, top-down pizza renderer for the six classes. What a camera
// over an oven varies (background, light, camera tilt, scale, rotation,
// noise, blur, JPEG quality) is drawn from the same distributions for every
// class; only the pizza's state depends on the label. The camera is aimed at
// the centre of the food's area (a whole pizza's centre, a lone slice's
// centroid) from the same distance for every class, so a slice is framed close
// or far exactly as a whole pizza is. renderer_leak_test.cc checks every
// recorded nuisance parameter per class. Deterministic for a (seed, class,
// index); thread-safe (no shared state).
#ifndef SPATIAL_VISION_RENDERER_H_
#define SPATIAL_VISION_RENDERER_H_

#include <array>
#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"
#include "opencv2/core.hpp"

namespace spatial::vision {

// Index order is the original project's: 0 basic .. 5 segment.
inline constexpr std::array<const char*, 6> kClassNames = {
    "basic", "burnt", "combined", "mixed", "progression", "segment"};
inline constexpr int kNumClasses = 6;

// Index of a class name; InvalidArgument naming the known ones otherwise.
absl::StatusOr<int> ClassIndex(const std::string& name);

// The nuisance distributions. The default is the training and held-out
// distribution; a shift moves some of them out of it, for robustness figures:
// lighting (harsher light, other brightness, a colour cast), blur (more blur
// and noise, lower JPEG quality), geometry (other scales, stronger tilt).
struct RenderDistribution {
  bool lighting = false;
  bool blur = false;
  bool geometry = false;
  bool shifted() const { return lighting || blur || geometry; }
  std::string Name() const;
};
// "" or "none" = no shift; "lighting", "blur", "geometry", or "all".
absl::StatusOr<RenderDistribution> ParseShift(const std::string& name);

struct RenderedPizza {
  cv::Mat bgr;       // size x size, 8-bit
  std::string jpeg;  // the encoded image (what a camera would send)
  // Every drawn parameter, for labels and audits (render_params.jsonl): the
  // camera as applied (radius_px of the whole pizza, center where the aim
  // point lands, rotation_deg, tilt and its corner shifts), light, background,
  // noise, blur, JPEG quality, toppings, and the pizza's state.
  nlohmann::json parameters;
};

// Renders one pizza of class `label` (0..5). The image is size x size.
RenderedPizza RenderPizza(int label, uint64_t seed, int index, int size,
                          RenderDistribution dist = {});

}  // namespace spatial::vision

#endif  // SPATIAL_VISION_RENDERER_H_
