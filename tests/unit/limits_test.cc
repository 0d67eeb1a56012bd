// Limits: each one is hit, and the exact exit reason and the documented state
// of the session afterwards are asserted (kept, or rolled back to the
// committed snapshot).
#include <gtest/gtest.h>

#include "rt/budget.h"
#include "test_support.h"

namespace pycell {
namespace {

using testing::exec_cancelled_after;
using testing::exec_ok;
using testing::new_session;

SessionConfig quick_timeout() {
  SessionConfig c;
  c.limits.timeout_ms = 200;
  c.limits.grace_ms = 300;
  return c;
}

// The session must still run code, with `name` bound (state kept) or not (rolled back).
void expect_usable(Session& s, const std::string& name, bool bound) {
  ExecResult r = exec_ok(s, "'" + name + "' in globals()");
  EXPECT_EQ(r.value_repr, bound ? "True" : "False") << name;
}

TEST(Limits, PythonLoopGetsTimeoutErrorAndKeepsState) {
  Session s = new_session(quick_timeout());
  ExecResult r = exec_ok(s, "before = 1\nwhile True: pass");
  EXPECT_EQ(r.exit_reason, ExitReason::kTimeout);
  ASSERT_TRUE(r.error);
  EXPECT_EQ(r.error->type, "TimeoutError");
  EXPECT_FALSE(r.rolled_back);
  expect_usable(s, "before", true);
}

TEST(Limits, SwallowedSoftStopEndsInHardStopAndRollback) {
  Session s = new_session(quick_timeout());
  exec_ok(s, "committed = 1");
  ASSERT_TRUE(s.snapshot());
  ExecResult r = exec_ok(s,
                     "lost = 1\n"
                     "while True:\n"
                     "    try:\n"
                     "        while True: pass\n"
                     "    except BaseException:\n"
                     "        pass\n");
  EXPECT_EQ(r.exit_reason, ExitReason::kTimeout);
  EXPECT_TRUE(r.rolled_back);
  expect_usable(s, "committed", true);
  expect_usable(s, "lost", false);
}

TEST(Limits, CatastrophicRegexIsStopped) {
  Session s = new_session(quick_timeout());
  ExecResult r = exec_ok(s, "import re\nre.match(r'(a+)+$', 'a' * 40 + 'b')");
  EXPECT_EQ(r.exit_reason, ExitReason::kTimeout);
  expect_usable(s, "re", !r.rolled_back);
}

TEST(Limits, HugeIntegerPowerInCIsStoppedAndRolledBack) {
  Session s = new_session(quick_timeout());
  ExecResult r = exec_ok(s, "x = 1\n10**10**8");
  EXPECT_EQ(r.exit_reason, ExitReason::kTimeout);
  // CPython's power loop checks for signals, so the soft stop lands in it.
  expect_usable(s, "x", !r.rolled_back);
}

TEST(Limits, SleepIsCutShortBySoftStop) {
  Session s = new_session(quick_timeout());
  ExecResult r = exec_ok(s, "import time\ntime.sleep(3600)");
  EXPECT_EQ(r.exit_reason, ExitReason::kTimeout);
  ASSERT_TRUE(r.error);
  EXPECT_EQ(r.error->type, "TimeoutError");
  EXPECT_FALSE(r.rolled_back);
}

TEST(Limits, FuelRunsOutDeterministically) {
  SessionConfig c;
  c.limits.fuel = 2'000'000;
  Session s = new_session(c);
  ExecResult r = exec_ok(s, "while True: pass");
  EXPECT_EQ(r.exit_reason, ExitReason::kFuel);
  EXPECT_TRUE(r.rolled_back);
  EXPECT_GE(r.fuel_used, c.limits.fuel);
  // The same work from the same state costs the same fuel.
  Session s1 = new_session(c), s2 = new_session(c);
  ExecResult a = exec_ok(s1, "sum(i * i for i in range(20000))");
  ExecResult b = exec_ok(s2, "sum(i * i for i in range(20000))");
  EXPECT_EQ(a.value_repr, b.value_repr);
  EXPECT_GT(a.fuel_used, 20000u);
  EXPECT_EQ(a.fuel_used, b.fuel_used);
}

TEST(Limits, FuelCountsLoopsInsideCCode) {
  SessionConfig c;
  c.limits.fuel = 500'000;
  Session s = new_session(c);
  // One bytecode, millions of loop iterations in C (str.count over 50 MB).
  ExecResult r = exec_ok(s, "('ab' * 25_000_000).count('b')");
  EXPECT_EQ(r.exit_reason, ExitReason::kFuel);
}

TEST(Limits, DoublingStringHitsMemoryCapAndSessionSurvives) {
  SessionConfig c;
  c.limits.memory_bytes = 96ull << 20;
  Session s = new_session(c);
  ExecResult r = exec_ok(s, "kept = 1\ns = 'a'\nwhile True: s += s");
  EXPECT_EQ(r.exit_reason, ExitReason::kMemory);
  ASSERT_TRUE(r.error);
  EXPECT_EQ(r.error->type, "MemoryError");
  EXPECT_FALSE(r.rolled_back);
  EXPECT_LE(r.peak_memory, c.limits.memory_bytes);
  exec_ok(s, "del s");
  expect_usable(s, "kept", true);
}

TEST(Limits, HugeBytearrayIsRefused) {
  Session s = new_session();
  ExecResult r = exec_ok(s, "bytearray(10**10)");
  ASSERT_TRUE(r.error);
  EXPECT_EQ(r.error->type, "OverflowError");  // wasm32: sizes are 32-bit, as on any 32-bit CPython
  r = exec_ok(s, "bytearray(2**31 - 1)");
  EXPECT_EQ(r.exit_reason, ExitReason::kMemory);
  EXPECT_FALSE(r.rolled_back);
}

TEST(Limits, InfiniteRecursionIsRecursionError) {
  Session s = new_session();
  ExecResult r = exec_ok(s, "def f(): f()\nf()");
  EXPECT_EQ(r.exit_reason, ExitReason::kException);
  ASSERT_TRUE(r.error);
  EXPECT_EQ(r.error->type, "RecursionError");
  expect_usable(s, "f", true);
}

TEST(Limits, OutputIsTruncatedWithAMarker) {
  SessionConfig c;
  c.limits.output_bytes = 1000;
  Session s = new_session(c);
  ExecResult r = exec_ok(s, "print('x' * 5000)\nprint('done')");
  EXPECT_EQ(r.exit_reason, ExitReason::kOk);
  EXPECT_TRUE(r.stdout_truncated);
  EXPECT_EQ(r.stdout_text, std::string(1000, 'x') + "\n[pycell: output truncated at 1000 bytes]\n");
}

TEST(Limits, RunawayOutputStopsTheRun) {
  Session s = new_session();
  ExecResult r = exec_ok(s, "while True: print('x' * 10**6)");
  EXPECT_EQ(r.exit_reason, ExitReason::kOutputLimit);
  EXPECT_TRUE(r.stdout_truncated);
  EXPECT_TRUE(r.rolled_back);
  EXPECT_LE(r.stdout_text.size(), (1u << 20) + 100);
}

TEST(Limits, CancelFromAnotherThread) {
  SessionConfig c;
  c.limits.timeout_ms = 0;  // only the cancel can end it
  Session s = new_session(c);
  ExecResult r = exec_cancelled_after(s, std::chrono::milliseconds(100), "while True: pass");
  EXPECT_EQ(r.exit_reason, ExitReason::kCancelled);
  EXPECT_TRUE(r.rolled_back);
}

// A cancel that lands just before a run starts (another thread racing with
// exec) used to be cleared by the start: the run then ran to its timeout, or
// forever without one.
TEST(Limits, CancelBeforeARunAppliesToThatRunOnly) {
  SessionConfig c;
  c.limits.timeout_ms = 0;
  Session s = new_session(c);
  s.cancel();
  ExecResult r = exec_ok(s, "print('ran')\nwhile True: pass");
  EXPECT_EQ(r.exit_reason, ExitReason::kCancelled);
  EXPECT_EQ(r.stdout_text, "");
  EXPECT_TRUE(r.rolled_back);
  // That run consumed it.
  EXPECT_EQ(exec_ok(s, "print('next')").stdout_text, "next\n");
}

TEST(Budget, CancelIsKeptUntilARunFinishes) {
  using Clock = rt::Budget::Clock;
  rt::Budget b;
  b.cancel();
  b.start(0, Clock::time_point::max(), Clock::time_point::max());
  EXPECT_EQ(b.refill(), 0);
  EXPECT_EQ(b.stop(), rt::Budget::Stop::kCancelled);
  b.finish();
  b.start(0, Clock::time_point::max(), Clock::time_point::max());
  EXPECT_EQ(b.refill(), rt::Budget::kSlice);
  b.cancel();  // during a run that ends before its next check
  b.finish();
  b.start(0, Clock::time_point::max(), Clock::time_point::max());
  EXPECT_EQ(b.refill(), rt::Budget::kSlice);
}

// A client that went away just after its run ended (a streaming REST client,
// an MCP request cancelled too late) left a cancel that stopped the session's
// next, unrelated run and rolled back its state.
TEST(Limits, DiscardCancelKeepsItFromTheNextRun) {
  SessionConfig c;
  c.limits.timeout_ms = 0;
  Session s = new_session(c);
  ASSERT_TRUE(s.snapshot());
  EXPECT_EQ(exec_ok(s, "x = 41").exit_reason, ExitReason::kOk);
  s.cancel();  // too late for that run
  s.discard_cancel();
  ExecResult r = exec_ok(s, "print(x + 1)");
  EXPECT_EQ(r.exit_reason, ExitReason::kOk);
  EXPECT_EQ(r.stdout_text, "42\n");
  EXPECT_FALSE(r.rolled_back);
}

}  // namespace
}  // namespace pycell
