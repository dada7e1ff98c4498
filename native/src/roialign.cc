// RoIAlign's two loops over a sampling plan made in TypeScript (src/models/fasterRcnn/roiAlign.ts):
// gather out[cell, c] = sum_e weight[e] * x[pos[e], c] over e in [start[cell], start[cell + 1]),
// and its transpose, the scatter-add into dx. Each add runs in double and rounds to float, in plan
// order, as the JavaScript loops do (the product of two floats is exact in double, so a fused
// multiply-add changes nothing), so both give the same bits. Threads split the channels: the
// scatter needs no atomics and every element sees its adds in the same order.
#include <algorithm>

#include "kernels.h"
#include "parallel.h"

namespace cxr {
namespace {

// Below this many multiply-adds one thread is faster than waking the pool.
constexpr int64_t kSerialWork = 1 << 16;

template <typename Fn>
void by_channels(int64_t channels, int64_t work, Fn fn) {
  if (work < kSerialWork) {
    fn(0, channels);
    return;
  }
  parallel_for(channels, 1, fn);
}

}  // namespace

void roi_gather(const int32_t* start, const int32_t* pos, const float* weight, const float* x,
                float* out, int64_t cells, int64_t channels) {
  std::fill(out, out + cells * channels, 0.0f);
  by_channels(channels, static_cast<int64_t>(start[cells]) * channels, [&](int64_t c0, int64_t c1) {
    for (int64_t i = 0; i < cells; ++i) {
      float* o = out + i * channels;
      for (int32_t e = start[i]; e < start[i + 1]; ++e) {
        const double w = weight[e];
        const float* xp = x + static_cast<int64_t>(pos[e]) * channels;
        for (int64_t c = c0; c < c1; ++c) o[c] = static_cast<float>(o[c] + w * xp[c]);
      }
    }
  });
}

void roi_scatter(const int32_t* start, const int32_t* pos, const float* weight, const float* dy,
                 float* dx, int64_t dx_size, int64_t cells, int64_t channels) {
  std::fill(dx, dx + dx_size, 0.0f);
  by_channels(channels, static_cast<int64_t>(start[cells]) * channels, [&](int64_t c0, int64_t c1) {
    for (int64_t i = 0; i < cells; ++i) {
      const float* d = dy + i * channels;
      for (int32_t e = start[i]; e < start[i + 1]; ++e) {
        const double w = weight[e];
        float* xp = dx + static_cast<int64_t>(pos[e]) * channels;
        for (int64_t c = c0; c < c1; ++c) xp[c] = static_cast<float>(xp[c] + w * d[c]);
      }
    }
  });
}

}  // namespace cxr
