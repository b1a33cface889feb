// Black-box tests of `spatial serve` with bundles given as directories: where
// the environment requires a signature (staging, production) a bundle must
// carry a DIR/model.sig by a key the environment trusts, or the server does
// not start (exit 1, naming the file or the key id); development serves an
// unsigned bundle with one warning line; everything is loaded from a private
// work directory.
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>

#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "src/vision/renderer.h"
#include "tests/integration/cli_sandbox.h"
#include "tests/integration/serve_client.h"
#include "tests/integration/server_process.h"

namespace spatial::integration {
namespace {
namespace fs = std::filesystem;
using std::chrono::seconds;
using ::testing::HasSubstr;

class ServeBundlesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const char* k : {"keys", "other"}) {
      ProcessResult r =
          box_.Spatial({"keys", "generate", "--out", box_.Path(k)});
      ASSERT_EQ(r.exit_code, 0) << r;
    }
  }

  // A copy of a shipped bundle under the sandbox, signed with `key_dir`'s key
  // unless it is "" (then unsigned). Remembers the signing key id.
  std::string Bundle(const std::string& name, const std::string& key_dir,
                     const std::string& shipped = "spatial-pizza-v1") {
    const std::string dir = box_.Path(name);
    fs::copy(ShippedBundle(shipped), dir, fs::copy_options::recursive);
    fs::remove(dir + "/model.sig");
    if (!key_dir.empty()) {
      ProcessResult r = box_.Spatial(
          {"model", "sign", dir, "--key", box_.Path(key_dir + "/signing.key")});
      EXPECT_EQ(r.exit_code, 0) << r;
      auto at = r.out.find("signed with key ");
      if (at != std::string::npos) key_id_[key_dir] = r.out.substr(at + 16, 16);
    }
    return dir;
  }

  // `spatial serve ARGS` that must refuse to start: exit 1, never ready.
  ProcessResult Refused(std::vector<std::string> args) {
    std::vector<std::string> argv = {SpatialBinary(), "serve",  "--address",
                                     "127.0.0.1",     "--port", "0",
                                     "--workers",     "1"};
    argv.insert(argv.end(), args.begin(), args.end());
    ProcessResult r = RunProcess(
        argv, {.cwd = box_.dir(), .timeout = std::chrono::seconds(60)});
    EXPECT_FALSE(r.timed_out) << "the server started: " << r;
    EXPECT_EQ(r.exit_code, 1) << r;
    EXPECT_THAT(r.out, ::testing::Not(HasSubstr("pizza-api-spatial ready")));
    return r;
  }

  std::string Pub(const std::string& key_dir) {
    return box_.Path(key_dir + "/signing.pub");
  }

  Sandbox box_;
  std::map<std::string, std::string> key_id_;
};

// Production, trusted key: the server becomes ready and answers.
TEST_F(ServeBundlesTest, ProductionServesABundleSignedByATrustedKey) {
  const std::string dir = Bundle("b", "keys");
  ServerProcess server({"--environment", "production", "--workers", "1",
                        "--model-dir", dir, "--trusted-key", Pub("keys")},
                       box_.dir(), box_.Path("serve.log"));
  ASSERT_TRUE(server.WaitReady(seconds(30))) << server.Log();
  EXPECT_THAT(server.Log(), HasSubstr("verified " + dir + ": signed by key " +
                                      key_id_["keys"]));
  Reply r = Request(server.port(), "POST", "/classify", kForm,
                    Multipart({{"file", "image/jpeg",
                                vision::RenderPizza(1, 2, 0, 96).jpeg}}));
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(server.Terminate(seconds(20)), 0);
}

// Production refuses an unsigned bundle, naming the missing model.sig.
TEST_F(ServeBundlesTest, ProductionRefusesAnUnsignedBundle) {
  const std::string dir = Bundle("b", "");
  ProcessResult r = Refused({"--environment", "production", "--model-dir", dir,
                             "--trusted-key", Pub("keys")});
  EXPECT_THAT(r.err, HasSubstr("refusing to serve " + dir + " in production"));
  EXPECT_THAT(r.err, HasSubstr("unsigned (no " + dir + "/model.sig)"));
}

// A file changed after signing is named.
TEST_F(ServeBundlesTest, ProductionRefusesATamperedBundleNamingTheFile) {
  const std::string dir = Bundle("b", "keys");
  std::string m = ReadBytes(dir + "/manifest.json");
  box_.WriteFile("b/manifest.json", m + " ");
  ProcessResult r = Refused({"--environment", "production", "--model-dir", dir,
                             "--trusted-key", Pub("keys")});
  EXPECT_THAT(r.err,
              HasSubstr("file 'manifest.json' was changed after signing"));
}

// Signed by a key production does not trust: the key id is named.
TEST_F(ServeBundlesTest, ProductionRefusesAnUntrustedKeyNamingIt) {
  const std::string dir = Bundle("b", "other");
  ProcessResult r = Refused({"--environment", "production", "--model-dir", dir,
                             "--trusted-key", Pub("keys")});
  EXPECT_THAT(r.err, HasSubstr("signed by key " + key_id_["other"] +
                               ", which production does not trust"));
}

// A truncated model.sig, another bundle's model.sig, an unknown payload type.
TEST_F(ServeBundlesTest, ProductionRefusesBadSignatureFiles) {
  const std::string dir = Bundle("b", "keys");
  const std::string sig = ReadBytes(dir + "/model.sig");
  box_.WriteFile("b/model.sig", sig.substr(0, sig.size() / 2));
  ProcessResult truncated =
      Refused({"--environment", "production", "--model-dir", dir,
               "--trusted-key", Pub("keys")});
  EXPECT_THAT(truncated.err,
              HasSubstr(dir + "/model.sig is not a DSSE signature envelope"));

  const std::string standard = Bundle("std", "keys", "standard-pizza-v1");
  box_.WriteFile("b/model.sig", ReadBytes(standard + "/model.sig"));
  ProcessResult other = Refused({"--environment", "production", "--model-dir",
                                 dir, "--trusted-key", Pub("keys")});
  EXPECT_THAT(other.err, HasSubstr(dir + "/model.sig is the signature of "
                                         "another bundle ('std'"));

  Json e = ParseJsonOrFail(sig, "model.sig");
  e["payloadType"] = "application/x-unknown";
  box_.WriteFile("b/model.sig", e.dump());
  ProcessResult type = Refused({"--environment", "production", "--model-dir",
                                dir, "--trusted-key", Pub("keys")});
  EXPECT_THAT(type.err, HasSubstr("payloadType is 'application/x-unknown'"));
}

// Staging trusts the keys its environments file lists; production in the
// same file does not list the key (revoked), and refuses it.
TEST_F(ServeBundlesTest, EnvironmentsFileSaysWhichKeysAreTrusted) {
  const std::string dir = Bundle("b", "keys");
  Json envs =
      ParseJsonOrFail(ReadBytes(SourceDir() + "/config/environments.json"),
                      "environments.json");
  std::string pub = ReadBytes(Pub("keys"));
  while (!pub.empty() && pub.back() == '\n') pub.pop_back();
  envs["staging"]["trusted_keys"] = {
      {{"id", key_id_["keys"]}, {"public_key", pub}}};
  const std::string config = box_.WriteFile("environments.json", envs.dump(2));
  ServerProcess server({"--environment", "staging", "--config", config,
                        "--workers", "1", "--model-dir", dir},
                       box_.dir(), box_.Path("serve.log"));
  ASSERT_TRUE(server.WaitReady(seconds(30))) << server.Log();
  EXPECT_THAT(server.Log(), HasSubstr("trusted in staging (" + config));
  EXPECT_EQ(server.Terminate(seconds(20)), 0);

  ProcessResult r = Refused(
      {"--environment", "production", "--config", config, "--model-dir", dir});
  EXPECT_THAT(r.err, HasSubstr("signed by key " + key_id_["keys"]));
  EXPECT_THAT(r.err, HasSubstr("trusts no key"));
}

// With --registry the keys given to the server (--trusted-key) anchor the
// registry's: production needs them, a key counts only if both trust it, so a
// key the registry was made to trust is not enough and one untrusted there
// (revoked) is refused.
TEST_F(ServeBundlesTest, RegistryTrustIsAnchoredByTheGivenKeys) {
  const std::string dir = Bundle("b", "keys");
  const std::string theirs = Bundle("theirs", "other");
  auto keys = [&](std::vector<std::string> args) {
    args.insert(args.end(), {"--registry", box_.registry(), "--config",
                             SourceDir() + "/config/environments.json"});
    args.insert(args.begin(), "keys");
    ProcessResult r = box_.Spatial(args);
    EXPECT_EQ(r.exit_code, 0) << r;
  };
  keys({"trust", Pub("keys"), "--environment", "production"});
  std::vector<std::string> args = {"--environment",     "production",
                                   "--registry",        box_.registry(),
                                   "--poll-registry-s", "0"};
  auto with = [&](std::vector<std::string> more) {
    std::vector<std::string> all = args;
    all.insert(all.end(), more.begin(), more.end());
    return all;
  };

  // No keys of its own: a usage error that says why, never ready.
  std::vector<std::string> bare = with({"--model-dir", dir});
  bare.insert(bare.begin(), {SpatialBinary(), "serve", "--port", "0"});
  ProcessResult usage = RunProcess(bare, {.cwd = box_.dir()});
  EXPECT_EQ(usage.exit_code, 2) << usage;
  EXPECT_THAT(usage.err, HasSubstr("not serving production from a registry "
                                   "without keys of its own"));
  EXPECT_THAT(usage.err, HasSubstr("--trusted-key signing.pub"));
  // A key file others can write is no anchor: refused, as a tokens file is.
  const std::string loose =
      box_.WriteFile("loose/signing.pub", ReadBytes(Pub("keys")));
  ASSERT_EQ(::chmod(loose.c_str(), 0664), 0);
  std::vector<std::string> writable = bare;
  writable.insert(writable.end(), {"--trusted-key", loose});
  ProcessResult group = RunProcess(writable, {.cwd = box_.dir()});
  EXPECT_EQ(group.exit_code, 2) << group;
  EXPECT_THAT(group.err, HasSubstr("--trusted-key " + loose +
                                   " is writable by group or others "
                                   "(mode 0664)"));
  {
    ServerProcess server(
        with({"--model-dir", dir, "--trusted-key", Pub("keys")}), box_.dir(),
        box_.Path("serve.log"));
    ASSERT_TRUE(server.WaitReady(seconds(30))) << server.Log();
    EXPECT_THAT(server.Log(), HasSubstr("trusted in production (the registry "
                                        "and --trusted-key)"));
    EXPECT_THAT(server.Log(),
                HasSubstr("production serves only what key " + key_id_["keys"] +
                          " signed (given with --trusted-key"));
  }
  // Whoever can write the registry trusts their key there (an audited,
  // chain-valid record): the server was not given it, so it is refused.
  keys({"trust", Pub("other"), "--environment", "production"});
  ProcessResult forged =
      Refused(with({"--model-dir", theirs, "--trusted-key", Pub("keys")}));
  EXPECT_THAT(forged.err, HasSubstr("signed by key " + key_id_["other"]));
  EXPECT_THAT(forged.err, HasSubstr("refusing to serve " + theirs));

  // Revoked in the registry: the given key alone does not bring it back.
  keys({"untrust", key_id_["keys"], "--environment", "production"});
  ProcessResult revoked =
      Refused(with({"--model-dir", dir, "--trusted-key", Pub("keys")}));
  EXPECT_THAT(revoked.err,
              HasSubstr("production trusts none of the keys given with "
                        "--trusted-key (" +
                        key_id_["keys"] + "); the registry trusts " +
                        key_id_["other"]));
}

// $SPATIAL_MODEL_PATH and the built-in default bundles are checked too.
TEST_F(ServeBundlesTest, DefaultBundlesAndModelPathAreChecked) {
  const std::string dir = Bundle("b", "");
  ::setenv("SPATIAL_MODEL_PATH", dir.c_str(), 1);
  ProcessResult from_env =
      Refused({"--environment", "production", "--trusted-key", Pub("keys")});
  ::unsetenv("SPATIAL_MODEL_PATH");
  EXPECT_THAT(from_env.err, HasSubstr("refusing to serve " + dir));

  std::vector<std::string> argv = {
      SpatialBinary(), "serve",     "--port",        "0",
      "--address",     "127.0.0.1", "--environment", "staging"};
  ProcessResult shipped =
      RunProcess(argv, {.cwd = SourceDir(), .timeout = seconds(60)});
  EXPECT_EQ(shipped.exit_code, 1) << shipped;
  EXPECT_THAT(
      shipped.err,
      HasSubstr("refusing to serve models/spatial-pizza-v1 in staging"));
}

// Development serves unsigned bundles with exactly one warning line, but a
// model.sig that does not match its files is refused there too; the work
// dir is private (0700, named by mkdtemp) and removed at a clean stop.
TEST_F(ServeBundlesTest,
       DevelopmentWarnsOnceChecksSignaturesAndWorksPrivately) {
  const std::string a = Bundle("a", ""),
                    s = Bundle("s", "", "standard-pizza-v1");
  const std::string tmp = box_.Path("tmp");
  fs::create_directories(tmp);
  const char* old_tmp = std::getenv("TMPDIR");
  std::string saved = old_tmp ? old_tmp : "";
  ::setenv("TMPDIR", tmp.c_str(), 1);
  ServerProcess server({"--workers", "1", "--model-dir", a, "--model-dir", s},
                       box_.dir(), box_.Path("serve.log"));
  if (saved.empty())
    ::unsetenv("TMPDIR");
  else
    ::setenv("TMPDIR", saved.c_str(), 1);
  ASSERT_TRUE(server.WaitReady(seconds(30))) << server.Log();
  const std::string log = server.Log();
  int warnings = 0;
  for (absl::string_view line : absl::StrSplit(log, '\n'))
    warnings += absl::StartsWith(line, "warning:") ? 1 : 0;
  EXPECT_EQ(warnings, 1) << log;
  EXPECT_THAT(log, HasSubstr("warning: serving unsigned bundles " + a + ", " +
                             s + " in development"));
  std::vector<std::string> entries = ListTree(tmp);
  ASSERT_EQ(entries.size(), 1u) << ::testing::PrintToString(entries);
  const std::string prefix =
      "spatial-serve-" + std::to_string(server.pid()) + "-";
  EXPECT_EQ(entries[0].rfind(prefix, 0), 0u) << entries[0];
  EXPECT_EQ(entries[0].size(), prefix.size() + 6) << entries[0];
  struct stat st;
  ASSERT_EQ(::lstat((tmp + "/" + entries[0]).c_str(), &st), 0);
  EXPECT_TRUE(S_ISDIR(st.st_mode));
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  EXPECT_EQ(st.st_uid, ::geteuid());
  EXPECT_EQ(server.Terminate(seconds(20)), 0);
  EXPECT_TRUE(ListTree(tmp).empty());

  const std::string signed_dir = Bundle("t", "keys");
  box_.WriteFile("t/manifest.json",
                 ReadBytes(signed_dir + "/manifest.json") + " ");
  ProcessResult r = Refused({"--model-dir", signed_dir});
  EXPECT_THAT(r.err, HasSubstr("refusing to serve " + signed_dir +
                               " in development: file 'manifest.json' was "
                               "changed after signing"));
}

}  // namespace
}  // namespace spatial::integration
