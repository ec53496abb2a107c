// Reference kernels of the elementwise ops, unary part: math functions, activations, predicates and
// logical/bitwise not. One kernel per op handles every type of the op's class; FP16/BF16 compute in float
// and round once, fp32 in float, fp64 in double, integers exactly (wrapping like NumPy where they overflow).
// The binary, variadic and selection ops live in elementwise_binary.cpp.
#include <cmath>
#include <numbers>
#include <string>
#include <type_traits>
#include <utility>

#include "kernels/reference/common.h"
#include "kernels/reference/elementwise_common.h"

namespace lowp::kernels::ref {
namespace {

using elementwise::Types;

/// An op without attributes, given as a generic lambda on the compute type.
template <auto F>
struct Pure {
  explicit Pure(const ir::AttributeMap& /*attrs*/) {}
  template <typename C>
  auto operator()(C x) const {
    return F(x);
  }
};

struct LeakyRelu {
  float alpha;
  explicit LeakyRelu(const ir::AttributeMap& a) : alpha(a.getFloat("alpha", 0.01f)) {}
  template <typename C>
  C operator()(C x) const {
    return x < 0 ? static_cast<C>(alpha) * x : x;
  }
};

struct Elu {
  float alpha;
  explicit Elu(const ir::AttributeMap& a) : alpha(a.getFloat("alpha", 1.0f)) {}
  template <typename C>
  C operator()(C x) const {
    return x < 0 ? static_cast<C>(alpha) * std::expm1(x) : x;
  }
};

struct Celu {
  float alpha;
  explicit Celu(const ir::AttributeMap& a) : alpha(a.getFloat("alpha", 1.0f)) {}
  template <typename C>
  C operator()(C x) const {
    const C a = static_cast<C>(alpha);
    return x > 0 ? x : a * std::expm1(x / a);
  }
};

struct ThresholdedRelu {
  float alpha;
  explicit ThresholdedRelu(const ir::AttributeMap& a) : alpha(a.getFloat("alpha", 1.0f)) {}
  template <typename C>
  C operator()(C x) const {
    return x > static_cast<C>(alpha) ? x : C{0};
  }
};

struct Selu {
  float alpha;
  float gamma;
  explicit Selu(const ir::AttributeMap& a)
      : alpha(a.getFloat("alpha", 1.67326319217681884765625f)),
        gamma(a.getFloat("gamma", 1.05070102214813232421875f)) {}
  template <typename C>
  C operator()(C x) const {
    return static_cast<C>(gamma) * (x > 0 ? x : static_cast<C>(alpha) * std::expm1(x));
  }
};

struct HardSigmoid {
  float alpha;
  float beta;
  explicit HardSigmoid(const ir::AttributeMap& a)
      : alpha(a.getFloat("alpha", 0.2f)), beta(a.getFloat("beta", 0.5f)) {}
  template <typename C>
  C operator()(C x) const {
    C y = static_cast<C>(alpha) * x + static_cast<C>(beta);
    return y < 0 ? C{0} : (y > 1 ? C{1} : y);
  }
};

struct Shrink {
  float bias;
  float lambd;
  explicit Shrink(const ir::AttributeMap& a)
      : bias(a.getFloat("bias", 0.0f)), lambd(a.getFloat("lambd", 0.5f)) {}
  template <typename C>
  C operator()(C x) const {
    if constexpr (elementwise::kIsInt<C>) {
      // Integers compare against the float thresholds exactly in double.
      const auto v = static_cast<double>(x);
      return elementwise::fromDouble<C>(v < -lambd ? v + bias : (v > lambd ? v - bias : 0.0));
    } else {
      const C b = static_cast<C>(bias);
      const C l = static_cast<C>(lambd);
      return x < -l ? x + b : (x > l ? x - b : C{0});
    }
  }
};

struct Gelu {
  bool tanhApproximation;
  explicit Gelu(const ir::AttributeMap& a)
      : tanhApproximation(a.getString("approximate", "none") == "tanh") {}
  template <typename C>
  C operator()(C x) const {
    const C half = static_cast<C>(0.5);
    if (tanhApproximation) {
      const C k = static_cast<C>(std::numbers::sqrt2 * std::numbers::inv_sqrtpi);  // sqrt(2 / pi)
      return half * x * (1 + std::tanh(k * (x + static_cast<C>(0.044715) * x * x * x)));
    }
    return half * x * (1 + std::erf(x / static_cast<C>(std::numbers::sqrt2)));
  }
};

struct IsInf {
  bool negative;
  bool positive;
  explicit IsInf(const ir::AttributeMap& a)
      : negative(a.getInt("detect_negative", 1) != 0), positive(a.getInt("detect_positive", 1) != 0) {}
  template <typename C>
  bool operator()(C x) const {
    return std::isinf(x) && (x < 0 ? negative : positive);
  }
};

template <typename C>
C sigmoid(C x) {
  // Both branches keep exp's argument non-positive, so neither overflows.
  if (x >= 0) return 1 / (1 + std::exp(-x));
  const C e = std::exp(x);
  return e / (1 + e);
}

template <typename C>
C softplus(C x) {
  // log(1 + exp(x)) without overflow for large x.
  return x > 0 ? x + std::log1p(std::exp(-x)) : std::log1p(std::exp(x));
}

template <typename C>
C absValue(C x) {
  if constexpr (std::is_unsigned_v<C>) {
    return x;
  } else {
    return x < 0 ? elementwise::negWrap(x) : x;
  }
}

template <typename C>
C signOf(C x) {
  if constexpr (std::is_unsigned_v<C>) {
    return x > 0 ? C{1} : C{0};
  } else {
    if constexpr (elementwise::kIsFloat<C>) {
      if (std::isnan(x)) return x;
    }
    return x > 0 ? C{1} : (x < 0 ? static_cast<C>(-1) : C{0});
  }
}

template <typename C>
C erfOf(C x) {
  if constexpr (elementwise::kIsInt<C>) {
    // ONNX's reference casts erf(x) to the input type, truncating toward zero.
    return elementwise::fromDouble<C>(std::trunc(std::erf(static_cast<double>(x))));
  } else {
    return std::erf(x);
  }
}

/// Applies Op to every element. Ops returning bool (predicates) write a bool tensor, the others write
/// the input's type.
template <Types K, typename Op>
Status unaryKernel(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  Tensor& y = ctx.output(0);
  const Op op(ctx.attrs());
  const int64_t n = x.elementCount();
  if (y.elementCount() != n) return ctx.invalid("output size differs from the input's");
  bool ok = elementwise::dispatchIn<K>(x.type(), [&]<typename T>() {
    using C = Compute<T>;
    using R = decltype(op(std::declval<C>()));
    const T* in = x.data<T>();
    if constexpr (std::is_same_v<R, bool>) {
      bool* out = y.data<bool>();
      ctx.parallelFor(n, elementwise::kGrain, [&](int64_t begin, int64_t end) {
        for (int64_t i = begin; i < end; ++i) out[i] = op(toCompute(in[i]));
      });
    } else {
      T* out = y.data<T>();
      ctx.parallelFor(n, elementwise::kGrain, [&](int64_t begin, int64_t end) {
        for (int64_t i = begin; i < end; ++i) out[i] = fromCompute<T>(static_cast<C>(op(toCompute(in[i]))));
      });
    }
  });
  if (!ok)
    return ctx.unsupported("no reference kernel for type " + std::string(ir::dataTypeInfo(x.type()).name));
  return {};
}

/// A kernel definition for an op mapping type class K to itself.
template <Types K, typename Op>
KernelDef unary(std::string_view op, std::string_view name) {
  TypeSet types = elementwise::typeSetOf(K);
  return {
      .opType = op, .name = name, .inputTypes = {types}, .outputTypes = {types}, .fn = &unaryKernel<K, Op>};
}

/// A kernel definition for a float predicate (float in, bool out).
template <typename Op>
KernelDef predicate(std::string_view op, std::string_view name) {
  return {.opType = op,
          .name = name,
          .inputTypes = {floatTypes()},
          .outputTypes = {{DataType::kBool}},
          .fn = &unaryKernel<Types::kFloat, Op>};
}

}  // namespace

void registerElementwiseKernels(KernelRegistry& registry) {
  constexpr Types kF = Types::kFloat;
  // Math.
  registry.add(unary<kF, Pure<[](auto x) { return std::exp(x); }>>("Exp", "any-exp-ref"));
  registry.add(unary<kF, Pure<[](auto x) { return std::log(x); }>>("Log", "any-log-ref"));
  registry.add(unary<kF, Pure<[](auto x) { return std::sqrt(x); }>>("Sqrt", "any-sqrt-ref"));
  registry.add(unary<kF, Pure<[](auto x) { return 1 / x; }>>("Reciprocal", "any-reciprocal-ref"));
  registry.add(unary<kF, Pure<[](auto x) { return std::floor(x); }>>("Floor", "any-floor-ref"));
  registry.add(unary<kF, Pure<[](auto x) { return std::ceil(x); }>>("Ceil", "any-ceil-ref"));
  // nearbyint rounds half to even under the default rounding mode, as ONNX requires.
  registry.add(unary<kF, Pure<[](auto x) { return std::nearbyint(x); }>>("Round", "any-round-ref"));
  registry.add(unary<kF, Pure<[](auto x) { return std::sin(x); }>>("Sin", "any-sin-ref"));
  registry.add(unary<kF, Pure<[](auto x) { return std::cos(x); }>>("Cos", "any-cos-ref"));
  registry.add(unary<kF, Pure<[](auto x) { return std::tan(x); }>>("Tan", "any-tan-ref"));
  registry.add(unary<kF, Pure<[](auto x) { return std::asin(x); }>>("Asin", "any-asin-ref"));
  registry.add(unary<kF, Pure<[](auto x) { return std::acos(x); }>>("Acos", "any-acos-ref"));
  registry.add(unary<kF, Pure<[](auto x) { return std::atan(x); }>>("Atan", "any-atan-ref"));
  registry.add(unary<kF, Pure<[](auto x) { return std::sinh(x); }>>("Sinh", "any-sinh-ref"));
  registry.add(unary<kF, Pure<[](auto x) { return std::cosh(x); }>>("Cosh", "any-cosh-ref"));
  registry.add(unary<kF, Pure<[](auto x) { return std::tanh(x); }>>("Tanh", "any-tanh-ref"));
  registry.add(unary<kF, Pure<[](auto x) { return std::asinh(x); }>>("Asinh", "any-asinh-ref"));
  registry.add(unary<kF, Pure<[](auto x) { return std::acosh(x); }>>("Acosh", "any-acosh-ref"));
  registry.add(unary<kF, Pure<[](auto x) { return std::atanh(x); }>>("Atanh", "any-atanh-ref"));
  registry.add(unary<Types::kNumeric, Pure<[](auto x) { return absValue(x); }>>("Abs", "any-abs-ref"));
  registry.add(unary<Types::kSignedNumeric, Pure<[](auto x) { return elementwise::negWrap(x); }>>(
      "Neg", "any-neg-ref"));
  registry.add(unary<Types::kNumeric, Pure<[](auto x) { return signOf(x); }>>("Sign", "any-sign-ref"));
  registry.add(unary<Types::kNumeric, Pure<[](auto x) { return erfOf(x); }>>("Erf", "any-erf-ref"));
  registry.add(predicate<Pure<[](auto x) { return std::isnan(x); }>>("IsNaN", "any-isnan-ref"));
  registry.add(predicate<IsInf>("IsInf", "any-isinf-ref"));
  registry.add(unary<Types::kBool, Pure<[](auto x) { return !x; }>>("Not", "bool-not-ref"));
  registry.add(unary<Types::kInteger, Pure<[](auto x) { return ~x; }>>("BitwiseNot", "any-bitwisenot-ref"));

  // Activations.
  registry.add(unary<Types::kSignedNumeric, Pure<[](auto x) { return x < 0 ? decltype(x){0} : x; }>>(
      "Relu", "any-relu-ref"));
  registry.add(unary<kF, Pure<[](auto x) { return sigmoid(x); }>>("Sigmoid", "any-sigmoid-ref"));
  registry.add(unary<kF, Pure<[](auto x) { return softplus(x); }>>("Softplus", "any-softplus-ref"));
  registry.add(unary<kF, Pure<[](auto x) { return x / (1 + std::abs(x)); }>>("Softsign", "any-softsign-ref"));
  registry.add(unary<kF, Pure<[](auto x) {
                       using C = decltype(x);
                       C gate = x / 6 + static_cast<C>(0.5);
                       return x * (gate < 0 ? C{0} : (gate > 1 ? C{1} : gate));
                     }>>("HardSwish", "any-hardswish-ref"));
  registry.add(unary<kF, Pure<[](auto x) { return x * std::tanh(softplus(x)); }>>("Mish", "any-mish-ref"));
  registry.add(unary<kF, LeakyRelu>("LeakyRelu", "any-leakyrelu-ref"));
  registry.add(unary<kF, Elu>("Elu", "any-elu-ref"));
  registry.add(unary<kF, Celu>("Celu", "any-celu-ref"));
  registry.add(unary<kF, ThresholdedRelu>("ThresholdedRelu", "any-thresholdedrelu-ref"));
  registry.add(unary<kF, Selu>("Selu", "any-selu-ref"));
  registry.add(unary<kF, HardSigmoid>("HardSigmoid", "any-hardsigmoid-ref"));
  registry.add(unary<Types::kNumeric, Shrink>("Shrink", "any-shrink-ref"));
  registry.add(unary<kF, Gelu>("Gelu", "any-gelu-ref"));

  elementwise::registerBinaryKernels(registry);
}

}  // namespace lowp::kernels::ref
