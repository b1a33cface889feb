#include "src/security/checkpoint.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "src/security/dsse.h"

namespace spatial::security {
namespace {
using ::testing::HasSubstr;
using Json = nlohmann::json;

// A log of `n` chained records of registry `id`.
registry::AuditSnapshot Log(int n, const std::string& id = "reg-a") {
  registry::AuditSnapshot s;
  s.registry_id = id;
  std::optional<registry::AuditRecord> prev;
  for (int i = 0; i < n; ++i) {
    prev = registry::NextAuditRecord(
        prev, {"tester", "register", "v" + std::to_string(i)},
        "2026-12-01T00:00:00Z");
    s.records.push_back(*prev);
  }
  return s;
}

std::string Signed(const registry::AuditSnapshot& log, const PrivateKey& key) {
  auto c = MakeCheckpoint(log, "2026-12-01T01:00:00Z");
  EXPECT_TRUE(c.ok()) << c.status();
  return SignCheckpoint(*c, key);
}

// A checkpoint reads back as taken, and the log it was taken of (or a longer
// one) contains it.
TEST(CheckpointTest, RoundTripsAndIsContainedByItsLog) {
  PrivateKey key = PrivateKey::Generate();
  std::string file = Signed(Log(3), key);
  auto c = ReadCheckpoint(file, "cp.json", key.public_key());
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->registry_id, "reg-a");
  EXPECT_EQ(c->seq, 3);
  EXPECT_EQ(c->head, Log(3).records.back().hash);
  EXPECT_EQ(c->time, "2026-12-01T01:00:00Z");
  EXPECT_EQ(c->key_id, key.public_key().key_id);
  EXPECT_TRUE(CheckLogContains(*c, Log(3), "cp.json").ok());
  EXPECT_TRUE(CheckLogContains(*c, Log(5), "cp.json").ok());
}

// A log shorter than the checkpoint, one rewritten below it, and one of
// another registry are each refused, naming what is wrong.
TEST(CheckpointTest, ShorterDivergedOrForeignLogsAreRefused) {
  PrivateKey key = PrivateKey::Generate();
  auto c = ReadCheckpoint(Signed(Log(4), key), "cp.json", key.public_key());
  ASSERT_TRUE(c.ok()) << c.status();

  absl::Status shorter = CheckLogContains(*c, Log(2), "cp.json");
  EXPECT_EQ(shorter.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(shorter.message(), HasSubstr("ends at seq 2"));
  EXPECT_THAT(shorter.message(), HasSubstr("vouches for 4 records"));
  EXPECT_THAT(shorter.message(), HasSubstr("tail was cut off"));
  EXPECT_EQ(CheckLogContains(*c, Log(0), "cp.json").code(),
            absl::StatusCode::kDataLoss);

  registry::AuditSnapshot rewritten = Log(5);
  rewritten.records[3].actor = "mallory";
  rewritten.records[3].hash = registry::AuditHash(rewritten.records[3]);
  absl::Status diverged = CheckLogContains(*c, rewritten, "cp.json");
  EXPECT_EQ(diverged.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(diverged.message(), HasSubstr("diverges from cp.json"));
  EXPECT_THAT(diverged.message(), HasSubstr("record seq 4"));

  absl::Status foreign = CheckLogContains(*c, Log(4, "reg-b"), "cp.json");
  EXPECT_EQ(foreign.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(foreign.message(),
              HasSubstr("checkpoint of registry reg-a, not of this one "
                        "(reg-b)"));
}

// Files that are not a checkpoint signed by the key are refused with
// FailedPrecondition (a refusal, not a usage error), saying why.
TEST(CheckpointTest, BadFilesAreRefused) {
  PrivateKey key = PrivateKey::Generate();
  PrivateKey other = PrivateKey::Generate();
  const std::string good = Signed(Log(2), key);
  struct Case {
    std::string name, text, want;
  };
  Envelope forged = *Envelope::Parse(good, "good");
  forged.payload = absl::StrCat(
      forged.payload.substr(0, forged.payload.find("\"seq\":2")), "\"seq\":1",
      forged.payload.substr(forged.payload.find("\"seq\":2") + 7));
  Envelope typed = forged;
  typed.payload_type = kInTotoPayloadType;
  Envelope unsigned_payload;
  unsigned_payload.payload_type = kCheckpointPayloadType;
  unsigned_payload.payload = "{\"_type\": \"something else\"}";
  unsigned_payload.signatures.push_back(
      {key.public_key().key_id,
       key.Sign(Pae(kCheckpointPayloadType, unsigned_payload.payload))});
  const std::vector<Case> cases = {
      {"truncated", good.substr(0, good.size() / 2),
       "is not an audit checkpoint"},
      {"empty", "", "is not an audit checkpoint"},
      {"not json", "hello", "is not an audit checkpoint"},
      {"altered", forged.Serialize(), "does not verify"},
      {"another key", Signed(Log(2), other),
       absl::StrCat("is signed by key ", other.public_key().key_id,
                    ", not by the given public key ", key.public_key().key_id)},
      {"another type", typed.Serialize(), "a DSSE envelope of type"},
      {"not a checkpoint payload", unsigned_payload.Serialize(),
       "its payload is not of type"},
  };
  for (const auto& c : cases) {
    auto r = ReadCheckpoint(c.text, "cp.json", key.public_key());
    EXPECT_EQ(r.status().code(), absl::StatusCode::kFailedPrecondition)
        << c.name << ": " << r.status();
    EXPECT_THAT(r.status().message(), HasSubstr(c.want)) << c.name;
  }
}

// An empty log has nothing to checkpoint.
TEST(CheckpointTest, EmptyLogHasNoCheckpoint) {
  EXPECT_EQ(MakeCheckpoint(Log(0), "t").status().code(),
            absl::StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace spatial::security
