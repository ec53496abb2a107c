// Reference kernels of lowp's quantized ops (ir/ops/quantized.h): QuantizedConv and QuantizedMatMul.
//
// The integer accumulation is ConvInteger / MatMulInteger's reference kernel (exact); the rest follows the
// op definition in double: v = act((acc + B[m]) * x_scale * w_scales[m] + z), then one rounding to the
// output type (float) or one quantization with y_scale (integer). This is the oracle the fast kernels are
// tested against; they may differ by one step where their float rescale rounds differently.
// QuantizedMatMul with fp8 operands decodes them and sums in double: v = act(sum A B * a_scale * b_scale[n] +
// Bias[n]), rounded once to the float output type, or v / y_scale (in fp32) to float8e4m3fn.
#include <cstdint>
#include <string>
#include <vector>

#include "ir/ops/fused.h"
#include "ir/ops/quantized.h"
#include "kernels/reference/common.h"
#include "kernels/reference/conversion_numeric.h"

namespace lowp::kernels::ref {
namespace {

double realAt(const Tensor& t, int64_t i, float scale, int32_t zeroPoint) {
  switch (t.type()) {
    case DataType::kInt8:
      return (t.data<int8_t>()[i] - zeroPoint) * static_cast<double>(scale);
    case DataType::kUInt8:
      return (t.data<uint8_t>()[i] - zeroPoint) * static_cast<double>(scale);
    case DataType::kFloat16:
      return ir::toFloat(t.data<Float16>()[i]);
    case DataType::kBFloat16:
      return ir::toFloat(t.data<BFloat16>()[i]);
    default:
      return t.data<float>()[i];
  }
}

void store(Tensor& y, int64_t i, double v, const ir::ops::QuantizedParams& p) {
  switch (y.type()) {
    case DataType::kInt8:
      y.data<int8_t>()[i] = static_cast<int8_t>(
          ir::ops::quantizeValue(static_cast<float>(v), p.outputScale, p.outputZeroPoint, DataType::kInt8));
      break;
    case DataType::kUInt8:
      y.data<uint8_t>()[i] = static_cast<uint8_t>(
          ir::ops::quantizeValue(static_cast<float>(v), p.outputScale, p.outputZeroPoint, DataType::kUInt8));
      break;
    case DataType::kFloat8E4M3FN:  // divided in fp32, as QuantizeLinear divides
      y.data<Fp8E4M3FN>()[i].bits = fp8Encode(static_cast<float>(v) / p.outputScale,
                                              fp8Format<DataType::kFloat8E4M3FN>(), /*saturate=*/true);
      break;
    case DataType::kFloat16:
      y.data<Float16>()[i] = Float16{ir::floatToFloat16(static_cast<float>(v))};
      break;
    case DataType::kBFloat16:
      y.data<BFloat16>()[i] = BFloat16{ir::floatToBFloat16(static_cast<float>(v))};
      break;
    default:
      y.data<float>()[i] = static_cast<float>(v);
      break;
  }
}

template <bool kConv>
Status quantizedKernel(KernelContext& ctx) {
  auto params = ir::ops::readQuantizedParams(ctx.attrs(), kConv);
  if (!params) return ctx.invalid(params.status().message());
  auto act = ir::ops::readActivation(ctx.attrs());
  if (!act) return ctx.invalid(act.status().message());
  Tensor& y = ctx.output(0);
  if (y.type() != params->outputType) {
    return ctx.invalid("output " + y.describe() + " is not of the output_type attribute's type");
  }
  const Tensor& w = ctx.input(1);
  const int64_t channels = kConv ? (w.rank() > 0 ? w.shape()[0] : 0) : (w.rank() > 0 ? w.shape().back() : 0);
  if (params->weightScales.size() != 1 && static_cast<int64_t>(params->weightScales.size()) != channels) {
    return ctx.invalid(std::to_string(params->weightScales.size()) + " weight scales for " +
                       std::to_string(channels) + " output channels");
  }
  const Tensor* bias = ctx.hasInput(2) ? &ctx.input(2) : nullptr;
  if (bias != nullptr && bias->elementCount() != channels) {
    return ctx.invalid("bias " + bias->describe() + " is not one int32 per output channel");
  }
  const Tensor* z = kConv && ctx.hasInput(3) ? &ctx.input(3) : nullptr;
  if (z != nullptr && z->shape() != y.shape()) {
    return ctx.invalid("residual " + z->describe() + " does not match the output " + y.describe());
  }
  if (y.elementCount() == 0) return {};

  Tensor zeroPoint(ctx.input(0).type(), {});
  if (zeroPoint.type() == DataType::kUInt8) {
    zeroPoint.data<uint8_t>()[0] = static_cast<uint8_t>(params->inputZeroPoint);
  } else {
    zeroPoint.data<int8_t>()[0] = static_cast<int8_t>(params->inputZeroPoint);
  }
  Tensor acc(DataType::kInt32, y.shape());
  LOWP_RETURN_IF_ERROR(
      runReferenceOf(ctx, kConv ? "ConvInteger" : "MatMulInteger", {&ctx.input(0), &w, &zeroPoint}, acc));

  // Conv's output channel is dim 1 of NC...; MatMul's column is the last dim.
  const std::vector<int64_t>& shape = y.shape();
  int64_t inner = 1;
  for (size_t d = 2; d < shape.size(); ++d) inner *= shape[d];
  const int32_t* a = acc.data<int32_t>();
  const int32_t* b = bias != nullptr ? bias->data<int32_t>() : nullptr;
  for (int64_t i = 0; i < y.elementCount(); ++i) {
    const int64_t m = kConv ? i / inner % channels : i % channels;
    const int64_t sum = int64_t{a[i]} + (b != nullptr ? b[m] : 0);
    double v = static_cast<double>(sum) * params->inputScale * params->weightScale(m);
    if (z != nullptr) v += realAt(*z, i, params->residualScale, params->residualZeroPoint);
    store(y, i, ir::ops::applyActivation(*act, v), *params);
  }
  return {};
}

// QuantizedMatMul of fp8 A [..., K] by a 2-D fp8 B [K, N].
Status fp8MatMulKernel(KernelContext& ctx) {
  auto params = ir::ops::readQuantizedParams(ctx.attrs(), false);
  if (!params) return ctx.invalid(params.status().message());
  auto act = ir::ops::readActivation(ctx.attrs());
  if (!act) return ctx.invalid(act.status().message());
  const Tensor& a = ctx.input(0);
  const Tensor& b = ctx.input(1);
  Tensor& y = ctx.output(0);
  if (y.type() != params->outputType)
    return ctx.invalid("output " + y.describe() + " is not of the output_type attribute's type");
  if (b.rank() != 2) return ctx.unsupported("B " + b.describe() + " is not 2-D");
  if (a.rank() < 1 || a.shape().back() != b.shape()[0])
    return ctx.invalid("A " + a.describe() + " and B " + b.describe() + " do not multiply");
  const int64_t k = b.shape()[0];
  const int64_t n = b.shape()[1];
  const int64_t m = k > 0 ? a.elementCount() / k : 0;
  if (y.elementCount() != m * n) return ctx.invalid("output " + y.describe() + " is not [..., N]");
  if (params->weightScales.size() != 1 && static_cast<int64_t>(params->weightScales.size()) != n)
    return ctx.invalid(std::to_string(params->weightScales.size()) + " weight scales for " +
                       std::to_string(n) + " columns");
  const Tensor* bias = ctx.hasInput(2) ? &ctx.input(2) : nullptr;
  if (bias != nullptr && bias->elementCount() != n)
    return ctx.invalid("bias " + bias->describe() + " is not one float32 per column");
  constexpr Fp8Format kE4M3 = fp8Format<DataType::kFloat8E4M3FN>();
  std::vector<double> bf(static_cast<size_t>(k * n));
  for (int64_t i = 0; i < k * n; ++i)
    bf[static_cast<size_t>(i)] = fp8Decode(b.data<Fp8E4M3FN>()[i].bits, kE4M3);
  std::vector<double> row(static_cast<size_t>(k));
  for (int64_t r = 0; r < m; ++r) {
    for (int64_t j = 0; j < k; ++j)
      row[static_cast<size_t>(j)] = fp8Decode(a.data<Fp8E4M3FN>()[r * k + j].bits, kE4M3);
    for (int64_t c = 0; c < n; ++c) {
      double sum = 0;
      for (int64_t j = 0; j < k; ++j) sum += row[static_cast<size_t>(j)] * bf[static_cast<size_t>(j * n + c)];
      double v = sum * params->inputScale * params->weightScale(c);
      if (bias != nullptr) v += bias->data<float>()[c];
      store(y, r * n + c, ir::ops::applyActivation(*act, v), *params);
    }
  }
  return {};
}

}  // namespace

void registerQuantizedKernels(KernelRegistry& registry) {
  const TypeSet activations = {DataType::kInt8, DataType::kUInt8};
  const TypeSet outputs = {DataType::kInt8, DataType::kUInt8, DataType::kFloat32, DataType::kFloat16,
                           DataType::kBFloat16};
  registry.add({.opType = "QuantizedConv",
                .name = "i8-quantizedconv-ref",
                .inputTypes = {activations, {DataType::kInt8}, {DataType::kInt32}, outputs},
                .outputTypes = {outputs},
                .fn = quantizedKernel<true>,
                .domain = ir::ops::kLowpDomain});
  registry.add({.opType = "QuantizedMatMul",
                .name = "i8-quantizedmatmul-ref",
                .inputTypes = {activations, {DataType::kInt8}, {DataType::kInt32}},
                .outputTypes = {outputs},
                .fn = quantizedKernel<false>,
                .domain = ir::ops::kLowpDomain});
  registry.add({.opType = "QuantizedMatMul",
                .name = "f8-quantizedmatmul-ref",
                .inputTypes = {{DataType::kFloat8E4M3FN}, {DataType::kFloat8E4M3FN}, {DataType::kFloat32}},
                .outputTypes = {{DataType::kFloat32, DataType::kFloat16, DataType::kBFloat16,
                                 DataType::kFloat8E4M3FN}},
                .fn = fp8MatMulKernel,
                .domain = ir::ops::kLowpDomain});
}

}  // namespace lowp::kernels::ref
