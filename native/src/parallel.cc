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

class Pool {
 public:
  explicit Pool(int n) { resize(n); }
  ~Pool() { stop(); }

  int size() const { return static_cast<int>(workers_.size()) + 1; }

  void resize(int n) {
    stop();
    if (n < 1) n = 1;
    quit_ = false;
    for (int i = 1; i < n; ++i) workers_.emplace_back([this, i] { loop(i); });
  }

  void run(int64_t n, const std::function<void(int64_t, int64_t)>& fn) {
    const int t = size();
    {
      std::lock_guard<std::mutex> lk(mu_);
      job_ = &fn;
      n_ = n;
      pending_.store(t - 1);
      ++generation_;
    }
    cv_.notify_all();
    fn(0, n / t);
    // Workers finish within microseconds of the caller; yield rather than sleep.
    while (pending_.load(std::memory_order_acquire) != 0) std::this_thread::yield();
  }

 private:
  void loop(int index) {
    flush_denormals_forever();
    uint64_t seen = 0;
    for (;;) {
      const std::function<void(int64_t, int64_t)>* job;
      int64_t n;
      {
        std::unique_lock<std::mutex> lk(mu_);
        cv_.wait(lk, [&] { return quit_ || generation_ != seen; });
        if (quit_) return;
        seen = generation_;
        job = job_;
        n = n_;
      }
      const int t = size();
      const int64_t b = n * index / t, e = n * (index + 1) / t;
      if (b < e) (*job)(b, e);
      pending_.fetch_sub(1, std::memory_order_release);
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
  uint64_t generation_ = 0;
  std::atomic<int> pending_{0};
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
  p.run(n, fn);
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

void flush_denormals_forever() {
#ifdef CXR_HAVE_MXCSR
  _mm_setcsr(_mm_getcsr() | kFlushBits);
#endif
}

}  // namespace cxr
