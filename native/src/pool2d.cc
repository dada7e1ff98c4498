// Max and average pooling, NHWC, with tfjs CPU semantics: max keeps the first maximum in
// window order; avg divides by the in-bounds count forward but by the full window size in
// the gradient (tfjs's avgPoolGrad does so, and these kernels must equal it).
#include <cstring>
#include <limits>

#include "kernels.h"
#include "parallel.h"

namespace cxr {
namespace {

inline int ceil_div(int a, int b) { return (a + b - 1) / b; }

// First in-bounds tap index along one axis for output position o.
inline void tap_range(int o, int stride, int pad, int dil, int f, int in, int* k0, int* k1) {
  const int start = o * stride - pad;
  *k0 = start < 0 ? ceil_div(-start, dil) : 0;
  const int last = in - 1 - start;  // taps with start + k*dil <= in - 1
  *k1 = last < 0 ? 0 : (last / dil + 1 < f ? last / dil + 1 : f);
}

}  // namespace

void pool2d(const float* x, float* y, const ConvGeom& g, int type) {
  parallel_for(static_cast<int64_t>(g.n) * g.oh, 4, [&](int64_t b, int64_t e) {
    for (int64_t row = b; row < e; ++row) {
      const int n = static_cast<int>(row / g.oh), oh = static_cast<int>(row % g.oh);
      const float* xn = x + static_cast<int64_t>(n) * g.h * g.w * g.c;
      int kh0, kh1;
      tap_range(oh, g.sh, g.pt, g.dh, g.fh, g.h, &kh0, &kh1);
      for (int ow = 0; ow < g.ow; ++ow) {
        float* out = y + (row * g.ow + ow) * g.c;
        int kw0, kw1;
        tap_range(ow, g.sw, g.pl, g.dw, g.fw, g.w, &kw0, &kw1);
        const float init = type == 0 ? -std::numeric_limits<float>::infinity() : 0.f;
        for (int c = 0; c < g.c; ++c) out[c] = init;
        int count = 0;
        for (int kh = kh0; kh < kh1; ++kh) {
          const int ih = oh * g.sh - g.pt + kh * g.dh;
          for (int kw = kw0; kw < kw1; ++kw) {
            const int iw = ow * g.sw - g.pl + kw * g.dw;
            const float* p = xn + (static_cast<int64_t>(ih) * g.w + iw) * g.c;
            if (type == 0) {
              for (int c = 0; c < g.c; ++c) out[c] = p[c] > out[c] ? p[c] : out[c];
            } else {
              for (int c = 0; c < g.c; ++c) out[c] += p[c];
            }
            ++count;
          }
        }
        if (type == 1) {
          const float inv = static_cast<float>(count);
          for (int c = 0; c < g.c; ++c) out[c] /= inv;
        }
      }
    }
  });
}

// Each thread owns whole images, so scattering dy to the argmax needs no atomics.
void max_pool_grad(const float* dy, const float* x, float* dx, const ConvGeom& g) {
  const int64_t img = static_cast<int64_t>(g.h) * g.w * g.c;
  parallel_for(g.n, 1, [&](int64_t b, int64_t e) {
    std::memset(dx + b * img, 0, sizeof(float) * (e - b) * img);
    for (int64_t n = b; n < e; ++n) {
      const float* xn = x + n * img;
      float* dxn = dx + n * img;
      for (int oh = 0; oh < g.oh; ++oh) {
        int kh0, kh1;
        tap_range(oh, g.sh, g.pt, g.dh, g.fh, g.h, &kh0, &kh1);
        for (int ow = 0; ow < g.ow; ++ow) {
          int kw0, kw1;
          tap_range(ow, g.sw, g.pl, g.dw, g.fw, g.w, &kw0, &kw1);
          const float* d = dy + ((n * g.oh + oh) * static_cast<int64_t>(g.ow) + ow) * g.c;
          for (int c = 0; c < g.c; ++c) {
            float best = -std::numeric_limits<float>::infinity();
            int64_t at = -1;
            for (int kh = kh0; kh < kh1; ++kh) {
              const int ih = oh * g.sh - g.pt + kh * g.dh;
              for (int kw = kw0; kw < kw1; ++kw) {
                const int iw = ow * g.sw - g.pl + kw * g.dw;
                const int64_t idx = (static_cast<int64_t>(ih) * g.w + iw) * g.c + c;
                if (xn[idx] > best) {
                  best = xn[idx];
                  at = idx;
                }
              }
            }
            if (at >= 0) dxn[at] += d[c];
          }
        }
      }
    }
  });
}

void avg_pool_grad(const float* dy, float* dx, const ConvGeom& g) {
  const float scale = 1.f / static_cast<float>(g.fh * g.fw);
  parallel_for(static_cast<int64_t>(g.n) * g.h, 4, [&](int64_t b, int64_t e) {
    for (int64_t row = b; row < e; ++row) {
      const int n = static_cast<int>(row / g.h), ih = static_cast<int>(row % g.h);
      float* dst = dx + row * g.w * g.c;
      std::memset(dst, 0, sizeof(float) * g.w * g.c);
      for (int kh = 0; kh < g.fh; ++kh) {
        const int t = ih + g.pt - kh * g.dh;
        if (t < 0 || t % g.sh != 0 || t / g.sh >= g.oh) continue;
        const int oh = t / g.sh;
        for (int iw = 0; iw < g.w; ++iw) {
          float* d = dst + static_cast<int64_t>(iw) * g.c;
          for (int kw = 0; kw < g.fw; ++kw) {
            const int u = iw + g.pl - kw * g.dw;
            if (u < 0 || u % g.sw != 0 || u / g.sw >= g.ow) continue;
            const float* s = dy + ((static_cast<int64_t>(n) * g.oh + oh) * g.ow + u / g.sw) * g.c;
            for (int c = 0; c < g.c; ++c) d[c] += s[c];
          }
        }
      }
      for (int64_t i = 0; i < static_cast<int64_t>(g.w) * g.c; ++i) dst[i] *= scale;
    }
  });
}

}  // namespace cxr
