// Comparisons, logic, Where, integer arithmetic, Mod and Pow on the GPU (launch.h states each contract):
// one thread per output element in a grid-stride loop, each operand read at its broadcast offset. These
// ops mostly run on masks, shapes and indices, small next to the tensors of the float kernels, so the
// kernels take the general broadcast path only (its dims merged, a single dim where shapes match).
// Tests: tests/gpu/test_logic.cpp, against the CPU reference kernels.
#include <cmath>
#include <cstdint>
#include <type_traits>

#include "kernels/cuda/device_util.cuh"

namespace lowp::kernels::cuda {
namespace {

constexpr int kThreads = 256;

// y[i] = f(a[at a], b[at b]) over the broadcast of `plan`.
template <typename A, typename B, typename Y, typename F>
__global__ void binaryKernel(const A* __restrict__ a, const B* __restrict__ b, Y* __restrict__ y,
                             BroadcastPlan plan, int64_t n, F f) {
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += stride) {
    int64_t at[2];
    broadcastOffsets(plan, i, at);
    y[i] = f(a[at[0]], b[at[1]]);
  }
}

template <typename A, typename B, typename Y, typename F>
cudaError_t launchBinary(const void* a, const void* b, void* y, const BroadcastPlan& plan, F f,
                         cudaStream_t stream) {
  const int64_t n = plan.count();
  if (n <= 0) return cudaSuccess;
  binaryKernel<<<gridFor(n, kThreads), kThreads, 0, stream>>>(
      static_cast<const A*>(a), static_cast<const B*>(b), static_cast<Y*>(y), plan, n, f);
  return cudaGetLastError();
}

template <typename X, typename Y, typename F>
__global__ void mapKernel(const X* __restrict__ x, Y* __restrict__ y, int64_t n, F f) {
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += stride)
    y[i] = f(x[i]);
}

template <typename X, typename Y, typename F>
cudaError_t launchMap(const void* x, void* y, int64_t n, F f, cudaStream_t stream) {
  if (n <= 0) return cudaSuccess;
  mapKernel<<<gridFor(n, kThreads), kThreads, 0, stream>>>(static_cast<const X*>(x), static_cast<Y*>(y), n,
                                                           f);
  return cudaGetLastError();
}

// ---- comparisons and logic ----

template <typename T, CompareOp kOp>
struct Compare {
  __device__ bool operator()(T a, T b) const {
    const auto x = computed(a);
    const auto y = computed(b);
    if constexpr (kOp == CompareOp::kEqual) {
      return x == y;
    } else if constexpr (kOp == CompareOp::kLess) {
      return x < y;
    } else if constexpr (kOp == CompareOp::kLessOrEqual) {
      return x <= y;
    } else if constexpr (kOp == CompareOp::kGreater) {
      return x > y;
    } else {
      return x >= y;
    }
  }
};

template <typename T>
cudaError_t compare(CompareOp op, const void* a, const void* b, bool* y, const BroadcastPlan& plan,
                    cudaStream_t stream) {
  switch (op) {
    case CompareOp::kEqual:
      return launchBinary<T, T, bool>(a, b, y, plan, Compare<T, CompareOp::kEqual>{}, stream);
    case CompareOp::kLess:
      return launchBinary<T, T, bool>(a, b, y, plan, Compare<T, CompareOp::kLess>{}, stream);
    case CompareOp::kLessOrEqual:
      return launchBinary<T, T, bool>(a, b, y, plan, Compare<T, CompareOp::kLessOrEqual>{}, stream);
    case CompareOp::kGreater:
      return launchBinary<T, T, bool>(a, b, y, plan, Compare<T, CompareOp::kGreater>{}, stream);
    case CompareOp::kGreaterOrEqual:
      return launchBinary<T, T, bool>(a, b, y, plan, Compare<T, CompareOp::kGreaterOrEqual>{}, stream);
  }
  return cudaErrorInvalidValue;
}

struct LogicFn {
  LogicOp op;
  __device__ bool operator()(bool a, bool b) const {
    switch (op) {
      case LogicOp::kAnd:
        return a && b;
      case LogicOp::kOr:
        return a || b;
      case LogicOp::kXor:
        return a != b;
    }
    return false;
  }
};

struct NotFn {
  __device__ bool operator()(bool x) const { return !x; }
};

template <typename T>
struct PredicateFn {
  FloatPredicate predicate;
  __device__ bool operator()(T v) const {
    const float x = toFloat(v);
    switch (predicate) {
      case FloatPredicate::kIsNaN:
        return isnan(x);
      case FloatPredicate::kIsInf:
        return isinf(x);
      case FloatPredicate::kIsPositiveInf:
        return isinf(x) && x > 0.0f;
      case FloatPredicate::kIsNegativeInf:
        return isinf(x) && x < 0.0f;
    }
    return false;
  }
};

// ---- integer arithmetic, Mod, Pow ----

// Two's-complement wrapping: the arithmetic runs on the unsigned type of T's width (int8 and uint8 promote
// to int, whose result converts back modulo 2^8).
template <typename T>
using Unsigned = std::make_unsigned_t<T>;

template <typename T>
__device__ __forceinline__ T negated(T a) {
  return static_cast<T>(Unsigned<T>{0} - static_cast<Unsigned<T>>(a));
}

template <typename T>
__device__ __forceinline__ T multiplied(T a, T b) {
  return static_cast<T>(static_cast<Unsigned<T>>(a) * static_cast<Unsigned<T>>(b));
}

template <typename T>
struct IntegerFn {
  IntegerOp op;
  __device__ T operator()(T a, T b) const {
    switch (op) {
      case IntegerOp::kAdd:
        return static_cast<T>(static_cast<Unsigned<T>>(a) + static_cast<Unsigned<T>>(b));
      case IntegerOp::kSub:
        return static_cast<T>(static_cast<Unsigned<T>>(a) - static_cast<Unsigned<T>>(b));
      case IntegerOp::kMul:
        return multiplied(a, b);
      case IntegerOp::kDiv:
        if constexpr (std::is_signed_v<T>) {
          if (b == -1) return negated(a);  // lowest / -1 overflows: it wraps to lowest
        }
        return static_cast<T>(a / b);
      case IntegerOp::kMax:
        return a < b ? b : a;
      case IntegerOp::kMin:
        return b < a ? b : a;
    }
    return a;
  }
};

template <typename T>
struct ModFn {
  bool fmod;
  __device__ T operator()(T a, T b) const {
    if constexpr (std::is_unsigned_v<T>) {
      return static_cast<T>(a % b);
    } else {
      using C = ComputeOf<T>;
      const C x = computed(a);
      const C y = computed(b);
      C r;
      if constexpr (kIsFloat<T>) {
        r = fmodf(x, y);
      } else {
        r = y == -1 ? C{0} : static_cast<C>(x % y);  // lowest % -1 overflows; the remainder is 0
      }
      if (!fmod && r != 0 && ((r < 0) != (y < 0))) r = static_cast<C>(r + y);
      return stored<T>(r);
    }
  }
};

template <typename T, typename E>
struct PowFn {
  __device__ T operator()(T a, E b) const {
    if constexpr (kIsFloat<T>) {
      return fromFloat<T>(powf(toFloat(a), static_cast<float>(computed(b))));
    } else {
      // By squaring, wrapping; a negative exponent gives 1 / a^e truncated toward zero.
      if constexpr (std::is_signed_v<E>) {
        if (b < 0) {
          if (a == 1) return 1;
          if (a == -1) return b % 2 == 0 ? T{1} : T{-1};
          return 0;
        }
      }
      T result = 1;
      T base = a;
      for (auto u = static_cast<std::make_unsigned_t<E>>(b); u != 0; u >>= 1) {
        if (u & 1u) result = multiplied(result, base);
        base = multiplied(base, base);
      }
      return result;
    }
  }
};

// ---- Where ----

template <typename Bits>
__global__ void whereKernel(const bool* __restrict__ cond, const Bits* __restrict__ x,
                            const Bits* __restrict__ y, Bits* __restrict__ out, BroadcastPlan plan,
                            int64_t n) {
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += stride) {
    int64_t at[3];
    broadcastOffsets(plan, i, at);
    out[i] = cond[at[0]] ? x[at[1]] : y[at[2]];
  }
}

template <typename Bits>
cudaError_t where(const bool* cond, const void* x, const void* y, void* out, const BroadcastPlan& plan,
                  cudaStream_t stream) {
  const int64_t n = plan.count();
  if (n <= 0) return cudaSuccess;
  whereKernel<<<gridFor(n, kThreads), kThreads, 0, stream>>>(
      cond, static_cast<const Bits*>(x), static_cast<const Bits*>(y), static_cast<Bits*>(out), plan, n);
  return cudaGetLastError();
}

}  // namespace

cudaError_t launchCompare(CompareOp op, ValueType type, const void* a, const void* b, bool* y,
                          const BroadcastPlan& plan, cudaStream_t stream) {
  if (type == ValueType::kBool && op != CompareOp::kEqual) return cudaErrorInvalidValue;
  cudaError_t result = cudaErrorInvalidValue;
  dispatchValueType(type, [&](auto tag) { result = compare<decltype(tag)>(op, a, b, y, plan, stream); });
  return result;
}

cudaError_t launchLogic(LogicOp op, const bool* a, const bool* b, bool* y, const BroadcastPlan& plan,
                        cudaStream_t stream) {
  return launchBinary<bool, bool, bool>(a, b, y, plan, LogicFn{op}, stream);
}

cudaError_t launchNot(const bool* x, bool* y, int64_t n, cudaStream_t stream) {
  return launchMap<bool, bool>(x, y, n, NotFn{}, stream);
}

cudaError_t launchFloatPredicate(FloatPredicate predicate, ValueType type, const void* x, bool* y, int64_t n,
                                 cudaStream_t stream) {
  cudaError_t result = cudaErrorInvalidValue;
  dispatchValueType(type, [&](auto tag) {
    using T = decltype(tag);
    if constexpr (kIsFloat<T>) result = launchMap<T, bool>(x, y, n, PredicateFn<T>{predicate}, stream);
  });
  return result;
}

cudaError_t launchIntegerArithmetic(IntegerOp op, ValueType type, const void* a, const void* b, void* y,
                                    const BroadcastPlan& plan, cudaStream_t stream) {
  cudaError_t result = cudaErrorInvalidValue;
  dispatchValueType(type, [&](auto tag) {
    using T = decltype(tag);
    if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>)
      result = launchBinary<T, T, T>(a, b, y, plan, IntegerFn<T>{op}, stream);
  });
  return result;
}

cudaError_t launchMod(ValueType type, bool fmod, const void* a, const void* b, void* y,
                      const BroadcastPlan& plan, cudaStream_t stream) {
  cudaError_t result = cudaErrorInvalidValue;
  dispatchValueType(type, [&](auto tag) {
    using T = decltype(tag);
    if constexpr (!std::is_same_v<T, bool>)
      result = launchBinary<T, T, T>(a, b, y, plan, ModFn<T>{fmod}, stream);
  });
  return result;
}

cudaError_t launchPow(ValueType base, ValueType exponent, const void* a, const void* b, void* y,
                      const BroadcastPlan& plan, cudaStream_t stream) {
  cudaError_t result = cudaErrorInvalidValue;
  dispatchValueType(base, [&](auto baseTag) {
    dispatchValueType(exponent, [&](auto exponentTag) {
      using T = decltype(baseTag);
      using E = decltype(exponentTag);
      constexpr bool kFloatBase = kIsFloat<T>;
      constexpr bool kWideInteger = std::is_same_v<T, int32_t> || std::is_same_v<T, int64_t>;
      constexpr bool kIntegerExponent = std::is_same_v<E, int32_t> || std::is_same_v<E, int64_t>;
      if constexpr ((kFloatBase && (kIsFloat<E> || kIntegerExponent)) || (kWideInteger && kIntegerExponent))
        result = launchBinary<T, E, T>(a, b, y, plan, PowFn<T, E>{}, stream);
    });
  });
  return result;
}

cudaError_t launchWhere(int elementBytes, const bool* cond, const void* x, const void* y, void* out,
                        const BroadcastPlan& plan, cudaStream_t stream) {
  cudaError_t result = cudaErrorInvalidValue;
  dispatchWord(elementBytes, [&](auto tag) { result = where<decltype(tag)>(cond, x, y, out, plan, stream); });
  return result;
}

}  // namespace lowp::kernels::cuda
