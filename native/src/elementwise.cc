// Element-wise maps, the broadcasts training needs (same shape, a trailing block such as a
// per-channel vector, a leading block such as a per-row statistic), sums and transposes.
#include <cmath>
#include <cstring>
#include <vector>

#include "kernels.h"
#include "mask.h"
#include "parallel.h"

namespace cxr {
namespace {

constexpr int64_t kGrain = 1 << 15;

template <typename F>
void binary_loop(F f, const float* a, const float* b, float* out, int64_t size, int mode,
                 int64_t inner) {
  if (inner == 1 && (mode == 3 || mode == 4)) mode = 0;  // one value per element: same shape
  parallel_for(size, kGrain, [&](int64_t s, int64_t e) {
    if (mode == 0) {
      for (int64_t i = s; i < e; ++i) out[i] = f(a[i], b[i]);
    } else if (inner == 1) {  // modes 1, 2 with a scalar operand
      const float v = mode == 1 ? b[0] : a[0];
      if (mode == 1) {
        for (int64_t i = s; i < e; ++i) out[i] = f(a[i], v);
      } else {
        for (int64_t i = s; i < e; ++i) out[i] = f(v, b[i]);
      }
    } else if (mode == 1 || mode == 2) {
      // Walk in whole rows of `inner` so the inner loop is contiguous and vectorises.
      int64_t i = s;
      while (i < e) {
        const int64_t j0 = i % inner;
        const int64_t n = (inner - j0) < (e - i) ? (inner - j0) : (e - i);
        if (mode == 1) {
          const float* bb = b + j0;
          for (int64_t j = 0; j < n; ++j) out[i + j] = f(a[i + j], bb[j]);
        } else {
          const float* aa = a + j0;
          for (int64_t j = 0; j < n; ++j) out[i + j] = f(aa[j], b[i + j]);
        }
        i += n;
      }
    } else {
      int64_t i = s;
      while (i < e) {
        const int64_t row = i / inner;
        const int64_t n = ((row + 1) * inner - i) < (e - i) ? ((row + 1) * inner - i) : (e - i);
        if (mode == 3) {
          const float v = b[row];
          for (int64_t j = 0; j < n; ++j) out[i + j] = f(a[i + j], v);
        } else {
          const float v = a[row];
          for (int64_t j = 0; j < n; ++j) out[i + j] = f(v, b[i + j]);
        }
        i += n;
      }
    }
  });
}

// Any broadcast: per output row (last axis), offsets into a and b from their strides, which
// are 0 along broadcast axes.
template <typename F>
void strided_loop(F f, const float* a, const float* b, float* out, int rank, const int64_t* shape,
                  const int64_t* sa, const int64_t* sb) {
  const int64_t last = shape[rank - 1], la = sa[rank - 1], lb = sb[rank - 1];
  int64_t rows = 1;
  for (int i = 0; i < rank - 1; ++i) rows *= shape[i];
  parallel_for(rows, kGrain / (last + 1) + 1, [&](int64_t s, int64_t e) {
    for (int64_t row = s; row < e; ++row) {
      int64_t rem = row, oa = 0, ob = 0;
      for (int i = rank - 2; i >= 0; --i) {
        const int64_t idx = rem % shape[i];
        rem /= shape[i];
        oa += idx * sa[i];
        ob += idx * sb[i];
      }
      float* o = out + row * last;
      for (int64_t j = 0; j < last; ++j) o[j] = f(a[oa + j * la], b[ob + j * lb]);
    }
  });
}

template <typename Loop>
void dispatch_binary(int op, Loop&& loop) {
  switch (op) {
    case kAdd: return loop([](float x, float y) { return x + y; });
    case kSub: return loop([](float x, float y) { return x - y; });
    case kMul: return loop([](float x, float y) { return x * y; });
    case kDiv: return loop([](float x, float y) { return x / y; });
    // tfjs propagates NaN through maximum/minimum; so do these.
    case kMax: return loop([](float x, float y) { return (x != x || y != y) ? NAN : (x > y ? x : y); });
    case kMin: return loop([](float x, float y) { return (x != x || y != y) ? NAN : (x < y ? x : y); });
    case kSquaredDiff: return loop([](float x, float y) { return (x - y) * (x - y); });
    case kReluGrad: return loop([](float d, float x) { return d * step01(x); });
    case kAddRelu: return loop([](float x, float y) { const float s = x + y; return s < 0.f ? 0.f : s; });
  }
}

template <typename F>
void unary_loop(F f, const float* x, float* out, int64_t size) {
  parallel_for(size, kGrain, [&](int64_t s, int64_t e) {
    for (int64_t i = s; i < e; ++i) out[i] = f(x[i]);
  });
}

}  // namespace

void binary(int op, const float* a, const float* b, float* out, int64_t size, int mode,
            int64_t inner) {
  dispatch_binary(op, [&](auto f) { binary_loop(f, a, b, out, size, mode, inner); });
}

void binary_strided(int op, const float* a, const float* b, float* out, int rank,
                    const int64_t* shape, const int64_t* sa, const int64_t* sb) {
  dispatch_binary(op, [&](auto f) { strided_loop(f, a, b, out, rank, shape, sa, sb); });
}

void unary(int op, const float* x, float* out, int64_t size, float alpha) {
  switch (op) {
    case kRelu: return unary_loop([](float v) { return v < 0.f ? 0.f : v; }, x, out, size);
    case kRelu6:
      return unary_loop([](float v) { return v < 0.f ? 0.f : (v > 6.f ? 6.f : v); }, x, out, size);
    case kNeg: return unary_loop([](float v) { return -v; }, x, out, size);
    case kSquare: return unary_loop([](float v) { return v * v; }, x, out, size);
    case kSqrt: return unary_loop([](float v) { return std::sqrt(v); }, x, out, size);
    case kRsqrt: return unary_loop([](float v) { return 1.f / std::sqrt(v); }, x, out, size);
    case kExp: return unary_loop([](float v) { return std::exp(v); }, x, out, size);
    case kLog: return unary_loop([](float v) { return std::log(v); }, x, out, size);
    case kAbs: return unary_loop([](float v) { return std::fabs(v); }, x, out, size);
    case kSigmoid:
      return unary_loop([](float v) { return 1.f / (1.f + std::exp(-v)); }, x, out, size);
    case kStep:
      if (alpha == 0.f) return unary_loop([](float v) { return step01(v); }, x, out, size);
      return unary_loop([alpha](float v) { return v != v ? NAN : (v > 0.f ? 1.f : alpha); }, x,
                        out, size);
  }
}

void reduce_sum(const float* x, float* out, int64_t outer, int64_t r, int64_t inner) {
  if (inner == 1) {
    parallel_for(outer, r >= 4096 ? 1 : 64, [&](int64_t b, int64_t e) {
      for (int64_t o = b; o < e; ++o) {
        const float* p = x + o * r;
        double acc = 0;
        for (int64_t i = 0; i < r; ++i) acc += p[i];
        out[o] = static_cast<float>(acc);
      }
    });
    return;
  }
  if (outer >= 2 || r < 256) {
    parallel_for(outer, (r * inner) >= kGrain ? 1 : outer + 1, [&](int64_t b, int64_t e) {
      std::vector<double> acc(inner);
      for (int64_t o = b; o < e; ++o) {
        std::fill(acc.begin(), acc.end(), 0.0);
        const float* p = x + o * r * inner;
        for (int64_t i = 0; i < r; ++i, p += inner)
          for (int64_t j = 0; j < inner; ++j) acc[j] += p[j];
        for (int64_t j = 0; j < inner; ++j) out[o * inner + j] = static_cast<float>(acc[j]);
      }
    });
    return;
  }
  // One outer block with many rows (per-channel sums over N*H*W): split the rows.
  const int t = num_threads();
  std::vector<double> partial(static_cast<size_t>(t) * inner, 0.0);
  parallel_for(t, 1, [&](int64_t cb, int64_t ce) {
    for (int64_t c = cb; c < ce; ++c) {
      double* acc = partial.data() + c * inner;
      const float* p = x + (r * c / t) * inner;
      for (int64_t i = r * c / t; i < r * (c + 1) / t; ++i, p += inner)
        for (int64_t j = 0; j < inner; ++j) acc[j] += p[j];
    }
  });
  for (int64_t j = 0; j < inner; ++j) {
    double s = 0;
    for (int c = 0; c < t; ++c) s += partial[c * inner + j];
    out[j] = static_cast<float>(s);
  }
}

void lars_update(const float* value, const float* mu, const float* grad, float* out_value,
                 float* out_mu, int64_t size, float lr, float weight_decay, float eta,
                 float momentum, bool bias_like) {
  float q = 1.f;
  const float wd = weight_decay;
  if (!bias_like) {
    // The norms as tfjs's Square + Sum + Sqrt compute them: float32 squares summed in double,
    // rounded to float32, then a float32 square root.
    double ps = 0, us = 0;
    for (int64_t i = 0; i < size; ++i) {
      float d = grad[i];
      if (wd != 0.f) {
        const float w = value[i] * wd;
        d = d + w;
      }
      const float p2 = value[i] * value[i];
      const float d2 = d * d;
      ps += p2;
      us += d2;
    }
    const float pn = std::sqrt(static_cast<float>(ps));
    const float un = std::sqrt(static_cast<float>(us));
    if (pn > 0.f && un > 0.f) {
      const float num = pn * eta;
      q = num / std::max(un, 1e-30f);
    }
  }
  const float m = momentum;
  parallel_for(size, kGrain, [&](int64_t s, int64_t e) {
    for (int64_t i = s; i < e; ++i) {
      // Separate statements, so no FMA contraction changes the rounding from tfjs's.
      float d = grad[i];
      if (!bias_like) {
        if (wd != 0.f) {
          const float w = value[i] * wd;
          d = d + w;
        }
        d = d * q;
      }
      float a = mu[i] * m;
      a = a + d;
      float step = a * lr;
      out_mu[i] = a;
      out_value[i] = value[i] - step;
    }
  });
}

void momentum_update(const float* value, const float* acc, const float* grad, float* out_value,
                     float* out_acc, int64_t size, float lr, float momentum) {
  const float c = -lr;
  parallel_for(size, kGrain, [&](int64_t s, int64_t e) {
    for (int64_t i = s; i < e; ++i) {
      // Separate statements, so no FMA contraction changes the rounding from tfjs's.
      float a = momentum * acc[i];
      a = a + grad[i];
      float v = c * a;
      v = v + value[i];
      out_acc[i] = a;
      out_value[i] = v;
    }
  });
}

double sum_squares(const float* x, int64_t size) {
  // tfjs's Square then a full Sum on this backend: float32 squares, summed in order in double,
  // rounded to float32 (one thread, as reduce_sum does with one outer block).
  double acc = 0;
  for (int64_t i = 0; i < size; ++i) {
    const float sq = x[i] * x[i];
    acc += sq;
  }
  return static_cast<float>(acc);
}

void momentum_update_decay(const float* value, const float* acc, const float* grad, float* out_value,
                           float* out_acc, int64_t size, float lr, float momentum, float scale,
                           float weight_decay, bool scaled) {
  const float c = -lr;
  parallel_for(size, kGrain, [&](int64_t s, int64_t e) {
    for (int64_t i = s; i < e; ++i) {
      // The detection step's tensor ops, one rounding each: g * scale (only when clipping),
      // + value * wd, then momentum_update's two statements.
      float g = grad[i];
      if (scaled) g = g * scale;
      float d = value[i] * weight_decay;
      g = g + d;
      float a = momentum * acc[i];
      a = a + g;
      float v = c * a;
      v = v + value[i];
      out_acc[i] = a;
      out_value[i] = v;
    }
  });
}

void transpose(const float* x, float* out, int rank, const int64_t* shape, const int* perm) {
  int64_t in_strides[8], out_shape[8], src_stride[8];
  int64_t size = 1;
  for (int i = rank - 1; i >= 0; --i) {
    in_strides[i] = size;
    size *= shape[i];
  }
  for (int i = 0; i < rank; ++i) {
    out_shape[i] = shape[perm[i]];
    src_stride[i] = in_strides[perm[i]];
  }
  const int64_t last = out_shape[rank - 1], last_stride = src_stride[rank - 1];
  const int64_t rows = size / (last == 0 ? 1 : last);
  parallel_for(rows, 256, [&](int64_t b, int64_t e) {
    for (int64_t row = b; row < e; ++row) {
      int64_t rem = row, src = 0;
      for (int i = rank - 2; i >= 0; --i) {
        src += (rem % out_shape[i]) * src_stride[i];
        rem /= out_shape[i];
      }
      float* o = out + row * last;
      if (last_stride == 1) {
        std::memcpy(o, x + src, sizeof(float) * last);
      } else {
        for (int64_t j = 0; j < last; ++j) o[j] = x[src + j * last_stride];
      }
    }
  });
}

}  // namespace cxr
