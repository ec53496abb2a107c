// {f32,f16,bf16}-reduce{sum,mean,max,min,sumsquare,l1,l2}-cuda: ReduceSum, ReduceMean, ReduceMax, ReduceMin,
// ReduceSumSquare, ReduceL1 and ReduceL2 (device code in reduce.cu), with keepdims and noop_with_empty_axes,
// the axes an attribute (before opset 18) or a constant input. The reduced axes must be adjacent once dims
// of size 1 are set aside (a squeeze-and-excitation's spatial mean, a normalisation's last axes, a sum over
// channels): x is then [outer, reduced, inner]. Other axis sets, and axes computed at run time, are declined.
// Tests: tests/gpu/test_reduce.cpp.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ir/ops/reduction_axes.h"
#include "kernels/cuda/cuda_check.h"
#include "kernels/cuda/cuda_context.h"
#include "kernels/cuda/cuda_kernels.h"
#include "kernels/cuda/kernel_util.h"

namespace lowp::kernels::cuda {
namespace {

// x as [outer, reduced, inner].
struct ReduceExtents {
  int64_t outer = 1;
  int64_t reduced = 1;
  int64_t inner = 1;
};

// The axes of the node: its constant input 1 when there is one, else the attribute; nullopt when input 1 is
// computed at run time.
std::optional<std::vector<int64_t>> axesOf(const ir::Node& node) {
  const ir::Value* v = node.input(1);
  if (v == nullptr) return node.attributes.getInts("axes");
  if (!v->constant) return std::nullopt;
  return ir::ops::tensorInts(*v->constant);
}

// The reduction of the node over an input of sizes `x`: kUnsupported where the reduced axes are not adjacent
// or not known.
Result<ir::ops::ReduceAxes> reduction(const ir::Node& node, const std::vector<int64_t>& x) {
  const auto axes = axesOf(node);
  if (!axes) return Status(StatusCode::kUnsupported, "the CUDA Reduce* takes axes that are constants");
  return ir::ops::resolveReduceAxes(node.attributes, *axes, static_cast<int64_t>(x.size()));
}

std::optional<ReduceExtents> extentsOf(const std::vector<int64_t>& x, const ir::ops::ReduceAxes& r) {
  ReduceExtents e;
  int phase = 0;  // 0: before the reduced axes, 1: among them, 2: after them
  for (size_t d = 0; d < x.size(); ++d) {
    if (x[d] == 1) continue;  // anywhere, it changes no offset
    if (r.reduced[d]) {
      if (phase == 2) return std::nullopt;
      phase = 1;
      e.reduced *= x[d];
    } else {
      if (phase == 1) phase = 2;
      (phase == 0 ? e.outer : e.inner) *= x[d];
    }
  }
  return e;
}

template <ReduceOp kOp>
Status reduceKernel(KernelContext& ctx) {
  LOWP_ASSIGN_OR_RETURN(CudaContext * cuda, requireCuda(ctx));
  const Tensor& x = ctx.input(0);
  Tensor& y = ctx.output(0);
  LOWP_ASSIGN_OR_RETURN(const Elem type, floatElemOf(ctx, x, "data"));
  if (y.type() != x.type())
    return ctx.invalid("output " + y.describe() + " is not of " + x.describe() + "'s type");
  auto r = reduction(ctx.node(), x.shape());
  if (!r) return forNode(ctx, r.status());
  if (ir::ops::reducedSizes(x.shape(), *r) != y.shape())
    return ctx.invalid("output " + y.describe() + " is not the reduction's " +
                       ir::formatSizes(ir::ops::reducedSizes(x.shape(), *r)));
  if (r->noop) {
    if (x.byteSize() > 0)
      LOWP_CUDA_RETURN_IF_ERROR_NODE(ctx,
                                     cudaMemcpyAsync(y.data(), x.data(), static_cast<size_t>(x.byteSize()),
                                                     cudaMemcpyDeviceToDevice, cuda->stream));
    return {};
  }
  const auto e = extentsOf(x.shape(), *r);
  if (!e) return ctx.unsupported("the reduced axes are not adjacent");
  LOWP_CUDA_RETURN_IF_ERROR_NODE(
      ctx, launchReduce(kOp, type, x.data(), y.data(), e->outer, e->reduced, e->inner, cuda->stream));
  return {};
}

bool supportsReduce(const ir::Node& node, const std::vector<ir::Shape>& shapes) {
  const auto x = staticSizes(shapes, 0);
  if (!x) return false;
  auto r = reduction(node, *x);
  return r.isOk() && (r->noop || extentsOf(*x, *r).has_value());
}

}  // namespace

void registerReduceKernels(KernelRegistry& registry) {
  struct Entry {
    std::string_view op;
    KernelFn fn;
  };
  const Entry entries[] = {{"ReduceSum", &reduceKernel<ReduceOp::kSum>},
                           {"ReduceMean", &reduceKernel<ReduceOp::kMean>},
                           {"ReduceMax", &reduceKernel<ReduceOp::kMax>},
                           {"ReduceMin", &reduceKernel<ReduceOp::kMin>},
                           {"ReduceSumSquare", &reduceKernel<ReduceOp::kSumSquare>},
                           {"ReduceL1", &reduceKernel<ReduceOp::kL1>},
                           {"ReduceL2", &reduceKernel<ReduceOp::kL2>}};
  const TypeSet axes = {DataType::kInt64};
  for (const Entry& e : entries) {
    for (DataType t : {DataType::kFloat32, DataType::kFloat16, DataType::kBFloat16}) {
      const TypeSet types = {t};
      registry.add({.opType = e.op,
                    .backend = Backend::kCuda,
                    .name = ownKernelName(t, e.op),
                    .inputTypes = {types, axes},
                    .outputTypes = {types},
                    .fn = e.fn,
                    .supports = &supportsReduce,
                    .reference = false});
    }
  }
}

}  // namespace lowp::kernels::cuda
