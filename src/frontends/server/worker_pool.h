// WorkerPool: a fixed set of threads with a bounded queue, where HTTP route
// handlers (which may run Python for a session's whole timeout) run.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace pycell::server {

class WorkerPool {
 public:
  /// Starts `threads` threads (at least 1); at most `max_waiting` jobs wait
  /// for one of them.
  WorkerPool(size_t threads, size_t max_waiting);
  /// Runs every job already accepted, then joins the threads.
  ~WorkerPool();
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  /// What a job leaves to do once its thread counts as free again: sending
  /// its answer, so that a client that gets it and asks again at once finds
  /// the thread free (may be empty).
  using FollowUp = std::function<void()>;
  using Job = std::function<FollowUp()>;

  /// Queues `job`; false (job dropped, nothing run) if every thread is busy
  /// and max_waiting jobs already wait.
  bool try_submit(Job job);

  size_t threads() const { return threads_.size(); }

 private:
  void work();

  const size_t max_waiting_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Job> queue_;
  size_t idle_ = 0;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace pycell::server
