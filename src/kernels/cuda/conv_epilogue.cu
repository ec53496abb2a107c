// The epilogue of a cuDNN convolution where cuDNN cannot fuse it: y = act(y + bias[channel] + residual), in
// place, over NCHW or NHWC output (launch.h). Memory-bound and one pass over y; activations in fp32
// (device_util.cuh, activate).
// Tests: tests/gpu/test_conv.cpp (FusedConv with every activation), against the CPU reference kernel.
#include <cmath>

#include "kernels/cuda/device_util.cuh"

namespace lowp::kernels::cuda {
namespace {

constexpr int kThreads = 256;

template <typename T>
__global__ void epilogueKernel(T* __restrict__ y, int64_t n, int64_t channels, int64_t spatial, bool hwc,
                               Epilogue e) {
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  const T* residual = static_cast<const T*>(e.residual);
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += stride) {
    float v = toFloat(y[i]);
    if (e.bias != nullptr) {
      const int64_t c = hwc ? i % channels : i / spatial % channels;
      v += e.biasType == Elem::kF32 ? static_cast<const float*>(e.bias)[c]
                                    : toFloat(static_cast<const T*>(e.bias)[c]);
    }
    if (residual != nullptr) v += toFloat(residual[i]);
    y[i] = fromFloat<T>(activate(e, v));
  }
}

}  // namespace

cudaError_t launchConvEpilogue(Elem type, void* y, int64_t images, int64_t channels, int64_t spatial,
                               bool hwc, const Epilogue& epilogue, cudaStream_t stream) {
  const int64_t n = images * channels * spatial;
  if (n <= 0) return cudaSuccess;
  cudaError_t result = cudaErrorInvalidValue;
  dispatchFloatElem(type, [&](auto tag) {
    using T = decltype(tag);
    epilogueKernel<T><<<gridFor(n, kThreads), kThreads, 0, stream>>>(static_cast<T*>(y), n, channels, spatial,
                                                                     hwc, epilogue);
    result = cudaGetLastError();
  });
  return result;
}

}  // namespace lowp::kernels::cuda
