// {f32,f16,bf16}-groupnormalization-cuda and {f32,f16,bf16}-instancenormalization-cuda (device code in
// groupnorm.cu): GroupNormalization (opset 18: scale and bias per group; opset 21: per channel, stash_type
// fp32 only) and InstanceNormalization (a group per channel) over X [N, C, spatial...] in the linear layout,
// statistics in fp32. Tests: tests/gpu/test_groupnorm.cpp.
#include <string>
#include <string_view>
#include <vector>

#include "kernels/cuda/cuda_check.h"
#include "kernels/cuda/cuda_context.h"
#include "kernels/cuda/cuda_kernels.h"
#include "kernels/cuda/kernel_util.h"

namespace lowp::kernels::cuda {
namespace {

// How a node groups its channels: the group count and whether scale and bias hold one value per channel.
struct Grouping {
  int64_t groups = 1;
  bool perChannel = true;
};

// The grouping of `node` over `channels` channels, or an error (no node named: the callers add it).
Result<Grouping> groupingOf(const ir::Node& node, int64_t channels) {
  if (node.opType == "InstanceNormalization") return Grouping{channels, true};
  const int64_t groups = node.attributes.getInt("num_groups", 0);
  if (groups <= 0 || channels % groups != 0)
    return Status(StatusCode::kInvalidArgument, "num_groups " + std::to_string(groups) +
                                                    " does not divide the channel count " +
                                                    std::to_string(channels));
  if (node.attributes.getInt("stash_type", 1) != 1)
    return Status(StatusCode::kUnsupported, "the CUDA GroupNormalization keeps fp32 statistics");
  return Grouping{groups, node.opsetVersion >= 21};
}

Status groupNormKernel(KernelContext& ctx) {
  LOWP_ASSIGN_OR_RETURN(CudaContext * cuda, requireCuda(ctx));
  const Tensor& x = ctx.input(0);
  LOWP_ASSIGN_OR_RETURN(const Elem type, floatElemOf(ctx, x, "X"));
  LOWP_RETURN_IF_ERROR(requireSameAsInput(ctx));
  if (x.rank() < 2) return ctx.invalid("X " + x.describe() + " has no channel dim");
  const int64_t channels = x.shape()[1];
  auto grouping = groupingOf(ctx.node(), channels);
  if (!grouping) return forNode(ctx, grouping.status());
  const int64_t params = grouping->perChannel ? channels : grouping->groups;
  for (size_t slot : {1, 2}) {
    if (!ctx.hasInput(slot)) return ctx.invalid("scale and bias are required");
    const Tensor& p = ctx.input(slot);
    if (p.type() != x.type() || p.elementCount() != params)
      return ctx.invalid("scale or bias " + p.describe() + " is not " + std::to_string(params) +
                         " values of X's type");
  }
  const int64_t spatial = channels == 0 ? 0 : x.elementCount() / (x.shape()[0] * channels);
  LOWP_CUDA_RETURN_IF_ERROR_NODE(
      ctx, launchGroupNorm(type, x.data(), ctx.input(1).data(), ctx.input(2).data(), ctx.output(0).data(),
                           x.shape()[0], channels, spatial, grouping->groups, grouping->perChannel,
                           ctx.attrs().getFloat("epsilon", 1e-5f), cuda->stream));
  return {};
}

bool supportsGroupNorm(const ir::Node& node, const std::vector<ir::Shape>& shapes) {
  if (shapes.empty() || !shapes[0].rankKnown() || shapes[0].rank() < 2 || !shapes[0][1].isKnown())
    return false;
  return groupingOf(node, shapes[0][1].size).isOk();
}

}  // namespace

void registerGroupNormKernels(KernelRegistry& registry) {
  for (DataType t : {DataType::kFloat32, DataType::kFloat16, DataType::kBFloat16}) {
    for (std::string_view op : {"GroupNormalization", "InstanceNormalization"}) {
      registry.add({.opType = op,
                    .backend = Backend::kCuda,
                    .name = ownKernelName(t, op),
                    .inputTypes = {{t}},
                    .outputTypes = {{t}},
                    .fn = &groupNormKernel,
                    .supports = &supportsGroupNorm,
                    .reference = false});
    }
  }
}

}  // namespace lowp::kernels::cuda
