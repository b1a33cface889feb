#include "cli/labelled_dataset.h"

#include "absl/strings/str_cat.h"
#include "src/base/labels_csv.h"
#include "src/vision/renderer.h"

namespace spatial::cli {

absl::StatusOr<std::vector<LabelledImage>> ReadLabelledDataset(
    const std::string& dir) {
  auto files = base::ReadLabelsCsv(dir);
  if (!files.ok()) return files.status();
  std::vector<LabelledImage> out;
  for (const auto& f : *files) {
    auto bad = [&](absl::string_view why) {
      return absl::InvalidArgumentError(
          absl::StrCat(dir, "/labels.csv: ", f.path, ": ", why));
    };
    if (f.label < 0 || f.label >= vision::kNumClasses) {
      return bad(absl::StrCat("label must be 0..", vision::kNumClasses - 1));
    }
    if (!f.class_name.empty() && f.class_name != vision::kClassNames[f.label]) {
      return bad(absl::StrCat("label ", f.label, " is '",
                              vision::kClassNames[f.label], "', not '",
                              f.class_name, "'"));
    }
    out.push_back({f.path, f.label});
  }
  return out;
}

}  // namespace spatial::cli
