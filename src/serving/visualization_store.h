// VisualizationStore: the depth and normals PNGs of recent /classify requests
// that asked for them (enable_visualization), served at
// /visualizations/{id}/{depth|normals}.png. Ids are 128 random bits (hex):
// unguessable, saying nothing of the others. The newest 256 are kept. With
// `owner_only` a visualization answers only the token whose request made it;
// another token's is answered like a missing one. Thread-safe (one mutex).
#ifndef SPATIAL_SERVING_VISUALIZATION_STORE_H_
#define SPATIAL_SERVING_VISUALIZATION_STORE_H_

#include <deque>
#include <map>
#include <mutex>
#include <string>

#include "src/inference/classifier.h"
#include "src/serving/http/http_server.h"

namespace spatial::serving {

class VisualizationStore {
 public:
  explicit VisualizationStore(bool owner_only) : owner_only_(owner_only) {}

  // Encodes the maps of `input` (a spatial model's) and keeps them for
  // `owner` (the sha256 of the caller's token; "" for none). The URL of the
  // depth map; "" when the maps could not be encoded.
  std::string Store(const inference::PreparedInput& input,
                    const std::string& owner);

  // GET `path` (/visualizations/...) by `caller`: the PNG, or 404.
  http::HttpResponse Get(const std::string& path,
                         const std::string& caller) const;

 private:
  struct Stored {
    std::string depth_png, normals_png;
    std::string owner;
  };
  const bool owner_only_;
  mutable std::mutex mu_;
  std::map<std::string, Stored> by_id_;  // guarded by mu_
  std::deque<std::string> order_;        // guarded by mu_; oldest first
};

}  // namespace spatial::serving

#endif  // SPATIAL_SERVING_VISUALIZATION_STORE_H_
