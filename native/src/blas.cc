// Which GEMM runs: the system's BLAS (OpenBLAS; Accelerate on macOS), opened with dlopen when
// the addon loads, so the addon links no BLAS and builds without one; else the bundled GEMM
// (gemm.cc). CXR_GEMM chooses: "auto" (default), "openblas" (the system BLAS, or the addon
// refuses to load), "bundled" (the best bundled micro-kernel) or "bundled:<kernel>".
#include <dlfcn.h>

#include <cctype>
#include <climits>
#include <cstdlib>
#include <string>

#include "gemm.h"
#include "gemm_bundled.h"
#include "parallel.h"

namespace cxr {
namespace {

// cblas_sgemm with its enums as ints (CblasRowMajor = 101, CblasNoTrans = 111, CblasTrans = 112).
using CblasSgemm = void (*)(int, int, int, int, int, int, float, const float*, int, const float*,
                            int, float, float*, int);

struct SystemBlas {
  CblasSgemm sgemm = nullptr;
  void (*set_threads)(int) = nullptr;
  int (*get_threads)() = nullptr;
  char* (*config)() = nullptr;
  char* (*corename)() = nullptr;
  std::string kind;  // "openblas" or "accelerate"
  std::string file;
};

SystemBlas g_blas;
std::string g_kind = "bundled";
std::string g_kernel;     // the bundled micro-kernel in use
std::string g_why_not;    // why the system BLAS is not used
bool g_auto_kernel = true;  // false when CXR_GEMM named the kernel
// CXR_GEMM=auto where OpenBLAS runs kernels without AVX-512 on a CPU that has it (an
// OPENBLAS_CORETYPE=Haswell in the environment, which the loader leaves as the user set it): the
// NN and NT products go to the bundled AVX-512 kernel, the TN ones stay with OpenBLAS. Measured
// on such a machine (AMD EPYC, OpenBLAS 0.3.21 Haswell core, `npm run bench -- --only gemm`):
// bundled/OpenBLAS 1.39x (1024^3 NN), 1.40x (ResNet-50's 1x1 at 14 px), 2.52x (3x3 input
// gradient, NT), 0.79x (3x3 filter gradient, TN); a ResNet-50 step at 224 px 1.65 -> 1.33 s.
bool g_split = false;
std::string g_split_core;
bool g_wide_core = false;  // OpenBLAS reports a core with AVX-512 kernels
bool g_has_avx2 = false;
const std::string kAvx2 = "avx2";

template <typename F>
F sym(void* lib, const char* name) {
  return reinterpret_cast<F>(dlsym(lib, name));
}

// Opens the first library of the list that exports cblas_sgemm; "" or why none did.
std::string open_system_blas() {
  const char* forced = std::getenv("CXR_BLAS_LIB");
#if defined(__APPLE__)
  const char* defaults[] = {"/System/Library/Frameworks/Accelerate.framework/Accelerate",
                            "libopenblas.dylib", "libopenblas.0.dylib"};
#else
  const char* defaults[] = {"libopenblas.so.0", "libopenblas.so"};
#endif
  std::string tried;
  auto attempt = [&](const char* file) -> bool {
    void* lib = dlopen(file, RTLD_NOW | RTLD_LOCAL);
    tried += (tried.empty() ? "" : ", ") + std::string(file);
    if (!lib) return false;
    auto sgemm = sym<CblasSgemm>(lib, "cblas_sgemm");
    if (!sgemm) {
      dlclose(lib);
      return false;
    }
    g_blas.sgemm = sgemm;
    g_blas.file = file;
    g_blas.set_threads = sym<void (*)(int)>(lib, "openblas_set_num_threads");
    g_blas.get_threads = sym<int (*)()>(lib, "openblas_get_num_threads");
    g_blas.config = sym<char* (*)()>(lib, "openblas_get_config");
    g_blas.corename = sym<char* (*)()>(lib, "openblas_get_corename");
    g_blas.kind = g_blas.config ? "openblas" : "accelerate";
    // OpenBLAS (pthread builds) started its workers when it loaded; restart them from a thread
    // with denormals flushed, so that they inherit that mode (see parallel.h).
    auto shutdown = sym<int (*)()>(lib, "blas_thread_shutdown_");
    auto init = sym<int (*)()>(lib, "blas_thread_init");
    if (shutdown && init) {
      ScopedFlushDenormal flush;
      shutdown();
      init();
    }
    return true;
  };
  if (forced && *forced) {
    if (attempt(forced)) return "";
  } else {
    for (const char* f : defaults)
      if (attempt(f)) return "";
  }
  return tried + " not found";
}

int clamp_int(int64_t v) { return v > INT_MAX ? INT_MAX : static_cast<int>(v); }

}  // namespace

std::string init_gemm() {
  const char* env = std::getenv("CXR_GEMM");
  const std::string want = env && *env ? env : "auto";
  g_kernel = best_bundled_kernel();
  g_has_avx2 = !bundled_kernel_shape("avx2").empty();
  if (want.rfind("bundled", 0) == 0) {
    if (want.size() > 8 && want[7] == ':') {
      g_kernel = want.substr(8);
      g_auto_kernel = false;
      if (bundled_kernel_shape(g_kernel).empty())
        return "CXR_GEMM=" + want + ": this CPU or build has no bundled kernel '" + g_kernel +
               "' (it has " + bundled_kernels() + ")";
    } else if (want != "bundled") {
      return "CXR_GEMM=" + want + " is not one of auto, openblas, bundled, bundled:<kernel>";
    }
    g_kind = "bundled";
    g_why_not = "CXR_GEMM=" + want;
    return "";
  }
  if (want != "auto" && want != "openblas")
    return "CXR_GEMM=" + want + " is not one of auto, openblas, bundled, bundled:<kernel>";
  const std::string err = open_system_blas();
  if (err.empty()) {
    g_kind = g_blas.kind;
    if (g_blas.corename) {
      std::string core = g_blas.corename();
      std::string lower = core;
      for (char& ch : lower) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
      // OpenBLAS 0.3.21's cores with AVX-512 kernels.
      g_wide_core = lower == "skylakex" || lower == "cooperlake" || lower == "sapphirerapids";
      if (want == "auto" && g_kernel == "avx512" && !g_wide_core) {
        g_split = true;
        g_split_core = core;
      }
    }
    return "";
  }
  if (want == "openblas") return "CXR_GEMM=openblas, but no BLAS library loaded: " + err;
  g_kind = "bundled";
  g_why_not = err;
  return "";
}

const char* gemm_kind() { return g_kind.c_str(); }

// g_wide_core is set only where OpenBLAS loaded and named its core, and excludes the split.
bool system_blas_avx512() { return g_wide_core; }

std::string gemm_description() {
  if (g_kind != "bundled") {
    std::string what = g_blas.config ? std::string(g_blas.config()) : std::string("Accelerate");
    while (!what.empty() && what.back() == ' ') what.pop_back();
    what += " (" + g_blas.file + ")";
    if (g_split)
      what += "; NN and NT products on the bundled avx512 micro-kernel (OpenBLAS runs its " +
              g_split_core + " kernels on this AVX-512 CPU; CXR_GEMM=openblas keeps them all there)";
    return what;
  }
  return "bundled SGEMM, " + g_kernel + " micro-kernel " + bundled_kernel_shape(g_kernel) + " (" +
         g_why_not + ")";
}

int system_blas_threads() { return g_blas.get_threads ? g_blas.get_threads() : 0; }

void set_system_blas_threads(int n) {
  if (g_blas.set_threads && n > 0) g_blas.set_threads(n);
}

bool system_sgemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha,
                  const float* a, int64_t lda, const float* b, int64_t ldb, float beta, float* c,
                  int64_t ldc) {
  if (!g_blas.sgemm) return false;
  g_blas.sgemm(101, trans_a ? 112 : 111, trans_b ? 112 : 111, clamp_int(m), clamp_int(n),
               clamp_int(k), alpha, a, clamp_int(lda), b, clamp_int(ldb), beta, c, clamp_int(ldc));
  return true;
}

void sgemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha,
           const float* a, int64_t lda, const float* b, int64_t ldb, float beta, float* c,
           int64_t ldc) {
  const bool tn = trans_a && !trans_b;  // the one kind the split leaves on OpenBLAS
  if (g_kind != "bundled" && (!g_split || tn) &&
      system_sgemm(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc))
    return;
  bundled_auto_sgemm(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

void bundled_auto_sgemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha,
                        const float* a, int64_t lda, const float* b, int64_t ldb, float beta,
                        float* c, int64_t ldc) {
  // A product at most 16 wide fills only half of the AVX-512 kernel's 32 columns: the AVX2
  // kernel (16 columns, at half the width per instruction) does it as fast with half the
  // padding rows (the demo's width-16 network has many such convolutions).
  const std::string& kernel = n <= 16 && g_auto_kernel && g_kernel == "avx512" && g_has_avx2 ? kAvx2 : g_kernel;
  bundled_sgemm(kernel, trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

}  // namespace cxr
