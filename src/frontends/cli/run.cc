// exec and run (see run.h).
#include "run.h"

#include <cstdio>
#include <iostream>

#include "common/result_json.h"

namespace pycell::cli {

int fail(std::string_view message) {
  std::fprintf(stderr, "pycell: %.*s\n", static_cast<int>(message.size()), message.data());
  return kExitPycellError;
}

void stream_output(Stream stream, std::string_view bytes) {
  std::FILE* f = stream == Stream::kStdout ? stdout : stderr;
  std::fwrite(bytes.data(), 1, bytes.size(), f);
  std::fflush(f);
}

int exit_status(const ExecResult& result, bool quiet) {
  auto say = [quiet](const std::string& message) {
    if (!quiet) std::fprintf(stderr, "pycell: %s\n", message.c_str());
  };
  switch (result.exit_reason) {
    case ExitReason::kOk:
    case ExitReason::kException:
    case ExitReason::kExit:
    case ExitReason::kMemory:
      return result.exit_code;
    case ExitReason::kTimeout:
      say("time limit reached");
      return kExitTimeout;
    case ExitReason::kTrap:
      say("guest trapped: " + std::string(to_string(result.trap)));
      return kExitPycellError;
    default:
      say("run stopped: " + std::string(to_string(result.exit_reason)));
      return kExitPycellError;
  }
}

int run_program(EngineConfig engine_config, SessionConfig session, std::string_view code, ExecOptions options,
                bool json) {
  // One run per process: a cold start (~50 ms) beats building a snapshot first.
  engine_config.preinit = false;
  auto engine = Engine::create(std::move(engine_config));
  if (!engine) return fail(engine.error().message());
  if (json) options.want_json = true;
  else options.on_output = stream_output;
  options.run_atexit = true;
  auto result = Session::run_once(*engine, code, options, std::move(session));
  if (!result) return fail(result.error().message());
  if (json) std::cout << policy::dump(policy::to_json(*result)) << std::endl;
  return exit_status(*result, json);
}

}  // namespace pycell::cli
