// {f32,f16,bf16}-reduce{sum,mean,max,min,sumsquare,l1,l2}-cuda: ReduceSum, ReduceMean, ReduceMax, ReduceMin,
// ReduceSumSquare, ReduceL1 and ReduceL2 (device code in reduce.cu), with keepdims and noop_with_empty_axes,
// the axes an attribute (before opset 18) or a constant input. Where the reduced axes are adjacent once dims
// of size 1 are set aside (a squeeze-and-excitation's spatial mean, a normalisation's last axes, a sum over
// channels), x is [outer, reduced, inner]; other axis sets (a MeanVarianceNormalization's N, H and W) read
// through strides, a block per output element. Axes computed at run time are declined.
// {f32,f16,bf16,i32,i64}-{cumsum,cumprod}-cuda: CumSum and CumProd along a constant axis, exclusive and
// reverse, each column scanned in order by one thread (the reference's order: fp32 results are identical).
// Tests: tests/gpu/test_reduce.cpp.
#include <algorithm>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
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

// x's dims as runs of kept and of reduced dims (size-1 dims set aside); nullopt past StridedReducePlan's
// runs.
std::optional<StridedReducePlan> stridedPlanOf(const std::vector<int64_t>& x, const ir::ops::ReduceAxes& r) {
  StridedReducePlan plan;
  int last = -1;  // the kind of the run last opened: 0 kept, 1 reduced
  int64_t stride = 1;
  // Innermost first, so that each dim's stride is known; the runs are reversed at the end.
  for (size_t d = x.size(); d-- > 0;) {
    const int64_t size = x[d];
    if (size == 1) continue;
    const int kind = r.reduced[d] ? 1 : 0;
    int& runs = kind == 1 ? plan.reducedRuns : plan.keptRuns;
    int64_t* sizes = kind == 1 ? plan.reduced : plan.kept;
    int64_t* strides = kind == 1 ? plan.reducedStrides : plan.keptStrides;
    if (kind != last) {
      if (runs == StridedReducePlan::kMaxRuns) return std::nullopt;
      sizes[runs] = 1;
      strides[runs] = stride;
      ++runs;
      last = kind;
    }
    sizes[runs - 1] *= size;
    stride *= size;
  }
  std::reverse(plan.kept, plan.kept + plan.keptRuns);
  std::reverse(plan.keptStrides, plan.keptStrides + plan.keptRuns);
  std::reverse(plan.reduced, plan.reduced + plan.reducedRuns);
  std::reverse(plan.reducedStrides, plan.reducedStrides + plan.reducedRuns);
  return plan;
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
  if (const auto e = extentsOf(x.shape(), *r)) {
    LOWP_CUDA_RETURN_IF_ERROR_NODE(
        ctx, launchReduce(kOp, type, x.data(), y.data(), e->outer, e->reduced, e->inner, cuda->stream));
    return {};
  }
  const auto plan = stridedPlanOf(x.shape(), *r);
  if (!plan) return ctx.unsupported("more than 4 runs of reduced or of kept axes");
  LOWP_CUDA_RETURN_IF_ERROR_NODE(ctx,
                                 launchReduceStrided(kOp, type, x.data(), y.data(), *plan, cuda->stream));
  return {};
}

bool supportsReduce(const ir::Node& node, const std::vector<ir::Shape>& shapes) {
  const auto x = staticSizes(shapes, 0);
  if (!x) return false;
  auto r = reduction(node, *x);
  return r.isOk() && (r->noop || extentsOf(*x, *r).has_value() || stridedPlanOf(*x, *r).has_value());
}

// CumSum's and CumProd's axis: input 1, a constant of the graph.
std::optional<int64_t> cumulativeAxis(const ir::Node& node) {
  const ir::Value* v = node.input(1);
  if (v == nullptr || !v->constant) return std::nullopt;
  const auto axis = ir::ops::tensorInts(*v->constant);
  if (!axis || axis->size() != 1) return std::nullopt;
  return axis->front();
}

template <bool kProduct>
Status cumulativeKernel(KernelContext& ctx) {
  LOWP_ASSIGN_OR_RETURN(CudaContext * cuda, requireCuda(ctx));
  const Tensor& x = ctx.input(0);
  LOWP_RETURN_IF_ERROR(requireSameAsInput(ctx));
  const std::optional<ValueType> type = valueTypeOf(x.type());
  if (!type || *type == ValueType::kI8 || *type == ValueType::kU8 || *type == ValueType::kBool)
    return ctx.unsupported("no CUDA " + ctx.node().opType + " of " + x.describe());
  const std::optional<int64_t> axisValue = cumulativeAxis(ctx.node());
  if (!axisValue)
    return ctx.unsupported("the CUDA " + ctx.node().opType + " takes an axis that is a constant");
  auto axis = ir::normalizeAxis(*axisValue, x.rank());
  if (!axis) return ctx.invalid(axis.status().message());
  int64_t outer = 1;
  int64_t inner = 1;
  for (int64_t d = 0; d < *axis; ++d) outer *= x.shape()[static_cast<size_t>(d)];
  for (int64_t d = *axis + 1; d < x.rank(); ++d) inner *= x.shape()[static_cast<size_t>(d)];
  LOWP_CUDA_RETURN_IF_ERROR_NODE(ctx, launchCumulative(kProduct, *type, x.data(), ctx.output(0).data(), outer,
                                                       x.shape()[static_cast<size_t>(*axis)], inner,
                                                       ctx.attrs().getInt("exclusive", 0) != 0,
                                                       ctx.attrs().getInt("reverse", 0) != 0, cuda->stream));
  return {};
}

bool supportsCumulative(const ir::Node& node, const std::vector<ir::Shape>& shapes) {
  return !shapes.empty() && shapes[0].rankKnown() && shapes[0].rank() > 0 && cumulativeAxis(node).has_value();
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
  const TypeSet axis = {DataType::kInt32, DataType::kInt64};
  for (DataType t :
       {DataType::kFloat32, DataType::kFloat16, DataType::kBFloat16, DataType::kInt32, DataType::kInt64}) {
    for (const auto& [op, fn] : {std::pair<std::string_view, KernelFn>{"CumSum", &cumulativeKernel<false>},
                                 std::pair<std::string_view, KernelFn>{"CumProd", &cumulativeKernel<true>}}) {
      registry.add({.opType = op,
                    .backend = Backend::kCuda,
                    .name = ownKernelName(t, op),
                    .inputTypes = {{t}, axis},
                    .outputTypes = {{t}},
                    .fn = fn,
                    .supports = &supportsCumulative,
                    .reference = false});
    }
  }
}

}  // namespace lowp::kernels::cuda
