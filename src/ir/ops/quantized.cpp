// Type and shape rules of lowp's quantized ops (quantized.h): the output shape is the one ConvInteger /
// MatMulInteger give on the integer operands; the output type is the `output_type` attribute.
#include "ir/ops/quantized.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "ir/ops/common.h"
#include "ir/ops/fused.h"

namespace lowp::ir::ops {
namespace {

std::string typeName(DataType t) {
  return std::string(dataTypeInfo(t).name);
}

bool isQuantizedType(DataType t) {
  return t == DataType::kInt8 || t == DataType::kUInt8;
}

Result<float> readScale(const AttributeMap& attrs, const char* name) {
  if (!attrs.has(name)) return Status(StatusCode::kInvalidArgument, std::string("missing attribute ") + name);
  const float s = attrs.getFloat(name, 0.0f);
  if (!(s > 0.0f) || !std::isfinite(s)) {
    return Status(StatusCode::kInvalidArgument, std::string("attribute ") + name + " = " + std::to_string(s) +
                                                    " is not a positive finite scale");
  }
  return s;
}

// A zero point must lie in the range of the integer type it offsets; uint8 or int8 is decided by the data,
// so here only the union of both ranges is checked; the schema checks it against the input's type.
Result<int32_t> readZeroPoint(const AttributeMap& attrs, const char* name) {
  const int64_t z = attrs.getInt(name, 0);
  if (z < -128 || z > 255) {
    return Status(StatusCode::kInvalidArgument, std::string("attribute ") + name + " = " + std::to_string(z) +
                                                    " is outside int8 and uint8");
  }
  return static_cast<int32_t>(z);
}

Status checkZeroPoint(const InferContext& ctx, const char* name, int32_t zeroPoint, DataType type) {
  const int32_t lo = type == DataType::kUInt8 ? 0 : -128;
  const int32_t hi = type == DataType::kUInt8 ? 255 : 127;
  if (zeroPoint < lo || zeroPoint > hi) {
    return ctx.invalid(std::string(name) + " " + std::to_string(zeroPoint) + " is outside " + typeName(type) +
                       "'s range");
  }
  return {};
}

Status inferQuantized(InferContext& ctx, bool conv) {
  if (ctx.outputCount() != 1)
    return ctx.invalid("has " + std::to_string(ctx.outputCount()) + " outputs, not 1");
  auto params = readQuantizedParams(ctx.attrs(), conv);
  if (!params) return ctx.invalid(params.status().message());
  auto activation = readActivation(ctx.attrs());
  if (!activation) return ctx.invalid(activation.status().message());
  const char* xName = conv ? "X" : "A";
  const char* wName = conv ? "W" : "B";
  const bool fp8 = !conv && ctx.inputType(0) == DataType::kFloat8E4M3FN;
  if (!isQuantizedType(ctx.inputType(0)) && !fp8)
    return ctx.invalid(std::string(xName) + " has type " + typeName(ctx.inputType(0)) +
                       (conv ? ", not int8 or uint8" : ", not int8, uint8 or float8e4m3fn"));
  if (fp8 &&
      (params->inputZeroPoint != 0 || params->outputZeroPoint != 0 || isQuantizedType(params->outputType)))
    return ctx.invalid("fp8 operands take no zero points and give a float or float8e4m3fn output");
  if (!fp8 && params->outputType == DataType::kFloat8E4M3FN)
    return ctx.invalid("a float8e4m3fn output needs fp8 operands");
  if (!fp8) {
    LOWP_RETURN_IF_ERROR(checkZeroPoint(ctx, conv ? "x_zero_point" : "a_zero_point", params->inputZeroPoint,
                                        ctx.inputType(0)));
  }
  const DataType weightType = fp8 ? DataType::kFloat8E4M3FN : DataType::kInt8;
  if (ctx.inputType(1) != weightType)
    return ctx.invalid(std::string(wName) + " has type " + typeName(ctx.inputType(1)) + ", not " +
                       typeName(weightType));
  const DataType biasType = quantizedBiasType(ctx.inputType(0));
  if (ctx.hasInput(2) && ctx.inputType(2) != biasType)
    return ctx.invalid("bias has type " + typeName(ctx.inputType(2)) + ", not " + typeName(biasType));

  // The integer op of the same shape rules (MatMul's for fp8 operands) gives the output shape.
  const Shape& w = ctx.inputShape(1);
  const DataType shapeType = fp8 ? DataType::kFloat32 : DataType::kInt8;
  std::vector<InferInput> base = {{true, fp8 ? shapeType : ctx.inputType(0), ctx.inputShape(0), nullptr},
                                  {true, shapeType, w, nullptr}};
  InferContext integer(ctx.node(), std::move(base));
  const OpSchema* schema =
      OpSchemaRegistry::global().find("", conv ? "ConvInteger" : (fp8 ? "MatMul" : "MatMulInteger"));
  if (schema == nullptr || schema->infer == nullptr) return ctx.unsupported("no integer schema");
  LOWP_RETURN_IF_ERROR(schema->infer(integer));
  const Shape& y = integer.outputShape(0);

  // Output channels: W's first dim (conv) or B's last (matmul).
  Dim channels;
  if (w.rankKnown() && w.rank() >= (conv ? 1 : 2)) channels = conv ? w[0] : w[w.rank() - 1];
  if (channels.isKnown() && params->weightScales.size() != 1 &&
      static_cast<int64_t>(params->weightScales.size()) != channels.size) {
    return ctx.invalid(std::string(conv ? "w_scales" : "b_scales") + " has " +
                       std::to_string(params->weightScales.size()) + " values for " +
                       std::to_string(channels.size) + " output channels");
  }
  if (ctx.hasInput(2)) {
    const Shape& b = ctx.inputShape(2);
    if (b.rankKnown() &&
        (b.rank() != 1 || (channels.isKnown() && b[0].isKnown() && b[0].size != channels.size)))
      return ctx.invalid("bias shape " + b.toString() + " is not [" +
                         (channels.isKnown() ? std::to_string(channels.size) : std::string("M")) + "]");
  }
  const DataType out = params->outputType;
  if (conv && ctx.hasInput(3)) {
    const DataType z = ctx.inputType(3);
    if (isQuantizedType(z)) {
      if (!ctx.attrs().has("z_scale")) return ctx.invalid("an integer residual needs z_scale");
      LOWP_RETURN_IF_ERROR(checkZeroPoint(ctx, "z_zero_point", params->residualZeroPoint, z));
    } else if (z != out) {
      return ctx.invalid("residual has type " + typeName(z) + "; a float residual has the output's type " +
                         typeName(out));
    }
    const Shape& zs = ctx.inputShape(3);
    if (zs.rankKnown() && y.rankKnown() && zs.rank() != y.rank())
      return ctx.invalid("residual shape " + zs.toString() + " differs from the output shape " +
                         y.toString());
  }
  if (isQuantizedType(out))
    LOWP_RETURN_IF_ERROR(checkZeroPoint(ctx, "y_zero_point", params->outputZeroPoint, out));
  ctx.setOutput(0, out, y);
  return {};
}

Status inferQuantizedConv(InferContext& ctx) {
  return inferQuantized(ctx, true);
}

Status inferQuantizedMatMul(InferContext& ctx) {
  return inferQuantized(ctx, false);
}

}  // namespace

bool isQuantizedOutputType(DataType t) {
  return t == DataType::kInt8 || t == DataType::kUInt8 || t == DataType::kFloat8E4M3FN ||
         t == DataType::kFloat32 || t == DataType::kFloat16 || t == DataType::kBFloat16;
}

DataType quantizedBiasType(DataType input) {
  return input == DataType::kFloat8E4M3FN ? DataType::kFloat32 : DataType::kInt32;
}

Result<QuantizedParams> readQuantizedParams(const AttributeMap& attrs, bool conv) {
  QuantizedParams p;
  const char* inputScale = conv ? "x_scale" : "a_scale";
  const char* inputZero = conv ? "x_zero_point" : "a_zero_point";
  const char* weightScales = conv ? "w_scales" : "b_scales";
  LOWP_ASSIGN_OR_RETURN(p.inputScale, readScale(attrs, inputScale));
  LOWP_ASSIGN_OR_RETURN(p.inputZeroPoint, readZeroPoint(attrs, inputZero));
  p.weightScales = attrs.getFloats(weightScales);
  if (p.weightScales.empty())
    return Status(StatusCode::kInvalidArgument, std::string("missing attribute ") + weightScales);
  for (float s : p.weightScales) {
    if (!(s > 0.0f) || !std::isfinite(s)) {
      return Status(StatusCode::kInvalidArgument, std::string("attribute ") + weightScales + " holds " +
                                                      std::to_string(s) + ", not a positive finite scale");
    }
  }
  if (!attrs.has("output_type")) return Status(StatusCode::kInvalidArgument, "missing attribute output_type");
  p.outputType = static_cast<DataType>(attrs.getInt("output_type", 0));
  if (!isQuantizedOutputType(p.outputType)) {
    return Status(StatusCode::kInvalidArgument,
                  "attribute output_type = " + std::to_string(attrs.getInt("output_type", 0)) +
                      " is not int8, uint8, float8e4m3fn, float32, float16 or bfloat16");
  }
  if (p.outputType == DataType::kInt8 || p.outputType == DataType::kUInt8 ||
      p.outputType == DataType::kFloat8E4M3FN) {
    LOWP_ASSIGN_OR_RETURN(p.outputScale, readScale(attrs, "y_scale"));
    LOWP_ASSIGN_OR_RETURN(p.outputZeroPoint, readZeroPoint(attrs, "y_zero_point"));
  }
  if (conv && attrs.has("z_scale")) {
    LOWP_ASSIGN_OR_RETURN(p.residualScale, readScale(attrs, "z_scale"));
    LOWP_ASSIGN_OR_RETURN(p.residualZeroPoint, readZeroPoint(attrs, "z_zero_point"));
  }
  return p;
}

int32_t quantizeValue(float v, float scale, int32_t zeroPoint, DataType type) {
  const int32_t lo = type == DataType::kUInt8 ? 0 : -128;
  const int32_t hi = type == DataType::kUInt8 ? 255 : 127;
  const float q = std::nearbyint(v / scale);  // the default rounding mode: half to even
  if (std::isnan(q)) return std::clamp(zeroPoint, lo, hi);
  const float shifted = q + static_cast<float>(zeroPoint);
  if (shifted <= static_cast<float>(lo)) return lo;
  if (shifted >= static_cast<float>(hi)) return hi;
  return static_cast<int32_t>(shifted);
}

void registerQuantizedSchemas(OpSchemaRegistry& registry) {
  const std::vector<AttrSpec> quantAttrs = {
      {"output_type", AttrType::kInt},        {"y_scale", AttrType::kFloat},
      {"y_zero_point", AttrType::kInt},       {"activation", AttrType::kString},
      {"activation_alpha", AttrType::kFloat}, {"activation_beta", AttrType::kFloat}};
  std::vector<AttrSpec> convAttrs = {
      {"auto_pad", AttrType::kString},   {"dilations", AttrType::kInts},   {"group", AttrType::kInt},
      {"kernel_shape", AttrType::kInts}, {"pads", AttrType::kInts},        {"strides", AttrType::kInts},
      {"x_scale", AttrType::kFloat},     {"x_zero_point", AttrType::kInt}, {"w_scales", AttrType::kFloats},
      {"z_scale", AttrType::kFloat},     {"z_zero_point", AttrType::kInt}};
  convAttrs.insert(convAttrs.end(), quantAttrs.begin(), quantAttrs.end());
  std::vector<AttrSpec> matmulAttrs = {
      {"a_scale", AttrType::kFloat}, {"a_zero_point", AttrType::kInt}, {"b_scales", AttrType::kFloats}};
  matmulAttrs.insert(matmulAttrs.end(), quantAttrs.begin(), quantAttrs.end());
  registry.add({.opType = "QuantizedConv",
                .minInputs = 2,
                .maxInputs = 4,
                .attributes = convAttrs,
                .infer = inferQuantizedConv,
                .domain = kLowpDomain});
  registry.add({.opType = "QuantizedMatMul",
                .minInputs = 2,
                .maxInputs = 3,
                .attributes = matmulAttrs,
                .infer = inferQuantizedMatMul,
                .domain = kLowpDomain});
}

}  // namespace lowp::ir::ops
