// Reference kernels of the tensor ops: shape and data-movement operators.
//
// Ops that only move data (Reshape, Transpose, Slice, Gather, Pad, ...) never interpret values: they copy
// elements as unsigned words of the element's size, so one kernel serves every storable type (fp8 and
// bool included). Only the scatter reductions, Range, EyeLike, NonZero and OneHot's index reading look at
// values. Each kernel recomputes its output shape with the functions inference uses (ir/ops/tensor_shapes.h)
// and allocates the output itself when the runtime's does not match (shapes that depend on input values).
// Tested by tests/unit/test_tensor.cpp and the ONNX conformance cases.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <functional>
#include <limits>
#include <numeric>
#include <optional>
#include <string>

#include "ir/data_type.h"
#include "ir/ops/tensor_shapes.h"
#include "kernels/reference/common.h"

namespace lowp::kernels::ref {
namespace {

using Ints = std::vector<int64_t>;
using ir::Shape;

constexpr int64_t kGrain = 1 << 14;

Status fail(const KernelContext& ctx, const Status& s) {
  return s.code() == StatusCode::kUnsupported ? ctx.unsupported(s.message()) : ctx.invalid(s.message());
}

std::string typeName(DataType t) {
  return std::string(ir::dataTypeInfo(t).name);
}

int64_t elementSize(DataType t) {
  return ir::dataTypeInfo(t).storageBytes;
}

/// The product of v[from, to), clipped to v's size.
int64_t product(const Ints& v, size_t from = 0, size_t to = SIZE_MAX) {
  to = std::min(to, v.size());
  if (from >= to) return 1;
  return std::accumulate(v.begin() + static_cast<std::ptrdiff_t>(from),
                         v.begin() + static_cast<std::ptrdiff_t>(to), int64_t{1}, std::multiplies<>());
}

/// Output i with the given type and shape: the tensor the runtime allocated when it matches, else a new one.
Tensor& outputFor(KernelContext& ctx, size_t i, DataType type, const Ints& shape) {
  Tensor& out = ctx.output(i);
  const bool usable = out.data() != nullptr || product(shape) == 0;
  if (out.type() == type && out.shape() == shape && usable) return out;
  return ctx.allocateOutput(i, type, shape);
}

/// The values of an int32/int64 tensor.
Ints readInts(const Tensor& t) {
  Ints out(static_cast<size_t>(t.elementCount()));
  for (size_t k = 0; k < out.size(); ++k) {
    out[k] = t.type() == DataType::kInt32 ? t.data<int32_t>()[k] : t.data<int64_t>()[k];
  }
  return out;
}

std::optional<Ints> optionalInts(const KernelContext& ctx, size_t i) {
  return ctx.hasInput(i) ? std::optional<Ints>(readInts(ctx.input(i))) : std::nullopt;
}

/// Calls f.template operator()<W>() with W the unsigned word of `bytes` bytes; false for other sizes.
template <typename F>
bool dispatchWord(int64_t bytes, F&& f) {
  switch (bytes) {
    case 1:
      f.template operator()<uint8_t>();
      return true;
    case 2:
      f.template operator()<uint16_t>();
      return true;
    case 4:
      f.template operator()<uint32_t>();
      return true;
    case 8:
      f.template operator()<uint64_t>();
      return true;
    default:
      return false;
  }
}

void copyBytes(const Tensor& in, Tensor& out) {
  if (out.data() != in.data() && in.byteSize() > 0) {
    std::memcpy(out.data(), in.data(), static_cast<size_t>(in.byteSize()));
  }
}

/// out[i] = in[base + Σ_d index_d · strides[d]], where index is element i's multi-index in `shape` (row-major
/// over out's elements; `shape` may split out's dims further, as Tile and DepthToSpace do).
void stridedCopy(const KernelContext& ctx, const Tensor& in, Tensor& out, const Ints& shape,
                 const Ints& strides, int64_t base) {
  const int64_t n = out.elementCount();
  if (n == 0) return;
  dispatchWord(elementSize(in.type()), [&]<typename W>() {
    const W* src = static_cast<const W*>(in.data()) + base;
    W* dst = static_cast<W*>(out.data());
    const std::array<Ints, 1> s{strides};
    ctx.parallelFor(n, kGrain, [&](int64_t begin, int64_t end) {
      forEachBroadcast<1>(shape, s, begin, end, [&](int64_t i, const auto& off) { dst[i] = src[off[0]]; });
    });
  });
}

/// The bytes of `value` in type `type` (saturated to its range); nullopt where lowp cannot encode it.
std::optional<std::vector<std::byte>> encodeScalar(DataType type, double value) {
  std::vector<std::byte> bytes(static_cast<size_t>(elementSize(type)));
  bool ok = dispatchType(type, [&]<typename T>() {
    T v;
    if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) {
      // Saturate: converting an out-of-range double to an integer is undefined.
      using Limits = std::numeric_limits<T>;
      const double t = std::trunc(value);
      v = t >= static_cast<double>(Limits::max())      ? Limits::max()
          : t <= static_cast<double>(Limits::lowest()) ? Limits::lowest()
          : std::isnan(t)                              ? T{0}
                                                       : static_cast<T>(t);
    } else {
      v = fromCompute<T>(static_cast<Compute<T>>(value));
    }
    std::memcpy(bytes.data(), &v, sizeof(T));
  });
  if (ok) return bytes;
  if (type == DataType::kFloat8E4M3FN || type == DataType::kFloat8E5M2) {
    const bool e4m3 = type == DataType::kFloat8E4M3FN;
    bytes[0] = static_cast<std::byte>(
        ir::floatToFloat8(static_cast<float>(value), e4m3 ? 3 : 2, e4m3 ? 7 : 15, !e4m3, true));
    return bytes;
  }
  if (value == 0.0 && !bytes.empty()) return bytes;  // +0 is all zero bits in every remaining type
  return std::nullopt;
}

/// Fills `out` with copies of the element at `value`.
void fillWith(const KernelContext& ctx, Tensor& out, const std::byte* value) {
  const int64_t n = out.elementCount();
  dispatchWord(elementSize(out.type()), [&]<typename W>() {
    W v;
    std::memcpy(&v, value, sizeof(W));
    W* dst = static_cast<W*>(out.data());
    ctx.parallelFor(n, kGrain, [&](int64_t b, int64_t e) { std::fill(dst + b, dst + e, v); });
  });
}

// ---- Identity, Dropout ------------------------------------------------------------------------------------

Status identityKernel(KernelContext& ctx) {
  const Tensor& in = ctx.input(0);
  copyBytes(in, outputFor(ctx, 0, in.type(), in.shape()));
  return {};
}

Status dropoutKernel(KernelContext& ctx) {
  const Tensor& in = ctx.input(0);
  if (ctx.hasInput(2) && ir::ops::elementAsInt64(ctx.input(2), 0).value_or(0) != 0) {
    const double ratio = ctx.hasInput(1) ? ir::ops::elementAsDouble(ctx.input(1), 0).value_or(0.5) : 0.5;
    if (ratio != 0.0) {
      return ctx.unsupported("training_mode=1 with a non-zero ratio is random; lowp runs inference only");
    }
  }
  copyBytes(in, outputFor(ctx, 0, in.type(), in.shape()));
  if (ctx.hasOutput(1)) {
    const DataType maskType = ctx.node().opsetVersion >= 10 ? DataType::kBool : in.type();
    Tensor& mask = outputFor(ctx, 1, maskType, in.shape());
    auto one = encodeScalar(maskType, 1.0);
    if (!one) return ctx.unsupported("a Dropout mask of " + typeName(maskType) + " is not supported");
    fillWith(ctx, mask, one->data());
  }
  return {};
}

// ---- Reshape, Flatten, Squeeze, Unsqueeze: same elements, new shape
// -------------------------------------------

Status copyAs(KernelContext& ctx, const Result<Shape>& shape) {
  if (!shape) return fail(ctx, shape.status());
  const Tensor& in = ctx.input(0);
  Tensor& out = outputFor(ctx, 0, in.type(), shape->sizes());
  if (out.elementCount() != in.elementCount()) return ctx.invalid("element count changes");
  copyBytes(in, out);
  return {};
}

Shape shapeOfTensor(const Tensor& t) {
  return Shape::fromSizes(t.shape());
}

Status reshapeKernel(KernelContext& ctx) {
  const bool allowZero = ctx.attrs().getInt("allowzero", 0) != 0;
  return copyAs(ctx, ir::ops::reshapeShape(shapeOfTensor(ctx.input(0)), readInts(ctx.input(1)), allowZero));
}

Status flattenKernel(KernelContext& ctx) {
  return copyAs(ctx, ir::ops::flattenShape(shapeOfTensor(ctx.input(0)), ctx.attrs().getInt("axis", 1)));
}

Status squeezeKernel(KernelContext& ctx) {
  return copyAs(ctx, ir::ops::squeezeShape(shapeOfTensor(ctx.input(0)), optionalInts(ctx, 1)));
}

Status unsqueezeKernel(KernelContext& ctx) {
  if (!ctx.hasInput(1)) return ctx.invalid("the axes input is required");
  return copyAs(ctx, ir::ops::unsqueezeShape(shapeOfTensor(ctx.input(0)), readInts(ctx.input(1))));
}

// ---- Transpose, Expand, Tile, Slice, SpaceToDepth, DepthToSpace: strided copies
// ----------------------------------

Status transposeKernel(KernelContext& ctx) {
  const Tensor& in = ctx.input(0);
  std::optional<Ints> permAttr;
  if (ctx.attrs().has("perm")) permAttr = ctx.attrs().getInts("perm");
  auto perm = ir::ops::transposePerm(in.rank(), permAttr);
  if (!perm) return fail(ctx, perm.status());
  const Ints inStrides = contiguousStrides(in.shape());
  Ints shape;
  Ints strides;
  for (int64_t p : *perm) {
    shape.push_back(in.shape()[static_cast<size_t>(p)]);
    strides.push_back(inStrides[static_cast<size_t>(p)]);
  }
  stridedCopy(ctx, in, outputFor(ctx, 0, in.type(), shape), shape, strides, 0);
  return {};
}

Status expandKernel(KernelContext& ctx) {
  const Tensor& in = ctx.input(0);
  auto shape = ir::ops::expandShape(shapeOfTensor(in), readInts(ctx.input(1)));
  if (!shape) return fail(ctx, shape.status());
  const Ints outShape = shape->sizes();
  stridedCopy(ctx, in, outputFor(ctx, 0, in.type(), outShape), outShape,
              broadcastStrides(in.shape(), outShape), 0);
  return {};
}

Status tileKernel(KernelContext& ctx) {
  const Tensor& in = ctx.input(0);
  const Ints repeats = readInts(ctx.input(1));
  auto shape = ir::ops::tileShape(shapeOfTensor(in), repeats);
  if (!shape) return fail(ctx, shape.status());
  // Output axis d of size r·n is, row-major, the pair (repeat of r, element of n): read the pair with strides
  // (0, input stride).
  const Ints inStrides = contiguousStrides(in.shape());
  Ints split;
  Ints strides;
  for (size_t d = 0; d < repeats.size(); ++d) {
    split.insert(split.end(), {repeats[d], in.shape()[d]});
    strides.insert(strides.end(), {0, inStrides[d]});
  }
  stridedCopy(ctx, in, outputFor(ctx, 0, in.type(), shape->sizes()), split, strides, 0);
  return {};
}

Status sliceKernel(KernelContext& ctx) {
  if (!ctx.hasInput(1) || !ctx.hasInput(2)) return ctx.invalid("starts and ends are required");
  const Tensor& in = ctx.input(0);
  auto plan = ir::ops::slicePlan(shapeOfTensor(in), readInts(ctx.input(1)), readInts(ctx.input(2)),
                                 optionalInts(ctx, 3), optionalInts(ctx, 4));
  if (!plan) return fail(ctx, plan.status());
  const Ints inStrides = contiguousStrides(in.shape());
  const Ints shape = plan->shape.sizes();
  Ints strides(shape.size());
  int64_t base = 0;
  for (size_t d = 0; d < shape.size(); ++d) {
    strides[d] = inStrides[d] * plan->axes[d].step;
    if (shape[d] > 0) base += plan->axes[d].start * inStrides[d];
  }
  stridedCopy(ctx, in, outputFor(ctx, 0, in.type(), shape), shape, strides, base);
  return {};
}

Status spaceToDepthKernel(KernelContext& ctx) {
  const Tensor& in = ctx.input(0);
  const int64_t b = ctx.attrs().getInt("blocksize", 0);
  auto shape = ir::ops::spaceToDepthShape(shapeOfTensor(in), b);
  if (!shape) return fail(ctx, shape.status());
  const Ints& s = in.shape();
  const int64_t c = s[1], h = s[2] / b, w = s[3] / b;
  // Output [n, (by, bx, c), h, w] read from input [n, c, (h, by), (w, bx)].
  const Ints split = {s[0], b, b, c, h, w};
  const Ints strides = {c * s[2] * s[3], s[3], 1, s[2] * s[3], b * s[3], b};
  stridedCopy(ctx, in, outputFor(ctx, 0, in.type(), shape->sizes()), split, strides, 0);
  return {};
}

Status depthToSpaceKernel(KernelContext& ctx) {
  const Tensor& in = ctx.input(0);
  const int64_t b = ctx.attrs().getInt("blocksize", 0);
  auto shape = ir::ops::depthToSpaceShape(shapeOfTensor(in), b);
  if (!shape) return fail(ctx, shape.status());
  const Ints& s = in.shape();
  const int64_t c = s[1] / (b * b), h = s[2], w = s[3];
  const int64_t hw = h * w;
  // Output [n, c, (h, by), (w, bx)]; DCR reads channel (by, bx, c), CRD reads channel (c, by, bx).
  const bool crd = ctx.attrs().getString("mode", "DCR") == "CRD";
  const int64_t cStride = crd ? b * b * hw : hw;
  const int64_t byStride = crd ? b * hw : b * c * hw;
  const int64_t bxStride = crd ? hw : c * hw;
  const Ints split = {s[0], c, h, b, w, b};
  const Ints strides = {s[1] * hw, cStride, w, byStride, 1, bxStride};
  stridedCopy(ctx, in, outputFor(ctx, 0, in.type(), shape->sizes()), split, strides, 0);
  return {};
}

// ---- Concat, Split
// ---------------------------------------------------------------------------------------------

Status concatKernel(KernelContext& ctx) {
  std::vector<Shape> shapes;
  for (size_t i = 0; i < ctx.inputCount(); ++i) shapes.push_back(shapeOfTensor(ctx.input(i)));
  auto shape = ir::ops::concatShape(shapes, ctx.attrs().getInt("axis", 0));
  if (!shape) return fail(ctx, shape.status());
  const Ints outShape = shape->sizes();
  auto axis = static_cast<size_t>(ir::normalizeAxis(ctx.attrs().getInt("axis", 0), shape->rank()).value());
  Tensor& out = outputFor(ctx, 0, ctx.input(0).type(), outShape);
  const int64_t outer = product(outShape, 0, axis);
  const int64_t inner = product(outShape, axis + 1) * elementSize(out.type());
  auto* dst = static_cast<std::byte*>(out.data());
  for (int64_t o = 0; o < outer; ++o) {
    for (size_t i = 0; i < ctx.inputCount(); ++i) {
      const Tensor& in = ctx.input(i);
      const int64_t chunk = in.shape()[axis] * inner;
      if (chunk == 0) continue;
      std::memcpy(dst, static_cast<const std::byte*>(in.data()) + o * chunk, static_cast<size_t>(chunk));
      dst += chunk;
    }
  }
  return {};
}

Status splitKernel(KernelContext& ctx) {
  const Tensor& in = ctx.input(0);
  auto axis = ir::normalizeAxis(ctx.attrs().getInt("axis", 0), in.rank());
  if (!axis) return fail(ctx, axis.status());
  const auto a = static_cast<size_t>(*axis);
  auto sizes = ir::ops::splitSizes(ir::Dim(in.shape()[a]), optionalInts(ctx, 1),
                                   static_cast<int64_t>(ctx.outputCount()), ctx.attrs().has("num_outputs"));
  if (!sizes) return fail(ctx, sizes.status());
  const int64_t outer = product(in.shape(), 0, a);
  const int64_t inner = product(in.shape(), a + 1) * elementSize(in.type());
  const int64_t inRow = in.shape()[a] * inner;
  int64_t offset = 0;
  for (size_t i = 0; i < ctx.outputCount(); ++i) {
    const int64_t part = (*sizes)[i].size;
    const int64_t chunk = part * inner;
    if (ctx.hasOutput(i)) {
      Ints shape = in.shape();
      shape[a] = part;
      Tensor& out = outputFor(ctx, i, in.type(), shape);
      auto* dst = static_cast<std::byte*>(out.data());
      const auto* src = static_cast<const std::byte*>(in.data()) + offset;
      for (int64_t o = 0; o < outer && chunk > 0; ++o) {
        std::memcpy(dst + o * chunk, src + o * inRow, static_cast<size_t>(chunk));
      }
    }
    offset += chunk;
  }
  return {};
}

// ---- Gather, GatherElements, GatherND
// ----------------------------------------------------------------------------

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

// ---- ScatterElements, Scatter, ScatterND
// ---------------------------------------------------------------------------

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

// ---- Shape, Size
// ----------------------------------------------------------------------------------------------

Status shapeKernel(KernelContext& ctx) {
  const Tensor& in = ctx.input(0);
  std::optional<int64_t> start;
  std::optional<int64_t> end;
  if (ctx.attrs().has("start")) start = ctx.attrs().getInt("start", 0);
  if (ctx.attrs().has("end")) end = ctx.attrs().getInt("end", 0);
  auto [s, e] = ir::ops::shapeOpRange(in.rank(), start, end);
  Tensor& out = outputFor(ctx, 0, DataType::kInt64, {e - s});
  for (int64_t d = s; d < e; ++d) out.data<int64_t>()[d - s] = in.shape()[static_cast<size_t>(d)];
  return {};
}

Status sizeKernel(KernelContext& ctx) {
  outputFor(ctx, 0, DataType::kInt64, {}).data<int64_t>()[0] = ctx.input(0).elementCount();
  return {};
}

// ---- Pad
// --------------------------------------------------------------------------------------------------------

/// Where output coordinate `o` of an axis of size `n` padded by `before` reads from: an input coordinate, or
/// -1 for the constant.
int64_t padSource(int64_t o, int64_t before, int64_t n, const std::string& mode) {
  int64_t i = o - before;
  if (i >= 0 && i < n) return i;
  if (mode == "constant") return -1;
  if (mode == "edge") return std::clamp(i, int64_t{0}, n - 1);
  if (mode == "wrap") return ((i % n) + n) % n;
  if (n == 1) return 0;  // reflect
  const int64_t period = 2 * (n - 1);
  int64_t m = ((i % period) + period) % period;
  return m >= n ? period - m : m;
}

Status padKernel(KernelContext& ctx) {
  if (!ctx.hasInput(1)) return ctx.invalid("the pads input is required");
  const Tensor& in = ctx.input(0);
  const std::string mode = ctx.attrs().getString("mode", "constant");
  auto amounts = ir::ops::padAmounts(in.rank(), readInts(ctx.input(1)), optionalInts(ctx, 3));
  if (!amounts) return fail(ctx, amounts.status());
  auto shape = ir::ops::padShape(shapeOfTensor(in), *amounts);
  if (!shape) return fail(ctx, shape.status());
  const Ints outShape = shape->sizes();
  const auto rank = static_cast<size_t>(in.rank());

  // Per axis, the input coordinate every output coordinate reads (-1: the constant).
  const Ints inStrides = contiguousStrides(in.shape());
  std::vector<Ints> source(rank);
  for (size_t d = 0; d < rank; ++d) {
    const int64_t n = in.shape()[d];
    if (n == 0 && outShape[d] > 0 && mode != "constant") {
      return ctx.invalid("cannot pad an empty axis " + std::to_string(d) + " in mode '" + mode + "'");
    }
    for (int64_t o = 0; o < outShape[d]; ++o) {
      int64_t i = padSource(o, (*amounts)[d], n, mode);
      source[d].push_back(i < 0 ? -1 : i * inStrides[d]);
    }
  }

  std::vector<std::byte> fill(static_cast<size_t>(elementSize(in.type())));
  if (ctx.hasInput(2) && ctx.input(2).elementCount() > 0) {
    std::memcpy(fill.data(), ctx.input(2).data(), fill.size());
  } else if (ctx.attrs().has("value")) {
    auto v = encodeScalar(in.type(), ctx.attrs().getFloat("value", 0.0f));
    if (!v) return ctx.unsupported("pad value for " + typeName(in.type()));
    fill = *v;
  }

  Tensor& out = outputFor(ctx, 0, in.type(), outShape);
  const int64_t total = out.elementCount();
  if (total == 0) return {};
  dispatchWord(elementSize(in.type()), [&]<typename W>() {
    const W* src = in.data<W>();
    W* dst = out.data<W>();
    W constant;
    std::memcpy(&constant, fill.data(), sizeof(W));
    ctx.parallelFor(total, kGrain, [&](int64_t begin, int64_t end) {
      Ints index(rank);
      int64_t rest = begin;
      for (size_t d = rank; d-- > 0;) {
        index[d] = rest % outShape[d];
        rest /= outShape[d];
      }
      for (int64_t i = begin; i < end; ++i) {
        int64_t offset = 0;
        bool inside = true;
        for (size_t d = 0; d < rank && inside; ++d) {
          const int64_t s = source[d][static_cast<size_t>(index[d])];
          inside = s >= 0;
          offset += s;
        }
        dst[i] = inside ? src[offset] : constant;
        for (size_t d = rank; d-- > 0;) {
          if (++index[d] < outShape[d]) break;
          index[d] = 0;
        }
      }
    });
  });
  return {};
}

// ---- ConstantOfShape, Range, EyeLike, Trilu, OneHot
// -------------------------------------------------------------

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

// ---- Compress, NonZero, ReverseSequence
// -------------------------------------------------------------------------

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
    auto v = ir::ops::elementAsDouble(in, i);
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

void registerTensorKernels(KernelRegistry& registry) {
  const TypeSet any = allStorableTypes();
  const TypeSet index = {DataType::kInt32, DataType::kInt64};
  const TypeSet int64 = {DataType::kInt64};
  const TypeSet boolean = {DataType::kBool};
  const TypeSet eyeTypes = numericTypes() | boolean;
  auto add = [&](std::string_view op, std::string_view name, std::vector<TypeSet> in,
                 std::vector<TypeSet> out, KernelFn fn) {
    registry.add({op, Backend::kCpu, name, std::move(in), std::move(out), fn});
  };

  add("Identity", "any-identity-ref", {any}, {any}, identityKernel);
  add("Dropout", "any-dropout-ref", {any, floatTypes(), boolean}, {any, any}, dropoutKernel);
  add("Reshape", "any-reshape-ref", {any, index}, {any}, reshapeKernel);
  add("Flatten", "any-flatten-ref", {any}, {any}, flattenKernel);
  add("Transpose", "any-transpose-ref", {any}, {any}, transposeKernel);
  add("Squeeze", "any-squeeze-ref", {any, int64}, {any}, squeezeKernel);
  add("Unsqueeze", "any-unsqueeze-ref", {any, int64}, {any}, unsqueezeKernel);
  add("Concat", "any-concat-ref", {any}, {any}, concatKernel);
  add("Split", "any-split-ref", {any, int64}, {any}, splitKernel);
  add("Slice", "any-slice-ref", {any, index}, {any}, sliceKernel);
  add("Gather", "any-gather-ref", {any, index}, {any}, gatherKernel);
  add("GatherElements", "any-gatherelements-ref", {any, index}, {any}, gatherElementsKernel);
  add("GatherND", "any-gathernd-ref", {any, int64}, {any}, gatherNDKernel);
  add("ScatterElements", "any-scatterelements-ref", {any, index, any}, {any}, scatterElementsKernel);
  add("Scatter", "any-scatter-ref", {any, index, any}, {any}, scatterElementsKernel);
  add("ScatterND", "any-scatternd-ref", {any, int64, any}, {any}, scatterNDKernel);
  add("Shape", "any-shape-ref", {any}, {int64}, shapeKernel);
  add("Size", "any-size-ref", {any}, {int64}, sizeKernel);
  add("Expand", "any-expand-ref", {any, int64}, {any}, expandKernel);
  add("Tile", "any-tile-ref", {any, int64}, {any}, tileKernel);
  add("Pad", "any-pad-ref", {any, int64, any, index}, {any}, padKernel);
  add("ConstantOfShape", "any-constantofshape-ref", {int64}, {any}, constantOfShapeKernel);
  add("Range", "any-range-ref", {numericTypes()}, {numericTypes()}, rangeKernel);
  add("Compress", "any-compress-ref", {any, boolean}, {any}, compressKernel);
  add("NonZero", "any-nonzero-ref", {any}, {int64}, nonZeroKernel);
  add("Trilu", "any-trilu-ref", {any, int64}, {any}, triluKernel);
  add("OneHot", "any-onehot-ref", {numericTypes(), numericTypes(), any}, {any}, oneHotKernel);
  add("EyeLike", "any-eyelike-ref", {any}, {eyeTypes}, eyeLikeKernel);
  add("SpaceToDepth", "any-spacetodepth-ref", {any}, {any}, spaceToDepthKernel);
  add("DepthToSpace", "any-depthtospace-ref", {any}, {any}, depthToSpaceKernel);
  add("ReverseSequence", "any-reversesequence-ref", {any, int64}, {any}, reverseSequenceKernel);
}

}  // namespace lowp::kernels::ref
