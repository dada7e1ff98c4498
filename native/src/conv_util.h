// Pieces of conv.cc that the direct convolution (conv_direct.cc) uses too.
#pragma once
#include <cstddef>

#include "kernels.h"

namespace cxr {

// Grow-only scratch buffer `slot` (0 or 1) of at least `floats` floats, 64-byte aligned.
float* scratch_slot(int slot, size_t floats);

// Copies an [n, h, w, ch] image into a zero-filled [n, hp, wp, ch] one at offset (top, left);
// needs hp >= top + h and wp >= left + w.
void pad_image(const float* src, float* dst, int n, int h, int w, int ch, int hp, int wp, int top,
               int left);

// A filter [taps][c][k] transposed to [taps][k][c] (the input gradient's dx = dy w^T per tap).
void transpose_filter(const float* w, int taps, int c, int k, float* wt);

// A 1x1 stride-1 convolution without padding: a GEMM on x itself, [n * h * w, c] x [c, k].
inline bool is_pointwise(const ConvGeom& g) {
  return g.fh == 1 && g.fw == 1 && g.sh == 1 && g.sw == 1 && g.pt == 0 && g.pl == 0 &&
         g.oh == g.h && g.ow == g.w;
}

}  // namespace cxr
