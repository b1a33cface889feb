// The management API's tokens file (src/serving/tokens.h).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "src/serving/tokens.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  auto t = spatial::serving::TokenTable::Parse(text, "tokens.json");
  if (t.ok()) (void)t->Find("a-presented-token");
  return 0;
}
