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
  // One parallel_for call. Each call gets its own counters, and a worker holds the job it woke
  // for until it is done with it: a worker that wakes late, after its call has returned and the
  // next one has begun, only ever sees its old job exhausted, and cannot take (or count) a task
  // of the new one.
  struct Job {
    const std::function<void(size_t)>* fn;
    size_t n;
    std::atomic<size_t> next{0};
    std::atomic<size_t> finished{0};
    std::mutex error_mutex;
    std::exception_ptr error;
  };

  void worker_loop();
  void run_tasks(Job& job);
  void stop_and_join();
  // Called in a catch block: rethrows a thread start-up failure as a clear tf::Error.
  [[noreturn]] static void fail_start(size_t started, int threads);

  std::vector<std::thread> workers_;
  std::mutex call_mutex_;  // one parallel_for at a time
  std::mutex mutex_;       // guards job_ and stop_; done_ and wake_ wait on it
  std::condition_variable wake_;
  std::condition_variable done_;
  std::shared_ptr<Job> job_;
  // Bumped (under mutex_) each time a parallel_for publishes a job; atomic so that idle workers
  // can watch it for a moment before going to sleep.
  std::atomic<size_t> generation_{0};
  bool stop_ = false;
};

// The process-wide pool the kernels use. Its size defaults to the number of hardware threads
// (or TOKENFILTER_THREADS) and can be changed at any time with set_num_threads: a caller keeps
// the pool it got alive (shared_ptr) until its parallel_for returns.
// A pool that cannot start its threads (a thread, memory or address-space limit) joins the ones
// it started and throws tf::Error (ErrorKind::Native); set_num_threads then keeps the old pool.
// Thread counts are capped at max_threads(): 4 per hardware thread and at most kMaxThreads.
// set_num_threads refuses more (ErrorKind::TooLarge); TOKENFILTER_THREADS above the cap is
// clamped to it with a warning on stderr.
constexpr int kMaxThreads = 256;
int max_threads();
std::shared_ptr<ThreadPool> pool();
void set_num_threads(int threads);
int num_threads();

// Convenience: split [0, total) into contiguous chunks of at least `grain` items and run
// fn(begin, end) on each chunk in parallel.
void parallel_range(size_t total, size_t grain, const std::function<void(size_t, size_t)>& fn);

}  // namespace tf
