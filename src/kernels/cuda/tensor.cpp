// CUDA kernels that move elements without reading their values (device code in tensor.cu), for every type
// stored in 1, 2, 4 or 8 bytes:
//   x-transpose-cuda   Transpose of rank <= 8 (after dropping dims of size 1 and merging dims that stay
//                      adjacent): a strided copy, tiled through shared memory when the last axis moves
//   x-slice-cuda       Slice with any starts, ends, axes and steps (negative included), read by the device
//                      from their int32 / int64 tensors, so that values computed while planning or at run
//                      time serve alike; the output's shape comes from the plan
//   x-gather-cuda      Gather along any axis, any element size, with int32 / int64 indices read by the
//                      device: indices known while planning are checked against the axis on the host (an
//                      error naming the node); indices computed at run time (token ids into an embedding)
//                      reach no host check, and one outside the axis gives zero bytes where the reference
//                      fails
//   x-concat-cuda      Concat along any axis: each input's rows copied into their place (launchCopyRows)
//                      [outer, own axis x inner] into its column band of the output's rows, any element size
//   x-expand-cuda      Expand: a strided copy that reads a broadcast dim at stride 0, the output's shape
//                      from the plan (the shape input need not be read)
//   x-split-cuda       Split along any axis, the inverse: each output one 2-D copy of its column band, the
//                      parts from the split input (a constant of the graph) or num_outputs
// Tests: tests/gpu/test_tensor.cpp.
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ir/ops/tensor_shapes.h"
#include "kernels/cuda/cuda_check.h"
#include "kernels/cuda/cuda_context.h"
#include "kernels/cuda/cuda_kernels.h"
#include "kernels/cuda/kernel_util.h"
#include "kernels/reference/common.h"
#include "kernels/reference/tensor_util.h"

namespace lowp::kernels::cuda {
namespace {

// The copy of output dims `sizes`, each read at input stride `strides` (0 where it broadcasts), with dims of
// size 1 dropped and neighbours that read as one dim merged; nullopt when more than kMaxCopyRank dims remain.
std::optional<StridedCopyPlan> mergedCopyPlan(const std::vector<int64_t>& sizes,
                                              const std::vector<int64_t>& strides) {
  StridedCopyPlan plan;
  for (size_t d = 0; d < sizes.size(); ++d) {
    if (sizes[d] == 1) continue;
    const int last = plan.rank - 1;
    if (last >= 0 && plan.inStrides[last] == strides[d] * sizes[d]) {  // two read runs, or two broadcasts
      plan.dims[last] *= sizes[d];
      plan.inStrides[last] = strides[d];
      continue;
    }
    if (plan.rank == kMaxCopyRank) return std::nullopt;
    plan.dims[plan.rank] = sizes[d];
    plan.inStrides[plan.rank] = strides[d];
    ++plan.rank;
  }
  return plan;
}

// The output dims and input strides of a Transpose of `in` by `perm` (mergedCopyPlan).
std::optional<StridedCopyPlan> transposePlan(const std::vector<int64_t>& in,
                                             const std::vector<int64_t>& perm) {
  const std::vector<int64_t> inStrides = ref::contiguousStrides(in);
  std::vector<int64_t> sizes;
  std::vector<int64_t> strides;
  sizes.reserve(perm.size());
  strides.reserve(perm.size());
  for (int64_t p : perm) {
    sizes.push_back(in[static_cast<size_t>(p)]);
    strides.push_back(inStrides[static_cast<size_t>(p)]);
  }
  return mergedCopyPlan(sizes, strides);
}

std::optional<std::vector<int64_t>> permOf(const ir::AttributeMap& attrs, int64_t rank) {
  std::optional<std::vector<int64_t>> given;
  if (attrs.has("perm")) given = attrs.getInts("perm");
  auto perm = ir::ops::transposePerm(rank, given);
  if (!perm) return std::nullopt;
  return *perm;
}

Status transposeKernel(KernelContext& ctx) {
  LOWP_ASSIGN_OR_RETURN(CudaContext * cuda, requireCuda(ctx));
  const Tensor& x = ctx.input(0);
  Tensor& y = ctx.output(0);
  const int bytes = wordBytes(x.type());
  if (bytes == 0) return ctx.unsupported("no CUDA Transpose of " + x.describe());
  if (y.type() != x.type() || y.elementCount() != x.elementCount())
    return ctx.invalid("output " + y.describe() + " does not hold the elements of " + x.describe());
  const auto perm = permOf(ctx.attrs(), x.rank());
  if (!perm) return ctx.invalid("perm is not a permutation of X's " + std::to_string(x.rank()) + " axes");
  const auto plan = transposePlan(x.shape(), *perm);
  if (!plan)
    return ctx.unsupported("a Transpose of more than " + std::to_string(kMaxCopyRank) + " moving dims");
  if (x.elementCount() == 0) return {};
  LOWP_CUDA_RETURN_IF_ERROR_NODE(ctx, launchStridedCopy(bytes, x.data(), y.data(), *plan, cuda->stream));
  return {};
}

bool staticShape(const ir::Shape& s) {
  if (!s.rankKnown()) return false;
  for (int64_t d = 0; d < s.rank(); ++d) {
    if (!s[d].isKnown()) return false;
  }
  return true;
}

bool supportsTranspose(const ir::Node& node, const std::vector<ir::Shape>& shapes) {
  if (shapes.empty() || !staticShape(shapes[0])) return false;
  const auto perm = permOf(node.attributes, shapes[0].rank());
  return perm.has_value() && transposePlan(shapes[0].sizes(), *perm).has_value();
}

Status sliceKernel(KernelContext& ctx) {
  LOWP_ASSIGN_OR_RETURN(CudaContext * cuda, requireCuda(ctx));
  const Tensor& x = ctx.input(0);
  Tensor& y = ctx.output(0);
  const int bytes = wordBytes(x.type());
  if (bytes == 0) return ctx.unsupported("no CUDA Slice of " + x.describe());
  if (y.type() != x.type() || y.rank() != x.rank())
    return ctx.invalid("output " + y.describe() + " is not a slice of " + x.describe());
  if (x.rank() < 1 || x.rank() > kMaxCopyRank)
    return ctx.unsupported("no CUDA Slice of rank " + std::to_string(x.rank()));
  if (!ctx.hasInput(1) || !ctx.hasInput(2)) return ctx.invalid("starts and ends are required");
  const int64_t count = ctx.input(1).elementCount();
  SliceParams p;
  p.rank = static_cast<int>(x.rank());
  p.count = count;
  for (size_t d = 0; d < x.shape().size(); ++d) {
    p.inDims[d] = x.shape()[d];
    p.outDims[d] = y.shape()[d];
  }
  const void** pointers[] = {&p.starts, nullptr, &p.axes, &p.steps};
  bool* is64[] = {&p.startsAre64, nullptr, &p.axesAre64, &p.stepsAre64};
  for (size_t slot = 1; slot <= 4; ++slot) {
    if (!ctx.hasInput(slot)) continue;
    const Tensor& t = ctx.input(slot);
    if (t.type() != DataType::kInt64 && t.type() != DataType::kInt32)
      return ctx.invalid("input " + std::to_string(slot) + " " + t.describe() + " is not int32 or int64");
    if (t.elementCount() != count)
      return ctx.invalid("starts, ends, axes and steps differ in length (" + t.describe() + ")");
    if (pointers[slot - 1] == nullptr) continue;  // ends: the output's shape says where the slice stops
    *pointers[slot - 1] = t.data();
    *is64[slot - 1] = t.type() == DataType::kInt64;
  }
  if (count > x.rank()) return ctx.invalid("more starts than X has axes");
  if (y.elementCount() == 0) return {};
  LOWP_CUDA_RETURN_IF_ERROR_NODE(ctx, launchSlice(bytes, x.data(), y.data(), p, cuda->stream));
  return {};
}

bool supportsSlice(const ir::Node& node, const std::vector<ir::Shape>& shapes) {
  // Opset 1 gives starts and ends as attributes.
  return node.opsetVersion >= 10 && !shapes.empty() && shapes[0].rankKnown() && shapes[0].rank() >= 1 &&
         shapes[0].rank() <= kMaxCopyRank;
}

Status gatherKernel(KernelContext& ctx) {
  LOWP_ASSIGN_OR_RETURN(CudaContext * cuda, requireCuda(ctx));
  const Tensor& x = ctx.input(0);
  const Tensor& indices = ctx.input(1);
  Tensor& y = ctx.output(0);
  if (y.type() != x.type())
    return ctx.invalid("output " + y.describe() + " differs in type from " + x.describe());
  const int64_t rank = x.rank();
  int64_t axis = ctx.attrs().getInt("axis", 0);
  if (axis < -rank || axis >= rank)
    return ctx.invalid("axis " + std::to_string(axis) + " is outside X's " + std::to_string(rank) + " axes");
  if (axis < 0) axis += rank;
  const int64_t size = x.shape()[static_cast<size_t>(axis)];
  // Indices known while planning (a constant, or values folded from shapes) are checked here.
  const Tensor* known = ctx.hostInput(1);
  for (int64_t index : known != nullptr ? ref::tensor::readInts(*known) : std::vector<int64_t>{}) {
    if (index < -size || index >= size)
      return ctx.invalid("index " + std::to_string(index) + " is outside axis " + std::to_string(axis) +
                         " of " + x.describe());
  }
  int64_t outer = 1;
  int64_t inner = 1;
  for (int64_t d = 0; d < axis; ++d) outer *= x.shape()[static_cast<size_t>(d)];
  for (int64_t d = axis + 1; d < rank; ++d) inner *= x.shape()[static_cast<size_t>(d)];
  const int64_t count = indices.elementCount();
  if (y.elementCount() != outer * count * inner)
    return ctx.invalid("output " + y.describe() + " does not hold the gathered elements of " + x.describe());
  if (y.elementCount() == 0) return {};
  const int64_t innerBytes = inner * ir::dataTypeInfo(x.type()).storageBytes;
  LOWP_CUDA_RETURN_IF_ERROR_NODE(ctx,
                                 launchGather(innerBytes, x.data(), y.data(), outer, size, indices.data(),
                                              indices.type() == DataType::kInt64, count, cuda->stream));
  return {};
}

bool supportsGather(const ir::Node& node, const std::vector<ir::Shape>& shapes) {
  return !shapes.empty() && shapes[0].rankKnown();
}

Status concatKernel(KernelContext& ctx) {
  LOWP_ASSIGN_OR_RETURN(CudaContext * cuda, requireCuda(ctx));
  Tensor& y = ctx.output(0);
  std::vector<ir::Shape> shapes;
  for (size_t i = 0; i < ctx.inputCount(); ++i) {
    if (!ctx.hasInput(i)) return ctx.invalid("input " + std::to_string(i) + " is missing");
    if (ctx.input(i).type() != y.type())
      return ctx.invalid("input " + std::to_string(i) + " " + ctx.input(i).describe() +
                         " is not of the output's type " + std::string(dataTypeName(y.type())));
    shapes.push_back(ir::Shape::fromSizes(ctx.input(i).shape()));
  }
  const int64_t axisAttr = ctx.attrs().getInt("axis", 0);
  auto shape = ir::ops::concatShape(shapes, axisAttr);
  if (!shape) return ctx.invalid(shape.status().message());
  if (shape->sizes() != y.shape())
    return ctx.invalid("output " + y.describe() + " is not the concatenation's " +
                       ir::formatSizes(shape->sizes()));
  const auto axis = static_cast<size_t>(ir::normalizeAxis(axisAttr, y.rank()).value());
  int64_t outer = 1;
  int64_t inner = ir::dataTypeInfo(y.type()).storageBytes;  // bytes of one step along the axis
  for (size_t d = 0; d < axis; ++d) outer *= y.shape()[d];
  for (size_t d = axis + 1; d < y.shape().size(); ++d) inner *= y.shape()[d];
  const int64_t outRow = y.shape()[axis] * inner;
  auto* out = static_cast<std::byte*>(y.data());
  for (size_t i = 0; i < ctx.inputCount(); ++i) {
    const Tensor& x = ctx.input(i);
    const int64_t row = x.shape()[axis] * inner;
    if (row > 0 && outer > 0) {
      LOWP_CUDA_RETURN_IF_ERROR_NODE(ctx,
                                     launchCopyRows(x.data(), row, out, outRow, outer, row, cuda->stream));
    }
    out += row;
  }
  return {};
}

bool supportsConcat(const ir::Node& node, const std::vector<ir::Shape>& shapes) {
  if (shapes.empty() || !node.attributes.has("axis")) return false;
  for (const ir::Shape& s : shapes) {
    if (!s.rankKnown()) return false;
  }
  return ir::ops::concatShape(shapes, node.attributes.getInt("axis", 0)).isOk();
}

// The copy that broadcasts `x` to `y` (NumPy rules, x aligned right): mergedCopyPlan with stride 0 along
// the dims x repeats; nullopt when x does not broadcast to y.
std::optional<StridedCopyPlan> expandPlan(const std::vector<int64_t>& x, const std::vector<int64_t>& y) {
  if (x.size() > y.size()) return std::nullopt;
  const std::vector<int64_t> in = alignedTo(x, y.size());
  std::vector<int64_t> strides = ref::contiguousStrides(in);
  for (size_t d = 0; d < y.size(); ++d) {
    if (in[d] != y[d] && in[d] != 1) return std::nullopt;
    if (in[d] == 1) strides[d] = 0;
  }
  return mergedCopyPlan(y, strides);
}

Status expandKernel(KernelContext& ctx) {
  LOWP_ASSIGN_OR_RETURN(CudaContext * cuda, requireCuda(ctx));
  const Tensor& x = ctx.input(0);
  Tensor& y = ctx.output(0);
  const int bytes = wordBytes(x.type());
  if (bytes == 0 || y.type() != x.type())
    return ctx.unsupported("no CUDA Expand of " + x.describe() + " to " + y.describe());
  const auto plan = expandPlan(x.shape(), y.shape());
  if (!plan)
    return ctx.invalid("input " + x.describe() + " does not broadcast to the output " + y.describe());
  if (y.elementCount() == 0) return {};
  LOWP_CUDA_RETURN_IF_ERROR_NODE(ctx, launchStridedCopy(bytes, x.data(), y.data(), *plan, cuda->stream));
  return {};
}

bool supportsExpand(const ir::Node& node, const std::vector<ir::Shape>& shapes) {
  if (shapes.empty() || !staticShape(shapes[0]) || node.outputs.empty() || node.outputs[0] == nullptr ||
      !staticShape(node.outputs[0]->shape))
    return false;
  return expandPlan(shapes[0].sizes(), node.outputs[0]->shape.sizes()).has_value();
}

// The split input of a Split node, when it has one that is a constant of the graph (nullopt inside when it
// has none); nullopt when it is computed at run time.
std::optional<std::optional<std::vector<int64_t>>> constantSplit(const ir::Node& node) {
  const ir::Value* v = node.input(1);
  if (v == nullptr) return std::optional<std::vector<int64_t>>{};
  if (!v->constant) return std::nullopt;
  return std::optional<std::vector<int64_t>>{ref::tensor::readInts(*v->constant)};
}

Status splitKernel(KernelContext& ctx) {
  LOWP_ASSIGN_OR_RETURN(CudaContext * cuda, requireCuda(ctx));
  const Tensor& x = ctx.input(0);
  auto axis = ir::normalizeAxis(ctx.attrs().getInt("axis", 0), x.rank());
  if (!axis) return ctx.invalid(axis.status().message());
  const auto a = static_cast<size_t>(*axis);
  const auto split = constantSplit(ctx.node());
  if (!split) return ctx.unsupported("CUDA Split takes a split that is a constant of the model");
  auto sizes = ir::ops::splitSizes(ir::Dim(x.shape()[a]), *split, static_cast<int64_t>(ctx.outputCount()),
                                   ctx.attrs().has("num_outputs"));
  if (!sizes) return ctx.invalid(sizes.status().message());
  int64_t outer = 1;
  int64_t inner = ir::dataTypeInfo(x.type()).storageBytes;  // bytes of one step along the axis
  for (size_t d = 0; d < a; ++d) outer *= x.shape()[d];
  for (size_t d = a + 1; d < x.shape().size(); ++d) inner *= x.shape()[d];
  const int64_t inRow = x.shape()[a] * inner;
  const auto* in = static_cast<const std::byte*>(x.data());
  for (size_t i = 0; i < ctx.outputCount(); ++i) {
    const int64_t row = (*sizes)[i].size * inner;
    if (ctx.hasOutput(i)) {
      Tensor& y = ctx.output(i);
      std::vector<int64_t> shape = x.shape();
      shape[a] = (*sizes)[i].size;
      if (y.type() != x.type() || y.shape() != shape)
        return ctx.invalid("output " + std::to_string(i) + " " + y.describe() + " is not part " +
                           std::to_string(i) + " " + ir::formatSizes(shape) + " of " + x.describe());
      if (row > 0 && outer > 0) {
        LOWP_CUDA_RETURN_IF_ERROR_NODE(
            ctx, cudaMemcpy2DAsync(y.data(), static_cast<size_t>(row), in, static_cast<size_t>(inRow),
                                   static_cast<size_t>(row), static_cast<size_t>(outer),
                                   cudaMemcpyDeviceToDevice, cuda->stream));
      }
    }
    in += row;
  }
  return {};
}

bool supportsSplit(const ir::Node& node, const std::vector<ir::Shape>& shapes) {
  if (shapes.empty() || !staticShape(shapes[0])) return false;
  const auto split = constantSplit(node);
  const auto axis = ir::normalizeAxis(node.attributes.getInt("axis", 0), shapes[0].rank());
  return split && axis.isOk() &&
         ir::ops::splitSizes(shapes[0][*axis], *split, static_cast<int64_t>(node.outputs.size()),
                             node.attributes.has("num_outputs"))
             .isOk();
}

}  // namespace

void registerTensorKernels(KernelRegistry& registry) {
  const TypeSet any = movableTypes();
  const TypeSet index = {DataType::kInt32, DataType::kInt64};
  const TypeSet int64 = {DataType::kInt64};
  struct Entry {
    std::string_view op, name;
    std::vector<TypeSet> inputs;
    KernelFn fn;
    SupportsFn supports;
  };
  const Entry entries[] = {
      {"Transpose", "x-transpose-cuda", {any}, &transposeKernel, &supportsTranspose},
      {"Gather", "x-gather-cuda", {any, index}, &gatherKernel, &supportsGather},
      {"Concat", "x-concat-cuda", {any}, &concatKernel, &supportsConcat},
      {"Expand", "x-expand-cuda", {any, int64}, &expandKernel, &supportsExpand},
      {"Split", "x-split-cuda", {any, int64}, &splitKernel, &supportsSplit},
      {"Slice", "x-slice-cuda", {any, index}, &sliceKernel, &supportsSlice},
  };
  for (const Entry& e : entries) {
    registry.add({.opType = e.op,
                  .backend = Backend::kCuda,
                  .name = e.name,
                  .inputTypes = e.inputs,
                  .outputTypes = {any},
                  .fn = e.fn,
                  .supports = e.supports,
                  .reference = false});
  }
}

}  // namespace lowp::kernels::cuda
