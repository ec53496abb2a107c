// Reference kernels of the reduction ops.
//
// - Reduce*: one generic kernel, parameterised by a rule (init, add, finish) per op. Floats accumulate in
//   their compute type (float for fp32/fp16/bf16, double for fp64), in row-major order of the reduced
//   indices. Integer sums and products wrap modulo 2^bits; integer results of Mean divide exactly and
//   truncate; integer results of L2/LogSum/LogSumExp are computed in double, truncated and saturated.
//   Reducing an empty set gives the identity ONNX's reference gives: 0 (Sum, L1, L2, SumSquare), 1 (Prod),
//   -inf or the type's lowest value (Max, LogSum, LogSumExp), +inf or its largest value (Min), NaN (Mean).
// - ArgMax/ArgMin: the first (or, with select_last_index, last) extremum; NaN beats any number, as in NumPy.
// - CumSum/CumProd: running sum/product along one axis, in the compute type, optionally exclusive/reversed.
// - TopK: the k largest (or smallest) along one axis, sorted, ties broken by the lower index; NaN ranks
//   above every number.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <type_traits>
#include <utility>

#include "ir/ops/reduction_axes.h"
#include "kernels/reference/common.h"

namespace lowp::kernels::ref {

namespace {

std::string typeName(DataType t) {
  return std::string(ir::dataTypeInfo(t).name);
}

// ---- integer arithmetic that wraps like ONNX's fixed-width integers (no signed-overflow UB) ----

template <typename C>
C addWrap(C a, C b) {
  if constexpr (std::is_integral_v<C>) {
    return static_cast<C>(static_cast<uint64_t>(a) + static_cast<uint64_t>(b));
  } else {
    return a + b;
  }
}

template <typename C>
C mulWrap(C a, C b) {
  if constexpr (std::is_integral_v<C>) {
    return static_cast<C>(static_cast<uint64_t>(a) * static_cast<uint64_t>(b));
  } else {
    return a * b;
  }
}

template <typename C>
C absWrap(C a) {
  if constexpr (std::is_unsigned_v<C>) {
    return a;
  } else if constexpr (std::is_integral_v<C>) {
    return a < 0 ? static_cast<C>(uint64_t{0} - static_cast<uint64_t>(a)) : a;
  } else {
    return std::abs(a);
  }
}

template <typename C>
bool isNan(C v) {
  if constexpr (std::is_floating_point_v<C>) {
    return std::isnan(v);
  } else {
    return false;
  }
}

/// The type transcendental finishes run in: C itself for floats, double for integers.
template <typename C>
using Real = std::conditional_t<std::is_floating_point_v<C>, C, double>;

/// A Real result as C: floats pass through; integers truncate, saturate, and take NaN as 0.
template <typename C>
C fromReal(Real<C> v) {
  if constexpr (std::is_floating_point_v<C>) {
    return v;
  } else {
    if (std::isnan(v)) return C{0};
    if (v <= static_cast<double>(std::numeric_limits<C>::lowest())) return std::numeric_limits<C>::lowest();
    if (v >= static_cast<double>(std::numeric_limits<C>::max())) return std::numeric_limits<C>::max();
    return static_cast<C>(v);
  }
}

template <typename C>
constexpr C lowestOf() {
  if constexpr (std::numeric_limits<C>::has_infinity) {
    return -std::numeric_limits<C>::infinity();
  } else {
    return std::numeric_limits<C>::lowest();
  }
}

template <typename C>
constexpr C highestOf() {
  if constexpr (std::numeric_limits<C>::has_infinity) {
    return std::numeric_limits<C>::infinity();
  } else {
    return std::numeric_limits<C>::max();
  }
}

// ---- Reduce* rules: Acc init(); void add(Acc&, C x); C finish(const Acc&, int64_t count) ----

template <typename C>
struct SumRule {
  using Acc = C;
  static Acc init() { return C{0}; }
  static void add(Acc& acc, C x) { acc = addWrap(acc, x); }
  static C finish(const Acc& acc, int64_t) { return acc; }
};

template <typename C>
struct MeanRule : SumRule<C> {
  static C finish(const C& sum, int64_t count) {
    if constexpr (std::is_floating_point_v<C>) {
      return sum / static_cast<C>(count);  // 0/0 = NaN for the empty set
    } else if constexpr (std::is_signed_v<C>) {
      return count == 0 ? C{0} : static_cast<C>(static_cast<int64_t>(sum) / count);
    } else {
      return count == 0 ? C{0} : static_cast<C>(static_cast<uint64_t>(sum) / static_cast<uint64_t>(count));
    }
  }
};

template <typename C>
struct ProdRule {
  using Acc = C;
  static Acc init() { return C{1}; }
  static void add(Acc& acc, C x) { acc = mulWrap(acc, x); }
  static C finish(const Acc& acc, int64_t) { return acc; }
};

template <typename C>
struct MaxRule {
  using Acc = C;
  static Acc init() { return lowestOf<C>(); }
  static void add(Acc& acc, C x) {
    if (x > acc || isNan(x)) acc = x;  // NaN propagates
  }
  static C finish(const Acc& acc, int64_t) { return acc; }
};

template <typename C>
struct MinRule {
  using Acc = C;
  static Acc init() { return highestOf<C>(); }
  static void add(Acc& acc, C x) {
    if (x < acc || isNan(x)) acc = x;
  }
  static C finish(const Acc& acc, int64_t) { return acc; }
};

template <typename C>
struct L1Rule : SumRule<C> {
  static void add(C& acc, C x) { acc = addWrap(acc, absWrap(x)); }
};

template <typename C>
struct SumSquareRule : SumRule<C> {
  static void add(C& acc, C x) { acc = addWrap(acc, mulWrap(x, x)); }
};

template <typename C>
struct L2Rule : SumSquareRule<C> {
  static C finish(const C& sumSquares, int64_t) {
    return fromReal<C>(std::sqrt(static_cast<Real<C>>(sumSquares)));
  }
};

template <typename C>
struct LogSumRule : SumRule<C> {
  static C finish(const C& sum, int64_t) { return fromReal<C>(std::log(static_cast<Real<C>>(sum))); }
};

/// log(sum(exp(x))) kept stable by accumulating sum(exp(x - max)) against a running max.
template <typename C>
struct LogSumExpRule {
  using R = Real<C>;
  struct Acc {
    R max;
    R sum;
  };
  static Acc init() { return {-std::numeric_limits<R>::infinity(), R{0}}; }
  static void add(Acc& acc, C value) {
    R x = static_cast<R>(value);
    if (x == -std::numeric_limits<R>::infinity()) return;  // exp(-inf) adds nothing
    if (x > acc.max) {
      acc.sum = acc.sum * std::exp(acc.max - x) + R{1};
      acc.max = x;
    } else if (x == acc.max) {
      acc.sum += R{1};  // also keeps a repeated +inf from turning into exp(inf - inf)
    } else {
      acc.sum += std::exp(x - acc.max);  // a NaN x makes the sum NaN
    }
  }
  static C finish(const Acc& acc, int64_t) {
    // The empty set (max = -inf, sum = 0) gives -inf; a NaN sum stays NaN.
    if (std::isnan(acc.sum)) return fromReal<C>(acc.sum);
    if (std::isinf(acc.max)) return fromReal<C>(acc.max);
    return fromReal<C>(std::log(acc.sum) + acc.max);
  }
};

/// Input dims split into kept dims (which index the output) and reduced dims (which are folded).
struct ReduceLayout {
  std::vector<int64_t> keptSizes, keptStrides;
  std::vector<int64_t> reducedSizes, reducedStrides;
  int64_t reducedCount = 1;
};

ReduceLayout makeReduceLayout(const std::vector<int64_t>& shape, const std::vector<bool>& reduced) {
  ReduceLayout l;
  std::vector<int64_t> strides = contiguousStrides(shape);
  for (size_t d = 0; d < shape.size(); ++d) {
    if (reduced[d]) {
      l.reducedSizes.push_back(shape[d]);
      l.reducedStrides.push_back(strides[d]);
      l.reducedCount *= shape[d];
    } else {
      l.keptSizes.push_back(shape[d]);
      l.keptStrides.push_back(strides[d]);
    }
  }
  return l;
}

template <typename T, template <typename> class Rule>
void runReduce(KernelContext& ctx, const Tensor& x, Tensor& y, const ReduceLayout& l) {
  using C = Compute<T>;
  using R = Rule<C>;
  const T* in = x.data<T>();
  T* out = y.data<T>();
  const int64_t grain = std::max<int64_t>(1, 16384 / std::max<int64_t>(1, l.reducedCount));
  ctx.parallelFor(y.elementCount(), grain, [&](int64_t begin, int64_t end) {
    const size_t nr = l.reducedSizes.size();
    std::vector<int64_t> index(nr);
    for (int64_t o = begin; o < end; ++o) {
      // Offset of the output element's first input element, from its multi-index over the kept dims.
      int64_t base = 0;
      int64_t rest = o;
      for (size_t d = l.keptSizes.size(); d-- > 0;) {
        base += (rest % l.keptSizes[d]) * l.keptStrides[d];
        rest /= l.keptSizes[d];
      }
      typename R::Acc acc = R::init();
      std::fill(index.begin(), index.end(), 0);
      int64_t offset = base;
      for (int64_t r = 0; r < l.reducedCount; ++r) {
        R::add(acc, toCompute(in[offset]));
        for (size_t d = nr; d-- > 0;) {
          offset += l.reducedStrides[d];
          if (++index[d] < l.reducedSizes[d]) break;
          offset -= l.reducedStrides[d] * l.reducedSizes[d];
          index[d] = 0;
        }
      }
      out[o] = fromCompute<T>(R::finish(acc, l.reducedCount));
    }
  });
}

template <typename T, typename... Ts>
inline constexpr bool kIsOneOf = (std::is_same_v<T, Ts> || ...);

/// ONNX's Reduce*/CumSum types: floats and 32/64-bit integers.
template <typename T>
struct IsArithmeticType : std::bool_constant<!kIsOneOf<T, bool, int8_t, uint8_t, int16_t, uint16_t>> {};
/// ReduceMax/ReduceMin add 8-bit integers (opset 12) and bool (opset 20).
template <typename T>
struct IsOrderingType : std::bool_constant<!kIsOneOf<T, int16_t, uint16_t>> {};
/// ArgMax/ArgMin/TopK: every numeric type.
template <typename T>
struct IsNumericType : std::bool_constant<!std::is_same_v<T, bool>> {};

/// dispatchType restricted to the types `Accept` admits, so kernels are only instantiated for those;
/// false for any other type.
template <template <typename> class Accept, typename F>
bool dispatchAccepted(DataType type, F&& f) {
  bool accepted = false;
  dispatchType(type, [&]<typename T>() {
    if constexpr (Accept<T>::value) {
      f.template operator()<T>();
      accepted = true;
    }
  });
  return accepted;
}

/// The axes of a Reduce* node: input 1 when present, else the pre-opset-18 attribute, else none.
Result<std::vector<int64_t>> reduceAxesOf(const KernelContext& ctx) {
  if (!ctx.hasInput(1)) return ctx.attrs().getInts("axes");
  auto axes = ir::ops::tensorInts(ctx.input(1));
  if (!axes) return ctx.invalid("axes must be int64, got " + typeName(ctx.input(1).type()));
  return std::move(*axes);
}

template <template <typename> class Rule, template <typename> class Accept = IsArithmeticType>
Status reduceKernel(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  LOWP_ASSIGN_OR_RETURN(std::vector<int64_t> axes, reduceAxesOf(ctx));
  auto r = ir::ops::resolveReduceAxes(ctx.attrs(), axes, x.rank());
  if (!r) return ctx.invalid(r.status().message());
  // The output shape depends on the axes values, so allocate it here.
  Tensor& y = ctx.allocateOutput(0, x.type(), ir::ops::reducedSizes(x.shape(), *r));
  if (r->noop) {
    if (x.byteSize() > 0) std::memcpy(y.data(), x.data(), static_cast<size_t>(x.byteSize()));
    return {};
  }
  ReduceLayout layout = makeReduceLayout(x.shape(), r->reduced);
  bool ok = dispatchAccepted<Accept>(x.type(), [&]<typename T>() { runReduce<T, Rule>(ctx, x, y, layout); });
  if (!ok) return ctx.unsupported("no reference kernel for element type " + typeName(x.type()));
  return {};
}

// ---- ArgMax / ArgMin ----

/// Viewing a tensor as [outer, n, inner] around one axis.
struct AxisSplit {
  int64_t outer = 1, n = 1, inner = 1;
};

AxisSplit splitAt(const std::vector<int64_t>& shape, int64_t axis) {
  AxisSplit s;
  for (int64_t d = 0; d < static_cast<int64_t>(shape.size()); ++d) {
    int64_t size = shape[static_cast<size_t>(d)];
    if (d < axis) {
      s.outer *= size;
    } else if (d == axis) {
      s.n = size;
    } else {
      s.inner *= size;
    }
  }
  return s;
}

/// True when x should replace the current extremum `best` (NaN wins; ties go to the later index only
/// with select_last_index).
template <bool kMax, typename C>
bool replacesExtremum(C x, C best, bool selectLast) {
  if (isNan(best)) return selectLast && isNan(x);
  if (isNan(x)) return true;
  if (x == best) return selectLast;
  return kMax ? x > best : x < best;
}

template <bool kMax>
Status argExtremumKernel(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  auto axis = ir::normalizeAxis(ctx.attrs().getInt("axis", 0), x.rank());
  if (!axis) return ctx.invalid(axis.status().message());
  const bool keepdims = ctx.attrs().getInt("keepdims", 1) != 0;
  const bool selectLast = ctx.attrs().getInt("select_last_index", 0) != 0;
  std::vector<int64_t> outShape;
  for (int64_t d = 0; d < x.rank(); ++d) {
    if (d != *axis) {
      outShape.push_back(x.shape()[static_cast<size_t>(d)]);
    } else if (keepdims) {
      outShape.push_back(1);
    }
  }
  Tensor& y = ctx.allocateOutput(0, DataType::kInt64, outShape);
  const AxisSplit s = splitAt(x.shape(), *axis);
  if (s.n == 0 && y.elementCount() > 0) {
    return ctx.invalid("cannot take the index of an extremum over an axis of size 0");
  }
  int64_t* out = y.data<int64_t>();
  bool ok = dispatchAccepted<IsNumericType>(x.type(), [&]<typename T>() {
    const T* in = x.data<T>();
    ctx.parallelFor(s.outer * s.inner, std::max<int64_t>(1, 16384 / std::max<int64_t>(1, s.n)),
                    [&](int64_t begin, int64_t end) {
                      for (int64_t j = begin; j < end; ++j) {
                        const T* row = in + (j / s.inner) * s.n * s.inner + j % s.inner;
                        int64_t bestIndex = 0;
                        auto best = toCompute(row[0]);
                        for (int64_t k = 1; k < s.n; ++k) {
                          auto v = toCompute(row[k * s.inner]);
                          if (replacesExtremum<kMax>(v, best, selectLast)) {
                            best = v;
                            bestIndex = k;
                          }
                        }
                        out[j] = bestIndex;
                      }
                    });
  });
  if (!ok) {
    return ctx.unsupported("no reference kernel for element type " + typeName(x.type()));
  }
  return {};
}

// ---- CumSum / CumProd ----

/// One int value from a scalar or one-element tensor (CumSum's axis, TopK's k).
Result<int64_t> scalarInt(const KernelContext& ctx, size_t i, const char* what) {
  auto v = ir::ops::tensorInts(ctx.input(i));
  if (!v) return ctx.invalid(std::string(what) + " must be int64, got " + typeName(ctx.input(i).type()));
  if (v->size() != 1) {
    return ctx.invalid(std::string(what) + " must hold one value, got " + std::to_string(v->size()));
  }
  return v->front();
}

template <bool kProduct>
Status cumulativeKernel(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  LOWP_ASSIGN_OR_RETURN(int64_t axisValue, scalarInt(ctx, 1, "axis"));
  auto axis = ir::normalizeAxis(axisValue, x.rank());
  if (!axis) return ctx.invalid(axis.status().message());
  const bool exclusive = ctx.attrs().getInt("exclusive", 0) != 0;
  const bool reverse = ctx.attrs().getInt("reverse", 0) != 0;
  Tensor& y = ctx.allocateOutput(0, x.type(), x.shape());
  const AxisSplit s = splitAt(x.shape(), *axis);
  bool ok = dispatchAccepted<IsArithmeticType>(x.type(), [&]<typename T>() {
    using C = Compute<T>;
    const T* in = x.data<T>();
    T* out = y.data<T>();
    ctx.parallelFor(s.outer * s.inner, std::max<int64_t>(1, 16384 / std::max<int64_t>(1, s.n)),
                    [&](int64_t begin, int64_t end) {
                      for (int64_t j = begin; j < end; ++j) {
                        const int64_t start = (j / s.inner) * s.n * s.inner + j % s.inner;
                        C acc = kProduct ? C{1} : C{0};
                        for (int64_t step = 0; step < s.n; ++step) {
                          int64_t k = reverse ? s.n - 1 - step : step;
                          int64_t at = start + k * s.inner;
                          C v = toCompute(in[at]);
                          if (exclusive) out[at] = fromCompute<T>(acc);
                          acc = kProduct ? mulWrap(acc, v) : addWrap(acc, v);
                          if (!exclusive) out[at] = fromCompute<T>(acc);
                        }
                      }
                    });
  });
  if (!ok) return ctx.unsupported("no reference kernel for element type " + typeName(x.type()));
  return {};
}

// ---- TopK ----

/// Ranks (value, index) pairs: larger (or smaller) values first, NaN above every number, then lower index.
template <typename C>
struct TopKOrder {
  bool largest;
  bool operator()(const std::pair<C, int64_t>& a, const std::pair<C, int64_t>& b) const {
    bool aNan = isNan(a.first), bNan = isNan(b.first);
    if (aNan != bNan) return largest ? aNan : bNan;
    if (!aNan && a.first != b.first) return largest ? a.first > b.first : a.first < b.first;
    return a.second < b.second;
  }
};

Status topKKernel(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  int64_t k = ctx.attrs().getInt("k", -1);
  if (ctx.hasInput(1)) {
    LOWP_ASSIGN_OR_RETURN(k, scalarInt(ctx, 1, "k"));
  }
  auto axis = ir::normalizeAxis(ctx.attrs().getInt("axis", -1), x.rank());
  if (!axis) return ctx.invalid(axis.status().message());
  const AxisSplit s = splitAt(x.shape(), *axis);
  if (k < 0 || k > s.n) {
    return ctx.invalid("k = " + std::to_string(k) + " is outside [0, " + std::to_string(s.n) +
                       "], the size of axis " + std::to_string(*axis));
  }
  const bool largest = ctx.attrs().getInt("largest", 1) != 0;
  std::vector<int64_t> outShape = x.shape();
  outShape[static_cast<size_t>(*axis)] = k;
  // The output shape depends on k's value, so allocate here. Results are always sorted (sorted=0 leaves
  // the order to the implementation).
  Tensor& values = ctx.allocateOutput(0, x.type(), outShape);
  Tensor& indices = ctx.allocateOutput(1, DataType::kInt64, outShape);
  bool ok = dispatchAccepted<IsNumericType>(x.type(), [&]<typename T>() {
    using C = Compute<T>;
    const T* in = x.data<T>();
    T* outValues = values.data<T>();
    int64_t* outIndices = indices.data<int64_t>();
    ctx.parallelFor(s.outer * s.inner, std::max<int64_t>(1, 4096 / std::max<int64_t>(1, s.n)),
                    [&](int64_t begin, int64_t end) {
                      std::vector<std::pair<C, int64_t>> row(static_cast<size_t>(s.n));
                      for (int64_t j = begin; j < end; ++j) {
                        const int64_t o = j / s.inner, i = j % s.inner;
                        for (int64_t e = 0; e < s.n; ++e) {
                          row[e] = {toCompute(in[(o * s.n + e) * s.inner + i]), e};
                        }
                        std::partial_sort(row.begin(), row.begin() + k, row.end(), TopKOrder<C>{largest});
                        for (int64_t e = 0; e < k; ++e) {
                          const int64_t at = (o * k + e) * s.inner + i;
                          outValues[at] = in[(o * s.n + row[e].second) * s.inner + i];
                          outIndices[at] = row[e].second;
                        }
                      }
                    });
  });
  if (!ok) {
    return ctx.unsupported("no reference kernel for element type " + typeName(x.type()));
  }
  return {};
}

}  // namespace

void registerReductionKernels(KernelRegistry& registry) {
  const TypeSet indexTypes{DataType::kInt64, DataType::kInt32};
  // ONNX's Reduce*/CumSum types; ReduceMax/ReduceMin add 8-bit integers (opset 12) and bool (opset 20).
  const TypeSet arithmeticTypes =
      floatTypes() | TypeSet{DataType::kInt32, DataType::kInt64, DataType::kUInt32, DataType::kUInt64};
  const TypeSet orderingTypes = arithmeticTypes | TypeSet{DataType::kInt8, DataType::kUInt8, DataType::kBool};

  struct ReduceEntry {
    std::string_view op, name;
    KernelFn fn;
    TypeSet types;
  };
  const ReduceEntry reduceTable[] = {
      {"ReduceSum", "any-reducesum-ref", reduceKernel<SumRule>, arithmeticTypes},
      {"ReduceMean", "any-reducemean-ref", reduceKernel<MeanRule>, arithmeticTypes},
      {"ReduceMax", "any-reducemax-ref", reduceKernel<MaxRule, IsOrderingType>, orderingTypes},
      {"ReduceMin", "any-reducemin-ref", reduceKernel<MinRule, IsOrderingType>, orderingTypes},
      {"ReduceProd", "any-reduceprod-ref", reduceKernel<ProdRule>, arithmeticTypes},
      {"ReduceL1", "any-reducel1-ref", reduceKernel<L1Rule>, arithmeticTypes},
      {"ReduceL2", "any-reducel2-ref", reduceKernel<L2Rule>, arithmeticTypes},
      {"ReduceLogSum", "any-reducelogsum-ref", reduceKernel<LogSumRule>, arithmeticTypes},
      {"ReduceLogSumExp", "any-reducelogsumexp-ref", reduceKernel<LogSumExpRule>, arithmeticTypes},
      {"ReduceSumSquare", "any-reducesumsquare-ref", reduceKernel<SumSquareRule>, arithmeticTypes},
  };
  for (const ReduceEntry& e : reduceTable) {
    registry.add({.opType = e.op,
                  .name = e.name,
                  .inputTypes = {e.types, indexTypes},
                  .outputTypes = {e.types},
                  .fn = e.fn});
  }
  registry.add({.opType = "ArgMax",
                .name = "any-argmax-ref",
                .inputTypes = {numericTypes()},
                .outputTypes = {TypeSet{DataType::kInt64}},
                .fn = argExtremumKernel<true>});
  registry.add({.opType = "ArgMin",
                .name = "any-argmin-ref",
                .inputTypes = {numericTypes()},
                .outputTypes = {TypeSet{DataType::kInt64}},
                .fn = argExtremumKernel<false>});
  registry.add({.opType = "CumSum",
                .name = "any-cumsum-ref",
                .inputTypes = {arithmeticTypes, indexTypes},
                .outputTypes = {arithmeticTypes},
                .fn = cumulativeKernel<false>});
  registry.add({.opType = "CumProd",
                .name = "any-cumprod-ref",
                .inputTypes = {arithmeticTypes, indexTypes},
                .outputTypes = {arithmeticTypes},
                .fn = cumulativeKernel<true>});
  registry.add({.opType = "TopK",
                .name = "any-topk-ref",
                .inputTypes = {numericTypes(), indexTypes},
                .outputTypes = {numericTypes(), TypeSet{DataType::kInt64}},
                .fn = topKKernel});
}

}  // namespace lowp::kernels::ref
