// What `spatial bench` sends: the target URL and the bytes of every request,
// built once before the run (files are read into memory first so that disk
// reads never show up as latency). Pure apart from reading the payload files.
#ifndef SPATIAL_LOADTEST_PAYLOAD_H_
#define SPATIAL_LOADTEST_PAYLOAD_H_

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "src/base/labels_csv.h"

namespace spatial::loadtest {

struct Url {
  std::string host;  // name or address, without brackets
  uint16_t port = 80;
  std::string target;              // path and query, "/" at least
  std::string HostHeader() const;  // "host:port"
};

// http://HOST[:PORT][/PATH][?QUERY]. InvalidArgument for other schemes (https
// is not supported), a missing host or a bad port.
absl::StatusOr<Url> ParseUrl(absl::string_view url);

struct PayloadOptions {
  std::string method;        // GET or POST; empty: POST when a body is given
  std::string body_file;     // raw body
  std::string content_type;  // of body_file; default application/octet-stream
  std::string image_file;    // multipart/form-data, field `file`
  std::string image_dir;     // like image_file, cycling DIR/labels.csv
  std::vector<std::pair<std::string, std::string>> fields;  // extra form fields
  std::vector<std::string> headers;                         // "Name: value"
  uint64_t max_file_bytes = 64ull << 20;
};

struct RequestSet {
  std::string method;
  std::string description;            // for reports
  std::vector<std::string> requests;  // complete HTTP/1.1 requests, cycled
};

// Reads the payload files and serialises the requests. InvalidArgument for
// conflicting options or a bad header/field; NotFound for a missing file.
absl::StatusOr<RequestSet> BuildRequests(const Url& url,
                                         const PayloadOptions& options);

// One part of a labelled folder (DIR/labels.csv rows "path,label[,class]", an
// optional "path,..." header, paths relative to DIR).
using base::LabelledFile;
using base::ReadLabelsCsv;

// A multipart/form-data body: `fields` as text parts, then the file in part
// `file` (filename and Content-Type given).
std::string MultipartBody(
    absl::string_view boundary,
    const std::vector<std::pair<std::string, std::string>>& fields,
    absl::string_view filename, absl::string_view file_type,
    absl::string_view file_bytes);

// image/jpeg, image/png, image/webp by extension; application/octet-stream
// else.
std::string ContentTypeForFile(absl::string_view path);

}  // namespace spatial::loadtest

#endif  // SPATIAL_LOADTEST_PAYLOAD_H_
