// registry_writer URL WRITER REGISTERS PROMOTIONS ENVIRONMENT START_MS
//
// A test-only process that writes to a PostgreSQL registry as one CI runner
// would: registers REGISTERS versions (WriterVersion, registry_writer.h) and
// validates and promotes every (REGISTERS / PROMOTIONS)th of them in
// ENVIRONMENT, all through its own connection. Waits until the wall clock
// reaches START_MS (ms since the epoch) so that all writers start together.
// Exits 0 when every write succeeded, else 1 with each failure on stderr.
#include "tests/integration/registry_writer.h"

#include <chrono>
#include <cstdlib>
#include <iostream>
#include <thread>

#include "src/registry/postgres/postgres_registry.h"

int main(int argc, char** argv) {
  using spatial::registry::PostgresRegistry;
  if (argc != 7) {
    std::cerr << "usage: registry_writer URL WRITER REGISTERS PROMOTIONS "
                 "ENVIRONMENT START_MS\n";
    return 2;
  }
  const std::string url = argv[1];
  const int writer = std::atoi(argv[2]);
  const int registers = std::atoi(argv[3]);
  const int promotions = std::atoi(argv[4]);
  const std::string env = argv[5];
  const auto start = std::chrono::system_clock::time_point(
      std::chrono::milliseconds(std::atoll(argv[6])));
  if (registers <= 0 || promotions <= 0 || promotions > registers) {
    std::cerr << "registry_writer: bad counts\n";
    return 2;
  }
  auto reg = PostgresRegistry::Open({.url = url});
  if (!reg.ok()) {
    std::cerr << "registry_writer: " << reg.status() << "\n";
    return 1;
  }
  std::this_thread::sleep_until(start);
  int failures = 0;
  const int every = registers / promotions;
  int promoted = 0;
  for (int i = 0; i < registers; ++i) {
    const std::string id = spatial::integration::WriterVersionId(writer, i);
    absl::Status s =
        (*reg)->AddVersion(spatial::integration::WriterVersion(id));
    if (s.ok() && i % every == 0 && promoted < promotions) {
      spatial::registry::ValidationRecord r;
      r.version_id = id;
      r.environment = env;
      r.valid = true;
      r.result = {{"valid", true}};
      r.actor = "writer";
      r.validated_at = "2026-11-26T00:00:00.000000Z";
      s = (*reg)->RecordValidation(r);
      if (s.ok()) {
        s = (*reg)
                ->Activate({.environment = env,
                            .version_id = id,
                            .actor = absl::StrCat("writer", writer)})
                .status();
        if (s.ok()) ++promoted;
      }
    }
    if (!s.ok()) {
      ++failures;
      std::cerr << id << ": " << s << "\n";
    }
  }
  std::cout << "writer " << writer << ": " << registers << " registered, "
            << promoted << " promoted, " << failures << " failures\n";
  return failures == 0 ? 0 : 1;
}
