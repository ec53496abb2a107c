// ScatterElements, ScatterND, GatherND and OneHot on the GPU (launchers declared in launch.h).
// - launchScatterElements / launchScatterND: a first kernel turns each update row (one element for
//   ScatterElements, one slice of `slice` elements for ScatterND) into its target, the data element (the
//   slice, for ScatterND) it lands on, or a sentinel past every target where an index is out of range.
//   cub's radix sort, which is stable, orders the rows by target, rows of one target staying in the order of
//   the indices. Then the thread of (sorted row, slice element) at the head of each run of one target applies
//   the run in that order: its last update for reduction none, each update combined and rounded in turn
//   otherwise. That is the reference kernel's sequential result, bit for bit, duplicate indices included,
//   and the same on every run; a run of many duplicates is applied by one thread.
// - launchGatherND: one thread per output element finds its row's source from the row's indices.
// - launchOneHot: one thread per output element compares its place along depth with its index.
// Elements move as unsigned words of their size; only the scatter reductions read values.
// Tests: tests/gpu/test_scatter.cpp, against the CPU reference kernels.
#include <cub/device/device_radix_sort.cuh>

#include <cstddef>
#include <cstdint>
#include <type_traits>

#include "kernels/cuda/device_util.cuh"

namespace lowp::kernels::cuda {

namespace {

constexpr int kThreads = 256;
constexpr size_t kScratchAlign = 256;

size_t alignedBytes(size_t bytes) {
  return (bytes + kScratchAlign - 1) / kScratchAlign * kScratchAlign;
}

// Bits that hold every value in [0, v].
int bitsFor(uint64_t v) {
  int bits = 1;
  while (bits < 64 && (v >> bits) != 0) ++bits;
  return bits;
}

// The scratch of one scatter: the rows' targets (keys) and numbers (rows), unsorted and sorted, then cub's
// temporary storage.
struct ScatterScratch {
  uint64_t* keys = nullptr;
  uint64_t* sortedKeys = nullptr;
  uint32_t* rows = nullptr;
  uint32_t* sortedRows = nullptr;
  void* sortStorage = nullptr;
  size_t sortBytes = 0;
};

size_t sortStorageBytes(int64_t rows, int bits) {
  size_t bytes = 0;
  cub::DeviceRadixSort::SortPairs(nullptr, bytes, static_cast<const uint64_t*>(nullptr),
                                  static_cast<uint64_t*>(nullptr), static_cast<const uint32_t*>(nullptr),
                                  static_cast<uint32_t*>(nullptr), rows, 0, bits);
  return bytes;
}

// Lays out `scratch` for `rows` rows; false when it is too small.
bool layOut(void* scratch, size_t scratchBytes, int64_t rows, ScatterScratch& s) {
  const auto n = static_cast<size_t>(rows);
  auto* at = static_cast<char*>(scratch);
  const size_t keyBytes = alignedBytes(n * sizeof(uint64_t));
  const size_t rowBytes = alignedBytes(n * sizeof(uint32_t));
  const size_t fixed = 2 * keyBytes + 2 * rowBytes;
  if (scratch == nullptr || scratchBytes < fixed) return false;
  s.keys = reinterpret_cast<uint64_t*>(at);
  s.sortedKeys = reinterpret_cast<uint64_t*>(at + keyBytes);
  s.rows = reinterpret_cast<uint32_t*>(at + 2 * keyBytes);
  s.sortedRows = reinterpret_cast<uint32_t*>(at + 2 * keyBytes + rowBytes);
  s.sortStorage = at + fixed;
  s.sortBytes = scratchBytes - fixed;
  return true;
}

// ---- Targets

// ScatterElements: update i, at coordinates c in the indices' dims, lands on data's element at c with
// c[axis] replaced by indices[i]; the sentinel where that index is out of range.
template <typename I>
__global__ void elementTargetsKernel(const I* __restrict__ indices, uint64_t* __restrict__ keys,
                                     uint32_t* __restrict__ rows, int64_t count, GatherElementsPlan plan,
                                     uint64_t sentinel) {
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < count; i += stride) {
    const int64_t target = gatherElementsSource(plan, i, static_cast<int64_t>(indices[i]));
    keys[i] = target >= 0 ? static_cast<uint64_t>(target) : sentinel;
    rows[i] = static_cast<uint32_t>(i);
  }
}

// The dims an index row of ScatterND or GatherND addresses: their sizes and strides (in elements for
// GatherND, in slices for ScatterND).
struct IndexedDims {
  int last = 0;
  int64_t sizes[kMaxCopyRank] = {};
  int64_t strides[kMaxCopyRank] = {};
};

// Where index row `row` points: the sum of its indices (negative ones counted from the end) times their
// strides, or -1 where one is out of range.
__device__ __forceinline__ int64_t rowOffset(const int64_t* __restrict__ row, const IndexedDims& dims) {
  int64_t at = 0;
  for (int k = 0; k < dims.last; ++k) {
    int64_t index = row[k];
    if (index < 0) index += dims.sizes[k];
    if (index < 0 || index >= dims.sizes[k]) return -1;
    at += index * dims.strides[k];
  }
  return at;
}

// ScatterND: row r lands on the slice its indices address; the sentinel where one is out of range.
__global__ void sliceTargetsKernel(const int64_t* __restrict__ indices, uint64_t* __restrict__ keys,
                                   uint32_t* __restrict__ rows, int64_t count, IndexedDims dims,
                                   uint64_t sentinel) {
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t r = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; r < count; r += stride) {
    const int64_t at = rowOffset(indices + r * dims.last, dims);
    keys[r] = at < 0 ? sentinel : static_cast<uint64_t>(at);
    rows[r] = static_cast<uint32_t>(r);
  }
}

// ---- Applying the sorted updates

// An update combined with the element it lands on, as the reference kernel's combineAs: in ComputeOf<T>,
// rounded once to T; max and min as std::max(element, update) and std::min(element, update); integer
// sums and products wrap.
template <ScatterReduction kReduction, typename T>
__device__ __forceinline__ T combined(T element, T update) {
  if constexpr (kReduction == ScatterReduction::kNone) {
    return update;
  } else {
    using C = ComputeOf<T>;
    const C a = computed(element);
    const C b = computed(update);
    C r;
    if constexpr (kReduction == ScatterReduction::kAdd || kReduction == ScatterReduction::kMul) {
      if constexpr (std::is_integral_v<C> && sizeof(C) >= sizeof(int)) {
        using U = std::make_unsigned_t<C>;
        r = static_cast<C>(kReduction == ScatterReduction::kAdd ? static_cast<U>(a) + static_cast<U>(b)
                                                                : static_cast<U>(a) * static_cast<U>(b));
      } else {
        r = static_cast<C>(kReduction == ScatterReduction::kAdd ? a + b : a * b);
      }
    } else if constexpr (kReduction == ScatterReduction::kMax) {
      r = a < b ? b : a;
    } else {
      r = b < a ? b : a;
    }
    return stored<T>(r);
  }
}

// Thread t = (p, j) over the sorted rows p and the elements j of a slice: the first row of each run of one
// target applies the run's updates to element j of that target, in the rows' order.
template <ScatterReduction kReduction, typename T>
__global__ void applyUpdatesKernel(const uint64_t* __restrict__ keys, const uint32_t* __restrict__ rows,
                                   const T* __restrict__ updates, T* __restrict__ y, int64_t rowCount,
                                   int64_t slice, uint64_t sentinel) {
  const int64_t count = rowCount * slice;
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t t = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; t < count; t += stride) {
    const int64_t p = t / slice;
    const int64_t j = t - p * slice;
    const uint64_t key = keys[p];
    if (key == sentinel || (p > 0 && keys[p - 1] == key)) continue;
    T* target = y + static_cast<int64_t>(key) * slice + j;
    int64_t q = p;
    if constexpr (kReduction == ScatterReduction::kNone) {
      while (q + 1 < rowCount && keys[q + 1] == key) ++q;
      *target = updates[static_cast<int64_t>(rows[q]) * slice + j];
    } else {
      T value = *target;
      for (; q < rowCount && keys[q] == key; ++q) {
        value = combined<kReduction>(value, updates[static_cast<int64_t>(rows[q]) * slice + j]);
      }
      *target = value;
    }
  }
}

template <ScatterReduction kReduction, typename T>
void applyUpdates(const ScatterScratch& s, const void* updates, void* y, int64_t rows, int64_t slice,
                  uint64_t sentinel, cudaStream_t stream) {
  applyUpdatesKernel<kReduction, T><<<gridFor(rows * slice, kThreads), kThreads, 0, stream>>>(
      s.sortedKeys, s.sortedRows, static_cast<const T*>(updates), static_cast<T*>(y), rows, slice, sentinel);
}

// Whether `type` has the reduction (every ValueType but bool); words of `elementBytes` for kNone.
bool validElements(ScatterReduction reduction, ValueType type, int elementBytes) {
  if (elementBytes != 1 && elementBytes != 2 && elementBytes != 4 && elementBytes != 8) return false;
  return reduction == ScatterReduction::kNone || type != ValueType::kBool;
}

// y = data, where y is not data itself.
cudaError_t copyData(const void* data, void* y, int64_t count, int elementBytes, cudaStream_t stream) {
  if (y == data) return cudaSuccess;
  return cudaMemcpyAsync(y, data, static_cast<size_t>(count) * static_cast<size_t>(elementBytes),
                         cudaMemcpyDeviceToDevice, stream);
}

// Sorts the targets in s.keys (rows 0, 1, ... in s.rows) and applies the updates to y, a copy of data by now.
cudaError_t sortAndApply(ScatterReduction reduction, ValueType type, int elementBytes,
                         const ScatterScratch& s, const void* updates, void* y, int64_t rows, int64_t slice,
                         uint64_t sentinel, cudaStream_t stream) {
  size_t sortBytes = s.sortBytes;
  cudaError_t status = cub::DeviceRadixSort::SortPairs(s.sortStorage, sortBytes, s.keys, s.sortedKeys, s.rows,
                                                       s.sortedRows, rows, 0, bitsFor(sentinel), stream);
  if (status != cudaSuccess) return status;
  if (reduction == ScatterReduction::kNone) {
    dispatchWord(elementBytes, [&](auto tag) {
      applyUpdates<ScatterReduction::kNone, decltype(tag)>(s, updates, y, rows, slice, sentinel, stream);
    });
  } else {
    dispatchValueType(type, [&](auto tag) {
      using T = decltype(tag);
      if constexpr (!std::is_same_v<T, bool>) {
        switch (reduction) {
          case ScatterReduction::kAdd:
            applyUpdates<ScatterReduction::kAdd, T>(s, updates, y, rows, slice, sentinel, stream);
            break;
          case ScatterReduction::kMul:
            applyUpdates<ScatterReduction::kMul, T>(s, updates, y, rows, slice, sentinel, stream);
            break;
          case ScatterReduction::kMax:
            applyUpdates<ScatterReduction::kMax, T>(s, updates, y, rows, slice, sentinel, stream);
            break;
          case ScatterReduction::kMin:
            applyUpdates<ScatterReduction::kMin, T>(s, updates, y, rows, slice, sentinel, stream);
            break;
          case ScatterReduction::kNone:
            break;
        }
      }
    });
  }
  return cudaGetLastError();
}

// ---- GatherND

// Output element i: element j of row r's slice, row r reading its batch's data at its indices.
template <typename W>
__global__ void gatherNDKernel(const W* __restrict__ x, const int64_t* __restrict__ indices,
                               W* __restrict__ y, int64_t count, IndexedDims dims, int64_t slice,
                               int64_t rowsPerBatch, int64_t batchStride) {
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < count; i += stride) {
    const int64_t r = i / slice;
    const int64_t j = i - r * slice;
    const int64_t at = rowOffset(indices + r * dims.last, dims);
    y[i] = at < 0 ? W{0} : x[(r / rowsPerBatch) * batchStride + at + j];
  }
}

// ---- OneHot

template <typename W, typename I>
__global__ void oneHotKernel(const I* __restrict__ indices, const W* __restrict__ values, W* __restrict__ y,
                             int64_t count, int64_t depth, int64_t inner) {
  const W off = values[0];
  const W on = values[1];
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < count; i += stride) {
    const int64_t j = i % inner;
    const int64_t rest = i / inner;
    const int64_t d = rest % depth;
    const int64_t o = rest / depth;
    int64_t index = static_cast<int64_t>(indices[o * inner + j]);
    if (index < 0) index += depth;
    y[i] = index == d ? on : off;
  }
}

}  // namespace

size_t scatterScratchBytes(int64_t rows) {
  if (rows <= 0) return 0;
  const auto n = static_cast<size_t>(rows);
  return 2 * alignedBytes(n * sizeof(uint64_t)) + 2 * alignedBytes(n * sizeof(uint32_t)) +
         alignedBytes(sortStorageBytes(rows, 64));
}

cudaError_t launchScatterElements(ScatterReduction reduction, ValueType type, int elementBytes,
                                  const void* data, int64_t dataCount, const void* indices, bool indicesAre64,
                                  const void* updates, void* y, const GatherElementsPlan& plan, void* scratch,
                                  size_t scratchBytes, cudaStream_t stream) {
  if (plan.rank < 1 || plan.rank > kMaxCopyRank || plan.axis < 0 || plan.axis >= plan.rank ||
      !validElements(reduction, type, elementBytes))
    return cudaErrorInvalidValue;
  if (dataCount <= 0) return cudaSuccess;
  cudaError_t status = copyData(data, y, dataCount, elementBytes, stream);
  if (status != cudaSuccess) return status;
  int64_t rows = 1;
  for (int d = 0; d < plan.rank; ++d) rows *= plan.dims[d];
  if (rows <= 0) return cudaSuccess;
  ScatterScratch s;
  if (rows > int64_t{UINT32_MAX} || !layOut(scratch, scratchBytes, rows, s)) return cudaErrorInvalidValue;
  const auto sentinel = static_cast<uint64_t>(dataCount);
  const unsigned grid = gridFor(rows, kThreads);
  if (indicesAre64) {
    elementTargetsKernel<<<grid, kThreads, 0, stream>>>(static_cast<const int64_t*>(indices), s.keys, s.rows,
                                                        rows, plan, sentinel);
  } else {
    elementTargetsKernel<<<grid, kThreads, 0, stream>>>(static_cast<const int32_t*>(indices), s.keys, s.rows,
                                                        rows, plan, sentinel);
  }
  status = cudaGetLastError();
  if (status != cudaSuccess) return status;
  return sortAndApply(reduction, type, elementBytes, s, updates, y, rows, 1, sentinel, stream);
}

cudaError_t launchScatterND(ScatterReduction reduction, ValueType type, int elementBytes, const void* data,
                            const int64_t* indices, const void* updates, void* y, int rank,
                            const int64_t* dataDims, int64_t rows, int last, void* scratch,
                            size_t scratchBytes, cudaStream_t stream) {
  if (rank < 1 || last < 0 || last > rank || last > kMaxCopyRank ||
      !validElements(reduction, type, elementBytes))
    return cudaErrorInvalidValue;
  int64_t dataCount = 1;
  for (int d = 0; d < rank; ++d) dataCount *= dataDims[d];
  if (dataCount <= 0) return cudaSuccess;
  cudaError_t status = copyData(data, y, dataCount, elementBytes, stream);
  if (status != cudaSuccess) return status;
  if (rows <= 0) return cudaSuccess;
  ScatterScratch s;
  if (rows > int64_t{UINT32_MAX} || !layOut(scratch, scratchBytes, rows, s)) return cudaErrorInvalidValue;
  int64_t slice = 1;
  for (int d = last; d < rank; ++d) slice *= dataDims[d];
  // The indexed dims' strides counted in slices.
  IndexedDims dims;
  dims.last = last;
  int64_t stride = 1;
  for (int k = last - 1; k >= 0; --k) {
    dims.sizes[k] = dataDims[k];
    dims.strides[k] = stride;
    stride *= dataDims[k];
  }
  const auto sentinel = static_cast<uint64_t>(dataCount / slice);
  sliceTargetsKernel<<<gridFor(rows, kThreads), kThreads, 0, stream>>>(indices, s.keys, s.rows, rows, dims,
                                                                       sentinel);
  status = cudaGetLastError();
  if (status != cudaSuccess) return status;
  return sortAndApply(reduction, type, elementBytes, s, updates, y, rows, slice, sentinel, stream);
}

cudaError_t launchGatherND(int elementBytes, const void* data, const int64_t* indices, void* y, int rank,
                           const int64_t* dataDims, int batchDims, int64_t rows, int last,
                           cudaStream_t stream) {
  if (rank < 1 || batchDims < 0 || last < 0 || last > kMaxCopyRank || batchDims + last > rank)
    return cudaErrorInvalidValue;
  int64_t slice = 1;
  for (int d = batchDims + last; d < rank; ++d) slice *= dataDims[d];
  const int64_t count = rows * slice;
  if (count <= 0) return cudaSuccess;
  int64_t batches = 1;
  for (int d = 0; d < batchDims; ++d) batches *= dataDims[d];
  if (batches <= 0 || rows % batches != 0) return cudaErrorInvalidValue;
  int64_t batchStride = 1;
  for (int d = batchDims; d < rank; ++d) batchStride *= dataDims[d];
  IndexedDims dims;
  dims.last = last;
  int64_t stride = slice;
  for (int k = last - 1; k >= 0; --k) {
    dims.sizes[k] = dataDims[batchDims + k];
    dims.strides[k] = stride;
    stride *= dataDims[batchDims + k];
  }
  const bool known = dispatchWord(elementBytes, [&](auto tag) {
    using W = decltype(tag);
    gatherNDKernel<W><<<gridFor(count, kThreads), kThreads, 0, stream>>>(static_cast<const W*>(data), indices,
                                                                         static_cast<W*>(y), count, dims,
                                                                         slice, rows / batches, batchStride);
  });
  return known ? cudaGetLastError() : cudaErrorInvalidValue;
}

cudaError_t launchOneHot(int elementBytes, const void* indices, bool indicesAre64, const void* values,
                         void* y, int64_t outer, int64_t depth, int64_t inner, cudaStream_t stream) {
  const int64_t count = outer * depth * inner;
  if (count <= 0) return cudaSuccess;
  const bool known = dispatchWord(elementBytes, [&](auto tag) {
    using W = decltype(tag);
    const auto* v = static_cast<const W*>(values);
    auto* out = static_cast<W*>(y);
    if (indicesAre64) {
      oneHotKernel<W><<<gridFor(count, kThreads), kThreads, 0, stream>>>(static_cast<const int64_t*>(indices),
                                                                         v, out, count, depth, inner);
    } else {
      oneHotKernel<W><<<gridFor(count, kThreads), kThreads, 0, stream>>>(static_cast<const int32_t*>(indices),
                                                                         v, out, count, depth, inner);
    }
  });
  return known ? cudaGetLastError() : cudaErrorInvalidValue;
}

}  // namespace lowp::kernels::cuda
