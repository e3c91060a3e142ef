// A fixed pool of worker threads shared by all kernels. parallel_for hands out task indices
// [0, n) dynamically; the calling thread works too. Calls from inside a task run serially
// (no nested parallelism), and concurrent callers take turns, so two trainings running in
// separate async workers cannot deadlock each other.
#pragma once
#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace tf {

class ThreadPool {
 public:
  explicit ThreadPool(int threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int threads() const { return static_cast<int>(workers_.size()) + 1; }

  // Runs fn(i) for every i in [0, n). Returns when all calls have returned; rethrows the
  // first exception a task threw (the remaining tasks still run).
  void parallel_for(size_t n, const std::function<void(size_t)>& fn);

 private:
  void worker_loop();
  void run_tasks();

  std::vector<std::thread> workers_;
  std::mutex call_mutex_;  // one parallel_for at a time
  std::mutex mutex_;
  std::condition_variable wake_;
  std::condition_variable done_;
  const std::function<void(size_t)>* fn_ = nullptr;
  size_t n_ = 0;
  std::atomic<size_t> next_{0};
  std::atomic<size_t> finished_{0};
  // Bumped (under mutex_) each time a parallel_for publishes work; atomic so that idle workers
  // can watch it for a moment before going to sleep.
  std::atomic<size_t> generation_{0};
  std::atomic<int> active_workers_{0};  // changed under mutex_, watched by a waiting caller
  bool stop_ = false;
  std::exception_ptr error_;
  std::mutex error_mutex_;
};

// The process-wide pool the kernels use. Its size defaults to the number of hardware threads
// (or TOKENFILTER_THREADS) and can be changed at any time with set_num_threads: a caller keeps
// the pool it got alive (shared_ptr) until its parallel_for returns.
std::shared_ptr<ThreadPool> pool();
void set_num_threads(int threads);
int num_threads();

// Convenience: split [0, total) into contiguous chunks of at least `grain` items and run
// fn(begin, end) on each chunk in parallel.
void parallel_range(size_t total, size_t grain, const std::function<void(size_t, size_t)>& fn);

}  // namespace tf
