// Shared helpers for tests that run Python: one Engine per test binary.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <random>
#include <string>
#include <thread>

#include "pycell/engine.h"
#include "pycell/session.h"

namespace pycell::testing {

/// The Engine over the build tree's stdlib image, created on first use.
inline const Engine& test_engine() {
  static const Engine engine = [] {
    EngineConfig c;
    c.stdlib_image = PYCELL_TEST_STDLIB;
    auto e = Engine::create(std::move(c));
    if (!e) {
      ADD_FAILURE() << "Engine::create: " << e.error().message();
      std::abort();
    }
    return std::move(*e);
  }();
  return engine;
}

inline Session new_session(SessionConfig config = {}) {
  auto s = Session::create(test_engine(), std::move(config));
  if (!s) {
    ADD_FAILURE() << "Session::create: " << s.error().message();
    std::abort();
  }
  return std::move(*s);
}

/// Runs `code` in a fresh session (script mode) and returns the result.
inline ExecResult run_fresh(const std::string& code, SessionConfig config = {}) {
  Session s = new_session(std::move(config));
  ExecOptions o;
  o.mode = ExecOptions::Mode::kScript;
  auto r = s.exec(code, o);
  if (!r) {
    ADD_FAILURE() << "exec: " << r.error().message();
    return {};
  }
  return std::move(*r);
}

/// Runs `code` in `s`; a host Error fails the test and gives an empty result.
inline ExecResult exec_ok(Session& s, const std::string& code, const ExecOptions& options = {}) {
  auto r = s.exec(code, options);
  EXPECT_TRUE(r) << (r ? "" : r.error().message());
  return r ? std::move(*r) : ExecResult{};
}

/// Runs `code` in `s` while another thread calls s.cancel() after `delay`.
inline ExecResult exec_cancelled_after(Session& s, std::chrono::milliseconds delay, const std::string& code) {
  std::thread canceller([&] {
    std::this_thread::sleep_for(delay);
    s.cancel();
  });
  ExecResult r = exec_ok(s, code);
  canceller.join();
  return r;
}

/// Python that tries `expr` and prints "label" plus the exception type and
/// errno name it raised (or "label ALLOWED value").
inline std::string attempt(const std::string& label, const std::string& expr) {
  return "try:\n    r = " + expr + "\n    print('" + label + " ALLOWED', r)\n" +
         "except BaseException as e:\n    import errno\n" +
         "    print('" + label + "', type(e).__name__, errno.errorcode.get(getattr(e, 'errno', None) or 0, '-'))\n";
}

/// A value no guest could guess: a canary to look for where it must not appear.
inline std::string random_token(const std::string& prefix) {
  std::random_device rd;
  std::string s = prefix;
  for (int i = 0; i < 4; ++i) s += std::to_string(rd());
  return s;
}

/// Runs `code` as a cell in `s`: its stdout, or "Type: message" of the
/// exception it raised.
inline std::string outcome(Session& s, const std::string& code) {
  auto r = s.exec(code);
  if (!r) {
    ADD_FAILURE() << "exec: " << r.error().message();
    return {};
  }
  if (r->error) return r->error->type + ": " + r->error->message;
  return r->stdout_text;
}

}  // namespace pycell::testing
