#include "runtime/tensor_forms.h"

#include <cstring>
#include <string>

#include "ir/data_type.h"
#include "ir/format.h"
#include "ir/numeric.h"
#include "ir/ops/quantized.h"

namespace lowp::runtime {
namespace {

bool isQuantizedType(DataType t) {
  return t == DataType::kInt8 || t == DataType::kUInt8;
}

// Ops whose integer output holds its first input's integers unchanged (moved, picked or reshaped), so it
// shares the input's scale.
bool keepsInputScale(const ir::Node& node) {
  static const char* const kOps[] = {"MaxPool",   "Reshape",  "Flatten",  "Transpose",    "Squeeze",
                                     "Unsqueeze", "Identity", "Reformat", "Slice",        "Split",
                                     "Gather",    "Expand",   "Tile",     "DepthToSpace", "SpaceToDepth"};
  for (const char* op : kOps) {
    if (node.opType == op) return true;
  }
  return false;
}

// A scalar constant input `i` of `node` as a double, or nullopt.
std::optional<double> scalarInput(const ir::Node& node, size_t i) {
  const ir::Value* v = node.input(i);
  if (v == nullptr || !v->constant || v->constant->elementCount() != 1) return std::nullopt;
  return elementAsDouble(*v->constant, 0);
}

Quantization fromQdqNode(const ir::Node& node) {
  std::optional<double> scale = scalarInput(node, 1);
  if (!scale || !(*scale > 0)) return {};
  std::optional<double> zeroPoint = scalarInput(node, 2);
  return {static_cast<float>(*scale), static_cast<int32_t>(zeroPoint.value_or(0))};
}

Status layoutError(const ir::Value& v) {
  return Status(StatusCode::kUnsupported, "tensor '" + v.name + "' is kept in the " +
                                              std::string(ir::formatName(v.format)) +
                                              " layout, which cannot be converted to ONNX's here");
}

}  // namespace

Quantization quantizationOf(const ir::Value& v) {
  if (!isQuantizedType(v.type)) return {};
  // Walk back through ops that keep their input's integers.
  const ir::Value* at = &v;
  for (int hops = 0; at != nullptr && hops < 64; ++hops) {
    const ir::Node* producer = at->producer;
    if (producer == nullptr) break;
    if (producer->opType == "QuantizeLinear") return fromQdqNode(*producer);
    if (producer->opType == "QuantizedConv" || producer->opType == "QuantizedMatMul") {
      const ir::AttributeMap& a = producer->attributes;
      const float scale = a.getFloat("y_scale", 0.0f);
      if (!(scale > 0)) return {};
      return {scale, static_cast<int32_t>(a.getInt("y_zero_point", 0))};
    }
    if (!keepsInputScale(*producer) || producer->input(0) == nullptr) break;
    at = producer->input(0);
  }
  for (const ir::Node* consumer : v.consumers) {
    if (consumer->opType == "DequantizeLinear" && consumer->input(0) == &v) return fromQdqNode(*consumer);
  }
  return {};
}

Result<Tensor> toModelLayout(const ir::Value& v, const Tensor& t) {
  if (v.format == ir::TensorFormat::kLinear)
    return Tensor::view(t.type(), t.shape(), const_cast<void*>(t.data()));
  if (t.rank() < 3) return layoutError(v);
  Tensor plain(t.type(), t.shape());
  if (v.format == ir::TensorFormat::kHwc) {
    ir::reorderChannelsLast(t, plain, false);
  } else if (v.format == ir::TensorFormat::kChw16) {
    ir::reorderChannelBlocks(t, plain, false);
  } else {
    return layoutError(v);
  }
  return plain;
}

Result<EngineForm> toEngineForm(const ir::Value& v, const std::vector<int64_t>& shape, const Tensor& given) {
  if (given.shape() != shape) {
    return Status(StatusCode::kInvalidArgument, "the replacement of tensor '" + v.name + "' has shape " +
                                                    ir::formatSizes(given.shape()) + ", the engine's is " +
                                                    ir::formatSizes(shape));
  }
  Tensor typed(v.type, given.shape());
  const int64_t count = given.elementCount();
  if (given.type() == v.type) {
    std::memcpy(typed.data(), given.data(), static_cast<size_t>(given.byteSize()));
  } else if (ir::isFloat(given.type()) && isQuantizedType(v.type)) {
    const Quantization q = quantizationOf(v);
    if (q.scale == 0) {
      return Status(StatusCode::kUnsupported, "tensor '" + v.name + "' is kept in " +
                                                  std::string(ir::dataTypeInfo(v.type).name) +
                                                  " at a scale that is not known here");
    }
    for (int64_t i = 0; i < count; ++i) {
      const int32_t q8 =
          ir::ops::quantizeValue(static_cast<float>(elementAsDouble(given, i)), q.scale, q.zeroPoint, v.type);
      if (v.type == DataType::kInt8) {
        typed.data<int8_t>()[i] = static_cast<int8_t>(q8);
      } else {
        typed.data<uint8_t>()[i] = static_cast<uint8_t>(q8);
      }
    }
  } else if (ir::isFloat(given.type()) && v.type == DataType::kFloat32) {
    for (int64_t i = 0; i < count; ++i)
      typed.data<float>()[i] = static_cast<float>(elementAsDouble(given, i));
  } else if (ir::isFloat(given.type()) && v.type == DataType::kFloat16) {
    for (int64_t i = 0; i < count; ++i)
      typed.data<uint16_t>()[i] = ir::floatToFloat16(static_cast<float>(elementAsDouble(given, i)));
  } else if (ir::isFloat(given.type()) && v.type == DataType::kBFloat16) {
    for (int64_t i = 0; i < count; ++i)
      typed.data<uint16_t>()[i] = ir::floatToBFloat16(static_cast<float>(elementAsDouble(given, i)));
  } else {
    return Status(StatusCode::kInvalidArgument, "the replacement of tensor '" + v.name + "' has type " +
                                                    std::string(ir::dataTypeInfo(given.type()).name) +
                                                    ", which does not convert to the engine's " +
                                                    std::string(ir::dataTypeInfo(v.type).name));
  }
  if (v.format == ir::TensorFormat::kLinear) return EngineForm{typed, typed};
  if (typed.rank() < 3) return layoutError(v);
  if (v.format == ir::TensorFormat::kHwc) {
    Tensor stored(v.type, typed.shape());
    ir::reorderChannelsLast(typed, stored, true);
    return EngineForm{stored, stored};
  }
  if (v.format != ir::TensorFormat::kChw16) return layoutError(v);
  const int64_t bytes = ir::storageBytes(v.type, typed.shape(), v.format);
  const int64_t elementBytes = ir::dataTypeInfo(v.type).storageBytes;
  EngineForm form;
  form.storage = Tensor(v.type, {bytes / elementBytes});
  form.tensor = Tensor::view(v.type, typed.shape(), form.storage.data());
  ir::reorderChannelBlocks(typed, form.tensor, true);
  return form;
}

}  // namespace lowp::runtime
