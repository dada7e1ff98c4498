// Direct convolution for narrow outputs (k = 16..64 channels, or any multiple of 64 over at most 64
// taps) with a short filter (fh*fw*c <= 576 taps). im2col + GEMM spends most of its time there
// writing and re-reading the column matrix (49 floats per pixel for the demo's 7x7 stem on 1
// channel, 144 for a 3x3 on 16) and in a GEMM only 16 or 32 columns wide; here the input is copied
// once into a zero-padded image and each output pixel's k channels are accumulated in vector
// registers straight from it. A pointwise stride-1 convolution (a GEMM on x itself, no im2col) is
// read from x directly: with 16-64 input channels OpenBLAS ran it at 30-40 GFLOP/s (the demo's
// 16 -> 64 at 16 px: 0.8-1.1 ms per call here, 0.23-0.47 ms direct).
//
// Every output element is one fused multiply-add chain over the taps in im2col's column order
// (kh, kw, c), starting from +0, whichever CPU or thread computes it. That is the order in which
// OpenBLAS 0.3.21's SkylakeX SGEMM kernel sums the im2col products of up to 448 terms that this
// project's tests cover, pointwise GEMMs included, so there the output equals OpenBLAS's bit for
// bit; OpenBLAS splits 449-576 terms into two blocks, the direct kernel does not. OpenBLAS's
// Haswell kernels (AVX2; what OPENBLAS_CORETYPE=Haswell selects) sum in other orders: on the demo's
// pointwise shapes some 12-pixel tiles and the last pixels of each 4,096-pixel block (measured:
// 16 -> 64 at 16 px differs in 17 % of the elements, in the last bit).
// Padded taps are real multiply-adds with 0, as in the im2col matrix.
#include <immintrin.h>

#include <algorithm>
#include <type_traits>
#include <utility>
#include <vector>

#include "conv_util.h"
#include "gemm.h"
#include "kernels.h"
#include "parallel.h"

namespace cxr {
namespace {

// set_conv_direct's mode: 0 off, 1 (default) where the kernels apply and the system BLAS did not
// measure faster, 2 (tests) every shape they compute.
int g_direct_mode = 1;

bool blas_preferred() { return g_direct_mode != 2 && system_blas_avx512(); }

// Vector width of the direct kernel this CPU runs: 16 (AVX-512F), 8 (AVX2 + FMA) or 0 (none).
int direct_lanes() {
  static const int lanes = __builtin_cpu_supports("avx512f")                                   ? 16
                           : __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") ? 8
                                                                                              : 0;
  return lanes;
}

struct Padded {
  const float* x;
  int hp, wp;
};

// x into a zero-filled [n, hp, wp, c] image at (pt, pl), hp/wp large enough for every tap. Slot 0
// of conv.cc's scratch: the im2col matrix this convolution replaces would have used it.
Padded pad_input(const float* x, const ConvGeom& g) {
  const int hp = std::max((g.oh - 1) * g.sh + g.fh, g.pt + g.h);
  const int wp = std::max((g.ow - 1) * g.sw + g.fw, g.pl + g.w);
  float* xp = scratch_slot(0, static_cast<size_t>(g.n) * hp * wp * g.c);
  pad_image(x, xp, g.n, g.h, g.w, g.c, hp, wp, g.pt, g.pl);
  return {xp, hp, wp};
}

// P adjacent output pixels of one row, KV vectors of 16 channels each. x0 is the padded input at
// the first pixel's top-left tap; xstep = sw * c floats between the pixels' windows.
template <int KV, int P>
__attribute__((target("avx512f"))) void tile_avx512(const float* x0, int64_t row, int64_t xstep,
                                                    const float* w, const ConvGeom& g, float* y) {
  __m512 acc[P][KV];
  for (int p = 0; p < P; ++p)
    for (int v = 0; v < KV; ++v) acc[p][v] = _mm512_setzero_ps();
  const float* wt = w;
  for (int kh = 0; kh < g.fh; ++kh) {
    for (int kw = 0; kw < g.fw; ++kw) {
      const float* xt = x0 + kh * row + static_cast<int64_t>(kw) * g.c;
      for (int ci = 0; ci < g.c; ++ci, wt += g.k) {
        __m512 wv[KV];
        for (int v = 0; v < KV; ++v) wv[v] = _mm512_loadu_ps(wt + 16 * v);
        for (int p = 0; p < P; ++p) {
          const __m512 xb = _mm512_set1_ps(xt[p * xstep + ci]);
          for (int v = 0; v < KV; ++v) acc[p][v] = _mm512_fmadd_ps(xb, wv[v], acc[p][v]);
        }
      }
    }
  }
  for (int p = 0; p < P; ++p)
    for (int v = 0; v < KV; ++v) _mm512_storeu_ps(y + p * g.k + 16 * v, acc[p][v]);
}

template <int KV, int P>
__attribute__((target("avx2,fma"))) void tile_avx2(const float* x0, int64_t row, int64_t xstep,
                                                   const float* w, const ConvGeom& g, float* y) {
  __m256 acc[P][KV];
  for (int p = 0; p < P; ++p)
    for (int v = 0; v < KV; ++v) acc[p][v] = _mm256_setzero_ps();
  const float* wt = w;
  for (int kh = 0; kh < g.fh; ++kh) {
    for (int kw = 0; kw < g.fw; ++kw) {
      const float* xt = x0 + kh * row + static_cast<int64_t>(kw) * g.c;
      for (int ci = 0; ci < g.c; ++ci, wt += g.k) {
        __m256 wv[KV];
        for (int v = 0; v < KV; ++v) wv[v] = _mm256_loadu_ps(wt + 8 * v);
        for (int p = 0; p < P; ++p) {
          const __m256 xb = _mm256_set1_ps(xt[p * xstep + ci]);
          for (int v = 0; v < KV; ++v) acc[p][v] = _mm256_fmadd_ps(xb, wv[v], acc[p][v]);
        }
      }
    }
  }
  for (int p = 0; p < P; ++p)
    for (int v = 0; v < KV; ++v) _mm256_storeu_ps(y + p * g.k + 8 * v, acc[p][v]);
}

// Walks i towards end in tiles of P, then of 8, 4, 2 and 1 (those smaller than P) for the rest:
// f(std::integral_constant<int, Q>{}) handles the Q items from i, then i advances by Q. A lone item
// is one chain of dependent multiply-adds (4 cycles each), so the rest goes in the widest tiles
// that fit; each item's chain is the same whatever tile computes it.
template <int P, class I, class F>
inline void tile_ladder(I& i, I end, F&& f) {
  auto run = [&](auto q) {
    for (; i + decltype(q)::value <= end; i += decltype(q)::value) f(q);
  };
  run(std::integral_constant<int, P>{});
  if constexpr (P > 8) run(std::integral_constant<int, 8>{});
  if constexpr (P > 4) run(std::integral_constant<int, 4>{});
  if constexpr (P > 2) run(std::integral_constant<int, 2>{});
  run(std::integral_constant<int, 1>{});
}

template <int KV, int P, bool AVX512>
inline void tile(const float* x0, int64_t row, int64_t xstep, const float* w, const ConvGeom& g,
                 float* y) {
  if constexpr (AVX512) {
    tile_avx512<KV, P>(x0, row, xstep, w, g, y);
  } else {
    tile_avx2<KV, P>(x0, row, xstep, w, g, y);
  }
}

// Output rows [b, e) of n * oh, each in tiles of P pixels (about 12 accumulators) and then the
// tile_ladder's smaller ones (a 32-pixel row was 12 + 12 + 8 single pixels before it).
template <int KV, bool AVX512>
void rows(const Padded& xp, const float* w, float* y, const ConvGeom& g, int64_t b, int64_t e) {
  constexpr int P = AVX512 ? (KV == 1 ? 12 : KV == 2 ? 6 : 3) : (KV == 1 ? 8 : KV == 2 ? 4 : 2);
  const int64_t row = static_cast<int64_t>(xp.wp) * g.c;
  const int64_t xstep = static_cast<int64_t>(g.sw) * g.c;
  for (int64_t r = b; r < e; ++r) {
    const int64_t n = r / g.oh;
    const int oh = static_cast<int>(r % g.oh);
    const float* x0 = xp.x + (n * xp.hp + static_cast<int64_t>(oh) * g.sh) * row;
    float* y0 = y + r * g.ow * g.k;
    int ow = 0;
    tile_ladder<P>(ow, g.ow, [&](auto q) {
      constexpr int Q = decltype(q)::value;
      tile<KV, Q, AVX512>(x0 + ow * xstep, row, xstep, w, g, y0 + static_cast<int64_t>(ow) * g.k);
    });
  }
}

// A pointwise stride-1 convolution: the n * h * w pixels are one contiguous [m, c] matrix, so they
// are cut into runs of pixels rather than image rows (the demo's last stages have rows of 2 and 4
// pixels, too short for a tile), and read from x itself, without a padded copy.
template <int KV, bool AVX512>
void pixels(const float* x, const float* w, float* y, const ConvGeom& g, int64_t b, int64_t e) {
  constexpr int P = AVX512 ? (KV == 1 ? 12 : KV == 2 ? 6 : 3) : (KV == 1 ? 8 : KV == 2 ? 4 : 2);
  int64_t p = b;
  tile_ladder<P>(p, e, [&](auto q) {
    tile<KV, decltype(q)::value, AVX512>(x + p * g.c, 0, g.c, w, g, y + p * g.k);
  });
}

// The output channels in blocks of at most four vectors (the accumulators of a tile); wider
// outputs (k = 128, 256, ...) are whole blocks of four, each a pass over the same input tile while
// it is in cache. Every output element is the same chain whichever block computes it.
template <bool AVX512, class Rows>
inline void channel_blocks(const ConvGeom& g, const float* w, float* y, Rows&& rows) {
  constexpr int lanes = AVX512 ? 16 : 8;
  const int kv = std::min(g.k / lanes, 4);
  for (int kb = 0; kb < g.k; kb += kv * lanes) {
    switch (kv) {
      case 1: rows(std::integral_constant<int, 1>{}, w + kb, y + kb); break;
      case 2: rows(std::integral_constant<int, 2>{}, w + kb, y + kb); break;
      default: rows(std::integral_constant<int, 4>{}, w + kb, y + kb); break;
    }
  }
}

template <bool AVX512>
void run_pointwise(const float* x, const float* w, float* y, const ConvGeom& g,
                   const BnEval* epilogue) {
  const int64_t m = static_cast<int64_t>(g.n) * g.oh * g.ow;
  parallel_for(m, 48, [&](int64_t b, int64_t e) {
    channel_blocks<AVX512>(g, w, y, [&](auto kv, const float* wb, float* yb) {
      pixels<decltype(kv)::value, AVX512>(x, wb, yb, g, b, e);
    });
    if (epilogue != nullptr) bn_eval_rows(*epilogue, y, y, b, e);
  });
}

template <bool AVX512>
void run(const Padded& xp, const float* w, float* y, const ConvGeom& g, const BnEval* epilogue) {
  const int64_t total = static_cast<int64_t>(g.n) * g.oh;
  parallel_for(total, 2, [&](int64_t b, int64_t e) {
    channel_blocks<AVX512>(g, w, y, [&](auto kv, const float* wb, float* yb) {
      rows<decltype(kv)::value, AVX512>(xp, wb, yb, g, b, e);
    });
    if (epilogue != nullptr) bn_eval_rows(*epilogue, y, y, b * g.ow, e * g.ow);
  });
}

// The input gradient of a stride-1 convolution with narrow input channels (c = 16..64) and short
// chains (k <= 64 output channels), without the column matrix: conv.cc computes it as
// col = dy * w^T (an NT GEMM whose every element is one fused multiply-add chain over k from +0,
// OpenBLAS's order for such short dot products) and then col2im, which adds each pixel's valid
// taps to +0 in (kh, kw) order. Here each tap's chain is computed in registers, vectorised over c
// (w transposed to [tap][k][c]), and added in the same order, so the result is the same bit for
// bit; a tap that col2im skips (outside dy) is skipped here too, never multiplied by a padding 0.
struct DxArgs {
  const float* dy;
  const float* wt;  // [fh * fw][k][c]
  float* dx;
  const ConvGeom* g;
};

template <int KV, int P>
__attribute__((target("avx512f"))) void dx_tile_avx512(const DxArgs& a, int n, int ih, int iw0,
                                                       int kh_lo, int kh_hi, int kw_lo, int kw_hi) {
  const ConvGeom& g = *a.g;
  __m512 acc[P][KV];
  for (int p = 0; p < P; ++p)
    for (int v = 0; v < KV; ++v) acc[p][v] = _mm512_setzero_ps();
  for (int kh = kh_lo; kh < kh_hi; ++kh) {
    const int oh = ih + g.pt - kh;
    const float* dyrow = a.dy + (static_cast<int64_t>(n) * g.oh + oh) * g.ow * g.k;
    for (int kw = kw_lo; kw < kw_hi; ++kw) {
      const float* wk = a.wt + static_cast<int64_t>(kh * g.fw + kw) * g.k * g.c;
      const float* d0 = dyrow + static_cast<int64_t>(iw0 + g.pl - kw) * g.k;
      __m512 ch[P][KV];
      for (int p = 0; p < P; ++p)
        for (int v = 0; v < KV; ++v) ch[p][v] = _mm512_setzero_ps();
      for (int k = 0; k < g.k; ++k) {
        __m512 wv[KV];
        for (int v = 0; v < KV; ++v) wv[v] = _mm512_loadu_ps(wk + static_cast<int64_t>(k) * g.c + 16 * v);
        for (int p = 0; p < P; ++p) {
          const __m512 xb = _mm512_set1_ps(d0[static_cast<int64_t>(p) * g.k + k]);
          for (int v = 0; v < KV; ++v) ch[p][v] = _mm512_fmadd_ps(xb, wv[v], ch[p][v]);
        }
      }
      for (int p = 0; p < P; ++p)
        for (int v = 0; v < KV; ++v) acc[p][v] = _mm512_add_ps(acc[p][v], ch[p][v]);
    }
  }
  float* out = a.dx + ((static_cast<int64_t>(n) * g.h + ih) * g.w + iw0) * g.c;
  for (int p = 0; p < P; ++p)
    for (int v = 0; v < KV; ++v) _mm512_storeu_ps(out + static_cast<int64_t>(p) * g.c + 16 * v, acc[p][v]);
}

template <int KV, int P>
__attribute__((target("avx2,fma"))) void dx_tile_avx2(const DxArgs& a, int n, int ih, int iw0,
                                                      int kh_lo, int kh_hi, int kw_lo, int kw_hi) {
  const ConvGeom& g = *a.g;
  __m256 acc[P][KV];
  for (int p = 0; p < P; ++p)
    for (int v = 0; v < KV; ++v) acc[p][v] = _mm256_setzero_ps();
  for (int kh = kh_lo; kh < kh_hi; ++kh) {
    const int oh = ih + g.pt - kh;
    const float* dyrow = a.dy + (static_cast<int64_t>(n) * g.oh + oh) * g.ow * g.k;
    for (int kw = kw_lo; kw < kw_hi; ++kw) {
      const float* wk = a.wt + static_cast<int64_t>(kh * g.fw + kw) * g.k * g.c;
      const float* d0 = dyrow + static_cast<int64_t>(iw0 + g.pl - kw) * g.k;
      __m256 ch[P][KV];
      for (int p = 0; p < P; ++p)
        for (int v = 0; v < KV; ++v) ch[p][v] = _mm256_setzero_ps();
      for (int k = 0; k < g.k; ++k) {
        __m256 wv[KV];
        for (int v = 0; v < KV; ++v) wv[v] = _mm256_loadu_ps(wk + static_cast<int64_t>(k) * g.c + 8 * v);
        for (int p = 0; p < P; ++p) {
          const __m256 xb = _mm256_set1_ps(d0[static_cast<int64_t>(p) * g.k + k]);
          for (int v = 0; v < KV; ++v) ch[p][v] = _mm256_fmadd_ps(xb, wv[v], ch[p][v]);
        }
      }
      for (int p = 0; p < P; ++p)
        for (int v = 0; v < KV; ++v) acc[p][v] = _mm256_add_ps(acc[p][v], ch[p][v]);
    }
  }
  float* out = a.dx + ((static_cast<int64_t>(n) * g.h + ih) * g.w + iw0) * g.c;
  for (int p = 0; p < P; ++p)
    for (int v = 0; v < KV; ++v) _mm256_storeu_ps(out + static_cast<int64_t>(p) * g.c + 8 * v, acc[p][v]);
}

template <int KV, int P, bool AVX512>
inline void dx_tile(const DxArgs& a, int n, int ih, int iw0, int kh_lo, int kh_hi, int kw_lo,
                    int kw_hi) {
  if constexpr (AVX512) {
    dx_tile_avx512<KV, P>(a, n, ih, iw0, kh_lo, kh_hi, kw_lo, kw_hi);
  } else {
    dx_tile_avx2<KV, P>(a, n, ih, iw0, kh_lo, kh_hi, kw_lo, kw_hi);
  }
}

// Rows [b, e) of n * h: edge pixels (some kw taps outside dy) one at a time with their own tap
// range; the pixels whose every kw tap is inside dy in tiles of P, 8, 4, 2, 1.
template <int KV, bool AVX512>
void dx_rows(const DxArgs& a, int64_t b, int64_t e) {
  // Two sets of P pixels' accumulators and chains must fit the vector registers (32 / 16).
  constexpr int P = AVX512 ? (KV == 1 ? 12 : KV == 2 ? 6 : 3) : (KV == 1 ? 6 : KV == 2 ? 3 : 1);
  const ConvGeom& g = *a.g;
  const int lo = std::max(0, g.fw - 1 - g.pl);       // first pixel with every kw tap inside
  const int hi = std::min(g.w, g.ow - g.pl);          // one past the last
  for (int64_t r = b; r < e; ++r) {
    const int n = static_cast<int>(r / g.h), ih = static_cast<int>(r % g.h);
    const int kh_lo = std::max(0, ih + g.pt - g.oh + 1), kh_hi = std::min(g.fh, ih + g.pt + 1);
    auto edge = [&](int iw) {
      const int kw_lo = std::max(0, iw + g.pl - g.ow + 1), kw_hi = std::min(g.fw, iw + g.pl + 1);
      dx_tile<KV, 1, AVX512>(a, n, ih, iw, kh_lo, kh_hi, kw_lo, std::max(kw_lo, kw_hi));
    };
    int iw = 0;
    for (; iw < std::min(lo, g.w); ++iw) edge(iw);
    tile_ladder<P>(iw, hi, [&](auto q) {
      dx_tile<KV, decltype(q)::value, AVX512>(a, n, ih, iw, kh_lo, kh_hi, 0, g.fw);
    });
    for (; iw < g.w; ++iw) edge(iw);
  }
}

// The filter gradient of a convolution with 16..64 output channels, without the column matrix:
// conv.cc computes dw = col^T * dy, a TN GEMM over all n * oh * ow pixels. OpenBLAS (0.3.21,
// SkylakeX) sums each element of it as: the pixels cut into blocks (448 at a time while at least
// 896 remain, then the rest in two halves, (l + 1) / 2 first, or whole when at most 448), each
// block one fused multiply-add chain from +0, the blocks' sums added in order to +0; and as one
// chain over all pixels where it takes its small-matrix kernel (m * n * k <= 100^3). Measured
// against cblas_sgemm on this project's shapes (build-time note in native/README.md). Here
// each chain runs in registers, vectorised over the output channels, for several filter rows at
// once, reading x through a zero-padded copy (a padding tap multiplies 0, as im2col's zero does).
struct DwArgs {
  const float* xp;  // padded input [n, hp, wp, c]
  int hp, wp;
  const float* dy;  // [n * oh * ow, k]
  float* dw;        // [fh * fw * c, k]
  const ConvGeom* g;
  const std::vector<int64_t>* off;  // per filter row: its tap's offset in the padded image
  const std::vector<std::pair<int64_t, int64_t>>* blocks;
};

template <int KV, int P>
__attribute__((target("avx512f"))) void dw_tile_avx512(const DwArgs& a, int64_t r0, size_t bi) {
  const ConvGeom& g = *a.g;
  int64_t off[P];
  for (int r = 0; r < P; ++r) off[r] = (*a.off)[r0 + r];
  const auto [start, len] = (*a.blocks)[bi];
  __m512 ch[P][KV];
  for (int r = 0; r < P; ++r)
    for (int v = 0; v < KV; ++v) ch[r][v] = _mm512_setzero_ps();
  int64_t ox = start % g.ow, rest = start / g.ow;
  int64_t oy = rest % g.oh, nn = rest / g.oh;
  const float* d = a.dy + start * g.k;
  for (int64_t p = 0; p < len; ++p, d += g.k) {
    const float* xb = a.xp + ((nn * a.hp + oy * g.sh) * a.wp + ox * g.sw) * g.c;
    __m512 dv[KV];
    for (int v = 0; v < KV; ++v) dv[v] = _mm512_loadu_ps(d + 16 * v);
    for (int r = 0; r < P; ++r) {
      const __m512 xr = _mm512_set1_ps(xb[off[r]]);
      for (int v = 0; v < KV; ++v) ch[r][v] = _mm512_fmadd_ps(xr, dv[v], ch[r][v]);
    }
    if (++ox == g.ow) {
      ox = 0;
      if (++oy == g.oh) oy = 0, ++nn;
    }
  }
  // The blocks' sums are added in order to +0; the running sum waits in dw between blocks.
  for (int r = 0; r < P; ++r)
    for (int v = 0; v < KV; ++v) {
      float* out = a.dw + (r0 + r) * g.k + 16 * v;
      const __m512 acc = bi == 0 ? _mm512_setzero_ps() : _mm512_loadu_ps(out);
      _mm512_storeu_ps(out, _mm512_add_ps(acc, ch[r][v]));
    }
}

template <int KV, int P>
__attribute__((target("avx2,fma"))) void dw_tile_avx2(const DwArgs& a, int64_t r0, size_t bi) {
  const ConvGeom& g = *a.g;
  int64_t off[P];
  for (int r = 0; r < P; ++r) off[r] = (*a.off)[r0 + r];
  const auto [start, len] = (*a.blocks)[bi];
  __m256 ch[P][KV];
  for (int r = 0; r < P; ++r)
    for (int v = 0; v < KV; ++v) ch[r][v] = _mm256_setzero_ps();
  int64_t ox = start % g.ow, rest = start / g.ow;
  int64_t oy = rest % g.oh, nn = rest / g.oh;
  const float* d = a.dy + start * g.k;
  for (int64_t p = 0; p < len; ++p, d += g.k) {
    const float* xb = a.xp + ((nn * a.hp + oy * g.sh) * a.wp + ox * g.sw) * g.c;
    __m256 dv[KV];
    for (int v = 0; v < KV; ++v) dv[v] = _mm256_loadu_ps(d + 8 * v);
    for (int r = 0; r < P; ++r) {
      const __m256 xr = _mm256_set1_ps(xb[off[r]]);
      for (int v = 0; v < KV; ++v) ch[r][v] = _mm256_fmadd_ps(xr, dv[v], ch[r][v]);
    }
    if (++ox == g.ow) {
      ox = 0;
      if (++oy == g.oh) oy = 0, ++nn;
    }
  }
  // The blocks' sums are added in order to +0; the running sum waits in dw between blocks.
  for (int r = 0; r < P; ++r)
    for (int v = 0; v < KV; ++v) {
      float* out = a.dw + (r0 + r) * g.k + 8 * v;
      const __m256 acc = bi == 0 ? _mm256_setzero_ps() : _mm256_loadu_ps(out);
      _mm256_storeu_ps(out, _mm256_add_ps(acc, ch[r][v]));
    }
}

template <int KV, int P, bool AVX512>
inline void dw_tile(const DwArgs& a, int64_t r0, size_t bi) {
  if constexpr (AVX512) {
    dw_tile_avx512<KV, P>(a, r0, bi);
  } else {
    dw_tile_avx2<KV, P>(a, r0, bi);
  }
}

// Filter rows [b, e) in tiles of P, 8, 4, 2, 1 rows, block of pixels by block: every tile of rows
// reads the block's dy (at most 448 pixels) while it is in cache, where a tile that ran through
// all the pixels read the whole of dy from memory again.
template <int KV, bool AVX512>
void dw_rows(const DwArgs& a, int64_t b, int64_t e) {
  constexpr int P = AVX512 ? (KV == 1 ? 12 : KV == 2 ? 6 : 3) : (KV == 1 ? 6 : KV == 2 ? 3 : 1);
  for (size_t bi = 0; bi < a.blocks->size(); ++bi) {
    int64_t r = b;
    tile_ladder<P>(r, e, [&](auto q) { dw_tile<KV, decltype(q)::value, AVX512>(a, r, bi); });
  }
}

// OpenBLAS's blocks of the summed dimension for a TN product m x n over k (see above); false where
// its single- and multi-threaded drivers would cut differently (an odd split), or where the
// dimensions are not worth it.
bool openblas_k_blocks(int64_t m, int64_t n, int64_t k, std::vector<std::pair<int64_t, int64_t>>* out) {
  if (out) out->clear();
  if (k < 1) return false;
  if (static_cast<double>(m) * n * k <= 100.0 * 100.0 * 100.0) {
    if (out) out->emplace_back(0, k);
    return true;
  }
  constexpr int64_t kQ = 448;
  for (int64_t ls = 0; ls < k;) {
    int64_t l = k - ls;
    if (l >= 2 * kQ) {
      l = kQ;
    } else if (l > kQ) {
      // level3_thread.c halves as (l + 1) / 2, level3.c rounds l / 2 up to a multiple of 4.
      if (l % 8 != 0) return false;
      l /= 2;
    }
    if (out) out->emplace_back(ls, l);
    ls += l;
  }
  return true;
}

}  // namespace

bool conv2d_direct_applies(const ConvGeom& g) {
  const int lanes = direct_lanes();
  if (g_direct_mode == 0 || lanes == 0 || g.dh != 1 || g.dw != 1) return false;
  if (g.k % lanes != 0) return false;
  const int kv = g.k / lanes;
  if (kv != 1 && kv != 2 && kv % 4 != 0) return false;
  const int64_t taps = static_cast<int64_t>(g.fh) * g.fw * g.c;
  // Wider outputs (k = 128, 256, ...) only over short chains: measured per call against OpenBLAS,
  // 32 -> 128 at 8 px 1.85x and 64 -> 256 at 56 px 1.27x faster, but 128 -> 256 0.8x and
  // 256 -> 512 0.7x (the GEMM's packed panels reuse each input pixel across all k at once).
  if (g.k > 64 && taps > 64) return false;
  // Against OpenBLAS's AVX-512 kernels (OPENBLAS_CORETYPE=SkylakeX on this project's AMD machine)
  // the pointwise GEMM gives the same bits and is faster on the wide ones: ResNet-50's 64 -> 256
  // and 256 -> 64 at 56 px 0.73-0.75x direct, 64 -> 256 at 4 px 0.85x; 128 -> 64 even.
  if (is_pointwise(g) && blas_preferred() && (g.k > 64 ? taps > 32 : taps > 128)) return false;
  // Up to 3x3 on 64 channels: ResNet-50's 3x3 64 -> 64 at 56 px ran 2.8x faster than im2col + GEMM
  // (6.4 vs 18 ms per call, batch 8); 3x3 128 -> 128 (1,152 taps) is even, so longer chains stay there.
  return taps <= 576;
}

void conv2d_direct(const float* x, const float* w, float* y, const ConvGeom& g,
                   const BnEval* epilogue) {
  const int lanes = direct_lanes();
  if (is_pointwise(g)) {
    if (lanes == 16) {
      run_pointwise<true>(x, w, y, g, epilogue);
    } else {
      run_pointwise<false>(x, w, y, g, epilogue);
    }
    return;
  }
  const Padded xp = pad_input(x, g);
  if (lanes == 16) {
    run<true>(xp, w, y, g, epilogue);
  } else {
    run<false>(xp, w, y, g, epilogue);
  }
}

void conv2d_bn_act(const float* x, const float* w, float* y, const ConvGeom& g, const BnEval& p) {
  if (conv2d_direct_applies(g)) {
    conv2d_direct(x, w, y, g, &p);
    return;
  }
  conv2d(x, w, y, g);
  const int64_t rows = static_cast<int64_t>(g.n) * g.oh * g.ow;
  parallel_for(rows, 64, [&](int64_t b, int64_t e) { bn_eval_rows(p, y, y, b, e); });
}

bool conv2d_backprop_input_direct_applies(const ConvGeom& g) {
  const int lanes = direct_lanes();
  if (g_direct_mode == 0 || lanes == 0 || g.dh != 1 || g.dw != 1 || g.sh != 1 || g.sw != 1)
    return false;
  if (g.fh * g.fw == 1 || g.c > 64 || g.c % lanes != 0) return false;
  const int cv = g.c / lanes;
  // k <= 64: chains well inside the length that OpenBLAS sums in one block (448 terms measured).
  // And only where OpenBLAS's GEMM would take its blocked path: at m * n * k <= 100^3 it takes its
  // small-matrix kernel (sgemm_small_kernel_permit_skylakex.c), whose NT sums come out in another
  // order (measured: a 32 x 48 x 64 product differs in the last bit).
  const double mnk = static_cast<double>(g.n) * g.oh * g.ow * (g.fh * g.fw * g.c) * g.k;
  return (cv == 1 || cv == 2 || cv == 4) && g.k >= 1 && g.k <= 64 && mnk > 100.0 * 100.0 * 100.0;
}

void conv2d_backprop_input_direct(const float* dy, const float* w, float* dx, const ConvGeom& g) {
  const int taps = g.fh * g.fw;
  std::vector<float> wt(static_cast<size_t>(taps) * g.k * g.c);
  transpose_filter(w, taps, g.c, g.k, wt.data());
  const DxArgs a{dy, wt.data(), dx, &g};
  const int lanes = direct_lanes();
  const int cv = g.c / lanes;
  parallel_for(static_cast<int64_t>(g.n) * g.h, 2, [&](int64_t b, int64_t e) {
    if (lanes == 16) {
      switch (cv) {
        case 1: dx_rows<1, true>(a, b, e); break;
        case 2: dx_rows<2, true>(a, b, e); break;
        default: dx_rows<4, true>(a, b, e); break;
      }
    } else {
      switch (cv) {
        case 1: dx_rows<1, false>(a, b, e); break;
        case 2: dx_rows<2, false>(a, b, e); break;
        default: dx_rows<4, false>(a, b, e); break;
      }
    }
  });
}

bool conv2d_backprop_filter_direct_applies(const ConvGeom& g) {
  const int lanes = direct_lanes();
  if (g_direct_mode == 0 || lanes == 0 || g.dh != 1 || g.dw != 1) return false;
  if (g.k % lanes != 0 || (g.k / lanes != 1 && g.k / lanes != 2 && g.k / lanes != 4)) return false;
  // Up to 576 filter rows (3x3 on 64 channels), pointwise included, block of pixels by block of
  // pixels (dw_rows). Measured per call against OpenBLAS here: the demo's pointwise 16 -> 16 at
  // 16 px 2.9x, 16 -> 64 1.4x; ResNet-50's stem 1.4x, 3x3 64 -> 64 at 56 px 1.3x, its pointwise
  // 256 -> 64 even (OpenBLAS is at its peak there).
  const int64_t rows = static_cast<int64_t>(g.fh) * g.fw * g.c;
  if (rows > 576) return false;
  // Against OpenBLAS's AVX-512 kernels (same bits: the blocks are theirs) only narrow products won:
  // pointwise 16 -> 64 1.4x, 64 -> 32 1.7x, but 128 -> 64 0.94x and ResNet-50's at 56 px 0.83-0.95x.
  if (blas_preferred() && g.k > 32 && rows > 32) return false;
  return openblas_k_blocks(rows, g.k, static_cast<int64_t>(g.n) * g.oh * g.ow, nullptr);
}

void conv2d_backprop_filter_direct(const float* x, const float* dy, float* dw, const ConvGeom& g) {
  const Padded xp = is_pointwise(g) ? Padded{x, g.h, g.w} : pad_input(x, g);
  const int64_t rows = static_cast<int64_t>(g.fh) * g.fw * g.c;
  std::vector<int64_t> off(rows);
  for (int kh = 0; kh < g.fh; ++kh)
    for (int kw = 0; kw < g.fw; ++kw)
      for (int c = 0; c < g.c; ++c)
        off[(static_cast<int64_t>(kh) * g.fw + kw) * g.c + c] =
            (static_cast<int64_t>(kh) * xp.wp + kw) * g.c + c;
  std::vector<std::pair<int64_t, int64_t>> blocks;
  openblas_k_blocks(rows, g.k, static_cast<int64_t>(g.n) * g.oh * g.ow, &blocks);
  const DwArgs a{xp.x, xp.hp, xp.wp, dy, dw, &g, &off, &blocks};
  const int lanes = direct_lanes();
  const int kv = g.k / lanes;
  parallel_for(rows, 4, [&](int64_t b, int64_t e) {
    if (lanes == 16) {
      switch (kv) {
        case 1: dw_rows<1, true>(a, b, e); break;
        case 2: dw_rows<2, true>(a, b, e); break;
        default: dw_rows<4, true>(a, b, e); break;
      }
    } else {
      switch (kv) {
        case 1: dw_rows<1, false>(a, b, e); break;
        case 2: dw_rows<2, false>(a, b, e); break;
        default: dw_rows<4, false>(a, b, e); break;
      }
    }
  });
}

int set_conv_direct(int mode) {
  const int was = g_direct_mode;
  g_direct_mode = mode == 0 ? 0 : mode == 2 ? 2 : 1;
  return was;
}

int conv_direct_lanes() { return direct_lanes(); }

}  // namespace cxr
