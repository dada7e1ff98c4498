// Shared between gemm.cc (the bundled GEMM) and blas.cc (the dispatch).
#pragma once
#include <string>

namespace cxr {
// The best micro-kernel this CPU runs: "avx512", "avx2" or "generic".
const char* best_bundled_kernel();
// Its register tile, e.g. "12x32"; "" for a kernel this CPU cannot run.
std::string bundled_kernel_shape(const std::string& name);
}  // namespace cxr
