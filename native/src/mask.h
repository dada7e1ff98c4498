// Relu masks as bit operations. Written as `y > 0 ? d : 0`, GCC sees control flow and leaves
// the loop scalar at the baseline x86-64 ISA (SSE2 has no blend), and with a random sign
// pattern the branch mispredicts about half the time: relu's gradient ran ~8x slower than an
// add. An AND with a compare mask vectorises and has no branch.
#pragma once
#include <cstdint>
#include <cstring>

namespace cxr {

// d where y > 0, else +0 (relu's gradient masked by its output or input).
inline float keep_if_positive(float d, float y) {
  uint32_t b;
  std::memcpy(&b, &d, 4);
  b &= -static_cast<uint32_t>(y > 0.f);
  float r;
  std::memcpy(&r, &b, 4);
  return r;
}

// tfjs's step(x) with alpha 0: 1 for x > 0, NaN for NaN, else 0.
inline float step01(float x) {
  const uint32_t b = (-static_cast<uint32_t>(x > 0.f) & 0x3f800000u) |
                     (-static_cast<uint32_t>(x != x) & 0x7fc00000u);
  float r;
  std::memcpy(&r, &b, 4);
  return r;
}

}  // namespace cxr
