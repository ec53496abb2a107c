// Type and shape rules of the elementwise ops: unary math and activations, binary arithmetic, comparisons
// and logic with multidirectional (NumPy) broadcasting, the variadic Sum/Mean/Max/Min, Where, Clip, PRelu.
//
// Each op accepts the union of the element types its ONNX type constraints allow over opsets 6..23 that
// lowp can compute with; a type ONNX allows but lowp cannot hold (string, complex, fp8 for math) is
// reported as unsupported, any other type outside the op's class as invalid.
#include <string>

#include "ir/data_type.h"
#include "ir/ops/common.h"

namespace lowp::ir::ops {
namespace {

enum class TypeClass {
  kFloat,          ///< fp32, fp64, fp16, bf16
  kSignedNumeric,  ///< floats and signed integers
  kNumeric,        ///< floats and all integers
  kNumericOrBool,  ///< numeric and bool
  kInteger,        ///< signed and unsigned integers
  kUnsigned,       ///< unsigned integers
  kBool,           ///< bool
  kPowBase,        ///< floats, int32, int64 (Pow's T)
  kAny,            ///< every type lowp stores
};

bool isComputeFloat(DataType t) {
  return t == DataType::kFloat32 || t == DataType::kFloat64 || t == DataType::kFloat16 ||
         t == DataType::kBFloat16;
}

bool isComputeInteger(DataType t) {
  return isInteger(t) && isStorable(t);
}

bool inClass(DataType t, TypeClass c) {
  const bool fl = isComputeFloat(t);
  const bool in = isComputeInteger(t);
  switch (c) {
    case TypeClass::kFloat:
      return fl;
    case TypeClass::kSignedNumeric:
      return fl || (in && dataTypeInfo(t).isSigned);
    case TypeClass::kNumeric:
      return fl || in;
    case TypeClass::kNumericOrBool:
      return fl || in || t == DataType::kBool;
    case TypeClass::kInteger:
      return in;
    case TypeClass::kUnsigned:
      return in && !dataTypeInfo(t).isSigned;
    case TypeClass::kBool:
      return t == DataType::kBool;
    case TypeClass::kPowBase:
      return fl || t == DataType::kInt32 || t == DataType::kInt64;
    case TypeClass::kAny:
      return isStorable(t);
  }
  return false;
}

const char* className(TypeClass c) {
  switch (c) {
    case TypeClass::kFloat:
      return "fp32, fp64, fp16, bf16";
    case TypeClass::kSignedNumeric:
      return "floats and signed integers";
    case TypeClass::kNumeric:
      return "floats and integers";
    case TypeClass::kNumericOrBool:
      return "floats, integers and bool";
    case TypeClass::kInteger:
      return "integers";
    case TypeClass::kUnsigned:
      return "unsigned integers";
    case TypeClass::kBool:
      return "bool";
    case TypeClass::kPowBase:
      return "floats, int32, int64";
    case TypeClass::kAny:
      return "any stored type";
  }
  return "";
}

std::string typeName(DataType t) {
  return std::string(dataTypeInfo(t).name);
}

/// Checks input i's type against `c`; an unknown type passes (it is checked again at run time).
Status checkType(InferContext& ctx, size_t i, TypeClass c) {
  DataType t = ctx.inputType(i);
  if (!ctx.hasInput(i) || t == DataType::kUndefined || inClass(t, c)) return {};
  const std::string what = "input " + std::to_string(i) + " has type " + typeName(t);
  // Types lowp cannot compute with at all are a gap in lowp, not a fault of the model.
  if (!isComputeFloat(t) && !isComputeInteger(t) && t != DataType::kBool && c != TypeClass::kAny) {
    return ctx.unsupported(what + ", which lowp does not implement for this op");
  }
  if (c == TypeClass::kAny) return ctx.unsupported(what + ", which lowp does not store");
  return ctx.invalid(what + "; this op accepts " + className(c));
}

Status checkTypes(InferContext& ctx, TypeClass c, size_t first = 0, size_t last = SIZE_MAX) {
  for (size_t i = first; i < ctx.inputCount() && i <= last; ++i) LOWP_RETURN_IF_ERROR(checkType(ctx, i, c));
  return {};
}

/// Broadcast shape of inputs [first, inputCount) regardless of their types.
Result<Shape> broadcastInputs(InferContext& ctx, size_t first) {
  Shape shape = ctx.inputShape(first);
  for (size_t i = first + 1; i < ctx.inputCount(); ++i) {
    if (!ctx.hasInput(i)) continue;
    auto b = broadcastShapes(shape, ctx.inputShape(i));
    if (!b) return ctx.invalid(b.status().message());
    shape = std::move(b).value();
  }
  return shape;
}

template <TypeClass C>
Status inferUnary(InferContext& ctx) {
  LOWP_RETURN_IF_ERROR(checkType(ctx, 0, C));
  return inferSameAsInput0(ctx);
}

/// IsNaN, IsInf: a bool mask of the input's shape.
Status inferFloatPredicate(InferContext& ctx) {
  LOWP_RETURN_IF_ERROR(checkType(ctx, 0, TypeClass::kFloat));
  ctx.setOutput(0, DataType::kBool, ctx.inputShape(0));
  return {};
}

/// Binary and variadic ops whose inputs and output share one type.
template <TypeClass C>
Status inferBroadcastSameType(InferContext& ctx) {
  LOWP_RETURN_IF_ERROR(checkTypes(ctx, C));
  return inferBroadcast(ctx);
}

/// Comparisons: inputs share one type, the output is bool.
template <TypeClass C>
Status inferCompare(InferContext& ctx) {
  LOWP_RETURN_IF_ERROR(checkTypes(ctx, C));
  return inferBroadcast(ctx, DataType::kBool);
}

Status inferPow(InferContext& ctx) {
  // Since opset 12 the exponent may have another type than the base; the output has the base's type.
  LOWP_RETURN_IF_ERROR(checkType(ctx, 0, TypeClass::kPowBase));
  LOWP_RETURN_IF_ERROR(checkType(ctx, 1, TypeClass::kNumeric));
  LOWP_ASSIGN_OR_RETURN(Shape shape, broadcastInputs(ctx, 0));
  ctx.setOutput(0, ctx.inputType(0), std::move(shape));
  return {};
}

Status inferMod(InferContext& ctx) {
  int64_t fmod = ctx.attrs().getInt("fmod", 0);
  if (fmod != 0 && fmod != 1) return ctx.invalid("fmod must be 0 or 1, got " + std::to_string(fmod));
  if (fmod == 0 && isComputeFloat(ctx.inputType(0))) {
    return ctx.invalid("fmod must be 1 for floating-point inputs");
  }
  return inferBroadcastSameType<TypeClass::kNumeric>(ctx);
}

Status inferBitShift(InferContext& ctx) {
  std::string direction = ctx.attrs().getString("direction");
  if (direction != "LEFT" && direction != "RIGHT") {
    return ctx.invalid("direction must be \"LEFT\" or \"RIGHT\", got \"" + direction + "\"");
  }
  return inferBroadcastSameType<TypeClass::kUnsigned>(ctx);
}

Status inferGelu(InferContext& ctx) {
  std::string approximate = ctx.attrs().getString("approximate", "none");
  if (approximate != "none" && approximate != "tanh") {
    return ctx.invalid("approximate must be \"none\" or \"tanh\", got \"" + approximate + "\"");
  }
  return inferUnary<TypeClass::kFloat>(ctx);
}

Status inferWhere(InferContext& ctx) {
  LOWP_RETURN_IF_ERROR(checkType(ctx, 0, TypeClass::kBool));
  LOWP_RETURN_IF_ERROR(checkTypes(ctx, TypeClass::kAny, 1));
  LOWP_RETURN_IF_ERROR(requireSameInputTypes(ctx, 1, 2));
  LOWP_ASSIGN_OR_RETURN(Shape shape, broadcastInputs(ctx, 0));
  ctx.setOutput(0, ctx.inputType(1), std::move(shape));
  return {};
}

Status inferClip(InferContext& ctx) {
  LOWP_RETURN_IF_ERROR(checkType(ctx, 0, TypeClass::kNumeric));
  LOWP_RETURN_IF_ERROR(requireSameInputTypes(ctx));
  for (size_t i = 1; i < 3; ++i) {
    if (!ctx.hasInput(i)) continue;
    // ONNX says scalar; exporters also write [1], which holds the same one value.
    auto count = ctx.inputShape(i).elementCount();
    if (count && *count != 1) {
      return ctx.invalid(std::string(i == 1 ? "min" : "max") + " must be a scalar, got shape " +
                         ctx.inputShape(i).toString());
    }
  }
  ctx.setOutput(0, ctx.inputType(0), ctx.inputShape(0));
  return {};
}

Status inferPRelu(InferContext& ctx) {
  LOWP_RETURN_IF_ERROR(checkTypes(ctx, TypeClass::kNumeric));
  LOWP_RETURN_IF_ERROR(requireSameInputTypes(ctx));
  // Unidirectional broadcast: the slope broadcasts to X, and the output has X's shape.
  const Shape& x = ctx.inputShape(0);
  const Shape& slope = ctx.inputShape(1);
  if (x.rankKnown() && slope.rankKnown()) {
    bool ok = slope.rank() <= x.rank();
    for (int64_t i = 0; ok && i < slope.rank(); ++i) {
      const Dim& s = slope[i];
      const Dim& d = x[x.rank() - slope.rank() + i];
      ok = !s.isKnown() || s.size == 1 || !d.isKnown() || s.size == d.size;
    }
    if (!ok) {
      return ctx.invalid("slope of shape " + slope.toString() + " does not broadcast to X of shape " +
                         x.toString());
    }
  }
  ctx.setOutput(0, ctx.inputType(0), x);
  return {};
}

/// Schema of a one-input, one-output op.
OpSchema unary(std::string_view op, InferFn infer, std::vector<AttrSpec> attrs = {}) {
  return {.opType = op, .minInputs = 1, .maxInputs = 1, .attributes = std::move(attrs), .infer = infer};
}

OpSchema binary(std::string_view op, InferFn infer, std::vector<AttrSpec> attrs = {}) {
  return {.opType = op, .minInputs = 2, .maxInputs = 2, .attributes = std::move(attrs), .infer = infer};
}

OpSchema variadic(std::string_view op, InferFn infer) {
  return {.opType = op, .minInputs = 1, .maxInputs = -1, .infer = infer};
}

}  // namespace

void registerElementwiseSchemas(OpSchemaRegistry& registry) {
  constexpr auto kFloat = AttrType::kFloat;
  constexpr auto kFloatOp = &inferUnary<TypeClass::kFloat>;

  // Unary math.
  for (std::string_view op :
       {"Exp", "Log", "Sqrt", "Reciprocal", "Floor", "Ceil", "Round", "Sin", "Cos", "Tan", "Asin", "Acos",
        "Atan", "Sinh", "Cosh", "Tanh", "Asinh", "Acosh", "Atanh"}) {
    registry.add(unary(op, kFloatOp));
  }
  registry.add(unary("Abs", &inferUnary<TypeClass::kNumeric>));
  registry.add(unary("Neg", &inferUnary<TypeClass::kSignedNumeric>));
  registry.add(unary("Sign", &inferUnary<TypeClass::kNumeric>));
  registry.add(unary("Erf", &inferUnary<TypeClass::kNumeric>));
  registry.add(unary("IsNaN", &inferFloatPredicate));
  registry.add(unary("IsInf", &inferFloatPredicate,
                     {{"detect_negative", AttrType::kInt}, {"detect_positive", AttrType::kInt}}));
  registry.add(unary("Not", &inferUnary<TypeClass::kBool>));
  registry.add(unary("BitwiseNot", &inferUnary<TypeClass::kInteger>));

  // Activations.
  registry.add(unary("Relu", &inferUnary<TypeClass::kSignedNumeric>));
  registry.add(unary("Sigmoid", kFloatOp));
  registry.add(unary("Softplus", kFloatOp));
  registry.add(unary("Softsign", kFloatOp));
  registry.add(unary("HardSwish", kFloatOp));
  registry.add(unary("Mish", kFloatOp));
  registry.add(unary("LeakyRelu", kFloatOp, {{"alpha", kFloat}}));
  registry.add(unary("Elu", kFloatOp, {{"alpha", kFloat}}));
  registry.add(unary("Celu", kFloatOp, {{"alpha", kFloat}}));
  registry.add(unary("ThresholdedRelu", kFloatOp, {{"alpha", kFloat}}));
  registry.add(unary("Selu", kFloatOp, {{"alpha", kFloat}, {"gamma", kFloat}}));
  registry.add(unary("HardSigmoid", kFloatOp, {{"alpha", kFloat}, {"beta", kFloat}}));
  registry.add(unary("Shrink", &inferUnary<TypeClass::kNumeric>, {{"bias", kFloat}, {"lambd", kFloat}}));
  registry.add(unary("Gelu", &inferGelu, {{"approximate", AttrType::kString}}));
  registry.add(binary("PRelu", &inferPRelu));
  // Clip before opset 11 takes its bounds as attributes; the importer turns them into inputs.
  registry.add({.opType = "Clip",
                .minInputs = 1,
                .maxInputs = 3,
                .attributes = {{"min", kFloat}, {"max", kFloat}},
                .infer = &inferClip});

  // Binary arithmetic and bitwise ops.
  for (std::string_view op : {"Add", "Sub", "Mul", "Div"}) {
    registry.add(binary(op, &inferBroadcastSameType<TypeClass::kNumeric>));
  }
  registry.add(binary("Pow", &inferPow));
  registry.add(binary("Mod", &inferMod, {{"fmod", AttrType::kInt}}));
  registry.add(binary("BitShift", &inferBitShift, {{"direction", AttrType::kString}}));
  for (std::string_view op : {"BitwiseAnd", "BitwiseOr", "BitwiseXor"}) {
    registry.add(binary(op, &inferBroadcastSameType<TypeClass::kInteger>));
  }

  // Logic and comparisons.
  for (std::string_view op : {"And", "Or", "Xor"}) registry.add(binary(op, &inferCompare<TypeClass::kBool>));
  registry.add(binary("Equal", &inferCompare<TypeClass::kNumericOrBool>));
  for (std::string_view op : {"Less", "Greater", "LessOrEqual", "GreaterOrEqual"}) {
    registry.add(binary(op, &inferCompare<TypeClass::kNumeric>));
  }

  // Variadic reductions over inputs, and selection.
  registry.add(variadic("Sum", &inferBroadcastSameType<TypeClass::kFloat>));
  registry.add(variadic("Mean", &inferBroadcastSameType<TypeClass::kFloat>));
  registry.add(variadic("Max", &inferBroadcastSameType<TypeClass::kNumeric>));
  registry.add(variadic("Min", &inferBroadcastSameType<TypeClass::kNumeric>));
  registry.add({.opType = "Where", .minInputs = 3, .maxInputs = 3, .infer = &inferWhere});
}

}  // namespace lowp::ir::ops
