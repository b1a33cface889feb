// `spatial bench URL`: the load generator. Closed loop (a concurrency sweep)
// or open loop (a constant or Poisson rate, latency from the scheduled send
// time), warm-up excluded, k6-style thresholds that set the exit code:
// 0 ok, 1 target unreachable or a report could not be written, 2 usage,
// 99 a threshold failed (k6's convention; kExitThresholdFailed).
#ifndef SPATIAL_CLI_BENCH_CMD_H_
#define SPATIAL_CLI_BENCH_CMD_H_

#include "CLI/CLI.hpp"
#include "cli/command.h"

namespace spatial::cli {

void AddBenchCommand(CLI::App& app, CommandAction* action);

}  // namespace spatial::cli

#endif  // SPATIAL_CLI_BENCH_CMD_H_
