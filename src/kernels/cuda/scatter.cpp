// CUDA kernels of the ops that write or read a tensor at index rows, and OneHot (device code in scatter.cu):
//   x-scatterelements-cuda  ScatterElements (opset 11-18) along any axis (rank <= 8), int32 or int64 indices,
//                           negative ones counted from the end
//   x-scatter-cuda          the same for the old Scatter (opset 9-10)
//   x-scatternd-cuda        ScatterND (opset 11-18), int64 index rows of up to 8 indices
//                           The three: reduction "none" for every type stored in 1, 2, 4 or 8 bytes; "add",
//                           "mul", "max" and "min" for fp32, fp16, bf16, int8, uint8, int32 and int64 (other
//                           types are declined). The result is the reference kernel's bit for bit, duplicate
//                           indices included: updates of one target apply in the order of the indices, each
//                           rounded to the element type (scatter.cu). Output 0 may take data's memory.
//   x-gathernd-cuda         GatherND with batch_dims, int64 index rows of up to 8 indices
//   x-onehot-cuda           OneHot along any axis: int32 or int64 indices read by the device, depth read on
//                           the host and so known while planning (a node whose depth is computed at run time
//                           is declined), values [off, on] of any type stored in 1, 2, 4 or 8 bytes. Negative
//                           indices count from the end of depth; one outside [-depth, depth) gives a row of
//                           "off", as ONNX defines it.
// Indices known while planning (a constant, or values folded from shapes: ctx.hostInput) are checked on the
// host as the reference kernels check them: one outside its dim is an error naming the node, and `supports`
// declines a node whose constant indices are out of range. Indices computed at run time cannot be checked
// without waiting for the device: there an out-of-range index drops its update (scatter) or gives zero bytes
// (GatherND) where the reference kernel fails.
// Tests: tests/gpu/test_scatter.cpp.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ir/ops/tensor_shapes.h"
#include "kernels/cuda/cuda_check.h"
#include "kernels/cuda/cuda_context.h"
#include "kernels/cuda/cuda_kernels.h"
#include "kernels/cuda/kernel_util.h"
#include "kernels/reference/tensor_util.h"

namespace lowp::kernels::cuda {
namespace {

using ref::tensor::product;
using ref::tensor::readInts;

// ---- Reductions

std::optional<ScatterReduction> reductionOf(const std::string& name) {
  if (name == "none") return ScatterReduction::kNone;
  if (name == "add") return ScatterReduction::kAdd;
  if (name == "mul") return ScatterReduction::kMul;
  if (name == "max") return ScatterReduction::kMax;
  if (name == "min") return ScatterReduction::kMin;
  return std::nullopt;
}

// The ValueType a reduction other than "none" computes on `type` in; nullopt where it has none here.
std::optional<ValueType> reducedType(DataType type) {
  const std::optional<ValueType> t = valueTypeOf(type);
  if (!t || *t == ValueType::kBool) return std::nullopt;
  return t;
}

// Whether the kernel handles the node's reduction on its data's type.
bool supportsReduction(const ir::Node& node) {
  const std::optional<ScatterReduction> r = reductionOf(node.attributes.getString("reduction", "none"));
  if (!r) return false;
  const ir::Value* data = node.input(0);
  if (data == nullptr) return false;
  return *r == ScatterReduction::kNone ? wordBytes(data->type) != 0 : reducedType(data->type).has_value();
}

// What a scatter kernel keeps between runs: the device scratch of its targets and their sort.
struct ScatterState {
  DeviceBuffer scratch;
  size_t bytes = 0;
};

// Scratch for `rows` update rows, allocated on the first run (and again when a larger one is needed): the
// state that holds it.
Result<const ScatterState*> scatterScratch(KernelContext& ctx, int64_t rows) {
  auto state = std::static_pointer_cast<ScatterState>(ctx.state());
  if (!state) {
    state = std::make_shared<ScatterState>();
    ctx.state() = state;
  }
  const size_t bytes = scatterScratchBytes(rows);
  if (state->bytes < bytes) {
    if (state->scratch.data != nullptr) {
      LOWP_CUDA_RETURN_IF_ERROR_NODE(ctx, cudaFree(state->scratch.data));
      state->scratch.data = nullptr;
      state->bytes = 0;
    }
    LOWP_CUDA_RETURN_IF_ERROR_NODE(ctx, cudaMalloc(&state->scratch.data, bytes));
    state->bytes = bytes;
  }
  return state.get();
}

// The reduction of a scatter kernel's node and the ValueType it computes in (unused for "none"), or the
// reason the kernel cannot run it.
struct ScatterElements {
  ScatterReduction reduction = ScatterReduction::kNone;
  ValueType type = ValueType::kF32;
  int bytes = 0;
};

Result<ScatterElements> scatterElementsOf(const KernelContext& ctx, const Tensor& data) {
  const std::string name = ctx.attrs().getString("reduction", "none");
  const std::optional<ScatterReduction> reduction = reductionOf(name);
  if (!reduction) return ctx.invalid("unknown reduction '" + name + "'");
  ScatterElements e;
  e.reduction = *reduction;
  e.bytes = wordBytes(data.type());
  if (*reduction != ScatterReduction::kNone) {
    const std::optional<ValueType> type = reducedType(data.type());
    if (!type)
      return ctx.unsupported("no CUDA " + ctx.node().opType + " with reduction '" + name + "' of " +
                             data.describe());
    e.type = *type;
  }
  if (e.bytes == 0) return ctx.unsupported("no CUDA " + ctx.node().opType + " of " + data.describe());
  return e;
}

// ---- ScatterElements, Scatter

Status scatterElementsKernel(KernelContext& ctx) {
  LOWP_ASSIGN_OR_RETURN(CudaContext * cuda, requireCuda(ctx));
  const Tensor& data = ctx.input(0);
  const Tensor& indices = ctx.input(1);
  const Tensor& updates = ctx.input(2);
  Tensor& y = ctx.output(0);
  LOWP_ASSIGN_OR_RETURN(const ScatterElements e, scatterElementsOf(ctx, data));
  if (indices.type() != DataType::kInt64 && indices.type() != DataType::kInt32)
    return ctx.invalid("indices " + indices.describe() + " are not int32 or int64");
  if (updates.type() != data.type() || updates.shape() != indices.shape())
    return ctx.invalid("updates " + updates.describe() + " are not " + indices.describe() + "'s shape in " +
                       data.describe() + "'s type");
  if (y.type() != data.type() || y.shape() != data.shape())
    return ctx.invalid("output " + y.describe() + " is not of " + data.describe() + "'s type and shape");
  const int64_t rank = data.rank();
  if (indices.rank() != rank)
    return ctx.invalid("indices " + indices.describe() + " and data " + data.describe() +
                       " must have the same rank");
  auto axis = ir::normalizeAxis(ctx.attrs().getInt("axis", 0), rank);
  if (!axis) return ctx.invalid(axis.status().message());
  if (rank > kMaxCopyRank)
    return ctx.unsupported("no CUDA " + ctx.node().opType + " of rank " + std::to_string(rank) +
                           " (at most " + std::to_string(kMaxCopyRank) + ")");
  const auto a = static_cast<size_t>(*axis);
  for (size_t d = 0; d < data.shape().size(); ++d) {
    if (d != a && indices.shape()[d] > data.shape()[d])
      return ctx.invalid("indices " + indices.describe() + " exceed data " + data.describe() + " on dim " +
                         std::to_string(d));
  }
  const int64_t axisSize = data.shape()[a];
  if (const Tensor* known = ctx.hostInput(1)) {
    if (const auto bad = firstOutOfRange(readInts(*known), axisSize))
      return ctx.invalid("index " + std::to_string(*bad) + " is outside axis " + std::to_string(a) + " of " +
                         data.describe());
  }
  if (y.elementCount() == 0) return {};
  const GatherElementsPlan plan = gatherElementsPlan(data.shape(), indices.shape(), static_cast<int>(a));
  LOWP_ASSIGN_OR_RETURN(const ScatterState* scratch, scatterScratch(ctx, indices.elementCount()));
  LOWP_CUDA_RETURN_IF_ERROR_NODE(
      ctx, launchScatterElements(e.reduction, e.type, e.bytes, data.data(), data.elementCount(),
                                 indices.data(), indices.type() == DataType::kInt64, updates.data(), y.data(),
                                 plan, scratch->scratch.data, scratch->bytes, cuda->stream));
  return {};
}

bool supportsScatterElements(const ir::Node& node, const std::vector<ir::Shape>& shapes) {
  if (shapes.empty() || !shapes[0].rankKnown() || shapes[0].rank() > kMaxCopyRank || !supportsReduction(node))
    return false;
  auto axis = ir::normalizeAxis(node.attributes.getInt("axis", 0), shapes[0].rank());
  if (!axis) return false;
  const ir::Dim& size = shapes[0][*axis];
  const auto indices = constantInts(node, 1);
  return !indices || !size.isKnown() || !firstOutOfRange(*indices, size.size).has_value();
}

// ---- ScatterND, GatherND

// The first index of `indices` (rows of `last`) outside its dim `dims[first + k]`, as "index i is outside
// dim d"; nullopt when all are in range or a dim is unknown.
std::optional<std::string> rowIndexOutOfRange(const std::vector<int64_t>& indices, size_t last,
                                              const std::vector<ir::Dim>& dims, size_t first) {
  if (last == 0 || first + last > dims.size()) return std::nullopt;
  for (size_t i = 0; i < indices.size(); ++i) {
    const ir::Dim& dim = dims[first + i % last];
    if (!dim.isKnown()) continue;
    if (indices[i] < -dim.size || indices[i] >= dim.size)
      return "index " + std::to_string(indices[i]) + " is outside dim " + std::to_string(first + i % last);
  }
  return std::nullopt;
}

// The same over the known indices of a kernel, data's dims known.
std::optional<std::string> rowIndexOutOfRange(const Tensor& indices, const std::vector<int64_t>& data,
                                              size_t first) {
  const auto last = static_cast<size_t>(indices.shape().back());
  return rowIndexOutOfRange(readInts(indices), last, ir::Shape::fromSizes(data).dims(), first);
}

// Whether the node's index rows have a known length of at most kMaxCopyRank, and its constant indices, if
// any, are within data's known dims from `first`.
bool supportsIndexRows(const ir::Node& node, const std::vector<ir::Shape>& shapes, size_t first) {
  if (shapes.size() < 2 || !shapes[0].rankKnown() || !shapes[1].rankKnown() || shapes[1].rank() < 1)
    return false;
  const ir::Dim& last = shapes[1][shapes[1].rank() - 1];
  if (!last.isKnown() || last.size > kMaxCopyRank) return false;
  const auto indices = constantInts(node, 1);
  return !indices || !rowIndexOutOfRange(*indices, static_cast<size_t>(last.size), shapes[0].dims(), first);
}

Status scatterNDKernel(KernelContext& ctx) {
  LOWP_ASSIGN_OR_RETURN(CudaContext * cuda, requireCuda(ctx));
  const Tensor& data = ctx.input(0);
  const Tensor& indices = ctx.input(1);
  const Tensor& updates = ctx.input(2);
  Tensor& y = ctx.output(0);
  LOWP_ASSIGN_OR_RETURN(const ScatterElements e, scatterElementsOf(ctx, data));
  if (indices.type() != DataType::kInt64)
    return ctx.invalid("indices " + indices.describe() + " are not int64");
  if (data.rank() < 1 || indices.rank() < 1)
    return ctx.invalid("data " + data.describe() + " and indices " + indices.describe() +
                       " must have rank >= 1");
  const int64_t last = indices.shape().back();
  if (last > data.rank())
    return ctx.invalid("indices " + indices.describe() + " index " + std::to_string(last) + " dims of data " +
                       data.describe());
  if (last > kMaxCopyRank)
    return ctx.unsupported("no CUDA ScatterND of index rows longer than " + std::to_string(kMaxCopyRank));
  std::vector<int64_t> expected(indices.shape().begin(), indices.shape().end() - 1);
  expected.insert(expected.end(), data.shape().begin() + last, data.shape().end());
  if (updates.type() != data.type() || updates.shape() != expected)
    return ctx.invalid("updates " + updates.describe() + " are not the " + ir::formatSizes(expected) +
                       " slices of " + data.describe() + " that indices " + indices.describe() + " address");
  if (y.type() != data.type() || y.shape() != data.shape())
    return ctx.invalid("output " + y.describe() + " is not of " + data.describe() + "'s type and shape");
  if (const Tensor* known = ctx.hostInput(1)) {
    if (const auto bad = rowIndexOutOfRange(*known, data.shape(), 0))
      return ctx.invalid(*bad + " of " + data.describe());
  }
  if (y.elementCount() == 0) return {};
  const int64_t rows = product(indices.shape(), 0, indices.shape().size() - 1);
  LOWP_ASSIGN_OR_RETURN(const ScatterState* scratch, scatterScratch(ctx, rows));
  LOWP_CUDA_RETURN_IF_ERROR_NODE(
      ctx, launchScatterND(e.reduction, e.type, e.bytes, data.data(), indices.data<int64_t>(), updates.data(),
                           y.data(), static_cast<int>(data.rank()), data.shape().data(), rows,
                           static_cast<int>(last), scratch->scratch.data, scratch->bytes, cuda->stream));
  return {};
}

bool supportsScatterND(const ir::Node& node, const std::vector<ir::Shape>& shapes) {
  return supportsReduction(node) && supportsIndexRows(node, shapes, 0);
}

Status gatherNDKernel(KernelContext& ctx) {
  LOWP_ASSIGN_OR_RETURN(CudaContext * cuda, requireCuda(ctx));
  const Tensor& data = ctx.input(0);
  const Tensor& indices = ctx.input(1);
  Tensor& y = ctx.output(0);
  const int bytes = wordBytes(data.type());
  if (bytes == 0) return ctx.unsupported("no CUDA GatherND of " + data.describe());
  if (indices.type() != DataType::kInt64)
    return ctx.invalid("indices " + indices.describe() + " are not int64");
  const int64_t batchDims = ctx.attrs().getInt("batch_dims", 0);
  auto shape = ir::ops::gatherNDShape(ir::Shape::fromSizes(data.shape()),
                                      ir::Shape::fromSizes(indices.shape()), batchDims);
  if (!shape) return ctx.invalid(shape.status().message());
  if (y.type() != data.type() || y.shape() != shape->sizes())
    return ctx.invalid("output " + y.describe() + " is not the " + ir::formatSizes(shape->sizes()) +
                       " GatherND of " + data.describe() + " by " + indices.describe() + " gives");
  const int64_t last = indices.shape().back();
  if (last > kMaxCopyRank)
    return ctx.unsupported("no CUDA GatherND of index rows longer than " + std::to_string(kMaxCopyRank));
  if (const Tensor* known = ctx.hostInput(1)) {
    if (const auto bad = rowIndexOutOfRange(*known, data.shape(), static_cast<size_t>(batchDims)))
      return ctx.invalid(*bad + " of " + data.describe());
  }
  if (y.elementCount() == 0) return {};
  const int64_t rows = product(indices.shape(), 0, indices.shape().size() - 1);
  LOWP_CUDA_RETURN_IF_ERROR_NODE(
      ctx, launchGatherND(bytes, data.data(), indices.data<int64_t>(), y.data(),
                          static_cast<int>(data.rank()), data.shape().data(), static_cast<int>(batchDims),
                          rows, static_cast<int>(last), cuda->stream));
  return {};
}

bool supportsGatherND(const ir::Node& node, const std::vector<ir::Shape>& shapes) {
  const int64_t batchDims = node.attributes.getInt("batch_dims", 0);
  return batchDims >= 0 && supportsIndexRows(node, shapes, static_cast<size_t>(batchDims));
}

// ---- OneHot

Status oneHotKernel(KernelContext& ctx) {
  LOWP_ASSIGN_OR_RETURN(CudaContext * cuda, requireCuda(ctx));
  const Tensor& indices = ctx.input(0);
  const Tensor& values = ctx.input(2);
  Tensor& y = ctx.output(0);
  const int bytes = wordBytes(values.type());
  if (bytes == 0) return ctx.unsupported("no CUDA OneHot of values " + values.describe());
  if (indices.type() != DataType::kInt64 && indices.type() != DataType::kInt32)
    return ctx.unsupported("no CUDA OneHot of indices " + indices.describe() + " (int32 or int64 only)");
  const Tensor* depthTensor = ctx.hostInput(1);
  if (depthTensor == nullptr) return ctx.unsupported("the CUDA OneHot takes a depth known while planning");
  if (depthTensor->elementCount() != 1)
    return ctx.invalid("depth " + depthTensor->describe() + " must be a scalar");
  const std::optional<int64_t> depth = ir::ops::elementAsInt64(*depthTensor, 0);
  if (!depth || *depth <= 0) return ctx.invalid("depth must be a positive integer");
  if (values.elementCount() != 2)
    return ctx.invalid("values " + values.describe() + " must hold two elements (off, on)");
  const int64_t axisAttr = ctx.attrs().getInt("axis", -1);
  auto shape = ir::ops::oneHotShape(ir::Shape::fromSizes(indices.shape()), ir::Dim(*depth), axisAttr);
  if (!shape) return ctx.invalid(shape.status().message());
  if (y.type() != values.type() || y.shape() != shape->sizes())
    return ctx.invalid("output " + y.describe() + " is not the " + ir::formatSizes(shape->sizes()) + " of " +
                       values.describe() + "'s type that depth " + std::to_string(*depth) + " gives");
  if (y.elementCount() == 0) return {};
  const int64_t axis = axisAttr < 0 ? axisAttr + indices.rank() + 1 : axisAttr;
  const auto a = static_cast<size_t>(axis);
  LOWP_CUDA_RETURN_IF_ERROR_NODE(
      ctx, launchOneHot(bytes, indices.data(), indices.type() == DataType::kInt64, values.data(), y.data(),
                        product(indices.shape(), 0, a), *depth, product(indices.shape(), a), cuda->stream));
  return {};
}

// Depth is known while planning where it is a constant, or where inference could read it (the output's dim
// along the axis is known).
bool supportsOneHot(const ir::Node& node, const std::vector<ir::Shape>& shapes) {
  if (shapes.empty() || !shapes[0].rankKnown()) return false;
  const ir::Value* depth = node.input(1);
  if (depth != nullptr && depth->constant) return true;
  const ir::Value* y = node.outputs.empty() ? nullptr : node.outputs[0];
  if (y == nullptr || !y->shape.rankKnown() || y->shape.rank() != shapes[0].rank() + 1) return false;
  auto axis = ir::normalizeAxis(node.attributes.getInt("axis", -1), y->shape.rank());
  return axis.isOk() && y->shape[*axis].isKnown();
}

}  // namespace

void registerScatterKernels(KernelRegistry& registry) {
  const TypeSet any = movableTypes();
  const TypeSet index = {DataType::kInt32, DataType::kInt64};
  const TypeSet int64 = {DataType::kInt64};
  struct Entry {
    std::string_view op, name;
    std::vector<TypeSet> inputs;
    KernelFn fn;
    SupportsFn supports;
    int inPlaceInput;
  };
  const Entry entries[] = {
      {"ScatterElements",
       "x-scatterelements-cuda",
       {any, index, any},
       &scatterElementsKernel,
       &supportsScatterElements,
       0},
      {"Scatter", "x-scatter-cuda", {any, index, any}, &scatterElementsKernel, &supportsScatterElements, 0},
      {"ScatterND", "x-scatternd-cuda", {any, int64, any}, &scatterNDKernel, &supportsScatterND, 0},
      {"GatherND", "x-gathernd-cuda", {any, int64}, &gatherNDKernel, &supportsGatherND, -1},
      {"OneHot", "x-onehot-cuda", {index, numericTypes(), any}, &oneHotKernel, &supportsOneHot, -1},
  };
  for (const Entry& e : entries) {
    registry.add({.opType = e.op,
                  .backend = Backend::kCuda,
                  .name = e.name,
                  .inputTypes = e.inputs,
                  .outputTypes = {any},
                  .fn = e.fn,
                  .supports = e.supports,
                  .reference = false,
                  .inPlaceInput = e.inPlaceInput});
  }
}

}  // namespace lowp::kernels::cuda
