// CUDA kernels made of a copy: the ops that only rename a tensor's shape (Flatten, Reshape, Squeeze,
// Unsqueeze, Identity) run as one device-to-device copy, and so does Dropout in inference
// (x-dropout-copy-cuda: ir::ops::dropoutDropsNothing; its bool mask, opset 10 on, all true).
// (lowp.FusedMatMul runs in matmul.cpp.)
#include <cctype>
#include <string>
#include <string_view>
#include <vector>

#include "ir/ops/common.h"
#include "ir/ops/tensor_shapes.h"
#include "kernels/cuda/cuda_check.h"
#include "kernels/cuda/cuda_context.h"
#include "kernels/cuda/cuda_kernels.h"
#include "kernels/cuda/kernel_util.h"

namespace lowp::kernels::cuda {
namespace {

// Flatten, Reshape, Squeeze, Unsqueeze and Identity keep the bytes of a linear tensor in order: the output
// is the input copied (the planned output shape is already the right one).
Status copySameBytes(KernelContext& ctx) {
  LOWP_ASSIGN_OR_RETURN(CudaContext * cuda, requireCuda(ctx));
  const Tensor& x = ctx.input(0);
  Tensor& y = ctx.output(0);
  if (x.type() != y.type() || x.byteSize() != y.byteSize())
    return ctx.invalid("output " + y.describe() + " does not hold the bytes of input " + x.describe());
  if (y.byteSize() == 0 || x.data() == y.data()) return {};
  LOWP_CUDA_RETURN_IF_ERROR_NODE(ctx, cudaMemcpyAsync(y.data(), x.data(), static_cast<size_t>(y.byteSize()),
                                                      cudaMemcpyDeviceToDevice, cuda->stream));
  return {};
}

// A Dropout that drops nothing (ir::ops::dropoutDropsNothing), its mask, if any, bool.
bool supportsDropout(const ir::Node& node, const std::vector<ir::Shape>& /*shapes*/) {
  const ir::Value* mask = node.outputs.size() > 1 ? node.outputs[1] : nullptr;
  return ir::ops::dropoutDropsNothing(node) && (mask == nullptr || mask->type == DataType::kBool);
}

Status dropoutKernel(KernelContext& ctx) {
  LOWP_ASSIGN_OR_RETURN(CudaContext * cuda, requireCuda(ctx));
  if (!supportsDropout(ctx.node(), {})) return ctx.unsupported("a Dropout that drops elements (training)");
  LOWP_RETURN_IF_ERROR(copySameBytes(ctx));
  if (ctx.hasOutput(1)) {
    Tensor& mask = ctx.output(1);
    if (mask.type() != DataType::kBool || mask.elementCount() != ctx.input(0).elementCount())
      return ctx.invalid("the mask " + mask.describe() + " is not a bool per element of " +
                         ctx.input(0).describe());
    LOWP_CUDA_RETURN_IF_ERROR_NODE(
        ctx, cudaMemsetAsync(mask.data(), 1, static_cast<size_t>(mask.byteSize()), cuda->stream));
  }
  return {};
}

KernelDef sameBytesKernel(std::string_view opType, std::string_view name) {
  return {.opType = opType,
          .backend = Backend::kCuda,
          .name = name,
          .inputTypes = {allStorableTypes()},
          .outputTypes = {allStorableTypes()},
          .fn = &copySameBytes,
          .reference = false};
}

}  // namespace

void registerComposedKernels(KernelRegistry& registry) {
  for (std::string_view op : ir::ops::kSameBytesOps) {
    std::string name = "x-";
    for (char c : op) name += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    registry.add(sameBytesKernel(op, keepName(name + "-copy-cuda")));  // x-reshape-copy-cuda, ...
  }
  registry.add({.opType = "Dropout",
                .backend = Backend::kCuda,
                .name = "x-dropout-copy-cuda",
                .inputTypes = {allStorableTypes(), floatTypes(), {DataType::kBool}},
                .outputTypes = {allStorableTypes(), {DataType::kBool}},
                .fn = &dropoutKernel,
                .supports = &supportsDropout,
                .reference = false});
}

}  // namespace lowp::kernels::cuda
