// The multipart/form-data body of POST /classify, /predict/spatial,
// /predict/standard and /ab-test/compare: the image in field 'file', and the
// options of a classify request. Every error is InvalidArgument naming the
// field and what it takes. Pure functions; thread-safe.
#ifndef SPATIAL_SERVING_CLASSIFY_FORM_H_
#define SPATIAL_SERVING_CLASSIFY_FORM_H_

#include <map>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "src/serving/http/http_server.h"

namespace spatial::serving {

// The upload and the other fields (each cut at 256 bytes).
struct ClassifyForm {
  std::string image;  // bytes of field 'file'
  std::map<std::string, std::string> fields;
};

absl::StatusOr<ClassifyForm> ParseClassifyForm(const http::HttpRequest& req);

// A classify request's options.
struct ClassifyOptions {
  std::string group;                // ab_test_group: "A", "B" or "" (not given)
  std::optional<bool> use_spatial;  // not given: the A/B split decides
  bool want_probabilities = true;   // return_probabilities
  bool want_visualization = false;  // enable_visualization
  bool want_cache = true;           // cache
};

// With `model_forced` (/predict/*) ab_test_group and use_spatial are not
// read; otherwise ab_test_group wins over use_spatial, which is then not read.
absl::StatusOr<ClassifyOptions> ParseClassifyOptions(const ClassifyForm& form,
                                                     bool model_forced);

}  // namespace spatial::serving

#endif  // SPATIAL_SERVING_CLASSIFY_FORM_H_
