#include "src/security/dsse.h"

#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"
#include "src/base/status_macros.h"
#include "src/security/keys.h"

namespace spatial::security {

using Json = nlohmann::json;

std::string Pae(absl::string_view payload_type, absl::string_view payload) {
  return absl::StrCat("DSSEv1 ", payload_type.size(), " ", payload_type, " ",
                      payload.size(), " ", payload);
}

std::string Envelope::Serialize() const {
  Json sigs = Json::array();
  for (const auto& s : signatures)
    sigs.push_back({{"keyid", s.keyid}, {"sig", ToBase64(s.sig)}});
  return Json{{"payloadType", payload_type},
              {"payload", ToBase64(payload)},
              {"signatures", sigs}}
      .dump(2);
}

absl::StatusOr<Envelope> Envelope::Parse(absl::string_view json,
                                         absl::string_view where) {
  Json j = Json::parse(json.begin(), json.end(), nullptr,
                       /*allow_exceptions=*/false);
  auto bad = [&](absl::string_view what) {
    return absl::InvalidArgumentError(
        absl::StrCat(where, " is not a DSSE signature envelope: ", what));
  };
  if (!j.is_object()) return bad("not a JSON object");
  if (!j.contains("payloadType") || !j["payloadType"].is_string())
    return bad("no payloadType");
  if (!j.contains("payload") || !j["payload"].is_string())
    return bad("no payload");
  if (!j.contains("signatures") || !j["signatures"].is_array() ||
      j["signatures"].empty())
    return bad("no signatures");
  Envelope e;
  e.payload_type = j["payloadType"].get<std::string>();
  ASSIGN_OR_RETURN(e.payload, FromBase64(j["payload"].get<std::string>(),
                                         absl::StrCat(where, ": payload")));
  for (const auto& s : j["signatures"]) {
    if (!s.is_object() || !s.contains("sig") || !s["sig"].is_string())
      return bad("a signature without sig");
    DsseSignature d;
    if (s.contains("keyid") && s["keyid"].is_string())
      d.keyid = s["keyid"].get<std::string>();
    ASSIGN_OR_RETURN(d.sig, FromBase64(s["sig"].get<std::string>(),
                                       absl::StrCat(where, ": sig")));
    e.signatures.push_back(std::move(d));
  }
  return e;
}

}  // namespace spatial::security
