// Casts to and from integers and bool on the GPU (launch.h, launchIntegerCast): one thread per element, the
// conversion of conversion_numeric.h's convertElement written for the device.
// Tests: tests/gpu/test_elementwise.cpp (CudaCast.IntegersAndBoolMatchTheReference).
#include <cstdint>
#include <limits>
#include <type_traits>

#include "kernels/cuda/device_util.cuh"

namespace lowp::kernels::cuda {
namespace {

constexpr int kThreads = 256;

// An integer as fp32 rounded to odd (rounded toward zero, the last bit set where that was inexact), so that
// the one rounding to fp16 or bf16 after it is the correctly rounded result.
template <typename I>
__device__ __forceinline__ float roundedToOdd(I v) {
  const auto wide = static_cast<long long>(v);
  float f = __ll2float_rz(wide);
  if (static_cast<long long>(f) != wide) f = __int_as_float(__float_as_int(f) | 1);
  return f;
}

template <typename I>
__device__ __forceinline__ I truncated(double v) {
  if (isnan(v)) return 0;
  constexpr double kLowest = static_cast<double>(std::numeric_limits<I>::lowest());
  constexpr double kAboveMax = static_cast<double>(std::numeric_limits<I>::max()) + 1.0;
  if (v <= kLowest) return std::numeric_limits<I>::lowest();
  if (v >= kAboveMax) return std::numeric_limits<I>::max();
  return static_cast<I>(v);
}

template <typename S, typename D>
__device__ __forceinline__ D convert(S v) {
  if constexpr (std::is_same_v<D, bool>) {
    if constexpr (kIsFloat<S>) {
      return toFloat(v) != 0.0f;
    } else {
      return v != 0;
    }
  } else if constexpr (std::is_same_v<S, bool>) {
    return convert<uint8_t, D>(v ? 1 : 0);
  } else if constexpr (kIsFloat<S>) {
    return truncated<D>(static_cast<double>(toFloat(v)));  // D is an integer: float pairs run elsewhere
  } else if constexpr (std::is_same_v<D, float>) {
    return static_cast<float>(v);  // one correctly rounded step
  } else if constexpr (kIsFloat<D>) {
    return fromFloat<D>(roundedToOdd(v));
  } else {
    return static_cast<D>(v);
  }
}

template <typename S, typename D>
__global__ void castKernel(const S* __restrict__ x, D* __restrict__ y, int64_t n) {
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += stride)
    y[i] = convert<S, D>(x[i]);
}

}  // namespace

cudaError_t launchIntegerCast(ValueType from, ValueType to, const void* x, void* y, int64_t n,
                              cudaStream_t stream) {
  if (n <= 0) return cudaSuccess;
  bool known = false;
  dispatchValueType(from, [&](auto source) {
    known = dispatchValueType(to, [&](auto target) {
      using S = decltype(source);
      using D = decltype(target);
      if constexpr (kIsFloat<S> && kIsFloat<D>) {
        return;  // launchCast's
      } else {
        castKernel<S, D>
            <<<gridFor(n, kThreads), kThreads, 0, stream>>>(static_cast<const S*>(x), static_cast<D*>(y), n);
      }
    });
  });
  const bool floats = isFloat(from) && isFloat(to);
  return known && !floats ? cudaGetLastError() : cudaErrorInvalidValue;
}

}  // namespace lowp::kernels::cuda
