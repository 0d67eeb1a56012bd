// Session benchmark (issue 3): fresh-session latency (pooled and not), pages
// dirtied, live exec vs native in-process exec(), private memory per idle
// session, and timeout overshoot. Public API only. Prints one JSON object;
// bench/run.py turns it into the README table next to its native reference.
//
//   pycell_session_bench [--quick] [--preload MODULE]...
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <thread>
#include <string>
#include <vector>

#include "pycell/engine.h"
#include "pycell/pool.h"
#include "pycell/session.h"

namespace {

using Clock = std::chrono::steady_clock;

double us_since(Clock::time_point t0) {
  return std::chrono::duration<double, std::micro>(Clock::now() - t0).count();
}

double pct(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())))];
}

// A field of /proc/self/smaps_rollup (all mappings summed), in KiB.
//  - "Anonymous:": pages that exist only in this process: the copies a
//    session made of snapshot pages it wrote, and the host's own allocations.
//  - "Private_Dirty:": also counts shared image pages (shmem) while only one
//    process maps them, so it overstates what a session copied.
uint64_t rollup_kib(const char* field) {
  std::ifstream in("/proc/self/smaps_rollup");
  std::string line;
  const size_t n = std::strlen(field);
  while (std::getline(in, line)) {
    if (line.compare(0, n, field) == 0) return std::stoull(line.substr(n));
  }
  return 0;
}

int fail(const std::string& what) {
  std::fprintf(stderr, "session_bench: %s\n", what.c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  bool quick = false;
  pycell::EngineConfig config;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--quick") == 0) {
      quick = true;
    } else if (std::strcmp(argv[i], "--preload") == 0 && i + 1 < argc) {
      config.preload.push_back(argv[++i]);  // e.g. numpy: in every session's snapshot
    } else {
      return fail(std::string("unknown argument ") + argv[i] + "; usage: [--quick] [--preload MODULE]...");
    }
  }
  const int n = quick ? 50 : 300;
  auto engine = pycell::Engine::create(std::move(config));
  if (!engine) return fail(engine.error().message());

  // Fresh session -> value of 1+1, unpooled; and the pages it makes private.
  std::vector<double> fresh, create_only;
  double dirty_kib_sum = 0;
  for (int i = 0; i < n; ++i) {
    const uint64_t before = rollup_kib("Anonymous:");
    auto t0 = Clock::now();
    auto s = pycell::Session::create(*engine, {});
    create_only.push_back(us_since(t0));
    if (!s) return fail(s.error().message());
    auto r = s->exec("1+1");
    fresh.push_back(us_since(t0));
    if (!r || r->value_repr != "2") return fail("1+1 did not give 2");
    dirty_kib_sum += static_cast<double>(rollup_kib("Anonymous:") - before);
  }

  // The same through a warm pool.
  std::vector<double> pooled;
  {
    pycell::PoolConfig pc;
    pc.warm = 4;
    auto pool = pycell::SessionPool::create(*engine, pc);
    if (!pool) return fail(pool.error().message());
    for (int i = 0; i < n; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));  // let the warmer refill
      auto t0 = Clock::now();
      auto lease = (*pool)->acquire();
      if (!lease) return fail(lease.error().message());
      auto r = (**lease).exec("1+1");
      pooled.push_back(us_since(t0));
      if (!r || r->value_repr != "2") return fail("pooled 1+1 did not give 2");
    }
  }

  // Trivial exec in a live session, result included.
  std::vector<double> live;
  {
    auto s = pycell::Session::create(*engine, {});
    if (!s) return fail(s.error().message());
    for (int i = 0; i < 200; ++i) (void)s->exec("x = 1 + 1");
    for (int i = 0; i < n * 10; ++i) {
      auto t0 = Clock::now();
      auto r = s->exec("1+1");
      live.push_back(us_since(t0));
      if (!r) return fail(r.error().message());
    }
  }

  // Idle sessions after a trivial exec: private memory each.
  const int idle_n = quick ? 50 : 200;
  double per_session_kib, per_session_pd_kib;
  {
    std::vector<pycell::Session> idle;
    const uint64_t before = rollup_kib("Anonymous:"), before_pd = rollup_kib("Private_Dirty:");
    for (int i = 0; i < idle_n; ++i) {
      auto s = pycell::Session::create(*engine, {});
      if (!s) return fail(s.error().message());
      (void)s->exec("x = 1 + 1");
      idle.push_back(std::move(*s));
    }
    per_session_kib = static_cast<double>(rollup_kib("Anonymous:") - before) / idle_n;
    per_session_pd_kib = static_cast<double>(rollup_kib("Private_Dirty:") - before_pd) / idle_n;
  }

  // Timeout overshoot past a 1 s limit: a Python loop, and a regex running in C.
  auto overshoot = [&](const char* code, int runs, std::vector<double>& out) -> bool {
    pycell::SessionConfig c;
    c.limits.timeout_ms = 1000;
    for (int i = 0; i < runs; ++i) {
      auto s = pycell::Session::create(*engine, c);
      if (!s) return false;
      auto r = s->exec(code);
      if (!r || r->exit_reason != pycell::ExitReason::kTimeout) return false;
      out.push_back(std::chrono::duration<double, std::milli>(r->wall_time).count() - 1000.0);
    }
    return true;
  };
  std::vector<double> over_py, over_re;
  const int over_runs = quick ? 3 : 10;
  if (!overshoot("while True: pass", over_runs, over_py)) return fail("python loop did not time out");
  if (!overshoot("import re\nre.match(r'(a+)+$', 'a' * 40 + 'b')", over_runs, over_re)) {
    return fail("regex did not time out");
  }

  std::printf(
      "{\"fresh_1plus1_us\": {\"p50\": %.1f, \"p99\": %.1f}, \"create_only_us\": {\"p50\": %.1f}, "
      "\"pooled_1plus1_us\": {\"p50\": %.1f, \"p99\": %.1f}, \"fresh_dirty_pages\": %.0f, "
      "\"live_exec_us\": {\"p50\": %.2f, \"p99\": %.2f}, \"idle_private_kib\": %.0f, "
      "\"idle_private_dirty_kib\": %.0f, "
      "\"sessions_per_gib\": %.0f, \"timeout_overshoot_ms\": {\"python_p99\": %.2f, \"regex_p99\": %.2f}}\n",
      pct(fresh, 0.5), pct(fresh, 0.99), pct(create_only, 0.5), pct(pooled, 0.5), pct(pooled, 0.99),
      dirty_kib_sum / n / 4.0, pct(live, 0.5), pct(live, 0.99), per_session_kib, per_session_pd_kib, 1024.0 * 1024.0 / per_session_kib,
      pct(over_py, 0.99), pct(over_re, 0.99));
  return 0;
}
