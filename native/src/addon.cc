// N-API glue: unpacks Float32Arrays (zero-copy) and integers, then calls the kernels.
// Argument checking lives in the TypeScript wrappers; here a wrong type throws a TypeError.
#include <node_api.h>

#include <cstdint>
#include <string>

#include "gemm.h"
#include "kernels.h"
#include "parallel.h"

namespace {

// Every call runs its kernel with denormals flushed (see parallel.h); the JavaScript on this
// thread keeps IEEE behaviour outside it.
struct Args {
  cxr::ScopedFlushDenormal flush;
  napi_env env;
  napi_value argv[16];
  size_t argc = 16;
  bool ok = true;

  Args(napi_env e, napi_callback_info info) : env(e) {
    napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  }

  void fail(const char* what, size_t i) {
    if (!ok) return;
    ok = false;
    napi_throw_type_error(env, nullptr, (std::string(what) + " expected at argument " +
                                         std::to_string(i)).c_str());
  }

  // A Float32Array, or nullptr when the argument is null/undefined and nullable; its length
  // goes to *length when given (0 for null).
  float* f32(size_t i, bool nullable = false, size_t* length = nullptr) {
    if (length) *length = 0;
    if (!ok) return nullptr;
    if (i >= argc) { fail("Float32Array", i); return nullptr; }
    napi_valuetype t;
    napi_typeof(env, argv[i], &t);
    if (nullable && (t == napi_null || t == napi_undefined)) return nullptr;
    bool is_ta = false;
    napi_is_typedarray(env, argv[i], &is_ta);
    if (!is_ta) { fail("Float32Array", i); return nullptr; }
    napi_typedarray_type type;
    size_t len;
    void* data;
    napi_value ab;
    size_t off;
    napi_get_typedarray_info(env, argv[i], &type, &len, &data, &ab, &off);
    if (type != napi_float32_array) { fail("Float32Array", i); return nullptr; }
    if (length) *length = len;
    return static_cast<float*>(data);
  }

  int64_t i64(size_t i) {
    if (!ok) return 0;
    int64_t v = 0;
    if (i >= argc || napi_get_value_int64(env, argv[i], &v) != napi_ok) fail("integer", i);
    return v;
  }

  double f64(size_t i) {
    if (!ok) return 0;
    double v = 0;
    if (i >= argc || napi_get_value_double(env, argv[i], &v) != napi_ok) fail("number", i);
    return v;
  }

  // An Int32Array's storage and length (nullptr after a failure; `want` is the message).
  int32_t* i32(size_t i, size_t* length = nullptr, const char* want = "Int32Array") {
    if (!ok) return nullptr;
    bool is_ta = false;
    if (i < argc) napi_is_typedarray(env, argv[i], &is_ta);
    if (!is_ta) { fail(want, i); return nullptr; }
    napi_typedarray_type type;
    size_t len;
    void* data;
    napi_value ab;
    size_t off;
    napi_get_typedarray_info(env, argv[i], &type, &len, &data, &ab, &off);
    if (type != napi_int32_array) { fail(want, i); return nullptr; }
    if (length) *length = len;
    return static_cast<int32_t*>(data);
  }

  // Conv/pool geometry from an Int32Array of 15 fields in ConvGeom order.
  cxr::ConvGeom geom(size_t i) {
    cxr::ConvGeom g{};
    size_t len = 0;
    const int32_t* p = i32(i, &len, "Int32Array(15)");
    if (!p) return g;
    if (len != 15) { fail("Int32Array(15)", i); return g; }
    g = cxr::ConvGeom{p[0], p[1], p[2],  p[3],  p[4],  p[5],  p[6], p[7],
                      p[8], p[9], p[10], p[11], p[12], p[13], p[14]};
    return g;
  }
};

napi_value Undefined(napi_env env) {
  napi_value u;
  napi_get_undefined(env, &u);
  return u;
}

// The convolution gradients and max-pool's gradient share conv2d's shape:
// (in0, in1, out, geometry) from (Float32Array, Float32Array, Float32Array, Int32Array(15)).
using GeomKernel = void (*)(const float*, const float*, float*, const cxr::ConvGeom&);

template <GeomKernel kernel>
napi_value GeomCall(napi_env env, napi_callback_info info) {
  Args a(env, info);
  auto in0 = a.f32(0); auto in1 = a.f32(1); auto out = a.f32(2); auto g = a.geom(3);
  if (a.ok) kernel(in0, in1, out, g);
  return Undefined(env);
}

napi_value Pool2d(napi_env env, napi_callback_info info) {
  Args a(env, info);
  auto x = a.f32(0); auto y = a.f32(1); auto g = a.geom(2); auto type = a.i64(3);
  if (a.ok) cxr::pool2d(x, y, g, static_cast<int>(type));
  return Undefined(env);
}

napi_value AvgPoolGrad(napi_env env, napi_callback_info info) {
  Args a(env, info);
  auto dy = a.f32(0); auto dx = a.f32(1); auto g = a.geom(2);
  if (a.ok) cxr::avg_pool_grad(dy, dx, g);
  return Undefined(env);
}

// matmul(a, b, c, batchA, batchB, m, n, k, transA, transB)
napi_value Matmul(napi_env env, napi_callback_info info) {
  Args a(env, info);
  auto pa = a.f32(0); auto pb = a.f32(1); auto pc = a.f32(2);
  auto ba = a.i64(3); auto bb = a.i64(4); auto m = a.i64(5); auto n = a.i64(6); auto k = a.i64(7);
  auto ta = a.i64(8); auto tb = a.i64(9);
  if (a.ok)
    cxr::matmul(pa, pb, pc, ba, bb, static_cast<int>(m), static_cast<int>(n), static_cast<int>(k),
                ta != 0, tb != 0);
  return Undefined(env);
}

// biasAct(y, bias | null, rows, cols, biasLen, act)
napi_value BiasAct(napi_env env, napi_callback_info info) {
  Args a(env, info);
  auto y = a.f32(0); auto bias = a.f32(1, true);
  auto rows = a.i64(2); auto cols = a.i64(3); auto blen = a.i64(4); auto act = a.i64(5);
  if (a.ok) cxr::bias_act(y, bias, rows, static_cast<int>(cols), static_cast<int>(blen),
                          static_cast<int>(act));
  return Undefined(env);
}

// bnForward(x, gamma, beta, y, mean, var, m, c, eps, relu)
napi_value BnForward(napi_env env, napi_callback_info info) {
  Args a(env, info);
  auto x = a.f32(0); auto gamma = a.f32(1); auto beta = a.f32(2); auto y = a.f32(3);
  auto mean = a.f32(4); auto var = a.f32(5); auto m = a.i64(6); auto c = a.i64(7);
  auto eps = a.f64(8); auto relu = a.i64(9);
  if (a.ok) cxr::bn_forward(x, gamma, beta, y, mean, var, m, static_cast<int>(c),
                            static_cast<float>(eps), relu != 0);
  return Undefined(env);
}

// bnBackward(dy, x, y, gamma, mean, var, dmean, dvar, dx, dgamma, dbeta, m, c, eps, relu)
napi_value BnBackward(napi_env env, napi_callback_info info) {
  Args a(env, info);
  auto dy = a.f32(0); auto x = a.f32(1); auto y = a.f32(2); auto gamma = a.f32(3);
  auto mean = a.f32(4); auto var = a.f32(5); auto dmean = a.f32(6); auto dvar = a.f32(7);
  auto dx = a.f32(8); auto dgamma = a.f32(9); auto dbeta = a.f32(10); auto m = a.i64(11);
  auto c = a.i64(12); auto eps = a.f64(13); auto relu = a.i64(14);
  if (a.ok) cxr::bn_backward(dy, x, y, gamma, mean, var, dmean, dvar, dx, dgamma, dbeta, m,
                             static_cast<int>(c), static_cast<float>(eps), relu != 0);
  return Undefined(env);
}

// bnInference(x, mean, var, scale | null, offset | null, y, c, eps)
// bnInferenceAct(x, mean, var, scale | null, offset | null, y, c, eps, residual | null, relu)
napi_value BnInferenceImpl(napi_env env, napi_callback_info info, bool act) {
  Args a(env, info);
  size_t lens[5];
  const float* ptrs[5];
  for (size_t i = 0; i < 5; ++i) ptrs[i] = a.f32(i, i >= 3, &lens[i]);
  auto y = a.f32(5); auto c = a.i64(6); auto eps = a.f64(7);
  const float* residual = act ? a.f32(8, true) : nullptr;
  const bool relu = act ? a.i64(9) != 0 : false;
  if (a.ok)
    cxr::bn_inference_act(ptrs[0], ptrs[1], ptrs[2], ptrs[3], ptrs[4], y,
                          static_cast<int64_t>(lens[0]), static_cast<int>(c),
                          static_cast<int>(lens[1]), static_cast<int>(lens[2]),
                          static_cast<int>(lens[3]), static_cast<int>(lens[4]),
                          static_cast<float>(eps), residual, relu);
  return Undefined(env);
}
// conv2dBnAct(x, w, y, geometry, mean, var, scale | null, offset | null, eps, residual | null, relu):
// y = relu?(bnInference(conv2d(x, w)) + residual?), as conv2d then bnInferenceAct.
napi_value Conv2dBnAct(napi_env env, napi_callback_info info) {
  Args a(env, info);
  auto x = a.f32(0); auto w = a.f32(1); auto y = a.f32(2); auto g = a.geom(3);
  size_t lens[4];
  const float* ptrs[4];
  for (size_t i = 0; i < 4; ++i) ptrs[i] = a.f32(4 + i, i >= 2, &lens[i]);
  auto eps = a.f64(8);
  const float* residual = a.f32(9, true);
  const bool relu = a.i64(10) != 0;
  if (a.ok) {
    const cxr::BnEval p = cxr::bn_eval_coefs(
        ptrs[0], ptrs[1], ptrs[2], ptrs[3], g.k, static_cast<int>(lens[0]),
        static_cast<int>(lens[1]), static_cast<int>(lens[2]), static_cast<int>(lens[3]),
        static_cast<float>(eps), residual, relu);
    cxr::conv2d_bn_act(x, w, y, g, p);
  }
  return Undefined(env);
}

napi_value BnInference(napi_env env, napi_callback_info info) {
  return BnInferenceImpl(env, info, false);
}
napi_value BnInferenceAct(napi_env env, napi_callback_info info) {
  return BnInferenceImpl(env, info, true);
}

// binary(op, a, b, out, mode, inner); the size is out's length.
napi_value Binary(napi_env env, napi_callback_info info) {
  Args a(env, info);
  size_t len = 0;
  auto op = a.i64(0); auto pa = a.f32(1); auto pb = a.f32(2); auto out = a.f32(3, false, &len);
  auto mode = a.i64(4); auto inner = a.i64(5);
  if (a.ok) {
    cxr::binary(static_cast<int>(op), pa, pb, out, static_cast<int64_t>(len),
                static_cast<int>(mode), inner);
  }
  return Undefined(env);
}

bool int64_list(napi_env env, napi_value arr, int64_t* out, uint32_t max, uint32_t* len) {
  bool is_array = false;
  napi_is_array(env, arr, &is_array);
  if (!is_array) return false;
  napi_get_array_length(env, arr, len);
  if (*len == 0 || *len > max) return false;
  for (uint32_t i = 0; i < *len; ++i) {
    napi_value v;
    napi_get_element(env, arr, i, &v);
    if (napi_get_value_int64(env, v, &out[i]) != napi_ok) return false;
  }
  return true;
}

// binaryStrided(op, a, b, out, shape, aStrides, bStrides)
napi_value BinaryStrided(napi_env env, napi_callback_info info) {
  Args a(env, info);
  auto op = a.i64(0); auto pa = a.f32(1); auto pb = a.f32(2); auto out = a.f32(3);
  int64_t shape[8], sa[8], sb[8];
  uint32_t r0 = 0, r1 = 0, r2 = 0;
  if (a.ok && (a.argc < 7 || !int64_list(env, a.argv[4], shape, 8, &r0) ||
               !int64_list(env, a.argv[5], sa, 8, &r1) || !int64_list(env, a.argv[6], sb, 8, &r2) ||
               r0 != r1 || r0 != r2))
    a.fail("shape and strides of equal rank 1..8", 4);
  if (a.ok) cxr::binary_strided(static_cast<int>(op), pa, pb, out, static_cast<int>(r0), shape, sa, sb);
  return Undefined(env);
}

// unary(op, x, out, alpha)
napi_value Unary(napi_env env, napi_callback_info info) {
  Args a(env, info);
  size_t len = 0;
  auto op = a.i64(0); auto x = a.f32(1); auto out = a.f32(2, false, &len); auto alpha = a.f64(3);
  if (a.ok) {
    cxr::unary(static_cast<int>(op), x, out, static_cast<int64_t>(len), static_cast<float>(alpha));
  }
  return Undefined(env);
}

// reduceSum(x, out, outer, r, inner)
napi_value ReduceSum(napi_env env, napi_callback_info info) {
  Args a(env, info);
  auto x = a.f32(0); auto out = a.f32(1); auto outer = a.i64(2); auto r = a.i64(3);
  auto inner = a.i64(4);
  if (a.ok) cxr::reduce_sum(x, out, outer, r, inner);
  return Undefined(env);
}

// momentumUpdate(value, acc, grad, outValue, outAcc, lr, momentum); the size is grad's length.
napi_value MomentumUpdate(napi_env env, napi_callback_info info) {
  Args a(env, info);
  size_t len = 0;
  auto value = a.f32(0); auto acc = a.f32(1); auto grad = a.f32(2, false, &len); auto ov = a.f32(3);
  auto oa = a.f32(4); auto lr = a.f64(5); auto momentum = a.f64(6);
  if (a.ok) {
    cxr::momentum_update(value, acc, grad, ov, oa, static_cast<int64_t>(len),
                         static_cast<float>(lr), static_cast<float>(momentum));
  }
  return Undefined(env);
}

// sumSquares(x) -> number: the float32 tf.sum(tf.square(x)) of this backend.
napi_value SumSquares(napi_env env, napi_callback_info info) {
  Args a(env, info);
  size_t len = 0;
  auto x = a.f32(0, false, &len);
  double r = 0;
  if (a.ok) r = cxr::sum_squares(x, static_cast<int64_t>(len));
  napi_value out;
  napi_create_double(env, r, &out);
  return out;
}

// momentumUpdateDecay(value, acc, grad, outValue, outAcc, lr, momentum, scale, weightDecay, scaled);
// the size is grad's length.
napi_value MomentumUpdateDecay(napi_env env, napi_callback_info info) {
  Args a(env, info);
  size_t len = 0;
  auto value = a.f32(0); auto acc = a.f32(1); auto grad = a.f32(2, false, &len); auto ov = a.f32(3);
  auto oa = a.f32(4); auto lr = a.f64(5); auto momentum = a.f64(6); auto scale = a.f64(7);
  auto wd = a.f64(8); auto scaled = a.i64(9);
  if (a.ok) {
    cxr::momentum_update_decay(value, acc, grad, ov, oa, static_cast<int64_t>(len),
                               static_cast<float>(lr), static_cast<float>(momentum),
                               static_cast<float>(scale), static_cast<float>(wd), scaled != 0);
  }
  return Undefined(env);
}

// larsUpdate(value, mu, grad, outValue, outMu, lr, weightDecay, eta, momentum, biasLike); the
// size is grad's length.
napi_value LarsUpdate(napi_env env, napi_callback_info info) {
  Args a(env, info);
  size_t len = 0;
  auto value = a.f32(0); auto mu = a.f32(1); auto grad = a.f32(2, false, &len); auto ov = a.f32(3);
  auto om = a.f32(4); auto lr = a.f64(5); auto wd = a.f64(6); auto eta = a.f64(7);
  auto momentum = a.f64(8); auto bias_like = a.i64(9);
  if (a.ok) {
    cxr::lars_update(value, mu, grad, ov, om, static_cast<int64_t>(len), static_cast<float>(lr),
                     static_cast<float>(wd), static_cast<float>(eta), static_cast<float>(momentum),
                     bias_like != 0);
  }
  return Undefined(env);
}

// transpose(x, out, shape: number[], perm: number[])
napi_value Transpose(napi_env env, napi_callback_info info) {
  Args a(env, info);
  auto x = a.f32(0); auto out = a.f32(1);
  int64_t shape[8];
  int perm[8];
  uint32_t rank = 0;
  if (a.ok && a.argc >= 4) {
    napi_get_array_length(env, a.argv[2], &rank);
    if (rank == 0 || rank > 8) a.fail("shape of rank 1..8", 2);
    for (uint32_t i = 0; a.ok && i < rank; ++i) {
      napi_value v;
      int32_t p;
      napi_get_element(env, a.argv[2], i, &v);
      napi_get_value_int64(env, v, &shape[i]);
      napi_get_element(env, a.argv[3], i, &v);
      napi_get_value_int32(env, v, &p);
      perm[i] = p;
    }
  } else {
    a.fail("shape and perm", 2);
  }
  if (a.ok) cxr::transpose(x, out, static_cast<int>(rank), shape, perm);
  return Undefined(env);
}

// roiGather(start, pos, weight, x, out, cells, channels)
napi_value RoiGather(napi_env env, napi_callback_info info) {
  Args a(env, info);
  auto start = a.i32(0); auto pos = a.i32(1); auto weight = a.f32(2); auto x = a.f32(3);
  auto out = a.f32(4); auto cells = a.i64(5); auto channels = a.i64(6);
  if (a.ok) cxr::roi_gather(start, pos, weight, x, out, cells, channels);
  return Undefined(env);
}

// roiScatter(start, pos, weight, dy, dx, cells, channels); dx's length is the feature size.
napi_value RoiScatter(napi_env env, napi_callback_info info) {
  Args a(env, info);
  size_t len = 0;
  auto start = a.i32(0); auto pos = a.i32(1); auto weight = a.f32(2); auto dy = a.f32(3);
  auto dx = a.f32(4, false, &len); auto cells = a.i64(5); auto channels = a.i64(6);
  if (a.ok) cxr::roi_scatter(start, pos, weight, dy, dx, static_cast<int64_t>(len), cells, channels);
  return Undefined(env);
}

// renderViews(data, out, geom Int32Array(6): n, h, w, s, filter, radius, ints, reals, kernels | null)
napi_value RenderViews(napi_env env, napi_callback_info info) {
  Args a(env, info);
  size_t dlen = 0, olen = 0, glen = 0, ilen = 0, rlen = 0, klen = 0;
  auto data = a.f32(0, false, &dlen); auto out = a.f32(1, false, &olen);
  auto gp = a.i32(2, &glen, "Int32Array(6)"); auto ints = a.i32(3, &ilen);
  auto reals = a.f32(4, false, &rlen); auto kernels = a.f32(5, true, &klen);
  if (!a.ok) return Undefined(env);
  if (glen != 6) { a.fail("Int32Array(6)", 2); return Undefined(env); }
  const cxr::ViewGeom g{gp[0], gp[1], gp[2], gp[3], gp[4], gp[5]};
  const size_t n = g.n > 0 ? g.n : 0;
  // Sizes are checked here as well as in TypeScript: a short array would be read past its end.
  if (g.n < 0 || g.h < 1 || g.w < 1 || g.s < 1 || g.radius < 0 || g.filter < 0 || g.filter > 2 ||
      dlen < n * g.h * g.w || olen < n * g.s * g.s || ilen < n * cxr::kViewInts ||
      rlen < n * cxr::kViewReals || (kernels && klen < n * (2 * g.radius + 1))) {
    napi_throw_range_error(env, nullptr, "renderViews: array sizes do not match the geometry");
    return Undefined(env);
  }
  cxr::render_views(data, out, g, ints, reals, kernels);
  return Undefined(env);
}

napi_value SetNumThreads(napi_env env, napi_callback_info info) {
  Args a(env, info);
  auto n = a.i64(0);
  if (a.ok && n > 0) {
    cxr::set_num_threads(static_cast<int>(n));
    cxr::set_system_blas_threads(static_cast<int>(n));
  }
  return Undefined(env);
}

// setConvDirect(mode) -> the previous mode: 0 no direct kernels, 1 where they apply and measured
// faster (default), 2 wherever they apply.
napi_value SetConvDirect(napi_env env, napi_callback_info info) {
  Args a(env, info);
  auto mode = a.i64(0);
  napi_value v;
  napi_create_int32(env, a.ok ? cxr::set_conv_direct(static_cast<int>(mode)) : 0, &v);
  return v;
}

napi_value Info(napi_env env, napi_callback_info) {
  napi_value obj, v;
  napi_create_object(env, &obj);
  auto str = [&](const char* name, const std::string& value) {
    napi_create_string_utf8(env, value.c_str(), NAPI_AUTO_LENGTH, &v);
    napi_set_named_property(env, obj, name, v);
  };
  str("blas", cxr::gemm_description());
  str("gemm", cxr::gemm_kind());
  str("bundledKernels", cxr::bundled_kernels());
  napi_create_int32(env, cxr::system_blas_threads(), &v);
  napi_set_named_property(env, obj, "blasThreads", v);
  napi_create_int32(env, cxr::num_threads(), &v);
  napi_set_named_property(env, obj, "threads", v);
  napi_create_int32(env, cxr::conv_direct_lanes(), &v);
  napi_set_named_property(env, obj, "directConvLanes", v);
  return obj;
}

// sgemm(which, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc) -> boolean: one
// GEMM by a named implementation ("auto": the one in use; "system": the loaded BLAS; "bundled":
// the bundled GEMM as it runs without a BLAS; a bundled micro-kernel's name), false when that one is not available here. For tests and the bench.
napi_value Sgemm(napi_env env, napi_callback_info info) {
  Args a(env, info);
  char which[32] = {0};
  size_t len = 0;
  if (a.argc < 14 ||
      napi_get_value_string_utf8(env, a.argv[0], which, sizeof which, &len) != napi_ok)
    a.fail("string", 0);
  auto ta = a.i64(1); auto tb = a.i64(2);
  auto m = a.i64(3); auto n = a.i64(4); auto k = a.i64(5); auto alpha = a.f64(6);
  auto pa = a.f32(7); auto lda = a.i64(8); auto pb = a.f32(9); auto ldb = a.i64(10);
  auto beta = a.f64(11); auto pc = a.f32(12); auto ldc = a.i64(13);
  bool done = false;
  if (a.ok) {
    const std::string w(which);
    const float fa = static_cast<float>(alpha), fb = static_cast<float>(beta);
    if (w == "auto") {
      cxr::sgemm(ta != 0, tb != 0, m, n, k, fa, pa, lda, pb, ldb, fb, pc, ldc);
      done = true;
    } else if (w == "bundled") {
      cxr::bundled_auto_sgemm(ta != 0, tb != 0, m, n, k, fa, pa, lda, pb, ldb, fb, pc, ldc);
      done = true;
    } else if (w == "system") {
      done = cxr::system_sgemm(ta != 0, tb != 0, m, n, k, fa, pa, lda, pb, ldb, fb, pc, ldc);
    } else {
      done = cxr::bundled_sgemm(w, ta != 0, tb != 0, m, n, k, fa, pa, lda, pb, ldb, fb, pc, ldc);
    }
  }
  napi_value r;
  napi_get_boolean(env, done, &r);
  return r;
}

napi_value Init(napi_env env, napi_value exports) {
  // Chooses the GEMM (system BLAS or bundled; CXR_GEMM) once; a CXR_GEMM that cannot be
  // honoured makes the load fail with the reason rather than run something else.
  const std::string err = cxr::init_gemm();
  if (!err.empty()) {
    napi_throw_error(env, nullptr, err.c_str());
    return nullptr;
  }
  struct { const char* name; napi_callback fn; } fns[] = {
      {"conv2d", GeomCall<cxr::conv2d>},
      {"conv2dBackpropInput", GeomCall<cxr::conv2d_backprop_input>},
      {"conv2dBackpropFilter", GeomCall<cxr::conv2d_backprop_filter>},
      {"pool2d", Pool2d},
      {"maxPoolGrad", GeomCall<cxr::max_pool_grad>},
      {"avgPoolGrad", AvgPoolGrad},
      {"matmul", Matmul},
      {"biasAct", BiasAct},
      {"bnForward", BnForward},
      {"bnBackward", BnBackward},
      {"bnInference", BnInference},
      {"bnInferenceAct", BnInferenceAct},
      {"conv2dBnAct", Conv2dBnAct},
      {"binary", Binary},
      {"binaryStrided", BinaryStrided},
      {"unary", Unary},
      {"reduceSum", ReduceSum},
      {"transpose", Transpose},
      {"roiGather", RoiGather},
      {"roiScatter", RoiScatter},
      {"momentumUpdate", MomentumUpdate},
      {"momentumUpdateDecay", MomentumUpdateDecay},
      {"sumSquares", SumSquares},
      {"larsUpdate", LarsUpdate},
      {"renderViews", RenderViews},
      {"setNumThreads", SetNumThreads},
      {"setConvDirect", SetConvDirect},
      {"info", Info},
      {"sgemm", Sgemm},
  };
  for (auto& f : fns) {
    napi_value v;
    napi_create_function(env, f.name, NAPI_AUTO_LENGTH, f.fn, nullptr, &v);
    napi_set_named_property(env, exports, f.name, v);
  }
  return exports;
}

}  // namespace

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
