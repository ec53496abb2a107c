// Type and shape rules of the normalization ops: BatchNormalization (inference only), InstanceNormalization,
// LayerNormalization, GroupNormalization, RMSNormalization, LpNormalization, MeanVarianceNormalization,
// LRN, and the softmax family (Softmax, LogSoftmax, Hardmax).
//
// Every one of them keeps input 0's type and shape in output 0; the rules below check ranks, axes,
// attribute values and the shapes of the parameter inputs (scale, bias, mean, variance), and give the
// optional statistics outputs of LayerNormalization their stash type and reduced shape.
#include <set>
#include <string>

#include "ir/ops/common.h"
#include "ir/ops/fused.h"
#include "ir/ops/tensor_shapes.h"

namespace lowp::ir::ops {
namespace {

std::string typeName(DataType t) {
  return std::string(dataTypeInfo(t).name);
}

/// The types these ops compute on (ONNX's tensor(float16|float|double|bfloat16)).
bool isNormFloat(DataType t) {
  return t == DataType::kFloat32 || t == DataType::kFloat64 || t == DataType::kFloat16 ||
         t == DataType::kBFloat16;
}

Status requireFloatInput(const InferContext& ctx, size_t i) {
  if (!ctx.hasInput(i)) return ctx.invalid("input " + std::to_string(i) + " is required");
  if (!isNormFloat(ctx.inputType(i))) {
    return ctx.invalid("input " + std::to_string(i) + " has type " + typeName(ctx.inputType(i)) +
                       "; expected fp32, fp64, fp16 or bf16");
  }
  return {};
}

/// Error unless input i has the same type as input 0.
Status requireTypeOfInput0(const InferContext& ctx, size_t i) {
  if (ctx.inputType(i) != ctx.inputType(0)) {
    return ctx.invalid("input " + std::to_string(i) + " has type " + typeName(ctx.inputType(i)) +
                       " but input 0 has " + typeName(ctx.inputType(0)));
  }
  return {};
}

Status requireMinRank(const InferContext& ctx, size_t i, int64_t minRank) {
  const Shape& s = ctx.inputShape(i);
  if (s.rankKnown() && s.rank() < minRank) {
    return ctx.invalid("input " + std::to_string(i) + " has shape " + s.toString() +
                       "; expected rank >= " + std::to_string(minRank));
  }
  return {};
}

/// Error unless input i's shape is `expected` wherever both are known.
Status requireShape(const InferContext& ctx, size_t i, const Shape& expected) {
  const Shape& s = ctx.inputShape(i);
  if (!s.rankKnown() || !expected.rankKnown()) return {};
  bool ok = s.rank() == expected.rank();
  for (int64_t d = 0; ok && d < s.rank(); ++d) {
    ok = dimsAgree(s[d], expected[d]);
  }
  if (!ok) {
    return ctx.invalid("input " + std::to_string(i) + " has shape " + s.toString() + "; expected " +
                       expected.toString());
  }
  return {};
}

/// Error unless input i broadcasts (NumPy rules, one direction) to `target` wherever dims are known.
Status requireBroadcastableTo(const InferContext& ctx, size_t i, const Shape& target) {
  const Shape& s = ctx.inputShape(i);
  if (!s.rankKnown() || !target.rankKnown()) return {};
  bool ok = s.rank() <= target.rank();
  for (int64_t d = 0; ok && d < s.rank(); ++d) {
    const Dim& from = s[d];
    const Dim& to = target[target.rank() - s.rank() + d];
    ok = !from.isKnown() || from.size == 1 || !to.isKnown() || from.size == to.size;
  }
  if (!ok) {
    return ctx.invalid("input " + std::to_string(i) + " of shape " + s.toString() +
                       " does not broadcast to " + target.toString());
  }
  return {};
}

/// Normalises an axis attribute against input 0's rank when the rank is known.
Status checkAxis(const InferContext& ctx, int64_t axis) {
  const Shape& x = ctx.inputShape(0);
  if (!x.rankKnown()) return {};
  auto r = normalizeAxis(axis, x.rank());
  if (!r) return ctx.invalid(r.status().message() + " for input of shape " + x.toString());
  return {};
}

/// The type the statistics are computed in (ONNX's stash_type); lowp computes in float or double.
Result<DataType> stashType(const InferContext& ctx) {
  int64_t id = ctx.attrs().getInt("stash_type", 1);
  auto t = id > 0 && id < 64 ? dataTypeFromOnnx(static_cast<int32_t>(id)) : std::nullopt;
  if (!t || !isNormFloat(*t)) return ctx.invalid("stash_type " + std::to_string(id) + " is not a float type");
  if (*t != DataType::kFloat32 && *t != DataType::kFloat64) {
    return ctx.unsupported("stash_type " + typeName(*t) + " is not supported (only fp32 and fp64)");
  }
  return *t;
}

// ---- BatchNormalization ----

/// Inference form only: Y = (X - mean) / sqrt(var + epsilon) * scale + B, with the parameters per channel
/// (spatial=1) or, in opsets 7-8 with spatial=0, per element of X's shape without the batch dim.
Status inferBatchNormalization(InferContext& ctx) {
  const int64_t opset = ctx.node().opsetVersion;
  for (size_t i = 0; i < 5; ++i) LOWP_RETURN_IF_ERROR(requireFloatInput(ctx, i));
  // Opsets < 14 use one type throughout; 14 lets mean/var differ; 15 lets scale/B differ too.
  for (size_t i = 1; i < 5; ++i) {
    if (opset < 14 || (opset == 14 && i < 3)) LOWP_RETURN_IF_ERROR(requireTypeOfInput0(ctx, i));
  }
  LOWP_RETURN_IF_ERROR(requireMinRank(ctx, 0, 2));

  bool extraOutputs = false;
  for (size_t i = 1; i < ctx.node().outputs.size(); ++i) extraOutputs |= ctx.node().outputs[i] != nullptr;
  if (opset >= 14) {
    int64_t training = ctx.attrs().getInt("training_mode", 0);
    if (training != 0 && training != 1) {
      return ctx.invalid("training_mode must be 0 or 1, got " + std::to_string(training));
    }
    if (training == 1) return ctx.unsupported("training_mode=1 is not supported (lowp runs inference only)");
    if (extraOutputs) return ctx.invalid("running_mean and running_var are outputs of training mode only");
  } else if (extraOutputs) {
    return ctx.unsupported(
        "outputs beyond Y select training mode, which is not supported (lowp runs inference only)");
  }

  int64_t spatial = ctx.attrs().getInt("spatial", 1);
  if (spatial != 0 && spatial != 1)
    return ctx.invalid("spatial must be 0 or 1, got " + std::to_string(spatial));
  if (spatial == 0 && opset >= 9) return ctx.invalid("spatial=0 is not defined from opset 9 on");

  const Shape& x = ctx.inputShape(0);
  Shape param = Shape::unknownRank();
  if (x.rankKnown()) {
    param = spatial == 1 ? Shape({x[1]}) : Shape(std::vector<Dim>(x.dims().begin() + 1, x.dims().end()));
  } else if (spatial == 1) {
    param = Shape({Dim()});
  }
  for (size_t i = 1; i < 5; ++i) LOWP_RETURN_IF_ERROR(requireShape(ctx, i, param));
  return inferSameAsInput0(ctx);
}

// ---- InstanceNormalization ----

Status inferInstanceNormalization(InferContext& ctx) {
  for (size_t i = 0; i < 3; ++i) {
    LOWP_RETURN_IF_ERROR(requireFloatInput(ctx, i));
    LOWP_RETURN_IF_ERROR(requireTypeOfInput0(ctx, i));
  }
  LOWP_RETURN_IF_ERROR(requireMinRank(ctx, 0, 3));
  const Shape& x = ctx.inputShape(0);
  Shape param({x.rankKnown() ? x[1] : Dim()});
  LOWP_RETURN_IF_ERROR(requireShape(ctx, 1, param));
  LOWP_RETURN_IF_ERROR(requireShape(ctx, 2, param));
  return inferSameAsInput0(ctx);
}

// ---- LayerNormalization / RMSNormalization ----

/// Checks shared by the two ops that normalise over X's trailing dims [axis, rank): the scale (and bias)
/// broadcast to X's shape.
Status checkTrailingNormalization(InferContext& ctx, size_t paramCount) {
  LOWP_RETURN_IF_ERROR(requireFloatInput(ctx, 0));
  for (size_t i = 1; i <= paramCount; ++i) {
    if (i > 1 && !ctx.hasInput(i)) continue;
    LOWP_RETURN_IF_ERROR(requireFloatInput(ctx, i));
    LOWP_RETURN_IF_ERROR(requireTypeOfInput0(ctx, i));
    LOWP_RETURN_IF_ERROR(requireBroadcastableTo(ctx, i, ctx.inputShape(0)));
  }
  LOWP_RETURN_IF_ERROR(checkAxis(ctx, ctx.attrs().getInt("axis", -1)));
  return {};
}

/// Outputs: Y like X; Mean and InvStdDev in the stash type, shaped X[:axis] followed by ones.
Status inferLayerNormalization(InferContext& ctx) {
  LOWP_RETURN_IF_ERROR(checkTrailingNormalization(ctx, 2));
  LOWP_ASSIGN_OR_RETURN(DataType stash, stashType(ctx));
  LOWP_RETURN_IF_ERROR(inferSameAsInput0(ctx));
  const Shape& x = ctx.inputShape(0);
  Shape stats = Shape::unknownRank();
  if (x.rankKnown()) {
    int64_t axis = normalizeAxis(ctx.attrs().getInt("axis", -1), x.rank()).value();
    std::vector<Dim> dims(x.dims().begin(), x.dims().begin() + axis);
    dims.resize(static_cast<size_t>(x.rank()), Dim(1));
    stats = Shape(std::move(dims));
  }
  ctx.setOutput(1, stash, stats);
  ctx.setOutput(2, stash, stats);
  return {};
}

/// lowp.FusedLayerNorm (X, Scale, B, Residual): LayerNormalization of X + Residual (NumPy broadcast, one
/// type), Y only.
Status inferFusedLayerNorm(InferContext& ctx) {
  LOWP_RETURN_IF_ERROR(requireFloatInput(ctx, 0));
  LOWP_RETURN_IF_ERROR(requireFloatInput(ctx, kFusedLayerNormResidual));
  LOWP_RETURN_IF_ERROR(requireTypeOfInput0(ctx, kFusedLayerNormResidual));
  Shape residual = ctx.inputShape(kFusedLayerNormResidual);
  if (ctx.attrs().has(kFusedLayerNormResidualPerm)) {
    const std::vector<int64_t> perm = ctx.attrs().getInts(kFusedLayerNormResidualPerm);
    const auto rank = static_cast<int64_t>(perm.size());
    auto checked = transposePerm(rank, perm);
    if (!checked || rank == 0 || perm.back() != rank - 1)
      return ctx.invalid("residual_perm " + formatSizes(perm) +
                         " is not a permutation that keeps the last axis");
    const int64_t axis = ctx.attrs().getInt("axis", -1);
    if (axis != -1 && axis != rank - 1)
      return ctx.invalid("residual_perm needs the last axis normalised, not axis " + std::to_string(axis));
    if (residual.rankKnown() && residual.rank() != rank)
      return ctx.invalid("residual_perm " + formatSizes(perm) + " does not permute the residual " +
                         residual.toString());
    if (residual.rankKnown()) residual = transposeShape(residual, perm);
  }
  auto sum = broadcastShapes(ctx.inputShape(0), residual);
  if (!sum) return ctx.invalid("X and the residual do not broadcast: " + sum.status().message());
  for (size_t i = 1; i <= 2; ++i) {
    if (i > 1 && !ctx.hasInput(i)) continue;
    LOWP_RETURN_IF_ERROR(requireFloatInput(ctx, i));
    LOWP_RETURN_IF_ERROR(requireTypeOfInput0(ctx, i));
    LOWP_RETURN_IF_ERROR(requireBroadcastableTo(ctx, i, *sum));
  }
  if (sum->rankKnown()) {
    auto axis = normalizeAxis(ctx.attrs().getInt("axis", -1), sum->rank());
    if (!axis) return ctx.invalid(axis.status().message() + " for the sum of shape " + sum->toString());
  }
  LOWP_RETURN_IF_ERROR(stashType(ctx).status());
  ctx.setOutput(0, ctx.inputType(0), *sum);
  return {};
}

Status inferRmsNormalization(InferContext& ctx) {
  LOWP_RETURN_IF_ERROR(checkTrailingNormalization(ctx, 1));
  LOWP_RETURN_IF_ERROR(stashType(ctx).status());
  return inferSameAsInput0(ctx);
}

// ---- GroupNormalization ----

/// Statistics per (batch, group) over the group's channels and all spatial dims. Opset 18 has one scale
/// and bias per group; opset 21 one per channel.
Status inferGroupNormalization(InferContext& ctx) {
  for (size_t i = 0; i < 3; ++i) {
    LOWP_RETURN_IF_ERROR(requireFloatInput(ctx, i));
    LOWP_RETURN_IF_ERROR(requireTypeOfInput0(ctx, i));
  }
  LOWP_RETURN_IF_ERROR(requireMinRank(ctx, 0, 2));
  if (!ctx.attrs().has("num_groups")) return ctx.invalid("attribute num_groups is required");
  int64_t groups = ctx.attrs().getInt("num_groups", 0);
  if (groups <= 0) return ctx.invalid("num_groups must be positive, got " + std::to_string(groups));
  if (ctx.node().opsetVersion >= 21) LOWP_RETURN_IF_ERROR(stashType(ctx).status());
  const Shape& x = ctx.inputShape(0);
  Dim channels = x.rankKnown() ? x[1] : Dim();
  if (channels.isKnown() && channels.size % groups != 0) {
    return ctx.invalid("channel count " + std::to_string(channels.size) + " is not divisible by num_groups " +
                       std::to_string(groups));
  }
  Shape param({ctx.node().opsetVersion >= 21 ? channels : Dim(groups)});
  LOWP_RETURN_IF_ERROR(requireShape(ctx, 1, param));
  LOWP_RETURN_IF_ERROR(requireShape(ctx, 2, param));
  return inferSameAsInput0(ctx);
}

// ---- LpNormalization, MeanVarianceNormalization, LRN ----

Status inferLpNormalization(InferContext& ctx) {
  LOWP_RETURN_IF_ERROR(requireFloatInput(ctx, 0));
  LOWP_RETURN_IF_ERROR(checkAxis(ctx, ctx.attrs().getInt("axis", -1)));
  int64_t p = ctx.attrs().getInt("p", 2);
  if (p != 1 && p != 2) return ctx.invalid("p must be 1 or 2, got " + std::to_string(p));
  return inferSameAsInput0(ctx);
}

Status inferMeanVarianceNormalization(InferContext& ctx) {
  LOWP_RETURN_IF_ERROR(requireFloatInput(ctx, 0));
  const Shape& x = ctx.inputShape(0);
  if (x.rankKnown()) {
    std::set<int64_t> seen;
    for (int64_t a : ctx.attrs().getInts("axes", {0, 2, 3})) {
      auto axis = normalizeAxis(a, x.rank(), "axes");
      if (!axis) return ctx.invalid(axis.status().message() + " for input of shape " + x.toString());
      if (!seen.insert(*axis).second) return ctx.invalid("axes lists axis " + std::to_string(a) + " twice");
    }
  }
  return inferSameAsInput0(ctx);
}

Status inferLrn(InferContext& ctx) {
  LOWP_RETURN_IF_ERROR(requireFloatInput(ctx, 0));
  LOWP_RETURN_IF_ERROR(requireMinRank(ctx, 0, 2));
  if (!ctx.attrs().has("size")) return ctx.invalid("attribute size is required");
  int64_t size = ctx.attrs().getInt("size", 0);
  if (size <= 0) return ctx.invalid("size must be positive, got " + std::to_string(size));
  return inferSameAsInput0(ctx);
}

// ---- Softmax, LogSoftmax, Hardmax ----

/// Opsets < 13 read `axis` (default 1) as the point where X is flattened to 2-D; opset 13 reads it
/// (default -1) as the one axis to normalise along. Either way it must lie in [-rank, rank).
Status inferSoftmaxFamily(InferContext& ctx) {
  LOWP_RETURN_IF_ERROR(requireFloatInput(ctx, 0));
  int64_t defaultAxis = ctx.node().opsetVersion < 13 ? 1 : -1;
  LOWP_RETURN_IF_ERROR(checkAxis(ctx, ctx.attrs().getInt("axis", defaultAxis)));
  return inferSameAsInput0(ctx);
}

}  // namespace

void registerNormalizationSchemas(OpSchemaRegistry& registry) {
  using enum AttrType;
  registry.add(
      {.opType = "BatchNormalization",
       .minInputs = 5,
       .maxInputs = 5,
       .minOutputs = 1,
       .maxOutputs = 5,
       .attributes = {{"epsilon", kFloat}, {"momentum", kFloat}, {"spatial", kInt}, {"training_mode", kInt}},
       .infer = inferBatchNormalization});
  registry.add({.opType = "InstanceNormalization",
                .minInputs = 3,
                .maxInputs = 3,
                .attributes = {{"epsilon", kFloat}},
                .infer = inferInstanceNormalization});
  registry.add({.opType = "LayerNormalization",
                .minInputs = 2,
                .maxInputs = 3,
                .minOutputs = 1,
                .maxOutputs = 3,
                .attributes = {{"axis", kInt}, {"epsilon", kFloat}, {"stash_type", kInt}},
                .infer = inferLayerNormalization});
  registry.add({.opType = kFusedLayerNormOp,
                .minInputs = 4,
                .maxInputs = 4,
                .attributes = {{"axis", kInt},
                               {"epsilon", kFloat},
                               {"stash_type", kInt},
                               {std::string(kFusedLayerNormResidualPerm), kInts}},
                .infer = inferFusedLayerNorm,
                .domain = kLowpDomain});
  registry.add({.opType = "GroupNormalization",
                .minInputs = 3,
                .maxInputs = 3,
                .attributes = {{"epsilon", kFloat}, {"num_groups", kInt}, {"stash_type", kInt}},
                .infer = inferGroupNormalization});
  registry.add({.opType = "RMSNormalization",
                .minInputs = 2,
                .maxInputs = 2,
                .attributes = {{"axis", kInt}, {"epsilon", kFloat}, {"stash_type", kInt}},
                .infer = inferRmsNormalization});
  registry.add({.opType = "LpNormalization",
                .minInputs = 1,
                .maxInputs = 1,
                .attributes = {{"axis", kInt}, {"p", kInt}},
                .infer = inferLpNormalization});
  registry.add({.opType = "MeanVarianceNormalization",
                .minInputs = 1,
                .maxInputs = 1,
                .attributes = {{"axes", kInts}},
                .infer = inferMeanVarianceNormalization});
  registry.add({.opType = "LRN",
                .minInputs = 1,
                .maxInputs = 1,
                .attributes = {{"alpha", kFloat}, {"beta", kFloat}, {"bias", kFloat}, {"size", kInt}},
                .infer = inferLrn});
  for (std::string_view op : {"Softmax", "LogSoftmax", "Hardmax"}) {
    registry.add({.opType = op,
                  .minInputs = 1,
                  .maxInputs = 1,
                  .attributes = {{"axis", kInt}},
                  .infer = inferSoftmaxFamily});
  }
}

}  // namespace lowp::ir::ops
