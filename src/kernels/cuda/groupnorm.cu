// GroupNormalization and InstanceNormalization on the GPU (launch.h, launchGroupNorm): one block of 256
// threads per (image, group), whose channels / groups * spatial elements are contiguous in NCHW. Two passes
// over them give the mean and then the mean of squared deviations (no cancellation), each reduced across the
// block in fp32; a third writes y with the channel's (or the group's) scale and bias. A group of a diffusion
// UNet (10 channels of 64 x 64) is 160 KB in fp32: its second and third passes read it from L2.
// Tests: tests/gpu/test_groupnorm.cpp, against the CPU reference kernels.
#include <cmath>

#include "kernels/cuda/device_util.cuh"

namespace lowp::kernels::cuda {
namespace {

constexpr int kThreads = 256;
constexpr int kWarps = kThreads / 32;

// The sum of every thread's v over the block, returned to all of them. `shared` holds kWarps floats.
__device__ __forceinline__ float blockSum(float v, float* shared) {
  const int lane = threadIdx.x % 32;
  const int warp = threadIdx.x / 32;
  v = warpSum(v);
  __syncthreads();  // the previous call's readers are done with `shared`
  if (lane == 0) shared[warp] = v;
  __syncthreads();
  float total = lane < kWarps ? shared[lane] : 0.0f;
  return warpSum(total);
}

template <typename T>
__global__ void groupNormKernel(const T* __restrict__ x, const T* __restrict__ scale,
                                const T* __restrict__ bias, T* __restrict__ y, int64_t rows, int64_t groups,
                                int64_t perGroup, int64_t spatial, bool perChannel, float epsilon) {
  __shared__ float shared[kWarps];
  const int64_t size = perGroup * spatial;
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const T* in = x + r * size;
    T* out = y + r * size;
    float sum = 0.0f;
    for (int64_t k = threadIdx.x; k < size; k += kThreads) sum += toFloat(in[k]);
    const float mean = blockSum(sum, shared) / static_cast<float>(size);
    float squares = 0.0f;
    for (int64_t k = threadIdx.x; k < size; k += kThreads) {
      const float d = toFloat(in[k]) - mean;
      squares += d * d;
    }
    const float denominator = sqrtf(blockSum(squares, shared) / static_cast<float>(size) + epsilon);
    const int64_t group = r % groups;
    for (int64_t k = threadIdx.x; k < size; k += kThreads) {
      const int64_t p = perChannel ? group * perGroup + k / spatial : group;
      out[k] = fromFloat<T>(toFloat(scale[p]) * ((toFloat(in[k]) - mean) / denominator) + toFloat(bias[p]));
    }
  }
}

}  // namespace

cudaError_t launchGroupNorm(Elem type, const void* x, const void* scale, const void* bias, void* y,
                            int64_t images, int64_t channels, int64_t spatial, int64_t groups,
                            bool perChannel, float epsilon, cudaStream_t stream) {
  if (groups <= 0 || channels % groups != 0) return cudaErrorInvalidValue;
  const int64_t rows = images * groups;
  if (rows <= 0 || channels * spatial == 0) return cudaSuccess;
  cudaError_t result = cudaErrorInvalidValue;
  dispatchFloatElem(type, [&](auto tag) {
    using T = decltype(tag);
    const unsigned blocks = static_cast<unsigned>(rows < 65535 ? rows : 65535);
    groupNormKernel<T><<<blocks, kThreads, 0, stream>>>(
        static_cast<const T*>(x), static_cast<const T*>(scale), static_cast<const T*>(bias),
        static_cast<T*>(y), rows, groups, channels / groups, spatial, perChannel, epsilon);
    result = cudaGetLastError();
  });
  return result;
}

}  // namespace lowp::kernels::cuda
