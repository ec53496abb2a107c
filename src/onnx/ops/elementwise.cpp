// ONNX importer entries of the elementwise ops. sinceVersion is the first opset whose semantics lowp
// implements: opset 6 where opset 1 still had the `consumed_inputs` attribute, opset 7 where older opsets
// broadcast through `broadcast`/`axis` attributes. Sum/Mean/Max/Min at opset 6 required equal shapes, a
// special case of the broadcasting that opset 8 added. Clip before opset 11 takes its bounds as
// attributes; normalizeClip turns them into the inputs opset 11 uses.
#include <string>

#include "ir/data_type.h"
#include "ir/numeric.h"
#include "onnx/op_importer.h"

namespace lowp::onnx {
namespace {

/// A scalar of `type` holding `value` (Clip-6 allows only fp16, fp32 and fp64).
Tensor floatScalar(DataType type, float value) {
  Tensor t(type, {});
  switch (type) {
    case DataType::kFloat16:
      t.data<uint16_t>()[0] = ir::floatToFloat16(value);
      break;
    case DataType::kFloat64:
      t.data<double>()[0] = value;
      break;
    default:
      t.data<float>()[0] = value;
      break;
  }
  return t;
}

/// Clip-6: min/max attributes become constant inputs 1 and 2 of the input's type. Where that type is not
/// known yet the attributes stay, and the Clip kernel reads them.
Status normalizeClip(ImportContext& ctx, ir::Node& node) {
  if (node.opsetVersion >= 11 || (!node.attributes.has("min") && !node.attributes.has("max"))) return {};
  ir::Value* x = node.input(0);
  if (x == nullptr) return ImportContext::invalid(node, "input 0 is missing");
  if (x->type != DataType::kFloat32 && x->type != DataType::kFloat16 && x->type != DataType::kFloat64) {
    if (x->type == DataType::kUndefined) return {};
    return ImportContext::invalid(node, "Clip before opset 11 accepts fp16, fp32 and fp64, not " +
                                            std::string(ir::dataTypeInfo(x->type).name));
  }
  const std::string base = node.name.empty() ? "clip" : node.name;
  size_t slot = 1;
  for (const char* bound : {"min", "max"}) {
    if (node.attributes.has(bound)) {
      float value = node.attributes.getFloat(bound, 0.0f);
      ir::Value* v = ctx.addConstant(floatScalar(x->type, value), base + "_" + bound);
      ctx.graph().setInput(&node, slot, v);
      node.attributes.erase(bound);
    }
    ++slot;
  }
  return {};
}

}  // namespace

void registerElementwiseImporters(ImporterRegistry& registry) {
  struct Since {
    std::string_view op;
    int64_t version;
  };
  // Unary ops of opset 6 (opset 1 had consumed_inputs), ops that have not changed since opset 1, and ops
  // introduced later, at the opset that introduced them.
  const Since entries[] = {
      {"Abs", 6},
      {"Neg", 6},
      {"Exp", 6},
      {"Log", 6},
      {"Sqrt", 6},
      {"Reciprocal", 6},
      {"Floor", 6},
      {"Ceil", 6},
      {"Relu", 6},
      {"Sigmoid", 6},
      {"Tanh", 6},
      {"Elu", 6},
      {"LeakyRelu", 6},
      {"HardSigmoid", 6},
      {"Selu", 6},
      {"Sum", 6},
      {"Mean", 6},
      {"Max", 6},
      {"Min", 6},
      {"Softplus", 1},
      {"Softsign", 1},
      {"Not", 1},
      {"Add", 7},
      {"Sub", 7},
      {"Mul", 7},
      {"Div", 7},
      {"Pow", 7},
      {"PRelu", 7},
      {"And", 7},
      {"Or", 7},
      {"Xor", 7},
      {"Equal", 7},
      {"Less", 7},
      {"Greater", 7},
      {"Sin", 7},
      {"Cos", 7},
      {"Tan", 7},
      {"Asin", 7},
      {"Acos", 7},
      {"Atan", 7},
      {"Sinh", 9},
      {"Cosh", 9},
      {"Asinh", 9},
      {"Acosh", 9},
      {"Atanh", 9},
      {"Erf", 9},
      {"Sign", 9},
      {"IsNaN", 9},
      {"Shrink", 9},
      {"Where", 9},
      {"Mod", 10},
      {"IsInf", 10},
      {"ThresholdedRelu", 10},
      {"Round", 11},
      {"BitShift", 11},
      {"Celu", 12},
      {"LessOrEqual", 12},
      {"GreaterOrEqual", 12},
      {"HardSwish", 14},
      {"BitwiseAnd", 18},
      {"BitwiseOr", 18},
      {"BitwiseXor", 18},
      {"BitwiseNot", 18},
      {"Mish", 18},
      {"Gelu", 20},
  };
  for (const Since& e : entries) registry.add({.opType = e.op, .sinceVersion = e.version});
  registry.add({.opType = "Clip", .sinceVersion = 6, .normalize = &normalizeClip});
}

}  // namespace lowp::onnx
