// SessionPool and concurrency: a bounded pool, fresh sessions only, and many
// sessions running at once on several threads.
#include "pycell/pool.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "test_support.h"

namespace pycell {
namespace {

TEST(SessionPool, RefusesPastItsBound) {
  PoolConfig c;
  c.max_sessions = 2;
  c.warm = 1;
  auto pool = SessionPool::create(testing::test_engine(), c);
  ASSERT_TRUE(pool) << pool.error().message();
  auto a = (*pool)->acquire();
  auto b = (*pool)->acquire();
  ASSERT_TRUE(a && b);
  EXPECT_EQ((*pool)->in_use(), 2u);
  auto c3 = (*pool)->acquire();
  ASSERT_FALSE(c3);
  EXPECT_EQ(c3.error().code(), ErrorCode::kResourceExhausted);
  { auto released = std::move(*a); }
  EXPECT_EQ((*pool)->in_use(), 1u);
  EXPECT_TRUE((*pool)->acquire());
}

TEST(SessionPool, NeverHandsOutAUsedSession) {
  PoolConfig c;
  c.max_sessions = 1;
  c.warm = 1;
  auto pool = SessionPool::create(testing::test_engine(), c);
  ASSERT_TRUE(pool);
  {
    auto lease = (*pool)->acquire();
    ASSERT_TRUE(lease);
    ASSERT_TRUE((**lease).exec("left_behind = 1"));
    ASSERT_TRUE((**lease).exec("import os\nos._exit(3)"));  // ends in an unknown state
  }
  auto lease = (*pool)->acquire();
  ASSERT_TRUE(lease);
  auto r = (**lease).exec("'left_behind' in globals()");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->value_repr, "False");
}

TEST(Concurrency, SessionsRunInParallelThreads) {
  constexpr int kThreads = 4, kRuns = 20;
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kRuns; ++i) {
        auto s = Session::create(testing::test_engine(), {});
        if (!s) continue;
        auto r = s->exec("sum(range(" + std::to_string(t * 1000 + i) + "))");
        const long n = t * 1000 + i;
        if (r && r->value_repr == std::to_string(n * (n - 1) / 2)) ++ok;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(ok.load(), kThreads * kRuns);
}

}  // namespace
}  // namespace pycell
