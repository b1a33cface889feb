// A DSSE signature file (model.sig, src/security/dsse.h) and the in-toto
// statement inside it (src/security/signing.h), verified against a key that
// did not sign it; the input is also tried as a bare statement. What parses
// must serialize and parse back the same.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "src/security/dsse.h"
#include "src/security/keys.h"
#include "src/security/signing.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace s = spatial::security;
  absl::string_view json(reinterpret_cast<const char*>(data), size);
  // The statement is read before any signature is checked: the input as a
  // payload too, which base64 would hide from the mutations.
  (void)s::ParseEnvelopeStatement(s::Envelope{
      .payload_type = s::kInTotoPayloadType, .payload = std::string(json)});
  auto e = s::Envelope::Parse(json, "model.sig");
  if (!e.ok()) return 0;
  auto again = s::Envelope::Parse(e->Serialize(), "serialized");
  if (!again.ok() || again->Serialize() != e->Serialize()) abort();
  (void)s::ParseEnvelopeStatement(*e);
  // Any well-formed 32-byte key: no fuzzed signature verifies under it.
  static const auto key = s::PublicKeyFromBase64(
      "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=", "fuzz key");
  if (!key.ok()) abort();
  if (s::VerifyEnvelope(*e, {*key}).ok()) abort();
  return 0;
}
