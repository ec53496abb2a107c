// Resize on the GPU (launch.h): one thread per output element decomposes its index, looks up each resized
// axis's taps in the tables resize.cpp made, and reads the input there. Nearest moves the one element it
// names as an unsigned word; linear and cubic sum the products of the axes' weights in fp32 over every
// combination of taps and round once.
// Tests: tests/gpu/test_resize.cpp, against the CPU reference kernel.
#include <cstdint>

#include "kernels/cuda/device_util.cuh"

namespace lowp::kernels::cuda {
namespace {

constexpr int kThreads = 256;

// Output element i as its index along each axis.
__device__ __forceinline__ void outputIndex(int64_t i, const ResizeTables& t, int64_t* index) {
  for (int d = t.rank - 1; d >= 0; --d) {
    index[d] = i % t.outDims[d];
    i /= t.outDims[d];
  }
}

template <typename W>
__global__ void resizeNearestKernel(const W* __restrict__ x, W* __restrict__ y, int64_t n, ResizeTables t,
                                    W fill) {
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += stride) {
    int64_t index[kMaxCopyRank];
    outputIndex(i, t, index);
    int64_t at = 0;
    bool outside = false;
    for (int d = 0; d < t.rank; ++d) {
      if (t.taps[d] == 0) {
        at += index[d] * t.inStrides[d];
        continue;
      }
      outside |= t.count[t.countFirst[d] + index[d]] < 0;
      at += t.offset[t.first[d] + index[d] * t.taps[d]];
    }
    y[i] = outside ? fill : x[at];
  }
}

template <typename T>
__global__ void resizeInterpolateKernel(const T* __restrict__ x, T* __restrict__ y, int64_t n, ResizeTables t,
                                        float fill) {
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += stride) {
    int64_t index[kMaxCopyRank];
    outputIndex(i, t, index);
    // The resized axes: where their taps start and how many each has.
    int64_t row[kMaxCopyRank];
    int count[kMaxCopyRank];
    int active = 0;
    int64_t base = 0;
    bool outside = false;
    for (int d = 0; d < t.rank; ++d) {
      if (t.taps[d] == 0) {
        base += index[d] * t.inStrides[d];
        continue;
      }
      count[active] = t.count[t.countFirst[d] + index[d]];
      outside |= count[active] < 0;
      row[active] = t.first[d] + index[d] * t.taps[d];
      ++active;
    }
    if (outside) {
      y[i] = fromFloat<T>(fill);
      continue;
    }
    // Every combination of one tap per resized axis, the last axis fastest.
    int digit[kMaxCopyRank] = {};
    float sum = 0.0f;
    for (;;) {
      float w = 1.0f;
      int64_t at = base;
      for (int k = 0; k < active; ++k) {
        w *= t.weight[row[k] + digit[k]];
        at += t.offset[row[k] + digit[k]];
      }
      sum = fmaf(w, toFloat(x[at]), sum);
      int k = active - 1;
      while (k >= 0 && ++digit[k] == count[k]) digit[k--] = 0;
      if (k < 0) break;
    }
    y[i] = fromFloat<T>(sum);
  }
}

int64_t elementsOf(const ResizeTables& t) {
  int64_t n = 1;
  for (int d = 0; d < t.rank; ++d) n *= t.outDims[d];
  return n;
}

template <typename W>
cudaError_t nearest(const void* x, void* y, const ResizeTables& t, uint64_t fill, cudaStream_t stream) {
  const int64_t n = elementsOf(t);
  W word{};
  static_assert(sizeof(W) <= sizeof(fill));
  __builtin_memcpy(&word, &fill, sizeof(W));
  resizeNearestKernel<W><<<gridFor(n, kThreads), kThreads, 0, stream>>>(static_cast<const W*>(x),
                                                                        static_cast<W*>(y), n, t, word);
  return cudaGetLastError();
}

}  // namespace

cudaError_t launchResizeNearest(int elementBytes, const void* x, void* y, const ResizeTables& tables,
                                uint64_t fill, cudaStream_t stream) {
  switch (elementBytes) {
    case 1:
      return nearest<uint8_t>(x, y, tables, fill, stream);
    case 2:
      return nearest<uint16_t>(x, y, tables, fill, stream);
    case 4:
      return nearest<uint32_t>(x, y, tables, fill, stream);
    case 8:
      return nearest<uint64_t>(x, y, tables, fill, stream);
    default:
      return cudaErrorInvalidValue;
  }
}

cudaError_t launchResizeInterpolate(Elem type, const void* x, void* y, const ResizeTables& tables, float fill,
                                    cudaStream_t stream) {
  const int64_t n = elementsOf(tables);
  cudaError_t result = cudaErrorInvalidValue;
  dispatchFloatElem(type, [&](auto tag) {
    using T = decltype(tag);
    resizeInterpolateKernel<T><<<gridFor(n, kThreads), kThreads, 0, stream>>>(
        static_cast<const T*>(x), static_cast<T*>(y), n, tables, fill);
    result = cudaGetLastError();
  });
  return result;
}

}  // namespace lowp::kernels::cuda
