// Float32 NHWC kernels behind the N-API addon. Every pointer is a caller-owned buffer
// (a Float32Array's storage); outputs are fully overwritten, never accumulated into.
#pragma once
#include <cstdint>
#include <vector>

namespace cxr {

struct BnEval;  // below

// Geometry of a 2-D convolution or pooling window, as tfjs's computeConv2DInfo gives it.
struct ConvGeom {
  int n, h, w, c;     // input batch, height, width, channels
  int oh, ow, k;      // output height, width, channels (k = c for pooling)
  int fh, fw;         // filter size
  int sh, sw;         // strides
  int dh, dw;         // dilations
  int pt, pl;         // padding top / left
};

void conv2d(const float* x, const float* w, float* y, const ConvGeom& g);
void conv2d_backprop_input(const float* dy, const float* w, float* dx, const ConvGeom& g);
void conv2d_backprop_filter(const float* x, const float* dy, float* dw, const ConvGeom& g);
// The direct forward convolution for narrow outputs (conv_direct.cc), which conv2d uses where it
// applies; set_conv_direct(0) turns it off (tests, A/B), 1 on where it applies and measured faster
// (the default), 2 on wherever it applies (tests); returns the previous mode.
bool conv2d_direct_applies(const ConvGeom& g);
void conv2d_direct(const float* x, const float* w, float* y, const ConvGeom& g,
                   const BnEval* epilogue = nullptr);
int set_conv_direct(int mode);
// The input gradient without the column matrix for stride-1 convolutions with c = 16..64 input
// and k <= 64 output channels (conv_direct.cc), bit for bit im2col's NT GEMM + col2im;
// conv2d_backprop_input uses it where it applies (and set_conv_direct allows).
bool conv2d_backprop_input_direct_applies(const ConvGeom& g);
void conv2d_backprop_input_direct(const float* dy, const float* w, float* dx, const ConvGeom& g);
// The filter gradient without the column matrix for 16..64 output channels (conv_direct.cc), bit
// for bit the TN GEMM as OpenBLAS 0.3.21 SkylakeX sums it; conv2d_backprop_filter uses it where it
// applies (and set_conv_direct allows).
bool conv2d_backprop_filter_direct_applies(const ConvGeom& g);
void conv2d_backprop_filter_direct(const float* x, const float* dy, float* dw, const ConvGeom& g);
// Its vector width on this CPU: 16 (AVX-512F), 8 (AVX2 + FMA) or 0 (not available).
int conv_direct_lanes();

// type 0 = max, 1 = avg (average over the window's in-bounds pixels, as tfjs does).
void pool2d(const float* x, float* y, const ConvGeom& g, int type);
void max_pool_grad(const float* dy, const float* x, float* dx, const ConvGeom& g);
void avg_pool_grad(const float* dy, float* dx, const ConvGeom& g);

// C[b] = op(A[b]) * op(B[b]); a batch of 1 on either side broadcasts.
void matmul(const float* a, const float* b, float* c, int64_t batch_a, int64_t batch_b, int m,
            int n, int k, bool trans_a, bool trans_b);
// y[i, j] = act(y[i, j] + bias[j % bias_len]); act 0 = linear, 1 = relu.
void bias_act(float* y, const float* bias, int64_t rows, int cols, int bias_len, int act);

// Training-mode batch norm over all axes but the last: x is [m, c]; relu applies max(0, .)
// to y. The backward pass takes that y (ignored without relu) to mask dy.
void bn_forward(const float* x, const float* gamma, const float* beta, float* y, float* mean,
                float* var, int64_t m, int c, float eps, bool relu);
void bn_backward(const float* dy, const float* x, const float* y, const float* gamma,
                 const float* mean, const float* var, const float* dmean, const float* dvar,
                 float* dx, float* dgamma, float* dbeta, int64_t m, int c, float eps, bool relu);
// Inference-mode batch norm; each parameter has length 1 or c.
void bn_inference(const float* x, const float* mean, const float* var, const float* scale,
                  const float* offset, float* y, int64_t size, int c, int len_mean,
                  int len_var, int len_scale, int len_offset, float eps);
// The same, then y + residual (when residual is not null) and relu (when relu), in one pass.
void bn_inference_act(const float* x, const float* mean, const float* var, const float* scale,
                      const float* offset, float* y, int64_t size, int c, int len_mean,
                      int len_var, int len_scale, int len_offset, float eps,
                      const float* residual, bool relu);

// bn_inference_act split in two, so that a convolution can run it on rows it has just written
// (conv2d_bn_act): the per-channel coefficients, then rows [b, e) of c values, x into y.
struct BnEval {
  int c = 0;
  std::vector<float> mu, sc, off;
  const float* residual = nullptr;
  bool relu = false;
};
BnEval bn_eval_coefs(const float* mean, const float* var, const float* scale, const float* offset,
                     int c, int len_mean, int len_var, int len_scale, int len_offset, float eps,
                     const float* residual, bool relu);
void bn_eval_rows(const BnEval& p, const float* x, float* y, int64_t b, int64_t e);
// conv2d, then bn_eval_rows on its output: where the direct convolution applies, each thread
// normalises the rows it has just written while they are in cache; else one pass after the GEMM.
// Bit for bit conv2d followed by bn_inference_act.
void conv2d_bn_act(const float* x, const float* w, float* y, const ConvGeom& g, const BnEval& p);

// The Barlow Twins views of src/data/augment.ts's renderView, bit for bit (augment.cc): data
// [n, h, w] in, out [n, s, s]. Per image, ints holds kViewInts values (crop top, left, height, width
// in pixels; flip; contrast first; blurred; solarised) and reals kViewReals (the crop as tfjs's
// normalised box y1, x1, y2, x2; brightness and contrast factors, all float32 as the JavaScript
// rounds them); kernels (null when no image is blurred) n rows of 2 * radius + 1 Gaussian taps.
enum ViewFilter { kViewTfBilinear = 0, kViewPilBicubic = 1, kViewPilBilinear = 2 };
constexpr int kViewInts = 8;
constexpr int kViewReals = 6;
struct ViewGeom {
  int n, h, w, s, filter, radius;
};
void render_views(const float* data, float* out, const ViewGeom& g, const int32_t* ints,
                  const float* reals, const float* kernels);

// kReluGrad: a = dy, b = relu's input; equals tfjs's dy * step(x). kAddRelu: relu(a + b),
// the residual connection's add and relu in one pass.
enum BinaryOp { kAdd, kSub, kMul, kDiv, kMax, kMin, kSquaredDiff, kReluGrad, kAddRelu };
// mode 0: same shape; 1: b[i % inner]; 2: a[i % inner]; 3: b[i / inner]; 4: a[i / inner].
void binary(int op, const float* a, const float* b, float* out, int64_t size, int mode,
            int64_t inner);

// Any broadcast: out has `shape`; sa/sb are a's and b's strides per output axis (0 where
// the operand is broadcast).
void binary_strided(int op, const float* a, const float* b, float* out, int rank,
                    const int64_t* shape, const int64_t* sa, const int64_t* sb);

enum UnaryOp { kRelu, kNeg, kSquare, kSqrt, kRsqrt, kExp, kLog, kStep, kAbs, kSigmoid, kRelu6 };
void unary(int op, const float* x, float* out, int64_t size, float alpha);

// out[o, i] = sum_r x[o, r, i].
void reduce_sum(const float* x, float* out, int64_t outer, int64_t r, int64_t inner);

// One LARS step (src/models/lars.ts, Barlow Twins' main.py) in tfjs's float operations: unless
// bias_like, d = (grad + value * wd) * q with q = eta·‖value‖ / ‖grad + value·wd‖ (1 when either
// norm is 0), else d = grad; mu' = mu * momentum + d; value' = value - mu' * lr. The outputs may
// alias value and mu.
void lars_update(const float* value, const float* mu, const float* grad, float* out_value,
                 float* out_mu, int64_t size, float lr, float weight_decay, float eta,
                 float momentum, bool bias_like);

// SGD with momentum (tfjs's MomentumOptimizer, no Nesterov), in the same float operations
// and order: acc' = momentum * acc + grad; value' = (-lr) * acc' + value. The outputs may
// alias value and acc.
void momentum_update(const float* value, const float* acc, const float* grad, float* out_value,
                     float* out_acc, int64_t size, float lr, float momentum);

// The float32 value of tf.sum(tf.square(x)) on this backend (Square, then Sum's in-order double
// accumulation, rounded to float32), without the squares' buffer.
double sum_squares(const float* x, int64_t size);

// momentum_update on grad' = (scaled ? grad * scale : grad) + value * weight_decay, each op rounded to
// float32 as the tensor ops tf.mul(g, scale), tf.add(g, tf.mul(value, wd)) round. The outputs may
// alias value and acc.
void momentum_update_decay(const float* value, const float* acc, const float* grad, float* out_value,
                           float* out_acc, int64_t size, float lr, float momentum, float scale,
                           float weight_decay, bool scaled);

// Permutes a tensor of rank <= 6; shape and perm describe the input.
void transpose(const float* x, float* out, int rank, const int64_t* shape, const int* perm);

// RoIAlign over a sampling plan (cells = RoIs x bins): start has cells + 1 offsets into pos
// (feature-vector index (b * H + y) * W + x) and weight. out is [cells, channels]; dx is the
// feature gradient, dx_size floats.
void roi_gather(const int32_t* start, const int32_t* pos, const float* weight, const float* x,
                float* out, int64_t cells, int64_t channels);
void roi_scatter(const int32_t* start, const int32_t* pos, const float* weight, const float* dy,
                 float* dx, int64_t dx_size, int64_t cells, int64_t channels);

}  // namespace cxr
