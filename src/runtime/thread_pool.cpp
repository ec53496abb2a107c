#include "runtime/thread_pool.h"

#include <algorithm>
#include <chrono>

#include <immintrin.h>

namespace lowp::runtime {
namespace {
thread_local bool insideParallelFor = false;

// Spins until done() holds or kSpinMicroseconds pass; true when done() held.
template <typename Done>
bool spinUntil(const Done& done) {
  const auto until =
      std::chrono::steady_clock::now() + std::chrono::microseconds(ThreadPool::kSpinMicroseconds);
  for (;;) {
    for (int i = 0; i < 64; ++i) {
      if (done()) return true;
      _mm_pause();
    }
    if (std::chrono::steady_clock::now() >= until) return done();
  }
}
}  // namespace

ThreadPool::ThreadPool(int threads) {
  if (threads <= 0) threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  for (int i = 1; i < threads; ++i) workers_.emplace_back([this, i] { workerLoop(i); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
  }
  wake_.notify_all();
  for (auto& w : workers_) w.join();
}

void ThreadPool::parallelFor(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn) {
  if (n <= 0) return;
  grain = std::max<int64_t>(grain, 1);
  int64_t chunks = std::min<int64_t>(threadCount(), (n + grain - 1) / grain);
  if (chunks <= 1 || insideParallelFor) {
    fn(0, n);
    return;
  }
  std::lock_guard<std::mutex> call(callMutex_);
  auto runChunk = [&](int64_t c) {
    int64_t begin = n * c / chunks;
    int64_t end = n * (c + 1) / chunks;
    insideParallelFor = true;
    fn(begin, end);
    insideParallelFor = false;
  };
  {
    std::lock_guard<std::mutex> lock(mutex_);
    job_ = &fn;
    jobSize_ = n;
    chunks_ = chunks;
    nextChunk_ = 1;  // chunk 0 runs on the calling thread
    pending_ = chunks - 1;
    ++generation_;
  }
  wake_.notify_all();
  runChunk(0);
  // Help with the remaining chunks, then wait for the workers.
  for (;;) {
    int64_t c;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (nextChunk_ >= chunks_) break;
      c = nextChunk_++;
    }
    runChunk(c);
    std::lock_guard<std::mutex> lock(mutex_);
    --pending_;
  }
  spinUntil([&] { return pending_.load(std::memory_order_acquire) == 0; });
  std::unique_lock<std::mutex> lock(mutex_);
  done_.wait(lock, [&] { return pending_ == 0; });
  job_ = nullptr;
}

void ThreadPool::workerLoop(int /*index*/) {
  uint64_t seen = 0;
  for (;;) {
    spinUntil([&] {
      return stop_.load(std::memory_order_acquire) || generation_.load(std::memory_order_acquire) != seen;
    });
    std::unique_lock<std::mutex> lock(mutex_);
    wake_.wait(lock, [&] { return stop_ || (generation_ != seen && nextChunk_ < chunks_); });
    if (stop_) return;
    seen = generation_;
    while (job_ != nullptr && nextChunk_ < chunks_) {
      int64_t c = nextChunk_++;
      const auto* fn = job_;
      int64_t n = jobSize_;
      int64_t chunks = chunks_;
      lock.unlock();
      insideParallelFor = true;
      (*fn)(n * c / chunks, n * (c + 1) / chunks);
      insideParallelFor = false;
      lock.lock();
      if (--pending_ == 0) done_.notify_all();
    }
  }
}

}  // namespace lowp::runtime
