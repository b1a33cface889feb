#include "src/loadtest/payload.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "src/base/files.h"

namespace spatial::loadtest {
namespace {

absl::Status BadUrl(absl::string_view url, absl::string_view why) {
  return absl::InvalidArgumentError(
      absl::StrCat("bad URL '", url, "': ", why,
                   " (example: http://127.0.0.1:8001/health)"));
}

bool IsTokenChar(char c) {
  return absl::ascii_isalnum(c) || absl::StrContains("!#$%&'*+-.^_`|~", c);
}

bool HasLineBreak(absl::string_view s) {
  return s.find_first_of("\r\n") != s.npos;
}

absl::Status CheckHeader(absl::string_view header) {
  size_t colon = header.find(':');
  absl::string_view name = header.substr(0, colon);
  bool ok = colon != header.npos && colon > 0 && !HasLineBreak(header);
  for (char c : name) ok = ok && IsTokenChar(c);
  if (!ok) {
    return absl::InvalidArgumentError(
        absl::StrCat("bad header '", header,
                     "': expected 'Name: value' on one line (example: "
                     "'Authorization: Bearer TOKEN')"));
  }
  if (absl::EqualsIgnoreCase(name, "content-length") ||
      absl::EqualsIgnoreCase(name, "transfer-encoding")) {
    return absl::InvalidArgumentError(absl::StrCat(
        "header '", name, "' is set by spatial bench from the payload"));
  }
  return absl::OkStatus();
}

std::string Serialise(const Url& url, const PayloadOptions& options,
                      absl::string_view method, absl::string_view content_type,
                      absl::string_view body, bool has_body) {
  bool custom_host = false;
  for (const std::string& h : options.headers) {
    custom_host = custom_host || absl::StartsWithIgnoreCase(h, "host:");
  }
  std::string out = absl::StrCat(method, " ", url.target, " HTTP/1.1\r\n");
  if (!custom_host) absl::StrAppend(&out, "Host: ", url.HostHeader(), "\r\n");
  absl::StrAppend(&out, "User-Agent: spatial-bench/0.1\r\nAccept: */*\r\n");
  for (const std::string& h : options.headers) absl::StrAppend(&out, h, "\r\n");
  if (has_body) {
    absl::StrAppend(&out, "Content-Type: ", content_type,
                    "\r\nContent-Length: ", body.size(), "\r\n");
  }
  absl::StrAppend(&out, "\r\n", body);
  return out;
}

std::string Boundary(absl::string_view bytes) {
  std::string boundary = "spatial-bench-boundary-7d1c0a5e3b9f";
  for (int i = 0; absl::StrContains(bytes, boundary); ++i) {
    boundary = absl::StrCat("spatial-bench-boundary-", i, "-7d1c0a5e3b9f");
  }
  return boundary;
}

std::string Basename(absl::string_view path) {
  size_t slash = path.rfind('/');
  return std::string(slash == path.npos ? path : path.substr(slash + 1));
}

}  // namespace

std::string Url::HostHeader() const {
  bool v6 = host.find(':') != std::string::npos;
  return absl::StrCat(v6 ? "[" : "", host, v6 ? "]" : "", ":", port);
}

absl::StatusOr<Url> ParseUrl(absl::string_view url) {
  absl::string_view rest = absl::StripAsciiWhitespace(url);
  if (absl::StartsWithIgnoreCase(rest, "https://")) {
    return BadUrl(
        url,
        "https is not supported; target the plain-HTTP port or a local proxy");
  }
  if (!absl::StartsWithIgnoreCase(rest, "http://"))
    return BadUrl(url, "it must start with http://");
  rest.remove_prefix(7);
  size_t end = rest.find_first_of("/?#");
  absl::string_view authority = rest.substr(0, end);
  absl::string_view target = end == rest.npos ? "" : rest.substr(end);
  target = target.substr(0, target.find('#'));
  if (authority.find('@') != authority.npos)
    return BadUrl(url, "user:password@ is not supported");
  Url out;
  absl::string_view port;
  if (absl::ConsumePrefix(&authority, "[")) {
    size_t close = authority.find(']');
    if (close == authority.npos) return BadUrl(url, "unclosed '[' in the host");
    out.host = std::string(authority.substr(0, close));
    authority.remove_prefix(close + 1);
    if (!authority.empty() && !absl::ConsumePrefix(&authority, ":")) {
      return BadUrl(url, "expected ':' after ']'");
    }
    port = authority;
  } else {
    size_t colon = authority.find(':');
    out.host = std::string(authority.substr(0, colon));
    if (colon != authority.npos) {
      port = authority.substr(colon + 1);
      if (port.empty()) return BadUrl(url, "the port is empty");
    }
  }
  if (out.host.empty()) return BadUrl(url, "the host is missing");
  int p = 80;
  if (!port.empty() && (!absl::SimpleAtoi(port, &p) || p < 1 || p > 65535)) {
    return BadUrl(url, "the port must be 1..65535");
  }
  out.port = static_cast<uint16_t>(p);
  if (HasLineBreak(target) || target.find(' ') != target.npos) {
    return BadUrl(url, "spaces and line breaks must be percent-encoded");
  }
  out.target = absl::StartsWith(target, "/") ? std::string(target)
                                             : absl::StrCat("/", target);
  return out;
}

std::string ContentTypeForFile(absl::string_view path) {
  std::string p = absl::AsciiStrToLower(path);
  if (absl::EndsWith(p, ".jpg") || absl::EndsWith(p, ".jpeg"))
    return "image/jpeg";
  if (absl::EndsWith(p, ".png")) return "image/png";
  if (absl::EndsWith(p, ".webp")) return "image/webp";
  return "application/octet-stream";
}

std::string MultipartBody(
    absl::string_view boundary,
    const std::vector<std::pair<std::string, std::string>>& fields,
    absl::string_view filename, absl::string_view file_type,
    absl::string_view file_bytes) {
  std::string out;
  for (const auto& [name, value] : fields) {
    absl::StrAppend(&out, "--", boundary,
                    "\r\nContent-Disposition: form-data; name=\"", name,
                    "\"\r\n\r\n", value, "\r\n");
  }
  absl::StrAppend(
      &out, "--", boundary,
      "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"",
      filename, "\"\r\nContent-Type: ", file_type, "\r\n\r\n", file_bytes,
      "\r\n--", boundary, "--\r\n");
  return out;
}

absl::StatusOr<RequestSet> BuildRequests(const Url& url,
                                         const PayloadOptions& options) {
  int sources = !options.body_file.empty() + !options.image_file.empty() +
                !options.image_dir.empty();
  if (sources > 1) {
    return absl::InvalidArgumentError(
        "give at most one of --body, --image and --image-dir");
  }
  if (!options.fields.empty() && options.image_file.empty() &&
      options.image_dir.empty()) {
    return absl::InvalidArgumentError(
        "--field needs --image or --image-dir (a multipart upload)");
  }
  for (const std::string& h : options.headers) {
    absl::Status s = CheckHeader(h);
    if (!s.ok()) return s;
  }
  for (const auto& [name, value] : options.fields) {
    if (name.empty() || HasLineBreak(name) || HasLineBreak(value) ||
        absl::StrContains(name, "\"")) {
      return absl::InvalidArgumentError(absl::StrCat(
          "bad form field '", name, "': expected NAME=VALUE on one line"));
    }
  }
  RequestSet set;
  set.method = options.method.empty() ? (sources == 0 ? "GET" : "POST")
                                      : absl::AsciiStrToUpper(options.method);
  if (set.method != "GET" && set.method != "POST") {
    return absl::InvalidArgumentError(absl::StrCat(
        "method '", options.method, "' is not supported: use GET or POST"));
  }
  if (set.method == "GET" && sources > 0) {
    return absl::InvalidArgumentError(
        "GET requests carry no body: drop --method GET");
  }
  if (sources == 0) {
    set.description = "none";
    set.requests.push_back(
        Serialise(url, options, set.method, "", "", set.method == "POST"));
    return set;
  }
  if (!options.body_file.empty()) {
    auto body = base::ReadFile(options.body_file, options.max_file_bytes);
    if (!body.ok()) return body.status();
    std::string type = options.content_type.empty() ? "application/octet-stream"
                                                    : options.content_type;
    if (HasLineBreak(type))
      return absl::InvalidArgumentError("bad --content-type");
    set.description =
        absl::StrCat("raw ", options.body_file, " (", body->size(), " B)");
    set.requests.push_back(
        Serialise(url, options, set.method, type, *body, true));
    return set;
  }
  std::vector<std::string> files;
  if (!options.image_file.empty()) {
    files.push_back(options.image_file);
  } else {
    auto listed = ReadLabelsCsv(options.image_dir);
    if (!listed.ok()) return listed.status();
    for (const LabelledFile& f : *listed) files.push_back(f.path);
  }
  uint64_t total = 0;
  for (const std::string& path : files) {
    auto bytes = base::ReadFile(path, options.max_file_bytes);
    if (!bytes.ok()) return bytes.status();
    total += bytes->size();
    std::string boundary = Boundary(*bytes);
    std::string body = MultipartBody(boundary, options.fields, Basename(path),
                                     ContentTypeForFile(path), *bytes);
    set.requests.push_back(Serialise(
        url, options, set.method,
        absl::StrCat("multipart/form-data; boundary=", boundary), body, true));
  }
  set.description =
      options.image_file.empty()
          ? absl::StrCat("multipart ", files.size(), " files from ",
                         options.image_dir, " (", total, " B)")
          : absl::StrCat("multipart ", options.image_file, " (", total, " B)");
  return set;
}

}  // namespace spatial::loadtest
