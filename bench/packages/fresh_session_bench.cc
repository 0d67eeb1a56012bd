// Fresh sessions and guest packages (issue 11): N times, a fresh session from
// the engine's snapshot (with --preload modules in it) runs CODE; reports the
// median costs. `--preload numpy --code KERNEL` is a fresh session with numpy
// already imported; `--code 'import numpy'` is the import in a fresh session.
// Public API only. Prints one JSON object for bench/packages/run.py.
//
//   pycell_fresh_session_bench [--preload MODULE]... --code CODE [--runs N]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "pycell/engine.h"
#include "pycell/session.h"

namespace {

using Clock = std::chrono::steady_clock;

double us_since(Clock::time_point t0) {
  return std::chrono::duration<double, std::micro>(Clock::now() - t0).count();
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

int fail(const std::string& what) {
  std::fprintf(stderr, "fresh_session_bench: %s\n", what.c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  pycell::EngineConfig config;
  std::string code;
  int runs = 20;
  for (int i = 1; i < argc; ++i) {
    const bool has_value = i + 1 < argc;
    if (std::strcmp(argv[i], "--preload") == 0 && has_value) {
      config.preload.push_back(argv[++i]);
    } else if (std::strcmp(argv[i], "--code") == 0 && has_value) {
      code = argv[++i];
    } else if (std::strcmp(argv[i], "--runs") == 0 && has_value) {
      runs = std::max(1, std::atoi(argv[++i]));
    } else {
      return fail(std::string("unknown argument ") + argv[i] +
                  "; usage: [--preload MODULE]... --code CODE [--runs N]");
    }
  }
  if (code.empty()) return fail("--code CODE is required");

  auto t0 = Clock::now();
  auto engine = pycell::Engine::create(std::move(config));
  if (!engine) return fail(engine.error().message());
  const double engine_ms = us_since(t0) / 1000.0;

  std::vector<double> create, exec, total;
  uint64_t fuel = 0, peak = 0;
  for (int i = 0; i < runs; ++i) {
    pycell::SessionConfig sc;
    sc.limits.timeout_ms = 0;
    t0 = Clock::now();
    auto s = pycell::Session::create(*engine, sc);
    if (!s) return fail(s.error().message());
    const auto t1 = Clock::now();
    auto r = s->exec(code);
    const auto t2 = Clock::now();
    if (!r) return fail(r.error().message());
    if (r->exit_reason != pycell::ExitReason::kOk) return fail("the code failed:\n" + r->stderr_text);
    create.push_back(std::chrono::duration<double, std::micro>(t1 - t0).count());
    exec.push_back(std::chrono::duration<double, std::micro>(t2 - t1).count());
    total.push_back(std::chrono::duration<double, std::micro>(t2 - t0).count());
    fuel = r->fuel_used;
    peak = r->peak_memory;
  }
  std::printf(
      "{\"engine_create_ms\": %.1f, \"create_us\": %.1f, \"exec_us\": %.1f, \"total_us\": %.1f, \"fuel\": %llu, "
      "\"peak_memory\": %llu}\n",
      engine_ms, median(create), median(exec), median(total), static_cast<unsigned long long>(fuel),
      static_cast<unsigned long long>(peak));
  return 0;
}
