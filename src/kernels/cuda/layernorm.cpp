// {f32,f16,bf16}-layernorm-cuda: ONNX LayerNormalization (opset 17) over the dims from `axis` to the last,
// which are contiguous: rows of their product (device code in layernorm.cu), statistics in fp32, written to
// the Mean and InvStdDev outputs where the node has them. Scale and B hold one value per element of the
// normalised dims (their shapes, aligned right to X's, are 1 before `axis` and X's after). A stash_type
// other than fp32 is declined. {f32,f16,bf16}-rmsnormalization-cuda: RMSNormalization (opset 23), the same
// rows without the mean, Scale alone. {f32,f16,bf16}-fusedlayernorm-cuda: lowp.FusedLayerNorm, LayerNorm
// with the residual added as each row is read (its rows in another order under residual_perm).
// Tests: tests/gpu/test_layernorm.cpp.
#include <string>
#include <vector>

#include "ir/ops/fused.h"
#include "kernels/cuda/cuda_check.h"
#include "kernels/cuda/cuda_context.h"
#include "kernels/cuda/cuda_kernels.h"
#include "kernels/cuda/kernel_util.h"

namespace lowp::kernels::cuda {
namespace {

// The axis in [0, rank), or -1 when it is out of range.
int64_t normalisedAxis(const ir::AttributeMap& attrs, int64_t rank) {
  int64_t axis = attrs.getInt("axis", -1);
  if (axis < 0) axis += rank;
  return axis >= 0 && axis < rank ? axis : -1;
}

// True when `param` (Scale or B) holds one value per element of x's dims [axis, rank).
bool perNormalisedElement(const std::vector<int64_t>& param, const std::vector<int64_t>& x, int64_t axis) {
  if (param.size() > x.size()) return false;
  const size_t offset = x.size() - param.size();
  for (size_t d = 0; d < x.size(); ++d) {
    const int64_t p = d < offset ? 1 : param[d - offset];
    if (static_cast<int64_t>(d) < axis ? p != 1 : p != x[d]) return false;
  }
  return true;
}

bool fp32Statistics(const ir::Node& node) {
  return node.attributes.getInt("stash_type", 1) == 1;
}

Status layerNormKernel(KernelContext& ctx) {
  LOWP_ASSIGN_OR_RETURN(CudaContext * cuda, requireCuda(ctx));
  const Tensor& x = ctx.input(0);
  LOWP_ASSIGN_OR_RETURN(const Elem type, floatElemOf(ctx, x, "X"));
  const bool fused = ctx.node().opType == ir::ops::kFusedLayerNormOp;
  // FusedLayerNorm's Y may be larger than X, where the residual broadcasts over X.
  if (!fused) LOWP_RETURN_IF_ERROR(requireSameAsInput(ctx));
  if (ctx.output(0).type() != x.type()) return ctx.invalid("Y is not of X's type " + x.describe());
  if (!fp32Statistics(ctx.node()))
    return ctx.unsupported("the CUDA LayerNormalization keeps fp32 statistics");
  // The rows normalised are Y's: X's, or X + Residual's (FusedLayerNorm) where the residual broadcasts.
  Tensor& y = ctx.output(0);
  const int64_t axis = normalisedAxis(ctx.attrs(), y.rank());
  if (axis < 0) return ctx.invalid("axis is out of range for " + y.describe());
  if (!ctx.hasInput(1)) return ctx.invalid("Scale is required");
  const Tensor& scale = ctx.input(1);
  const Tensor* bias = ctx.hasInput(2) ? &ctx.input(2) : nullptr;
  for (const Tensor* p : {&scale, bias}) {
    if (p == nullptr) continue;
    if (p->type() != x.type() || !perNormalisedElement(p->shape(), y.shape(), axis))
      return ctx.invalid("Scale or B " + p->describe() +
                         " is not one value of X's type per normalised element of " + y.describe());
  }
  int64_t size = 1;
  for (size_t d = static_cast<size_t>(axis); d < y.shape().size(); ++d) size *= y.shape()[d];
  int64_t rowCount = 1;
  for (size_t d = 0; d < static_cast<size_t>(axis); ++d) rowCount *= y.shape()[d];
  RowNormalization normalization;
  normalization.rms = ctx.node().opType == "RMSNormalization";
  for (size_t slot = 1; slot <= 2 && !fused && !normalization.rms; ++slot) {  // Mean, InvStdDev
    if (!ctx.hasOutput(slot)) continue;
    Tensor& statistic = ctx.output(slot);
    if (statistic.type() != DataType::kFloat32 || statistic.elementCount() != rowCount)
      return ctx.invalid("output " + std::to_string(slot) + " " + statistic.describe() +
                         " is not one fp32 per row of " + y.describe());
    if (size == 0 && rowCount > 0) return ctx.unsupported("the statistics of empty rows");
    (slot == 1 ? normalization.mean : normalization.invStdDev) = statistic.data<float>();
  }
  if (size == 0 || y.elementCount() == 0) return {};
  const float epsilon = ctx.attrs().getFloat("epsilon", 1e-5f);
  const void* rows = x.data();
  const void* residual = nullptr;
  RowMap rowMap;
  if (fused) {
    if (!ctx.hasInput(ir::ops::kFusedLayerNormResidual)) return ctx.invalid("the residual is missing");
    const Tensor& r = ctx.input(ir::ops::kFusedLayerNormResidual);
    if (r.type() != x.type()) return ctx.invalid("the residual " + r.describe() + " is not of X's type");
    const std::vector<int64_t> perm = ctx.attrs().getInts(ir::ops::kFusedLayerNormResidualPerm);
    if (r.shape() == x.shape() && perm.empty()) {
      residual = r.data();
    } else if (!perm.empty()) {
      // Rows of the residual in another order: each still one contiguous row of `size`.
      const auto strides = ir::ops::fusedLayerNormResidualStrides(r.shape(), perm, y.shape());
      if (!strides || r.elementCount() != y.elementCount() || x.shape() != y.shape() ||
          !ir::ops::rowsAreContiguous(*strides, y.shape(), static_cast<size_t>(axis)) ||
          axis > RowMap::kMaxDims)
        return ctx.unsupported("a residual read through residual_perm " + ir::formatSizes(perm) +
                               " that broadcasts, or of more than 4 row dims");
      rowMap.dims = static_cast<int>(axis);
      for (int d = 0; d < rowMap.dims; ++d) {
        rowMap.sizes[d] = y.shape()[static_cast<size_t>(d)];
        rowMap.strides[d] = (*strides)[static_cast<size_t>(d)];
      }
      residual = r.data();
    } else {
      // A residual that broadcasts: the sum goes to Y first, which is then normalised in place.
      LOWP_ASSIGN_OR_RETURN(const BroadcastPlan plan, broadcastPlanOf(ctx, {&x, &r}, y));
      LOWP_CUDA_RETURN_IF_ERROR_NODE(
          ctx, launchBinaryGeneral(BinaryOp::kAdd, type, x.data(), r.data(), y.data(), plan, cuda->stream));
      rows = y.data();
    }
  }
  LOWP_CUDA_RETURN_IF_ERROR_NODE(
      ctx,
      launchLayerNormLastAxis(type, rows, scale.data(), bias != nullptr ? bias->data() : nullptr, y.data(),
                              rowCount, size, epsilon, cuda->stream, residual, rowMap, normalization));
  return {};
}

bool supportsLayerNorm(const ir::Node& node, const std::vector<ir::Shape>& shapes) {
  if (!fp32Statistics(node) || shapes.size() < 2) return false;
  for (size_t i = 0; i < shapes.size(); ++i) {
    if (node.input(i) == nullptr) continue;  // an omitted B
    const ir::Shape& s = shapes[i];
    if (!s.rankKnown()) return false;
    for (int64_t d = 0; d < s.rank(); ++d) {
      if (!s[d].isKnown()) return false;
    }
  }
  const int64_t axis = normalisedAxis(node.attributes, shapes[0].rank());
  if (axis < 0) return false;
  for (size_t i = 1; i < shapes.size() && i < 3; ++i) {
    if (node.input(i) != nullptr && !perNormalisedElement(shapes[i].sizes(), shapes[0].sizes(), axis))
      return false;
  }
  return true;
}

}  // namespace

void registerLayerNormKernels(KernelRegistry& registry) {
  for (DataType t : {DataType::kFloat32, DataType::kFloat16, DataType::kBFloat16}) {
    const TypeSet types = {t};
    registry.add({.opType = "LayerNormalization",
                  .backend = Backend::kCuda,
                  .name = keepName(std::string(shortTypeName(t)) + "-layernorm-cuda"),
                  .inputTypes = {types},
                  .outputTypes = {types, {DataType::kFloat32}},  // Y; Mean and InvStdDev
                  .fn = &layerNormKernel,
                  .supports = &supportsLayerNorm,
                  .reference = false});
    registry.add({.opType = "RMSNormalization",
                  .backend = Backend::kCuda,
                  .name = ownKernelName(t, "RMSNormalization"),
                  .inputTypes = {types},
                  .outputTypes = {types},
                  .fn = &layerNormKernel,
                  .supports = &supportsLayerNorm,
                  .reference = false});
    registry.add({.opType = ir::ops::kFusedLayerNormOp,
                  .backend = Backend::kCuda,
                  .name = keepName(std::string(shortTypeName(t)) + "-fusedlayernorm-cuda"),
                  .inputTypes = {types},
                  .outputTypes = {types},
                  .fn = &layerNormKernel,
                  .domain = ir::ops::kLowpDomain,
                  .supports = &supportsLayerNorm,
                  .reference = false});
  }
}

}  // namespace lowp::kernels::cuda
