// Reference kernels of Resize and Upsample.
//
// Each axis gets a table of taps (ir/ops/resize_plan.h, resizeAxisTaps): for every output index, the input
// indices it reads and their weights (nearest: one tap; linear: 2; cubic: 4; antialiased downscaling: as many
// as the widened filter covers). Nearest gathers elements of any stored type. Linear and cubic run one
// separable pass per resized axis, from the last axis to the first as the ONNX reference does, in double
// (coordinates and weights follow the reference's double arithmetic, so the oracle reproduces its data), and
// round once to the output type (integers truncate toward zero and saturate, as conversion_numeric.h's float
// -> integer rule).
#include "kernels/reference/resize.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "ir/ops/resize_plan.h"
#include "kernels/reference/common.h"
#include "kernels/reference/conversion_numeric.h"

namespace lowp::kernels::ref {
namespace {

using ir::ops::ResizeAxisTaps;
using ir::ops::ResizeMode;
using ir::ops::ResizeOutputTaps;
using ir::ops::ResizeTap;

/// The products of the sizes before and after `axis`.
void splitAt(const std::vector<int64_t>& sizes, size_t axis, int64_t* outer, int64_t* inner) {
  *outer = 1;
  *inner = 1;
  for (size_t k = 0; k < axis; ++k) *outer *= sizes[k];
  for (size_t k = axis + 1; k < sizes.size(); ++k) *inner *= sizes[k];
}

template <typename T>
void resizeNearest(KernelContext& ctx, const std::vector<ResizeAxisTaps>& taps, double extrapolation) {
  const Tensor& in = ctx.input(0);
  Tensor& out = ctx.output(0);
  const std::vector<int64_t>& outSizes = out.shape();
  const std::vector<int64_t> inStrides = contiguousStrides(in.shape());
  const size_t rank = outSizes.size();
  const T* src = in.data<T>();
  T* dst = out.data<T>();
  const T fill = convertElement<double, T>(extrapolation, true);
  ctx.parallelFor(out.elementCount(), 4096, [&](int64_t begin, int64_t end) {
    std::vector<int64_t> index(rank);
    for (int64_t i = begin; i < end; ++i) {
      int64_t rest = i;
      for (size_t d = rank; d-- > 0;) {
        index[d] = rest % outSizes[d];
        rest /= outSizes[d];
      }
      int64_t offset = 0;
      bool outside = false;
      for (size_t d = 0; d < rank && !outside; ++d) {
        const ResizeOutputTaps& t = taps[d].outputs[static_cast<size_t>(index[d])];
        outside = t.outside;
        if (!outside) offset += t.taps[0].index * inStrides[d];
      }
      dst[i] = outside ? fill : src[offset];
    }
  });
}

/// One separable pass along `axis`: [outer, inSize, inner] -> [outer, outSize, inner].
std::vector<double> resizeAxis(KernelContext& ctx, const std::vector<double>& src,
                               std::vector<int64_t>& sizes, size_t axis, const ResizeAxisTaps& taps,
                               double extrapolation) {
  int64_t outer = 0;
  int64_t inner = 0;
  splitAt(sizes, axis, &outer, &inner);
  const int64_t inSize = sizes[axis];
  const auto outSize = static_cast<int64_t>(taps.outputs.size());
  std::vector<double> dst(static_cast<size_t>(outer * outSize * inner));
  ctx.parallelFor(outer * outSize, std::max<int64_t>(1, 4096 / std::max<int64_t>(inner, 1)),
                  [&](int64_t begin, int64_t end) {
                    for (int64_t row = begin; row < end; ++row) {
                      const int64_t b = row / outSize;
                      const int64_t o = row % outSize;
                      double* out = dst.data() + row * inner;
                      const ResizeOutputTaps& t = taps.outputs[static_cast<size_t>(o)];
                      if (t.outside) {
                        std::fill(out, out + inner, extrapolation);
                        continue;
                      }
                      std::fill(out, out + inner, 0.0);
                      for (const ResizeTap& tap : t.taps) {
                        const double* in = src.data() + (b * inSize + tap.index) * inner;
                        for (int64_t k = 0; k < inner; ++k) out[k] += tap.weight * in[k];
                      }
                    }
                  });
  sizes[axis] = outSize;
  return dst;
}

template <typename T>
void resizeInterpolate(KernelContext& ctx, const std::vector<ResizeAxisTaps>& taps, double extrapolation) {
  const Tensor& in = ctx.input(0);
  Tensor& out = ctx.output(0);
  std::vector<double> buffer(static_cast<size_t>(in.elementCount()));
  const T* src = in.data<T>();
  for (size_t i = 0; i < buffer.size(); ++i) buffer[i] = convertElement<T, double>(src[i], true);
  std::vector<int64_t> sizes = in.shape();
  for (size_t axis = sizes.size(); axis-- > 0;) {
    if (taps[axis].identity) continue;
    buffer = resizeAxis(ctx, buffer, sizes, axis, taps[axis], extrapolation);
  }
  T* dst = out.data<T>();
  for (size_t i = 0; i < buffer.size(); ++i) dst[i] = convertElement<double, T>(buffer[i], true);
}

Status asNodeError(const KernelContext& ctx, const Status& s) {
  return s.code() == StatusCode::kUnsupported ? ctx.unsupported(s.message()) : ctx.invalid(s.message());
}

Status resizeKernel(KernelContext& ctx) {
  const ir::Node& node = ctx.node();
  auto attrs = ir::ops::readResizeAttrs(node);
  if (!attrs) return asNodeError(ctx, attrs.status());
  const Tensor& in = ctx.input(0);
  auto geometry = resizeGeometryOf(ctx, *attrs);
  if (!geometry) return asNodeError(ctx, geometry.status());
  Tensor& out = ctx.output(0);
  if (geometry->outSizes != out.shape()) {
    return ctx.invalid("output shape " + out.describe() + " differs from the resized shape " +
                       ir::formatSizes(geometry->outSizes));
  }
  if (out.elementCount() == 0) return {};
  if (in.elementCount() == 0) return ctx.invalid("cannot resize an empty tensor to a non-empty one");

  std::vector<ResizeAxisTaps> taps;
  for (size_t a = 0; a < in.shape().size(); ++a) {
    taps.push_back(ir::ops::resizeAxisTaps(*attrs, *geometry, a, in.shape()[a], out.shape()[a]));
  }
  bool dispatched = false;
  if (attrs->mode == ResizeMode::kNearest) {
    dispatched =
        dispatchStorable(in.type(), [&]<typename T>() { resizeNearest<T>(ctx, taps, attrs->extrapolation); });
  } else if (in.type() != DataType::kBool) {
    dispatched = dispatchType(in.type(), [&]<typename T>() {
      if constexpr (!std::is_same_v<T, bool>) resizeInterpolate<T>(ctx, taps, attrs->extrapolation);
    });
  }
  if (!dispatched) {
    return ctx.unsupported("no resize kernel for " + std::string(dataTypeName(in.type())) + " in this mode");
  }
  return {};
}

}  // namespace

Result<ir::ops::ResizeGeometry> resizeGeometryOf(const KernelContext& ctx,
                                                 const ir::ops::ResizeAttrs& attrs) {
  return ir::ops::resolveNodeResizeGeometry(ctx.node(), attrs, ctx.input(0).shape(), [&](size_t i) {
    ir::ops::ResizeInput r;
    r.present = ctx.hasInput(i) && ctx.input(i).elementCount() > 0;
    r.value = r.present ? &ctx.input(i) : nullptr;
    return r;
  });
}

void registerResizeKernels(KernelRegistry& registry) {
  const TypeSet floats = floatTypes();
  const TypeSet ints = {DataType::kInt32, DataType::kInt64};
  registry.add({.opType = "Resize",
                .name = "any-resize-ref",
                .inputTypes = {allStorableTypes(), floats, floats, ints},
                .outputTypes = {allStorableTypes()},
                .fn = resizeKernel});
  registry.add({.opType = "Upsample",
                .name = "any-upsample-ref",
                .inputTypes = {allStorableTypes(), floats},
                .outputTypes = {allStorableTypes()},
                .fn = resizeKernel});
}

}  // namespace lowp::kernels::ref
