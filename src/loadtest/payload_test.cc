#include "src/loadtest/payload.h"

#include <stdlib.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "src/base/files.h"

namespace spatial::loadtest {
namespace {

std::string MakeTempDir() {
  std::string tmpl = testing::TempDir() + "/payload_test_XXXXXX";
  char* dir = mkdtemp(tmpl.data());
  EXPECT_NE(dir, nullptr);
  return tmpl;
}

// Which URLs parse, into what.
TEST(ParseUrlTest, SplitsHostPortAndTarget) {
  struct Case {
    const char* url;
    bool ok;
    const char* host;
    int port;
    const char* target;
  };
  const Case cases[] = {
      {"http://127.0.0.1:8001/health", true, "127.0.0.1", 8001, "/health"},
      {"http://localhost", true, "localhost", 80, "/"},
      {"HTTP://example.com:81?x=1", true, "example.com", 81, "/?x=1"},
      {"http://[::1]:9000/v2/health/ready#frag", true, "::1", 9000,
       "/v2/health/ready"},
      {"https://127.0.0.1/", false, "", 0, ""},
      {"ftp://127.0.0.1/", false, "", 0, ""},
      {"127.0.0.1:8001", false, "", 0, ""},
      {"http://:80/", false, "", 0, ""},
      {"http://h:0/", false, "", 0, ""},
      {"http://h:70000/", false, "", 0, ""},
      {"http://h:/", false, "", 0, ""},
      {"http://u:p@h/", false, "", 0, ""},
      {"http://h/a b", false, "", 0, ""},
  };
  for (const Case& c : cases) {
    auto u = ParseUrl(c.url);
    ASSERT_EQ(u.ok(), c.ok) << c.url << ": " << u.status();
    if (!c.ok) {
      EXPECT_EQ(u.status().code(), absl::StatusCode::kInvalidArgument) << c.url;
      continue;
    }
    EXPECT_EQ(u->host, c.host);
    EXPECT_EQ(u->port, c.port);
    EXPECT_EQ(u->target, c.target);
  }
}

// A GET is one small, complete, keep-alive request.
TEST(BuildRequestsTest, GetIsACompleteRequest) {
  auto set = BuildRequests(*ParseUrl("http://127.0.0.1:8001/health"),
                           {.headers = {"Authorization: Bearer t"}});
  ASSERT_TRUE(set.ok()) << set.status();
  EXPECT_EQ(set->method, "GET");
  ASSERT_EQ(set->requests.size(), 1u);
  EXPECT_EQ(set->requests[0],
            "GET /health HTTP/1.1\r\nHost: 127.0.0.1:8001\r\nUser-Agent: "
            "spatial-bench/0.1\r\n"
            "Accept: */*\r\nAuthorization: Bearer t\r\n\r\n");
}

// A raw body and a labelled folder become POSTs with the right framing.
TEST(BuildRequestsTest, RawBodyAndMultipartFolder) {
  std::string dir = MakeTempDir();
  ASSERT_TRUE(base::WriteFileAtomic(dir + "/body.json", "{\"a\":1}").ok());
  Url url = *ParseUrl("http://h:1/classify");
  auto raw = BuildRequests(url, {.body_file = dir + "/body.json",
                                 .content_type = "application/json"});
  ASSERT_TRUE(raw.ok()) << raw.status();
  EXPECT_TRUE(
      absl::StartsWith(raw->requests[0], "POST /classify HTTP/1.1\r\n"));
  EXPECT_TRUE(absl::EndsWith(
      raw->requests[0],
      "Content-Type: application/json\r\nContent-Length: 7\r\n\r\n"
      "{\"a\":1}"));

  ASSERT_TRUE(base::MakeDirs(dir + "/imgs/basic").ok());
  ASSERT_TRUE(
      base::WriteFileAtomic(dir + "/imgs/basic/a.jpg", "JPEGDATA").ok());
  ASSERT_TRUE(base::WriteFileAtomic(dir + "/imgs/b.png", "PNGDATA").ok());
  ASSERT_TRUE(base::WriteFileAtomic(
                  dir + "/imgs/labels.csv",
                  "path,label,class\nbasic/a.jpg,0,basic\nb.png,1,burnt\n")
                  .ok());
  auto multi = BuildRequests(
      url, {.image_dir = dir + "/imgs", .fields = {{"use_spatial", "true"}}});
  ASSERT_TRUE(multi.ok()) << multi.status();
  EXPECT_EQ(multi->method, "POST");
  ASSERT_EQ(multi->requests.size(), 2u);
  const std::string& r = multi->requests[0];
  EXPECT_TRUE(
      absl::StrContains(r, "Content-Type: multipart/form-data; boundary="))
      << r;
  EXPECT_TRUE(absl::StrContains(r, "name=\"use_spatial\"\r\n\r\ntrue\r\n"))
      << r;
  EXPECT_TRUE(
      absl::StrContains(r,
                        "name=\"file\"; filename=\"a.jpg\"\r\nContent-Type: "
                        "image/jpeg\r\n\r\nJPEGDATA\r\n"))
      << r;
  size_t body_at = r.find("\r\n\r\n") + 4;
  EXPECT_TRUE(absl::StrContains(
      r, absl::StrCat("Content-Length: ", r.size() - body_at, "\r\n")));
  EXPECT_TRUE(absl::StrContains(multi->requests[1], "Content-Type: image/png"));
}

// Conflicting or unsafe options are usage errors; a missing file is NotFound.
TEST(BuildRequestsTest, RejectsBadOptions) {
  Url url = *ParseUrl("http://h:1/");
  struct Case {
    PayloadOptions options;
    absl::StatusCode code;
  };
  const Case cases[] = {
      {{.body_file = "a", .image_file = "b"},
       absl::StatusCode::kInvalidArgument},
      {{.fields = {{"a", "b"}}}, absl::StatusCode::kInvalidArgument},
      {{.method = "DELETE"}, absl::StatusCode::kInvalidArgument},
      {{.method = "GET", .body_file = "x"}, absl::StatusCode::kInvalidArgument},
      {{.headers = {"NoColon"}}, absl::StatusCode::kInvalidArgument},
      {{.headers = {"X: a\r\nInjected: 1"}},
       absl::StatusCode::kInvalidArgument},
      {{.headers = {"Content-Length: 5"}}, absl::StatusCode::kInvalidArgument},
      {{.body_file = "/nonexistent/body"}, absl::StatusCode::kNotFound},
      {{.image_dir = "/nonexistent/dir"}, absl::StatusCode::kNotFound},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(BuildRequests(url, c.options).status().code(), c.code);
  }
}

// labels.csv rows must stay inside the folder.
TEST(ReadLabelsCsvTest, RejectsPathsOutsideTheFolder) {
  std::string dir = MakeTempDir();
  ASSERT_TRUE(
      base::WriteFileAtomic(dir + "/labels.csv", "../x.jpg,0,basic\n").ok());
  auto got = ReadLabelsCsv(dir);
  EXPECT_EQ(got.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StrContains(got.status().message(), "line 1"))
      << got.status();
}

}  // namespace
}  // namespace spatial::loadtest
