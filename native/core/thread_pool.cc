#include "core/thread_pool.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <system_error>
#include <memory>

#include "core/error.h"

namespace tf {

namespace {
thread_local bool inside_task = false;

// An idle worker watches for new work this long before sleeping on the condition variable:
// kernels are launched back to back (a training step is hundreds of them), and a worker that
// is still awake starts at once instead of paying a futex wake-up (tens of microseconds on a
// VM), which would eat much of a small kernel's parallel speed-up.
constexpr auto kSpinBeforeSleep = std::chrono::microseconds(100);

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}
}  // namespace

ThreadPool::ThreadPool(int threads) {
  if (threads < 1) threads = 1;
  workers_.reserve(static_cast<size_t>(threads - 1));
  try {
    for (int i = 1; i < threads; i++) workers_.emplace_back([this] { worker_loop(); });
  } catch (...) {
    // The destructor will not run for a half-built pool: stop and join the workers started so
    // far here, or unwinding would destroy the condition variable they sleep on (which blocks
    // forever in pthread_cond_destroy) and then std::terminate on their joinable threads.
    const size_t started = workers_.size() + 1;
    stop_and_join();
    fail_start(started, threads);
  }
}

void ThreadPool::fail_start(size_t started, int threads) {
  try {
    throw;
  } catch (const std::system_error& e) {
    throw Error("could not start native thread " + std::to_string(started + 1) + " of " + std::to_string(threads) +
                    " (" + e.what() + "): the process's thread, memory or address-space limit was reached; use fewer "
                    "threads (setThreads, --threads or TOKENFILTER_THREADS)",
                ErrorKind::Native);
  }
}

ThreadPool::~ThreadPool() { stop_and_join(); }

void ThreadPool::stop_and_join() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
  }
  wake_.notify_all();
  for (auto& t : workers_) t.join();
  workers_.clear();
}

void ThreadPool::run_tasks(Job& job) {
  inside_task = true;
  for (;;) {
    size_t i = job.next.fetch_add(1, std::memory_order_relaxed);
    if (i >= job.n) break;
    try {
      (*job.fn)(i);
    } catch (...) {
      std::lock_guard<std::mutex> lock(job.error_mutex);
      if (!job.error) job.error = std::current_exception();
    }
    if (job.finished.fetch_add(1, std::memory_order_acq_rel) + 1 == job.n) {
      // The last task: wake the caller. Taking mutex_ first means the caller is either still
      // before its check (and will see finished == n) or already asleep in done_.wait.
      std::lock_guard<std::mutex> lock(mutex_);
      done_.notify_all();
    }
  }
  inside_task = false;
}

void ThreadPool::worker_loop() {
  size_t seen = 0;
  for (;;) {
    const auto spin_until = std::chrono::steady_clock::now() + kSpinBeforeSleep;
    for (int i = 0; generation_.load(std::memory_order_acquire) == seen; i++) {
      cpu_relax();
      if ((i & 63) == 63 && std::chrono::steady_clock::now() >= spin_until) break;
    }
    std::shared_ptr<Job> job;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      wake_.wait(lock, [&] { return stop_ || generation_ != seen; });
      if (stop_) return;
      seen = generation_;
      job = job_;
    }
    if (job) run_tasks(*job);
  }
}

void ThreadPool::parallel_for(size_t n, const std::function<void(size_t)>& fn) {
  if (n == 0) return;
  if (inside_task || workers_.empty() || n == 1) {
    for (size_t i = 0; i < n; i++) fn(i);
    return;
  }
  std::lock_guard<std::mutex> call_lock(call_mutex_);
  auto job = std::make_shared<Job>();
  job->fn = &fn;
  job->n = n;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    job_ = job;
    generation_++;
  }
  wake_.notify_all();
  run_tasks(*job);
  // The workers usually finish within moments of the caller: watch for that before sleeping.
  const auto spin_until = std::chrono::steady_clock::now() + kSpinBeforeSleep;
  for (int i = 0; job->finished.load(std::memory_order_acquire) != n; i++) {
    cpu_relax();
    if ((i & 63) == 63 && std::chrono::steady_clock::now() >= spin_until) break;
  }
  {
    std::unique_lock<std::mutex> lock(mutex_);
    done_.wait(lock, [&] { return job->finished.load(std::memory_order_acquire) == n; });
    job_.reset();
  }
  if (job->error) std::rethrow_exception(job->error);
}

namespace {
std::mutex pool_mutex;
std::shared_ptr<ThreadPool> the_pool;

int hardware_threads() {
  unsigned hw = std::thread::hardware_concurrency();
  return hw == 0 ? 1 : static_cast<int>(hw);
}

// TOKENFILTER_THREADS when it is a positive integer (clamped to max_threads() with a warning on
// stderr, once), else the hardware threads.
int default_threads() {
  if (const char* env = std::getenv("TOKENFILTER_THREADS")) {
    char* end = nullptr;
    long n = std::strtol(env, &end, 10);
    if (end != env && *end == '\0' && n >= 1) {
      if (n <= max_threads()) return static_cast<int>(n);
      std::fprintf(stderr, "tokenfilter: TOKENFILTER_THREADS=%s is above the limit of %d threads; using %d\n", env,
                   max_threads(), max_threads());
      return max_threads();
    }
  }
  return hardware_threads();
}
}  // namespace

int max_threads() { return std::min(kMaxThreads, 4 * hardware_threads()); }

std::shared_ptr<ThreadPool> pool() {
  std::lock_guard<std::mutex> lock(pool_mutex);
  if (!the_pool) the_pool = std::make_shared<ThreadPool>(default_threads());
  return the_pool;
}

void set_num_threads(int threads) {
  check(threads >= 1, "threads must be an integer >= 1, got " + std::to_string(threads));
  check(threads <= max_threads(),
        "threads = " + std::to_string(threads) + " is above the limit of " + std::to_string(max_threads()) +
            " (4 per hardware thread, at most " + std::to_string(kMaxThreads) + ")",
        ErrorKind::TooLarge);
  std::lock_guard<std::mutex> lock(pool_mutex);
  if (the_pool && the_pool->threads() == threads) return;
  // The old pool stays in place if the new one cannot start its threads.
  the_pool = std::make_shared<ThreadPool>(threads);
}

int num_threads() { return pool()->threads(); }

void parallel_range(size_t total, size_t grain, const std::function<void(size_t, size_t)>& fn) {
  if (total == 0) return;
  std::shared_ptr<ThreadPool> p = pool();
  size_t max_chunks = static_cast<size_t>(p->threads()) * 4;
  size_t chunks = std::max<size_t>(1, std::min(max_chunks, total / std::max<size_t>(grain, 1)));
  size_t step = (total + chunks - 1) / chunks;
  chunks = (total + step - 1) / step;
  p->parallel_for(chunks, [&](size_t c) {
    size_t begin = c * step;
    size_t end = std::min(total, begin + step);
    fn(begin, end);
  });
}

}  // namespace tf
