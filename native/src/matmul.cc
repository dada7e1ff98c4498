#include "gemm.h"
#include "kernels.h"
#include "parallel.h"

namespace cxr {

void matmul(const float* a, const float* b, float* c, int64_t batch_a, int64_t batch_b, int m,
            int n, int k, bool trans_a, bool trans_b) {
  const int64_t batch = batch_a > batch_b ? batch_a : batch_b;
  const int lda = trans_a ? m : k, ldb = trans_b ? k : n;
  for (int64_t i = 0; i < batch; ++i) {
    const float* ai = a + (batch_a == 1 ? 0 : i) * static_cast<int64_t>(m) * k;
    const float* bi = b + (batch_b == 1 ? 0 : i) * static_cast<int64_t>(k) * n;
    sgemm(trans_a, trans_b, m, n, k, 1.f, ai, lda, bi, ldb, 0.f,
                c + i * static_cast<int64_t>(m) * n, n);
  }
}

void bias_act(float* y, const float* bias, int64_t rows, int cols, int bias_len, int act) {
  parallel_for(rows, 256, [&](int64_t b, int64_t e) {
    for (int64_t r = b; r < e; ++r) {
      float* row = y + r * cols;
      if (bias != nullptr) {
        if (bias_len == cols) {
          for (int j = 0; j < cols; ++j) row[j] += bias[j];
        } else {
          for (int j = 0; j < cols; ++j) row[j] += bias[j % bias_len];
        }
      }
      if (act == 1) {
        for (int j = 0; j < cols; ++j) row[j] = row[j] < 0.f ? 0.f : row[j];
      }
    }
  });
}

}  // namespace cxr
