// ArgMax / ArgMin, GatherElements and Trilu on the GPU (launch.h).
// - launchArgExtremum: x is [outer, n, inner]. Where inner = 1 and rows are long, one warp takes each row:
//   lane l scans elements l, l + 32, ... in order, then the lanes' (value, index) pairs combine by shuffles;
//   otherwise one thread scans each (outer, inner) column, neighbouring threads reading neighbouring
//   elements. Both give the reference kernel's answer exactly: its sequential scan picks the greatest
//   element under one order (NaN above every number, equal values tied, -0 == +0) and, among the tied, the
//   lowest index (the highest with select_last_index), and that choice combines in any grouping.
// - launchTopK: one thread per column keeps its k best in sorted order in the outputs, inserting each element
//   (O(n k) a column: for the small k of a classifier's or a detector's top results).
// - launchGatherElements: one thread per output element decomposes its index into the indices' dims and
//   reads data there with the axis coordinate replaced; an index out of range writes zero bytes.
// - launchTrilu: one thread per element keeps it or writes zero bytes; k may be read from device memory,
//   by every thread, so that a k computed at run time needs no copy to the host.
// Elements of GatherElements and Trilu move as unsigned words of their size; no value is interpreted.
// Tests: tests/gpu/test_index.cpp, against the CPU reference kernels.
#include <cmath>
#include <cstdint>
#include <type_traits>

#include "kernels/cuda/device_util.cuh"

namespace lowp::kernels::cuda {
namespace {

constexpr int kThreads = 256;
constexpr int kWarpsPerBlock = kThreads / 32;
// Rows at least this long (with inner = 1) take a warp each; shorter ones a thread each.
constexpr int64_t kWarpRowMin = 64;

// ---- ArgMax / ArgMin

// The type an element of T compares in: fp32 for the float types, the integer itself otherwise (long long
// for int64, the type the shuffles take).
template <typename T>
using Ordered = std::conditional_t<kIsFloat<T>, float, std::conditional_t<sizeof(T) == 8, long long, T>>;

template <typename T>
__device__ __forceinline__ Ordered<T> ordered(T v) {
  if constexpr (kIsFloat<T>) {
    return toFloat(v);
  } else {
    return static_cast<Ordered<T>>(v);
  }
}

template <typename C>
__device__ __forceinline__ bool isNaN(C v) {
  if constexpr (std::is_same_v<C, float>) {
    return isnan(v);
  } else {
    return false;
  }
}

// Whether (v, i) beats the extremum so far (best, bestIndex), bestIndex -1 meaning none yet: a NaN beats any
// number, a greater (ArgMax) or smaller (ArgMin) number beats another, and among equal values (NaN equal to
// NaN) the lower index wins, or the higher with selectLast.
template <bool kMax, typename C>
__device__ __forceinline__ bool beats(C v, int64_t i, C best, int64_t bestIndex, bool selectLast) {
  if (i < 0) return false;
  if (bestIndex < 0) return true;
  const bool nan = isNaN(v);
  const bool bestNaN = isNaN(best);
  if (nan != bestNaN) return nan;
  if (nan || v == best) return selectLast ? i > bestIndex : i < bestIndex;
  return kMax ? v > best : v < best;
}

template <bool kMax, typename T>
__global__ void argExtremumColumnsKernel(const T* __restrict__ x, int64_t* __restrict__ y, int64_t outer,
                                         int64_t n, int64_t inner, bool selectLast) {
  const int64_t count = outer * inner;
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t j = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; j < count; j += stride) {
    const int64_t o = j / inner;
    const T* column = x + o * n * inner + (j - o * inner);
    Ordered<T> best = ordered(column[0]);
    int64_t bestIndex = 0;
    for (int64_t k = 1; k < n; ++k) {
      const Ordered<T> v = ordered(column[k * inner]);
      if (beats<kMax>(v, k, best, bestIndex, selectLast)) {
        best = v;
        bestIndex = k;
      }
    }
    y[j] = bestIndex;
  }
}

template <bool kMax, typename T>
__global__ void argExtremumRowsKernel(const T* __restrict__ x, int64_t* __restrict__ y, int64_t rows,
                                      int64_t n, bool selectLast) {
  using C = Ordered<T>;
  const int lane = threadIdx.x % 32;
  const int64_t warps = static_cast<int64_t>(gridDim.x) * kWarpsPerBlock;
  for (int64_t r = static_cast<int64_t>(blockIdx.x) * kWarpsPerBlock + threadIdx.x / 32; r < rows;
       r += warps) {
    const T* row = x + r * n;
    C best{};
    long long bestIndex = -1;  // n >= kWarpRowMin: every lane finds one, but the rule needs no such promise
    for (int64_t k = lane; k < n; k += 32) {
      const C v = ordered(row[k]);
      if (beats<kMax>(v, k, best, bestIndex, selectLast)) {
        best = v;
        bestIndex = k;
      }
    }
#pragma unroll
    for (int offset = 16; offset > 0; offset /= 2) {
      const C v = __shfl_xor_sync(0xffffffffu, best, offset);
      const long long i = __shfl_xor_sync(0xffffffffu, bestIndex, offset);
      if (beats<kMax>(v, i, best, bestIndex, selectLast)) {
        best = v;
        bestIndex = i;
      }
    }
    if (lane == 0) y[r] = bestIndex;
  }
}

template <bool kMax, typename T>
void argExtremum(const void* x, int64_t* y, int64_t outer, int64_t n, int64_t inner, bool selectLast,
                 cudaStream_t stream) {
  const auto* in = static_cast<const T*>(x);
  if (inner == 1 && n >= kWarpRowMin) {
    const int64_t blocks = (outer + kWarpsPerBlock - 1) / kWarpsPerBlock;
    argExtremumRowsKernel<kMax, T>
        <<<gridFor(blocks * kThreads, kThreads), kThreads, 0, stream>>>(in, y, outer, n, selectLast);
  } else {
    argExtremumColumnsKernel<kMax, T>
        <<<gridFor(outer * inner, kThreads), kThreads, 0, stream>>>(in, y, outer, n, inner, selectLast);
  }
}

// ---- TopK

// Whether (v, i) ranks before (u, j) in TopK's order: NaN above every number (largest) or below (smallest),
// then the larger (smaller) value, then the lower index.
template <typename C>
__device__ __forceinline__ bool ranksBefore(C v, int64_t i, C u, int64_t j, bool largest) {
  const bool nan = isNaN(v);
  const bool otherNaN = isNaN(u);
  if (nan != otherNaN) return largest ? nan : otherNaN;
  if (!nan && v != u) return largest ? v > u : v < u;
  return i < j;
}

// One thread per (outer, inner) column inserts each element into its sorted k outputs (values and indices,
// `inner` apart), the list kept in the outputs themselves.
template <typename T>
__global__ void topKKernel(const T* __restrict__ x, T* __restrict__ values, int64_t* __restrict__ indices,
                           int64_t outer, int64_t n, int64_t inner, int64_t k, bool largest) {
  const int64_t columns = outer * inner;
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t j = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; j < columns; j += stride) {
    const int64_t o = j / inner;
    const T* in = x + o * n * inner + (j - o * inner);
    T* outValues = values + o * k * inner + (j - o * inner);
    int64_t* outIndices = indices + o * k * inner + (j - o * inner);
    int64_t held = 0;
    for (int64_t e = 0; e < n; ++e) {
      const T v = in[e * inner];
      const auto value = ordered(v);
      // Elements come in index order: a new one ranks after every held one of its value.
      if (held == k &&
          !ranksBefore(value, e, ordered(outValues[(k - 1) * inner]), outIndices[(k - 1) * inner], largest))
        continue;
      int64_t pos = held < k ? held++ : k - 1;
      while (pos > 0 && ranksBefore(value, e, ordered(outValues[(pos - 1) * inner]),
                                    outIndices[(pos - 1) * inner], largest)) {
        outValues[pos * inner] = outValues[(pos - 1) * inner];
        outIndices[pos * inner] = outIndices[(pos - 1) * inner];
        --pos;
      }
      outValues[pos * inner] = v;
      outIndices[pos * inner] = e;
    }
  }
}

// ---- GatherElements

template <typename W, typename I>
__global__ void gatherElementsKernel(const W* __restrict__ x, const I* __restrict__ indices,
                                     W* __restrict__ y, int64_t count, GatherElementsPlan plan) {
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < count; i += stride) {
    const int64_t source = gatherElementsSource(plan, i, static_cast<int64_t>(indices[i]));
    y[i] = source >= 0 ? x[source] : W{0};
  }
}

// ---- Trilu

template <typename W>
__global__ void triluKernel(const W* __restrict__ x, W* __restrict__ y, int64_t count, int64_t rows,
                            int64_t cols, bool upper, int64_t kValue, const int64_t* __restrict__ kDevice) {
  int64_t k = kDevice != nullptr ? *kDevice : kValue;
  // The same result, and r + k cannot overflow: beyond these bounds every row is kept or cleared alike.
  k = k < -rows - 1 ? -rows - 1 : (k > cols + 1 ? cols + 1 : k);
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < count; i += stride) {
    const int64_t c = i % cols;
    const int64_t r = (i / cols) % rows;
    const bool keep = upper ? c >= r + k : c <= r + k;
    y[i] = keep ? x[i] : W{0};
  }
}

}  // namespace

cudaError_t launchArgExtremum(bool max, ValueType type, const void* x, int64_t* y, int64_t outer, int64_t n,
                              int64_t inner, bool selectLast, cudaStream_t stream) {
  if (outer <= 0 || inner <= 0) return cudaSuccess;
  if (n <= 0) return cudaErrorInvalidValue;
  if (type != ValueType::kF32 && type != ValueType::kF16 && type != ValueType::kBF16 &&
      type != ValueType::kI32 && type != ValueType::kI64)
    return cudaErrorInvalidValue;
  dispatchValueType(type, [&](auto tag) {
    using T = decltype(tag);
    if constexpr (kIsFloat<T> || std::is_same_v<T, int32_t> || std::is_same_v<T, int64_t>) {
      if (max) {
        argExtremum<true, T>(x, y, outer, n, inner, selectLast, stream);
      } else {
        argExtremum<false, T>(x, y, outer, n, inner, selectLast, stream);
      }
    }
  });
  return cudaGetLastError();
}

cudaError_t launchTopK(ValueType type, const void* x, void* values, int64_t* indices, int64_t outer,
                       int64_t n, int64_t inner, int64_t k, bool largest, cudaStream_t stream) {
  if (outer * inner <= 0 || k <= 0) return cudaSuccess;
  if (k > n) return cudaErrorInvalidValue;
  cudaError_t result = cudaErrorInvalidValue;
  dispatchValueType(type, [&](auto tag) {
    using T = decltype(tag);
    if constexpr (kIsFloat<T> || std::is_same_v<T, int32_t> || std::is_same_v<T, int64_t>) {
      topKKernel<T><<<gridFor(outer * inner, kThreads), kThreads, 0, stream>>>(
          static_cast<const T*>(x), static_cast<T*>(values), indices, outer, n, inner, k, largest);
      result = cudaGetLastError();
    }
  });
  return result;
}

cudaError_t launchGatherElements(int elementBytes, const void* x, const void* indices, bool indicesAre64,
                                 void* y, const GatherElementsPlan& plan, cudaStream_t stream) {
  if (plan.rank < 1 || plan.rank > kMaxCopyRank || plan.axis < 0 || plan.axis >= plan.rank)
    return cudaErrorInvalidValue;
  int64_t count = 1;
  for (int d = 0; d < plan.rank; ++d) count *= plan.dims[d];
  if (count <= 0) return cudaSuccess;
  const bool known = dispatchWord(elementBytes, [&](auto tag) {
    using W = decltype(tag);
    const auto* in = static_cast<const W*>(x);
    auto* out = static_cast<W*>(y);
    if (indicesAre64) {
      gatherElementsKernel<W><<<gridFor(count, kThreads), kThreads, 0, stream>>>(
          in, static_cast<const int64_t*>(indices), out, count, plan);
    } else {
      gatherElementsKernel<W><<<gridFor(count, kThreads), kThreads, 0, stream>>>(
          in, static_cast<const int32_t*>(indices), out, count, plan);
    }
  });
  return known ? cudaGetLastError() : cudaErrorInvalidValue;
}

cudaError_t launchTrilu(int elementBytes, const void* x, void* y, int64_t matrices, int64_t rows,
                        int64_t cols, bool upper, int64_t k, const int64_t* kDevice, cudaStream_t stream) {
  const int64_t count = matrices * rows * cols;
  if (count <= 0) return cudaSuccess;
  const bool known = dispatchWord(elementBytes, [&](auto tag) {
    using W = decltype(tag);
    triluKernel<W><<<gridFor(count, kThreads), kThreads, 0, stream>>>(
        static_cast<const W*>(x), static_cast<W*>(y), count, rows, cols, upper, k, kDevice);
  });
  return known ? cudaGetLastError() : cudaErrorInvalidValue;
}

}  // namespace lowp::kernels::cuda
