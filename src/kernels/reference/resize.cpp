// Reference kernels of Resize and Upsample.
//
// Each axis gets a table of taps: for every output index, the input indices it reads and their weights
// (nearest: one tap; linear: 2; cubic: 4; antialiased downscaling: as many as the widened filter covers).
// Nearest gathers elements of any stored type. Linear and cubic run one separable pass per resized axis, from
// the last axis to the first as the ONNX reference does, in double (coordinates and weights follow the
// reference's double arithmetic, so the oracle reproduces its data), and round once to the output type
// (integers truncate toward zero and saturate, as conversion_numeric.h's float -> integer rule).
#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "ir/ops/resize_plan.h"
#include "kernels/reference/common.h"
#include "kernels/reference/conversion_numeric.h"

namespace lowp::kernels::ref {
namespace {

using ir::ops::CoordinateMode;
using ir::ops::NearestMode;
using ir::ops::ResizeAttrs;
using ir::ops::ResizeGeometry;
using ir::ops::ResizeMode;

struct Tap {
  int64_t index;
  double weight;
};

/// The taps of one output index along one axis; `outside` marks tf_crop_and_resize extrapolation.
struct OutputTaps {
  bool outside = false;
  std::vector<Tap> taps;
};

struct AxisTaps {
  std::vector<OutputTaps> outputs;
  bool identity = true;  ///< Output index o reads input index o with weight 1, for every o.
};

int64_t nearestIndex(const ResizeAttrs& attrs, double x, double scale) {
  const double k = std::floor(x);
  const double r = x - k;
  if (r == 0.0) return static_cast<int64_t>(k);
  switch (attrs.nearest) {
    case NearestMode::kRoundPreferFloor:
      return static_cast<int64_t>(r <= 0.5 ? k : k + 1);
    case NearestMode::kRoundPreferCeil:
      return static_cast<int64_t>(r < 0.5 ? k : k + 1);
    case NearestMode::kFloor:
      return static_cast<int64_t>(k);
    case NearestMode::kCeil:
      return static_cast<int64_t>(k + 1);
    case NearestMode::kLegacy:
      return static_cast<int64_t>(scale < 1.0 ? k + 1 : k);
  }
  return static_cast<int64_t>(k);
}

/// Keys' cubic convolution kernel with parameter a.
double cubicKernel(double x, double a) {
  x = std::fabs(x);
  const double x2 = x * x;
  const double x3 = x2 * x;
  if (x <= 1) return (a + 2) * x3 - (a + 3) * x2 + 1;
  if (x < 2) return a * x3 - 5 * a * x2 + 8 * a * x - 4 * a;
  return 0.0;
}

/// The interpolation weights for a coordinate with fractional part r in (0, 1]: tap j reads input index
/// k + first + j, where k + r is the coordinate. Written as the ONNX reference writes them.
std::vector<double> interpolationWeights(const ResizeAttrs& attrs, double r, double scale, int64_t* first) {
  std::vector<double> w;
  if (!attrs.antialias || scale >= 1.0) {
    if (attrs.mode == ResizeMode::kLinear) {
      *first = 0;
      return {1 - r, r};
    }
    const double a = attrs.cubicA;
    *first = -1;
    return {((a * (r + 1) - 5 * a) * (r + 1) + 8 * a) * (r + 1) - 4 * a, ((a + 2) * r - (a + 3)) * r * r + 1,
            ((a + 2) * (1 - r) - (a + 3)) * (1 - r) * (1 - r) + 1,
            ((a * ((1 - r) + 1) - 5 * a) * ((1 - r) + 1) + 8 * a) * ((1 - r) + 1) - 4 * a};
  }
  // Antialiased downscaling: the filter is stretched by 1 / scale and normalised.
  const double support = attrs.mode == ResizeMode::kLinear ? 1.0 : 2.0;
  const auto start = static_cast<int64_t>(std::floor(-support / scale) + 1);
  const int64_t count = 2 - 2 * start;
  double sum = 0;
  for (int64_t j = 0; j < count; ++j) {
    const double d = scale * (static_cast<double>(start + j) - r);
    const double v = attrs.mode == ResizeMode::kLinear ? std::clamp(1 - std::fabs(d), 0.0, 1.0)
                                                       : cubicKernel(d, attrs.cubicA);
    w.push_back(v);
    sum += v;
  }
  for (double& v : w) v /= sum;
  *first = start;
  return w;
}

AxisTaps buildAxisTaps(const ResizeAttrs& attrs, const ResizeGeometry& g, size_t axis, int64_t inSize,
                       int64_t outSize) {
  AxisTaps axisTaps;
  axisTaps.outputs.resize(static_cast<size_t>(outSize));
  axisTaps.identity = inSize == outSize;
  const double scale = g.scales[axis];
  for (int64_t o = 0; o < outSize; ++o) {
    OutputTaps& out = axisTaps.outputs[static_cast<size_t>(o)];
    const double x = ir::ops::resizeSourceCoordinate(attrs, o, inSize, outSize, scale, g.roiStart[axis],
                                                     g.roiEnd[axis], &out.outside);
    if (out.outside) {
      axisTaps.identity = false;
      continue;
    }
    if (attrs.mode == ResizeMode::kNearest) {
      out.taps.push_back({std::clamp<int64_t>(nearestIndex(attrs, x, scale), 0, inSize - 1), 1.0});
    } else {
      // Split x into k + r with r in (0, 1], so an integer coordinate reads from the right-hand tap.
      double k = std::floor(x);
      double r = x - k;
      if (r == 0.0) {
        r = 1.0;
        k -= 1;
      }
      int64_t first = 0;
      std::vector<double> w = interpolationWeights(attrs, r, scale, &first);
      const auto base = static_cast<int64_t>(k) + first;
      if (attrs.excludeOutside) {
        double sum = 0;
        for (size_t j = 0; j < w.size(); ++j) {
          const int64_t idx = base + static_cast<int64_t>(j);
          if (idx < 0 || idx >= inSize) w[j] = 0;
          sum += w[j];
        }
        for (double& v : w) v /= sum;
      }
      for (size_t j = 0; j < w.size(); ++j) {
        if (w[j] == 0.0) continue;  // skipping zero weights keeps unaffected axes cheap
        out.taps.push_back({std::clamp<int64_t>(base + static_cast<int64_t>(j), 0, inSize - 1), w[j]});
      }
    }
    if (out.taps.size() != 1 || out.taps[0].index != o || out.taps[0].weight != 1.0)
      axisTaps.identity = false;
  }
  return axisTaps;
}

/// The products of the sizes before and after `axis`.
void splitAt(const std::vector<int64_t>& sizes, size_t axis, int64_t* outer, int64_t* inner) {
  *outer = 1;
  *inner = 1;
  for (size_t k = 0; k < axis; ++k) *outer *= sizes[k];
  for (size_t k = axis + 1; k < sizes.size(); ++k) *inner *= sizes[k];
}

template <typename T>
void resizeNearest(KernelContext& ctx, const std::vector<AxisTaps>& taps, double extrapolation) {
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
        const OutputTaps& t = taps[d].outputs[static_cast<size_t>(index[d])];
        outside = t.outside;
        if (!outside) offset += t.taps[0].index * inStrides[d];
      }
      dst[i] = outside ? fill : src[offset];
    }
  });
}

/// One separable pass along `axis`: [outer, inSize, inner] -> [outer, outSize, inner].
std::vector<double> resizeAxis(KernelContext& ctx, const std::vector<double>& src,
                               std::vector<int64_t>& sizes, size_t axis, const AxisTaps& taps,
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
                      const OutputTaps& t = taps.outputs[static_cast<size_t>(o)];
                      if (t.outside) {
                        std::fill(out, out + inner, extrapolation);
                        continue;
                      }
                      std::fill(out, out + inner, 0.0);
                      for (const Tap& tap : t.taps) {
                        const double* in = src.data() + (b * inSize + tap.index) * inner;
                        for (int64_t k = 0; k < inner; ++k) out[k] += tap.weight * in[k];
                      }
                    }
                  });
  sizes[axis] = outSize;
  return dst;
}

template <typename T>
void resizeInterpolate(KernelContext& ctx, const std::vector<AxisTaps>& taps, double extrapolation) {
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
  const bool upsample = node.opType == "Upsample";
  auto inputOf = [&](size_t i) {
    ir::ops::ResizeInput r;
    r.present = ctx.hasInput(i) && ctx.input(i).elementCount() > 0;
    r.value = r.present ? &ctx.input(i) : nullptr;
    return r;
  };
  const Tensor& in = ctx.input(0);
  const ir::ops::ResizeInput roi = upsample ? ir::ops::ResizeInput{} : inputOf(1);
  if (attrs->coordinate == CoordinateMode::kTfCropAndResize && !roi.present) {
    return ctx.invalid("coordinate_transformation_mode tf_crop_and_resize needs a non-empty roi");
  }
  auto geometry =
      ir::ops::resolveResizeGeometry(*attrs, in.shape(), roi, inputOf(ir::ops::resizeScalesSlot(node)),
                                     upsample ? ir::ops::ResizeInput{} : inputOf(3));
  if (!geometry) return asNodeError(ctx, geometry.status());
  Tensor& out = ctx.output(0);
  if (geometry->outSizes != out.shape()) {
    return ctx.invalid("output shape " + out.describe() + " differs from the resized shape " +
                       ir::formatSizes(geometry->outSizes));
  }
  if (out.elementCount() == 0) return {};
  if (in.elementCount() == 0) return ctx.invalid("cannot resize an empty tensor to a non-empty one");

  std::vector<AxisTaps> taps;
  for (size_t a = 0; a < in.shape().size(); ++a) {
    taps.push_back(buildAxisTaps(*attrs, *geometry, a, in.shape()[a], out.shape()[a]));
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
