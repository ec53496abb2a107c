// Elementwise CUDA kernels: the unary ops of UnaryOp (Relu, Sigmoid, Clip, Tanh, Erf, Gelu, ...); Add, Sub,
// Mul, Div, Max and Min with broadcasting; Cast between fp32, fp16 and bf16; QuantizeLinear /
// DequantizeLinear between fp32, fp16 or bf16 and int8 / uint8 / float8e4m3fn with one scale (launch.h states
// each contract). Memory-bound: each thread moves 16-byte vectors of the wider of its two types (fp16: 8
// elements; fp32 to int8: 4 in, 4 bytes out) in a grid-stride loop, with a scalar path when a pointer is not
// aligned to the vector and a scalar tail. Values compute in fp32 and round once to the stored type. Tests:
// tests/gpu/test_elementwise.cpp, against the CPU reference kernels.
#include <cmath>

#include <cuda_fp8.h>

#include "kernels/cuda/elementwise_ops.cuh"

namespace lowp::kernels::cuda {
namespace {

constexpr int kThreads = 256;

// Functors give prepare(), called once per thread before the loop (reads device-side parameters such as a
// quantization scale), returning the functor that maps one element.
template <typename In, typename Out, int kVec, typename F>
__global__ void mapKernel(const In* __restrict__ x, Out* __restrict__ y, int64_t n, F f) {
  const auto op = f.prepare();
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  const int64_t first = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  const int64_t vectors = n / kVec;
  for (int64_t v = first; v < vectors; v += stride) {
    const Vec<In, kVec> in = reinterpret_cast<const Vec<In, kVec>*>(x)[v];
    Vec<Out, kVec> out;
#pragma unroll
    for (int j = 0; j < kVec; ++j) out.v[j] = op(in.v[j]);
    reinterpret_cast<Vec<Out, kVec>*>(y)[v] = out;
  }
  for (int64_t i = vectors * kVec + first; i < n; i += stride) y[i] = op(x[i]);
}

template <typename In, typename Out, typename F>
cudaError_t launchMap(const void* x, void* y, int64_t n, F f, cudaStream_t stream) {
  if (n <= 0) return cudaSuccess;
  constexpr int kVec = 16 / (sizeof(In) > sizeof(Out) ? sizeof(In) : sizeof(Out));
  const auto* in = static_cast<const In*>(x);
  auto* out = static_cast<Out*>(y);
  if (aligned(x, sizeof(In) * kVec) && aligned(y, sizeof(Out) * kVec)) {
    mapKernel<In, Out, kVec><<<gridFor(n / kVec + 1, kThreads), kThreads, 0, stream>>>(in, out, n, f);
  } else {
    mapKernel<In, Out, 1><<<gridFor(n, kThreads), kThreads, 0, stream>>>(in, out, n, f);
  }
  return cudaGetLastError();
}

// ---- unary ----

template <typename T>
struct UnaryFn {
  UnaryOp op;
  float alpha;
  float beta;
  __device__ UnaryFn prepare() const { return *this; }
  __device__ T operator()(T v) const { return fromFloat<T>(applyUnary(op, toFloat(v), alpha, beta)); }
};

template <typename T>
struct ClipFn {
  const T* minPtr;
  const T* maxPtr;
  float lo;
  float hi;
  __device__ ClipFn prepare() const {
    ClipFn r = *this;
    if (minPtr != nullptr) r.lo = toFloat(*minPtr);
    if (maxPtr != nullptr) r.hi = toFloat(*maxPtr);
    return r;
  }
  // max(min) order: with min > max every element becomes max, as ONNX specifies; NaN passes through.
  __device__ T operator()(T v) const {
    float x = toFloat(v);
    x = x < lo ? lo : x;
    return fromFloat<T>(x > hi ? hi : x);
  }
};

// ---- binary ----

// a op b, or b op a when bFirst (a uniform branch: every thread of the launch takes the same one).
template <BinaryOp kOp>
__device__ __forceinline__ float binaryOp(float a, float b, bool bFirst) {
  return bFirst ? applyBinary<kOp>(b, a) : applyBinary<kOp>(a, b);
}

// y[i] = a[i] op b[(i / inner) % count] (operands swapped when bFirst); with kVec > 1, inner is a multiple of
// kVec (one b per vector) or count == n (b read as vectors too).
template <typename T, BinaryOp kOp, int kVec, bool kBVector>
__global__ void binaryBlockKernel(const T* __restrict__ a, const T* __restrict__ b, T* __restrict__ y,
                                  int64_t n, int64_t inner, int64_t count, bool bFirst) {
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  const int64_t first = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  const int64_t vectors = n / kVec;
  for (int64_t v = first; v < vectors; v += stride) {
    const Vec<T, kVec> va = reinterpret_cast<const Vec<T, kVec>*>(a)[v];
    Vec<T, kVec> out;
    if constexpr (kBVector) {
      const Vec<T, kVec> vb = reinterpret_cast<const Vec<T, kVec>*>(b)[v];
#pragma unroll
      for (int j = 0; j < kVec; ++j)
        out.v[j] = fromFloat<T>(binaryOp<kOp>(toFloat(va.v[j]), toFloat(vb.v[j]), bFirst));
    } else {
      const float bv = toFloat(b[(v * kVec / inner) % count]);
#pragma unroll
      for (int j = 0; j < kVec; ++j) out.v[j] = fromFloat<T>(binaryOp<kOp>(toFloat(va.v[j]), bv, bFirst));
    }
    reinterpret_cast<Vec<T, kVec>*>(y)[v] = out;
  }
  for (int64_t i = vectors * kVec + first; i < n; i += stride)
    y[i] = fromFloat<T>(binaryOp<kOp>(toFloat(a[i]), toFloat(b[(i / inner) % count]), bFirst));
}

template <typename T, BinaryOp kOp>
__global__ void binaryGeneralKernel(const T* __restrict__ a, const T* __restrict__ b, T* __restrict__ y,
                                    BroadcastPlan plan, int64_t n) {
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += stride) {
    int64_t at[2];
    broadcastOffsets(plan, i, at);
    y[i] = fromFloat<T>(applyBinary<kOp>(toFloat(a[at[0]]), toFloat(b[at[1]])));
  }
}

template <typename T, BinaryOp kOp>
cudaError_t binaryBlock(const void* a, const void* b, void* y, int64_t n, int64_t inner, int64_t count,
                        bool bFirst, cudaStream_t stream) {
  constexpr int kVec = 16 / sizeof(T);
  const auto* pa = static_cast<const T*>(a);
  const auto* pb = static_cast<const T*>(b);
  auto* py = static_cast<T*>(y);
  const bool vectorOk = aligned(a, 16) && aligned(y, 16);
  if (vectorOk && inner == 1 && count == n && aligned(b, 16)) {
    binaryBlockKernel<T, kOp, kVec, true>
        <<<gridFor(n / kVec + 1, kThreads), kThreads, 0, stream>>>(pa, pb, py, n, inner, count, bFirst);
  } else if (vectorOk && inner % kVec == 0) {
    binaryBlockKernel<T, kOp, kVec, false>
        <<<gridFor(n / kVec + 1, kThreads), kThreads, 0, stream>>>(pa, pb, py, n, inner, count, bFirst);
  } else {
    binaryBlockKernel<T, kOp, 1, false>
        <<<gridFor(n, kThreads), kThreads, 0, stream>>>(pa, pb, py, n, inner, count, bFirst);
  }
  return cudaGetLastError();
}

// ---- quantize ----

template <typename In, typename Q>
struct QuantizeFn {
  const float* scalePtr;
  const Q* zeroPtr;
  float scale;
  float zero;
  __device__ QuantizeFn prepare() const {
    QuantizeFn r = *this;
    r.scale = *scalePtr;
    r.zero = zeroPtr != nullptr ? static_cast<float>(*zeroPtr) : 0.0f;
    return r;
  }
  __device__ Q operator()(In v) const {
    constexpr float kLo = std::is_signed_v<Q> ? -128.0f : 0.0f;
    constexpr float kHi = std::is_signed_v<Q> ? 127.0f : 255.0f;
    const float q = __fdiv_rn(toFloat(v), scale);  // the correctly rounded fp32 quotient, as the reference's
    if (isnan(q)) return static_cast<Q>(zero);
    // rintf rounds half to even; beyond 2^24 the sum may round, but such values saturate anyway.
    const float r = __fadd_rn(rintf(q), zero);
    return static_cast<Q>(fminf(fmaxf(r, kLo), kHi));
  }
};

// QuantizeLinear to float8e4m3fn (zero point 0): x / scale in fp32, rounded to nearest even and saturated to
// +-448 (ONNX's saturate=1), NaN kept; stored as the fp8 code.
template <typename In>
struct QuantizeFp8Fn {
  const float* scalePtr;
  float scale;
  __device__ QuantizeFp8Fn prepare() const {
    QuantizeFp8Fn r = *this;
    r.scale = *scalePtr;
    return r;
  }
  __device__ uint8_t operator()(In v) const {
    return static_cast<uint8_t>(
        __nv_cvt_float_to_fp8(__fdiv_rn(toFloat(v), scale), __NV_SATFINITE, __NV_E4M3));
  }
};

// DequantizeLinear from float8e4m3fn (zero point 0): the code's value (exact in fp16) times the scale.
template <typename Out>
struct DequantizeFp8Fn {
  const float* scalePtr;
  float scale;
  __device__ DequantizeFp8Fn prepare() const {
    DequantizeFp8Fn r = *this;
    r.scale = *scalePtr;
    return r;
  }
  __device__ Out operator()(uint8_t code) const {
    const float x = __half2float(__half(__nv_cvt_fp8_to_halfraw(code, __NV_E4M3)));
    if constexpr (std::is_same_v<Out, float>) {
      return __fmul_rn(x, scale);
    } else if constexpr (std::is_same_v<Out, __half>) {
      return __double2half(static_cast<double>(x) * static_cast<double>(scale));
    } else {
      return __double2bfloat16(static_cast<double>(x) * static_cast<double>(scale));
    }
  }
};

template <typename Q, typename Out>
struct DequantizeFn {
  const float* scalePtr;
  const Q* zeroPtr;
  float scale;
  int zero;
  __device__ DequantizeFn prepare() const {
    DequantizeFn r = *this;
    r.scale = *scalePtr;
    r.zero = zeroPtr != nullptr ? static_cast<int>(*zeroPtr) : 0;
    return r;
  }
  // x - zero is exact, and so is its product with the scale in fp64 (at most 9 x 24 bits): the value is
  // rounded once to the output type, as the reference rounds it.
  __device__ Out operator()(Q x) const {
    if constexpr (std::is_same_v<Out, float>) {
      return __fmul_rn(static_cast<float>(static_cast<int>(x) - zero), scale);
    } else if constexpr (std::is_same_v<Out, __half>) {
      return __double2half(static_cast<double>(static_cast<int>(x) - zero) * static_cast<double>(scale));
    } else {
      return __double2bfloat16(static_cast<double>(static_cast<int>(x) - zero) * static_cast<double>(scale));
    }
  }
};

template <typename From, typename To>
struct CastFn {
  __device__ CastFn prepare() const { return *this; }
  __device__ To operator()(From v) const { return fromFloat<To>(toFloat(v)); }
};

}  // namespace

cudaError_t launchUnary(UnaryOp op, Elem type, const void* x, void* y, int64_t n, const ClipBounds& bounds,
                        const UnaryAttributes& attributes, cudaStream_t stream) {
  cudaError_t result = cudaErrorInvalidValue;
  dispatchFloatElem(type, [&](auto tag) {
    using T = decltype(tag);
    if (op == UnaryOp::kClip) {
      result = launchMap<T, T>(x, y, n,
                               ClipFn<T>{static_cast<const T*>(bounds.min), static_cast<const T*>(bounds.max),
                                         bounds.minValue, bounds.maxValue},
                               stream);
    } else {
      result = launchMap<T, T>(x, y, n, UnaryFn<T>{op, attributes.alpha, attributes.beta}, stream);
    }
  });
  return result;
}

// Calls f with the BinaryOp as a compile-time constant.
template <typename F>
void dispatchBinaryOp(BinaryOp op, F&& f) {
  switch (op) {
    case BinaryOp::kAdd:
      f(std::integral_constant<BinaryOp, BinaryOp::kAdd>{});
      break;
    case BinaryOp::kMul:
      f(std::integral_constant<BinaryOp, BinaryOp::kMul>{});
      break;
    case BinaryOp::kSub:
      f(std::integral_constant<BinaryOp, BinaryOp::kSub>{});
      break;
    case BinaryOp::kDiv:
      f(std::integral_constant<BinaryOp, BinaryOp::kDiv>{});
      break;
    case BinaryOp::kMax:
      f(std::integral_constant<BinaryOp, BinaryOp::kMax>{});
      break;
    case BinaryOp::kMin:
      f(std::integral_constant<BinaryOp, BinaryOp::kMin>{});
      break;
  }
}

cudaError_t launchBinaryBlock(BinaryOp op, Elem type, const void* a, const void* b, void* y, int64_t n,
                              int64_t inner, int64_t count, bool bFirst, cudaStream_t stream) {
  if (n <= 0) return cudaSuccess;
  if (inner < 1 || count < 1) return cudaErrorInvalidValue;
  cudaError_t result = cudaErrorInvalidValue;
  dispatchFloatElem(type, [&](auto tag) {
    using T = decltype(tag);
    dispatchBinaryOp(op, [&](auto kOp) {
      result = binaryBlock<T, decltype(kOp)::value>(a, b, y, n, inner, count, bFirst, stream);
    });
  });
  return result;
}

cudaError_t launchBinaryGeneral(BinaryOp op, Elem type, const void* a, const void* b, void* y,
                                const BroadcastPlan& plan, cudaStream_t stream) {
  const int64_t n = plan.count();
  if (n <= 0) return cudaSuccess;
  cudaError_t result = cudaErrorInvalidValue;
  dispatchFloatElem(type, [&](auto tag) {
    using T = decltype(tag);
    dispatchBinaryOp(op, [&](auto kOp) {
      binaryGeneralKernel<T, decltype(kOp)::value><<<gridFor(n, kThreads), kThreads, 0, stream>>>(
          static_cast<const T*>(a), static_cast<const T*>(b), static_cast<T*>(y), plan, n);
      result = cudaGetLastError();
    });
  });
  return result;
}

namespace {

// A 32-bit integer hash (lowbias32): consecutive indices give unrelated bits.
__device__ uint32_t hash32(uint32_t x) {
  x ^= x >> 16;
  x *= 0x7feb352dU;
  x ^= x >> 15;
  x *= 0x846ca68bU;
  x ^= x >> 16;
  return x;
}

template <typename T>
__global__ void fillRandomKernel(T* __restrict__ y, int64_t n, uint32_t seed) {
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += stride) {
    const uint32_t bits = hash32(static_cast<uint32_t>(i) ^ hash32(seed + static_cast<uint32_t>(i >> 32)));
    if constexpr (std::is_same_v<T, int8_t> || std::is_same_v<T, uint8_t>) {
      y[i] = static_cast<T>(bits & 1U);
    } else {
      y[i] = fromFloat<T>(static_cast<float>(bits >> 8) * (2.0f / 16777216.0f) - 1.0f);
    }
  }
}

template <typename T>
cudaError_t launchFill(void* y, int64_t n, uint32_t seed, cudaStream_t stream) {
  if (n <= 0) return cudaSuccess;
  fillRandomKernel<T><<<gridFor(n, kThreads), kThreads, 0, stream>>>(static_cast<T*>(y), n, seed);
  return cudaGetLastError();
}

}  // namespace

cudaError_t launchFillRandom(Elem type, void* y, int64_t n, uint32_t seed, cudaStream_t stream) {
  if (type == Elem::kI8) return launchFill<int8_t>(y, n, seed, stream);
  if (type == Elem::kU8) return launchFill<uint8_t>(y, n, seed, stream);
  cudaError_t result = cudaErrorInvalidValue;
  dispatchFloatElem(type, [&](auto tag) { result = launchFill<decltype(tag)>(y, n, seed, stream); });
  return result;
}

cudaError_t launchCast(Elem from, Elem to, const void* x, void* y, int64_t n, cudaStream_t stream) {
  cudaError_t result = cudaErrorInvalidValue;
  dispatchFloatElem(from, [&](auto fromTag) {
    dispatchFloatElem(to, [&](auto toTag) {
      using From = decltype(fromTag);
      using To = decltype(toTag);
      result = launchMap<From, To>(x, y, n, CastFn<From, To>{}, stream);
    });
  });
  return result;
}

cudaError_t launchQuantize(Elem from, const void* x, void* y, bool isSigned, const float* scale,
                           const void* zeroPoint, int64_t n, cudaStream_t stream) {
  cudaError_t result = cudaErrorInvalidValue;
  dispatchFloatElem(from, [&](auto tag) {
    using T = decltype(tag);
    if (isSigned) {
      result = launchMap<T, int8_t>(
          x, y, n, QuantizeFn<T, int8_t>{scale, static_cast<const int8_t*>(zeroPoint), 1.0f, 0.0f}, stream);
    } else {
      result = launchMap<T, uint8_t>(
          x, y, n, QuantizeFn<T, uint8_t>{scale, static_cast<const uint8_t*>(zeroPoint), 1.0f, 0.0f}, stream);
    }
  });
  return result;
}

cudaError_t launchQuantizeFp8(Elem from, const void* x, void* y, const float* scale, int64_t n,
                              cudaStream_t stream) {
  cudaError_t result = cudaErrorInvalidValue;
  dispatchFloatElem(from, [&](auto tag) {
    using T = decltype(tag);
    result = launchMap<T, uint8_t>(x, y, n, QuantizeFp8Fn<T>{scale, 1.0f}, stream);
  });
  return result;
}

cudaError_t launchDequantizeFp8(const void* x, Elem to, void* y, const float* scale, int64_t n,
                                cudaStream_t stream) {
  cudaError_t result = cudaErrorInvalidValue;
  dispatchFloatElem(to, [&](auto tag) {
    using T = decltype(tag);
    result = launchMap<uint8_t, T>(x, y, n, DequantizeFp8Fn<T>{scale, 1.0f}, stream);
  });
  return result;
}

cudaError_t launchDequantize(const void* x, bool isSigned, Elem to, void* y, const float* scale,
                             const void* zeroPoint, int64_t n, cudaStream_t stream) {
  cudaError_t result = cudaErrorInvalidValue;
  dispatchFloatElem(to, [&](auto tag) {
    using T = decltype(tag);
    if (isSigned) {
      result = launchMap<int8_t, T>(
          x, y, n, DequantizeFn<int8_t, T>{scale, static_cast<const int8_t*>(zeroPoint), 1.0f, 0}, stream);
    } else {
      result = launchMap<uint8_t, T>(
          x, y, n, DequantizeFn<uint8_t, T>{scale, static_cast<const uint8_t*>(zeroPoint), 1.0f, 0}, stream);
    }
  });
  return result;
}

}  // namespace lowp::kernels::cuda
