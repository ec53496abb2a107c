// The epilogue of a cuDNN convolution where cuDNN cannot fuse it: y = act(y + bias[channel] + residual), in
// place, over NCHW or NHWC output (launch.h); and the end of an int8 matrix product (launchRequantize): int32
// sums rescaled per column, biased, activated and rounded to the output type. Memory-bound and one pass over
// y, in 16-byte vectors where the addresses and the shape allow; activations in fp32 (device_util.cuh,
// activate); and the end of an fp8 product with an fp8 output (launchQuantizeEpilogueFp8): its fp16 result
// activated and quantized. Tests: tests/gpu/test_conv.cpp (FusedConv with every activation) and
// tests/gpu/test_quantized_matmul.cpp, against the CPU reference kernels.
#include <cuda_fp8.h>

#include <cmath>
#include <cstdint>
#include <type_traits>

#include "kernels/cuda/device_util.cuh"

namespace lowp::kernels::cuda {
namespace {

constexpr int kThreads = 256;

// act(y + bias[c] + *residual) for one element (`residual` null: none); the activation is e's, or kAct
// where the caller fixed it at compile time (no switch per element: the exact GELU's erf is most of the
// pass over a transformer's widest activation, and for fp16 / bf16 results geluErfNarrow does it).
template <typename T, int kAct = -1>
__device__ __forceinline__ T applyEpilogue(const Epilogue& e, T y, int64_t c, const T* residual) {
  float v = toFloat(y);
  if (e.bias != nullptr) {
    v += e.biasType == Elem::kF32 ? static_cast<const float*>(e.bias)[c]
                                  : toFloat(static_cast<const T*>(e.bias)[c]);
  }
  if (residual != nullptr) v += toFloat(*residual);
  if constexpr (kAct < 0) {
    return fromFloat<T>(activate(e, v));
  } else if constexpr (kAct == static_cast<int>(Activation::kGelu) && !std::is_same_v<T, float>) {
    return fromFloat<T>(e.alpha == 1.0f ? activate(e, v) : geluErfNarrow(v));
  } else {
    Epilogue fixed = e;
    fixed.activation = static_cast<Activation>(kAct);
    return fromFloat<T>(activate(fixed, v));
  }
}

template <typename T>
__global__ void epilogueKernel(T* __restrict__ y, int64_t n, int64_t channels, int64_t spatial, bool hwc,
                               Epilogue e) {
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  const T* residual = static_cast<const T*>(e.residual);
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += stride) {
    const int64_t c = e.bias == nullptr ? 0 : (hwc ? i % channels : i / spatial % channels);
    y[i] = applyEpilogue(e, y[i], c, residual != nullptr ? residual + i : nullptr);
  }
}

// The same over vectors of 16 bytes: every vector lies in one row of `channels` (hwc, channels a multiple
// of the vector) or one channel's plane (spatial a multiple of it), so its first element's channel gives
// the others'.
template <typename T, int kAct>
__global__ void vectorEpilogueKernel(T* __restrict__ y, int64_t vectors, int64_t channels, int64_t spatial,
                                     bool hwc, Epilogue e) {
  constexpr int kWidth = 16 / sizeof(T);
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  const T* residual = static_cast<const T*>(e.residual);
  for (int64_t v = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; v < vectors; v += stride) {
    const int64_t i = v * kWidth;
    alignas(16) T out[kWidth];
    *reinterpret_cast<uint4*>(out) = reinterpret_cast<const uint4*>(y)[v];
    alignas(16) T res[kWidth];
    if (residual != nullptr) *reinterpret_cast<uint4*>(res) = reinterpret_cast<const uint4*>(residual)[v];
    const int64_t c0 = e.bias == nullptr ? 0 : (hwc ? i % channels : i / spatial % channels);
#pragma unroll
    for (int k = 0; k < kWidth; ++k)
      out[k] = applyEpilogue<T, kAct>(e, out[k], hwc ? c0 + k : c0, residual != nullptr ? res + k : nullptr);
    reinterpret_cast<uint4*>(y)[v] = *reinterpret_cast<const uint4*>(out);
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
    constexpr int64_t kWidth = 16 / sizeof(T);
    const bool aligned =
        reinterpret_cast<uintptr_t>(y) % 16 == 0 && reinterpret_cast<uintptr_t>(epilogue.residual) % 16 == 0;
    const bool oneChannelRun =
        epilogue.bias == nullptr || (hwc ? channels % kWidth == 0 : spatial % kWidth == 0);
    if (aligned && n % kWidth == 0 && oneChannelRun) {
      auto launch = [&](auto kernel) {
        kernel<<<gridFor(n / kWidth, kThreads), kThreads, 0, stream>>>(static_cast<T*>(y), n / kWidth,
                                                                       channels, spatial, hwc, epilogue);
      };
      switch (epilogue.activation) {  // the activations that cost most per element, fixed in the kernel
        case Activation::kGelu:
          launch(vectorEpilogueKernel<T, static_cast<int>(Activation::kGelu)>);
          break;
        case Activation::kSigmoid:
          launch(vectorEpilogueKernel<T, static_cast<int>(Activation::kSigmoid)>);
          break;
        case Activation::kNone:
          launch(vectorEpilogueKernel<T, static_cast<int>(Activation::kNone)>);
          break;
        default:
          launch(vectorEpilogueKernel<T, -1>);
      }
    } else {
      epilogueKernel<T><<<gridFor(n, kThreads), kThreads, 0, stream>>>(static_cast<T*>(y), n, channels,
                                                                       spatial, hwc, epilogue);
    }
    result = cudaGetLastError();
  });
  return result;
}

namespace {

template <typename Out>
__global__ void requantizeKernel(const int32_t* __restrict__ acc, Out* __restrict__ y, int64_t rows,
                                 int64_t columns, const float* __restrict__ scale,
                                 const float* __restrict__ bias, Epilogue e, float outputScale) {
  const int64_t n = rows * columns;
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += stride) {
    const int64_t col = i % columns;
    float v = static_cast<float>(acc[i]) * scale[col];
    if (bias != nullptr) v += bias[col];
    v = activate(e, v);
    if constexpr (std::is_same_v<Out, int8_t>) {
      const float q = rintf(__fdiv_rn(v, outputScale));  // as the reference divides
      y[i] = static_cast<int8_t>(isnan(q) ? 0.0f : fminf(fmaxf(q, -128.0f), 127.0f));
    } else {
      y[i] = fromFloat<Out>(v);
    }
  }
}

}  // namespace

cudaError_t launchRequantize(const int32_t* acc, Elem out, void* y, int64_t rows, int64_t columns,
                             const float* scale, const float* bias, const Epilogue& activation,
                             float outputScale, cudaStream_t stream) {
  if (rows <= 0 || columns <= 0) return cudaSuccess;
  const auto grid = gridFor(rows * columns, kThreads);
  switch (out) {
    case Elem::kF32:
      requantizeKernel<float><<<grid, kThreads, 0, stream>>>(acc, static_cast<float*>(y), rows, columns,
                                                             scale, bias, activation, outputScale);
      break;
    case Elem::kF16:
      requantizeKernel<__half><<<grid, kThreads, 0, stream>>>(acc, static_cast<__half*>(y), rows, columns,
                                                              scale, bias, activation, outputScale);
      break;
    case Elem::kI8:
      requantizeKernel<int8_t><<<grid, kThreads, 0, stream>>>(acc, static_cast<int8_t*>(y), rows, columns,
                                                              scale, bias, activation, outputScale);
      break;
    default:
      return cudaErrorInvalidValue;
  }
  return cudaGetLastError();
}

namespace {

// act(x) / outputScale rounded to float8e4m3fn (saturated), 8 elements a thread: 16 bytes in, 8 out.
template <int kAct>
__global__ void quantizeEpilogueFp8Kernel(const __half* __restrict__ x, uint8_t* __restrict__ y,
                                          int64_t vectors, Epilogue e, float outputScale) {
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t v = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; v < vectors; v += stride) {
    alignas(16) __half in[8];
    *reinterpret_cast<uint4*>(in) = reinterpret_cast<const uint4*>(x)[v];
    alignas(8) uint8_t out[8];
#pragma unroll
    for (int k = 0; k < 8; ++k) {
      float a = __half2float(in[k]);
      if constexpr (kAct == static_cast<int>(Activation::kGelu)) {
        a = e.alpha == 1.0f ? activate(e, a) : geluErfNarrow(a);
      } else if constexpr (kAct == static_cast<int>(Activation::kNone)) {
      } else {
        a = activate(e, a);
      }
      out[k] =
          static_cast<uint8_t>(__nv_cvt_float_to_fp8(__fdiv_rn(a, outputScale), __NV_SATFINITE, __NV_E4M3));
    }
    reinterpret_cast<uint2*>(y)[v] = *reinterpret_cast<const uint2*>(out);
  }
}

}  // namespace

cudaError_t launchQuantizeEpilogueFp8(const void* x, void* y, int64_t n, const Epilogue& activation,
                                      float outputScale, cudaStream_t stream) {
  if (n <= 0) return cudaSuccess;
  if (n % 8 != 0 || reinterpret_cast<uintptr_t>(x) % 16 != 0 || reinterpret_cast<uintptr_t>(y) % 8 != 0)
    return cudaErrorInvalidValue;
  const auto grid = gridFor(n / 8, kThreads);
  const auto* in = static_cast<const __half*>(x);
  auto* out = static_cast<uint8_t*>(y);
  switch (activation.activation) {
    case Activation::kGelu:
      quantizeEpilogueFp8Kernel<static_cast<int>(Activation::kGelu)>
          <<<grid, kThreads, 0, stream>>>(in, out, n / 8, activation, outputScale);
      break;
    case Activation::kNone:
      quantizeEpilogueFp8Kernel<static_cast<int>(Activation::kNone)>
          <<<grid, kThreads, 0, stream>>>(in, out, n / 8, activation, outputScale);
      break;
    default:
      quantizeEpilogueFp8Kernel<-1><<<grid, kThreads, 0, stream>>>(in, out, n / 8, activation, outputScale);
  }
  return cudaGetLastError();
}

}  // namespace lowp::kernels::cuda
