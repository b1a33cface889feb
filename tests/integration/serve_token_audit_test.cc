// Token changes are audit events: `spatial token add|revoke` record
// token.add / token.revoke in the registry before the tokens file changes, and
// a server following that registry admits only the entries the audit log
// vouches for. An entry written into the file by hand (an intruder with write
// access to the file) or an audited entry whose role was edited is refused,
// at start and at every reload (SIGHUP).
#include <signal.h>

#include <chrono>
#include <fstream>
#include <thread>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "src/base/files.h"
#include "src/base/sha256.h"
#include "tests/integration/cli_sandbox.h"
#include "tests/integration/serve_client.h"
#include "tests/integration/server_process.h"

namespace spatial::integration {
namespace {
using std::chrono::seconds;
using ::testing::HasSubstr;
using ::testing::Not;

// The audit records of `action`, oldest first.
std::vector<Json> AuditRecords(const Sandbox& box, const std::string& action) {
  ProcessResult r =
      box.Spatial({"audit", "list", "--json", "--registry", box.registry()});
  EXPECT_EQ(r.exit_code, 0) << r;
  std::vector<Json> out;
  if (r.exit_code != 0) return out;
  for (const Json& rec : ParseJsonOrFail(r.out, "audit list")) {
    if (rec.value("action", "") == action) out.push_back(rec);
  }
  return out;
}

// Rewrites the tokens file with `change` applied to its JSON (0600 kept).
void EditTokensFile(const Sandbox& box,
                    const std::function<void(Json&)>& change) {
  auto text = base::ReadFile(box.tokens_file(), 1 << 20);
  ASSERT_TRUE(text.ok()) << text.status();
  Json j = Json::parse(*text);
  change(j);
  ASSERT_TRUE(base::WriteFileAtomic(box.tokens_file(), j.dump(2)).ok());
  ASSERT_EQ(::chmod(box.tokens_file().c_str(), 0600), 0);
}

// add and revoke each append one record naming the token, its role and
// hash (never the token); revoking needs the registry the token was added to.
TEST(TokenAuditTest, AddAndRevokeAreRecorded) {
  Sandbox box;
  const std::string alice = box.AddToken("alice", "deployer");
  ASSERT_FALSE(alice.empty());
  std::vector<Json> added = AuditRecords(box, "token.add");
  ASSERT_EQ(added.size(), 1u);
  EXPECT_EQ(added[0]["subject"], "alice");
  EXPECT_EQ(added[0]["actor"], "tester");
  EXPECT_EQ(added[0]["details"]["role"], "deployer");
  EXPECT_EQ(added[0]["details"]["sha256"], base::Sha256Hex(alice));
  EXPECT_EQ(added[0]["details"]["file"], box.tokens_file());
  EXPECT_THAT(added[0].dump(), Not(HasSubstr(alice)));

  // A registry that does not exist records nothing: the file is unchanged.
  const std::string before = *base::ReadFile(box.tokens_file(), 1 << 20);
  ProcessResult elsewhere =
      box.Spatial({"token", "revoke", "--name", "alice", "--file",
                   box.tokens_file(), "--registry", box.Path("nosuch.db")});
  EXPECT_EQ(elsewhere.exit_code, 1) << elsewhere;
  EXPECT_THAT(elsewhere.err, HasSubstr("nosuch.db"));
  EXPECT_EQ(*base::ReadFile(box.tokens_file(), 1 << 20), before);

  ProcessResult revoke = box.Spatial({"token", "revoke", "--name", "alice",
                                      "--file", box.tokens_file(), "--registry",
                                      box.registry(), "--actor", "sec-team"});
  ASSERT_EQ(revoke.exit_code, 0) << revoke;
  std::vector<Json> revoked = AuditRecords(box, "token.revoke");
  ASSERT_EQ(revoked.size(), 1u);
  EXPECT_EQ(revoked[0]["subject"], "alice");
  EXPECT_EQ(revoked[0]["actor"], "sec-team");
  EXPECT_EQ(revoked[0]["details"]["sha256"], base::Sha256Hex(alice));
  ProcessResult verify =
      box.Spatial({"audit", "verify", "--registry", box.registry()});
  EXPECT_EQ(verify.exit_code, 0) << verify;
}

// A server following the registry refuses a hand-written entry and an
// audited entry whose role was raised by hand, at start and at a reload;
// a token added with `spatial token add` is admitted at the reload.
TEST(TokenAuditTest, ServerAdmitsOnlyTokensTheAuditLogVouchesFor) {
  Sandbox box;
  box.RegisterAndPromote(ShippedBundle("spatial-pizza-v1"), "s1");
  const std::string alice = box.AddToken("alice", "viewer");
  const std::string bob = box.AddToken("bob", "viewer");
  ASSERT_FALSE(bob.empty());
  const std::string mallory(64, 'a');
  EditTokensFile(box, [&](Json& j) {
    j["tokens"].push_back({{"name", "mallory"},
                           {"role", "admin"},
                           {"sha256", base::Sha256Hex(mallory)}});
    for (Json& e : j["tokens"]) {
      if (e["name"] == "bob") e["role"] = "deployer";
    }
  });

  ServerProcess server(
      {"--registry", box.registry(), "--environment", "development",
       "--workers", "1", "--poll-registry-s", "0", "--require-token",
       "--tokens-file", box.tokens_file()},
      box.dir(), box.Path("serve.log"));
  ASSERT_TRUE(server.WaitReady(seconds(30))) << server.Log();
  const int port = server.port();
  EXPECT_EQ(RequestAs(port, "GET", "/status", alice).status, 200);
  EXPECT_EQ(RequestAs(port, "GET", "/status", mallory).status, 401);
  EXPECT_EQ(RequestAs(port, "POST", "/api/v1/reload", mallory).status, 401);
  EXPECT_EQ(RequestAs(port, "POST", "/api/v1/reload", bob).status, 401);
  EXPECT_EQ(RequestAs(port, "GET", "/status", bob).status, 401);
  EXPECT_THAT(server.Log(), HasSubstr("refusing token 'mallory'"));
  EXPECT_THAT(server.Log(), HasSubstr("refusing token 'bob'"));
  EXPECT_THAT(server.Log(), HasSubstr("not 'bob' (deployer)"));

  // At a reload: carol (added the documented way) is admitted, mallory still
  // refused.
  const std::string carol = box.AddToken("carol", "viewer");
  ASSERT_EQ(::kill(server.pid(), SIGHUP), 0);
  int status = 0;
  for (int i = 0; i < 100; ++i) {  // at most ~10 s
    status = RequestAs(port, "GET", "/status", carol).status;
    if (status == 200) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_EQ(status, 200) << server.Log();
  EXPECT_EQ(RequestAs(port, "GET", "/status", mallory).status, 401);
  EXPECT_EQ(RequestAs(port, "GET", "/status", alice).status, 200);
}

}  // namespace
}  // namespace spatial::integration
