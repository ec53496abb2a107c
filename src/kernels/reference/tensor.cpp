// Reference kernels of the tensor ops that move data: Identity, Dropout, Reshape, Flatten, Squeeze,
// Unsqueeze, Transpose, Expand, Tile, Slice, SpaceToDepth, DepthToSpace, Concat, Split, Shape, Size and Pad
// (the ops driven by index tensors and values are in tensor_index.cpp).
//
// They never interpret values: elements are copied as unsigned words of the element's size, so one kernel
// serves every storable type (fp8 and bool included). Each kernel recomputes its output shape with the
// functions inference uses (ir/ops/tensor_shapes.h) and allocates the output itself when the runtime's does
// not match (shapes that depend on input values). Tested by tests/unit/test_tensor.cpp and the ONNX
// conformance cases.
#include "kernels/reference/tensor_util.h"

namespace lowp::kernels::ref {
namespace {

using namespace tensor;  // NOLINT(google-build-using-namespace): this family's own helpers

// ---- Identity, Dropout ----

Status identityKernel(KernelContext& ctx) {
  const Tensor& in = ctx.input(0);
  copyBytes(in, outputFor(ctx, 0, in.type(), in.shape()));
  return {};
}

Status dropoutKernel(KernelContext& ctx) {
  const Tensor& in = ctx.input(0);
  if (ctx.hasInput(2) && ir::ops::elementAsInt64(ctx.input(2), 0).value_or(0) != 0) {
    const double ratio = ctx.hasInput(1) ? ir::ops::elementValue(ctx.input(1), 0).value_or(0.5) : 0.5;
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

// ---- Reshape, Flatten, Squeeze, Unsqueeze: same elements, new shape ----

Status copyAs(KernelContext& ctx, const Result<Shape>& shape) {
  if (!shape) return fail(ctx, shape.status());
  const Tensor& in = ctx.input(0);
  Tensor& out = outputFor(ctx, 0, in.type(), shape->sizes());
  if (out.elementCount() != in.elementCount()) return ctx.invalid("element count changes");
  copyBytes(in, out);
  return {};
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

// ---- Transpose, Expand, Tile, Slice, SpaceToDepth, DepthToSpace: strided copies ----

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

// ---- Concat, Split ----

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

// ---- Shape, Size ----

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

// ---- Pad ----

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

}  // namespace

void registerTensorKernels(KernelRegistry& registry) {
  const TypeSet any = allStorableTypes();
  const TypeSet index = {DataType::kInt32, DataType::kInt64};
  const TypeSet int64 = {DataType::kInt64};
  const TypeSet boolean = {DataType::kBool};
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
  add("Shape", "any-shape-ref", {any}, {int64}, shapeKernel);
  add("Size", "any-size-ref", {any}, {int64}, sizeKernel);
  add("Expand", "any-expand-ref", {any, int64}, {any}, expandKernel);
  add("Tile", "any-tile-ref", {any, int64}, {any}, tileKernel);
  add("Pad", "any-pad-ref", {any, int64, any, index}, {any}, padKernel);
  add("SpaceToDepth", "any-spacetodepth-ref", {any}, {any}, spaceToDepthKernel);
  add("DepthToSpace", "any-depthtospace-ref", {any}, {any}, depthToSpaceKernel);
  tensor::registerTensorIndexKernels(registry);
}

}  // namespace lowp::kernels::ref
