// The console's query strings and its rows in the route table, without
// sockets.
#include "gtest/gtest.h"
#include "src/serving/console/console_assets.h"
#include "src/serving/console/console_query.h"
#include "src/serving/route_table.h"

namespace spatial::serving {
namespace {

TEST(PageQueryTest, DefaultsAndValues) {
  // No query: the first page of the default size.
  auto p = ParsePageQuery("", 50, 200);
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->offset, 0u);
  EXPECT_EQ(p->limit, 50u);
  EXPECT_EQ(p->q, "");
  p = ParsePageQuery("offset=100&limit=20&q=pizza+v%31", 50, 200);
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->offset, 100u);
  EXPECT_EQ(p->limit, 20u);
  EXPECT_EQ(p->q, "pizza v1");
}

TEST(PageQueryTest, RefusesWhatItCannotRead) {
  // Each bad query names what was wrong.
  struct Case {
    const char* query;
    const char* message;
  } cases[] = {
      {"offset=-1", "'offset' must be a whole number"},
      {"offset=abc", "'offset' must be a whole number"},
      {"limit=0", "'limit' must be between 1 and 200"},
      {"limit=201", "'limit' must be between 1 and 200"},
      {"q=%zz", "two hex digits"},
      {"q=%4", "two hex digits"},
      {"sort=id", "unknown query parameter 'sort'"},
  };
  for (const auto& c : cases) {
    auto p = ParsePageQuery(c.query, 50, 200);
    ASSERT_FALSE(p.ok()) << c.query;
    EXPECT_EQ(p.status().code(), absl::StatusCode::kInvalidArgument) << c.query;
    EXPECT_NE(p.status().message().find(c.message), std::string::npos)
        << c.query << ": " << p.status().message();
  }
}

TEST(ConsoleRoutesTest, PageIsOpenDataNeedsAViewer) {
  // The page and its assets carry no data; every data route needs a viewer
  // token, as /api/v1's reads do.
  int data_routes = 0;
  for (const Route& r : RouteTable::All()) {
    if (r.owner != Route::Owner::kConsole) continue;
    EXPECT_STREQ(r.method, "GET") << r.pattern;  // the console writes nothing
    const std::string pattern = r.pattern;
    if (pattern.rfind("/console/api/", 0) == 0) {
      EXPECT_EQ(r.access, Access::kViewer) << pattern;
      ++data_routes;
    } else {
      EXPECT_EQ(r.access, Access::kOpen) << pattern;
    }
  }
  EXPECT_EQ(data_routes, 9);
  EXPECT_EQ(RouteTable::Label("/console/api/versions/v1"),
            "/console/api/versions/id");
}

TEST(ConsoleAssetsTest, EmbeddedInTheBinary) {
  // The page, its script and its style are compiled in, none empty.
  std::set<std::string> names;
  for (const auto& a : console::EmbeddedAssets()) {
    EXPECT_GT(a.size, 100u) << a.name;
    names.insert(a.name);
  }
  for (const char* want :
       {"index.html", "console.js", "views.js", "charts.js", "console.css"})
    EXPECT_EQ(names.count(want), 1u) << want;
}

}  // namespace
}  // namespace spatial::serving
