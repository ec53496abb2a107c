// Type and shape rules of lowp's fused ops (fused.h): FusedConv and FusedMatMul take the output of the
// ONNX op they extend (its own schema runs on their first inputs), then check the extra inputs against it.
#include "ir/ops/fused.h"

#include <array>
#include <limits>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "ir/ops/common.h"

namespace lowp::ir::ops {
namespace {

struct ActivationName {
  FusedActivation kind;
  std::string_view opType;
};

constexpr std::array<ActivationName, 7> kActivations = {{{FusedActivation::kRelu, "Relu"},
                                                         {FusedActivation::kLeakyRelu, "LeakyRelu"},
                                                         {FusedActivation::kClip, "Clip"},
                                                         {FusedActivation::kSigmoid, "Sigmoid"},
                                                         {FusedActivation::kHardSwish, "HardSwish"},
                                                         {FusedActivation::kTanh, "Tanh"},
                                                         {FusedActivation::kGelu, "Gelu"}}};

std::string typeName(DataType t) {
  return std::string(dataTypeInfo(t).name);
}

// What inference knows of input i, with its type replaced by `type` when given.
InferInput inputOf(const InferContext& ctx, size_t i, DataType type = DataType::kUndefined) {
  if (!ctx.hasInput(i)) return {};
  return {true, type == DataType::kUndefined ? ctx.inputType(i) : type, ctx.inputShape(i), ctx.inputValue(i)};
}

// A bias of the operands' type, or fp32 beside fp16/bf16 operands (added in fp32 before the one rounding).
Status checkBiasType(const InferContext& ctx, size_t slot) {
  if (!ctx.hasInput(slot)) return {};
  const DataType x = ctx.inputType(0);
  const DataType b = ctx.inputType(slot);
  const bool reduced = x == DataType::kFloat16 || x == DataType::kBFloat16;
  if (b == x || (reduced && b == DataType::kFloat32)) return {};
  return ctx.invalid("bias has type " + typeName(b) + " but the operands have " + typeName(x));
}

// Runs the default-domain schema of `opType` on `inputs` for this node; the bias (slot `biasSlot`) is
// presented with the operands' type, since the ONNX ops require one type.
Status inferBase(InferContext& ctx, std::string_view opType, std::vector<InferInput> inputs) {
  if (ctx.outputCount() != 1)
    return ctx.invalid("has " + std::to_string(ctx.outputCount()) + " outputs, not 1");
  const OpSchema* schema = OpSchemaRegistry::global().find("", opType);
  if (schema == nullptr || schema->infer == nullptr)
    return ctx.unsupported("no schema for " + std::string(opType));
  InferContext base(ctx.node(), std::move(inputs));
  LOWP_RETURN_IF_ERROR(schema->infer(base));
  ctx.setOutput(0, base.outputType(0), base.outputShape(0));
  return {};
}

Status checkActivation(const InferContext& ctx) {
  auto spec = readActivation(ctx.attrs());
  if (!spec) return ctx.invalid(spec.status().message());
  return {};
}

// Z has Y's type and shape; dims inference left unknown in Y take Z's.
Status mergeResidual(InferContext& ctx, size_t slot) {
  if (!ctx.hasInput(slot)) return {};
  const Shape& z = ctx.inputShape(slot);
  if (ctx.inputType(slot) != ctx.outputType(0)) {
    return ctx.invalid("residual has type " + typeName(ctx.inputType(slot)) + " but the output has " +
                       typeName(ctx.outputType(0)));
  }
  const Shape y = ctx.outputShape(0);
  if (!z.rankKnown() || !y.rankKnown()) return {};
  if (z.rank() != y.rank()) {
    return ctx.invalid("residual shape " + z.toString() + " differs from the output shape " + y.toString());
  }
  std::vector<Dim> merged = y.dims();
  for (int64_t d = 0; d < y.rank(); ++d) {
    const auto i = static_cast<size_t>(d);
    if (z[d].isKnown() && y[d].isKnown() && z[d].size != y[d].size) {
      return ctx.invalid("residual shape " + z.toString() + " differs from the output shape " + y.toString());
    }
    if (!y[d].isKnown()) merged[i] = z[d];
  }
  ctx.setOutput(0, ctx.outputType(0), Shape(std::move(merged)));
  return {};
}

Status inferFusedConv(InferContext& ctx) {
  LOWP_RETURN_IF_ERROR(checkActivation(ctx));
  LOWP_RETURN_IF_ERROR(checkBiasType(ctx, 2));
  LOWP_RETURN_IF_ERROR(
      inferBase(ctx, "Conv", {inputOf(ctx, 0), inputOf(ctx, 1), inputOf(ctx, 2, ctx.inputType(0))}));
  return mergeResidual(ctx, 3);
}

Status inferFusedMatMul(InferContext& ctx) {
  LOWP_RETURN_IF_ERROR(checkActivation(ctx));
  LOWP_RETURN_IF_ERROR(checkBiasType(ctx, 2));
  LOWP_RETURN_IF_ERROR(inferBase(ctx, "MatMul", {inputOf(ctx, 0), inputOf(ctx, 1)}));
  if (!ctx.hasInput(2)) return {};
  const Shape& bias = ctx.inputShape(2);
  const Shape& y = ctx.outputShape(0);
  if (!bias.rankKnown()) return {};
  const bool vector = bias.rank() == 1;
  const bool fits = !y.rankKnown() || y.rank() == 0 || !bias[0].isKnown() || !y[y.rank() - 1].isKnown() ||
                    bias[0].size == y[y.rank() - 1].size;
  if (!vector || !fits) {
    return ctx.invalid("bias shape " + bias.toString() + " is not [N] for the output " + y.toString());
  }
  return {};
}

const std::vector<AttrSpec> kActivationAttrs = {{"activation", AttrType::kString},
                                                {"activation_alpha", AttrType::kFloat},
                                                {"activation_beta", AttrType::kFloat}};

}  // namespace

std::optional<std::vector<int64_t>> fusedLayerNormResidualStrides(const std::vector<int64_t>& stored,
                                                                  const std::vector<int64_t>& perm,
                                                                  const std::vector<int64_t>& out) {
  const size_t rank = stored.size();
  if (rank > out.size() || (!perm.empty() && perm.size() != rank)) return std::nullopt;
  std::vector<int64_t> dense(rank, 1);
  for (size_t d = rank; d-- > 1;) dense[d - 1] = dense[d] * stored[d];
  std::vector<bool> seen(rank, false);
  std::vector<int64_t> strides(out.size(), 0);
  const size_t offset = out.size() - rank;
  for (size_t d = 0; d < rank; ++d) {
    size_t from = d;
    if (!perm.empty()) {
      if (perm[d] < 0 || perm[d] >= static_cast<int64_t>(rank) || seen[static_cast<size_t>(perm[d])])
        return std::nullopt;
      from = static_cast<size_t>(perm[d]);
      seen[from] = true;
    }
    const int64_t size = stored[from];
    if (size != out[offset + d] && size != 1) return std::nullopt;
    strides[offset + d] = size == 1 ? 0 : dense[from];
  }
  return strides;
}

bool rowsAreContiguous(const std::vector<int64_t>& strides, const std::vector<int64_t>& shape, size_t axis) {
  if (strides.size() != shape.size() || axis > shape.size()) return false;
  int64_t dense = 1;
  for (size_t d = shape.size(); d-- > axis;) {
    if (shape[d] != 1 && strides[d] != dense) return false;
    dense *= shape[d];
  }
  for (size_t d = 0; d < axis; ++d) {
    if (shape[d] > 1 && strides[d] == 0) return false;
  }
  return true;
}

Result<ActivationSpec> readActivation(const AttributeMap& attrs) {
  const std::string name = attrs.getString("activation", "");
  ActivationSpec spec;
  if (!name.empty()) {
    spec.kind = activationOf(name);
    if (spec.kind == FusedActivation::kNone) {
      return Status(StatusCode::kInvalidArgument, "unknown fused activation '" + name + "'");
    }
  }
  const float inf = std::numeric_limits<float>::infinity();
  const float defaultAlpha =
      spec.kind == FusedActivation::kClip ? -inf : (spec.kind == FusedActivation::kGelu ? 0.0f : 0.01f);
  spec.alpha = attrs.getFloat("activation_alpha", defaultAlpha);
  if (spec.kind == FusedActivation::kGelu && spec.alpha != 0.0f && spec.alpha != 1.0f)
    return Status(StatusCode::kInvalidArgument, "Gelu's activation_alpha must be 0 (erf) or 1 (tanh)");
  spec.beta = attrs.getFloat("activation_beta", inf);
  return spec;
}

std::string_view activationOpType(FusedActivation kind) {
  for (const ActivationName& a : kActivations) {
    if (a.kind == kind) return a.opType;
  }
  return "";
}

FusedActivation activationOf(std::string_view opType) {
  for (const ActivationName& a : kActivations) {
    if (a.opType == opType) return a.kind;
  }
  return FusedActivation::kNone;
}

void writeActivation(AttributeMap& attrs, const ActivationSpec& spec) {
  attrs.set("activation", std::string(activationOpType(spec.kind)));
  if (spec.kind == FusedActivation::kLeakyRelu || spec.kind == FusedActivation::kClip ||
      spec.kind == FusedActivation::kGelu) {
    attrs.set("activation_alpha", spec.alpha);
  }
  if (spec.kind == FusedActivation::kClip) attrs.set("activation_beta", spec.beta);
}

void registerFusedSchemas(OpSchemaRegistry& registry) {
  std::vector<AttrSpec> convAttrs = {{"auto_pad", AttrType::kString}, {"dilations", AttrType::kInts},
                                     {"group", AttrType::kInt},       {"kernel_shape", AttrType::kInts},
                                     {"pads", AttrType::kInts},       {"strides", AttrType::kInts}};
  convAttrs.insert(convAttrs.end(), kActivationAttrs.begin(), kActivationAttrs.end());
  registry.add({.opType = "FusedConv",
                .minInputs = 2,
                .maxInputs = 4,
                .attributes = convAttrs,
                .infer = inferFusedConv,
                .domain = kLowpDomain});
  registry.add({.opType = "FusedMatMul",
                .minInputs = 2,
                .maxInputs = 3,
                .attributes = kActivationAttrs,
                .infer = inferFusedMatMul,
                .domain = kLowpDomain});
}

}  // namespace lowp::ir::ops
