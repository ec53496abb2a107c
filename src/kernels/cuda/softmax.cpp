// {f32,f16,bf16}-{softmax,logsoftmax,hardmax}-cuda: Softmax, LogSoftmax and Hardmax along any axis (device
// code in softmax.cu); opsets before 13 flatten at `axis` into rows, as the reference kernel does.
// Tests: tests/gpu/test_softmax.cpp.
#include <string>
#include <string_view>
#include <vector>

#include "kernels/cuda/cuda_check.h"
#include "kernels/cuda/cuda_context.h"
#include "kernels/cuda/cuda_kernels.h"
#include "kernels/cuda/kernel_util.h"

namespace lowp::kernels::cuda {
namespace {

template <SoftmaxKind kKind>
Status softmaxKernel(KernelContext& ctx) {
  LOWP_ASSIGN_OR_RETURN(CudaContext * cuda, requireCuda(ctx));
  const Tensor& x = ctx.input(0);
  LOWP_ASSIGN_OR_RETURN(const Elem type, floatElemOf(ctx, x, "input"));
  LOWP_RETURN_IF_ERROR(requireSameAsInput(ctx));
  const bool coerce2d = ctx.node().opsetVersion < 13;
  auto axis = ir::normalizeAxis(ctx.attrs().getInt("axis", coerce2d ? 1 : -1), x.rank());
  if (!axis) return ctx.invalid(axis.status().message());
  // x as [outer, size, inner] around the axis; opsets before 13 take every dim from the axis on as one.
  const std::vector<int64_t>& shape = x.shape();
  int64_t outer = 1;
  int64_t size = 1;
  int64_t inner = 1;
  for (int64_t d = 0; d < x.rank(); ++d) {
    const int64_t n = shape[static_cast<size_t>(d)];
    if (d < *axis) {
      outer *= n;
    } else if (d == *axis || coerce2d) {
      size *= n;
    } else {
      inner *= n;
    }
  }
  LOWP_CUDA_RETURN_IF_ERROR_NODE(
      ctx, launchSoftmax(kKind, type, x.data(), ctx.output(0).data(), outer, size, inner, cuda->stream));
  return {};
}

bool supportsSoftmax(const ir::Node& node, const std::vector<ir::Shape>& shapes) {
  return !shapes.empty() && shapes[0].rankKnown() && shapes[0].rank() > 0;
}

}  // namespace

void registerSoftmaxKernels(KernelRegistry& registry) {
  struct Entry {
    std::string_view opType;
    KernelFn fn;
  };
  const Entry ops[] = {{"Softmax", &softmaxKernel<SoftmaxKind::kSoftmax>},
                       {"LogSoftmax", &softmaxKernel<SoftmaxKind::kLogSoftmax>},
                       {"Hardmax", &softmaxKernel<SoftmaxKind::kHardmax>}};
  for (DataType t : {DataType::kFloat32, DataType::kFloat16, DataType::kBFloat16}) {
    const TypeSet types = {t};
    for (const Entry& op : ops) {
      registry.add({.opType = op.opType,
                    .backend = Backend::kCuda,
                    .name = ownKernelName(t, op.opType),
                    .inputTypes = {types},
                    .outputTypes = {types},
                    .fn = op.fn,
                    .supports = &supportsSoftmax,
                    .reference = false});
    }
  }
}

}  // namespace lowp::kernels::cuda
