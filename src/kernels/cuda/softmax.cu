// Softmax over the last axis on the GPU: one warp per row of `size` contiguous elements, four rows per block.
// Three passes over the row (maximum, sum of exp(x - max), the quotients), each coalesced across the warp;
// a row of up to a few thousand elements stays in L1 between passes. fp32 arithmetic for every type, as the
// reference kernel computes in Compute<T> (it sums in double; the difference is rounding).
// Tests: tests/gpu/test_softmax.cpp, against the CPU reference kernel.
#include <cmath>

#include "kernels/cuda/device_util.cuh"

namespace lowp::kernels::cuda {
namespace {

constexpr int kWarpsPerBlock = 4;

template <typename T>
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
    for (int64_t k = lane; k < size; k += 32) out[k] = fromFloat<T>(expf(toFloat(in[k]) - maxValue) / sum);
  }
}

}  // namespace

cudaError_t launchSoftmaxLastAxis(Elem type, const void* x, void* y, int64_t rows, int64_t size,
                                  cudaStream_t stream) {
  if (rows <= 0 || size <= 0) return cudaSuccess;
  cudaError_t result = cudaErrorInvalidValue;
  dispatchFloatElem(type, [&](auto tag) {
    using T = decltype(tag);
    softmaxRowsKernel<T><<<gridFor(rows, kWarpsPerBlock), kWarpsPerBlock * 32, 0, stream>>>(
        static_cast<const T*>(x), static_cast<T*>(y), rows, size);
    result = cudaGetLastError();
  });
  return result;
}

}  // namespace lowp::kernels::cuda
