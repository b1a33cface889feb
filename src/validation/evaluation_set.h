// The evaluation set an environment names (environment.evaluation in
// config/environments.json): a render spec (seed, images per class, shift,
// size) drawn by the renderer, or a labelled folder (labels.csv, as `spatial
// data render` writes it) pinned by its sha256. Building a set reads or
// renders every image; pure otherwise. Thread-safe (no shared state).
#ifndef SPATIAL_VALIDATION_EVALUATION_SET_H_
#define SPATIAL_VALIDATION_EVALUATION_SET_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"
#include "src/registry/model_version.h"

namespace spatial::validation {

struct EvaluationSpec {
  // Render spec (when `folder` is empty). Defaults: the development set.
  uint64_t seed = 3001;  // never a training seed (training/reproduce.sh: 1, 2)
  int per_class = 20;
  std::string shift = "none";  // vision::ParseShift
  int size = 128;
  // A labelled folder instead: absolute, or relative to the working
  // directory; `sha256` pins its contents (required for a folder, checked for
  // a render when given).
  std::string folder;
  std::string sha256;

  // "render seed=3001 per_class=20 shift=none size=128" or "folder DIR".
  std::string Describe() const;
};

// environment.extra["evaluation"]; the default spec above when the
// environment names none (registries made before evaluation sets existed).
// InvalidArgument naming the field for a malformed one.
absl::StatusOr<EvaluationSpec> SpecOf(const registry::Environment& env);

struct Sample {
  std::string jpeg;  // the encoded image, as a client would send it
  int label = 0;
};

struct EvaluationSet {
  std::string description;  // EvaluationSpec::Describe()
  // sha256 over "LABEL SHA256(IMAGE)\n" for every image in order.
  std::string digest;
  std::vector<Sample> samples;
};

// Renders or reads the set and computes its digest. FailedPrecondition when
// a pinned digest differs (naming both), InvalidArgument for a bad spec or
// folder, NotFound for a missing folder.
absl::StatusOr<EvaluationSet> BuildSet(const EvaluationSpec& spec);

}  // namespace spatial::validation

#endif  // SPATIAL_VALIDATION_EVALUATION_SET_H_
