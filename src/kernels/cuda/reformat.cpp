// x{8,16,32}-reformat-{lineartohwc,hwctolinear}-cuda: lowp.Reformat (ir/ops/reformat.cpp) between ONNX's
// plain layout [N, C, spatial...] and channels-last [N, spatial..., C] (ir/format.h, kHwc) for tensors of
// rank 3 to 5 and elements of 1, 2 or 4 bytes, through the tiled transpose of reformat.cu.
// Tests: tests/gpu/test_elementwise.cpp (CudaReformat.*).
#include <string>
#include <vector>

#include "ir/ops/fused.h"
#include "kernels/cuda/cuda_check.h"
#include "kernels/cuda/cuda_context.h"
#include "kernels/cuda/cuda_kernels.h"
#include "kernels/cuda/kernel_util.h"

namespace lowp::kernels::cuda {
namespace {

template <bool kToHwc>
Status reformatKernel(KernelContext& ctx) {
  LOWP_ASSIGN_OR_RETURN(CudaContext * cuda, requireCuda(ctx));
  const Tensor& x = ctx.input(0);
  Tensor& y = ctx.output(0);
  const std::vector<int64_t>& shape = x.shape();
  if (shape.size() < 3 || shape.size() > 5)
    return ctx.invalid("input " + x.describe() + " is not [N, C, spatial...] of rank 3 to 5");
  if (y.shape() != shape || y.type() != x.type())
    return ctx.invalid("output " + y.describe() + " differs from the input " + x.describe());
  const int64_t bytes = dataTypeSize(x.type());
  if (bytes != 1 && bytes != 2 && bytes != 4)
    return ctx.unsupported("no CUDA reformat of " + std::to_string(bytes) + "-byte elements");
  int64_t spatial = 1;
  for (size_t d = 2; d < shape.size(); ++d) spatial *= shape[d];
  LOWP_CUDA_RETURN_IF_ERROR_NODE(ctx, launchChannelsLast(static_cast<int>(bytes), x.data(), y.data(),
                                                         shape[0], shape[1], spatial, kToHwc, cuda->stream));
  return {};
}

bool supportsReformat(const ir::Node& /*node*/, const std::vector<ir::Shape>& shapes) {
  return !shapes.empty() && shapes[0].rankKnown() && shapes[0].rank() >= 3 && shapes[0].rank() <= 5;
}

void registerSize(KernelRegistry& registry, TypeSet types, std::string_view bits) {
  for (bool toHwc : {true, false}) {
    registry.add({.opType = "Reformat",
                  .backend = Backend::kCuda,
                  .name = keepName("x" + std::string(bits) + "-reformat-" +
                                   (toHwc ? "lineartohwc" : "hwctolinear") + "-cuda"),
                  .inputTypes = {types},
                  .outputTypes = {types},
                  .fn = toHwc ? &reformatKernel<true> : &reformatKernel<false>,
                  .inputFormats = {toHwc ? TensorFormat::kLinear : TensorFormat::kHwc},
                  .outputFormats = {toHwc ? TensorFormat::kHwc : TensorFormat::kLinear},
                  .domain = ir::ops::kLowpDomain,
                  .supports = &supportsReformat,
                  .reference = false});
  }
}

}  // namespace

void registerReformatKernels(KernelRegistry& registry) {
  registerSize(registry,
               {DataType::kInt8, DataType::kUInt8, DataType::kBool, DataType::kFloat8E4M3FN,
                DataType::kFloat8E4M3FNUZ, DataType::kFloat8E5M2, DataType::kFloat8E5M2FNUZ},
               "8");
  registerSize(registry, {DataType::kFloat16, DataType::kBFloat16, DataType::kInt16, DataType::kUInt16},
               "16");
  registerSize(registry, {DataType::kFloat32, DataType::kInt32, DataType::kUInt32}, "32");
}

}  // namespace lowp::kernels::cuda
