// The bundled SGEMM: a packed, cache-blocked GEMM in the layout of Goto's and BLIS's papers, so
// the addon builds and runs fast where no BLAS library is installed. op(B) is packed in panels
// of kc x NR floats (kc = 256: one panel stays in L1 while a block of A streams past it),
// op(A) in panels of MR x kc per block of MC rows (L2); a register-blocked micro-kernel
// multiplies one A panel by one B panel. Threads take (row block, column group) tasks from
// the pool. Micro-kernels: AVX-512 (12 x 32), AVX2 + FMA (6 x 16), each compiled with a
// target attribute and chosen at run time from the CPU, and a portable one in GCC/Clang
// vector extensions (6 x 8; SSE2 on x86-64, NEON on arm64).
#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <string>

#include "gemm.h"
#include "gemm_bundled.h"
#include "parallel.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define CXR_X86_KERNELS 1
#endif

namespace cxr {
namespace {

// c[MR x NR] (row stride ldc) = alpha * (packed A panel x packed B panel) + beta * c; with
// beta == 0, c is not read (it may be uninitialised memory).
using MicroKernel = void (*)(int64_t kc, const float* a, const float* b, float* c, int64_t ldc,
                             float alpha, float beta);

#ifdef CXR_X86_KERNELS
__attribute__((target("avx512f"))) void kernel_avx512(int64_t kc, const float* a, const float* b,
                                                      float* c, int64_t ldc, float alpha,
                                                      float beta) {
  constexpr int MR = 12;
  __m512 acc[MR][2];
#pragma GCC unroll 12
  for (int i = 0; i < MR; ++i) acc[i][0] = acc[i][1] = _mm512_setzero_ps();
  for (int64_t p = 0; p < kc; ++p) {
    const __m512 b0 = _mm512_load_ps(b), b1 = _mm512_load_ps(b + 16);
#pragma GCC unroll 12
    for (int i = 0; i < MR; ++i) {
      const __m512 ai = _mm512_set1_ps(a[i]);
      acc[i][0] = _mm512_fmadd_ps(ai, b0, acc[i][0]);
      acc[i][1] = _mm512_fmadd_ps(ai, b1, acc[i][1]);
    }
    a += MR;
    b += 32;
  }
  const __m512 va = _mm512_set1_ps(alpha);
  if (beta == 0.f) {
#pragma GCC unroll 12
    for (int i = 0; i < MR; ++i) {
      _mm512_storeu_ps(c + i * ldc, _mm512_mul_ps(va, acc[i][0]));
      _mm512_storeu_ps(c + i * ldc + 16, _mm512_mul_ps(va, acc[i][1]));
    }
  } else {
    const __m512 vb = _mm512_set1_ps(beta);
#pragma GCC unroll 12
    for (int i = 0; i < MR; ++i) {
      float* r = c + i * ldc;
      _mm512_storeu_ps(r, _mm512_fmadd_ps(vb, _mm512_loadu_ps(r), _mm512_mul_ps(va, acc[i][0])));
      _mm512_storeu_ps(r + 16,
                       _mm512_fmadd_ps(vb, _mm512_loadu_ps(r + 16), _mm512_mul_ps(va, acc[i][1])));
    }
  }
}

__attribute__((target("avx2,fma"))) void kernel_avx2(int64_t kc, const float* a, const float* b,
                                                     float* c, int64_t ldc, float alpha,
                                                     float beta) {
  constexpr int MR = 6;
  __m256 acc[MR][2];
#pragma GCC unroll 6
  for (int i = 0; i < MR; ++i) acc[i][0] = acc[i][1] = _mm256_setzero_ps();
  for (int64_t p = 0; p < kc; ++p) {
    const __m256 b0 = _mm256_load_ps(b), b1 = _mm256_load_ps(b + 8);
#pragma GCC unroll 6
    for (int i = 0; i < MR; ++i) {
      const __m256 ai = _mm256_broadcast_ss(a + i);
      acc[i][0] = _mm256_fmadd_ps(ai, b0, acc[i][0]);
      acc[i][1] = _mm256_fmadd_ps(ai, b1, acc[i][1]);
    }
    a += MR;
    b += 16;
  }
  const __m256 va = _mm256_set1_ps(alpha);
  if (beta == 0.f) {
#pragma GCC unroll 6
    for (int i = 0; i < MR; ++i) {
      _mm256_storeu_ps(c + i * ldc, _mm256_mul_ps(va, acc[i][0]));
      _mm256_storeu_ps(c + i * ldc + 8, _mm256_mul_ps(va, acc[i][1]));
    }
  } else {
    const __m256 vb = _mm256_set1_ps(beta);
#pragma GCC unroll 6
    for (int i = 0; i < MR; ++i) {
      float* r = c + i * ldc;
      _mm256_storeu_ps(r, _mm256_fmadd_ps(vb, _mm256_loadu_ps(r), _mm256_mul_ps(va, acc[i][0])));
      _mm256_storeu_ps(r + 8,
                       _mm256_fmadd_ps(vb, _mm256_loadu_ps(r + 8), _mm256_mul_ps(va, acc[i][1])));
    }
  }
}
#endif

// Portable: 4-float vectors of the compiler's vector extension.
typedef float v4f __attribute__((vector_size(16)));

void kernel_generic(int64_t kc, const float* a, const float* b, float* c, int64_t ldc,
                    float alpha, float beta) {
  constexpr int MR = 6;
  v4f acc[MR][2];
#pragma GCC unroll 6
  for (int i = 0; i < MR; ++i) acc[i][0] = acc[i][1] = v4f{0.f, 0.f, 0.f, 0.f};
  for (int64_t p = 0; p < kc; ++p) {
    v4f b0, b1;
    std::memcpy(&b0, b, 16);
    std::memcpy(&b1, b + 4, 16);
#pragma GCC unroll 6
    for (int i = 0; i < MR; ++i) {
      const v4f ai = {a[i], a[i], a[i], a[i]};
      acc[i][0] += ai * b0;
      acc[i][1] += ai * b1;
    }
    a += MR;
    b += 8;
  }
  for (int i = 0; i < MR; ++i) {
    float* r = c + i * ldc;
    for (int h = 0; h < 2; ++h) {
      v4f v = acc[i][h] * alpha;
      if (beta != 0.f) {
        v4f old;
        std::memcpy(&old, r + 4 * h, 16);
        v += old * beta;
      }
      std::memcpy(r + 4 * h, &v, 16);
    }
  }
}

struct KernelInfo {
  const char* name;
  int mr, nr;
  MicroKernel fn;
};

constexpr KernelInfo kKernels[] = {
#ifdef CXR_X86_KERNELS
    {"avx512", 12, 32, kernel_avx512},
    {"avx2", 6, 16, kernel_avx2},
#endif
    {"generic", 6, 8, kernel_generic},
};

bool cpu_runs(const KernelInfo& k) {
#ifdef CXR_X86_KERNELS
  __builtin_cpu_init();
  if (std::strcmp(k.name, "avx512") == 0) return __builtin_cpu_supports("avx512f");
  if (std::strcmp(k.name, "avx2") == 0)
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#endif
  return std::strcmp(k.name, "generic") == 0;
}

const KernelInfo* find_kernel(const std::string& name) {
  for (const auto& k : kKernels)
    if ((name.empty() || name == k.name) && cpu_runs(k)) return &k;
  return nullptr;
}

// 64-byte aligned, grow-only; one per thread for A blocks, one shared for the B block (GEMMs
// are called from the JavaScript thread one at a time).
struct Buffer {
  float* p = nullptr;
  size_t cap = 0;
  float* get(size_t floats) {
    if (floats > cap) {
      std::free(p);
      p = static_cast<float*>(std::aligned_alloc(64, ((floats * 4 + 63) / 64) * 64));
      cap = floats;
    }
    return p;
  }
  ~Buffer() { std::free(p); }
};

constexpr int64_t KC = 256;   // depth of a panel: a B panel (256 x 32 floats = 32 KB) fits L1
constexpr int64_t MC_TARGET = 240;  // rows of an A block (240 x 256 floats = 240 KB, L2)
constexpr int64_t NC = 3072;  // columns of a packed B block (3 MB at kc = 256)

// Panels of op(A)[i0 .. i0 + mc, p0 .. p0 + kc]: MR rows by kc, element (i, p) at p * MR + i,
// rows past m zero.
void pack_a(const KernelInfo& K, bool trans, const float* a, int64_t lda, int64_t m, int64_t i0,
            int64_t mc, int64_t p0, int64_t kc, float* dst) {
  const int MR = K.mr;
  for (int64_t r = 0; r < mc; r += MR, dst += kc * MR) {
    const int64_t rows = std::min<int64_t>(MR, m - (i0 + r));
    if (!trans) {
      for (int64_t i = 0; i < rows; ++i) {
        const float* src = a + (i0 + r + i) * lda + p0;
        for (int64_t p = 0; p < kc; ++p) dst[p * MR + i] = src[p];
      }
    } else {
      for (int64_t p = 0; p < kc; ++p) {
        const float* src = a + (p0 + p) * lda + i0 + r;
        for (int64_t i = 0; i < rows; ++i) dst[p * MR + i] = src[i];
      }
    }
    if (rows < MR)
      for (int64_t p = 0; p < kc; ++p)
        for (int64_t i = rows; i < MR; ++i) dst[p * MR + i] = 0.f;
  }
}

// Panel q of op(B)[p0 .. p0 + kc, j0 .. j0 + nc]: kc rows of NR, columns past nc zero.
void pack_b_panel(const KernelInfo& K, bool trans, const float* b, int64_t ldb, int64_t nc,
                  int64_t j0, int64_t q, int64_t p0, int64_t kc, float* dst) {
  const int NR = K.nr;
  const int64_t j = q * NR, cols = std::min<int64_t>(NR, nc - j);
  if (!trans) {
    for (int64_t p = 0; p < kc; ++p) {
      std::memcpy(dst + p * NR, b + (p0 + p) * ldb + j0 + j, sizeof(float) * cols);
      for (int64_t x = cols; x < NR; ++x) dst[p * NR + x] = 0.f;
    }
  } else {
    for (int64_t x = 0; x < cols; ++x) {
      const float* src = b + (j0 + j + x) * ldb + p0;
      for (int64_t p = 0; p < kc; ++p) dst[p * NR + x] = src[p];
    }
    for (int64_t x = cols; x < NR; ++x)
      for (int64_t p = 0; p < kc; ++p) dst[p * NR + x] = 0.f;
  }
}

void scale_c(float* c, int64_t ldc, int64_t m, int64_t n, float beta) {
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j) c[i * ldc + j] = beta == 0.f ? 0.f : beta * c[i * ldc + j];
}

void run_bundled(const KernelInfo& K, bool ta, bool tb, int64_t m, int64_t n, int64_t k,
                 float alpha, const float* a, int64_t lda, const float* b, int64_t ldb,
                 float beta, float* c, int64_t ldc) {
  if (m <= 0 || n <= 0) return;
  if (k <= 0 || alpha == 0.f) {
    scale_c(c, ldc, m, n, beta);
    return;
  }
  static Buffer bbuf;
  const int MR = K.mr, NR = K.nr;
  const int64_t mc_max = std::max<int64_t>(MR, (MC_TARGET / MR) * MR);
  const int threads = num_threads();
  // Small products run on the calling thread: waking the pool costs more than they do.
  const bool serial = threads == 1 || static_cast<double>(m) * n * k < 48.0 * 48 * 48;
  for (int64_t jc = 0; jc < n; jc += NC) {
    const int64_t nc = std::min(NC, n - jc);
    const int64_t panels = (nc + NR - 1) / NR;
    for (int64_t pc = 0; pc < k; pc += KC) {
      const int64_t kc = std::min(KC, k - pc);
      const float beta_p = pc == 0 ? beta : 1.f;
      float* bp = bbuf.get(static_cast<size_t>(panels) * kc * NR);
      auto pack_b = [&](int64_t q0, int64_t q1) {
        for (int64_t q = q0; q < q1; ++q)
          pack_b_panel(K, tb, b, ldb, nc, jc, q, pc, kc, bp + q * kc * NR);
      };
      if (serial) pack_b(0, panels); else parallel_for(panels, 4, pack_b);
      // Row blocks of at most mc_max rows, and when they are too few to keep every thread
      // busy (a short, wide product), column groups too.
      const int64_t mblocks = (m + mc_max - 1) / mc_max;
      const int64_t mc = ((m + mblocks - 1) / mblocks + MR - 1) / MR * MR;
      const int64_t groups =
          serial ? 1 : std::max<int64_t>(1, std::min<int64_t>(panels, (4 * threads + mblocks - 1) / mblocks));
      auto task = [&](int64_t t0, int64_t t1) {
        static thread_local Buffer abuf;
        float* ap = abuf.get(static_cast<size_t>(mc) * kc);
        alignas(64) float tmp[12 * 32];
        int64_t packed = -1;
        for (int64_t t = t0; t < t1; ++t) {
          const int64_t ib = t / groups, g = t % groups;
          const int64_t i0 = ib * mc, rows = std::min(mc, m - i0);
          if (rows <= 0) continue;
          if (packed != ib) {
            pack_a(K, ta, a, lda, m, i0, rows, pc, kc, ap);
            packed = ib;
          }
          const int64_t q0 = panels * g / groups, q1 = panels * (g + 1) / groups;
          for (int64_t q = q0; q < q1; ++q) {
            const int64_t j = q * NR, cols = std::min<int64_t>(NR, nc - j);
            const float* bq = bp + q * kc * NR;
            for (int64_t r = 0; r < rows; r += MR) {
              const int64_t mr = std::min<int64_t>(MR, rows - r);
              const float* aq = ap + r * kc;
              float* cq = c + (i0 + r) * ldc + jc + j;
              if (mr == MR && cols == NR) {
                K.fn(kc, aq, bq, cq, ldc, alpha, beta_p);
              } else {
                K.fn(kc, aq, bq, tmp, NR, 1.f, 0.f);
                for (int64_t i = 0; i < mr; ++i)
                  for (int64_t x = 0; x < cols; ++x) {
                    float& dst = cq[i * ldc + x];
                    dst = beta_p == 0.f ? alpha * tmp[i * NR + x]
                                        : alpha * tmp[i * NR + x] + beta_p * dst;
                  }
              }
            }
          }
        }
      };
      const int64_t tasks = ((m + mc - 1) / mc) * groups;
      if (serial) task(0, tasks); else parallel_for(tasks, 1, task);
    }
  }
}

}  // namespace

const char* best_bundled_kernel() {
  const KernelInfo* k = find_kernel("");
  return k ? k->name : "generic";
}

std::string bundled_kernels() {
  std::string out;
  for (const auto& k : kKernels)
    if (cpu_runs(k)) out += (out.empty() ? "" : ",") + std::string(k.name);
  return out;
}

std::string bundled_kernel_shape(const std::string& name) {
  const KernelInfo* k = find_kernel(name);
  return k ? std::to_string(k->mr) + "x" + std::to_string(k->nr) : "";
}

bool bundled_sgemm(const std::string& kernel, bool trans_a, bool trans_b, int64_t m, int64_t n,
                   int64_t k, float alpha, const float* a, int64_t lda, const float* b,
                   int64_t ldb, float beta, float* c, int64_t ldc) {
  const KernelInfo* K = find_kernel(kernel);
  if (!K) return false;
  run_bundled(*K, trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
  return true;
}

}  // namespace cxr
