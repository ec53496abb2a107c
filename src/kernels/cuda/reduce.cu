// Reduce* on the GPU (launch.h): x is [outer, reduced, inner]. With inner = 1 one warp reduces each row of
// `reduced` contiguous elements, coalesced across its lanes, then across the warp by shuffles; otherwise one
// thread reduces each (outer, inner) column, neighbouring threads reading neighbouring elements. fp32
// accumulation for every type, as the reference kernel accumulates in Compute<T> (its order differs).
// Tests: tests/gpu/test_reduce.cpp, against the CPU reference kernel.
#include <cmath>

#include "kernels/cuda/device_util.cuh"

namespace lowp::kernels::cuda {
namespace {

constexpr int kThreads = 256;
constexpr int kWarpsPerBlock = kThreads / 32;

template <ReduceOp kOp>
__device__ __forceinline__ float identity() {
  if constexpr (kOp == ReduceOp::kMax) return -INFINITY;
  if constexpr (kOp == ReduceOp::kMin) return INFINITY;
  return 0.0f;
}

// The running value after one more element (x) or one more partial result (from another lane).
template <ReduceOp kOp>
__device__ __forceinline__ float combine(float acc, float x) {
  if constexpr (kOp == ReduceOp::kMax) return isnan(acc) || x <= acc ? acc : x;  // a NaN stays
  if constexpr (kOp == ReduceOp::kMin) return isnan(acc) || x >= acc ? acc : x;
  return acc + x;
}

template <ReduceOp kOp>
__device__ __forceinline__ float term(float x) {
  if constexpr (kOp == ReduceOp::kSumSquare || kOp == ReduceOp::kL2) return x * x;
  if constexpr (kOp == ReduceOp::kL1) return fabsf(x);
  return x;
}

template <ReduceOp kOp>
__device__ __forceinline__ float finish(float acc, int64_t count) {
  if constexpr (kOp == ReduceOp::kMean) return acc / static_cast<float>(count);
  if constexpr (kOp == ReduceOp::kL2) return sqrtf(acc);
  return acc;
}

template <ReduceOp kOp, typename T>
__global__ void reduceRowsKernel(const T* __restrict__ x, T* __restrict__ y, int64_t rows, int64_t size) {
  const int lane = threadIdx.x % 32;
  const int64_t warps = static_cast<int64_t>(gridDim.x) * kWarpsPerBlock;
  for (int64_t r = static_cast<int64_t>(blockIdx.x) * kWarpsPerBlock + threadIdx.x / 32; r < rows;
       r += warps) {
    const T* in = x + r * size;
    float acc = identity<kOp>();
    for (int64_t k = lane; k < size; k += 32) acc = combine<kOp>(acc, term<kOp>(toFloat(in[k])));
#pragma unroll
    for (int offset = 16; offset > 0; offset /= 2)
      acc = combine<kOp>(acc, __shfl_xor_sync(0xffffffffu, acc, offset));
    if (lane == 0) y[r] = fromFloat<T>(finish<kOp>(acc, size));
  }
}

template <ReduceOp kOp, typename T>
__global__ void reduceColumnsKernel(const T* __restrict__ x, T* __restrict__ y, int64_t outer, int64_t size,
                                    int64_t inner) {
  const int64_t n = outer * inner;
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += stride) {
    const int64_t o = i / inner;
    const T* in = x + o * size * inner + (i - o * inner);
    float acc = identity<kOp>();
    for (int64_t k = 0; k < size; ++k) acc = combine<kOp>(acc, term<kOp>(toFloat(in[k * inner])));
    y[i] = fromFloat<T>(finish<kOp>(acc, size));
  }
}

template <ReduceOp kOp, typename T>
void launchTyped(const void* x, void* y, int64_t outer, int64_t reduced, int64_t inner, cudaStream_t stream) {
  const auto* in = static_cast<const T*>(x);
  auto* out = static_cast<T*>(y);
  if (inner == 1) {
    const int64_t blocks = (outer + kWarpsPerBlock - 1) / kWarpsPerBlock;
    reduceRowsKernel<kOp, T>
        <<<gridFor(blocks * kThreads, kThreads), kThreads, 0, stream>>>(in, out, outer, reduced);
  } else {
    reduceColumnsKernel<kOp, T>
        <<<gridFor(outer * inner, kThreads), kThreads, 0, stream>>>(in, out, outer, reduced, inner);
  }
}

template <ReduceOp kOp>
cudaError_t launchOp(Elem type, const void* x, void* y, int64_t outer, int64_t reduced, int64_t inner,
                     cudaStream_t stream) {
  bool known = dispatchFloatElem(
      type, [&](auto tag) { launchTyped<kOp, decltype(tag)>(x, y, outer, reduced, inner, stream); });
  return known ? cudaGetLastError() : cudaErrorInvalidValue;
}

}  // namespace

cudaError_t launchReduce(ReduceOp op, Elem type, const void* x, void* y, int64_t outer, int64_t reduced,
                         int64_t inner, cudaStream_t stream) {
  if (outer <= 0 || inner <= 0) return cudaSuccess;
  switch (op) {
    case ReduceOp::kSum:
      return launchOp<ReduceOp::kSum>(type, x, y, outer, reduced, inner, stream);
    case ReduceOp::kMean:
      return launchOp<ReduceOp::kMean>(type, x, y, outer, reduced, inner, stream);
    case ReduceOp::kMax:
      return launchOp<ReduceOp::kMax>(type, x, y, outer, reduced, inner, stream);
    case ReduceOp::kMin:
      return launchOp<ReduceOp::kMin>(type, x, y, outer, reduced, inner, stream);
    case ReduceOp::kSumSquare:
      return launchOp<ReduceOp::kSumSquare>(type, x, y, outer, reduced, inner, stream);
    case ReduceOp::kL1:
      return launchOp<ReduceOp::kL1>(type, x, y, outer, reduced, inner, stream);
    case ReduceOp::kL2:
      return launchOp<ReduceOp::kL2>(type, x, y, outer, reduced, inner, stream);
  }
  return cudaErrorInvalidValue;
}

}  // namespace lowp::kernels::cuda
