// LayerNormalization over contiguous rows on the GPU (launch.h, launchLayerNormLastAxis): one warp per row,
// four rows per block. Two passes over the row compute the mean and then the variance as the mean of
// (x - mean)^2 (no cancellation, unlike E[x^2] - mean^2), both in fp32 and reduced across the warp; a third
// writes y = (x - mean) * rsd * scale + bias in fp32, rounded once, in the order of the reference kernel.
// A row of up to a few thousand elements stays in L1 between passes; one of up to 1024 elements whose size
// and pointers allow 16-byte vectors (8 fp16 / bf16 or 4 fp32 elements per lane) stays in registers and is
// read once. lowp.FusedLayerNorm's residual is added as the row is read, the sum rounded to the tensor type
// as the Add it replaces stored it; its rows may lie in another order (residual_perm, RowMap).
// Tests: tests/gpu/test_layernorm.cpp, against the CPU reference kernel.
#include <cmath>

#include "kernels/cuda/device_util.cuh"

namespace lowp::kernels::cuda {
namespace {

constexpr int kWarpsPerBlock = 4;

/// Element j of vector v of the row, plus the residual's (rounded to T, as the Add stored the sum).
template <typename T, int kVec>
__device__ __forceinline__ float rowValue(const Vec<T, kVec>& v, const Vec<T, kVec>* r, int j) {
  if (r == nullptr) return toFloat(v.v[j]);
  return toFloat(fromFloat<T>(toFloat(v.v[j]) + toFloat(r->v[j])));
}

__device__ __forceinline__ int64_t rowStart(const RowMap& map, int64_t r, int64_t size) {
  if (map.dims == 0) return r * size;
  int64_t start = 0;
  for (int d = map.dims - 1; d >= 0; --d) {
    start += r % map.sizes[d] * map.strides[d];
    r /= map.sizes[d];
  }
  return start;
}

// Writes a row's statistics where asked (lane 0 of its warp).
__device__ __forceinline__ void storeStatistics(const RowNormalization& n, int lane, int64_t r, float mean,
                                                float rsd) {
  if (lane != 0) return;
  if (n.mean != nullptr) n.mean[r] = mean;
  if (n.invStdDev != nullptr) n.invStdDev[r] = rsd;
}

template <bool kRms, typename T, int kVec>
__global__ void layerNormRowsKernel(const T* __restrict__ x, const T* __restrict__ scale,
                                    const T* __restrict__ bias, T* __restrict__ y, int64_t rows, int64_t size,
                                    float epsilon, const T* __restrict__ residual, RowMap residualRows,
                                    RowNormalization normalization) {
  using V = Vec<T, kVec>;
  const int lane = threadIdx.x % 32;
  const int64_t vectors = size / kVec;
  const int64_t warps = static_cast<int64_t>(gridDim.x) * kWarpsPerBlock;
  for (int64_t r = static_cast<int64_t>(blockIdx.x) * kWarpsPerBlock + threadIdx.x / 32; r < rows;
       r += warps) {
    const V* in = reinterpret_cast<const V*>(x + r * size);
    const V* add = residual != nullptr
                       ? reinterpret_cast<const V*>(residual + rowStart(residualRows, r, size))
                       : nullptr;
    V* out = reinterpret_cast<V*>(y + r * size);
    float sum = 0.0f;
    if constexpr (!kRms) {
      for (int64_t k = lane; k < vectors; k += 32) {
        const V v = in[k];
        V rv{};
        if (add != nullptr) rv = add[k];
#pragma unroll
        for (int j = 0; j < kVec; ++j) sum += rowValue<T, kVec>(v, add != nullptr ? &rv : nullptr, j);
      }
    }
    const float mean = kRms ? 0.0f : warpSum(sum) / static_cast<float>(size);
    float squares = 0.0f;
    for (int64_t k = lane; k < vectors; k += 32) {
      const V v = in[k];
      V rv{};
      if (add != nullptr) rv = add[k];
#pragma unroll
      for (int j = 0; j < kVec; ++j) {
        const float d = rowValue<T, kVec>(v, add != nullptr ? &rv : nullptr, j) - mean;
        squares += d * d;
      }
    }
    const float rsd = 1.0f / sqrtf(warpSum(squares) / static_cast<float>(size) + epsilon);
    storeStatistics(normalization, lane, r, mean, rsd);
    for (int64_t k = lane; k < vectors; k += 32) {
      const V v = in[k];
      V rv{};
      if (add != nullptr) rv = add[k];
      const V s = reinterpret_cast<const V*>(scale)[k];
      V b{};
      if (bias != nullptr) b = reinterpret_cast<const V*>(bias)[k];
      V o;
#pragma unroll
      for (int j = 0; j < kVec; ++j) {
        float value =
            (rowValue<T, kVec>(v, add != nullptr ? &rv : nullptr, j) - mean) * rsd * toFloat(s.v[j]);
        if (bias != nullptr) value += toFloat(b.v[j]);
        o.v[j] = fromFloat<T>(value);
      }
      out[k] = o;
    }
  }
}

/// The same for rows of at most 32 * kPerLane vectors, held in registers: X (and the residual) are read
/// once, and the three passes run on the registers.
template <bool kRms, typename T, int kVec, int kPerLane>
__global__ void layerNormRowsInRegistersKernel(const T* __restrict__ x, const T* __restrict__ scale,
                                               const T* __restrict__ bias, T* __restrict__ y, int64_t rows,
                                               int64_t size, float epsilon, const T* __restrict__ residual,
                                               RowMap residualRows, RowNormalization normalization) {
  using V = Vec<T, kVec>;
  const int lane = threadIdx.x % 32;
  const int64_t vectors = size / kVec;
  const int64_t warps = static_cast<int64_t>(gridDim.x) * kWarpsPerBlock;
  for (int64_t r = static_cast<int64_t>(blockIdx.x) * kWarpsPerBlock + threadIdx.x / 32; r < rows;
       r += warps) {
    const V* in = reinterpret_cast<const V*>(x + r * size);
    const V* add = residual != nullptr
                       ? reinterpret_cast<const V*>(residual + rowStart(residualRows, r, size))
                       : nullptr;
    float values[kPerLane][kVec];
    float sum = 0.0f;
#pragma unroll
    for (int p = 0; p < kPerLane; ++p) {
      const int64_t k = lane + 32 * p;
      if (k >= vectors) break;
      const V v = in[k];
      V rv{};
      if (add != nullptr) rv = add[k];
#pragma unroll
      for (int j = 0; j < kVec; ++j) {
        values[p][j] = rowValue<T, kVec>(v, add != nullptr ? &rv : nullptr, j);
        sum += values[p][j];
      }
    }
    const float mean = kRms ? 0.0f : warpSum(sum) / static_cast<float>(size);
    float squares = 0.0f;
#pragma unroll
    for (int p = 0; p < kPerLane; ++p) {
      if (lane + 32 * p >= vectors) break;
#pragma unroll
      for (int j = 0; j < kVec; ++j) {
        const float d = values[p][j] - mean;
        squares += d * d;
      }
    }
    const float rsd = 1.0f / sqrtf(warpSum(squares) / static_cast<float>(size) + epsilon);
    storeStatistics(normalization, lane, r, mean, rsd);
    V* out = reinterpret_cast<V*>(y + r * size);
#pragma unroll
    for (int p = 0; p < kPerLane; ++p) {
      const int64_t k = lane + 32 * p;
      if (k >= vectors) break;
      const V s = reinterpret_cast<const V*>(scale)[k];
      V b{};
      if (bias != nullptr) b = reinterpret_cast<const V*>(bias)[k];
      V o;
#pragma unroll
      for (int j = 0; j < kVec; ++j) {
        float value = (values[p][j] - mean) * rsd * toFloat(s.v[j]);
        if (bias != nullptr) value += toFloat(b.v[j]);
        o.v[j] = fromFloat<T>(value);
      }
      out[k] = o;
    }
  }
}

template <bool kRms, typename T>
void launchRows(const T* x, const T* scale, const T* bias, T* y, int64_t rows, int64_t size, float epsilon,
                const T* residual, const RowMap& residualRows, const RowNormalization& normalization,
                cudaStream_t stream) {
  constexpr int kVec = 16 / sizeof(T);
  const unsigned blocks = gridFor(rows, kWarpsPerBlock);
  const bool vectorOk = size % kVec == 0 && aligned(x, 16) && aligned(y, 16) && aligned(scale, 16) &&
                        (bias == nullptr || aligned(bias, 16)) &&
                        (residual == nullptr || aligned(residual, 16));
  constexpr int kPerLane = 1024 / (32 * kVec);  // rows of up to 1024 elements stay in registers
  if (vectorOk && size / kVec <= 32 * kPerLane) {
    layerNormRowsInRegistersKernel<kRms, T, kVec, kPerLane><<<blocks, kWarpsPerBlock * 32, 0, stream>>>(
        x, scale, bias, y, rows, size, epsilon, residual, residualRows, normalization);
  } else if (vectorOk) {
    layerNormRowsKernel<kRms, T, kVec><<<blocks, kWarpsPerBlock * 32, 0, stream>>>(
        x, scale, bias, y, rows, size, epsilon, residual, residualRows, normalization);
  } else {
    layerNormRowsKernel<kRms, T, 1><<<blocks, kWarpsPerBlock * 32, 0, stream>>>(
        x, scale, bias, y, rows, size, epsilon, residual, residualRows, normalization);
  }
}

}  // namespace

cudaError_t launchLayerNormLastAxis(Elem type, const void* x, const void* scale, const void* bias, void* y,
                                    int64_t rows, int64_t size, float epsilon, cudaStream_t stream,
                                    const void* residual, const RowMap& residualRows,
                                    const RowNormalization& normalization) {
  if (rows <= 0 || size <= 0) return cudaSuccess;
  cudaError_t result = cudaErrorInvalidValue;
  dispatchFloatElem(type, [&](auto tag) {
    using T = decltype(tag);
    const auto* px = static_cast<const T*>(x);
    const auto* ps = static_cast<const T*>(scale);
    const auto* pb = static_cast<const T*>(bias);
    auto* py = static_cast<T*>(y);
    const auto* pr = static_cast<const T*>(residual);
    if (normalization.rms) {
      launchRows<true>(px, ps, pb, py, rows, size, epsilon, pr, residualRows, normalization, stream);
    } else {
      launchRows<false>(px, ps, pb, py, rows, size, epsilon, pr, residualRows, normalization, stream);
    }
    result = cudaGetLastError();
  });
  return result;
}

}  // namespace lowp::kernels::cuda
