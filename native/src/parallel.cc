#include "parallel.h"

#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <mutex>
#include <thread>
#include <vector>
#if defined(__SSE__) || defined(__x86_64__)
#include <xmmintrin.h>
#define CXR_HAVE_MXCSR 1
#endif

namespace cxr {
namespace {

// Work is cut into more chunks than threads and claimed from an atomic counter, so the
// caller goes on with the chunks of a worker that the OS has not scheduled yet; on a busy
// machine a fixed half per thread made every loop wait for the slower thread. A worker that
// wakes after the caller has closed the job skips it, so the caller waits only for workers
// that are running a chunk.
class Pool {
 public:
  explicit Pool(int n) { resize(n); }
  ~Pool() { stop(); }

  int size() const { return static_cast<int>(workers_.size()) + 1; }

  void resize(int n) {
    stop();
    if (n < 1) n = 1;
    quit_ = false;
    for (int i = 1; i < n; ++i) workers_.emplace_back([this] { loop(); });
  }

  void run(int64_t n, int64_t chunks, const std::function<void(int64_t, int64_t)>& fn) {
    {
      std::lock_guard<std::mutex> lk(mu_);
      job_ = &fn;
      n_ = n;
      chunks_ = chunks;
      next_.store(0, std::memory_order_relaxed);
      open_ = true;
      ++generation_;
    }
    cv_.notify_all();
    work(fn, n, chunks);
    {
      std::lock_guard<std::mutex> lk(mu_);
      open_ = false;
    }
    // Only workers that joined before the job closed are counted; they finish a chunk within
    // microseconds. Yield rather than sleep.
    while (active_.load(std::memory_order_acquire) != 0) std::this_thread::yield();
  }

 private:
  void work(const std::function<void(int64_t, int64_t)>& fn, int64_t n, int64_t chunks) {
    for (;;) {
      const int64_t k = next_.fetch_add(1, std::memory_order_relaxed);
      if (k >= chunks) return;
      const int64_t b = n * k / chunks, e = n * (k + 1) / chunks;
      if (b < e) fn(b, e);
    }
  }

  void loop() {
    flush_denormals_forever();
    uint64_t seen = 0;
    for (;;) {
      const std::function<void(int64_t, int64_t)>* job;
      int64_t n, chunks;
      {
        std::unique_lock<std::mutex> lk(mu_);
        cv_.wait(lk, [&] { return quit_ || generation_ != seen; });
        if (quit_) return;
        seen = generation_;
        if (!open_) continue;
        active_.fetch_add(1, std::memory_order_relaxed);
        job = job_;
        n = n_;
        chunks = chunks_;
      }
      work(*job, n, chunks);
      active_.fetch_sub(1, std::memory_order_release);
    }
  }

  void stop() {
    {
      std::lock_guard<std::mutex> lk(mu_);
      quit_ = true;
    }
    cv_.notify_all();
    for (auto& w : workers_) w.join();
    workers_.clear();
  }

  std::vector<std::thread> workers_;
  std::mutex mu_;
  std::condition_variable cv_;
  const std::function<void(int64_t, int64_t)>* job_ = nullptr;
  int64_t n_ = 0;
  int64_t chunks_ = 0;
  uint64_t generation_ = 0;
  bool open_ = false;
  std::atomic<int64_t> next_{0};
  std::atomic<int> active_{0};
  bool quit_ = false;
};

int default_threads() {
  if (const char* env = std::getenv("CXR_NUM_THREADS")) {
    const int n = std::atoi(env);
    if (n > 0) return n;
  }
  const unsigned hw = std::thread::hardware_concurrency();
  return hw == 0 ? 1 : static_cast<int>(hw);
}

#ifdef CXR_HAVE_MXCSR
// MXCSR bits: FTZ (15) and DAZ (6).
constexpr unsigned int kFlushBits = 0x8040;
#endif

Pool& pool() {
  static Pool p(default_threads());
  return p;
}

}  // namespace

int num_threads() { return pool().size(); }
void set_num_threads(int n) { pool().resize(n); }

void parallel_for(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn) {
  if (n <= 0) return;
  Pool& p = pool();
  if (p.size() == 1 || n < grain || n < p.size()) {
    fn(0, n);
    return;
  }
  // About four chunks per thread, none below the grain (a chunk is worth a wake-up).
  int64_t chunks = 4 * static_cast<int64_t>(p.size());
  if (grain > 1 && n / grain < chunks) chunks = n / grain;
  if (chunks > n) chunks = n;
  if (chunks < p.size()) chunks = p.size();
  p.run(n, chunks, fn);
}

ScopedFlushDenormal::ScopedFlushDenormal() : saved_(0) {
#ifdef CXR_HAVE_MXCSR
  saved_ = _mm_getcsr();
  _mm_setcsr(saved_ | kFlushBits);
#endif
}

ScopedFlushDenormal::~ScopedFlushDenormal() {
#ifdef CXR_HAVE_MXCSR
  _mm_setcsr(saved_);
#endif
}

ScopedIeeeDenormal::ScopedIeeeDenormal() : saved_(0) {
#ifdef CXR_HAVE_MXCSR
  saved_ = _mm_getcsr();
  _mm_setcsr(saved_ & ~kFlushBits);
#endif
}

ScopedIeeeDenormal::~ScopedIeeeDenormal() {
#ifdef CXR_HAVE_MXCSR
  _mm_setcsr(saved_);
#endif
}

void flush_denormals_forever() {
#ifdef CXR_HAVE_MXCSR
  _mm_setcsr(_mm_getcsr() | kFlushBits);
#endif
}

}  // namespace cxr
