// Device-side helpers of lowp's CUDA kernels: fp32 <-> stored float types, 16-byte vectors, grid sizes and
// the dispatch from Elem to a C++ type. Included by the .cu files only.
#pragma once

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <cstdint>
#include <type_traits>

#include "kernels/cuda/launch.h"

namespace lowp::kernels::cuda {

template <typename T>
__device__ __forceinline__ float toFloat(T v) {
  if constexpr (std::is_same_v<T, __half>) {
    return __half2float(v);
  } else if constexpr (std::is_same_v<T, __nv_bfloat16>) {
    return __bfloat162float(v);
  } else {
    return static_cast<float>(v);
  }
}

/// Round to nearest even, overflow to +-inf: the conversions of ir::floatToFloat16 / floatToBFloat16.
template <typename T>
__device__ __forceinline__ T fromFloat(float v) {
  if constexpr (std::is_same_v<T, __half>) {
    return __float2half_rn(v);
  } else if constexpr (std::is_same_v<T, __nv_bfloat16>) {
    return __float2bfloat16_rn(v);
  } else {
    return static_cast<T>(v);
  }
}

/// kN elements moved as one aligned access (16 bytes for kN * sizeof(T) == 16).
template <typename T, int kN>
struct alignas(sizeof(T) * kN) Vec {
  T v[kN];
};

inline bool aligned(const void* p, int64_t bytes) {
  return reinterpret_cast<uintptr_t>(p) % static_cast<uintptr_t>(bytes) == 0;
}

/// Blocks of `threads` for `work` items in a grid-stride loop: enough to fill any GPU several times over,
/// few enough that each thread does several items.
inline unsigned gridFor(int64_t work, int threads) {
  const int64_t blocks = (work + threads - 1) / threads;
  return static_cast<unsigned>(blocks < 1 ? 1 : (blocks > 8192 ? 8192 : blocks));
}

/// Calls f(T{}) with T = float, __half or __nv_bfloat16 (a tag: f reads T as decltype of its argument);
/// false for other types.
template <typename F>
bool dispatchFloatElem(Elem type, F&& f) {
  switch (type) {
    case Elem::kF32:
      f(float{});
      return true;
    case Elem::kF16:
      f(__half{});
      return true;
    case Elem::kBF16:
      f(__nv_bfloat16{});
      return true;
    default:
      return false;
  }
}

/// Whether T is one of the float types (fp32, fp16, bf16).
template <typename T>
inline constexpr bool kIsFloat =
    std::is_same_v<T, float> || std::is_same_v<T, __half> || std::is_same_v<T, __nv_bfloat16>;

/// What the reference computes T in (Compute<T>): fp32 for the float types, T itself for integers and bool.
template <typename T>
using ComputeOf = std::conditional_t<kIsFloat<T>, float, T>;

/// v in ComputeOf<T>; stored() rounds such a value back to T once.
template <typename T>
__device__ __forceinline__ ComputeOf<T> computed(T v) {
  if constexpr (kIsFloat<T>) {
    return toFloat(v);
  } else {
    return v;
  }
}

template <typename T>
__device__ __forceinline__ T stored(ComputeOf<T> v) {
  if constexpr (kIsFloat<T>) {
    return fromFloat<T>(v);
  } else {
    return v;
  }
}

/// Calls f(T{}) with the C++ type of `type`; false for none.
template <typename F>
bool dispatchValueType(ValueType type, F&& f) {
  switch (type) {
    case ValueType::kF32:
      f(float{});
      return true;
    case ValueType::kF16:
      f(__half{});
      return true;
    case ValueType::kBF16:
      f(__nv_bfloat16{});
      return true;
    case ValueType::kI8:
      f(int8_t{});
      return true;
    case ValueType::kU8:
      f(uint8_t{});
      return true;
    case ValueType::kI32:
      f(int32_t{});
      return true;
    case ValueType::kI64:
      f(int64_t{});
      return true;
    case ValueType::kBool:
      f(bool{});
      return true;
  }
  return false;
}

/// Calls f(W{}) with W the unsigned word of `bytes` bytes (1, 2, 4 or 8); false for other sizes: what the
/// kernels that move elements without reading their values dispatch on.
template <typename F>
bool dispatchWord(int bytes, F&& f) {
  switch (bytes) {
    case 1:
      f(uint8_t{});
      return true;
    case 2:
      f(uint16_t{});
      return true;
    case 4:
      f(uint32_t{});
      return true;
    case 8:
      f(uint64_t{});
      return true;
    default:
      return false;
  }
}

/// The offsets in each of the first kOperands operands of `plan` of output element i.
template <int kOperands>
__device__ __forceinline__ void broadcastOffsets(const BroadcastPlan& plan, int64_t i,
                                                 int64_t (&at)[kOperands]) {
  if (plan.rank == 1) {  // the common case once dims are merged: no division
#pragma unroll
    for (int k = 0; k < kOperands; ++k) at[k] = i * plan.stride[k][0];
    return;
  }
#pragma unroll
  for (int k = 0; k < kOperands; ++k) at[k] = 0;
  int64_t rest = i;
  for (int d = plan.rank - 1; d >= 0; --d) {
    const int64_t coord = rest % plan.out[d];
    rest /= plan.out[d];
#pragma unroll
    for (int k = 0; k < kOperands; ++k) at[k] += coord * plan.stride[k][d];
  }
}

/// The element of data that element i of GatherElements' indices (ScatterElements' updates) addresses with
/// `index` along the plan's axis (negative ones counted from the end), or -1 where the index is out of range.
__device__ __forceinline__ int64_t gatherElementsSource(const GatherElementsPlan& plan, int64_t i,
                                                        int64_t index) {
  int64_t rest = i;
  int64_t at = 0;
  for (int d = plan.rank - 1; d >= 0; --d) {
    const int64_t c = rest % plan.dims[d];
    rest /= plan.dims[d];
    if (d != plan.axis) at += c * plan.dataStrides[d];
  }
  if (index < 0) index += plan.axisSize;
  return index >= 0 && index < plan.axisSize ? at + index * plan.dataStrides[plan.axis] : -1;
}

/// A FusedConv activation in fp32, as ir::ops::applyActivation (ir/ops/fused.h) computes it.
__device__ __forceinline__ float activate(const Epilogue& e, float x) {
  switch (e.activation) {
    case Activation::kNone:
      return x;
    case Activation::kRelu:
      return x < 0.0f ? 0.0f : x;
    case Activation::kLeakyRelu:
      return x < 0.0f ? e.alpha * x : x;
    case Activation::kClip:
      x = x < e.alpha ? e.alpha : x;
      return x > e.beta ? e.beta : x;
    case Activation::kSigmoid: {
      if (x >= 0.0f) return 1.0f / (1.0f + expf(-x));
      const float ex = expf(x);
      return ex / (1.0f + ex);
    }
    case Activation::kHardSwish: {
      const float gate = x / 6.0f + 0.5f;
      return x * (gate < 0.0f ? 0.0f : (gate > 1.0f ? 1.0f : gate));
    }
    case Activation::kTanh:
      return tanhf(x);
    case Activation::kGelu:
      if (e.alpha == 1.0f) return 0.5f * x * (1.0f + tanhf(0.7978845608f * (x + 0.044715f * x * x * x)));
      return 0.5f * x * (1.0f + erff(x * 0.70710678f));  // x / sqrt(2) as a product
  }
  return x;
}

/// The erf GELU, x Phi(x), for results rounded to fp16 or bf16: erfc from Abramowitz and Stegun's 7.1.26
/// (absolute error under 1.5e-7, the size of the fp32 formula 0.5 x (1 + erf(x / sqrt(2)))'s own rounding;
/// over [-10, 10] every fp16 result is within one ulp of the exact function, as the fp32 formula's are
/// within two). One reciprocal and one exponential and no branch, where erff's two branches make the pass
/// after a transformer's widest product cost more than its memory traffic.
__device__ __forceinline__ float geluErfNarrow(float x) {
  const float u = fabsf(x) * 0.70710678f;
  const float t = __frcp_rn(fmaf(0.3275911f, u, 1.0f));
  const float poly =
      t * fmaf(t, fmaf(t, fmaf(t, fmaf(t, 1.061405429f, -1.453152027f), 1.421413741f), -0.284496736f),
               0.254829592f);
  const float erfc = poly * __expf(-u * u);  // erfc(u)
  return x * (x >= 0.0f ? fmaf(-0.5f, erfc, 1.0f) : 0.5f * erfc);
}

__device__ __forceinline__ float warpSum(float v) {
#pragma unroll
  for (int offset = 16; offset > 0; offset /= 2) v += __shfl_xor_sync(0xffffffffu, v, offset);
  return v;
}

__device__ __forceinline__ float warpMax(float v) {
#pragma unroll
  for (int offset = 16; offset > 0; offset /= 2) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, offset));
  return v;
}

}  // namespace lowp::kernels::cuda
