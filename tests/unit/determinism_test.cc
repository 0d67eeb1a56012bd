// Deterministic mode: the same code and inputs give the same outputs.
#include "test_support.h"

namespace pycell {
namespace {

using testing::new_session;

constexpr const char* kProbe =
    "import random, os, time, uuid, datetime\n"
    "t0 = time.time()\n"
    "sum(range(100000))\n"
    "time.sleep(2.5)\n"
    "print(random.random(), os.urandom(8).hex(), uuid.uuid4())\n"
    "print(t0, time.time() - t0 > 2.5, datetime.datetime.now(datetime.timezone.utc).year)\n"
    "print(sorted({str(i) for i in range(5)}))\n";

SessionConfig deterministic(uint64_t seed) {
  SessionConfig c;
  c.determinism.enabled = true;
  c.determinism.seed = seed;
  return c;
}

std::string run(SessionConfig c) {
  Session s = new_session(std::move(c));
  auto r = s.exec(kProbe);
  EXPECT_TRUE(r.has_value());
  if (!r) return {};
  EXPECT_EQ(r->exit_reason, ExitReason::kOk) << r->stderr_text;
  return r->stdout_text;
}

TEST(Determinism, SameSeedSameOutput) {
  const std::string a = run(deterministic(7)), b = run(deterministic(7));
  EXPECT_EQ(a, b);
  EXPECT_NE(a.find("True 2024"), std::string::npos) << a;  // the clock starts at 2024-01-01 and sleeps advance it
  EXPECT_NE(run(deterministic(8)), a);
  EXPECT_NE(run({}), run({}));  // without it, randomness is real
}

TEST(Determinism, SleepTakesNoTimeButAdvancesTheClock) {
  Session s = new_session(deterministic(1));
  auto r = s.exec("import time\na = time.monotonic()\ntime.sleep(3600)\nprint(round(time.monotonic() - a))");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->stdout_text, "3600\n");  // within the default 30 s wall-clock limit
}

TEST(Determinism, ClockAdvancesWithFuel) {
  Session s = new_session(deterministic(1));
  auto r = s.exec("import time\na = time.time()\nsum(range(200000))\nb = time.time()\nprint(b > a)");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->stdout_text, "True\n");
}

TEST(Determinism, HashSeedFixesSetOrderAcrossEngines) {
  auto engine_with_seed = [](uint64_t seed) {
    EngineConfig c;
    c.stdlib_image = PYCELL_TEST_STDLIB;
    c.hash_seed = seed;
    c.preload = {};
    return Engine::create(std::move(c));
  };
  auto a = engine_with_seed(3), b = engine_with_seed(3);
  ASSERT_TRUE(a.has_value() && b.has_value());
  auto order = [](const Engine& e) {
    auto r = Session::run_once(e, "print(list({'alpha', 'beta', 'gamma', 'delta', 'epsilon'}), hash('x'))");
    return r ? r->stdout_text : std::string("error");
  };
  EXPECT_EQ(order(*a), order(*b));
}

}  // namespace
}  // namespace pycell
