// Reference kernels of the elementwise ops with several inputs: binary arithmetic, bitwise and logic ops,
// comparisons, Pow, PRelu, the variadic Sum/Mean/Max/Min, Where and Clip. Inputs broadcast NumPy-style to
// the output shape inference gave (PRelu's slope unidirectionally to X). Values are computed in Compute<T>
// and rounded once; Sum and Mean accumulate all inputs in Compute<T> before rounding. Integer arithmetic
// wraps like NumPy; integer division or modulo by zero is an error rather than undefined behaviour.
#include <cstring>
#include <limits>
#include <string>
#include <type_traits>
#include <utility>

#include "kernels/reference/common.h"
#include "kernels/reference/elementwise_common.h"

namespace lowp::kernels::ref::elementwise {
namespace {

std::string typeName(DataType t) {
  return std::string(ir::dataTypeInfo(t).name);
}

/// A stateless binary op given as a generic lambda on the compute type.
template <auto F>
struct Pure {
  explicit Pure(const ir::AttributeMap& /*attrs*/) {}
  template <typename C>
  auto operator()(C a, C b) const {
    return F(a, b);
  }
};

template <typename C>
C divide(C a, C b) {
  if constexpr (kIsInt<C> && std::is_signed_v<C>) {
    // lowest / -1 overflows (and traps on x86); it wraps to lowest, like NumPy.
    if (b == -1) return negWrap(a);
  }
  return static_cast<C>(a / b);
}

struct Mod {
  bool truncated;  ///< fmod=1: the remainder has the dividend's sign (C fmod); else the divisor's.
  explicit Mod(const ir::AttributeMap& a) : truncated(a.getInt("fmod", 0) != 0) {}
  template <typename C>
  C operator()(C a, C b) const {
    if constexpr (std::is_unsigned_v<C>) {
      return static_cast<C>(a % b);
    } else {
      C r;
      if constexpr (kIsFloat<C>) {
        r = std::fmod(a, b);
      } else {
        r = b == -1 ? C{0} : static_cast<C>(a % b);  // lowest % -1 traps on x86; the remainder is 0
      }
      if (!truncated && r != 0 && ((r < 0) != (b < 0))) r = static_cast<C>(r + b);
      return r;
    }
  }
};

struct BitShift {
  bool left;
  explicit BitShift(const ir::AttributeMap& a) : left(a.getString("direction") == "LEFT") {}
  template <typename C>
  C operator()(C a, C b) const {
    // Shifting by the width or more is undefined in C++; every bit has been shifted out.
    if (static_cast<uint64_t>(b) >= static_cast<uint64_t>(std::numeric_limits<C>::digits)) return 0;
    auto wide = static_cast<WrapType<C>>(a);
    return static_cast<C>(left ? wide << b : wide >> b);
  }
};

template <typename C>
C prelu(C x, C slope) {
  if constexpr (std::is_unsigned_v<C>) {
    return x;
  } else {
    return x < 0 ? mulWrap(slope, x) : x;
  }
}

/// Applies Op to broadcast pairs; ops returning bool (comparisons, logic) write a bool tensor.
/// With kIntegerDivision, an integer divisor containing zero is an error.
template <Types K, typename Op, bool kIntegerDivision = false>
Status binaryKernel(KernelContext& ctx) {
  const Tensor& a = ctx.input(0);
  const Tensor& b = ctx.input(1);
  Tensor& y = ctx.output(0);
  if (a.type() != b.type())
    return ctx.invalid("inputs have types " + typeName(a.type()) + " and " + typeName(b.type()));
  LOWP_RETURN_IF_ERROR(checkBroadcastsTo(ctx, a, y.shape()));
  LOWP_RETURN_IF_ERROR(checkBroadcastsTo(ctx, b, y.shape()));
  const Op op(ctx.attrs());
  Status status;
  bool ok = dispatchIn<K>(a.type(), [&]<typename T>() {
    using C = Compute<T>;
    using R = decltype(op(std::declval<C>(), std::declval<C>()));
    const T* pa = a.data<T>();
    const T* pb = b.data<T>();
    if constexpr (kIntegerDivision && kIsInt<T>) {
      for (int64_t i = 0; i < b.elementCount(); ++i) {
        if (pb[i] == 0) {
          status = ctx.invalid("integer division by zero");
          return;
        }
      }
    }
    if constexpr (std::is_same_v<R, bool>) {
      bool* out = y.data<bool>();
      forEachOutput<2>(ctx, y.shape(), {&a, &b}, [&](int64_t i, const std::array<int64_t, 2>& at) {
        out[i] = op(toCompute(pa[at[0]]), toCompute(pb[at[1]]));
      });
    } else {
      T* out = y.data<T>();
      forEachOutput<2>(ctx, y.shape(), {&a, &b}, [&](int64_t i, const std::array<int64_t, 2>& at) {
        out[i] = fromCompute<T>(static_cast<C>(op(toCompute(pa[at[0]]), toCompute(pb[at[1]]))));
      });
    }
  });
  if (!ok) return ctx.unsupported("no reference kernel for type " + typeName(a.type()));
  return status;
}

/// Integer power by squaring, wrapping on overflow. A negative exponent gives 1/base^e truncated toward
/// zero: 0 unless |base| is 1.
template <typename C, typename E>
C integerPower(C base, E e) {
  if constexpr (std::is_signed_v<E>) {
    if (e < 0) {
      if (base == 1) return 1;
      if (base == -1) return e % 2 == 0 ? C{1} : C{-1};
      return 0;
    }
  }
  C result = 1;
  for (auto u = static_cast<std::make_unsigned_t<E>>(e); u != 0; u >>= 1) {
    if (u & 1u) result = mulWrap(result, base);
    base = mulWrap(base, base);
  }
  return result;
}

template <typename T, typename E>
Compute<T> power(T base, E exponent) {
  using C = Compute<T>;
  const C b = toCompute(base);
  const auto e = toCompute(exponent);
  if constexpr (kIsFloat<T>) {
    return std::pow(b, static_cast<C>(e));
  } else if constexpr (kIsInt<decltype(e)>) {
    return integerPower(b, e);
  } else {
    return fromDouble<C>(std::pow(static_cast<double>(b), static_cast<double>(e)));
  }
}

/// Pow: the exponent may have another type than the base (opset 12+); the output has the base's type.
Status powKernel(KernelContext& ctx) {
  const Tensor& a = ctx.input(0);
  const Tensor& b = ctx.input(1);
  Tensor& y = ctx.output(0);
  LOWP_RETURN_IF_ERROR(checkBroadcastsTo(ctx, a, y.shape()));
  LOWP_RETURN_IF_ERROR(checkBroadcastsTo(ctx, b, y.shape()));
  bool ok = false;
  dispatchIn<Types::kPowBase>(a.type(), [&]<typename T>() {
    ok = dispatchIn<Types::kNumeric>(b.type(), [&]<typename E>() {
      const T* pa = a.data<T>();
      const E* pb = b.data<E>();
      T* out = y.data<T>();
      forEachOutput<2>(ctx, y.shape(), {&a, &b}, [&](int64_t i, const std::array<int64_t, 2>& at) {
        out[i] = fromCompute<T>(power(pa[at[0]], pb[at[1]]));
      });
    });
  });
  if (!ok)
    return ctx.unsupported("no reference kernel for " + typeName(a.type()) + " ^ " + typeName(b.type()));
  return {};
}

template <typename C>
C maxOf(C a, C b) {
  if constexpr (kIsFloat<C>) {
    if (std::isnan(a) || std::isnan(b)) return std::numeric_limits<C>::quiet_NaN();  // NaN propagates
  }
  return a < b ? b : a;
}

template <typename C>
C minOf(C a, C b) {
  if constexpr (kIsFloat<C>) {
    if (std::isnan(a) || std::isnan(b)) return std::numeric_limits<C>::quiet_NaN();
  }
  return b < a ? b : a;
}

/// Folds all inputs (broadcast to the output) with Combine, in Compute<T>; Mean divides by the count.
template <Types K, auto Combine, bool kMean = false>
Status variadicKernel(KernelContext& ctx) {
  Tensor& y = ctx.output(0);
  const size_t count = ctx.inputCount();
  for (size_t k = 0; k < count; ++k) {
    if (!ctx.hasInput(k)) return ctx.invalid("input " + std::to_string(k) + " is missing");
    if (ctx.input(k).type() != y.type()) {
      return ctx.invalid("input " + std::to_string(k) + " has type " + typeName(ctx.input(k).type()) +
                         ", the output " + typeName(y.type()));
    }
    LOWP_RETURN_IF_ERROR(checkBroadcastsTo(ctx, ctx.input(k), y.shape()));
  }
  bool ok = dispatchIn<K>(y.type(), [&]<typename T>() {
    using C = Compute<T>;
    std::vector<C> acc(static_cast<size_t>(y.elementCount()));
    for (size_t k = 0; k < count; ++k) {
      const Tensor& in = ctx.input(k);
      const T* p = in.data<T>();
      forEachOutput<1>(ctx, y.shape(), {&in}, [&](int64_t i, const std::array<int64_t, 1>& at) {
        auto& slot = acc[static_cast<size_t>(i)];
        slot = k == 0 ? toCompute(p[at[0]]) : Combine(slot, toCompute(p[at[0]]));
      });
    }
    T* out = y.data<T>();
    for (size_t i = 0; i < acc.size(); ++i) {
      out[i] = fromCompute<T>(kMean ? static_cast<C>(acc[i] / static_cast<C>(count)) : acc[i]);
    }
  });
  if (!ok) return ctx.unsupported("no reference kernel for type " + typeName(y.type()));
  return {};
}

/// Where selects whole elements, so it copies them as bit patterns of their width and serves every
/// stored type, fp8 included.
template <typename Bits>
void selectElements(KernelContext& ctx, const Tensor& cond, const Tensor& x, const Tensor& y, Tensor& out) {
  const bool* pc = cond.data<bool>();
  const Bits* px = x.data<Bits>();
  const Bits* py = y.data<Bits>();
  Bits* po = out.data<Bits>();
  forEachOutput<3>(ctx, out.shape(), {&cond, &x, &y}, [&](int64_t i, const std::array<int64_t, 3>& at) {
    po[i] = pc[at[0]] ? px[at[1]] : py[at[2]];
  });
}

Status whereKernel(KernelContext& ctx) {
  const Tensor& cond = ctx.input(0);
  const Tensor& x = ctx.input(1);
  const Tensor& y = ctx.input(2);
  Tensor& out = ctx.output(0);
  if (cond.type() != DataType::kBool) return ctx.invalid("condition has type " + typeName(cond.type()));
  if (x.type() != y.type() || out.type() != x.type()) {
    return ctx.invalid("X and Y have types " + typeName(x.type()) + " and " + typeName(y.type()));
  }
  for (const Tensor* t : {&cond, &x, &y}) LOWP_RETURN_IF_ERROR(checkBroadcastsTo(ctx, *t, out.shape()));
  switch (dataTypeSize(x.type())) {
    case 1:
      selectElements<uint8_t>(ctx, cond, x, y, out);
      return {};
    case 2:
      selectElements<uint16_t>(ctx, cond, x, y, out);
      return {};
    case 4:
      selectElements<uint32_t>(ctx, cond, x, y, out);
      return {};
    case 8:
      selectElements<uint64_t>(ctx, cond, x, y, out);
      return {};
    default:
      return ctx.unsupported("no reference kernel for type " + typeName(x.type()));
  }
}

/// Clip's bound: input `slot` when given (opset 11+), else the attribute (opsets 6-10), else `fallback`.
template <typename T>
Result<Compute<T>> clipBound(const KernelContext& ctx, size_t slot, std::string_view attr,
                             Compute<T> fallback) {
  if (ctx.hasInput(slot)) {
    const Tensor& t = ctx.input(slot);
    if (t.elementCount() != 1 || t.type() != ctx.input(0).type()) {
      return ctx.invalid(std::string(attr) + " must be one value of the input's type, got " + t.describe());
    }
    return toCompute(t.data<T>()[0]);
  }
  if (ctx.attrs().has(attr)) return static_cast<Compute<T>>(ctx.attrs().getFloat(attr, 0.0f));
  return fallback;
}

Status clipKernel(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  Tensor& y = ctx.output(0);
  if (y.elementCount() != x.elementCount()) return ctx.invalid("output size differs from the input's");
  Status status;
  bool ok = dispatchIn<Types::kNumeric>(x.type(), [&]<typename T>() {
    using C = Compute<T>;
    using Limits = std::numeric_limits<C>;
    auto lo = clipBound<T>(ctx, 1, "min", kIsFloat<C> ? -Limits::infinity() : Limits::lowest());
    auto hi = clipBound<T>(ctx, 2, "max", kIsFloat<C> ? Limits::infinity() : Limits::max());
    if (!lo || !hi) {
      status = !lo ? lo.status() : hi.status();
      return;
    }
    const T* in = x.data<T>();
    T* out = y.data<T>();
    // max(min) order: when min > max every element becomes max, as ONNX specifies; NaN passes through.
    ctx.parallelFor(x.elementCount(), kGrain, [&, l = *lo, h = *hi](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i) {
        C v = toCompute(in[i]);
        v = v < l ? l : v;
        out[i] = fromCompute<T>(v > h ? h : v);
      }
    });
  });
  if (!ok) return ctx.unsupported("no reference kernel for type " + typeName(x.type()));
  return status;
}

/// A kernel definition for a binary op on class K whose output is K (or bool when `boolOutput`).
template <Types K, typename Op, bool kIntegerDivision = false>
KernelDef binary(std::string_view op, std::string_view name, bool boolOutput = false) {
  return {.opType = op,
          .name = name,
          .inputTypes = {typeSetOf(K)},
          .outputTypes = {boolOutput ? TypeSet{DataType::kBool} : typeSetOf(K)},
          .fn = &binaryKernel<K, Op, kIntegerDivision>};
}

template <Types K, auto Combine, bool kMean = false>
KernelDef variadic(std::string_view op, std::string_view name) {
  return {.opType = op,
          .name = name,
          .inputTypes = {typeSetOf(K)},
          .outputTypes = {typeSetOf(K)},
          .fn = &variadicKernel<K, Combine, kMean>};
}

}  // namespace

void registerBinaryKernels(KernelRegistry& registry) {
  constexpr Types kNum = Types::kNumeric;
  // Arithmetic.
  registry.add(binary<kNum, Pure<[](auto a, auto b) { return addWrap(a, b); }>>("Add", "any-add-ref"));
  registry.add(binary<kNum, Pure<[](auto a, auto b) { return subWrap(a, b); }>>("Sub", "any-sub-ref"));
  registry.add(binary<kNum, Pure<[](auto a, auto b) { return mulWrap(a, b); }>>("Mul", "any-mul-ref"));
  registry.add(binary<kNum, Pure<[](auto a, auto b) { return divide(a, b); }>, true>("Div", "any-div-ref"));
  registry.add(binary<kNum, Mod, true>("Mod", "any-mod-ref"));
  registry.add({.opType = "Pow",
                .name = "any-pow-ref",
                .inputTypes = {typeSetOf(Types::kPowBase), typeSetOf(kNum)},
                .outputTypes = {typeSetOf(Types::kPowBase)},
                .fn = &powKernel});
  registry.add(
      binary<kNum, Pure<[](auto x, auto slope) { return prelu(x, slope); }>>("PRelu", "any-prelu-ref"));

  // Bitwise and logic.
  constexpr Types kInt = Types::kInteger;
  registry.add(binary<kInt, Pure<[](auto a, auto b) { return a & b; }>>("BitwiseAnd", "any-bitwiseand-ref"));
  registry.add(binary<kInt, Pure<[](auto a, auto b) { return a | b; }>>("BitwiseOr", "any-bitwiseor-ref"));
  registry.add(binary<kInt, Pure<[](auto a, auto b) { return a ^ b; }>>("BitwiseXor", "any-bitwisexor-ref"));
  registry.add(binary<Types::kUnsigned, BitShift>("BitShift", "any-bitshift-ref"));
  registry.add(
      binary<Types::kBool, Pure<[](auto a, auto b) { return a && b; }>>("And", "bool-and-ref", true));
  registry.add(binary<Types::kBool, Pure<[](auto a, auto b) { return a || b; }>>("Or", "bool-or-ref", true));
  registry.add(
      binary<Types::kBool, Pure<[](auto a, auto b) { return a != b; }>>("Xor", "bool-xor-ref", true));

  // Comparisons.
  registry.add(binary<Types::kNumericOrBool, Pure<[](auto a, auto b) { return a == b; }>>(
      "Equal", "any-equal-ref", true));
  registry.add(binary<kNum, Pure<[](auto a, auto b) { return a < b; }>>("Less", "any-less-ref", true));
  registry.add(
      binary<kNum, Pure<[](auto a, auto b) { return (a > b); }>>("Greater", "any-greater-ref", true));
  registry.add(
      binary<kNum, Pure<[](auto a, auto b) { return a <= b; }>>("LessOrEqual", "any-lessorequal-ref", true));
  registry.add(binary<kNum, Pure<[](auto a, auto b) { return (a >= b); }>>("GreaterOrEqual",
                                                                           "any-greaterorequal-ref", true));

  // Variadic.
  constexpr auto kAdd = [](auto a, auto b) { return a + b; };
  registry.add(variadic<Types::kFloat, kAdd>("Sum", "any-sum-ref"));
  registry.add(variadic<Types::kFloat, kAdd, true>("Mean", "any-mean-ref"));
  registry.add(variadic<kNum, [](auto a, auto b) { return maxOf(a, b); }>("Max", "any-max-ref"));
  registry.add(variadic<kNum, [](auto a, auto b) { return minOf(a, b); }>("Min", "any-min-ref"));

  // Selection and clamping.
  registry.add({.opType = "Where",
                .name = "any-where-ref",
                .inputTypes = {{DataType::kBool}, allStorableTypes()},
                .outputTypes = {allStorableTypes()},
                .fn = &whereKernel});
  registry.add({.opType = "Clip",
                .name = "any-clip-ref",
                .inputTypes = {typeSetOf(kNum)},
                .outputTypes = {typeSetOf(kNum)},
                .fn = &clipKernel});
}

}  // namespace lowp::kernels::ref::elementwise
