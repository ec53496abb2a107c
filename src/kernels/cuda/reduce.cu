// Reduce* on the GPU (launch.h): x is [outer, reduced, inner]. With inner = 1 one warp reduces each row of
// `reduced` contiguous elements, coalesced across its lanes, then across the warp by shuffles; otherwise one
// thread reduces each (outer, inner) column, neighbouring threads reading neighbouring elements. Axes that
// are not adjacent take one block per output element, reading through the strides of the reduced runs. fp32
// accumulation for every type, as the reference kernel accumulates in Compute<T> (its order differs).
// Tests: tests/gpu/test_reduce.cpp, against the CPU reference kernel.
#include <cmath>
#include <type_traits>

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

// One block per output element (grid-stride): the threads take turns over its reduced elements, then combine
// across the block.
template <ReduceOp kOp, typename T>
__global__ void reduceStridedKernel(const T* __restrict__ x, T* __restrict__ y, StridedReducePlan plan,
                                    int64_t outputs, int64_t count) {
  __shared__ float partial[kWarpsPerBlock];
  const int lane = threadIdx.x % 32;
  const int warp = threadIdx.x / 32;
  for (int64_t o = blockIdx.x; o < outputs; o += gridDim.x) {
    int64_t base = 0;
    int64_t rest = o;
    for (int d = plan.keptRuns - 1; d >= 0; --d) {
      base += rest % plan.kept[d] * plan.keptStrides[d];
      rest /= plan.kept[d];
    }
    float acc = identity<kOp>();
    for (int64_t k = threadIdx.x; k < count; k += kThreads) {
      int64_t at = base;
      int64_t r = k;
      for (int d = plan.reducedRuns - 1; d >= 0; --d) {
        at += r % plan.reduced[d] * plan.reducedStrides[d];
        r /= plan.reduced[d];
      }
      acc = combine<kOp>(acc, term<kOp>(toFloat(x[at])));
    }
#pragma unroll
    for (int offset = 16; offset > 0; offset /= 2)
      acc = combine<kOp>(acc, __shfl_xor_sync(0xffffffffu, acc, offset));
    __syncthreads();  // the previous output's readers of `partial` are done
    if (lane == 0) partial[warp] = acc;
    __syncthreads();
    if (threadIdx.x == 0) {
      float total = partial[0];
      for (int w = 1; w < kWarpsPerBlock; ++w) total = combine<kOp>(total, partial[w]);
      y[o] = fromFloat<T>(finish<kOp>(total, count));
    }
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

// CumSum and CumProd compute in ComputeOf<T>: fp32 for the float types, integers in their own width,
// wrapping.
template <bool kProduct, typename T>
__device__ __forceinline__ ComputeOf<T> scanStep(ComputeOf<T> acc, T x) {
  if constexpr (kIsFloat<T>) {
    return kProduct ? acc * toFloat(x) : acc + toFloat(x);
  } else {
    using U = std::make_unsigned_t<T>;
    return static_cast<T>(kProduct ? static_cast<U>(acc) * static_cast<U>(x)
                                   : static_cast<U>(acc) + static_cast<U>(x));
  }
}

template <bool kProduct, typename T>
__global__ void cumulativeKernel(const T* __restrict__ x, T* __restrict__ y, int64_t outer, int64_t n,
                                 int64_t inner, bool exclusive, bool reverse) {
  const int64_t columns = outer * inner;
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t j = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; j < columns; j += stride) {
    const int64_t start = j / inner * n * inner + j % inner;
    ComputeOf<T> acc = kProduct ? ComputeOf<T>{1} : ComputeOf<T>{0};
    for (int64_t step = 0; step < n; ++step) {
      const int64_t at = start + (reverse ? n - 1 - step : step) * inner;
      const T v = x[at];  // read before y is written: y may be x
      if (exclusive) y[at] = stored<T>(acc);
      acc = scanStep<kProduct>(acc, v);
      if (!exclusive) y[at] = stored<T>(acc);
    }
  }
}

// Calls f(std::integral_constant<ReduceOp, op>{}).
template <typename F>
void dispatchReduceOp(ReduceOp op, F&& f) {
  switch (op) {
    case ReduceOp::kSum:
      return f(std::integral_constant<ReduceOp, ReduceOp::kSum>{});
    case ReduceOp::kMean:
      return f(std::integral_constant<ReduceOp, ReduceOp::kMean>{});
    case ReduceOp::kMax:
      return f(std::integral_constant<ReduceOp, ReduceOp::kMax>{});
    case ReduceOp::kMin:
      return f(std::integral_constant<ReduceOp, ReduceOp::kMin>{});
    case ReduceOp::kSumSquare:
      return f(std::integral_constant<ReduceOp, ReduceOp::kSumSquare>{});
    case ReduceOp::kL1:
      return f(std::integral_constant<ReduceOp, ReduceOp::kL1>{});
    case ReduceOp::kL2:
      return f(std::integral_constant<ReduceOp, ReduceOp::kL2>{});
  }
}

template <ReduceOp kOp>
cudaError_t launchStridedOp(Elem type, const void* x, void* y, const StridedReducePlan& plan,
                            cudaStream_t stream) {
  int64_t outputs = 1;
  int64_t count = 1;
  for (int d = 0; d < plan.keptRuns; ++d) outputs *= plan.kept[d];
  for (int d = 0; d < plan.reducedRuns; ++d) count *= plan.reduced[d];
  if (outputs <= 0) return cudaSuccess;
  const unsigned blocks = static_cast<unsigned>(outputs < 65535 ? outputs : 65535);
  bool known = dispatchFloatElem(type, [&](auto tag) {
    using T = decltype(tag);
    reduceStridedKernel<kOp, T>
        <<<blocks, kThreads, 0, stream>>>(static_cast<const T*>(x), static_cast<T*>(y), plan, outputs, count);
  });
  return known ? cudaGetLastError() : cudaErrorInvalidValue;
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
  cudaError_t result = cudaErrorInvalidValue;
  dispatchReduceOp(op, [&](auto kOp) {
    result = launchOp<decltype(kOp)::value>(type, x, y, outer, reduced, inner, stream);
  });
  return result;
}

cudaError_t launchReduceStrided(ReduceOp op, Elem type, const void* x, void* y, const StridedReducePlan& plan,
                                cudaStream_t stream) {
  cudaError_t result = cudaErrorInvalidValue;
  dispatchReduceOp(
      op, [&](auto kOp) { result = launchStridedOp<decltype(kOp)::value>(type, x, y, plan, stream); });
  return result;
}

cudaError_t launchCumulative(bool product, ValueType type, const void* x, void* y, int64_t outer, int64_t n,
                             int64_t inner, bool exclusive, bool reverse, cudaStream_t stream) {
  if (outer * inner <= 0 || n <= 0) return cudaSuccess;
  cudaError_t result = cudaErrorInvalidValue;
  dispatchValueType(type, [&](auto tag) {
    using T = decltype(tag);
    if constexpr (kIsFloat<T> || std::is_same_v<T, int32_t> || std::is_same_v<T, int64_t>) {
      const auto* in = static_cast<const T*>(x);
      auto* out = static_cast<T*>(y);
      const unsigned blocks = gridFor(outer * inner, kThreads);
      if (product) {
        cumulativeKernel<true, T>
            <<<blocks, kThreads, 0, stream>>>(in, out, outer, n, inner, exclusive, reverse);
      } else {
        cumulativeKernel<false, T>
            <<<blocks, kThreads, 0, stream>>>(in, out, outer, n, inner, exclusive, reverse);
      }
      result = cudaGetLastError();
    }
  });
  return result;
}

}  // namespace lowp::kernels::cuda
