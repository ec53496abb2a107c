// Reference kernels of the conversion ops: Cast / CastLike between every stored type (FP8 included),
// QuantizeLinear, DequantizeLinear and DynamicQuantizeLinear.
//
// Element rules are in conversion_numeric.h. Quantization follows the ONNX reference implementation:
// QuantizeLinear divides in the precision of the `precision` attribute, else in the NumPy promotion of x's
// and the scale's types (both FP16 -> FP16, both BF16 -> BF16, an int32 among them -> double, else float),
// rounds half to even, adds the zero point and saturates. DequantizeLinear computes (x - zero_point) * scale
// exactly and rounds once to the output type.
#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "ir/ops/conversion_quant.h"
#include "kernels/reference/common.h"
#include "kernels/reference/conversion_numeric.h"

namespace lowp::kernels::ref {
namespace {

constexpr int64_t kGrain = 16384;

// ---- Cast / CastLike ----

template <typename S, typename D>
void castElements(KernelContext& ctx, const Tensor& in, Tensor& out, bool saturate) {
  const S* src = in.data<S>();
  D* dst = out.data<D>();
  ctx.parallelFor(in.elementCount(), kGrain, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) dst[i] = convertElement<S, D>(src[i], saturate);
  });
}

Status castKernel(KernelContext& ctx) {
  const Tensor& in = ctx.input(0);
  Tensor& out = ctx.output(0);
  const bool saturate = ctx.attrs().getInt("saturate", 1) != 0;
  bool dispatched = false;
  dispatchStorable(in.type(), [&]<typename S>() {
    dispatchStorable(out.type(), [&]<typename D>() {
      castElements<S, D>(ctx, in, out, saturate);
      dispatched = true;
    });
  });
  if (!dispatched) {
    return ctx.unsupported("no cast from " + std::string(dataTypeName(in.type())) + " to " +
                           std::string(dataTypeName(out.type())));
  }
  return {};
}

// ---- Shared by the quantization kernels ----

/// Every element of a float, FP8 or integer tensor as double (scales and zero points; small tensors).
std::vector<double> valuesAsDouble(const Tensor& t) {
  std::vector<double> out(static_cast<size_t>(t.elementCount()));
  dispatchStorable(t.type(), [&]<typename T>() {
    const T* p = t.data<T>();
    for (size_t i = 0; i < out.size(); ++i) out[i] = convertElement<T, double>(p[i], true);
  });
  return out;
}

Result<ir::ops::QuantLayout> layoutOf(KernelContext& ctx) {
  auto layout = ir::ops::quantLayout(
      ir::Shape::fromSizes(ctx.input(0).shape()), ir::Shape::fromSizes(ctx.input(1).shape()),
      ctx.attrs().getInt("axis", 1), ctx.attrs().getInt("block_size", 0), ctx.node().opsetVersion);
  if (!layout) return ctx.invalid(layout.status().message());
  if (ctx.hasInput(2) && ctx.input(2).elementCount() != ctx.input(1).elementCount()) {
    return ctx.invalid("the zero point has " + std::to_string(ctx.input(2).elementCount()) +
                       " elements but the scale has " + std::to_string(ctx.input(1).elementCount()));
  }
  return layout;
}

/// `v` rounded to the float type `t` (fp32, fp16, bf16) and back; double leaves it as is.
double roundToType(double v, DataType t) {
  switch (t) {
    case DataType::kFloat32:
      return static_cast<float>(v);
    case DataType::kFloat16:
      return ir::float16ToFloat(ir::floatToFloat16(toFloatRoundToOdd(v)));
    case DataType::kBFloat16:
      return ir::bfloat16ToFloat(ir::floatToBFloat16(toFloatRoundToOdd(v)));
    default:
      return v;
  }
}

// ---- QuantizeLinear ----

/// The type the division x / scale happens in (see the header comment).
DataType divisionType(const KernelContext& ctx, DataType x, DataType scale) {
  if (int64_t p = ctx.attrs().getInt("precision", 0); p != 0) {
    if (auto t = ir::dataTypeFromOnnx(static_cast<int32_t>(p))) return *t;
  }
  if (x == scale) return x == DataType::kInt32 ? DataType::kFloat64 : x;
  if (x == DataType::kInt32 || scale == DataType::kInt32) return DataType::kFloat64;
  return DataType::kFloat32;
}

template <typename Q>
Q quantizeElement(double q, double zeroPoint, bool saturate) {
  if constexpr (kIsFp8<Q>) {
    return Q{fp8Encode(toFloatRoundToOdd(q + zeroPoint), Q::kFormat, saturate)};
  } else {
    // NaN has no integer value (ONNX leaves it undefined); it quantizes like 0.
    const double v = (std::isnan(q) ? 0.0 : std::nearbyint(q)) + zeroPoint;  // ties to even
    const double lo = std::numeric_limits<Q>::lowest();
    const double hi = std::numeric_limits<Q>::max();
    return static_cast<Q>(std::clamp(v, lo, hi));
  }
}

template <typename X, typename Q>
void quantize(KernelContext& ctx, const ir::ops::QuantLayout& layout, const std::vector<double>& scales,
              const std::vector<double>& zeroPoints, DataType divType, bool precisionGiven, bool saturate) {
  const Tensor& in = ctx.input(0);
  const X* x = in.data<X>();
  Q* y = ctx.output(0).data<Q>();
  ctx.parallelFor(in.elementCount(), kGrain, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      const auto s = static_cast<size_t>(layout.scaleIndex(i));
      double xv = convertElement<X, double>(x[i], true);
      double sv = scales[s];
      // With `precision`, both operands are first converted to that type (as the ONNX reference does).
      if (precisionGiven) {
        xv = roundToType(xv, divType);
        sv = roundToType(sv, divType);
      }
      const double q = roundToType(xv / sv, divType);
      y[i] = quantizeElement<Q>(q, zeroPoints.empty() ? 0.0 : zeroPoints[s], saturate);
    }
  });
}

Status quantizeLinearKernel(KernelContext& ctx) {
  LOWP_ASSIGN_OR_RETURN(auto layout, layoutOf(ctx));
  const std::vector<double> scales = valuesAsDouble(ctx.input(1));
  const std::vector<double> zeroPoints =
      ctx.hasInput(2) ? valuesAsDouble(ctx.input(2)) : std::vector<double>{};
  const DataType xType = ctx.input(0).type();
  const DataType divType = divisionType(ctx, xType, ctx.input(1).type());
  const bool precisionGiven = ctx.attrs().getInt("precision", 0) != 0;
  const bool saturate = ctx.attrs().getInt("saturate", 1) != 0;
  bool dispatched = false;
  auto run = [&]<typename X>() {
    dispatchStorable(ctx.output(0).type(), [&]<typename Q>() {
      if constexpr (kIsFp8<Q> || std::is_same_v<Q, int8_t> || std::is_same_v<Q, uint8_t> ||
                    std::is_same_v<Q, int16_t> || std::is_same_v<Q, uint16_t>) {
        quantize<X, Q>(ctx, layout, scales, zeroPoints, divType, precisionGiven, saturate);
        dispatched = true;
      }
    });
  };
  if (xType == DataType::kInt32) {
    run.template operator()<int32_t>();
  } else {
    dispatchFloat(xType, [&]<typename X>() {
      if constexpr (!std::is_same_v<X, double>) run.template operator()<X>();
    });
  }
  if (!dispatched) {
    return ctx.unsupported("no QuantizeLinear from " + std::string(dataTypeName(xType)) + " to " +
                           std::string(dataTypeName(ctx.output(0).type())));
  }
  return {};
}

// ---- DequantizeLinear ----

template <typename X, typename Y>
void dequantize(KernelContext& ctx, const ir::ops::QuantLayout& layout, const std::vector<double>& scales,
                const std::vector<double>& zeroPoints) {
  const Tensor& in = ctx.input(0);
  const X* x = in.data<X>();
  Y* y = ctx.output(0).data<Y>();
  ctx.parallelFor(in.elementCount(), kGrain, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      const auto s = static_cast<size_t>(layout.scaleIndex(i));
      // long double holds (x - zp) * scale exactly for every x type and scale (at most 33 x 24 bits), so
      // the result is rounded once.
      const long double d = static_cast<long double>(convertElement<X, double>(x[i], true)) -
                            static_cast<long double>(zeroPoints.empty() ? 0.0 : zeroPoints[s]);
      const long double v = d * static_cast<long double>(scales[s]);
      if constexpr (std::is_same_v<Y, float>) {
        y[i] = static_cast<float>(v);
      } else {
        y[i] = encodeFloat<Y>(toFloatRoundToOdd(v), true);
      }
    }
  });
}

Status dequantizeLinearKernel(KernelContext& ctx) {
  LOWP_ASSIGN_OR_RETURN(auto layout, layoutOf(ctx));
  const std::vector<double> scales = valuesAsDouble(ctx.input(1));
  const std::vector<double> zeroPoints =
      ctx.hasInput(2) ? valuesAsDouble(ctx.input(2)) : std::vector<double>{};
  bool dispatched = false;
  dispatchStorable(ctx.input(0).type(), [&]<typename X>() {
    if constexpr (kIsFp8<X> || std::is_same_v<X, int8_t> || std::is_same_v<X, uint8_t> ||
                  std::is_same_v<X, int16_t> || std::is_same_v<X, uint16_t> || std::is_same_v<X, int32_t>) {
      dispatchFloat(ctx.output(0).type(), [&]<typename Y>() {
        if constexpr (!std::is_same_v<Y, double>) {
          dequantize<X, Y>(ctx, layout, scales, zeroPoints);
          dispatched = true;
        }
      });
    }
  });
  if (!dispatched) {
    return ctx.unsupported("no DequantizeLinear from " + std::string(dataTypeName(ctx.input(0).type())) +
                           " to " + std::string(dataTypeName(ctx.output(0).type())));
  }
  return {};
}

// ---- DynamicQuantizeLinear ----

/// Follows the ONNX function body step by step in float: the range is widened to include 0, the scale is
/// range / 255, the zero point is round(clamp(-min / scale, 0, 255)), then y = saturate(round(x / scale) +
/// zp). An all-zero (or empty) x gives scale 0, zero point 0 and y = 0.
Status dynamicQuantizeLinearKernel(KernelContext& ctx) {
  const Tensor& in = ctx.input(0);
  const float* x = in.data<float>();
  const int64_t n = in.elementCount();
  float lo = 0.0f;
  float hi = 0.0f;
  for (int64_t i = 0; i < n; ++i) {
    lo = std::min(lo, x[i]);
    hi = std::max(hi, x[i]);
  }
  const float scale = (hi - lo) / 255.0f;
  float zeroPoint = 0.0f;
  if (scale != 0.0f) zeroPoint = std::nearbyint(std::clamp(0.0f - lo / scale, 0.0f, 255.0f));
  uint8_t* y = ctx.output(0).data<uint8_t>();
  ctx.parallelFor(n, kGrain, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      if (scale == 0.0f) {
        y[i] = static_cast<uint8_t>(zeroPoint);
        continue;
      }
      const float v = std::nearbyint(x[i] / scale) + zeroPoint;
      y[i] = static_cast<uint8_t>(std::clamp(v, 0.0f, 255.0f));
    }
  });
  if (ctx.hasOutput(1)) ctx.output(1).data<float>()[0] = scale;
  if (ctx.hasOutput(2)) ctx.output(2).data<uint8_t>()[0] = static_cast<uint8_t>(zeroPoint);
  return {};
}

TypeSet fp8Types() {
  return {DataType::kFloat8E4M3FN, DataType::kFloat8E4M3FNUZ, DataType::kFloat8E5M2,
          DataType::kFloat8E5M2FNUZ};
}

TypeSet quantizedTypes() {
  return TypeSet{DataType::kInt8, DataType::kUInt8, DataType::kInt16, DataType::kUInt16} | fp8Types();
}

TypeSet scaleTypes() {
  return {DataType::kFloat32, DataType::kFloat16, DataType::kBFloat16};
}

}  // namespace

void registerConversionKernels(KernelRegistry& registry) {
  registry.add({.opType = "Cast",
                .name = "any-cast-ref",
                .inputTypes = {allStorableTypes()},
                .outputTypes = {allStorableTypes()},
                .fn = castKernel});
  registry.add({.opType = "CastLike",
                .name = "any-castlike-ref",
                .inputTypes = {allStorableTypes(), allStorableTypes()},
                .outputTypes = {allStorableTypes()},
                .fn = castKernel});
  registry.add({.opType = "QuantizeLinear",
                .name = "any-quantizelinear-ref",
                .inputTypes = {scaleTypes() | TypeSet{DataType::kInt32},
                               scaleTypes() | TypeSet{DataType::kInt32}, quantizedTypes()},
                .outputTypes = {quantizedTypes()},
                .fn = quantizeLinearKernel});
  registry.add({.opType = "DequantizeLinear",
                .name = "any-dequantizelinear-ref",
                .inputTypes = {quantizedTypes() | TypeSet{DataType::kInt32}, scaleTypes(),
                               quantizedTypes() | TypeSet{DataType::kInt32}},
                .outputTypes = {scaleTypes()},
                .fn = dequantizeLinearKernel});
  registry.add({.opType = "DynamicQuantizeLinear",
                .name = "f32-dynamicquantizelinear-ref",
                .inputTypes = {{DataType::kFloat32}},
                .outputTypes = {{DataType::kUInt8}, {DataType::kFloat32}, {DataType::kUInt8}},
                .fn = dynamicQuantizeLinearKernel});
}

}  // namespace lowp::kernels::ref
