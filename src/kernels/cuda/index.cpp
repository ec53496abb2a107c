// CUDA kernels of ops that pick elements by index (device code in index.cu):
//   {f32,f16,bf16,i32,i64}-argmax-cuda, -argmin-cuda
//                          ArgMax / ArgMin along any axis, keepdims and select_last_index, to int64 indices
//                          identical to the reference kernel's (NaN beats every number, ties go to the first
//                          or, with select_last_index, the last index)
//   {f32,f16,bf16,i32,i64}-topk-cuda
//                          TopK along any axis with a constant k: values and int64 indices identical to the
//                          reference kernel's (always sorted; NaN ranks first when largest, last otherwise;
//                          ties by lower index)
//   x-gatherelements-cuda  GatherElements along any axis (rank <= 8), int32 or int64 indices that may be
//                          computed at run time, every type stored in 1, 2, 4 or 8 bytes. Where the indices
//                          are a constant of the graph they are checked on the host, as the reference kernel
//                          checks them: an index outside [-size, size) of the axis is an error naming the
//                          node (and `supports` declines the node). Indices computed at run time cannot be
//                          checked without waiting for the device: there an out-of-range index gives an
//                          element of zero bytes where the reference kernel fails.
//   x-trilu-cuda           Trilu (upper or lower) over the last two dims of any rank >= 2, every type stored
//                          in 1, 2, 4 or 8 bytes; k (input 1) a constant of the graph, read on the host, or
//                          computed at run time, read by the device.
// Tests: tests/gpu/test_index.cpp.
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "kernels/cuda/cuda_check.h"
#include "kernels/cuda/cuda_context.h"
#include "kernels/cuda/cuda_kernels.h"
#include "kernels/cuda/kernel_util.h"
#include "kernels/reference/tensor_util.h"

namespace lowp::kernels::cuda {
namespace {

// ---- ArgMax / ArgMin

template <bool kMax>
Status argExtremumKernel(KernelContext& ctx) {
  LOWP_ASSIGN_OR_RETURN(CudaContext * cuda, requireCuda(ctx));
  const Tensor& x = ctx.input(0);
  Tensor& y = ctx.output(0);
  const std::optional<ValueType> type = valueTypeOf(x.type());
  if (!type || *type == ValueType::kI8 || *type == ValueType::kU8 || *type == ValueType::kBool)
    return ctx.unsupported("no CUDA " + std::string(kMax ? "ArgMax" : "ArgMin") + " of " + x.describe());
  auto axis = ir::normalizeAxis(ctx.attrs().getInt("axis", 0), x.rank());
  if (!axis) return ctx.invalid(axis.status().message());
  const bool keepdims = ctx.attrs().getInt("keepdims", 1) != 0;
  const bool selectLast = ctx.attrs().getInt("select_last_index", 0) != 0;
  // x as [outer, n, inner] around the axis.
  std::vector<int64_t> shape;
  int64_t outer = 1;
  int64_t inner = 1;
  const auto a = static_cast<size_t>(*axis);
  for (size_t d = 0; d < x.shape().size(); ++d) {
    if (d != a) shape.push_back(x.shape()[d]);
    if (d == a && keepdims) shape.push_back(1);
    if (d < a) outer *= x.shape()[d];
    if (d > a) inner *= x.shape()[d];
  }
  const int64_t n = x.shape()[a];
  if (y.type() != DataType::kInt64 || y.shape() != shape)
    return ctx.invalid("output " + y.describe() + " is not the int64 " + ir::formatSizes(shape) +
                       " the reduction of " + x.describe() + " along axis " + std::to_string(*axis) +
                       " gives");
  if (y.elementCount() == 0) return {};
  if (n == 0) return ctx.invalid("cannot take the index of an extremum over an axis of size 0");
  LOWP_CUDA_RETURN_IF_ERROR_NODE(ctx, launchArgExtremum(kMax, *type, x.data(), y.data<int64_t>(), outer, n,
                                                        inner, selectLast, cuda->stream));
  return {};
}

bool supportsArgExtremum(const ir::Node& node, const std::vector<ir::Shape>& shapes) {
  return !shapes.empty() && shapes[0].rankKnown() &&
         ir::normalizeAxis(node.attributes.getInt("axis", 0), shapes[0].rank()).isOk();
}

// ---- TopK

// TopK's k: input 1, a constant of the graph (opset 10 on), or the attribute (opset 1); nullopt when k is
// computed at run time.
std::optional<int64_t> topKCount(const ir::Node& node) {
  if (node.inputs.size() < 2) return node.attributes.getInt("k", -1);
  const std::optional<std::vector<int64_t>> k = constantInts(node, 1);
  if (!k || k->size() != 1) return std::nullopt;
  return k->front();
}

Status topKKernel(KernelContext& ctx) {
  LOWP_ASSIGN_OR_RETURN(CudaContext * cuda, requireCuda(ctx));
  const Tensor& x = ctx.input(0);
  const std::optional<ValueType> type = valueTypeOf(x.type());
  if (!type || *type == ValueType::kI8 || *type == ValueType::kU8 || *type == ValueType::kBool)
    return ctx.unsupported("no CUDA TopK of " + x.describe());
  const std::optional<int64_t> k = topKCount(ctx.node());
  if (!k) return ctx.unsupported("the CUDA TopK takes a k that is a constant");
  auto axis = ir::normalizeAxis(ctx.attrs().getInt("axis", -1), x.rank());
  if (!axis) return ctx.invalid(axis.status().message());
  const auto a = static_cast<size_t>(*axis);
  const int64_t n = x.shape()[a];
  if (*k < 0 || *k > n)
    return ctx.invalid("k = " + std::to_string(*k) + " is outside [0, " + std::to_string(n) +
                       "], the size of axis " + std::to_string(*axis));
  std::vector<int64_t> shape = x.shape();
  shape[a] = *k;
  if (!ctx.hasOutput(0) || !ctx.hasOutput(1)) return ctx.unsupported("a TopK without both its outputs");
  Tensor& values = ctx.output(0);
  Tensor& indices = ctx.output(1);
  if (values.type() != x.type() || values.shape() != shape || indices.type() != DataType::kInt64 ||
      indices.shape() != shape)
    return ctx.invalid("outputs " + values.describe() + " and " + indices.describe() + " are not the " +
                       ir::formatSizes(shape) + " top " + std::to_string(*k) + " of " + x.describe());
  int64_t outer = 1;
  int64_t inner = 1;
  for (size_t d = 0; d < a; ++d) outer *= x.shape()[d];
  for (size_t d = a + 1; d < x.shape().size(); ++d) inner *= x.shape()[d];
  LOWP_CUDA_RETURN_IF_ERROR_NODE(
      ctx, launchTopK(*type, x.data(), values.data(), indices.data<int64_t>(), outer, n, inner, *k,
                      ctx.attrs().getInt("largest", 1) != 0, cuda->stream));
  return {};
}

bool supportsTopK(const ir::Node& node, const std::vector<ir::Shape>& shapes) {
  return !shapes.empty() && shapes[0].rankKnown() && topKCount(node).has_value() &&
         node.outputs.size() == 2 && node.outputs[0] != nullptr && node.outputs[1] != nullptr;
}

// ---- GatherElements

// What a GatherElements kernel keeps between runs: the axis size its constant indices were checked against
// (-1 before the first check), so that a large constant is read once, not on every run.
struct CheckedIndices {
  int64_t axisSize = -1;
};

Status gatherElementsKernel(KernelContext& ctx) {
  LOWP_ASSIGN_OR_RETURN(CudaContext * cuda, requireCuda(ctx));
  const Tensor& data = ctx.input(0);
  const Tensor& indices = ctx.input(1);
  Tensor& y = ctx.output(0);
  const int bytes = wordBytes(data.type());
  if (bytes == 0) return ctx.unsupported("no CUDA GatherElements of " + data.describe());
  if (indices.type() != DataType::kInt64 && indices.type() != DataType::kInt32)
    return ctx.invalid("indices " + indices.describe() + " are not int32 or int64");
  if (y.type() != data.type() || y.shape() != indices.shape())
    return ctx.invalid("output " + y.describe() + " is not " + indices.describe() + "'s shape in " +
                       data.describe() + "'s type");
  const int64_t rank = data.rank();
  if (indices.rank() != rank)
    return ctx.invalid("indices " + indices.describe() + " and data " + data.describe() +
                       " must have the same rank");
  if (rank > kMaxCopyRank)
    return ctx.unsupported("no CUDA GatherElements of rank " + std::to_string(rank) + " (at most " +
                           std::to_string(kMaxCopyRank) + ")");
  auto axis = ir::normalizeAxis(ctx.attrs().getInt("axis", 0), rank);
  if (!axis) return ctx.invalid(axis.status().message());
  const auto a = static_cast<size_t>(*axis);
  for (size_t d = 0; d < data.shape().size(); ++d) {
    if (d != a && indices.shape()[d] > data.shape()[d])
      return ctx.invalid("indices " + indices.describe() + " exceed data " + data.describe() + " on dim " +
                         std::to_string(d));
  }
  const int64_t axisSize = data.shape()[a];
  if (isConstantInput(ctx, 1)) {
    auto checked = std::static_pointer_cast<CheckedIndices>(ctx.state());
    if (!checked) {
      checked = std::make_shared<CheckedIndices>();
      ctx.state() = checked;
    }
    if (checked->axisSize != axisSize) {
      if (const auto bad = firstOutOfRange(*constantInts(ctx.node(), 1), axisSize))
        return ctx.invalid("index " + std::to_string(*bad) + " is outside axis " + std::to_string(a) +
                           " of " + data.describe());
      checked->axisSize = axisSize;
    }
  }
  if (y.elementCount() == 0) return {};
  const GatherElementsPlan plan = gatherElementsPlan(data.shape(), indices.shape(), static_cast<int>(a));
  LOWP_CUDA_RETURN_IF_ERROR_NODE(
      ctx, launchGatherElements(bytes, data.data(), indices.data(), indices.type() == DataType::kInt64,
                                y.data(), plan, cuda->stream));
  return {};
}

bool supportsGatherElements(const ir::Node& node, const std::vector<ir::Shape>& shapes) {
  if (shapes.empty() || !shapes[0].rankKnown() || shapes[0].rank() > kMaxCopyRank) return false;
  auto axis = ir::normalizeAxis(node.attributes.getInt("axis", 0), shapes[0].rank());
  if (!axis) return false;
  const ir::Dim& size = shapes[0][*axis];
  const auto indices = constantInts(node, 1);
  return !indices || !size.isKnown() || !firstOutOfRange(*indices, size.size).has_value();
}

// ---- Trilu

Status triluKernel(KernelContext& ctx) {
  LOWP_ASSIGN_OR_RETURN(CudaContext * cuda, requireCuda(ctx));
  const Tensor& x = ctx.input(0);
  Tensor& y = ctx.output(0);
  const int bytes = wordBytes(x.type());
  if (bytes == 0) return ctx.unsupported("no CUDA Trilu of " + x.describe());
  if (x.rank() < 2) return ctx.invalid("the input must have rank >= 2, not " + x.describe());
  if (y.type() != x.type() || y.shape() != x.shape())
    return ctx.invalid("output " + y.describe() + " is not of " + x.describe() + "'s type and shape");
  int64_t k = 0;
  const int64_t* kDevice = nullptr;
  if (ctx.hasInput(1)) {
    const Tensor& kTensor = ctx.input(1);
    if (kTensor.type() != DataType::kInt64 || kTensor.elementCount() != 1)
      return ctx.invalid("k " + kTensor.describe() + " must be one int64");
    if (const auto known = constantInts(ctx.node(), 1)) {
      k = known->front();
    } else {
      kDevice = kTensor.data<int64_t>();
    }
  }
  const auto rank = static_cast<size_t>(x.rank());
  const int64_t rows = x.shape()[rank - 2];
  const int64_t cols = x.shape()[rank - 1];
  if (x.elementCount() == 0) return {};
  const int64_t matrices = x.elementCount() / (rows * cols);
  const bool upper = ctx.attrs().getInt("upper", 1) != 0;
  LOWP_CUDA_RETURN_IF_ERROR_NODE(
      ctx, launchTrilu(bytes, x.data(), y.data(), matrices, rows, cols, upper, k, kDevice, cuda->stream));
  return {};
}

bool supportsTrilu(const ir::Node& /*node*/, const std::vector<ir::Shape>& shapes) {
  return !shapes.empty() && shapes[0].rankKnown() && shapes[0].rank() >= 2;
}

}  // namespace

void registerIndexKernels(KernelRegistry& registry) {
  const TypeSet int64 = {DataType::kInt64};
  struct Entry {
    std::string_view op;
    KernelFn fn;
  };
  const Entry entries[] = {{"ArgMax", &argExtremumKernel<true>}, {"ArgMin", &argExtremumKernel<false>}};
  for (const Entry& e : entries) {
    for (DataType t :
         {DataType::kFloat32, DataType::kFloat16, DataType::kBFloat16, DataType::kInt32, DataType::kInt64}) {
      const TypeSet types = {t};
      registry.add({.opType = e.op,
                    .backend = Backend::kCuda,
                    .name = ownKernelName(t, e.op),
                    .inputTypes = {types},
                    .outputTypes = {int64},
                    .fn = e.fn,
                    .supports = &supportsArgExtremum,
                    .reference = false});
    }
  }
  for (DataType t :
       {DataType::kFloat32, DataType::kFloat16, DataType::kBFloat16, DataType::kInt32, DataType::kInt64}) {
    registry.add({.opType = "TopK",
                  .backend = Backend::kCuda,
                  .name = ownKernelName(t, "TopK"),
                  .inputTypes = {{t}, int64},
                  .outputTypes = {{t}, int64},
                  .fn = &topKKernel,
                  .supports = &supportsTopK,
                  .reference = false});
  }
  const TypeSet any = movableTypes();
  const TypeSet index = {DataType::kInt32, DataType::kInt64};
  registry.add({.opType = "GatherElements",
                .backend = Backend::kCuda,
                .name = "x-gatherelements-cuda",
                .inputTypes = {any, index},
                .outputTypes = {any},
                .fn = &gatherElementsKernel,
                .supports = &supportsGatherElements,
                .reference = false});
  registry.add({.opType = "Trilu",
                .backend = Backend::kCuda,
                .name = "x-trilu-cuda",
                .inputTypes = {any, int64},
                .outputTypes = {any},
                .fn = &triluKernel,
                .supports = &supportsTrilu,
                .reference = false});
}

}  // namespace lowp::kernels::cuda
