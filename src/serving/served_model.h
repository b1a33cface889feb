// ServedModel: one loaded model bundle with its inference pool, as the request
// handlers see it. Shared (shared_ptr) so that a request in flight keeps the
// model it started on alive.
#ifndef SPATIAL_SERVING_SERVED_MODEL_H_
#define SPATIAL_SERVING_SERVED_MODEL_H_

#include <memory>
#include <string>

#include "src/serving/batcher.h"

namespace spatial::serving {

// One loaded model: where it came from and its inference pool.
struct ServedModel {
  std::string version;  // registry version id, or the bundle's name-version
  std::string bundle_dir;
  std::unique_ptr<Batcher> batcher;
  const inference::Manifest& manifest() const { return batcher->manifest(); }
};

}  // namespace spatial::serving

#endif  // SPATIAL_SERVING_SERVED_MODEL_H_
