// Batch norm over the rows of an [m, c] matrix. Per-channel sums accumulate in double, one
// partial per thread, so the statistics do not depend on m's size the way float sums would.
#include <cmath>
#include <vector>

#include "kernels.h"
#include "mask.h"
#include "parallel.h"

namespace cxr {
namespace {

// partial[t] holds nsum vectors of length c for the t-th of a fixed number of row blocks
// (not one per thread), so the sums are the same whatever the thread count.
template <typename F>
std::vector<double> row_sums(int64_t m, int c, int nsum, F&& body) {
  const int t = m >= 256 ? 8 : 1;
  std::vector<double> partial(static_cast<size_t>(t) * nsum * c, 0.0);
  parallel_for(t, 1, [&](int64_t cb, int64_t ce) {
    for (int64_t i = cb; i < ce; ++i)
      body(m * i / t, m * (i + 1) / t, partial.data() + static_cast<size_t>(i) * nsum * c);
  });
  std::vector<double> total(static_cast<size_t>(nsum) * c, 0.0);
  for (int s = 0; s < t; ++s)
    for (size_t i = 0; i < total.size(); ++i) total[i] += partial[s * total.size() + i];
  return total;
}

}  // namespace

void bn_forward(const float* x, const float* gamma, const float* beta, float* y, float* mean,
                float* var, int64_t m, int c, float eps, bool relu) {
  std::vector<double> s = row_sums(m, c, 2, [&](int64_t b, int64_t e, double* acc) {
    double* sum = acc;
    double* sq = acc + c;
    for (int64_t r = b; r < e; ++r) {
      const float* xr = x + r * c;
      for (int j = 0; j < c; ++j) {
        const double v = xr[j];
        sum[j] += v;
        sq[j] += v * v;
      }
    }
  });
  std::vector<float> scale(c);
  for (int j = 0; j < c; ++j) {
    const double mu = s[j] / m;
    double v = s[c + j] / m - mu * mu;
    if (v < 0) v = 0;
    mean[j] = static_cast<float>(mu);
    var[j] = static_cast<float>(v);
    const float inv = 1.f / std::sqrt(var[j] + eps);
    scale[j] = gamma[j] * inv;
  }
  parallel_for(m, 64, [&](int64_t b, int64_t e) {
    for (int64_t r = b; r < e; ++r) {
      const float* xr = x + r * c;
      float* yr = y + r * c;
      for (int j = 0; j < c; ++j) yr[j] = (xr[j] - mean[j]) * scale[j] + beta[j];
      if (relu)
        for (int j = 0; j < c; ++j) yr[j] = yr[j] < 0.f ? 0.f : yr[j];
    }
  });
}

// dx = gamma*inv*(dy - mean(dy) - xhat*mean(dy*xhat)) + dmean/m + dvar*2(x - mean)/m,
// the last two terms carrying gradients that reach x through the returned statistics.
// With relu, dy is first masked where the output was clipped (y == 0), as relu's gradient
// does; the mask is recomputed from y in both passes rather than stored.
void bn_backward(const float* dy, const float* x, const float* y, const float* gamma,
                 const float* mean, const float* var, const float* dmean, const float* dvar,
                 float* dx, float* dgamma, float* dbeta, int64_t m, int c, float eps, bool relu) {
  std::vector<double> s = row_sums(m, c, 2, [&](int64_t b, int64_t e, double* acc) {
    double* sdy = acc;
    double* sdyx = acc + c;
    for (int64_t r = b; r < e; ++r) {
      const float* dr = dy + r * c;
      const float* xr = x + r * c;
      if (relu) {
        const float* yr = y + r * c;
        for (int j = 0; j < c; ++j) {
          const float d = keep_if_positive(dr[j], yr[j]);
          sdy[j] += d;
          sdyx[j] += static_cast<double>(d) * (xr[j] - mean[j]);
        }
      } else {
        for (int j = 0; j < c; ++j) {
          sdy[j] += dr[j];
          sdyx[j] += static_cast<double>(dr[j]) * (xr[j] - mean[j]);
        }
      }
    }
  });
  std::vector<float> a(c), bcoef(c), k0(c);
  for (int j = 0; j < c; ++j) {
    const double inv = 1.0 / std::sqrt(static_cast<double>(var[j]) + eps);
    dbeta[j] = static_cast<float>(s[j]);
    dgamma[j] = static_cast<float>(s[c + j] * inv);
    const double g = gamma[j] * inv;
    // dx = a*dy + bcoef*(x - mean) + k0
    a[j] = static_cast<float>(g);
    bcoef[j] = static_cast<float>(-g * inv * inv * s[c + j] / m + 2.0 * dvar[j] / m);
    k0[j] = static_cast<float>(-g * s[j] / m + static_cast<double>(dmean[j]) / m);
  }
  parallel_for(m, 64, [&](int64_t b, int64_t e) {
    for (int64_t r = b; r < e; ++r) {
      const float* dr = dy + r * c;
      const float* xr = x + r * c;
      float* o = dx + r * c;
      if (relu) {
        const float* yr = y + r * c;
        for (int j = 0; j < c; ++j)
          o[j] = a[j] * keep_if_positive(dr[j], yr[j]) + bcoef[j] * (xr[j] - mean[j]) + k0[j];
      } else {
        for (int j = 0; j < c; ++j) o[j] = a[j] * dr[j] + bcoef[j] * (xr[j] - mean[j]) + k0[j];
      }
    }
  });
}

void bn_inference(const float* x, const float* mean, const float* var, const float* scale,
                  const float* offset, float* y, int64_t size, int c, int len_mean,
                  int len_var, int len_scale, int len_offset, float eps) {
  bn_inference_act(x, mean, var, scale, offset, y, size, c, len_mean, len_var, len_scale,
                   len_offset, eps, nullptr, false);
}

BnEval bn_eval_coefs(const float* mean, const float* var, const float* scale, const float* offset,
                     int c, int len_mean, int len_var, int len_scale, int len_offset, float eps,
                     const float* residual, bool relu) {
  BnEval p;
  p.c = c;
  p.residual = residual;
  p.relu = relu;
  p.mu.resize(c);
  p.sc.resize(c);
  p.off.resize(c);
  for (int j = 0; j < c; ++j) {
    p.mu[j] = mean[len_mean == 1 ? 0 : j];
    const float s = scale == nullptr ? 1.f : scale[len_scale == 1 ? 0 : j];
    p.off[j] = offset == nullptr ? 0.f : offset[len_offset == 1 ? 0 : j];
    p.sc[j] = s / std::sqrt(var[len_var == 1 ? 0 : j] + eps);
  }
  return p;
}

void bn_eval_rows(const BnEval& p, const float* x, float* y, int64_t b, int64_t e) {
  const int c = p.c;
  const float* mu = p.mu.data();
  const float* sc = p.sc.data();
  const float* off = p.off.data();
  for (int64_t r = b; r < e; ++r) {
    const float* xr = x + r * c;
    float* yr = y + r * c;
    if (p.residual != nullptr) {
      const float* rr = p.residual + r * c;
      if (p.relu) {
        for (int j = 0; j < c; ++j) {
          const float v = (xr[j] - mu[j]) * sc[j] + off[j];
          const float s = v + rr[j];
          yr[j] = s < 0.f ? 0.f : s;
        }
      } else {
        for (int j = 0; j < c; ++j) {
          const float v = (xr[j] - mu[j]) * sc[j] + off[j];
          yr[j] = v + rr[j];
        }
      }
    } else if (p.relu) {
      for (int j = 0; j < c; ++j) {
        const float v = (xr[j] - mu[j]) * sc[j] + off[j];
        yr[j] = v < 0.f ? 0.f : v;
      }
    } else {
      for (int j = 0; j < c; ++j) yr[j] = (xr[j] - mu[j]) * sc[j] + off[j];
    }
  }
}

// The per-element arithmetic is bn_inference's, then kAddRelu's (s = y + r, s < 0 ? 0 : s) or
// kRelu's (y < 0 ? 0 : y) on the float result, so the output equals those kernels run one after
// another bit for bit (FusedBatchNorm, then CxrAddRelu or Relu); the build has no -ffast-math and
// no FMA at the baseline ISA, so nothing is contracted or reordered. x and y may be the same
// array (each element is read once, before it is written).
void bn_inference_act(const float* x, const float* mean, const float* var, const float* scale,
                      const float* offset, float* y, int64_t size, int c, int len_mean,
                      int len_var, int len_scale, int len_offset, float eps,
                      const float* residual, bool relu) {
  const BnEval p = bn_eval_coefs(mean, var, scale, offset, c, len_mean, len_var, len_scale,
                                 len_offset, eps, residual, relu);
  parallel_for(size / c, 64, [&](int64_t b, int64_t e) { bn_eval_rows(p, x, y, b, e); });
}

}  // namespace cxr
