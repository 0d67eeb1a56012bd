// exec and run (see run.h).
#include "run.h"

#include <unistd.h>

#include <cstdio>
#include <iostream>

#include "common/result_json.h"

namespace pycell::cli {

int fail(std::string_view message) {
  std::fprintf(stderr, "pycell: %.*s\n", static_cast<int>(message.size()), message.data());
  return kExitPycellError;
}

GuestOutput::GuestOutput(uint64_t cap, bool raw)
    : cap_(cap),
      out_{stdout, !raw && isatty(STDOUT_FILENO) == 1, {}},
      err_{stderr, !raw && isatty(STDERR_FILENO) == 1, {}} {}

void GuestOutput::Sink::put(std::string_view bytes) {
  if (!filter) {
    std::fwrite(bytes.data(), 1, bytes.size(), file);
    return;
  }
  std::string shown;
  terminal.feed(bytes, shown);
  std::fwrite(shown.data(), 1, shown.size(), file);
}

void GuestOutput::Sink::flush() {
  if (filter) {
    std::string shown;
    terminal.finish(shown);
    std::fwrite(shown.data(), 1, shown.size(), file);
  }
  std::fflush(file);
}

void GuestOutput::begin() {
  out_.written = out_.dropped = err_.written = err_.dropped = 0;
}

void GuestOutput::write(Stream stream, std::string_view bytes) {
  Sink& s = sink(stream);
  const uint64_t room = cap_ - s.written;
  if (bytes.size() <= room) {
    s.put(bytes);
    s.written += bytes.size();
    std::fflush(s.file);
    return;
  }
  if (s.dropped == 0) {  // the cap is reached now: the rest of this run is dropped
    s.put(bytes.substr(0, room));
    s.written = cap_;
    s.flush();
    const std::string marker = "\n[pycell: output truncated at " + std::to_string(cap_) + " bytes]\n";
    std::fwrite(marker.data(), 1, marker.size(), s.file);
    std::fflush(s.file);
  }
  s.dropped += bytes.size() - room;
}

void GuestOutput::show(Stream stream, std::string_view text) {
  Sink& s = sink(stream);
  s.put(text);
  s.flush();
}

void GuestOutput::end() {
  out_.flush();
  err_.flush();
}

int exit_status(const ExecResult& result, bool quiet) {
  auto say = [quiet](const std::string& message) {
    if (!quiet) std::fprintf(stderr, "pycell: %s\n", message.c_str());
  };
  switch (result.exit_reason) {
    case ExitReason::kOk:
    case ExitReason::kException:
    case ExitReason::kExit:
      return result.exit_code;
    case ExitReason::kMemory:
      // A MemoryError has its traceback on stderr; an abort after a refused
      // allocation (e.g. C++ std::bad_alloc) has none.
      if (!result.error) say("memory limit reached; the guest could not recover");
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

int run_program(EngineConfig engine_config, SessionConfig session_config, std::string_view code, ExecOptions options,
                bool json, bool raw) {
  auto engine = Engine::create(std::move(engine_config));
  if (!engine) return fail(engine.error().message());
  GuestOutput output(session_config.limits.output_bytes, raw);
  auto session = Session::create(*engine, std::move(session_config));
  if (!session) return fail(session.error().message());
  if (json) options.want_json = true;
  else options.on_output = [&output](Stream s, std::string_view b) { output.write(s, b); };
  options.run_atexit = true;
  output.begin();
  auto result = session->exec(code, options);
  output.end();
  if (!result) return fail(result.error().message());
  // JSON escapes C0 controls itself; a terminal also gets C1 ones escaped.
  if (json) output.show(Stream::kStdout, policy::dump(policy::to_json(*result)) + "\n");
  return exit_status(*result, json);
}

}  // namespace pycell::cli
