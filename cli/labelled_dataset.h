// A labelled image folder as `spatial data render` writes it: DIR/labels.csv
// with rows "path,label,class" (path relative to DIR).
#ifndef SPATIAL_CLI_LABELLED_DATASET_H_
#define SPATIAL_CLI_LABELLED_DATASET_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace spatial::cli {

struct LabelledImage {
  std::string path;  // absolute or relative to the working directory
  int label = 0;
};

// Reads DIR/labels.csv. InvalidArgument naming the line for a bad row, an
// unknown class or a path that leaves DIR.
absl::StatusOr<std::vector<LabelledImage>> ReadLabelledDataset(
    const std::string& dir);

}  // namespace spatial::cli

#endif  // SPATIAL_CLI_LABELLED_DATASET_H_
