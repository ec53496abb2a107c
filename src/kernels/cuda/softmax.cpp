// {f32,f16,bf16}-softmax-cuda: Softmax over the last axis (device code in softmax.cu); other axes run
// elsewhere. Opsets before 13 flatten at `axis`, which is the last axis only when axis = rank - 1.
// Tests: tests/gpu/test_softmax.cpp.
#include <string>
#include <vector>

#include "kernels/cuda/cuda_check.h"
#include "kernels/cuda/cuda_context.h"
#include "kernels/cuda/cuda_kernels.h"
#include "kernels/cuda/kernel_util.h"

namespace lowp::kernels::cuda {
namespace {

bool lastAxis(const ir::Node& node, int64_t rank) {
  const int64_t axis = node.attributes.getInt("axis", node.opsetVersion < 13 ? 1 : -1);
  return rank > 0 && (axis == -1 || axis == rank - 1);
}

Status softmaxKernel(KernelContext& ctx) {
  LOWP_ASSIGN_OR_RETURN(CudaContext * cuda, requireCuda(ctx));
  const Tensor& x = ctx.input(0);
  LOWP_ASSIGN_OR_RETURN(const Elem type, floatElemOf(ctx, x, "input"));
  LOWP_RETURN_IF_ERROR(requireSameAsInput(ctx));
  if (!lastAxis(ctx.node(), x.rank()))
    return ctx.unsupported("the CUDA Softmax runs over the last axis only");
  const int64_t size = x.shape().back();
  if (size == 0) return {};
  LOWP_CUDA_RETURN_IF_ERROR_NODE(ctx, launchSoftmaxLastAxis(type, x.data(), ctx.output(0).data(),
                                                            x.elementCount() / size, size, cuda->stream));
  return {};
}

bool supportsSoftmax(const ir::Node& node, const std::vector<ir::Shape>& shapes) {
  return !shapes.empty() && shapes[0].rankKnown() && lastAxis(node, shapes[0].rank());
}

}  // namespace

void registerSoftmaxKernels(KernelRegistry& registry) {
  for (DataType t : {DataType::kFloat32, DataType::kFloat16, DataType::kBFloat16}) {
    const TypeSet types = {t};
    registry.add({.opType = "Softmax",
                  .backend = Backend::kCuda,
                  .name = ownKernelName(t, "Softmax"),
                  .inputTypes = {types},
                  .outputTypes = {types},
                  .fn = &softmaxKernel,
                  .supports = &supportsSoftmax,
                  .reference = false});
  }
}

}  // namespace lowp::kernels::cuda
