// Direct convolution for narrow outputs (k = 16..64 channels) with a short filter (fh*fw*c <= 448
// taps). im2col + GEMM spends most of its time there writing and re-reading the column matrix
// (49 floats per pixel for the demo's 7x7 stem on 1 channel, 144 for a 3x3 on 16) and in a GEMM
// only 16 or 32 columns wide; here the input is copied once into a zero-padded image and each
// output pixel's k channels are accumulated in vector registers straight from it.
//
// Every output element is one fused multiply-add chain over the taps in im2col's column order
// (kh, kw, c), starting from +0: the order in which OpenBLAS 0.3.21's SkylakeX SGEMM kernel sums
// a dot product of up to 448 terms (measured on this project's shapes; 576 terms are split into
// two blocks), so on such a machine the output equals im2col + OpenBLAS bit for bit. Padded taps
// are real multiply-adds with 0, as in the im2col matrix.
#include <immintrin.h>

#include <algorithm>
#include <type_traits>

#include "conv_util.h"
#include "kernels.h"
#include "parallel.h"

namespace cxr {
namespace {

bool g_direct_enabled = true;

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

template <int KV, int P, bool AVX512>
inline void tile(const float* x0, int64_t row, int64_t xstep, const float* w, const ConvGeom& g,
                 float* y) {
  if constexpr (AVX512) {
    tile_avx512<KV, P>(x0, row, xstep, w, g, y);
  } else {
    tile_avx2<KV, P>(x0, row, xstep, w, g, y);
  }
}

// Output rows [b, e) of n * oh: tiles of P pixels (about 12 accumulators), then the row's rest in
// tiles of 8, 4, 2 and 1 (smaller than P): one pixel alone is a single chain of dependent
// multiply-adds, 4 cycles each, so a 32-pixel row as 12 + 12 + 8 single pixels spent most of its
// time on the 8. Each output's chain is the same whatever tile computes it.
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
    auto run_tiles = [&](auto q) {
      constexpr int Q = decltype(q)::value;
      for (; ow + Q <= g.ow; ow += Q)
        tile<KV, Q, AVX512>(x0 + ow * xstep, row, xstep, w, g, y0 + static_cast<int64_t>(ow) * g.k);
    };
    run_tiles(std::integral_constant<int, P>{});
    if constexpr (P > 8) run_tiles(std::integral_constant<int, 8>{});
    if constexpr (P > 4) run_tiles(std::integral_constant<int, 4>{});
    if constexpr (P > 2) run_tiles(std::integral_constant<int, 2>{});
    run_tiles(std::integral_constant<int, 1>{});
  }
}

template <bool AVX512>
void run(const Padded& xp, const float* w, float* y, const ConvGeom& g, int kv,
         const BnEval* epilogue) {
  const int64_t total = static_cast<int64_t>(g.n) * g.oh;
  parallel_for(total, 2, [&](int64_t b, int64_t e) {
    switch (kv) {
      case 1: rows<1, AVX512>(xp, w, y, g, b, e); break;
      case 2: rows<2, AVX512>(xp, w, y, g, b, e); break;
      default: rows<4, AVX512>(xp, w, y, g, b, e); break;
    }
    if (epilogue != nullptr) bn_eval_rows(*epilogue, y, y, b * g.ow, e * g.ow);
  });
}

}  // namespace

bool conv2d_direct_applies(const ConvGeom& g) {
  const int lanes = direct_lanes();
  if (!g_direct_enabled || lanes == 0 || g.dh != 1 || g.dw != 1) return false;
  if (g.k % lanes != 0 || (g.k / lanes != 1 && g.k / lanes != 2 && g.k / lanes != 4)) return false;
  if (g.k > 64) return false;
  // A pointwise stride-1 convolution is already a plain GEMM on x (no im2col).
  if (g.fh == 1 && g.fw == 1 && g.sh == 1 && g.sw == 1) return false;
  return static_cast<int64_t>(g.fh) * g.fw * g.c <= 448;
}

void conv2d_direct(const float* x, const float* w, float* y, const ConvGeom& g,
                   const BnEval* epilogue) {
  const Padded xp = pad_input(x, g);
  const int lanes = direct_lanes();
  if (lanes == 16) {
    run<true>(xp, w, y, g, g.k / 16, epilogue);
  } else {
    run<false>(xp, w, y, g, g.k / 8, epilogue);
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

bool set_conv_direct(bool on) {
  const bool was = g_direct_enabled;
  g_direct_enabled = on;
  return was;
}

int conv_direct_lanes() { return direct_lanes(); }

}  // namespace cxr
