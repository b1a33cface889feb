#include "cli/legacy_aliases.h"

#include "gtest/gtest.h"

namespace spatial::cli {
namespace {

using V = std::vector<std::string>;

// Each seed form maps onto its subcommand form; other words keep their order.
TEST(LegacyAliasesTest, RewritesEachSeedForm) {
  struct Case {
    V in, out;
  };
  const Case cases[] = {
      {{"--register", "m.onnx", "--version-id", "v1", "--model-type",
        "spatial-mllm"},
       {"register", "m.onnx", "--version-id", "v1", "--model-type",
        "spatial-mllm"}},
      {{"--validate", "v1", "--environment", "production"},
       {"validate", "v1", "--environment", "production"}},
      {{"--list", "--environment", "staging"},
       {"list", "--environment", "staging"}},
      {{"--environment", "staging", "--list"},
       {"list", "--environment", "staging"}},
      {{"--info", "v1"}, {"info", "v1"}},
      {{"--info=v1"}, {"info", "v1"}},
      {{"--latest", "--environment", "production"},
       {"latest", "--environment", "production"}},
      {{"--test"}, {"test"}},
      {{"list", "--json"}, {"list", "--json"}},
  };
  for (const auto& c : cases) {
    auto got = RewriteModelAliases(c.in);
    ASSERT_TRUE(got.ok()) << got.status();
    EXPECT_EQ(*got, c.out);
  }
}

// Two aliases at once, or an alias without its value, is a usage error.
TEST(LegacyAliasesTest, RejectsAmbiguousOrIncompleteForms) {
  EXPECT_EQ(RewriteModelAliases({"--list", "--test"}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(RewriteModelAliases({"--info"}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(RewriteModelAliases({"--test=yes"}).status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace spatial::cli
