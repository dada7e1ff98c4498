// A tiny fork-join pool: the caller runs one chunk, persistent workers run the rest.
// OpenBLAS keeps its own threads for GEMMs; this pool serves the memory-bound loops
// (im2col, col2im, pooling, batch norm, element-wise) so they also use every core.
#pragma once
#include <cstdint>
#include <functional>

namespace cxr {

int num_threads();
void set_num_threads(int n);

// Splits [0, n) into contiguous chunks (about four per thread, at least `grain` long when
// that still gives every thread one) and runs fn(begin, end) on each, in any order and on
// any thread; runs inline when n is below grain (work too small to pay for a wake-up).
void parallel_for(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn);

// Flush-to-zero and denormals-are-zero for this thread while in scope (x86; a no-op elsewhere).
// TensorFlow runs its kernels the same way (tensorflow/core/platform/denormal.h): a subnormal
// operand makes x86 float arithmetic ~100x slower, and the gradients of a randomly initialised
// detector are full of them (an sgemm with subnormal inputs measured 170x slower here).
class ScopedFlushDenormal {
 public:
  ScopedFlushDenormal();
  ~ScopedFlushDenormal();
  ScopedFlushDenormal(const ScopedFlushDenormal&) = delete;
  ScopedFlushDenormal& operator=(const ScopedFlushDenormal&) = delete;

 private:
  unsigned int saved_;
};

// The opposite: IEEE subnormals for this thread while in scope, for kernels that must compute the
// same bits as JavaScript (which never flushes), such as the augmentation views (augment.cc).
class ScopedIeeeDenormal {
 public:
  ScopedIeeeDenormal();
  ~ScopedIeeeDenormal();
  ScopedIeeeDenormal(const ScopedIeeeDenormal&) = delete;
  ScopedIeeeDenormal& operator=(const ScopedIeeeDenormal&) = delete;

 private:
  unsigned int saved_;
};

// Sets flush-to-zero and denormals-are-zero for the calling thread for good (worker threads).
void flush_denormals_forever();

}  // namespace cxr
