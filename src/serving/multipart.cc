#include "src/serving/multipart.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace spatial::serving {
namespace {

absl::Status Bad(absl::string_view why) {
  return absl::InvalidArgumentError(
      absl::StrCat("malformed multipart body: ", why));
}

// Value of `key` in a header parameter list (`form-data; name="file"`); quotes
// removed. Returns false when absent.
bool Param(absl::string_view header, absl::string_view key, std::string* out) {
  for (absl::string_view item : absl::StrSplit(header, ';')) {
    item = absl::StripAsciiWhitespace(item);
    auto eq = item.find('=');
    if (eq == absl::string_view::npos) continue;
    absl::string_view k = absl::StripAsciiWhitespace(item.substr(0, eq));
    if (!absl::EqualsIgnoreCase(k, key)) continue;
    absl::string_view v = absl::StripAsciiWhitespace(item.substr(eq + 1));
    if (v.size() >= 2 && v.front() == '"' && v.back() == '"')
      v = v.substr(1, v.size() - 2);
    *out = std::string(v);
    return true;
  }
  return false;
}

}  // namespace

absl::StatusOr<std::string> MultipartBoundary(absl::string_view content_type) {
  absl::string_view type = content_type.substr(0, content_type.find(';'));
  if (!absl::EqualsIgnoreCase(absl::StripAsciiWhitespace(type),
                              "multipart/form-data")) {
    return absl::InvalidArgumentError(
        absl::StrCat("expected a multipart/form-data upload with the image in "
                     "field 'file', got Content-Type '",
                     content_type.substr(0, 100), "'"));
  }
  std::string boundary;
  if (!Param(content_type, "boundary", &boundary) || boundary.empty() ||
      boundary.size() > 70) {
    return absl::InvalidArgumentError(
        "multipart/form-data without a valid boundary parameter");
  }
  return boundary;
}

absl::StatusOr<std::vector<FormPart>> ParseMultipart(
    absl::string_view body, absl::string_view boundary,
    const MultipartLimits& limits) {
  const std::string delim = absl::StrCat("--", boundary);
  // The body starts with the first delimiter (a preamble before it is allowed).
  size_t pos = body.find(delim);
  if (pos == absl::string_view::npos) return Bad("the boundary never occurs");
  if (pos != 0 && (pos < 2 || body.substr(pos - 2, 2) != "\r\n")) {
    return Bad("the first boundary is not at the start of a line");
  }
  pos += delim.size();
  std::vector<FormPart> parts;
  const std::string next_delim = absl::StrCat("\r\n", delim);
  for (;;) {
    if (body.substr(pos, 2) == "--") return parts;  // closing delimiter
    // Transport padding after the delimiter, then CRLF.
    while (pos < body.size() && (body[pos] == ' ' || body[pos] == '\t')) ++pos;
    if (body.substr(pos, 2) != "\r\n")
      return Bad("a boundary line does not end with CRLF");
    pos += 2;
    if (parts.size() >= limits.max_parts) {
      return Bad(absl::StrCat("more than ", limits.max_parts, " parts"));
    }
    // A part without headers starts directly with CRLF: it has no name.
    if (body.substr(pos, 2) == "\r\n")
      return Bad("a part has no Content-Disposition name");
    size_t header_end = body.find("\r\n\r\n", pos);
    if (header_end == absl::string_view::npos)
      return Bad("a part's headers never end");
    if (header_end - pos > limits.max_header_bytes)
      return Bad("a part's headers are too long");
    FormPart part;
    bool has_disposition = false;
    absl::string_view headers = body.substr(pos, header_end - pos);
    for (absl::string_view line :
         absl::StrSplit(headers, "\r\n", absl::SkipEmpty())) {
      auto colon = line.find(':');
      if (colon == absl::string_view::npos)
        return Bad("a part header has no ':'");
      absl::string_view key = absl::StripAsciiWhitespace(line.substr(0, colon));
      absl::string_view value =
          absl::StripAsciiWhitespace(line.substr(colon + 1));
      if (absl::EqualsIgnoreCase(key, "Content-Disposition")) {
        if (!absl::StartsWithIgnoreCase(value, "form-data")) {
          return Bad("Content-Disposition is not form-data");
        }
        has_disposition = Param(value, "name", &part.name);
        Param(value, "filename", &part.filename);
      } else if (absl::EqualsIgnoreCase(key, "Content-Type")) {
        part.content_type = absl::AsciiStrToLower(value);
      }
    }
    if (!has_disposition) return Bad("a part has no Content-Disposition name");
    size_t body_start = header_end + 4;
    size_t end = body.find(next_delim, body_start);
    if (end == absl::string_view::npos)
      return Bad("the closing boundary is missing (truncated?)");
    part.body = body.substr(body_start, end - body_start);
    parts.push_back(std::move(part));
    pos = end + next_delim.size();
  }
}

}  // namespace spatial::serving
