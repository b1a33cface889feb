// RunProcess: runs a program (base::RunSubprocess, no shell) with a time
// limit and captures its exit code, stdout and stderr. For black-box tests of
// `spatial`. Thread-safe: several threads may run processes at once.
#ifndef SPATIAL_TESTS_INTEGRATION_PROCESS_H_
#define SPATIAL_TESTS_INTEGRATION_PROCESS_H_

#include <chrono>
#include <ostream>
#include <string>
#include <vector>

namespace spatial::integration {

struct ProcessOptions {
  std::string cwd;  // working directory of the child; "" = the caller's
  std::chrono::milliseconds timeout{20000};  // then SIGKILL; default 20 s
};

struct ProcessResult {
  std::string command;     // the argv joined by spaces, for messages
  int exit_code = -1;      // exit status; 128 + signal when killed
  bool timed_out = false;  // killed because the time limit passed
  std::string out;         // everything written to stdout
  std::string err;         // everything written to stderr
};

// Runs argv[0] (a path; no PATH search) with stdin from /dev/null. A program
// that cannot be executed: exit code 127, the reason in `err`.
ProcessResult RunProcess(const std::vector<std::string>& argv,
                         const ProcessOptions& options = {});

// Prints the command, exit code and both streams, for assertion messages.
std::ostream& operator<<(std::ostream& os, const ProcessResult& r);

}  // namespace spatial::integration

#endif  // SPATIAL_TESTS_INTEGRATION_PROCESS_H_
