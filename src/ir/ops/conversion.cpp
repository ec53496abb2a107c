// Type and shape rules of the conversion ops: Cast, CastLike, QuantizeLinear, DequantizeLinear and
// DynamicQuantizeLinear. These (with the casts the builder inserts) are the only ops that change a type.
#include <string>

#include "ir/ops/common.h"
#include "ir/ops/conversion_quant.h"

namespace lowp::ir::ops {
namespace {

/// Names of the ONNX types that DataType has no storage for, so errors can name them.
std::string onnxTypeName(int64_t id) {
  switch (id) {
    case 23:
      return "FLOAT4E2M1";
    case 24:
      return "FLOAT8E8M0";
    case 25:
      return "UINT2";
    case 26:
      return "INT2";
    default:
      break;
  }
  if (auto t = dataTypeFromOnnx(static_cast<int32_t>(id))) return std::string(dataTypeInfo(*t).onnxName);
  return "type " + std::to_string(id);
}

bool isKnownOnnxType(int64_t id) {
  return id >= 1 && id <= 26;
}

bool isFp8(DataType t) {
  return t == DataType::kFloat8E4M3FN || t == DataType::kFloat8E4M3FNUZ || t == DataType::kFloat8E5M2 ||
         t == DataType::kFloat8E5M2FNUZ;
}

std::string typeName(DataType t) {
  return std::string(dataTypeInfo(t).onnxName);
}

/// Error unless lowp can cast from or to `type`.
Status requireCastable(InferContext& ctx, DataType type, const char* role) {
  if (type == DataType::kUndefined) return ctx.invalid(std::string(role) + " type is unknown");
  if (!isStorable(type)) {
    return ctx.unsupported(std::string("casting ") + (std::string(role) == "input" ? "from " : "to ") +
                           typeName(type) + " is not supported (lowp stores no " + typeName(type) +
                           " tensors)");
  }
  return {};
}

/// The attributes Cast and CastLike share: saturate (opset 19) and round_mode (opset 24, FLOAT8E8M0 only).
Status checkCastAttributes(InferContext& ctx) {
  const int64_t saturate = ctx.attrs().getInt("saturate", 1);
  if (saturate != 0 && saturate != 1)
    return ctx.invalid("saturate must be 0 or 1, got " + std::to_string(saturate));
  const std::string roundMode = ctx.attrs().getString("round_mode", "up");
  if (roundMode != "up" && roundMode != "down" && roundMode != "nearest") {
    return ctx.invalid("round_mode must be up, down or nearest, got '" + roundMode + "'");
  }
  return {};
}

Status inferCastTo(InferContext& ctx, DataType target) {
  LOWP_RETURN_IF_ERROR(checkCastAttributes(ctx));
  LOWP_RETURN_IF_ERROR(requireCastable(ctx, ctx.inputType(0), "input"));
  LOWP_RETURN_IF_ERROR(requireCastable(ctx, target, "target"));
  ctx.setOutput(0, target, ctx.inputShape(0));
  return {};
}

Status inferCast(InferContext& ctx) {
  if (!ctx.attrs().has("to")) return ctx.invalid("missing the required attribute 'to'");
  const int64_t to = ctx.attrs().getInt("to", 0);
  if (!isKnownOnnxType(to))
    return ctx.invalid("attribute 'to' is not an ONNX type id: " + std::to_string(to));
  auto target = dataTypeFromOnnx(static_cast<int32_t>(to));
  if (!target) {
    return ctx.unsupported("casting to " + onnxTypeName(to) + " is not supported (lowp stores no " +
                           onnxTypeName(to) + " tensors)");
  }
  return inferCastTo(ctx, *target);
}

Status inferCastLike(InferContext& ctx) {
  return inferCastTo(ctx, ctx.inputType(1));
}

/// The output type a QuantizeLinear writes: output_dtype (opset 21), else the zero point's type, else uint8.
Result<DataType> quantizedType(InferContext& ctx) {
  const int64_t outputDtype = ctx.attrs().getInt("output_dtype", 0);
  DataType fromAttr = DataType::kUndefined;
  if (outputDtype != 0) {
    if (!isKnownOnnxType(outputDtype)) {
      return ctx.invalid("output_dtype is not an ONNX type id: " + std::to_string(outputDtype));
    }
    auto t = dataTypeFromOnnx(static_cast<int32_t>(outputDtype));
    if (!t || !isStorable(*t)) {
      return ctx.unsupported("quantizing to " + onnxTypeName(outputDtype) + " is not supported");
    }
    fromAttr = *t;
  }
  DataType out = fromAttr == DataType::kUndefined ? DataType::kUInt8 : fromAttr;
  if (ctx.hasInput(2)) {
    const DataType zp = ctx.inputType(2);
    if (fromAttr != DataType::kUndefined && zp != fromAttr) {
      return ctx.invalid("output_dtype " + typeName(fromAttr) + " differs from the zero point's type " +
                         typeName(zp));
    }
    out = zp;
  }
  return out;
}

bool isQuantizedIntType(DataType t) {
  return t == DataType::kUInt8 || t == DataType::kInt8 || t == DataType::kUInt16 || t == DataType::kInt16;
}

Status requireQuantizedType(InferContext& ctx, DataType t, bool allowInt32) {
  if (isQuantizedIntType(t) || isFp8(t) || (allowInt32 && t == DataType::kInt32)) return {};
  if (t == DataType::kInt4 || t == DataType::kUInt4) {
    return ctx.unsupported("4-bit quantized type " + typeName(t) + " is not supported");
  }
  return ctx.invalid("quantized type must be int8, uint8, int16, uint16" +
                     std::string(allowInt32 ? ", int32" : "") + " or an FP8 type, got " + typeName(t));
}

bool isScaleFloat(DataType t) {
  return t == DataType::kFloat32 || t == DataType::kFloat16 || t == DataType::kBFloat16;
}

/// Checks the scale and zero point shapes against x and the axis / block_size attributes.
Status checkQuantLayout(InferContext& ctx) {
  const int64_t axis = ctx.attrs().getInt("axis", 1);
  const int64_t blockSize = ctx.attrs().getInt("block_size", 0);
  auto layout = quantLayout(ctx.inputShape(0), ctx.inputShape(1), axis, blockSize, ctx.node().opsetVersion);
  if (!layout) return ctx.invalid(layout.status().message());
  if (ctx.hasInput(2)) {
    Status zp = checkZeroPointShape(ctx.inputShape(1), ctx.inputShape(2));
    if (!zp.isOk()) return ctx.invalid(zp.message());
  }
  return {};
}

Status inferQuantizeLinear(InferContext& ctx) {
  const DataType x = ctx.inputType(0);
  const DataType scale = ctx.inputType(1);
  if (!isScaleFloat(x) && x != DataType::kInt32) {
    return ctx.invalid("x must be float, float16, bfloat16 or int32, got " + typeName(x));
  }
  if (!isScaleFloat(scale) && scale != DataType::kInt32) {
    return ctx.invalid("y_scale must be float, float16, bfloat16 or int32, got " + typeName(scale));
  }
  const int64_t precision = ctx.attrs().getInt("precision", 0);
  if (precision != 0) {
    auto p = dataTypeFromOnnx(static_cast<int32_t>(precision));
    if (!p || !isScaleFloat(*p)) {
      return ctx.unsupported("precision " + onnxTypeName(precision) +
                             " is not supported (float, float16 or bfloat16)");
    }
  }
  const int64_t saturate = ctx.attrs().getInt("saturate", 1);
  if (saturate != 0 && saturate != 1)
    return ctx.invalid("saturate must be 0 or 1, got " + std::to_string(saturate));
  LOWP_ASSIGN_OR_RETURN(DataType out, quantizedType(ctx));
  LOWP_RETURN_IF_ERROR(requireQuantizedType(ctx, out, false));
  LOWP_RETURN_IF_ERROR(checkQuantLayout(ctx));
  ctx.setOutput(0, out, ctx.inputShape(0));
  return {};
}

Status inferDequantizeLinear(InferContext& ctx) {
  const DataType x = ctx.inputType(0);
  LOWP_RETURN_IF_ERROR(requireQuantizedType(ctx, x, true));
  if (ctx.hasInput(2) && ctx.inputType(2) != x) {
    return ctx.invalid("x_zero_point has type " + typeName(ctx.inputType(2)) + " but x has " + typeName(x));
  }
  const DataType scale = ctx.inputType(1);
  if (!isScaleFloat(scale)) {
    if (scale == DataType::kUndefined || isStorable(scale)) {
      return ctx.invalid("x_scale must be float, float16 or bfloat16, got " + typeName(scale));
    }
    return ctx.unsupported("x_scale of type " + typeName(scale) + " is not supported");
  }
  DataType out = scale;
  if (const int64_t outputDtype = ctx.attrs().getInt("output_dtype", 0); outputDtype != 0) {
    auto t = dataTypeFromOnnx(static_cast<int32_t>(outputDtype));
    if (!t || !isScaleFloat(*t)) {
      return ctx.invalid("output_dtype must be float, float16 or bfloat16, got " + onnxTypeName(outputDtype));
    }
    out = *t;
  }
  LOWP_RETURN_IF_ERROR(checkQuantLayout(ctx));
  ctx.setOutput(0, out, ctx.inputShape(0));
  return {};
}

Status inferDynamicQuantizeLinear(InferContext& ctx) {
  if (ctx.inputType(0) != DataType::kFloat32) {
    return ctx.invalid("x must be float, got " + typeName(ctx.inputType(0)));
  }
  ctx.setOutput(0, DataType::kUInt8, ctx.inputShape(0));
  ctx.setOutput(1, DataType::kFloat32, Shape(std::vector<Dim>{}));
  ctx.setOutput(2, DataType::kUInt8, Shape(std::vector<Dim>{}));
  return {};
}

}  // namespace

void registerConversionSchemas(OpSchemaRegistry& registry) {
  const AttrSpec saturate{"saturate", AttrType::kInt};
  const AttrSpec roundMode{"round_mode", AttrType::kString};
  registry.add({.opType = "Cast",
                .minInputs = 1,
                .maxInputs = 1,
                .attributes = {{"to", AttrType::kInt}, saturate, roundMode},
                .infer = inferCast});
  registry.add({.opType = "CastLike",
                .minInputs = 2,
                .maxInputs = 2,
                .attributes = {saturate, roundMode},
                .infer = inferCastLike});
  registry.add({.opType = "QuantizeLinear",
                .minInputs = 2,
                .maxInputs = 3,
                .attributes = {{"axis", AttrType::kInt},
                               saturate,
                               {"block_size", AttrType::kInt},
                               {"output_dtype", AttrType::kInt},
                               {"precision", AttrType::kInt}},
                .infer = inferQuantizeLinear});
  registry.add({.opType = "DequantizeLinear",
                .minInputs = 2,
                .maxInputs = 3,
                .attributes = {{"axis", AttrType::kInt},
                               {"block_size", AttrType::kInt},
                               {"output_dtype", AttrType::kInt}},
                .infer = inferDequantizeLinear});
  registry.add({.opType = "DynamicQuantizeLinear",
                .minInputs = 1,
                .maxInputs = 1,
                .minOutputs = 3,
                .maxOutputs = 3,
                .attributes = {},
                .infer = inferDynamicQuantizeLinear});
}

}  // namespace lowp::ir::ops
