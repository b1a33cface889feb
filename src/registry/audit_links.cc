#include "src/registry/audit_links.h"

#include <array>
#include <map>
#include <random>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "src/registry/audit_digest.h"

namespace spatial::registry {
namespace {

constexpr std::array<std::pair<AuditedKind, const char*>, 5> kKindNames = {{
    {AuditedKind::kEnvironment, "environment"},
    {AuditedKind::kVersion, "version"},
    {AuditedKind::kValidation, "validation"},
    {AuditedKind::kDeployment, "deployment"},
    {AuditedKind::kSignature, "signature"},
}};

// How a record's details.rows names the row.
Json RowKey(const AuditedRow& r) {
  switch (r.kind) {
    case AuditedKind::kEnvironment:
      return r.environment;
    case AuditedKind::kVersion:
      return r.version_id;
    case AuditedKind::kValidation:
      return Json::array({r.version_id, r.environment});
    case AuditedKind::kDeployment:
      return Json::array({r.deployment_seq, r.version_id, r.environment});
    case AuditedKind::kSignature:
      return Json::array({r.version_id, r.key_id});
  }
  return nullptr;
}

// The row a details.rows entry names; nullopt when the entry is not of that
// kind's form.
std::optional<AuditedRow> RowFromKey(AuditedKind kind, const Json& key) {
  auto pair =
      [&](std::string AuditedRow::*second) -> std::optional<AuditedRow> {
    if (!key.is_array() || key.size() != 2 || !key[0].is_string() ||
        !key[1].is_string()) {
      return std::nullopt;
    }
    AuditedRow r;
    r.kind = kind;
    r.version_id = key[0].get<std::string>();
    r.*second = key[1].get<std::string>();
    return r;
  };
  AuditedRow r;
  r.kind = kind;
  switch (kind) {
    case AuditedKind::kEnvironment:
      if (!key.is_string()) return std::nullopt;
      r.environment = key.get<std::string>();
      return r;
    case AuditedKind::kVersion:
      if (!key.is_string()) return std::nullopt;
      r.version_id = key.get<std::string>();
      return r;
    case AuditedKind::kValidation:
      return pair(&AuditedRow::environment);
    case AuditedKind::kDeployment:
      if (!key.is_array() || key.size() != 3 || !key[0].is_number_integer() ||
          !key[1].is_string() || !key[2].is_string()) {
        return std::nullopt;
      }
      r.deployment_seq = key[0].get<int64_t>();
      r.version_id = key[1].get<std::string>();
      r.environment = key[2].get<std::string>();
      return r;
    case AuditedKind::kSignature:
      return pair(&AuditedRow::key_id);
  }
  return std::nullopt;
}

std::string IndexKey(const AuditedRow& r) {
  return absl::StrCat(AuditedKindName(r.kind), "\x1f", RowKey(r).dump());
}

std::string DescribeRecord(const AuditRecord& r) {
  return absl::StrCat("audit record seq ", r.seq, " (", r.action,
                      r.subject.empty() ? "" : absl::StrCat(" ", r.subject),
                      ")");
}

// True when `record` lists `row` in its details.rows.
bool Names(const AuditRecord& record, const AuditedRow& row) {
  const Json* rows = nullptr;
  if (record.details.is_object()) {
    auto it = record.details.find("rows");
    if (it != record.details.end() && it->is_object()) rows = &*it;
  }
  if (rows == nullptr) return false;
  auto list = rows->find(AuditedKindName(row.kind));
  if (list == rows->end() || !list->is_array()) return false;
  const Json key = RowKey(row);
  for (const auto& k : *list) {
    if (k == key) return true;
  }
  return false;
}

// The problem with `row`'s content against the digest `record` holds for it;
// nullopt when they agree, when the record predates digests or when the
// row's content was not read. `counted` is set when a digest was compared.
std::optional<std::string> DigestProblem(const AuditRecord& record,
                                         const AuditedRow& row, bool& counted) {
  counted = false;
  auto digests = record.details.find("digests");
  if (digests == record.details.end() || !row.content) return std::nullopt;
  const char* kind = AuditedKindName(row.kind);
  const Json& rows = record.details.at("rows").at(kind);
  const Json key = RowKey(row);
  std::optional<std::string> recorded;
  for (size_t i = 0; i < rows.size(); ++i) {
    if (rows[i] != key) continue;
    if (digests->is_object() && digests->contains(kind) &&
        (*digests)[kind].is_array() && i < (*digests)[kind].size() &&
        (*digests)[kind][i].is_string()) {
      recorded = (*digests)[kind][i].get<std::string>();
    }
    break;
  }
  if (!recorded) {
    return absl::StrCat(DescribeRecord(record), " holds no digest for ",
                        DescribeRow(row), " (its details.digests was altered)");
  }
  counted = true;
  if (*recorded == ContentDigest(row)) return std::nullopt;
  return absl::StrCat(
      DescribeRow(row), " was edited after ", DescribeRecord(record),
      " wrote it: its stored columns no longer match the digest that record "
      "holds (a change made outside spatial, which no audit record "
      "explains)");
}

}  // namespace

const char* AuditedKindName(AuditedKind k) {
  for (const auto& [kind, name] : kKindNames) {
    if (kind == k) return name;
  }
  return "row";
}

AuditedRow AuditedRow::Environment(std::string name) {
  AuditedRow r;
  r.kind = AuditedKind::kEnvironment;
  r.environment = std::move(name);
  return r;
}

AuditedRow AuditedRow::Version(std::string id) {
  AuditedRow r;
  r.kind = AuditedKind::kVersion;
  r.version_id = std::move(id);
  return r;
}

AuditedRow AuditedRow::Validation(std::string id, std::string environment) {
  AuditedRow r;
  r.kind = AuditedKind::kValidation;
  r.version_id = std::move(id);
  r.environment = std::move(environment);
  return r;
}

AuditedRow AuditedRow::Deployment(int64_t seq, std::string id,
                                  std::string environment) {
  AuditedRow r;
  r.kind = AuditedKind::kDeployment;
  r.deployment_seq = seq;
  r.version_id = std::move(id);
  r.environment = std::move(environment);
  return r;
}

AuditedRow AuditedRow::Signature(std::string id, std::string key_id) {
  AuditedRow r;
  r.kind = AuditedKind::kSignature;
  r.version_id = std::move(id);
  r.key_id = std::move(key_id);
  return r;
}

std::string DescribeRow(const AuditedRow& r) {
  switch (r.kind) {
    case AuditedKind::kEnvironment:
      return absl::StrCat("environment ", r.environment);
    case AuditedKind::kVersion:
      return absl::StrCat("version ", r.version_id);
    case AuditedKind::kValidation:
      return absl::StrCat("validation of ", r.version_id, " for ",
                          r.environment);
    case AuditedKind::kDeployment:
      return absl::StrCat("deployment #", r.deployment_seq, " (", r.version_id,
                          " to ", r.environment, ")");
    case AuditedKind::kSignature:
      return absl::StrCat("signature of ", r.version_id, " by key ", r.key_id);
  }
  return "row";
}

Json RowsDetail(const std::vector<AuditedRow>& rows) {
  Json out = Json::object();
  for (const auto& r : rows) out[AuditedKindName(r.kind)].push_back(RowKey(r));
  return out;
}

AuditLinkCheck CheckAuditLinks(const AuditSnapshot& snapshot) {
  AuditLinkCheck c;
  auto add = [&c](std::optional<AuditedRow> about, std::string problem) {
    c.problems.push_back(std::move(problem));
    c.concerns.push_back(std::move(about));
  };
  std::map<int64_t, const AuditRecord*> by_seq;
  for (const auto& r : snapshot.records) by_seq.emplace(r.seq, &r);
  std::map<std::string, std::pair<const AuditedRow*, int64_t>> by_key;
  for (const auto& row : snapshot.rows) {
    ++c.rows;
    by_key[IndexKey(row)] = {&row, row.audit_seq.value_or(0)};
    if (!row.audit_seq) {
      add(row, absl::StrCat(DescribeRow(row),
                            " has no audit record (its audit_seq is empty)"));
      continue;
    }
    auto it = by_seq.find(*row.audit_seq);
    if (it == by_seq.end()) {
      add(row, absl::StrCat(DescribeRow(row), " was made by audit record seq ",
                            *row.audit_seq,
                            ", which is missing (the log's tail was cut or the "
                            "record deleted)"));
    } else if (!Names(*it->second, row)) {
      add(row, absl::StrCat(DescribeRow(row), " points at ",
                            DescribeRecord(*it->second),
                            ", which does not describe it"));
    } else {
      bool counted = false;
      std::optional<std::string> problem =
          DigestProblem(*it->second, row, counted);
      if (problem) add(row, *problem);
      if (counted && !problem) ++c.digested;
    }
  }
  for (const auto& record : snapshot.records) {
    if (!record.details.is_object()) continue;
    auto rows = record.details.find("rows");
    if (rows == record.details.end()) continue;
    ++c.linked;
    if (!rows->is_object()) {
      add(std::nullopt, absl::StrCat(DescribeRecord(record),
                                     " has a details.rows that is not an "
                                     "object"));
      continue;
    }
    for (const auto& [kind, name] : kKindNames) {
      auto list = rows->find(name);
      if (list == rows->end()) continue;
      for (const auto& key : *list) {
        std::optional<AuditedRow> named = RowFromKey(kind, key);
        if (!named) {
          add(std::nullopt,
              absl::StrCat(DescribeRecord(record), " names a ", name,
                           " it cannot describe: ", key.dump()));
          continue;
        }
        auto found = by_key.find(IndexKey(*named));
        if (found == by_key.end()) {
          add(named, absl::StrCat(DescribeRecord(record), " made ",
                                  DescribeRow(*named), ", which is gone"));
        } else if (found->second.second < record.seq) {
          add(*found->second.first,
              absl::StrCat(DescribeRecord(record), " made ",
                           DescribeRow(*found->second.first),
                           ", which points at the older audit record seq ",
                           found->second.second));
        }
      }
    }
  }
  return c;
}

namespace {

std::vector<std::string> ProblemsReliedOn(const AuditLinkCheck& check,
                                          const std::string& version_id,
                                          const std::string& environment,
                                          bool deployments) {
  std::vector<std::string> out;
  for (size_t i = 0; i < check.problems.size() && i < check.concerns.size();
       ++i) {
    if (!check.concerns[i]) continue;
    const AuditedRow& r = *check.concerns[i];
    bool relied_on = false;
    switch (r.kind) {
      case AuditedKind::kEnvironment:
        relied_on = r.environment == environment;
        break;
      case AuditedKind::kVersion:
      case AuditedKind::kSignature:
        relied_on = r.version_id == version_id;
        break;
      case AuditedKind::kValidation:
        relied_on = r.version_id == version_id && r.environment == environment;
        break;
      case AuditedKind::kDeployment:
        relied_on = deployments && r.environment == environment;
        break;
    }
    if (relied_on) out.push_back(check.problems[i]);
  }
  return out;
}

}  // namespace

std::vector<std::string> ActivationProblems(const AuditLinkCheck& check,
                                            const std::string& version_id,
                                            const std::string& environment) {
  return ProblemsReliedOn(check, version_id, environment, false);
}

std::vector<std::string> ServingProblems(const AuditLinkCheck& check,
                                         const std::string& version_id,
                                         const std::string& environment) {
  return ProblemsReliedOn(check, version_id, environment, true);
}

AuditNote WithRows(AuditNote note, const std::vector<AuditedRow>& rows) {
  if (note.details.is_null()) note.details = Json::object();
  if (!note.details.is_object()) {
    note.details = Json{{"note", std::move(note.details)}};
  }
  note.details["rows"] = RowsDetail(rows);
  Json digests = Json::object();
  bool any = false;
  for (const auto& r : rows) {
    std::optional<std::string> d = ContentDigest(r);
    any = any || d.has_value();
    digests[AuditedKindName(r.kind)].push_back(d ? Json(*d) : Json(nullptr));
  }
  if (any) note.details["digests"] = std::move(digests);
  return note;
}

AuditNote AdoptNote(const std::vector<AuditedRow>& rows) {
  return {"spatial",
          kAuditAdoptAction,
          "",
          {{"reason",
            "rows made before the registry linked rows to audit records "
            "(schema 3)"},
           {"rows", RowsDetail(rows)}}};
}

std::string NewRegistryId() {
  std::random_device rd;
  std::string id;
  for (int i = 0; i < 4; ++i) absl::StrAppendFormat(&id, "%08x", rd());
  return id;
}

}  // namespace spatial::registry
