// x-pad-cuda: Pad (device code in pad.cu) in modes constant, reflect, edge and wrap, for every type stored in
// 1, 2, 4 or 8 bytes, rank <= 8 (kMaxCopyRank). The pads (negative ones crop) and the axes must be constants
// of the graph: inputs 1 and 3 (opset 2-10's `pads` attribute is input 1 too: the importer moves it there,
// onnx/ops/tensor.cpp). The constant comes from constant_value (input 2), which may be computed
// at run time: the device reads it where it lies, and nothing waits for it; without it, from opset 2-10's
// `value` attribute, encoded on the host as the reference kernel encodes it (saturated into integers), or
// zero bytes. Pads that remove more than an axis holds, and a non-constant mode over an empty axis that
// must grow, are errors naming the node, as in the reference kernel.
// Tests: tests/gpu/test_pad.cpp.
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "ir/ops/tensor_shapes.h"
#include "kernels/cuda/cuda_check.h"
#include "kernels/cuda/cuda_context.h"
#include "kernels/cuda/cuda_kernels.h"
#include "kernels/cuda/kernel_util.h"
#include "kernels/reference/tensor_util.h"

namespace lowp::kernels::cuda {
namespace {

std::optional<PadMode> padModeOf(const ir::AttributeMap& attrs) {
  const std::string mode = attrs.getString("mode", "constant");
  if (mode == "constant") return PadMode::kConstant;
  if (mode == "reflect") return PadMode::kReflect;
  if (mode == "edge") return PadMode::kEdge;
  if (mode == "wrap") return PadMode::kWrap;
  return std::nullopt;
}

// The pad amounts of the node over `rank` axes (begins, then ends): its constant pads (input 1) over its
// constant axes (input 3, or all axes). kUnsupported where pads or axes are computed at run time;
// kInvalidArgument where they are missing or do not fit the rank.
Result<std::vector<int64_t>> padAmountsOf(const ir::Node& node, int64_t rank) {
  const ir::Value* padsInput = node.input(1);
  if (padsInput == nullptr) return Status(StatusCode::kInvalidArgument, "the pads input is required");
  if (!padsInput->constant)
    return Status(StatusCode::kUnsupported, "the CUDA Pad takes pads that are a constant of the model");
  const std::vector<int64_t> pads = ref::tensor::readInts(*padsInput->constant);
  std::optional<std::vector<int64_t>> axes;
  if (const ir::Value* axesInput = node.input(3)) {
    if (!axesInput->constant)
      return Status(StatusCode::kUnsupported, "the CUDA Pad takes axes that are a constant of the model");
    axes = ref::tensor::readInts(*axesInput->constant);
  }
  return ir::ops::padAmounts(rank, pads, axes);
}

Status padKernel(KernelContext& ctx) {
  LOWP_ASSIGN_OR_RETURN(CudaContext * cuda, requireCuda(ctx));
  const Tensor& x = ctx.input(0);
  Tensor& y = ctx.output(0);
  const int bytes = wordBytes(x.type());
  if (bytes == 0) return ctx.unsupported("no CUDA Pad of " + x.describe());
  if (x.rank() > kMaxCopyRank)
    return ctx.unsupported("no CUDA Pad of rank " + std::to_string(x.rank()) + " (at most " +
                           std::to_string(kMaxCopyRank) + ")");
  const std::optional<PadMode> mode = padModeOf(ctx.attrs());
  if (!mode) return ctx.invalid("unknown pad mode '" + ctx.attrs().getString("mode", "constant") + "'");
  auto amounts = padAmountsOf(ctx.node(), x.rank());
  if (!amounts) return forNode(ctx, amounts.status());
  auto shape = ir::ops::padShape(ir::Shape::fromSizes(x.shape()), *amounts);
  if (!shape) return forNode(ctx, shape.status());
  if (y.type() != x.type() || y.shape() != shape->sizes())
    return ctx.invalid("output " + y.describe() + " is not " + x.describe() + " padded to " +
                       ir::formatSizes(shape->sizes()));

  PadParams p;
  p.rank = static_cast<int>(x.rank());
  p.mode = *mode;
  for (size_t d = 0; d < x.shape().size(); ++d) {
    p.inDims[d] = x.shape()[d];
    p.outDims[d] = y.shape()[d];
    p.before[d] = (*amounts)[d];
    // Nothing to reflect, repeat or wrap.
    if (p.inDims[d] == 0 && p.outDims[d] > 0 && p.mode != PadMode::kConstant)
      return ctx.invalid("cannot pad an empty axis " + std::to_string(d) + " in mode '" +
                         ctx.attrs().getString("mode", "constant") + "'");
  }
  if (ctx.hasInput(2) && ctx.input(2).elementCount() > 0) {
    const Tensor& value = ctx.input(2);
    if (value.type() != x.type())
      return ctx.invalid("constant_value " + value.describe() + " is not of " + x.describe() + "'s type");
    p.value = value.data();
  } else if (ctx.attrs().has("value")) {
    const auto encoded = ref::tensor::encodeScalar(x.type(), ctx.attrs().getFloat("value", 0.0f));
    if (!encoded) return ctx.unsupported("a pad value of " + x.describe() + "'s type");
    std::memcpy(&p.fill, encoded->data(), encoded->size());
  }
  if (y.elementCount() == 0) return {};
  LOWP_CUDA_RETURN_IF_ERROR_NODE(ctx, launchPad(bytes, x.data(), y.data(), p, cuda->stream));
  return {};
}

bool supportsPad(const ir::Node& node, const std::vector<ir::Shape>& shapes) {
  if (shapes.empty() || !shapes[0].rankKnown() || shapes[0].rank() > kMaxCopyRank) return false;
  return padModeOf(node.attributes).has_value() && padAmountsOf(node, shapes[0].rank()).isOk();
}

}  // namespace

void registerPadKernels(KernelRegistry& registry) {
  const TypeSet any = movableTypes();
  const TypeSet int64 = {DataType::kInt64};
  const TypeSet index = {DataType::kInt32, DataType::kInt64};
  registry.add({.opType = "Pad",
                .backend = Backend::kCuda,
                .name = "x-pad-cuda",
                .inputTypes = {any, int64, any, index},
                .outputTypes = {any},
                .fn = &padKernel,
                .supports = &supportsPad,
                .reference = false});
}

}  // namespace lowp::kernels::cuda
