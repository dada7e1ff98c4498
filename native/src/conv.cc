// Convolutions as GEMMs: im2col turns every output pixel's receptive field into a row, so
// forward, input gradient and filter gradient are each one SGEMM (gemm.h).

#include <cstdlib>
#include <cstring>

#include "conv_util.h"
#include "gemm.h"
#include "kernels.h"
#include "parallel.h"

namespace cxr {

// Grow-only scratch buffers: the im2col matrix reaches tens of MB and allocating it on every
// call would cost page faults; kernels run one at a time on the JS thread. Slot 0 holds the
// im2col matrix (or the padded input of the shifted-GEMM path and of conv_direct.cc), slot 1 the
// padded output of the shifted-GEMM path.
float* scratch_slot(int slot, size_t floats) {
  static float* buf[2] = {nullptr, nullptr};
  static size_t cap[2] = {0, 0};
  if (floats > cap[slot]) {
    std::free(buf[slot]);
    buf[slot] = static_cast<float*>(std::aligned_alloc(64, ((floats * 4 + 63) / 64) * 64));
    cap[slot] = floats;
  }
  return buf[slot];
}

namespace {

float* scratch(size_t floats) { return scratch_slot(0, floats); }
float* scratch2(size_t floats) { return scratch_slot(1, floats); }

// col[(n, oh, ow), (kh, kw, c)] = x[n, oh*sh - pt + kh*dh, ow*sw - pl + kw*dw, c] or 0.
void im2col(const float* x, float* col, const ConvGeom& g) {
  const int64_t kcols = static_cast<int64_t>(g.fh) * g.fw * g.c;
  parallel_for(static_cast<int64_t>(g.n) * g.oh, 8, [&](int64_t b, int64_t e) {
    for (int64_t row = b; row < e; ++row) {
      const int n = static_cast<int>(row / g.oh), oh = static_cast<int>(row % g.oh);
      const float* xn = x + static_cast<int64_t>(n) * g.h * g.w * g.c;
      float* dst = col + row * g.ow * kcols;
      for (int ow = 0; ow < g.ow; ++ow) {
        const int iw0 = ow * g.sw - g.pl;
        // Without dilation a filter row's pixels are adjacent in x: one copy of fw*c floats
        // (a 7x7 stem conv on 3 channels otherwise copies 12 bytes at a time).
        const bool row_inside = g.dw == 1 && iw0 >= 0 && iw0 + g.fw <= g.w;
        for (int kh = 0; kh < g.fh; ++kh) {
          const int ih = oh * g.sh - g.pt + kh * g.dh;
          if (row_inside || ih < 0 || ih >= g.h) {
            const size_t run = sizeof(float) * g.fw * g.c;
            if (ih < 0 || ih >= g.h) {
              std::memset(dst, 0, run);
            } else {
              std::memcpy(dst, xn + (static_cast<int64_t>(ih) * g.w + iw0) * g.c, run);
            }
            dst += static_cast<int64_t>(g.fw) * g.c;
            continue;
          }
          for (int kw = 0; kw < g.fw; ++kw) {
            const int iw = ow * g.sw - g.pl + kw * g.dw;
            if (ih < 0 || ih >= g.h || iw < 0 || iw >= g.w) {
              std::memset(dst, 0, sizeof(float) * g.c);
            } else {
              std::memcpy(dst, xn + (static_cast<int64_t>(ih) * g.w + iw) * g.c,
                          sizeof(float) * g.c);
            }
            dst += g.c;
          }
        }
      }
    }
  });
}

// Strided 1x1 without padding (the downsampling shortcuts): each column row is one input
// pixel's gradient and every other pixel's is 0, so col2im is a copy into zeros.
bool is_strided_pointwise(const ConvGeom& g) {
  return g.fh == 1 && g.fw == 1 && g.pt == 0 && g.pl == 0;
}

void scatter_pointwise(const float* col, float* dx, const ConvGeom& g) {
  parallel_for(static_cast<int64_t>(g.n) * g.h, 4, [&](int64_t b, int64_t e) {
    for (int64_t row = b; row < e; ++row) {
      const int n = static_cast<int>(row / g.h), ih = static_cast<int>(row % g.h);
      float* dst = dx + row * g.w * g.c;
      const int oh = ih / g.sh;
      if (ih % g.sh != 0 || oh >= g.oh) {
        std::memset(dst, 0, sizeof(float) * g.w * g.c);
        continue;
      }
      const float* src = col + (static_cast<int64_t>(n) * g.oh + oh) * g.ow * g.c;
      for (int iw = 0; iw < g.w; ++iw) {
        float* d = dst + static_cast<int64_t>(iw) * g.c;
        const int ow = iw / g.sw;
        if (iw % g.sw != 0 || ow >= g.ow) {
          std::memset(d, 0, sizeof(float) * g.c);
        } else {
          std::memcpy(d, src + static_cast<int64_t>(ow) * g.c, sizeof(float) * g.c);
        }
      }
    }
  });
}

// Adjoint of im2col written as a gather, so threads own disjoint rows of dx.
void col2im(const float* col, float* dx, const ConvGeom& g) {
  if (is_strided_pointwise(g)) {
    scatter_pointwise(col, dx, g);
    return;
  }
  const int64_t kcols = static_cast<int64_t>(g.fh) * g.fw * g.c;
  parallel_for(static_cast<int64_t>(g.n) * g.h, 4, [&](int64_t b, int64_t e) {
    for (int64_t row = b; row < e; ++row) {
      const int n = static_cast<int>(row / g.h), ih = static_cast<int>(row % g.h);
      float* dst = dx + row * g.w * g.c;
      std::memset(dst, 0, sizeof(float) * g.w * g.c);
      for (int kh = 0; kh < g.fh; ++kh) {
        const int t = ih + g.pt - kh * g.dh;
        if (t < 0 || t % g.sh != 0) continue;
        const int oh = t / g.sh;
        if (oh >= g.oh) continue;
        for (int iw = 0; iw < g.w; ++iw) {
          float* d = dst + static_cast<int64_t>(iw) * g.c;
          for (int kw = 0; kw < g.fw; ++kw) {
            const int u = iw + g.pl - kw * g.dw;
            if (u < 0 || u % g.sw != 0) continue;
            const int ow = u / g.sw;
            if (ow >= g.ow) continue;
            const float* s = col + ((static_cast<int64_t>(n) * g.oh + oh) * g.ow + ow) * kcols +
                             (static_cast<int64_t>(kh) * g.fw + kw) * g.c;
            for (int c = 0; c < g.c; ++c) d[c] += s[c];
          }
        }
      }
    }
  });
}

}  // namespace

// Stride-1 undilated convolutions with 'same' padding on images of at least 28x28 (smaller
// ones measured no faster): instead of an im2col matrix fh*fw times the input, the input is
// copied once into a zero-padded image (hp x wp) and each filter tap is one GEMM over all
// padded pixels at a row offset, accumulating into a padded output whose extra columns and
// rows are then dropped. Forward and input gradient only: the filter gradient this way (nine
// GEMMs with a c x k result) measured no faster than im2col + one GEMM.
bool use_shifted(const ConvGeom& g) {
  return g.sh == 1 && g.sw == 1 && g.dh == 1 && g.dw == 1 && g.oh == g.h && g.ow == g.w &&
         (g.fh > 1 || g.fw > 1) && g.pt == (g.fh - 1) / 2 && g.pl == (g.fw - 1) / 2 &&
         g.h >= 28 && g.w >= 28;
}

void transpose_filter(const float* w, int taps, int c, int k, float* wt) {
  for (int t = 0; t < taps; ++t)
    for (int ci = 0; ci < c; ++ci)
      for (int ki = 0; ki < k; ++ki)
        wt[(static_cast<size_t>(t) * k + ki) * c + ci] = w[(static_cast<size_t>(t) * c + ci) * k + ki];
}

// Copies an [n, h, w, ch] image into a zero-filled [n, hp, wp, ch] one at offset (top, left).
void pad_image(const float* src, float* dst, int n, int h, int w, int ch, int hp, int wp, int top,
               int left) {
  parallel_for(static_cast<int64_t>(n) * hp, 4, [&](int64_t b, int64_t e) {
    for (int64_t r = b; r < e; ++r) {
      const int64_t img = r / hp;
      const int ih = static_cast<int>(r % hp) - top;
      float* d = dst + r * wp * ch;
      if (ih < 0 || ih >= h) {
        std::memset(d, 0, sizeof(float) * wp * ch);
        continue;
      }
      std::memset(d, 0, sizeof(float) * left * ch);
      std::memcpy(d + static_cast<int64_t>(left) * ch, src + ((img * h + ih) * w) * ch,
                  sizeof(float) * w * ch);
      std::memset(d + static_cast<int64_t>(left + w) * ch, 0, sizeof(float) * (wp - w - left) * ch);
    }
  });
}

// The inverse: the [n, h, w, ch] window at (top, left) of a padded image.
void crop_image(const float* src, float* dst, int n, int h, int w, int ch, int hp, int wp, int top,
                int left) {
  parallel_for(static_cast<int64_t>(n) * h, 4, [&](int64_t b, int64_t e) {
    for (int64_t r = b; r < e; ++r) {
      const int64_t img = r / h, ih = r % h;
      std::memcpy(dst + r * w * ch, src + ((img * hp + ih + top) * wp + left) * ch,
                  sizeof(float) * w * ch);
    }
  });
}

void conv2d_shifted(const float* x, const float* w, float* y, const ConvGeom& g) {
  const int hp = g.h + g.fh - 1, wp = g.w + g.fw - 1;
  const int64_t rows = static_cast<int64_t>(g.n) * hp * wp;
  float* xp = scratch(static_cast<size_t>(rows) * g.c);
  float* yp = scratch2(static_cast<size_t>(rows) * g.k);
  pad_image(x, xp, g.n, g.h, g.w, g.c, hp, wp, g.pt, g.pl);
  // Output pixel (n, oh, ow) sits at padded row q = (n*hp + oh)*wp + ow and reads input rows
  // q + kh*wp + kw; the last valid q is mq - 1, so no GEMM reads past the padded input.
  const int64_t mq = rows - (static_cast<int64_t>(g.fh - 1) * wp + (g.fw - 1));
  for (int kh = 0; kh < g.fh; ++kh)
    for (int kw = 0; kw < g.fw; ++kw)
      sgemm(false, false, mq, g.k, g.c, 1.f,
                  xp + (static_cast<int64_t>(kh) * wp + kw) * g.c, g.c,
                  w + (static_cast<int64_t>(kh) * g.fw + kw) * g.c * g.k, g.k,
                  kh == 0 && kw == 0 ? 0.f : 1.f, yp, g.k);
  crop_image(yp, y, g.n, g.h, g.w, g.k, hp, wp, 0, 0);
}

// The adjoint: dy goes into the padded output layout with zeros at the dropped positions,
// each tap's GEMM adds dy * w_tap^T into the padded input gradient at the tap's row offset,
// and the gradient is the window inside the padding.
void conv2d_backprop_input_shifted(const float* dy, const float* w, float* dx, const ConvGeom& g) {
  const int hp = g.h + g.fh - 1, wp = g.w + g.fw - 1;
  const int64_t rows = static_cast<int64_t>(g.n) * hp * wp;
  float* dxp = scratch(static_cast<size_t>(rows) * g.c);
  float* dyp = scratch2(static_cast<size_t>(rows) * g.k);
  pad_image(dy, dyp, g.n, g.h, g.w, g.k, hp, wp, 0, 0);
  std::memset(dxp, 0, sizeof(float) * rows * g.c);
  const int64_t mq = rows - (static_cast<int64_t>(g.fh - 1) * wp + (g.fw - 1));
  for (int kh = 0; kh < g.fh; ++kh)
    for (int kw = 0; kw < g.fw; ++kw)
      sgemm(false, true, mq, g.c, g.k, 1.f, dyp, g.k,
                  w + (static_cast<int64_t>(kh) * g.fw + kw) * g.c * g.k, g.k, 1.f,
                  dxp + (static_cast<int64_t>(kh) * wp + kw) * g.c, g.c);
  crop_image(dxp, dx, g.n, g.h, g.w, g.c, hp, wp, g.pt, g.pl);
}

// The [m, kcols] matrix the GEMMs multiply: x itself for a pointwise convolution, else its
// im2col in the scratch buffer.
static const float* columns(const float* x, const ConvGeom& g, int64_t m, int kcols) {
  if (is_pointwise(g)) return x;
  float* col = scratch(static_cast<size_t>(m) * kcols);
  im2col(x, col, g);
  return col;
}

void conv2d(const float* x, const float* w, float* y, const ConvGeom& g) {
  if (conv2d_direct_applies(g)) {
    conv2d_direct(x, w, y, g);
    return;
  }
  if (use_shifted(g)) {
    conv2d_shifted(x, w, y, g);
    return;
  }
  const int64_t m = static_cast<int64_t>(g.n) * g.oh * g.ow;
  const int kcols = g.fh * g.fw * g.c;
  const float* a = columns(x, g, m, kcols);
  sgemm(false, false, m, g.k, kcols, 1.f, a, kcols, w, g.k,
              0.f, y, g.k);
}

void conv2d_backprop_input(const float* dy, const float* w, float* dx, const ConvGeom& g) {
  if (use_shifted(g)) {
    conv2d_backprop_input_shifted(dy, w, dx, g);
    return;
  }
  if (conv2d_backprop_input_direct_applies(g)) {
    conv2d_backprop_input_direct(dy, w, dx, g);
    return;
  }
  const int64_t m = static_cast<int64_t>(g.n) * g.oh * g.ow;
  const int kcols = g.fh * g.fw * g.c;
  if (is_pointwise(g)) {
    // dx = dy w^T is itself a pointwise convolution, from k channels to c, with the filter
    // transposed to [k][c]: the direct kernel takes it where it would take that convolution.
    ConvGeom t = g;
    t.c = g.k;
    t.k = g.c;
    if (conv2d_direct_applies(t)) {
      float* wt = scratch2(static_cast<size_t>(g.c) * g.k);
      transpose_filter(w, 1, g.c, g.k, wt);
      conv2d_direct(dy, wt, dx, t);
      return;
    }
    sgemm(false, true, m, kcols, g.k, 1.f, dy, g.k, w, g.k,
                0.f, dx, kcols);
    return;
  }
  float* col = scratch(static_cast<size_t>(m) * kcols);
  sgemm(false, true, m, kcols, g.k, 1.f, dy, g.k, w, g.k, 0.f,
              col, kcols);
  col2im(col, dx, g);
}

void conv2d_backprop_filter(const float* x, const float* dy, float* dw, const ConvGeom& g) {
  if (conv2d_backprop_filter_direct_applies(g)) {
    conv2d_backprop_filter_direct(x, dy, dw, g);
    return;
  }
  const int64_t m = static_cast<int64_t>(g.n) * g.oh * g.ow;
  const int kcols = g.fh * g.fw * g.c;
  const float* a = columns(x, g, m, kcols);
  sgemm(true, false, kcols, g.k, m, 1.f, a, kcols, dy, g.k,
              0.f, dw, g.k);
}

}  // namespace cxr
