// Pooling on the GPU: 2-D MaxPool and AveragePool (one thread per output element, the window's taps read
// directly; neighbouring threads read neighbouring inputs in both layouts; in NHWC with whole 16-byte vectors
// of channels, one thread per pixel and vector) and GlobalAveragePool (NCHW: one
// warp per plane, a warp-shuffle sum; NHWC: one thread per channel, consecutive threads on consecutive
// channels). Window semantics are the reference kernel's (kernels/reference/pool.cpp): taps in the padding
// are skipped, and AveragePool with count_include_pad counts the taps inside the padded extent. Sums in fp32.
// Tests: tests/gpu/test_pool.cpp, against the CPU reference kernels.
#include <cmath>

#include "kernels/cuda/device_util.cuh"

namespace lowp::kernels::cuda {
namespace {

constexpr int kThreads = 256;

template <typename T, bool kMax>
__global__ void poolKernel(const T* __restrict__ x, T* __restrict__ y, PoolGeometry g, int64_t total) {
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < total; i += stride) {
    int64_t n, c, oy, ox;
    if (g.hwc) {
      c = i % g.c;
      ox = i / g.c % g.ow;
      oy = i / (g.c * g.ow) % g.oh;
      n = i / (g.c * g.ow * g.oh);
    } else {
      ox = i % g.ow;
      oy = i / g.ow % g.oh;
      c = i / (g.ow * g.oh) % g.c;
      n = i / (g.ow * g.oh * g.c);
    }
    const int64_t iy0 = oy * g.sh - g.padTop;
    const int64_t ix0 = ox * g.sw - g.padLeft;
    float best = -INFINITY;
    float sum = 0.0f;
    int inside = 0;
    int paddedRows = 0;
    int paddedCols = 0;
    for (int ky = 0; ky < g.kh; ++ky) {
      const int64_t iy = iy0 + static_cast<int64_t>(ky) * g.dh;
      if (iy >= -g.padTop && iy < g.h + g.padBottom) ++paddedRows;
      if (iy < 0 || iy >= g.h) continue;
      for (int kx = 0; kx < g.kw; ++kx) {
        const int64_t ix = ix0 + static_cast<int64_t>(kx) * g.dw;
        if (ix < 0 || ix >= g.w) continue;
        const int64_t at =
            g.hwc ? ((n * g.h + iy) * g.w + ix) * g.c + c : ((n * g.c + c) * g.h + iy) * g.w + ix;
        const float v = toFloat(x[at]);
        if constexpr (kMax) {
          best = v > best ? v : best;
        } else {
          sum += v;
          ++inside;
        }
      }
    }
    if constexpr (kMax) {
      y[i] = fromFloat<T>(best);
    } else {
      for (int kx = 0; kx < g.kw; ++kx) {
        const int64_t ix = ix0 + static_cast<int64_t>(kx) * g.dw;
        if (ix >= -g.padLeft && ix < g.w + g.padRight) ++paddedCols;
      }
      const int count = g.includePad ? paddedRows * paddedCols : inside;
      y[i] = fromFloat<T>(sum / static_cast<float>(count));
    }
  }
}

// NHWC with a channel count that fills 16-byte vectors: one thread per output pixel and vector of kVec
// channels, 32-bit index arithmetic per pixel instead of per element, and 16-byte loads and stores.
template <typename T, bool kMax, int kVec>
__global__ void poolHwcVectorKernel(const T* __restrict__ x, T* __restrict__ y, PoolGeometry g,
                                    int64_t total) {
  const int64_t groups = g.c / kVec;
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < total; i += stride) {
    const int64_t c = i % groups * kVec;
    int64_t rest = i / groups;
    const int64_t ox = rest % g.ow;
    rest /= g.ow;
    const int64_t oy = rest % g.oh;
    const int64_t n = rest / g.oh;
    const int64_t iy0 = oy * g.sh - g.padTop;
    const int64_t ix0 = ox * g.sw - g.padLeft;
    float acc[kVec];
#pragma unroll
    for (int v = 0; v < kVec; ++v) acc[v] = kMax ? -INFINITY : 0.0f;
    int inside = 0;
    int paddedRows = 0;
    int paddedCols = 0;
    for (int ky = 0; ky < g.kh; ++ky) {
      const int64_t iy = iy0 + static_cast<int64_t>(ky) * g.dh;
      if (iy >= -g.padTop && iy < g.h + g.padBottom) ++paddedRows;
      if (iy < 0 || iy >= g.h) continue;
      for (int kx = 0; kx < g.kw; ++kx) {
        const int64_t ix = ix0 + static_cast<int64_t>(kx) * g.dw;
        if (ix < 0 || ix >= g.w) continue;
        const auto in = *reinterpret_cast<const Vec<T, kVec>*>(x + ((n * g.h + iy) * g.w + ix) * g.c + c);
        ++inside;
#pragma unroll
        for (int v = 0; v < kVec; ++v) {
          const float value = toFloat(in.v[v]);
          if constexpr (kMax) {
            acc[v] = value > acc[v] ? value : acc[v];
          } else {
            acc[v] += value;
          }
        }
      }
    }
    float divisor = 1.0f;
    if constexpr (!kMax) {
      for (int kx = 0; kx < g.kw; ++kx) {
        const int64_t ix = ix0 + static_cast<int64_t>(kx) * g.dw;
        if (ix >= -g.padLeft && ix < g.w + g.padRight) ++paddedCols;
      }
      divisor = static_cast<float>(g.includePad ? paddedRows * paddedCols : inside);
    }
    Vec<T, kVec> out;
#pragma unroll
    for (int v = 0; v < kVec; ++v) out.v[v] = fromFloat<T>(kMax ? acc[v] : acc[v] / divisor);
    *reinterpret_cast<Vec<T, kVec>*>(y + i * kVec) = out;
  }
}

template <bool kMax>
cudaError_t launchPool(Elem type, const void* x, void* y, const PoolGeometry& g, cudaStream_t stream) {
  const int64_t total = g.n * g.c * g.oh * g.ow;
  if (total <= 0) return cudaSuccess;
  cudaError_t result = cudaErrorInvalidValue;
  dispatchFloatElem(type, [&](auto tag) {
    using T = decltype(tag);
    constexpr int kVec = static_cast<int>(16 / sizeof(T));
    const auto* in = static_cast<const T*>(x);
    auto* out = static_cast<T*>(y);
    if (g.hwc && g.c % kVec == 0 && aligned(x, 16) && aligned(y, 16)) {
      poolHwcVectorKernel<T, kMax, kVec>
          <<<gridFor(total / kVec, kThreads), kThreads, 0, stream>>>(in, out, g, total / kVec);
    } else {
      poolKernel<T, kMax><<<gridFor(total, kThreads), kThreads, 0, stream>>>(in, out, g, total);
    }
    result = cudaGetLastError();
  });
  return result;
}

// One warp per (image, channel) plane of `spatial` contiguous elements.
template <typename T>
__global__ void globalAverageNchwKernel(const T* __restrict__ x, T* __restrict__ y, int64_t planes,
                                        int64_t spatial) {
  const int lane = threadIdx.x % 32;
  const int64_t warps = static_cast<int64_t>(gridDim.x) * (blockDim.x / 32);
  for (int64_t p = static_cast<int64_t>(blockIdx.x) * (blockDim.x / 32) + threadIdx.x / 32; p < planes;
       p += warps) {
    const T* plane = x + p * spatial;
    float sum = 0.0f;
    for (int64_t s = lane; s < spatial; s += 32) sum += toFloat(plane[s]);
    sum = warpSum(sum);
    if (lane == 0) y[p] = fromFloat<T>(sum / static_cast<float>(spatial));
  }
}

// One thread per (image, channel): consecutive threads read consecutive channels of each pixel.
template <typename T>
__global__ void globalAverageNhwcKernel(const T* __restrict__ x, T* __restrict__ y, int64_t images,
                                        int64_t channels, int64_t spatial) {
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < images * channels;
       i += stride) {
    const int64_t n = i / channels;
    const int64_t c = i % channels;
    const T* image = x + n * spatial * channels + c;
    float sum = 0.0f;
    for (int64_t s = 0; s < spatial; ++s) sum += toFloat(image[s * channels]);
    y[i] = fromFloat<T>(sum / static_cast<float>(spatial));
  }
}

}  // namespace

cudaError_t launchMaxPool(Elem type, const void* x, void* y, const PoolGeometry& g, cudaStream_t stream) {
  return launchPool<true>(type, x, y, g, stream);
}

cudaError_t launchAveragePool(Elem type, const void* x, void* y, const PoolGeometry& g, cudaStream_t stream) {
  return launchPool<false>(type, x, y, g, stream);
}

cudaError_t launchGlobalAveragePool(Elem type, const void* x, void* y, int64_t images, int64_t channels,
                                    int64_t spatial, bool hwc, cudaStream_t stream) {
  if (images <= 0 || channels <= 0 || spatial <= 0) return cudaSuccess;
  cudaError_t result = cudaErrorInvalidValue;
  dispatchFloatElem(type, [&](auto tag) {
    using T = decltype(tag);
    const auto* in = static_cast<const T*>(x);
    auto* out = static_cast<T*>(y);
    if (hwc) {
      globalAverageNhwcKernel<T>
          <<<gridFor(images * channels, kThreads), kThreads, 0, stream>>>(in, out, images, channels, spatial);
    } else {
      globalAverageNchwKernel<T><<<gridFor(images * channels, kThreads / 32), kThreads, 0, stream>>>(
          in, out, images * channels, spatial);
    }
    result = cudaGetLastError();
  });
  return result;
}

}  // namespace lowp::kernels::cuda
