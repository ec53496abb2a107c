// Data movement on the GPU (launch.h): strided copies into a dense output (Transpose) and Slice. Elements
// are moved as unsigned words of their size; no value is interpreted.
// - launchStridedCopy: where the output's last dim reads contiguous input, each thread copies words of up
//   to 16 bytes (whole elements) found by decomposing its output index (contiguous runs coalesce on both
//   sides); otherwise 32 x 32 tiles of (the output's last dim) x (the input's contiguous dim) pass through
//   shared memory, read along the input's contiguous dim and written along the output's, one block of 32 x 8
//   threads per tile.
// - launchSlice: every block's first thread turns the starts, axes and steps (device memory: the values may
//   be computed while planning or at run time) into a base offset and strides, then the block copies as a
//   strided copy. Nothing waits for the device.
// - launchGather: output element (outer, j, inner) is input element (outer, indices[j], inner); a thread
//   moves one word of up to 16 bytes of an inner run.
// - launchCopyRows: rows between two pitches (Concat), in words of up to 16 bytes; long rows take a 2-D grid
//   (rows along y, so no thread divides), short ones one flat grid-stride loop. A key/value cache's Concat
//   (64 rows of 1 MB and one of 256 bytes each, fp16) on an H200: 0.043 ms, 3.1 TB/s of reads and writes,
//   against 0.090 ms for the cudaMemcpy2DAsync it replaced (bench/attention_bench.py's decode-gqa-cache).
// Tests: tests/gpu/test_tensor.cpp, against the CPU reference kernels.
#include <cstdint>
#include <optional>

#include "kernels/cuda/device_util.cuh"

namespace lowp::kernels::cuda {
namespace {

constexpr int kThreads = 256;
constexpr int kTile = 32;
constexpr int kTileRows = 8;

// The input offset of output element i: base + sum over dims of coordinate * stride.
__device__ __forceinline__ int64_t sourceOffset(int64_t i, int rank, const int64_t* dims,
                                                const int64_t* strides, int64_t base) {
  int64_t at = base;
  for (int d = rank - 1; d >= 0; --d) {
    at += (i % dims[d]) * strides[d];
    i /= dims[d];
  }
  return at;
}

template <typename W>
__global__ void stridedCopyKernel(const W* __restrict__ x, W* __restrict__ y, int64_t n,
                                  StridedCopyPlan plan) {
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += stride)
    y[i] = x[sourceOffset(i, plan.rank, plan.dims, plan.inStrides, plan.base)];
}

// Tiles over output dims `inner` (the last; input stride plan.inStrides[inner]) and `contiguous` (input
// stride 1); blockIdx.z walks the product `batch` of the other dims.
template <typename W>
__global__ void tiledCopyKernel(const W* __restrict__ x, W* __restrict__ y, StridedCopyPlan plan,
                                int contiguous, int64_t batch) {
  __shared__ W tile[kTile][kTile + 1];  // +1: the column reads hit 32 different banks
  const int inner = plan.rank - 1;
  int64_t outStrides[kMaxCopyRank];
  int64_t s = 1;
  for (int d = plan.rank - 1; d >= 0; --d) {
    outStrides[d] = s;
    s *= plan.dims[d];
  }
  const int64_t innerStart = static_cast<int64_t>(blockIdx.x) * kTile;
  const int64_t contiguousStart = static_cast<int64_t>(blockIdx.y) * kTile;
  for (int64_t b = blockIdx.z; b < batch; b += gridDim.z) {
    int64_t inBase = plan.base;
    int64_t outBase = 0;
    int64_t rest = b;
    for (int d = plan.rank - 1; d >= 0; --d) {
      if (d == inner || d == contiguous) continue;
      const int64_t c = rest % plan.dims[d];
      rest /= plan.dims[d];
      inBase += c * plan.inStrides[d];
      outBase += c * outStrides[d];
    }
    for (int r = threadIdx.y; r < kTile; r += kTileRows) {
      const int64_t l = innerStart + r;
      const int64_t c = contiguousStart + threadIdx.x;
      if (l < plan.dims[inner] && c < plan.dims[contiguous])
        tile[r][threadIdx.x] = x[inBase + l * plan.inStrides[inner] + c];
    }
    __syncthreads();
    for (int r = threadIdx.y; r < kTile; r += kTileRows) {
      const int64_t c = contiguousStart + r;
      const int64_t l = innerStart + threadIdx.x;
      if (l < plan.dims[inner] && c < plan.dims[contiguous])
        y[outBase + c * outStrides[contiguous] + l] = tile[threadIdx.x][r];
    }
    __syncthreads();
  }
}

template <typename W>
cudaError_t stridedCopy(const void* x, void* y, const StridedCopyPlan& plan, cudaStream_t stream) {
  int64_t n = 1;
  for (int d = 0; d < plan.rank; ++d) n *= plan.dims[d];
  if (n <= 0) return cudaSuccess;
  const auto* in = static_cast<const W*>(x);
  auto* out = static_cast<W*>(y);
  int contiguous = -1;
  for (int d = 0; d < plan.rank; ++d) {
    if (plan.inStrides[d] == 1) contiguous = d;
  }
  if (plan.rank < 2 || contiguous < 0 || contiguous == plan.rank - 1) {
    stridedCopyKernel<W><<<gridFor(n, kThreads), kThreads, 0, stream>>>(in, out, n, plan);
    return cudaGetLastError();
  }
  const int64_t innerTiles = (plan.dims[plan.rank - 1] + kTile - 1) / kTile;
  const int64_t contiguousTiles = (plan.dims[contiguous] + kTile - 1) / kTile;
  const int64_t batch = n / (plan.dims[plan.rank - 1] * plan.dims[contiguous]);
  if (innerTiles > 0x7fffffff || contiguousTiles > 65535) {
    stridedCopyKernel<W><<<gridFor(n, kThreads), kThreads, 0, stream>>>(in, out, n, plan);
    return cudaGetLastError();
  }
  const dim3 grid(static_cast<unsigned>(innerTiles), static_cast<unsigned>(contiguousTiles),
                  static_cast<unsigned>(batch < 65535 ? batch : 65535));
  tiledCopyKernel<W><<<grid, dim3(kTile, kTileRows), 0, stream>>>(in, out, plan, contiguous, batch);
  return cudaGetLastError();
}

__device__ __forceinline__ int64_t readIndex(const void* p, bool is64, int64_t k) {
  return is64 ? static_cast<const int64_t*>(p)[k] : static_cast<const int32_t*>(p)[k];
}

template <typename W>
__global__ void sliceKernel(const W* __restrict__ x, W* __restrict__ y, int64_t n, SliceParams params) {
  __shared__ int64_t base;
  __shared__ int64_t strides[kMaxCopyRank];
  if (threadIdx.x == 0) {
    int64_t inStride = 1;
    int64_t starts[kMaxCopyRank];
    int64_t steps[kMaxCopyRank];
    for (int d = 0; d < params.rank; ++d) {
      starts[d] = 0;
      steps[d] = 1;
    }
    for (int64_t k = 0; k < params.count; ++k) {
      int64_t axis = params.axes != nullptr ? readIndex(params.axes, params.axesAre64, k) : k;
      if (axis < 0) axis += params.rank;
      if (axis < 0 || axis >= params.rank) continue;  // inference rejected such a node already
      const int64_t dim = params.inDims[axis];
      const int64_t step = params.steps != nullptr ? readIndex(params.steps, params.stepsAre64, k) : 1;
      int64_t start = readIndex(params.starts, params.startsAre64, k);
      if (start < 0) start += dim;
      // ONNX clamps starts to [0, dim] for positive steps and [0, dim - 1] for negative ones.
      const int64_t hi = step > 0 ? dim : dim - 1;
      start = start < 0 ? 0 : (start > hi ? hi : start);
      starts[axis] = start;
      steps[axis] = step;
    }
    int64_t b = 0;
    for (int d = params.rank - 1; d >= 0; --d) {
      strides[d] = inStride * steps[d];
      b += starts[d] * inStride;
      inStride *= params.inDims[d];
    }
    base = b;
  }
  __syncthreads();
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += stride)
    y[i] = x[sourceOffset(i, params.rank, params.outDims, strides, base)];
}

// `indices` are in [-axis, axis) (checked by the caller): negative ones count from the end.
template <typename W, typename I>
__global__ void gatherKernel(const W* __restrict__ x, W* __restrict__ y, int64_t n, int64_t inner,
                             int64_t axis, int64_t count, const I* __restrict__ indices) {
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += stride) {
    const int64_t k = i % inner;
    const int64_t j = (i / inner) % count;
    const int64_t outer = i / (inner * count);
    int64_t index = static_cast<int64_t>(indices[j]);
    if (index < 0) index += axis;
    y[i] = index >= 0 && index < axis ? x[(outer * axis + index) * inner + k] : W{};
  }
}

template <typename W>
__global__ void copyLongRowsKernel(const W* __restrict__ x, int64_t xPitch, W* __restrict__ y, int64_t yPitch,
                                   int64_t rows, int64_t words) {
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t r = blockIdx.y; r < rows; r += gridDim.y) {
    const W* from = x + r * xPitch;
    W* to = y + r * yPitch;
    for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < words; i += stride)
      to[i] = from[i];
  }
}

template <typename W>
__global__ void copyShortRowsKernel(const W* __restrict__ x, int64_t xPitch, W* __restrict__ y,
                                    int64_t yPitch, int64_t n, int64_t words) {
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += stride) {
    const int64_t r = i / words;
    const int64_t k = i - r * words;
    y[r * yPitch + k] = x[r * xPitch + k];
  }
}

// Where the output's last dim reads contiguous input, the plan in words of `word` bytes instead of elements
// (runs of the last dim, every stride, the base and both addresses divisible by it); nullopt otherwise.
std::optional<StridedCopyPlan> inWords(const StridedCopyPlan& plan, int elementBytes, int word, const void* x,
                                       const void* y) {
  const int last = plan.rank - 1;
  if (plan.rank < 1 || plan.inStrides[last] != 1 || word <= elementBytes) return std::nullopt;
  auto divides = [&](int64_t elements) { return elements * elementBytes % word == 0; };
  if (!divides(plan.dims[last]) || !divides(plan.base) || reinterpret_cast<uintptr_t>(x) % word != 0 ||
      reinterpret_cast<uintptr_t>(y) % word != 0)
    return std::nullopt;
  StridedCopyPlan wide = plan;
  const int64_t per = word / elementBytes;
  for (int d = 0; d < last; ++d) {
    if (!divides(plan.inStrides[d])) return std::nullopt;
    wide.inStrides[d] = plan.inStrides[d] / per;
  }
  wide.dims[last] = plan.dims[last] / per;
  wide.base = plan.base / per;
  return wide;
}

}  // namespace

cudaError_t launchStridedCopy(int elementBytes, const void* x, void* y, const StridedCopyPlan& plan,
                              cudaStream_t stream) {
  if (plan.rank < 0 || plan.rank > kMaxCopyRank) return cudaErrorInvalidValue;
  // Rows that stay rows move as 16-, 8- or 4-byte words: fewer, wider loads and stores.
  for (int word : {16, 8, 4}) {
    if (auto wide = inWords(plan, elementBytes, word, x, y)) {
      if (word == 16) return stridedCopy<uint4>(x, y, *wide, stream);
      cudaError_t result = cudaErrorInvalidValue;
      dispatchWord(word, [&](auto tag) { result = stridedCopy<decltype(tag)>(x, y, *wide, stream); });
      return result;
    }
  }
  cudaError_t result = cudaErrorInvalidValue;
  dispatchWord(elementBytes, [&](auto tag) { result = stridedCopy<decltype(tag)>(x, y, plan, stream); });
  return result;
}

cudaError_t launchGather(int64_t innerBytes, const void* x, void* y, int64_t outer, int64_t axis,
                         const void* indices, bool indicesAre64, int64_t count, cudaStream_t stream) {
  // The widest word that divides the inner run and both addresses.
  int word = 16;
  while (word > 1 && (innerBytes % word != 0 || reinterpret_cast<uintptr_t>(x) % word != 0 ||
                      reinterpret_cast<uintptr_t>(y) % word != 0))
    word /= 2;
  const int64_t inner = innerBytes / word;
  const int64_t n = outer * count * inner;
  if (n <= 0) return cudaSuccess;
  auto run = [&](auto tag) {
    using W = decltype(tag);
    if (indicesAre64) {
      gatherKernel<W><<<gridFor(n, kThreads), kThreads, 0, stream>>>(
          static_cast<const W*>(x), static_cast<W*>(y), n, inner, axis, count,
          static_cast<const int64_t*>(indices));
    } else {
      gatherKernel<W><<<gridFor(n, kThreads), kThreads, 0, stream>>>(
          static_cast<const W*>(x), static_cast<W*>(y), n, inner, axis, count,
          static_cast<const int32_t*>(indices));
    }
  };
  if (word == 16) {
    run(uint4{});
  } else if (!dispatchWord(word, run)) {
    return cudaErrorInvalidValue;
  }
  return cudaGetLastError();
}

cudaError_t launchCopyRows(const void* x, int64_t xPitch, void* y, int64_t yPitch, int64_t rows,
                           int64_t rowBytes, cudaStream_t stream) {
  if (rows <= 0 || rowBytes <= 0) return cudaSuccess;
  int word = 16;
  while (word > 1 &&
         (rowBytes % word != 0 || xPitch % word != 0 || yPitch % word != 0 ||
          reinterpret_cast<uintptr_t>(x) % word != 0 || reinterpret_cast<uintptr_t>(y) % word != 0))
    word /= 2;
  const int64_t words = rowBytes / word;
  auto run = [&](auto tag) {
    using W = decltype(tag);
    const auto* from = static_cast<const W*>(x);
    auto* to = static_cast<W*>(y);
    if (words >= kThreads) {
      const unsigned across = gridFor(words, kThreads);
      const auto down = static_cast<unsigned>(rows < 65535 ? rows : 65535);
      copyLongRowsKernel<W>
          <<<dim3(across, down), kThreads, 0, stream>>>(from, xPitch / word, to, yPitch / word, rows, words);
    } else {
      copyShortRowsKernel<W><<<gridFor(rows * words, kThreads), kThreads, 0, stream>>>(
          from, xPitch / word, to, yPitch / word, rows * words, words);
    }
  };
  if (word == 16) {
    run(uint4{});
  } else if (!dispatchWord(word, run)) {
    return cudaErrorInvalidValue;
  }
  return cudaGetLastError();
}

cudaError_t launchSlice(int elementBytes, const void* x, void* y, const SliceParams& params,
                        cudaStream_t stream) {
  if (params.rank < 1 || params.rank > kMaxCopyRank) return cudaErrorInvalidValue;
  int64_t n = 1;
  for (int d = 0; d < params.rank; ++d) n *= params.outDims[d];
  if (n <= 0) return cudaSuccess;
  cudaError_t result = cudaErrorInvalidValue;
  dispatchWord(elementBytes, [&](auto tag) {
    using W = decltype(tag);
    sliceKernel<W><<<gridFor(n, kThreads), kThreads, 0, stream>>>(static_cast<const W*>(x),
                                                                  static_cast<W*>(y), n, params);
    result = cudaGetLastError();
  });
  return result;
}

}  // namespace lowp::kernels::cuda
