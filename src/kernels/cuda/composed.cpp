// CUDA kernels made of a copy: the ops that only rename a tensor's shape (Flatten, Reshape, Squeeze,
// Unsqueeze, Identity) run as one device-to-device copy. (lowp.FusedMatMul runs in matmul.cpp.)
#include <cctype>
#include <string>
#include <string_view>

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
}

}  // namespace lowp::kernels::cuda
