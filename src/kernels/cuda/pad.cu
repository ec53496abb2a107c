// Pad on the GPU (launch.h): one thread per output element (grid-stride) finds the input element it reads
// from its coordinates, axis by axis, with the rule of kernels/reference/tensor.cpp's padSource, or writes
// the constant where any axis falls outside the input in constant mode. Elements move as unsigned words of
// their size; no value is interpreted. The constant is read from device memory by every thread (a
// constant_value computed at run time needs no copy to the host), or comes by value.
// Tests: tests/gpu/test_pad.cpp, against the CPU reference kernel.
#include <cstdint>

#include "kernels/cuda/device_util.cuh"

namespace lowp::kernels::cuda {
namespace {

constexpr int kThreads = 256;

// The input coordinate output coordinate `o` of an axis of `n` elements padded by `before` reads, or -1 for
// the constant. n >= 1 in every mode but kConstant (the caller checks).
__device__ __forceinline__ int64_t padSource(int64_t o, int64_t before, int64_t n, PadMode mode) {
  const int64_t i = o - before;
  if (i >= 0 && i < n) return i;
  switch (mode) {
    case PadMode::kConstant:
      return -1;
    case PadMode::kEdge:
      return i < 0 ? 0 : n - 1;
    case PadMode::kWrap:
      return ((i % n) + n) % n;
    case PadMode::kReflect: {
      if (n == 1) return 0;
      const int64_t period = 2 * (n - 1);
      const int64_t m = ((i % period) + period) % period;
      return m >= n ? period - m : m;
    }
  }
  return -1;
}

template <typename W>
__global__ void padKernel(const W* __restrict__ x, W* __restrict__ y, int64_t count, PadParams p) {
  // The low bytes of `fill` are the low bits of the word: the device is little-endian, as the host.
  const W constant = p.value != nullptr ? *static_cast<const W*>(p.value) : static_cast<W>(p.fill);
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < count; i += stride) {
    int64_t rest = i;
    int64_t at = 0;
    int64_t inStride = 1;
    bool inside = true;
    for (int d = p.rank - 1; d >= 0 && inside; --d) {
      const int64_t o = rest % p.outDims[d];
      rest /= p.outDims[d];
      const int64_t s = padSource(o, p.before[d], p.inDims[d], p.mode);
      inside = s >= 0;
      at += s * inStride;
      inStride *= p.inDims[d];
    }
    y[i] = inside ? x[at] : constant;
  }
}

template <typename W>
cudaError_t pad(const void* x, void* y, int64_t count, const PadParams& params, cudaStream_t stream) {
  padKernel<W><<<gridFor(count, kThreads), kThreads, 0, stream>>>(static_cast<const W*>(x),
                                                                  static_cast<W*>(y), count, params);
  return cudaGetLastError();
}

}  // namespace

cudaError_t launchPad(int elementBytes, const void* x, void* y, const PadParams& params,
                      cudaStream_t stream) {
  if (params.rank < 0 || params.rank > kMaxCopyRank) return cudaErrorInvalidValue;
  int64_t count = 1;
  for (int d = 0; d < params.rank; ++d) count *= params.outDims[d];
  if (count <= 0) return cudaSuccess;
  cudaError_t result = cudaErrorInvalidValue;
  dispatchWord(elementBytes, [&](auto tag) { result = pad<decltype(tag)>(x, y, count, params, stream); });
  return result;
}

}  // namespace lowp::kernels::cuda
