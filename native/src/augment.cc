// The Barlow Twins views of src/data/augment.ts's `renderView`, image by image on the thread pool.
// Every operation is the JavaScript's, in its order and at its precision: JavaScript computes in
// double and rounds to float32 where it stores into a Float32Array or calls Math.fround, and so does
// this file (no fused multiply-add in either build: baseline x86-64 has none and the AVX2 build is
// compiled with -mno-fma; no -ffast-math). Subnormals are kept (ScopedIeeeDenormal), as JavaScript
// keeps them. So the views are the JavaScript's bit for bit (test/data/renderViewNative.test.ts);
// the only inputs that involve a transcendental function (the blur's Gaussian taps, Math.exp) are
// computed in JavaScript and passed in.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "kernels.h"
#include "parallel.h"

namespace cxr {
namespace {

inline double clip01(double v) { return v < 0 ? 0 : v > 1 ? 1 : v; }

// pilResample.ts's filters, with its expressions' association.
double bicubic(double x) {
  const double a = -0.5;
  if (x < 0) x = -x;
  if (x < 1) return ((a + 2) * x - (a + 3)) * x * x + 1;
  if (x < 2) return (((x - 5) * x + 8) * x - 4) * a;
  return 0;
}

double triangle(double x) {
  if (x < 0) x = -x;
  return x < 1 ? 1 - x : 0;
}

// pilResample.ts's `coefficients` (Resample.c's precompute_coeffs) for [0, in) -> out.
struct Axis {
  std::vector<int> first, count;
  std::vector<double> k;
  int ksize = 0;
};

void coefficients(int in, int out, int filter, Axis& a) {
  const bool cubic = filter == kViewPilBicubic;
  const double scale = static_cast<double>(in) / out;
  const double filterscale = scale > 1 ? scale : 1;
  const double support = (cubic ? 2 : 1) * filterscale;
  a.ksize = static_cast<int>(std::ceil(support)) * 2 + 1;
  a.first.assign(out, 0);
  a.count.assign(out, 0);
  a.k.assign(static_cast<size_t>(out) * a.ksize, 0.0);
  const double ss = 1 / filterscale;
  for (int i = 0; i < out; i++) {
    const double center = (i + 0.5) * scale;
    const int xmin = std::max(0.0, std::trunc(center - support + 0.5));
    const int xmax = static_cast<int>(std::min(static_cast<double>(in), std::trunc(center + support + 0.5))) - xmin;
    double ww = 0;
    double* k = &a.k[static_cast<size_t>(i) * a.ksize];
    for (int x = 0; x < xmax; x++) {
      const double arg = (static_cast<double>(x + xmin) - center + 0.5) * ss;
      const double w = cubic ? bicubic(arg) : triangle(arg);
      k[x] = w;
      ww += w;
    }
    if (ww != 0)
      for (int x = 0; x < xmax; x++) k[x] /= ww;
    a.first[i] = xmin;
    a.count[i] = xmax > 0 ? xmax : 0;
  }
}

// pilResizedCrop: horizontal pass into tmp [ch, s], vertical pass into dst [s, s], flipped rows
// when flip.
void pil_crop(const float* src, int width, int top, int left, int ch, int cw, int s, int filter,
              bool flip, float* dst, std::vector<float>& tmp) {
  Axis h, v;
  coefficients(cw, s, filter, h);
  coefficients(ch, s, filter, v);
  tmp.resize(static_cast<size_t>(ch) * s);
  for (int y = 0; y < ch; y++) {
    const float* row = src + static_cast<int64_t>(top + y) * width + left;
    for (int x = 0; x < s; x++) {
      const float* in = row + h.first[x];
      const double* k = &h.k[static_cast<size_t>(x) * h.ksize];
      double acc = 0;
      for (int t = 0; t < h.count[x]; t++) acc += static_cast<double>(in[t]) * k[t];
      tmp[static_cast<size_t>(y) * s + x] = static_cast<float>(clip01(static_cast<float>(acc)));
    }
  }
  // Each output's sum runs over t in order; the loop over x is innermost so that the compiler
  // may vectorise across outputs without reordering any one sum.
  std::vector<double> acc(s);
  for (int y = 0; y < s; y++) {
    const double* k = &v.k[static_cast<size_t>(y) * v.ksize];
    std::fill(acc.begin(), acc.end(), 0.0);
    for (int t = 0; t < v.count[y]; t++) {
      const float* in = &tmp[static_cast<size_t>(v.first[y] + t) * s];
      const double kt = k[t];
      for (int x = 0; x < s; x++) acc[x] += static_cast<double>(in[x]) * kt;
    }
    float* out = dst + static_cast<int64_t>(y) * s;
    for (int x = 0; x < s; x++)
      out[flip ? s - 1 - x : x] = static_cast<float>(clip01(static_cast<float>(acc[x])));
  }
}

// augment.ts's cropAndResize: tfjs's CropAndResize (bilinear, extrapolation 0) in double.
void tf_crop(const float* data, int h, int w, const float* box, int s, float* a) {
  const double y1 = box[0], x1 = box[1], y2 = box[2], x2 = box[3];
  const double hs = s > 1 ? ((y2 - y1) * (h - 1)) / (s - 1) : 0;
  const double ws = s > 1 ? ((x2 - x1) * (w - 1)) / (s - 1) : 0;
  for (int y = 0; y < s; y++) {
    const double yi = s > 1 ? y1 * (h - 1) + y * hs : 0.5 * (y1 + y2) * (h - 1);
    if (yi < 0 || yi > h - 1) {
      for (int x = 0; x < s; x++) a[y * s + x] = 0;
      continue;
    }
    const int64_t t = static_cast<int64_t>(std::floor(yi));
    const int64_t bo = static_cast<int64_t>(std::ceil(yi));
    const double yl = yi - t;
    for (int x = 0; x < s; x++) {
      const double xi = s > 1 ? x1 * (w - 1) + x * ws : 0.5 * (x1 + x2) * (w - 1);
      if (xi < 0 || xi > w - 1) {
        a[y * s + x] = 0;
        continue;
      }
      const int64_t l = static_cast<int64_t>(std::floor(xi));
      const int64_t r = static_cast<int64_t>(std::ceil(xi));
      const double xl = xi - l;
      const double tl = data[t * w + l], tr = data[t * w + r];
      const double bl = data[bo * w + l], br = data[bo * w + r];
      const double topv = tl + (tr - tl) * xl;
      const double bottom = bl + (br - bl) * xl;
      a[y * s + x] = static_cast<float>(topv + (bottom - topv) * yl);
    }
  }
}

}  // namespace

void render_views(const float* data, float* out, const ViewGeom& g, const int32_t* ints,
                  const float* reals, const float* kernels) {
  const int64_t plane = static_cast<int64_t>(g.s) * g.s;
  const int taps = 2 * g.radius + 1;
  parallel_for(g.n, 1, [&](int64_t b, int64_t e) {
    ScopedIeeeDenormal ieee;
    std::vector<float> a(plane), bb(plane), tmp;
    const int s = g.s;
    const int64_t ss = plane;
    for (int64_t i = b; i < e; i++) {
      const int32_t* p = ints + i * kViewInts;
      const float* r = reals + i * kViewReals;
      const float* img = data + i * static_cast<int64_t>(g.h) * g.w;
      if (g.filter == kViewTfBilinear)
        tf_crop(img, g.h, g.w, r, s, a.data());
      else
        pil_crop(img, g.w, p[0], p[1], p[2], p[3], s, g.filter, p[4] != 0, a.data(), tmp);
      // Brightness and contrast in this image's order, each op rounded to float32 as tensor ops are.
      const double bf = r[4], cf = r[5];
      const double omc = static_cast<float>(1 - cf);
      auto brighten = [&](const float* src, float* dst) {
        for (int64_t k = 0; k < ss; k++) dst[k] = static_cast<float>(clip01(static_cast<float>(src[k] * bf)));
      };
      auto contrast = [&](const float* src, float* dst) {
        double sum = 0;
        for (int64_t k = 0; k < ss; k++) sum += src[k];
        const double mean = static_cast<float>(sum / static_cast<double>(ss));
        const double m = static_cast<float>(mean * omc);
        for (int64_t k = 0; k < ss; k++)
          dst[k] = static_cast<float>(
              clip01(static_cast<float>(static_cast<double>(static_cast<float>(src[k] * cf)) + m)));
      };
      if (p[5]) {
        contrast(a.data(), bb.data());
        brighten(bb.data(), a.data());
      } else {
        brighten(a.data(), bb.data());
        contrast(bb.data(), a.data());
      }
      // Separable Gaussian blur, rows then columns, reflect padding.
      if (kernels && p[6]) {
        const int rr = std::min(g.radius, s - 1);
        const float* kk = kernels + i * taps + (g.radius - rr);
        auto refl = [s](int v) { return v < 0 ? -v : v >= s ? 2 * (s - 1) - v : v; };
        for (int y = 0; y < s; y++)
          for (int x = 0; x < s; x++) {
            double acc = 0;
            for (int t = 0; t <= 2 * rr; t++)
              acc += static_cast<double>(a[refl(y + t - rr) * s + x]) * static_cast<double>(kk[t]);
            bb[y * s + x] = static_cast<float>(acc);
          }
        for (int y = 0; y < s; y++)
          for (int x = 0; x < s; x++) {
            double acc = 0;
            for (int t = 0; t <= 2 * rr; t++)
              acc += static_cast<double>(bb[y * s + refl(x + t - rr)]) * static_cast<double>(kk[t]);
            a[y * s + x] = static_cast<float>(acc);
          }
      }
      float* o = out + i * ss;
      if (p[7])
        for (int64_t k = 0; k < ss; k++) o[k] = a[k] >= 0.5f ? static_cast<float>(1.0 - a[k]) : a[k];
      else
        for (int64_t k = 0; k < ss; k++) o[k] = a[k];
    }
  });
}

}  // namespace cxr
