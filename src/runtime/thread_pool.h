// A fixed pool of worker threads for data-parallel kernels.
//
// Kernels come back to back, each a parallelFor that wakes the workers and waits for them. Waking a thread
// asleep on a condition variable costs tens of microseconds (a futex call, the scheduler; more on a virtual
// machine), as much as a small layer's work. So a worker that finishes a job, and a caller waiting for the
// workers, first spin for up to kSpinMicroseconds watching for the next job or the last chunk, and only
// then sleep: a chain of layers runs without a sleep in between, and an idle pool sleeps soon after.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace lowp::runtime {

class ThreadPool {
 public:
  /// `threads` workers in all, the calling thread included; 0 means one per available core.
  explicit ThreadPool(int threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int threadCount() const { return static_cast<int>(workers_.size()) + 1; }

  static constexpr int kSpinMicroseconds = 200;

  /// Runs fn(begin, end) over [0, n) split into at most threadCount() chunks of at least `grain`
  /// elements; returns when all chunks are done. Calls from inside a chunk run serially (no nesting).
  void parallelFor(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn);

 private:
  void workerLoop(int index);

  std::vector<std::thread> workers_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::condition_variable done_;
  std::mutex callMutex_;  // one parallelFor at a time per pool
  const std::function<void(int64_t, int64_t)>* job_ = nullptr;
  int64_t jobSize_ = 0;
  int64_t chunks_ = 0;
  int64_t nextChunk_ = 0;
  // Written under mutex_; read without it too, by the spinning threads.
  std::atomic<int64_t> pending_ = 0;
  std::atomic<uint64_t> generation_ = 0;
  std::atomic<bool> stop_ = false;
};

}  // namespace lowp::runtime
