// The labels.csv of a labelled image folder, as `spatial data render` writes
// it: rows "path,label[,class]" with paths relative to the folder. Shared by
// `spatial eval` and the load generator. Pure function over a file;
// thread-safe.
#ifndef SPATIAL_BASE_LABELS_CSV_H_
#define SPATIAL_BASE_LABELS_CSV_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace spatial::base {

struct LabelledFile {
  std::string path;  // DIR/relative
  int label = 0;
  std::string class_name;  // "" when the row has no third column
};

// Reads DIR/labels.csv. NotFound (with the command that makes one) when it is
// missing; InvalidArgument naming the line for a bad row or a path that is
// absolute or contains "..". Labels are not range-checked here.
absl::StatusOr<std::vector<LabelledFile>> ReadLabelsCsv(const std::string& dir);

}  // namespace spatial::base

#endif  // SPATIAL_BASE_LABELS_CSV_H_
