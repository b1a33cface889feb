#include "src/validation/evaluation_set.h"

#include "absl/strings/str_cat.h"
#include "src/base/files.h"
#include "src/base/labels_csv.h"
#include "src/base/sha256.h"
#include "src/base/status_macros.h"
#include "src/vision/renderer.h"

namespace spatial::validation {
namespace {

using Json = nlohmann::json;

constexpr int kMaxPerClass = 2000;
constexpr size_t kMaxImageBytes = 16 << 20;

absl::Status Bad(absl::string_view env, absl::string_view why) {
  return absl::InvalidArgumentError(
      absl::StrCat("environment ", env, ": evaluation ", why));
}

}  // namespace

std::string EvaluationSpec::Describe() const {
  if (!folder.empty()) return absl::StrCat("folder ", folder);
  return absl::StrCat("render seed=", seed, " per_class=", per_class,
                      " shift=", shift, " size=", size);
}

absl::StatusOr<EvaluationSpec> SpecOf(const registry::Environment& env) {
  EvaluationSpec spec;
  auto e = env.extra.find("evaluation");
  if (e == env.extra.end()) return spec;
  if (!e->is_object()) return Bad(env.name, "must be an object");
  if (auto s = e->find("sha256"); s != e->end()) {
    if (!s->is_string()) return Bad(env.name, "sha256 must be a string");
    spec.sha256 = s->get<std::string>();
  }
  auto folder = e->find("folder");
  auto render = e->find("render");
  if ((folder != e->end()) == (render != e->end())) {
    return Bad(env.name,
               "needs exactly one of \"render\": {seed, per_class, shift, "
               "size} or \"folder\": DIR with \"sha256\"");
  }
  if (folder != e->end()) {
    if (!folder->is_string() || folder->get<std::string>().empty())
      return Bad(env.name, "folder must be a non-empty path");
    spec.folder = folder->get<std::string>();
    return spec;
  }
  if (!render->is_object()) return Bad(env.name, "render must be an object");
  const Json& r = *render;
  if (auto it = r.find("seed"); it != r.end()) {
    if (!it->is_number_integer() ||
        (!it->is_number_unsigned() && it->get<int64_t>() < 0)) {
      return Bad(env.name, "render.seed must be a non-negative integer");
    }
    spec.seed = it->get<uint64_t>();
  }
  if (auto it = r.find("per_class"); it != r.end()) {
    if (!it->is_number_integer() || it->get<int64_t>() < 1 ||
        it->get<int64_t>() > kMaxPerClass) {
      return Bad(env.name,
                 absl::StrCat("render.per_class must be 1..", kMaxPerClass));
    }
    spec.per_class = it->get<int>();
  }
  if (auto it = r.find("size"); it != r.end()) {
    if (!it->is_number_integer() || it->get<int64_t>() < 32 ||
        it->get<int64_t>() > 1024) {
      return Bad(env.name, "render.size must be 32..1024");
    }
    spec.size = it->get<int>();
  }
  if (auto it = r.find("shift"); it != r.end()) {
    if (!it->is_string()) return Bad(env.name, "render.shift must be a string");
    spec.shift = it->get<std::string>();
    if (auto s = vision::ParseShift(spec.shift); !s.ok()) {
      return Bad(env.name,
                 absl::StrCat("render.shift: ", s.status().message()));
    }
  }
  return spec;
}

absl::StatusOr<EvaluationSet> BuildSet(const EvaluationSpec& spec) {
  EvaluationSet set;
  set.description = spec.Describe();
  if (spec.folder.empty()) {
    ASSIGN_OR_RETURN(vision::RenderDistribution dist,
                     vision::ParseShift(spec.shift));
    // Class-interleaved, like `spatial data render`.
    for (int i = 0; i < spec.per_class * vision::kNumClasses; ++i) {
      int label = i % vision::kNumClasses, index = i / vision::kNumClasses;
      set.samples.push_back(
          {vision::RenderPizza(label, spec.seed, index, spec.size, dist).jpeg,
           label});
    }
  } else {
    ASSIGN_OR_RETURN(auto files, base::ReadLabelsCsv(spec.folder));
    if (files.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat(spec.folder, "/labels.csv lists no images"));
    }
    for (const auto& f : files) {
      if (f.label < 0 || f.label >= vision::kNumClasses) {
        return absl::InvalidArgumentError(
            absl::StrCat(spec.folder, "/labels.csv: ", f.path,
                         ": label must be 0..", vision::kNumClasses - 1));
      }
      ASSIGN_OR_RETURN(std::string bytes,
                       base::ReadFile(f.path, kMaxImageBytes));
      set.samples.push_back({std::move(bytes), f.label});
    }
  }
  base::Sha256 h;
  for (const auto& s : set.samples) {
    std::string line =
        absl::StrCat(s.label, " ", base::Sha256Hex(s.jpeg), "\n");
    h.Update(line.data(), line.size());
  }
  set.digest = h.HexDigest();
  if (!spec.folder.empty() && spec.sha256.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the evaluation folder ", spec.folder,
        " is not pinned: add \"sha256\": \"", set.digest,
        "\" to the environment's evaluation if these are the images meant"));
  }
  if (!spec.sha256.empty() && spec.sha256 != set.digest) {
    return absl::FailedPreconditionError(absl::StrCat(
        "the evaluation set (", set.description, ") has sha256 ", set.digest,
        ", the environment pins ", spec.sha256,
        ": its images changed; restore them or pin the new digest"));
  }
  return set;
}

}  // namespace spatial::validation
