#include "src/serving/tokens.h"

#include "gtest/gtest.h"
#include "src/base/sha256.h"
#include "src/serving/feedback_api.h"

namespace spatial::serving {
namespace {

TEST(RoleTest, ParsesEveryRoleAndNamesThemWhenUnknown) {
  for (Role r :
       {Role::kViewer, Role::kLabeler, Role::kDeployer, Role::kAdmin}) {
    auto parsed = ParseRole(RoleName(r));
    ASSERT_TRUE(parsed.ok()) << parsed.status();
    EXPECT_EQ(*parsed, r);
  }
  EXPECT_STREQ(RoleName(Role::kLabeler), "labeler");
  for (const char* bad : {"", "Labeler", "labeller", "root", "viewer "}) {
    auto parsed = ParseRole(bad);
    EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument)
        << bad;
    EXPECT_NE(
        parsed.status().message().find("(viewer, labeler, deployer or admin)"),
        std::string::npos)
        << parsed.status();
  }
}

// viewer < labeler < deployer < admin; each may do what those below may.
TEST(RoleTest, RolesAreOrdered) {
  const std::vector<Role> order = {Role::kViewer, Role::kLabeler,
                                   Role::kDeployer, Role::kAdmin};
  for (size_t have = 0; have < order.size(); ++have) {
    for (size_t need = 0; need < order.size(); ++need) {
      EXPECT_EQ(RoleAtLeast(order[have], order[need]), have >= need)
          << RoleName(order[have]) << " for " << RoleName(order[need]);
    }
  }
}

TEST(TokenTableTest, ReadsALabelerToken) {
  auto [token, entry] = NewToken("labels-1", Role::kLabeler);
  auto table = TokenTable::Parse(nlohmann::json{{"tokens",
                                                 {{{"name", entry.name},
                                                   {"role", "labeler"},
                                                   {"sha256", entry.sha256}}}}}
                                     .dump(),
                                 "tokens.json");
  ASSERT_TRUE(table.ok()) << table.status();
  auto found = table->Find(token);
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->role, Role::kLabeler);
  EXPECT_EQ(found->name, "labels-1");
  EXPECT_FALSE(table->Find(entry.sha256).has_value());
}

TEST(FeedbackNeedsTokenTest, OnlyOpenInDevelopmentWithoutRollbackOrTokens) {
  struct Row {
    std::string environment;
    bool rollback, require_token, want;
  };
  for (const Row& row : std::vector<Row>{
           {"development", false, false, false},
           {"development", true, false, true},
           {"development", false, true, true},
           {"staging", false, false, true},
           {"production", false, false, true},
           {"edge-lab", false, false, true},  // any other environment
       }) {
    EXPECT_EQ(
        FeedbackNeedsToken(row.environment, row.rollback, row.require_token),
        row.want)
        << row.environment << " rollback " << row.rollback << " require "
        << row.require_token;
  }
}

}  // namespace
}  // namespace spatial::serving
