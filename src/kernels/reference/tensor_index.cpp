// Reference kernels of the tensor ops driven by index tensors or values: Gather, GatherElements, GatherND,
// ScatterElements (and the old Scatter), ScatterND, ConstantOfShape, Range, EyeLike, Trilu, OneHot, Compress,
// NonZero and ReverseSequence.
//
// Indices are checked (negative ones count from the end; out of range is an error naming the index, except
// OneHot, where ONNX defines it as an all-"off" row). Data is moved as bytes; only the scatter reductions
// (computed in the element's compute type, sequentially so duplicate indices combine in order), Range,
// EyeLike, NonZero and OneHot's indices interpret values. Tested by tests/unit/test_tensor.cpp and the ONNX
// conformance cases.
#include "kernels/reference/tensor_util.h"

namespace lowp::kernels::ref::tensor {
namespace {

// ---- Gather, GatherElements, GatherND ----

/// An index normalised to [0, size), or an error naming it.
Result<int64_t> checkedIndex(const KernelContext& ctx, int64_t index, int64_t size) {
  if (index < -size || index >= size) {
    return ctx.invalid("index " + std::to_string(index) + " is out of range for a dim of size " +
                       std::to_string(size));
  }
  return index < 0 ? index + size : index;
}

Status gatherKernel(KernelContext& ctx) {
  const Tensor& data = ctx.input(0);
  const Ints indices = readInts(ctx.input(1));
  auto shape =
      ir::ops::gatherShape(shapeOfTensor(data), shapeOfTensor(ctx.input(1)), ctx.attrs().getInt("axis", 0));
  if (!shape) return fail(ctx, shape.status());
  const auto a = static_cast<size_t>(ir::normalizeAxis(ctx.attrs().getInt("axis", 0), data.rank()).value());
  const int64_t axisSize = data.shape()[a];
  const int64_t outer = product(data.shape(), 0, a);
  const int64_t inner = product(data.shape(), a + 1) * elementSize(data.type());
  Tensor& out = outputFor(ctx, 0, data.type(), shape->sizes());
  if (inner == 0) return {};
  auto* dst = static_cast<std::byte*>(out.data());
  const auto* src = static_cast<const std::byte*>(data.data());
  for (int64_t o = 0; o < outer; ++o) {
    for (int64_t index : indices) {
      LOWP_ASSIGN_OR_RETURN(int64_t k, checkedIndex(ctx, index, axisSize));
      std::memcpy(dst, src + (o * axisSize + k) * inner, static_cast<size_t>(inner));
      dst += inner;
    }
  }
  return {};
}

/// Calls fn(i, dataOffset, k) for every element i of `indices`, where dataOffset is the element's position
/// in data with the axis coordinate left out, and k the normalised index along the axis.
template <typename F>
Status forEachAxisIndex(const KernelContext& ctx, const Tensor& data, const Tensor& indicesTensor,
                        size_t axis, F&& fn) {
  const Ints indices = readInts(indicesTensor);
  for (size_t d = 0; d < data.shape().size(); ++d) {
    if (d != axis && indicesTensor.shape()[d] > data.shape()[d]) {
      return ctx.invalid("indices " + indicesTensor.describe() + " exceed data " + data.describe() +
                         " on dim " + std::to_string(d));
    }
  }
  Ints strides = contiguousStrides(data.shape());
  const int64_t axisStride = strides[axis];
  strides[axis] = 0;
  Status status;
  forEachBroadcast<1>(indicesTensor.shape(), std::array<Ints, 1>{strides}, 0, indicesTensor.elementCount(),
                      [&](int64_t i, const auto& off) {
                        if (!status) return;
                        auto k = checkedIndex(ctx, indices[static_cast<size_t>(i)], data.shape()[axis]);
                        if (!k) {
                          status = k.status();
                          return;
                        }
                        fn(i, off[0] + *k * axisStride);
                      });
  return status;
}

Status gatherElementsKernel(KernelContext& ctx) {
  const Tensor& data = ctx.input(0);
  const Tensor& indices = ctx.input(1);
  auto shape = ir::ops::gatherElementsShape(shapeOfTensor(data), shapeOfTensor(indices),
                                            ctx.attrs().getInt("axis", 0));
  if (!shape) return fail(ctx, shape.status());
  const auto a = static_cast<size_t>(ir::normalizeAxis(ctx.attrs().getInt("axis", 0), data.rank()).value());
  Tensor& out = outputFor(ctx, 0, data.type(), indices.shape());
  Status status;
  dispatchWord(elementSize(data.type()), [&]<typename W>() {
    const W* src = data.data<W>();
    W* dst = out.data<W>();
    status =
        forEachAxisIndex(ctx, data, indices, a, [&](int64_t i, int64_t offset) { dst[i] = src[offset]; });
  });
  return status;
}

/// Element offsets of the slices GatherND / ScatterND address: one per row of `indices` (its last dim indexes
/// data dims [batchDims, batchDims + last)); `sliceSize` elements follow each.
Result<Ints> ndOffsets(const KernelContext& ctx, const Tensor& data, const Tensor& indicesTensor,
                       int64_t batchDims, int64_t* sliceSize) {
  const Ints& ds = data.shape();
  const Ints& is = indicesTensor.shape();
  const Ints indices = readInts(indicesTensor);
  const auto b = static_cast<size_t>(batchDims);
  const auto last = static_cast<size_t>(is.back());
  const int64_t batches = product(ds, 0, b);
  const int64_t rows = product(is, 0, is.size() - 1);
  const int64_t rowsPerBatch = batches == 0 ? 0 : rows / batches;
  const Ints strides = contiguousStrides(ds);
  const int64_t batchStride = product(ds, b);
  *sliceSize = product(ds, b + last);
  Ints offsets(static_cast<size_t>(rows));
  for (int64_t r = 0; r < rows; ++r) {
    int64_t offset = rowsPerBatch == 0 ? 0 : (r / rowsPerBatch) * batchStride;
    for (size_t k = 0; k < last; ++k) {
      LOWP_ASSIGN_OR_RETURN(int64_t i,
                            checkedIndex(ctx, indices[static_cast<size_t>(r) * last + k], ds[b + k]));
      offset += i * strides[b + k];
    }
    offsets[static_cast<size_t>(r)] = offset;
  }
  return offsets;
}

Status gatherNDKernel(KernelContext& ctx) {
  const Tensor& data = ctx.input(0);
  const Tensor& indices = ctx.input(1);
  const int64_t batchDims = ctx.attrs().getInt("batch_dims", 0);
  auto shape = ir::ops::gatherNDShape(shapeOfTensor(data), shapeOfTensor(indices), batchDims);
  if (!shape) return fail(ctx, shape.status());
  Tensor& out = outputFor(ctx, 0, data.type(), shape->sizes());
  int64_t slice = 0;
  LOWP_ASSIGN_OR_RETURN(Ints offsets, ndOffsets(ctx, data, indices, batchDims, &slice));
  const int64_t bytes = slice * elementSize(data.type());
  if (bytes == 0) return {};
  auto* dst = static_cast<std::byte*>(out.data());
  const auto* src = static_cast<const std::byte*>(data.data());
  for (size_t r = 0; r < offsets.size(); ++r) {
    std::memcpy(dst + static_cast<int64_t>(r) * bytes, src + offsets[r] * elementSize(data.type()),
                static_cast<size_t>(bytes));
  }
  return {};
}

// ---- ScatterElements, Scatter, ScatterND ----

enum class Reduction { kNone, kAdd, kMul, kMax, kMin };

Result<Reduction> readReduction(const KernelContext& ctx) {
  const std::string r = ctx.attrs().getString("reduction", "none");
  if (r == "none") return Reduction::kNone;
  if (r == "add") return Reduction::kAdd;
  if (r == "mul") return Reduction::kMul;
  if (r == "max") return Reduction::kMax;
  if (r == "min") return Reduction::kMin;
  return ctx.invalid("unknown reduction '" + r + "'");
}

/// Combines `count` updates at `u` into the elements at `d` under one reduction, computing in the element
/// type's compute type (float for fp16/bf16).
using Combine = void (*)(void* d, const void* u, int64_t count);

template <typename T, Reduction R>
void combineAs(void* d, const void* u, int64_t count) {
  T* dst = static_cast<T*>(d);
  const T* src = static_cast<const T*>(u);
  for (int64_t i = 0; i < count; ++i) {
    const Compute<T> a = toCompute(dst[i]);
    const Compute<T> b = toCompute(src[i]);
    Compute<T> r;
    if constexpr (R == Reduction::kAdd) r = static_cast<Compute<T>>(a + b);
    if constexpr (R == Reduction::kMul) r = static_cast<Compute<T>>(a * b);
    if constexpr (R == Reduction::kMax) r = std::max(a, b);
    if constexpr (R == Reduction::kMin) r = std::min(a, b);
    dst[i] = fromCompute<T>(r);
  }
}

/// The Combine of a reduction other than "none"; nullptr where the type has no arithmetic here.
Combine combineFor(DataType type, Reduction r) {
  Combine fn = nullptr;
  if (type == DataType::kBool) return nullptr;
  dispatchType(type, [&]<typename T>() {
    switch (r) {
      case Reduction::kAdd:
        fn = combineAs<T, Reduction::kAdd>;
        break;
      case Reduction::kMul:
        fn = combineAs<T, Reduction::kMul>;
        break;
      case Reduction::kMax:
        fn = combineAs<T, Reduction::kMax>;
        break;
      case Reduction::kMin:
        fn = combineAs<T, Reduction::kMin>;
        break;
      case Reduction::kNone:
        break;
    }
  });
  return fn;
}

/// Combine for reduction "none": the update replaces the element.
Combine replaceFor(DataType type) {
  Combine fn = nullptr;
  dispatchWord(elementSize(type), [&]<typename W>() {
    fn = [](void* d, const void* u, int64_t count) {
      std::memcpy(d, u, static_cast<size_t>(count) * sizeof(W));
    };
  });
  return fn;
}

Result<Combine> scatterCombine(const KernelContext& ctx, DataType type) {
  LOWP_ASSIGN_OR_RETURN(Reduction r, readReduction(ctx));
  Combine fn = r == Reduction::kNone ? replaceFor(type) : combineFor(type, r);
  if (fn == nullptr) {
    return ctx.unsupported("reduction '" + ctx.attrs().getString("reduction") + "' on " + typeName(type));
  }
  return fn;
}

Status scatterElementsKernel(KernelContext& ctx) {
  const Tensor& data = ctx.input(0);
  const Tensor& indices = ctx.input(1);
  const Tensor& updates = ctx.input(2);
  const int64_t axis = ctx.attrs().getInt("axis", 0);
  Status s = ir::ops::checkScatterElements(shapeOfTensor(data), shapeOfTensor(indices),
                                           shapeOfTensor(updates), axis);
  if (!s) return fail(ctx, s);
  if (indices.shape() != updates.shape()) return ctx.invalid("indices and updates must have the same shape");
  LOWP_ASSIGN_OR_RETURN(Combine combine, scatterCombine(ctx, data.type()));
  Tensor& out = outputFor(ctx, 0, data.type(), data.shape());
  copyBytes(data, out);
  const auto a = static_cast<size_t>(ir::normalizeAxis(axis, data.rank()).value());
  const int64_t size = elementSize(data.type());
  auto* dst = static_cast<std::byte*>(out.data());
  const auto* src = static_cast<const std::byte*>(updates.data());
  // Sequential, so duplicate indices combine in order (the last wins for reduction "none").
  return forEachAxisIndex(ctx, data, indices, a, [&](int64_t i, int64_t offset) {
    combine(dst + offset * size, src + i * size, 1);
  });
}

Status scatterNDKernel(KernelContext& ctx) {
  const Tensor& data = ctx.input(0);
  const Tensor& indices = ctx.input(1);
  const Tensor& updates = ctx.input(2);
  Status s = ir::ops::checkScatterND(shapeOfTensor(data), shapeOfTensor(indices), shapeOfTensor(updates));
  if (!s) return fail(ctx, s);
  LOWP_ASSIGN_OR_RETURN(Combine combine, scatterCombine(ctx, data.type()));
  Tensor& out = outputFor(ctx, 0, data.type(), data.shape());
  copyBytes(data, out);
  int64_t slice = 0;
  LOWP_ASSIGN_OR_RETURN(Ints offsets, ndOffsets(ctx, data, indices, 0, &slice));
  if (static_cast<int64_t>(offsets.size()) * slice != updates.elementCount()) {
    return ctx.invalid("updates " + updates.describe() + " do not match the indexed slices");
  }
  const int64_t size = elementSize(data.type());
  auto* dst = static_cast<std::byte*>(out.data());
  const auto* src = static_cast<const std::byte*>(updates.data());
  for (size_t r = 0; r < offsets.size(); ++r) {
    if (slice > 0) combine(dst + offsets[r] * size, src + static_cast<int64_t>(r) * slice * size, slice);
  }
  return {};
}

// ---- ConstantOfShape, Range, EyeLike, Trilu, OneHot ----

Status constantOfShapeKernel(KernelContext& ctx) {
  auto shape = ir::ops::shapeFromSizes(readInts(ctx.input(0)));
  if (!shape) return fail(ctx, shape.status());
  const Tensor* value = ctx.attrs().getTensor("value");
  const float zero = 0.0f;
  const DataType type = value != nullptr ? value->type() : DataType::kFloat32;
  if (value != nullptr && value->elementCount() != 1) {
    return ctx.invalid("value must hold exactly one element");
  }
  Tensor& out = outputFor(ctx, 0, type, shape->sizes());
  fillWith(ctx, out,
           value != nullptr ? static_cast<const std::byte*>(value->data())
                            : reinterpret_cast<const std::byte*>(&zero));
  return {};
}

Status rangeKernel(KernelContext& ctx) {
  const Tensor& start = ctx.input(0);
  const Tensor& delta = ctx.input(2);
  auto n = ir::ops::rangeCount(start, ctx.input(1), delta);
  if (!n) return fail(ctx, n.status());
  Tensor& out = outputFor(ctx, 0, start.type(), {*n});
  bool ok = dispatchType(start.type(), [&]<typename T>() {
    if constexpr (!std::is_same_v<T, bool>) {
      const Compute<T> s = toCompute(start.data<T>()[0]);
      const Compute<T> d = toCompute(delta.data<T>()[0]);
      T* dst = out.data<T>();
      for (int64_t i = 0; i < *n; ++i) {
        dst[i] = fromCompute<T>(static_cast<Compute<T>>(s + static_cast<Compute<T>>(i) * d));
      }
    }
  });
  if (!ok || start.type() == DataType::kBool) return ctx.unsupported("Range of " + typeName(start.type()));
  return {};
}

Status eyeLikeKernel(KernelContext& ctx) {
  const Tensor& in = ctx.input(0);
  if (in.rank() != 2) return ctx.invalid("the input must be 2-D, not " + in.describe());
  DataType type = in.type();
  if (ctx.attrs().has("dtype")) {
    auto t = ir::dataTypeFromOnnx(static_cast<int32_t>(ctx.attrs().getInt("dtype", 0)));
    if (!t) return ctx.invalid("dtype is not a type");
    type = *t;
  }
  auto one = encodeScalar(type, 1.0);
  if (!one) return ctx.unsupported("EyeLike of " + typeName(type));
  Tensor& out = outputFor(ctx, 0, type, in.shape());
  std::memset(out.data(), 0, static_cast<size_t>(out.byteSize()));
  const int64_t rows = in.shape()[0];
  const int64_t cols = in.shape()[1];
  // Clamped so that r + k cannot overflow; beyond these bounds the diagonal misses the matrix anyway.
  const int64_t k = std::clamp(ctx.attrs().getInt("k", 0), -rows - 1, cols + 1);
  const int64_t size = elementSize(type);
  for (int64_t r = std::max<int64_t>(0, -k); r < rows && r + k < cols; ++r) {
    std::memcpy(static_cast<std::byte*>(out.data()) + (r * cols + r + k) * size, one->data(),
                static_cast<size_t>(size));
  }
  return {};
}

Status triluKernel(KernelContext& ctx) {
  const Tensor& in = ctx.input(0);
  if (in.rank() < 2) return ctx.invalid("the input must have rank >= 2, not " + in.describe());
  int64_t k = 0;
  if (ctx.hasInput(1)) {
    if (ctx.input(1).elementCount() != 1) return ctx.invalid("k must be a scalar");
    k = readInts(ctx.input(1))[0];
  }
  const int64_t rows = in.shape()[static_cast<size_t>(in.rank() - 2)];
  const int64_t cols = in.shape()[static_cast<size_t>(in.rank() - 1)];
  k = std::clamp(k, -rows - 1, cols + 1);  // same result, and r + k + 1 cannot overflow
  const bool upper = ctx.attrs().getInt("upper", 1) != 0;
  Tensor& out = outputFor(ctx, 0, in.type(), in.shape());
  copyBytes(in, out);
  const int64_t matrices = rows * cols == 0 ? 0 : in.elementCount() / (rows * cols);
  const int64_t size = elementSize(in.type());
  auto* dst = static_cast<std::byte*>(out.data());
  for (int64_t m = 0; m < matrices; ++m) {
    for (int64_t r = 0; r < rows; ++r) {
      // Upper keeps columns c >= r + k; lower keeps c <= r + k. Clamp the kept boundary to the row.
      const int64_t keepFrom = std::clamp(r + k, int64_t{0}, cols);
      const int64_t keepTo = std::clamp(r + k + 1, int64_t{0}, cols);
      const int64_t zeroFrom = upper ? 0 : keepTo;
      const int64_t zeroTo = upper ? keepFrom : cols;
      std::byte* row = dst + (m * rows + r) * cols * size;
      if (zeroTo > zeroFrom) {
        std::memset(row + zeroFrom * size, 0, static_cast<size_t>((zeroTo - zeroFrom) * size));
      }
    }
  }
  return {};
}

Status oneHotKernel(KernelContext& ctx) {
  const Tensor& indices = ctx.input(0);
  const Tensor& values = ctx.input(2);
  if (values.elementCount() != 2) return ctx.invalid("values must hold two elements (off, on)");
  if (ctx.input(1).elementCount() != 1) return ctx.invalid("depth must be a scalar");
  auto depth = ir::ops::elementAsInt64(ctx.input(1), 0);
  if (!depth || *depth <= 0) return ctx.invalid("depth must be a positive integer");
  const int64_t axisAttr = ctx.attrs().getInt("axis", -1);
  auto shape = ir::ops::oneHotShape(shapeOfTensor(indices), ir::Dim(*depth), axisAttr);
  if (!shape) return fail(ctx, shape.status());
  Tensor& out = outputFor(ctx, 0, values.type(), shape->sizes());
  const int64_t size = elementSize(values.type());
  const auto* off = static_cast<const std::byte*>(values.data());
  fillWith(ctx, out, off);
  const int64_t axis = axisAttr < 0 ? axisAttr + indices.rank() + 1 : axisAttr;
  const int64_t inner = product(indices.shape(), static_cast<size_t>(axis));
  auto* dst = static_cast<std::byte*>(out.data());
  for (int64_t i = 0; i < indices.elementCount(); ++i) {
    auto v = ir::ops::elementAsInt64(indices, i);
    if (!v) return ctx.invalid("index " + std::to_string(i) + " is not a finite number");
    int64_t index = *v < 0 ? *v + *depth : *v;
    if (index < 0 || index >= *depth) continue;  // out of range: the row stays "off"
    const int64_t o = i / inner;
    const int64_t j = i % inner;
    std::memcpy(dst + ((o * *depth + index) * inner + j) * size, off + size, static_cast<size_t>(size));
  }
  return {};
}

// ---- Compress, NonZero, ReverseSequence ----

Status compressKernel(KernelContext& ctx) {
  const Tensor& in = ctx.input(0);
  const Tensor& condition = ctx.input(1);
  if (condition.rank() != 1) return ctx.invalid("condition must be 1-D, not " + condition.describe());
  const auto* keep = condition.data<uint8_t>();
  const bool hasAxis = ctx.attrs().has("axis");
  size_t a = 0;
  Ints view = {1, in.elementCount(), 1};  // [outer, axis, inner]
  if (hasAxis) {
    auto axis = ir::normalizeAxis(ctx.attrs().getInt("axis", 0), in.rank());
    if (!axis) return fail(ctx, axis.status());
    a = static_cast<size_t>(*axis);
    view = {product(in.shape(), 0, a), in.shape()[a], product(in.shape(), a + 1)};
  }
  const int64_t limit = std::min(view[1], condition.elementCount());
  int64_t count = 0;
  for (int64_t i = 0; i < limit; ++i) count += keep[i] != 0 ? 1 : 0;
  Ints outShape = {count};
  if (hasAxis) {
    outShape = in.shape();
    outShape[a] = count;
  }
  Tensor& out = outputFor(ctx, 0, in.type(), outShape);
  const int64_t bytes = view[2] * elementSize(in.type());
  if (bytes == 0) return {};
  auto* dst = static_cast<std::byte*>(out.data());
  const auto* src = static_cast<const std::byte*>(in.data());
  for (int64_t o = 0; o < view[0]; ++o) {
    for (int64_t i = 0; i < limit; ++i) {
      if (keep[i] == 0) continue;
      std::memcpy(dst, src + (o * view[1] + i) * bytes, static_cast<size_t>(bytes));
      dst += bytes;
    }
  }
  return {};
}

Status nonZeroKernel(KernelContext& ctx) {
  const Tensor& in = ctx.input(0);
  std::vector<int64_t> hits;
  for (int64_t i = 0; i < in.elementCount(); ++i) {
    auto v = ir::ops::elementValue(in, i);
    if (!v) return ctx.unsupported("NonZero of " + typeName(in.type()));
    if (*v != 0.0) hits.push_back(i);
  }
  // A scalar counts as a 1-D tensor of one element.
  const Ints shape = in.rank() == 0 ? Ints{1} : in.shape();
  const auto rank = static_cast<int64_t>(shape.size());
  const auto n = static_cast<int64_t>(hits.size());
  Tensor& out = ctx.allocateOutput(0, DataType::kInt64, {rank, n});
  auto* dst = out.data<int64_t>();
  for (int64_t h = 0; h < n; ++h) {
    int64_t rest = hits[static_cast<size_t>(h)];
    for (int64_t d = rank; d-- > 0;) {
      dst[d * n + h] = rest % shape[static_cast<size_t>(d)];
      rest /= shape[static_cast<size_t>(d)];
    }
  }
  return {};
}

Status reverseSequenceKernel(KernelContext& ctx) {
  const Tensor& in = ctx.input(0);
  const Ints lens = readInts(ctx.input(1));
  const auto batchAxis = static_cast<size_t>(ctx.attrs().getInt("batch_axis", 1));
  const auto timeAxis = static_cast<size_t>(ctx.attrs().getInt("time_axis", 0));
  if (in.rank() < 2 || batchAxis > 1 || timeAxis > 1 || batchAxis == timeAxis) {
    return ctx.invalid("needs rank >= 2 and batch_axis, time_axis of 0 and 1");
  }
  const int64_t batch = in.shape()[batchAxis];
  const int64_t time = in.shape()[timeAxis];
  if (static_cast<int64_t>(lens.size()) != batch) {
    return ctx.invalid("sequence_lens must have one entry per batch");
  }
  Tensor& out = outputFor(ctx, 0, in.type(), in.shape());
  copyBytes(in, out);
  const int64_t inner = product(in.shape(), 2) * elementSize(in.type());
  const int64_t timeStride = (timeAxis == 0 ? batch : 1) * inner;
  const int64_t batchStride = (batchAxis == 0 ? time : 1) * inner;
  auto* dst = static_cast<std::byte*>(out.data());
  const auto* src = static_cast<const std::byte*>(in.data());
  for (int64_t b = 0; b < batch; ++b) {
    const int64_t len = lens[static_cast<size_t>(b)];
    if (len < 0 || len > time) {
      return ctx.invalid("sequence length " + std::to_string(len) + " is outside [0, " +
                         std::to_string(time) + "]");
    }
    for (int64_t t = 0; t < len && inner > 0; ++t) {
      std::memcpy(dst + b * batchStride + t * timeStride, src + b * batchStride + (len - 1 - t) * timeStride,
                  static_cast<size_t>(inner));
    }
  }
  return {};
}

}  // namespace

void registerTensorIndexKernels(KernelRegistry& registry) {
  const TypeSet any = allStorableTypes();
  const TypeSet index = {DataType::kInt32, DataType::kInt64};
  const TypeSet int64 = {DataType::kInt64};
  const TypeSet boolean = {DataType::kBool};
  auto add = [&](std::string_view op, std::string_view name, std::vector<TypeSet> in,
                 std::vector<TypeSet> out, KernelFn fn) {
    registry.add({op, Backend::kCpu, name, std::move(in), std::move(out), fn});
  };
  const TypeSet eyeTypes = numericTypes() | boolean;
  add("Gather", "any-gather-ref", {any, index}, {any}, gatherKernel);
  add("GatherElements", "any-gatherelements-ref", {any, index}, {any}, gatherElementsKernel);
  add("GatherND", "any-gathernd-ref", {any, int64}, {any}, gatherNDKernel);
  add("ScatterElements", "any-scatterelements-ref", {any, index, any}, {any}, scatterElementsKernel);
  add("Scatter", "any-scatter-ref", {any, index, any}, {any}, scatterElementsKernel);
  add("ScatterND", "any-scatternd-ref", {any, int64, any}, {any}, scatterNDKernel);
  add("ConstantOfShape", "any-constantofshape-ref", {int64}, {any}, constantOfShapeKernel);
  add("Range", "any-range-ref", {numericTypes()}, {numericTypes()}, rangeKernel);
  add("Compress", "any-compress-ref", {any, boolean}, {any}, compressKernel);
  add("NonZero", "any-nonzero-ref", {any}, {int64}, nonZeroKernel);
  add("Trilu", "any-trilu-ref", {any, int64}, {any}, triluKernel);
  add("OneHot", "any-onehot-ref", {numericTypes(), numericTypes(), any}, {any}, oneHotKernel);
  add("EyeLike", "any-eyelike-ref", {any}, {eyeTypes}, eyeLikeKernel);
  add("ReverseSequence", "any-reversesequence-ref", {any, int64}, {any}, reverseSequenceKernel);
}

}  // namespace lowp::kernels::ref::tensor
