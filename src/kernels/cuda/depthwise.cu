// Depthwise 2-D convolution over NHWC (launch.h, launchDepthwiseConvHwc): cuDNN runs these slowly in fp16
// and bf16, and they are memory-bound. One thread computes one output pixel for a 16-byte vector of
// channels (8 fp16 / bf16 or 4 fp32; one channel where the channel count or a pointer does not allow it),
// reading the kh x kw input vectors of its window (neighbouring threads share them through the caches) and
// the weights in [kh, kw, c] order, accumulating in fp32, and writes bias, residual and activation fused.
// Tests: tests/gpu/test_conv.cpp, against the CPU reference kernel.
#include "kernels/cuda/device_util.cuh"

namespace lowp::kernels::cuda {
namespace {

constexpr int kThreads = 256;

template <typename T, int kVec>
__global__ void depthwiseHwcKernel(const T* __restrict__ x, const T* __restrict__ w, T* __restrict__ y,
                                   ConvHwcGeometry g, Epilogue e) {
  const int64_t groups = g.c / kVec;
  const int64_t total = g.n * g.oh * g.ow * groups;
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  const T* residual = static_cast<const T*>(e.residual);
  for (int64_t idx = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; idx < total;
       idx += stride) {
    const int64_t channel = idx % groups * kVec;
    int64_t rest = idx / groups;
    const int64_t ox = rest % g.ow;
    rest /= g.ow;
    const int64_t oy = rest % g.oh;
    const int64_t image = rest / g.oh;
    float acc[kVec];
#pragma unroll
    for (int v = 0; v < kVec; ++v) acc[v] = 0.0f;
    for (int i = 0; i < g.kh; ++i) {
      const int64_t iy = oy * g.sh - g.padTop + static_cast<int64_t>(i) * g.dh;
      if (iy < 0 || iy >= g.h) continue;
      for (int j = 0; j < g.kw; ++j) {
        const int64_t ix = ox * g.sw - g.padLeft + static_cast<int64_t>(j) * g.dw;
        if (ix < 0 || ix >= g.w) continue;
        const auto xv =
            *reinterpret_cast<const Vec<T, kVec>*>(x + ((image * g.h + iy) * g.w + ix) * g.c + channel);
        const auto wv =
            *reinterpret_cast<const Vec<T, kVec>*>(w + (static_cast<int64_t>(i) * g.kw + j) * g.c + channel);
#pragma unroll
        for (int v = 0; v < kVec; ++v) acc[v] += toFloat(xv.v[v]) * toFloat(wv.v[v]);
      }
    }
    const int64_t at = idx * kVec;  // [n, oy, ox, c] in order: the thread's first output element
    Vec<T, kVec> out;
    Vec<T, kVec> res;
    if (residual != nullptr) res = *reinterpret_cast<const Vec<T, kVec>*>(residual + at);
#pragma unroll
    for (int v = 0; v < kVec; ++v) {
      float value = acc[v];
      if (e.bias != nullptr) {
        value += e.biasType == Elem::kF32 ? static_cast<const float*>(e.bias)[channel + v]
                                          : toFloat(static_cast<const T*>(e.bias)[channel + v]);
      }
      if (residual != nullptr) value += toFloat(res.v[v]);
      out.v[v] = fromFloat<T>(activate(e, value));
    }
    *reinterpret_cast<Vec<T, kVec>*>(y + at) = out;
  }
}

}  // namespace

cudaError_t launchDepthwiseConvHwc(Elem type, const void* x, const void* w, void* y, const ConvHwcGeometry& g,
                                   const Epilogue& epilogue, cudaStream_t stream) {
  if (g.n * g.oh * g.ow * g.c <= 0) return cudaSuccess;
  cudaError_t result = cudaErrorInvalidValue;
  dispatchFloatElem(type, [&](auto tag) {
    using T = decltype(tag);
    constexpr int kVec = static_cast<int>(16 / sizeof(T));
    const bool vectors = g.c % kVec == 0 && aligned(x, 16) && aligned(w, 16) && aligned(y, 16) &&
                         (epilogue.residual == nullptr || aligned(epilogue.residual, 16));
    const auto* xt = static_cast<const T*>(x);
    const auto* wt = static_cast<const T*>(w);
    auto* yt = static_cast<T*>(y);
    if (vectors) {
      depthwiseHwcKernel<T, kVec><<<gridFor(g.n * g.oh * g.ow * g.c / kVec, kThreads), kThreads, 0, stream>>>(
          xt, wt, yt, g, epilogue);
    } else {
      depthwiseHwcKernel<T, 1>
          <<<gridFor(g.n * g.oh * g.ow * g.c, kThreads), kThreads, 0, stream>>>(xt, wt, yt, g, epilogue);
    }
    result = cudaGetLastError();
  });
  return result;
}

}  // namespace lowp::kernels::cuda
