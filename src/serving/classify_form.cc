// ParseClassifyForm and ParseClassifyOptions (classify_form.h). Pure.
#include "src/serving/classify_form.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "src/serving/multipart.h"

namespace spatial::serving {
namespace {

absl::StatusOr<bool> ParseBool(absl::string_view field, absl::string_view v) {
  std::string s = absl::AsciiStrToLower(absl::StripAsciiWhitespace(v));
  if (s == "true" || s == "1" || s == "yes" || s == "on") return true;
  if (s == "false" || s == "0" || s == "no" || s == "off") return false;
  return absl::InvalidArgumentError(
      absl::StrCat("form field '", field, "' must be true or false, got '",
                   v.substr(0, 40), "'"));
}

// The bool field `name` into `out`, when given.
absl::Status ReadBool(const ClassifyForm& form, const std::string& name,
                      bool* out) {
  auto f = form.fields.find(name);
  if (f == form.fields.end()) return absl::OkStatus();
  auto v = ParseBool(name, f->second);
  if (!v.ok()) return v.status();
  *out = *v;
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<ClassifyForm> ParseClassifyForm(const http::HttpRequest& req) {
  auto boundary = MultipartBoundary(req.Header("content-type"));
  if (!boundary.ok()) return boundary.status();
  auto parts = ParseMultipart(req.body, *boundary);
  if (!parts.ok()) return parts.status();
  ClassifyForm form;
  bool has_file = false;
  for (const auto& p : *parts) {
    if (p.name == "file") {
      static const char* kTypes[] = {"image/jpeg",
                                     "image/jpg",
                                     "image/png",
                                     "image/webp",
                                     "application/octet-stream",
                                     ""};
      bool allowed = false;
      for (const char* t : kTypes) allowed |= p.content_type == t;
      if (!allowed) {
        return absl::InvalidArgumentError(
            absl::StrCat("field 'file' has content type '", p.content_type,
                         "'; send image/jpeg, image/png or image/webp"));
      }
      form.image = std::string(p.body);
      has_file = true;
    } else {
      form.fields[p.name] = std::string(p.body.substr(0, 256));
    }
  }
  if (!has_file) {
    return absl::InvalidArgumentError(
        "no image: send it as multipart/form-data field 'file'");
  }
  return form;
}

absl::StatusOr<ClassifyOptions> ParseClassifyOptions(const ClassifyForm& form,
                                                     bool model_forced) {
  ClassifyOptions o;
  if (model_forced) {
    // the endpoint chose the model
  } else if (auto g = form.fields.find("ab_test_group");
             g != form.fields.end()) {
    o.group = absl::AsciiStrToUpper(absl::StripAsciiWhitespace(g->second));
    if (o.group != "A" && o.group != "B") {
      return absl::InvalidArgumentError(absl::StrCat(
          "ab_test_group must be A (spatial) or B (standard), got '",
          g->second.substr(0, 20), "'"));
    }
  } else if (auto u = form.fields.find("use_spatial"); u != form.fields.end()) {
    auto v = ParseBool("use_spatial", u->second);
    if (!v.ok()) return v.status();
    o.use_spatial = *v;
  }
  if (absl::Status s =
          ReadBool(form, "return_probabilities", &o.want_probabilities);
      !s.ok())
    return s;
  if (absl::Status s =
          ReadBool(form, "enable_visualization", &o.want_visualization);
      !s.ok())
    return s;
  if (absl::Status s = ReadBool(form, "cache", &o.want_cache); !s.ok())
    return s;
  return o;
}

}  // namespace spatial::serving
