// WorkerPool: the bound on waiting jobs, and when a thread counts as free.
#include "worker_pool.h"

#include <gtest/gtest.h>

#include <atomic>
#include <future>

namespace pycell::server {
namespace {

// Found by transport_test (Crowded) on a loaded machine: a job sent its
// answer from inside the job, so the client could ask again before the
// thread counted as free, and a server with nothing else to do answered 503.
// The follow-up (sending the answer) now runs once the thread is free.
TEST(WorkerPool, AFollowUpFindsItsThreadFree) {
  WorkerPool pool(1, 0);  // one thread, nothing may wait
  std::promise<bool> second;
  std::promise<void> ran;
  ASSERT_TRUE(pool.try_submit([&]() -> WorkerPool::FollowUp {
    return [&] {
      second.set_value(pool.try_submit([&]() -> WorkerPool::FollowUp {
        ran.set_value();
        return nullptr;
      }));
    };
  }));
  EXPECT_TRUE(second.get_future().get());
  ran.get_future().get();
}

TEST(WorkerPool, RefusesPastItsThreadsAndWaitingRoom) {
  WorkerPool pool(1, 1);
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::promise<void> started;
  std::atomic<int> done{0};
  auto blocked = [&, released]() -> WorkerPool::FollowUp {
    released.wait();
    ++done;
    return nullptr;
  };
  ASSERT_TRUE(pool.try_submit([&, blocked]() -> WorkerPool::FollowUp {
    started.set_value();
    return blocked();
  }));
  started.get_future().get();          // the thread is busy
  EXPECT_TRUE(pool.try_submit(blocked));   // waits
  EXPECT_FALSE(pool.try_submit(blocked));  // no room: refused, never run
  release.set_value();
  while (done.load() < 2) std::this_thread::yield();
  EXPECT_EQ(done.load(), 2);
}

}  // namespace
}  // namespace pycell::server
