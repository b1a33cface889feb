#include "cli/labelled_dataset.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "src/base/files.h"
#include "src/vision/renderer.h"

namespace spatial::cli {

absl::StatusOr<std::vector<LabelledImage>> ReadLabelledDataset(
    const std::string& dir) {
  std::string csv_path = dir + "/labels.csv";
  auto text = base::ReadFile(csv_path, 256 << 20);
  if (!text.ok()) {
    return absl::NotFoundError(absl::StrCat(
        "no labelled dataset at ", dir, " (", text.status().message(),
        "); make one with: spatial data render --out ", dir,
        " --per-class 50 --seed 1000"));
  }
  std::vector<LabelledImage> out;
  int line_no = 0;
  for (absl::string_view line : absl::StrSplit(*text, '\n')) {
    ++line_no;
    line = absl::StripAsciiWhitespace(line);
    if (line.empty() || (line_no == 1 && absl::StartsWith(line, "path,")))
      continue;
    std::vector<std::string> cols = absl::StrSplit(line, ',');
    auto bad = [&](absl::string_view why) {
      return absl::InvalidArgumentError(
          absl::StrCat(csv_path, " line ", line_no, ": ", why));
    };
    if (cols.size() < 2) return bad("expected path,label[,class]");
    int label = 0;
    if (!absl::SimpleAtoi(cols[1], &label) || label < 0 ||
        label >= vision::kNumClasses) {
      return bad(absl::StrCat("label must be 0..", vision::kNumClasses - 1));
    }
    if (cols.size() >= 3 && cols[2] != vision::kClassNames[label]) {
      return bad(absl::StrCat("label ", label, " is '",
                              vision::kClassNames[label], "', not '", cols[2],
                              "'"));
    }
    if (cols[0].empty() || cols[0][0] == '/' ||
        cols[0].find("..") != std::string::npos) {
      return bad(
          "the path must be relative to the dataset folder, without '..'");
    }
    out.push_back({dir + "/" + cols[0], label});
  }
  if (out.empty())
    return absl::InvalidArgumentError(
        absl::StrCat(csv_path, " lists no images"));
  return out;
}

}  // namespace spatial::cli
