// Pieces of conv.cc that the direct convolution (conv_direct.cc) uses too.
#pragma once
#include <cstddef>

namespace cxr {

// Grow-only scratch buffer `slot` (0 or 1) of at least `floats` floats, 64-byte aligned.
float* scratch_slot(int slot, size_t floats);

// Copies an [n, h, w, ch] image into a zero-filled [n, hp, wp, ch] one at offset (top, left);
// needs hp >= top + h and wp >= left + w.
void pad_image(const float* src, float* dst, int n, int h, int w, int ch, int hp, int wp, int top,
               int left);

}  // namespace cxr
