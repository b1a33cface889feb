// RouteTable on its own: labels, listed patterns, and that every row's
// pattern is unique per method.
#include "src/serving/route_table.h"

#include <set>

#include "gtest/gtest.h"

namespace spatial::serving {
namespace {

TEST(RouteTableTest, LabelsAreFixed) {
  EXPECT_EQ(RouteTable::Label("/classify"), "/classify");
  EXPECT_EQ(RouteTable::Label("/visualizations/abc/depth.png"),
            "/visualizations");
  EXPECT_EQ(RouteTable::Label("/v2/models/any-name/versions/7/infer"),
            "/v2/models/infer");
  EXPECT_EQ(RouteTable::Label("/v2/"), "/v2");
  EXPECT_EQ(RouteTable::Label("/api/v1//models/"), "/api/v1/models");
  EXPECT_EQ(RouteTable::Label("/api/v1/models/v3"), "/api/v1/models/id");
  EXPECT_EQ(RouteTable::Label("/api/v1/environments/prod/promote"),
            "/api/v1/environments/promote");
  EXPECT_EQ(RouteTable::Label("/api/v1/whatever"), "/api/v1/other");
  EXPECT_EQ(RouteTable::Label("/random/scan/path"), "other");
  EXPECT_EQ(RouteTable::Label("/visualizations"), "other");
  EXPECT_EQ(RouteTable::Label("/classify", Route::Owner::kOip), "");
}

TEST(RouteTableTest, OneRowPerMethodAndPattern) {
  std::set<std::pair<std::string, std::string>> seen;
  for (const Route& r : RouteTable::All()) {
    EXPECT_TRUE(seen.emplace(r.method, r.pattern).second)
        << r.method << " " << r.pattern;
    EXPECT_TRUE(std::string(r.method) == "GET" ||
                std::string(r.method) == "POST")
        << r.pattern;
    EXPECT_NE(r.handler, nullptr) << r.pattern;
  }
}

}  // namespace
}  // namespace spatial::serving
