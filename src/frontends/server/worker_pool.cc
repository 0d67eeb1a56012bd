// A bounded job queue in front of a fixed set of threads.
#include "worker_pool.h"

#include <algorithm>

namespace pycell::server {

WorkerPool::WorkerPool(size_t threads, size_t max_waiting) : max_waiting_(max_waiting) {
  threads = std::max<size_t>(threads, 1);
  // Free from the start, not once each thread gets going: a job submitted
  // at once waits for it rather than being refused.
  idle_ = threads;
  threads_.reserve(threads);
  for (size_t i = 0; i < threads; ++i) threads_.emplace_back([this] { work(); });
}

WorkerPool::~WorkerPool() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  for (auto& t : threads_) t.join();
}

bool WorkerPool::try_submit(Job job) {
  {
    std::lock_guard lock(mu_);
    // A job waits only for threads that are busy: idle ones take it at once.
    if (stopping_ || queue_.size() >= idle_ + max_waiting_) return false;
    queue_.push_back(std::move(job));
  }
  cv_.notify_one();
  return true;
}

void WorkerPool::work() {
  std::unique_lock lock(mu_);
  for (;;) {
    cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
    if (queue_.empty()) return;  // stopping, and nothing left to run
    --idle_;
    auto job = std::move(queue_.front());
    queue_.pop_front();
    lock.unlock();
    FollowUp then = job();
    job = nullptr;  // release what the job holds before taking the lock
    lock.lock();
    ++idle_;
    if (then) {
      lock.unlock();
      then();
      then = nullptr;
      lock.lock();
    }
  }
}

}  // namespace pycell::server
