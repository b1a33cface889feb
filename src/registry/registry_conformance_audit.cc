// Conformance tests of the audit log, signatures and UpdateEnvironment (the
// Registry additions of the security work), for every adapter.
#include "src/registry/registry_conformance.h"

namespace spatial::registry {
namespace {

std::vector<std::string> Actions(const std::vector<AuditRecord>& records) {
  std::vector<std::string> out;
  for (const auto& r : records) out.push_back(r.action);
  return out;
}

StoredSignature TestSignature(const std::string& id, const std::string& key) {
  return {id, key, "{\"payloadType\": \"x\", \"key\": \"" + key + "\"}",
          "signer", "2026-11-25T12:00:00.000000Z"};
}

// A page of the log is the newest records after `offset`, newest first, with
// the log's size; past the end it is empty.
TEST_P(RegistryConformanceTest, AuditPagesAreNewestFirst) {
  for (const char* id : {"p1", "p2", "p3", "p4", "p5"})
    ASSERT_TRUE(reg_->AddVersion(TestVersion(id)).ok());
  auto all = reg_->ListAudit();
  ASSERT_TRUE(all.ok()) << all.status();
  auto page = reg_->ListAuditPage(1, 2);
  ASSERT_TRUE(page.ok()) << page.status();
  EXPECT_EQ(page->total, static_cast<int64_t>(all->size()));
  ASSERT_EQ(page->records.size(), 2u);
  EXPECT_EQ(page->records[0].seq, (*all)[all->size() - 2].seq);
  EXPECT_EQ(page->records[0].subject, "p4");
  EXPECT_EQ(page->records[1].subject, "p3");
  EXPECT_EQ(page->records[1].hash, (*all)[all->size() - 3].hash);
  auto past = reg_->ListAuditPage(all->size(), 10);
  ASSERT_TRUE(past.ok()) << past.status();
  EXPECT_TRUE(past->records.empty());
  EXPECT_EQ(past->total, static_cast<int64_t>(all->size()));
}

// Every mutation appends one record with its actor, action and subject; the
// records form an intact chain numbered from 1.
TEST_P(RegistryConformanceTest, EveryChangeAppendsOneChainedAuditRecord) {
  ASSERT_TRUE(reg_->AddVersion(TestVersion("v1")).ok());
  ASSERT_TRUE(
      reg_->RecordValidation(TestValidation("v1", "production", true)).ok());
  ASSERT_TRUE(reg_->Activate({.environment = "production",
                              .version_id = "v1",
                              .actor = "deployer",
                              .reason = "go"})
                  .ok());
  ASSERT_TRUE(reg_->AddSignature(TestSignature("v1", "k1")).ok());
  ASSERT_TRUE(reg_->UpdateEnvironment(
                      "production",
                      [](Environment& e) {
                        e.extra["note"] = "changed";
                        return absl::OkStatus();
                      },
                      {"admin", "key.trust", "production", {{"key_id", "k1"}}})
                  .ok());
  RegistrySnapshot snap;
  snap.versions = {TestVersion("v2")};
  snap.actor = "importer";
  ASSERT_TRUE(reg_->Import(snap).ok());

  auto log = reg_->ListAudit();
  ASSERT_TRUE(log.ok()) << log.status();
  EXPECT_EQ(Actions(*log),
            (std::vector<std::string>{"environment.put", "environment.put",
                                      "register", "validate", "promote", "sign",
                                      "key.trust", "import"}));
  for (size_t i = 0; i < log->size(); ++i)
    EXPECT_EQ((*log)[i].seq, static_cast<int64_t>(i + 1));
  const auto& promote = (*log)[4];
  EXPECT_EQ(promote.actor, "deployer");
  EXPECT_EQ(promote.subject, "v1");
  EXPECT_EQ(promote.details["environment"], "production");
  EXPECT_EQ(promote.details["reason"], "go");
  EXPECT_EQ((*log)[2].actor, "tester");
  EXPECT_EQ((*log)[3].details["valid"], true);
  EXPECT_EQ((*log)[5].details["key_id"], "k1");
  EXPECT_EQ((*log)[6].actor, "admin");
  EXPECT_EQ((*log)[7].actor, "importer");
  EXPECT_EQ((*log)[7].details["versions_added"], Json({"v2"}));
  EXPECT_EQ((*reg_->GetEnvironment("production")).extra["note"], "changed");

  AuditCheck check = VerifyAuditChain(*log);
  EXPECT_FALSE(check.broken_seq.has_value()) << check.problem;
  EXPECT_EQ(check.records, 8);
  EXPECT_EQ(check.head, log->back().hash);
  EXPECT_EQ((*log)[0].prev_hash, kAuditGenesis);
  EXPECT_EQ((*log)[1].prev_hash, (*log)[0].hash);
}

// A refused change leaves no audit record (it is in the same transaction).
TEST_P(RegistryConformanceTest, RefusedChangeAppendsNoAuditRecord) {
  ASSERT_TRUE(reg_->AddVersion(TestVersion("v1")).ok());
  const size_t before = reg_->ListAudit()->size();
  EXPECT_FALSE(reg_->AddVersion(TestVersion("v1", "other")).ok());
  EXPECT_FALSE(
      reg_->Activate({.environment = "production", .version_id = "v1"}).ok());
  EXPECT_FALSE(reg_->AddSignature(TestSignature("nope", "k1")).ok());
  absl::Status refused = reg_->UpdateEnvironment(
      "production",
      [](Environment& e) {
        e.extra["note"] = "half-done";
        return absl::FailedPreconditionError("changed my mind");
      },
      {"admin", "key.trust", "production"});
  EXPECT_EQ(refused.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(refused.message(), "changed my mind");
  EXPECT_FALSE(reg_->GetEnvironment("production")->extra.contains("note"));
  EXPECT_EQ(reg_->UpdateEnvironment(
                    "nowhere", [](Environment&) { return absl::OkStatus(); },
                    {"admin", "key.trust", "nowhere"})
                .code(),
            absl::StatusCode::kNotFound);
  RegistrySnapshot conflict;
  conflict.versions = {TestVersion("v1", "different")};
  EXPECT_FALSE(reg_->Import(conflict).ok());
  EXPECT_EQ(reg_->ListAudit()->size(), before);
}

// Signatures read back as stored, one per (version, key), a new one by the
// same key replacing the old.
TEST_P(RegistryConformanceTest, SignaturesAreKeptPerKey) {
  ASSERT_TRUE(reg_->AddVersion(TestVersion("v1")).ok());
  ASSERT_TRUE(reg_->AddVersion(TestVersion("v2")).ok());
  EXPECT_TRUE(reg_->ListSignatures("v1")->empty());
  EXPECT_EQ(reg_->AddSignature(TestSignature("v9", "k1")).code(),
            absl::StatusCode::kNotFound);
  ASSERT_TRUE(reg_->AddSignature(TestSignature("v1", "k2")).ok());
  ASSERT_TRUE(reg_->AddSignature(TestSignature("v1", "k1")).ok());
  StoredSignature again = TestSignature("v1", "k2");
  again.envelope = "{\"replaced\": true}";
  ASSERT_TRUE(reg_->AddSignature(again).ok());
  auto sigs = reg_->ListSignatures("v1");
  ASSERT_TRUE(sigs.ok()) << sigs.status();
  ASSERT_EQ(sigs->size(), 2u);
  EXPECT_EQ((*sigs)[0], TestSignature("v1", "k1"));
  EXPECT_EQ((*sigs)[1], again);
  EXPECT_TRUE(reg_->ListSignatures("v2")->empty());
}

// Import brings signatures along, all or nothing.
TEST_P(RegistryConformanceTest, ImportCarriesSignatures) {
  RegistrySnapshot snap;
  snap.versions = {TestVersion("v1")};
  snap.signatures = {TestSignature("v1", "k1")};
  ASSERT_TRUE(reg_->Import(snap).ok());
  auto sigs = reg_->ListSignatures("v1");
  ASSERT_EQ(sigs->size(), 1u);
  EXPECT_EQ((*sigs)[0], TestSignature("v1", "k1"));
  RegistrySnapshot broken;
  broken.versions = {TestVersion("v2")};
  broken.signatures = {TestSignature("v3", "k1")};
  EXPECT_EQ(reg_->Import(broken).code(), absl::StatusCode::kNotFound);
  EXPECT_FALSE(reg_->GetVersion("v2").ok());
}

// The seq of the row `kind`/`pred` in `snap`; -1 when absent or unlinked.
template <typename Pred>
int64_t LinkOf(const AuditSnapshot& snap, AuditedKind kind, Pred pred) {
  for (const auto& r : snap.rows) {
    if (r.kind == kind && pred(r)) return r.audit_seq.value_or(-1);
  }
  return -1;
}

// The seq of the last record with `action`; -1 when there is none.
int64_t LastSeqOf(const AuditSnapshot& snap, const std::string& action) {
  int64_t seq = -1;
  for (const auto& r : snap.records) {
    if (r.action == action) seq = r.seq;
  }
  return seq;
}

// Each row an audited change makes (environment, version, validation,
// deployment, signature, imported rows) stores the seq of that change's
// record, the record names the row, and the links check out both ways.
TEST_P(RegistryConformanceTest, EveryRowLinksToTheRecordThatMadeIt) {
  ASSERT_TRUE(reg_->AddVersion(TestVersion("v1")).ok());
  ASSERT_TRUE(
      reg_->RecordValidation(TestValidation("v1", "production", true)).ok());
  auto promoted = reg_->Activate(
      {.environment = "production", .version_id = "v1", .actor = "deployer"});
  ASSERT_TRUE(promoted.ok()) << promoted.status();
  ASSERT_TRUE(reg_->AddSignature(TestSignature("v1", "k1")).ok());
  ASSERT_TRUE(reg_->UpdateEnvironment(
                      "production",
                      [](Environment&) { return absl::OkStatus(); },
                      {"admin", "key.trust", "production", {{"key_id", "k1"}}})
                  .ok());
  RegistrySnapshot snap;
  snap.versions = {TestVersion("v2")};
  snap.validations = {TestValidation("v2", "development", true)};
  snap.deployments = {{.environment = "development",
                       .version_id = "v2",
                       .actor = "old",
                       .created_at = "2026-01-01T00:00:00Z"}};
  snap.signatures = {TestSignature("v2", "k2")};
  snap.actor = "importer";
  ASSERT_TRUE(reg_->Import(snap).ok());

  auto got = reg_->ReadAuditSnapshot();
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->records.size(), reg_->ListAudit()->size());
  EXPECT_EQ(got->registry_id.size(), 32u);
  AuditLinkCheck check = CheckAuditLinks(*got);
  EXPECT_TRUE(check.problems.empty()) << check.problems.front();
  EXPECT_EQ(check.rows, 2 + 2 + 2 + 2 + 2);  // 2 of each kind
  EXPECT_EQ(check.linked, static_cast<int64_t>(got->records.size()));

  auto id_is = [](const std::string& id) {
    return [id](const AuditedRow& r) { return r.version_id == id; };
  };
  EXPECT_EQ(LinkOf(*got, AuditedKind::kVersion, id_is("v1")),
            LastSeqOf(*got, "register"));
  EXPECT_EQ(LinkOf(*got, AuditedKind::kValidation, id_is("v1")),
            LastSeqOf(*got, "validate"));
  EXPECT_EQ(LinkOf(*got, AuditedKind::kDeployment, id_is("v1")),
            LastSeqOf(*got, "promote"));
  EXPECT_EQ(LinkOf(*got, AuditedKind::kSignature, id_is("v1")),
            LastSeqOf(*got, "sign"));
  EXPECT_EQ(
      LinkOf(*got, AuditedKind::kEnvironment,
             [](const AuditedRow& r) { return r.environment == "production"; }),
      LastSeqOf(*got, "key.trust"));
  const int64_t import = LastSeqOf(*got, "import");
  for (auto kind : {AuditedKind::kVersion, AuditedKind::kValidation,
                    AuditedKind::kDeployment, AuditedKind::kSignature}) {
    EXPECT_EQ(LinkOf(*got, kind, id_is("v2")), import);
  }
  const AuditRecord& promote = got->records[LastSeqOf(*got, "promote") - 1];
  EXPECT_EQ(promote.details["rows"],
            Json({{"deployment", Json::array({Json::array(
                                     {promoted->seq, "v1", "production"})})}}));
  EXPECT_EQ(promote.details["environment"], "production");
}

// A row replaced by a later change points at the later record; the earlier
// record still checks out (it made the row, which was replaced since).
TEST_P(RegistryConformanceTest, ReplacedRowsPointAtTheLatestChange) {
  ASSERT_TRUE(reg_->AddVersion(TestVersion("v1")).ok());
  ASSERT_TRUE(
      reg_->RecordValidation(TestValidation("v1", "production", false)).ok());
  ASSERT_TRUE(
      reg_->RecordValidation(TestValidation("v1", "production", true)).ok());
  ASSERT_TRUE(reg_->PutEnvironment(TestEnvironment("production")).ok());
  auto got = reg_->ReadAuditSnapshot();
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(LinkOf(*got, AuditedKind::kValidation,
                   [](const AuditedRow&) { return true; }),
            LastSeqOf(*got, "validate"));
  EXPECT_EQ(
      LinkOf(*got, AuditedKind::kEnvironment,
             [](const AuditedRow& r) { return r.environment == "production"; }),
      LastSeqOf(*got, "environment.put"));
  AuditLinkCheck check = CheckAuditLinks(*got);
  EXPECT_TRUE(check.problems.empty()) << check.problems.front();
}

// An event the registry holds no row of (a token added to a tokens file)
// is one more record on the chain, linked to no row; one without an action
// appends nothing.
TEST_P(RegistryConformanceTest, RecordedEventsJoinTheChain) {
  ASSERT_TRUE(reg_->AddVersion(TestVersion("v1")).ok());
  ASSERT_TRUE(reg_->RecordEvent({"admin",
                                 "token.add",
                                 "ci",
                                 {{"role", "deployer"}, {"sha256", "ab"}}})
                  .ok());
  const size_t before = reg_->ListAudit()->size();
  EXPECT_EQ(reg_->RecordEvent({"admin", "", "ci"}).code(),
            absl::StatusCode::kInvalidArgument);
  auto log = reg_->ListAudit();
  ASSERT_TRUE(log.ok()) << log.status();
  ASSERT_EQ(log->size(), before);
  const AuditRecord& added = log->back();
  EXPECT_EQ(added.action, "token.add");
  EXPECT_EQ(added.actor, "admin");
  EXPECT_EQ(added.subject, "ci");
  EXPECT_EQ(added.details["role"], "deployer");
  EXPECT_FALSE(VerifyAuditChain(*log).broken_seq.has_value());
  auto got = reg_->ReadAuditSnapshot();
  ASSERT_TRUE(got.ok()) << got.status();
  AuditLinkCheck check = CheckAuditLinks(*got);
  EXPECT_TRUE(check.problems.empty()) << check.problems.front();
}

// Each registry has its own id, the same every time it is read.
TEST_P(RegistryConformanceTest, EachRegistryHasItsOwnId) {
  auto other = GetParam().open();
  ASSERT_NE(other, nullptr);
  auto a = reg_->ReadAuditSnapshot();
  auto b = other->ReadAuditSnapshot();
  ASSERT_TRUE(a.ok()) << a.status();
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_NE(a->registry_id, b->registry_id);
  EXPECT_EQ(reg_->ReadAuditSnapshot()->registry_id, a->registry_id);
}

}  // namespace
}  // namespace spatial::registry
