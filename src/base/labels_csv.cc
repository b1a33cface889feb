#include "src/base/labels_csv.h"

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "src/base/files.h"

namespace spatial::base {

absl::StatusOr<std::vector<LabelledFile>> ReadLabelsCsv(
    const std::string& dir) {
  std::string csv_path = dir + "/labels.csv";
  auto text = ReadFile(csv_path, 64 << 20);
  if (!text.ok()) {
    return absl::NotFoundError(absl::StrCat(
        "no labelled folder at ", dir, " (", text.status().message(),
        "); make one with: spatial data render --out ", dir,
        " --per-class 10 --seed 1000"));
  }
  std::vector<LabelledFile> out;
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
    LabelledFile f;
    if (cols.size() < 2 || !absl::SimpleAtoi(cols[1], &f.label)) {
      return bad("expected path,label[,class]");
    }
    if (cols[0].empty() || cols[0][0] == '/' ||
        absl::StrContains(cols[0], "..")) {
      return bad("the path must be relative to the folder, without '..'");
    }
    f.path = absl::StrCat(dir, "/", cols[0]);
    if (cols.size() >= 3) f.class_name = cols[2];
    out.push_back(std::move(f));
  }
  if (out.empty())
    return absl::InvalidArgumentError(
        absl::StrCat(csv_path, " lists no files"));
  return out;
}

}  // namespace spatial::base
