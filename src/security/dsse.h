// DSSE envelopes (https://github.com/secure-systems-lab/dsse): a payload, its
// type and signatures over PAE(type, payload). Plain values and pure
// functions; thread-safe.
#ifndef SPATIAL_SECURITY_DSSE_H_
#define SPATIAL_SECURITY_DSSE_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace spatial::security {

constexpr const char* kInTotoPayloadType = "application/vnd.in-toto+json";

struct DsseSignature {
  std::string keyid;
  std::string sig;  // raw signature bytes
};

struct Envelope {
  std::string payload_type;
  std::string payload;  // raw payload bytes (the in-toto statement JSON)
  std::vector<DsseSignature> signatures;

  // The envelope's JSON ({payloadType, payload: base64, signatures: [{keyid,
  // sig: base64}]}), as written to model.sig and stored in the registry.
  std::string Serialize() const;
  // InvalidArgument naming `where` for anything but a DSSE envelope.
  static absl::StatusOr<Envelope> Parse(absl::string_view json,
                                        absl::string_view where);
};

// DSSE v1 pre-authentication encoding: "DSSEv1 <len> <type> <len> <payload>".
std::string Pae(absl::string_view payload_type, absl::string_view payload);

}  // namespace spatial::security

#endif  // SPATIAL_SECURITY_DSSE_H_
