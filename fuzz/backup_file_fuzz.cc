// A backup file given to `spatial model restore` / `backup verify`
// (src/registry/backup/backup_file.h): a SQLite database from anywhere.
// Written to a temporary file, opened read-only, every part read and checked.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "src/registry/backup/backup_file.h"

namespace {

std::string path;

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  char tmpl[] = "/tmp/spatial-fuzz-backup-XXXXXX";
  int fd = mkstemp(tmpl);
  if (fd < 0) abort();
  close(fd);
  path = tmpl;
  atexit([] { unlink(path.c_str()); });
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace b = spatial::registry::backup;
  FILE* f = fopen(path.c_str(), "wb");
  if (f == nullptr) abort();
  if (size > 0 && fwrite(data, 1, size, f) != size) abort();
  fclose(f);
  auto reader = b::BackupReader::Open(path);
  if (!reader.ok()) return 0;
  (void)(*reader)->Registry();
  (void)(*reader)->Blobs();
  (void)(*reader)->ForEachBlob(
      [](const b::BlobEntry&, const std::string*) { return absl::OkStatus(); });
  return 0;
}
