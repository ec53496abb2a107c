// Softmax, LogSoftmax and Hardmax on the GPU, x viewed as [outer, size, inner] along the op's axis:
// - inner = 1 (the last axis, and every opset-11 flattening): one warp per row of `size` contiguous
//   elements, four rows per block; three passes over the row (maximum, sum of exp(x - max), the results),
//   each coalesced across the warp; a row of up to a few thousand elements stays in L1 between passes.
// - inner > 1: one thread per (outer, inner) column, neighbouring threads reading neighbouring elements.
// - Hardmax: one thread per row or column, scanning in order (the first maximum wins; a NaN counts as the
//   maximum), as the reference kernel does.
// fp32 arithmetic for every type, as the reference kernel computes in Compute<T> (it sums in double; the
// difference is rounding). Tests: tests/gpu/test_softmax.cpp, against the CPU reference kernels.
#include <cmath>

#include "kernels/cuda/device_util.cuh"

namespace lowp::kernels::cuda {
namespace {

constexpr int kWarpsPerBlock = 4;
constexpr int kThreads = 256;

// The result of element value x of a row whose maximum is maxValue and whose sum of exp(x - max) is sum.
template <SoftmaxKind kKind>
__device__ __forceinline__ float softmaxOf(float x, float maxValue, float sum) {
  if constexpr (kKind == SoftmaxKind::kSoftmax) {
    return expf(x - maxValue) / sum;
  } else {
    return (x - maxValue) - logf(sum);
  }
}

template <SoftmaxKind kKind, typename T>
__global__ void softmaxRowsKernel(const T* __restrict__ x, T* __restrict__ y, int64_t rows, int64_t size) {
  const int lane = threadIdx.x % 32;
  const int64_t warps = static_cast<int64_t>(gridDim.x) * kWarpsPerBlock;
  for (int64_t r = static_cast<int64_t>(blockIdx.x) * kWarpsPerBlock + threadIdx.x / 32; r < rows;
       r += warps) {
    const T* in = x + r * size;
    T* out = y + r * size;
    float maxValue = -INFINITY;
    for (int64_t k = lane; k < size; k += 32) maxValue = fmaxf(maxValue, toFloat(in[k]));
    maxValue = warpMax(maxValue);
    float sum = 0.0f;
    for (int64_t k = lane; k < size; k += 32) sum += expf(toFloat(in[k]) - maxValue);
    sum = warpSum(sum);
    for (int64_t k = lane; k < size; k += 32)
      out[k] = fromFloat<T>(softmaxOf<kKind>(toFloat(in[k]), maxValue, sum));
  }
}

template <SoftmaxKind kKind, typename T>
__global__ void softmaxColumnsKernel(const T* __restrict__ x, T* __restrict__ y, int64_t outer, int64_t size,
                                     int64_t inner) {
  const int64_t count = outer * inner;
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t j = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; j < count; j += stride) {
    const int64_t base = j / inner * size * inner + j % inner;
    const T* in = x + base;
    T* out = y + base;
    if constexpr (kKind == SoftmaxKind::kHardmax) {
      int64_t best = 0;
      float bestValue = toFloat(in[0]);
      for (int64_t k = 1; k < size && !isnan(bestValue); ++k) {
        const float v = toFloat(in[k * inner]);
        if (isnan(v) || v > bestValue) {
          best = k;
          bestValue = v;
        }
      }
      for (int64_t k = 0; k < size; ++k) out[k * inner] = fromFloat<T>(k == best ? 1.0f : 0.0f);
    } else {
      float maxValue = -INFINITY;
      for (int64_t k = 0; k < size; ++k) maxValue = fmaxf(maxValue, toFloat(in[k * inner]));
      float sum = 0.0f;
      for (int64_t k = 0; k < size; ++k) sum += expf(toFloat(in[k * inner]) - maxValue);
      for (int64_t k = 0; k < size; ++k)
        out[k * inner] = fromFloat<T>(softmaxOf<kKind>(toFloat(in[k * inner]), maxValue, sum));
    }
  }
}

template <SoftmaxKind kKind, typename T>
cudaError_t softmax(const void* x, void* y, int64_t outer, int64_t size, int64_t inner, cudaStream_t stream) {
  const auto* in = static_cast<const T*>(x);
  auto* out = static_cast<T*>(y);
  if (inner == 1 && kKind != SoftmaxKind::kHardmax) {
    softmaxRowsKernel<kKind, T>
        <<<gridFor(outer, kWarpsPerBlock), kWarpsPerBlock * 32, 0, stream>>>(in, out, outer, size);
  } else {
    softmaxColumnsKernel<kKind, T>
        <<<gridFor(outer * inner, kThreads), kThreads, 0, stream>>>(in, out, outer, size, inner);
  }
  return cudaGetLastError();
}

}  // namespace

cudaError_t launchSoftmax(SoftmaxKind kind, Elem type, const void* x, void* y, int64_t outer, int64_t size,
                          int64_t inner, cudaStream_t stream) {
  if (outer <= 0 || size <= 0 || inner <= 0) return cudaSuccess;
  cudaError_t result = cudaErrorInvalidValue;
  dispatchFloatElem(type, [&](auto tag) {
    using T = decltype(tag);
    switch (kind) {
      case SoftmaxKind::kSoftmax:
        result = softmax<SoftmaxKind::kSoftmax, T>(x, y, outer, size, inner, stream);
        break;
      case SoftmaxKind::kLogSoftmax:
        result = softmax<SoftmaxKind::kLogSoftmax, T>(x, y, outer, size, inner, stream);
        break;
      case SoftmaxKind::kHardmax:
        result = softmax<SoftmaxKind::kHardmax, T>(x, y, outer, size, inner, stream);
        break;
    }
  });
  return result;
}

}  // namespace lowp::kernels::cuda
