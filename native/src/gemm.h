// The one SGEMM entry point of the kernels: row-major C = alpha * op(A) * op(B) + beta * C,
// op(A) m x k, op(B) k x n. It runs OpenBLAS's cblas_sgemm (or Accelerate's, on macOS) when
// that library could be loaded at run time, else the bundled packed GEMM (gemm.cc).
#pragma once
#include <cstdint>
#include <string>

namespace cxr {

void sgemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha,
           const float* a, int64_t lda, const float* b, int64_t ldb, float beta, float* c,
           int64_t ldc);

// The bundled GEMM with one named micro-kernel ("avx512", "avx2", "generic"); false when that
// kernel is not compiled in or the CPU lacks its instructions. For tests and the bench.
bool bundled_sgemm(const std::string& kernel, bool trans_a, bool trans_b, int64_t m, int64_t n,
                   int64_t k, float alpha, const float* a, int64_t lda, const float* b,
                   int64_t ldb, float beta, float* c, int64_t ldc);
// The bundled GEMM as sgemm runs it without a system BLAS (its micro-kernel chosen per shape).
void bundled_auto_sgemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha,
                        const float* a, int64_t lda, const float* b, int64_t ldb, float beta,
                        float* c, int64_t ldc);
// The system BLAS's cblas_sgemm itself; false when none was loaded.
bool system_sgemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha,
                  const float* a, int64_t lda, const float* b, int64_t ldb, float beta, float* c,
                  int64_t ldc);

// Chooses the GEMM once, from CXR_GEMM: "auto" (default; the system BLAS when it loads),
// "openblas" (the system BLAS or an error) or "bundled". Returns "" or the error.
std::string init_gemm();
// What runs: "openblas" / "accelerate" / "bundled".
const char* gemm_kind();
// Whether every product runs on OpenBLAS with AVX-512 kernels (SkylakeX and later cores): the direct
// convolution kernels then leave it the shapes where it measured faster.
bool system_blas_avx512();
// One line for people: e.g. "OpenBLAS 0.3.21 ... (libopenblas.so.0)" or "bundled SGEMM (avx512
// micro-kernel 12x32; libopenblas.so.0 not found)".
std::string gemm_description();
// The bundled kernels this CPU can run, best first (comma-separated).
std::string bundled_kernels();
// Threads of the system BLAS (0 without one); sets them when n > 0.
int system_blas_threads();
void set_system_blas_threads(int n);

}  // namespace cxr
