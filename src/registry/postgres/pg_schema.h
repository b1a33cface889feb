// The PostgreSQL registry's schema, as the migrations that build it.
// Internal to src/registry/postgres/.
#ifndef SPATIAL_REGISTRY_POSTGRES_PG_SCHEMA_H_
#define SPATIAL_REGISTRY_POSTGRES_PG_SCHEMA_H_

namespace spatial::registry::pg {

// The SQL that brings the schema from version i to i + 1, for i in
// [0, PostgresRegistry::kSchemaVersion).
const char* Migration(int i);

}  // namespace spatial::registry::pg

#endif  // SPATIAL_REGISTRY_POSTGRES_PG_SCHEMA_H_
