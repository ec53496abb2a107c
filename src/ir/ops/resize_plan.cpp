// Resize / Upsample attribute parsing and output geometry (see resize_plan.h).
#include "ir/ops/resize_plan.h"

#include <algorithm>
#include <cmath>
#include <optional>
#include <set>
#include <string>

#include "ir/numeric.h"
#include "ir/shape.h"

namespace lowp::ir::ops {
namespace {

Status invalidArg(const std::string& message) {
  return Status(StatusCode::kInvalidArgument, message);
}

/// The elements of a float or integer tensor as doubles; nullopt for other types.
std::optional<std::vector<double>> valuesAsDoubles(const Tensor& t) {
  const auto n = static_cast<size_t>(t.elementCount());
  std::vector<double> out(n);
  switch (t.type()) {
    case DataType::kFloat32:
      for (size_t i = 0; i < n; ++i) out[i] = t.data<float>()[i];
      return out;
    case DataType::kFloat64:
      for (size_t i = 0; i < n; ++i) out[i] = t.data<double>()[i];
      return out;
    case DataType::kFloat16:
      for (size_t i = 0; i < n; ++i) out[i] = float16ToFloat(t.data<uint16_t>()[i]);
      return out;
    case DataType::kInt64:
      for (size_t i = 0; i < n; ++i) out[i] = static_cast<double>(t.data<int64_t>()[i]);
      return out;
    case DataType::kInt32:
      for (size_t i = 0; i < n; ++i) out[i] = t.data<int32_t>()[i];
      return out;
    default:
      return std::nullopt;
  }
}

template <typename E>
struct NamedValue {
  const char* name;
  E value;
};

template <typename E, size_t N>
Result<E> parseEnum(const Node& node, const char* attr, const char* fallback,
                    const NamedValue<E> (&table)[N]) {
  const std::string text = node.attributes.getString(attr, fallback);
  std::string allowed;
  for (const auto& entry : table) {
    if (text == entry.name) return entry.value;
    allowed += (allowed.empty() ? "" : ", ") + std::string(entry.name);
  }
  return invalidArg(std::string(attr) + " must be one of " + allowed + "; got '" + text + "'");
}

Result<bool> parseFlag(const Node& node, const char* attr) {
  const int64_t v = node.attributes.getInt(attr, 0);
  if (v != 0 && v != 1) return invalidArg(std::string(attr) + " must be 0 or 1, got " + std::to_string(v));
  return v == 1;
}

/// The largest output size lowp accepts; keeps size arithmetic far from overflow.
constexpr double kMaxOutputSize = 9.0e15;

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

}  // namespace

Result<ResizeAttrs> readResizeAttrs(const Node& node) {
  ResizeAttrs a;
  a.legacy = node.opType == "Upsample" || (node.opsetVersion > 0 && node.opsetVersion < 11);
  if (a.legacy) {
    static constexpr NamedValue<ResizeMode> kModes[] = {{"nearest", ResizeMode::kNearest},
                                                        {"linear", ResizeMode::kLinear}};
    LOWP_ASSIGN_OR_RETURN(a.mode, parseEnum(node, "mode", "nearest", kModes));
    a.coordinate = CoordinateMode::kAsymmetric;
    a.nearest = NearestMode::kLegacy;
    return a;
  }
  static constexpr NamedValue<ResizeMode> kModes[] = {
      {"nearest", ResizeMode::kNearest}, {"linear", ResizeMode::kLinear}, {"cubic", ResizeMode::kCubic}};
  LOWP_ASSIGN_OR_RETURN(a.mode, parseEnum(node, "mode", "nearest", kModes));
  static constexpr NamedValue<CoordinateMode> kCoordinates[] = {
      {"half_pixel", CoordinateMode::kHalfPixel},
      {"half_pixel_symmetric", CoordinateMode::kHalfPixelSymmetric},
      {"pytorch_half_pixel", CoordinateMode::kPytorchHalfPixel},
      {"align_corners", CoordinateMode::kAlignCorners},
      {"asymmetric", CoordinateMode::kAsymmetric},
      {"tf_crop_and_resize", CoordinateMode::kTfCropAndResize},
      {"tf_half_pixel_for_nn", CoordinateMode::kTfHalfPixelForNn}};
  LOWP_ASSIGN_OR_RETURN(a.coordinate,
                        parseEnum(node, "coordinate_transformation_mode", "half_pixel", kCoordinates));
  if (a.coordinate == CoordinateMode::kTfHalfPixelForNn && node.opsetVersion >= 13) {
    return invalidArg("coordinate_transformation_mode tf_half_pixel_for_nn was removed in opset 13");
  }
  static constexpr NamedValue<NearestMode> kNearest[] = {
      {"round_prefer_floor", NearestMode::kRoundPreferFloor},
      {"round_prefer_ceil", NearestMode::kRoundPreferCeil},
      {"floor", NearestMode::kFloor},
      {"ceil", NearestMode::kCeil}};
  LOWP_ASSIGN_OR_RETURN(a.nearest, parseEnum(node, "nearest_mode", "round_prefer_floor", kNearest));
  static constexpr NamedValue<AspectPolicy> kPolicies[] = {{"stretch", AspectPolicy::kStretch},
                                                           {"not_larger", AspectPolicy::kNotLarger},
                                                           {"not_smaller", AspectPolicy::kNotSmaller}};
  LOWP_ASSIGN_OR_RETURN(a.policy, parseEnum(node, "keep_aspect_ratio_policy", "stretch", kPolicies));
  a.cubicA = node.attributes.getFloat("cubic_coeff_a", -0.75f);
  a.extrapolation = node.attributes.getFloat("extrapolation_value", 0.0f);
  LOWP_ASSIGN_OR_RETURN(a.excludeOutside, parseFlag(node, "exclude_outside"));
  LOWP_ASSIGN_OR_RETURN(a.antialias, parseFlag(node, "antialias"));
  a.axes = node.attributes.getInts("axes");
  return a;
}

size_t resizeScalesSlot(const Node& node) {
  return node.opType == "Upsample" ? 1 : 2;
}

Result<ResizeGeometry> resolveResizeGeometry(const ResizeAttrs& attrs, const std::vector<int64_t>& inSizes,
                                             const ResizeInput& roi, const ResizeInput& scales,
                                             const ResizeInput& sizes) {
  const auto rank = static_cast<int64_t>(inSizes.size());
  ResizeGeometry g;
  g.outSizes = inSizes;
  g.scales.assign(inSizes.size(), 1.0);
  g.roiStart.assign(inSizes.size(), 0.0);
  g.roiEnd.assign(inSizes.size(), 1.0);

  std::vector<int64_t> axes;
  std::set<int64_t> seen;
  for (int64_t axis : attrs.axes) {
    LOWP_ASSIGN_OR_RETURN(int64_t a, normalizeAxis(axis, rank, "axes"));
    if (!seen.insert(a).second) return invalidArg("axes lists axis " + std::to_string(a) + " twice");
    axes.push_back(a);
  }
  if (attrs.axes.empty()) {
    for (int64_t a = 0; a < rank; ++a) axes.push_back(a);
  }
  const size_t naxes = axes.size();

  if (scales.present && sizes.present) return invalidArg("only one of scales and sizes may be given");
  if (attrs.legacy && !scales.present) return invalidArg("the scales input is required");
  if (!scales.present && !sizes.present) return invalidArg("one of scales and sizes must be given");

  if (attrs.coordinate == CoordinateMode::kTfCropAndResize && roi.present && roi.value != nullptr) {
    auto v = valuesAsDoubles(*roi.value);
    if (!v) return invalidArg("roi must be a float tensor");
    if (v->size() != 2 * naxes) {
      return invalidArg("roi has " + std::to_string(v->size()) + " elements; expected " +
                        std::to_string(2 * naxes) + " (a start and an end per resized axis)");
    }
    for (size_t i = 0; i < naxes; ++i) {
      g.roiStart[static_cast<size_t>(axes[i])] = (*v)[i];
      g.roiEnd[static_cast<size_t>(axes[i])] = (*v)[naxes + i];
    }
  }

  const ResizeInput& given = scales.present ? scales : sizes;
  if (given.value == nullptr) {
    for (int64_t a : axes) {
      g.outSizes[static_cast<size_t>(a)] = -1;
      g.scales[static_cast<size_t>(a)] = 0.0;
    }
    return g;
  }
  auto values = valuesAsDoubles(*given.value);
  const char* what = scales.present ? "scales" : "sizes";
  if (!values) return invalidArg(std::string(what) + " has an unsupported element type");
  if (values->size() != naxes) {
    return invalidArg(std::string(what) + " has " + std::to_string(values->size()) + " elements; expected " +
                      std::to_string(naxes) +
                      (attrs.axes.empty() ? " (the input's rank)" : " (one per axis in axes)"));
  }
  g.valuesKnown = true;

  if (scales.present) {
    for (size_t i = 0; i < naxes; ++i) {
      const double s = (*values)[i];
      if (!(s > 0.0) || !std::isfinite(s))
        return invalidArg("scales must be positive, got " + std::to_string(s));
      const auto a = static_cast<size_t>(axes[i]);
      g.scales[a] = s;
      if (inSizes[a] < 0) {
        g.outSizes[a] = -1;
        continue;
      }
      const double out = std::floor(s * static_cast<double>(inSizes[a]));
      if (out > kMaxOutputSize)
        return invalidArg("scale " + std::to_string(s) + " makes the output too large");
      g.outSizes[a] = static_cast<int64_t>(out);
    }
    return g;
  }

  for (size_t i = 0; i < naxes; ++i) {
    const double s = (*values)[i];
    if (s < 0 || s > kMaxOutputSize)
      return invalidArg("sizes must be non-negative, got " + std::to_string(s));
  }
  if (attrs.policy == AspectPolicy::kStretch) {
    for (size_t i = 0; i < naxes; ++i) {
      const auto a = static_cast<size_t>(axes[i]);
      g.outSizes[a] = static_cast<int64_t>((*values)[i]);
      g.scales[a] = inSizes[a] > 0 ? (*values)[i] / static_cast<double>(inSizes[a]) : 0.0;
    }
    return g;
  }
  // One scale for every resized axis: the smallest (not_larger) or largest (not_smaller) ratio.
  std::optional<double> scale;
  for (size_t i = 0; i < naxes; ++i) {
    const int64_t in = inSizes[static_cast<size_t>(axes[i])];
    if (in < 0) {
      for (int64_t a : axes) {
        g.outSizes[static_cast<size_t>(a)] = -1;
        g.scales[static_cast<size_t>(a)] = 0.0;
      }
      return g;
    }
    if (in == 0) return invalidArg("keep_aspect_ratio_policy cannot keep the aspect ratio of an empty axis");
    const double r = (*values)[i] / static_cast<double>(in);
    if (!scale || (attrs.policy == AspectPolicy::kNotLarger ? r < *scale : r > *scale)) scale = r;
  }
  for (int64_t axis : axes) {
    const auto a = static_cast<size_t>(axis);
    g.scales[a] = *scale;
    g.outSizes[a] =
        static_cast<int64_t>(std::floor(*scale * static_cast<double>(inSizes[a]) + 0.5));  // half up
  }
  return g;
}

Result<ResizeGeometry> resolveNodeResizeGeometry(const Node& node, const ResizeAttrs& attrs,
                                                 const std::vector<int64_t>& inSizes,
                                                 const std::function<ResizeInput(size_t slot)>& input) {
  const bool upsample = node.opType == "Upsample";
  const ResizeInput roi = upsample ? ResizeInput{} : input(1);
  if (attrs.coordinate == CoordinateMode::kTfCropAndResize && !roi.present)
    return invalidArg("coordinate_transformation_mode tf_crop_and_resize needs a non-empty roi");
  return resolveResizeGeometry(attrs, inSizes, roi, input(resizeScalesSlot(node)),
                               upsample ? ResizeInput{} : input(3));
}

double resizeSourceCoordinate(const ResizeAttrs& attrs, int64_t o, int64_t inSize, int64_t outSize,
                              double scale, double roiStart, double roiEnd, bool* outside) {
  *outside = false;
  const auto x = static_cast<double>(o);
  const auto inWidth = static_cast<double>(inSize);
  // The reference uses the unrounded output width scale * input size here, not the integer output size.
  const double outWidth = scale * inWidth;
  switch (attrs.coordinate) {
    case CoordinateMode::kAsymmetric:
      return x / scale;
    case CoordinateMode::kHalfPixel:
      return (x + 0.5) / scale - 0.5;
    case CoordinateMode::kTfHalfPixelForNn:
      return (x + 0.5) / scale;
    case CoordinateMode::kPytorchHalfPixel:
      return outSize > 1 ? (x + 0.5) / scale - 0.5 : 0.0;
    case CoordinateMode::kHalfPixelSymmetric: {
      // Centres the output on the input when the output size was rounded down.
      const double adjustment = static_cast<double>(outSize) / outWidth;
      const double offset = inWidth / 2 * (1 - adjustment);
      return offset + (x + 0.5) / scale - 0.5;
    }
    case CoordinateMode::kAlignCorners:
      return outWidth == 1 ? 0.0 : x * (inWidth - 1) / (outWidth - 1);
    case CoordinateMode::kTfCropAndResize: {
      double c = outWidth == 1 ? (roiEnd - roiStart) * (inWidth - 1) / 2
                               : x * (roiEnd - roiStart) * (inWidth - 1) / (outWidth - 1);
      c += roiStart * (inWidth - 1);
      *outside = c < 0 || c > inWidth - 1;
      return c;
    }
  }
  return x;
}

ResizeAxisTaps resizeAxisTaps(const ResizeAttrs& attrs, const ResizeGeometry& g, size_t axis, int64_t inSize,
                              int64_t outSize) {
  ResizeAxisTaps axisTaps;
  axisTaps.outputs.resize(static_cast<size_t>(outSize));
  axisTaps.identity = inSize == outSize;
  const double scale = g.scales[axis];
  for (int64_t o = 0; o < outSize; ++o) {
    ResizeOutputTaps& out = axisTaps.outputs[static_cast<size_t>(o)];
    const double x = resizeSourceCoordinate(attrs, o, inSize, outSize, scale, g.roiStart[axis],
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

ResizeTapTable resizeTapTable(const ResizeAxisTaps& axis, int64_t stride) {
  ResizeTapTable t;
  t.identity = axis.identity;
  for (const ResizeOutputTaps& o : axis.outputs) t.taps = std::max(t.taps, static_cast<int>(o.taps.size()));
  const auto width = static_cast<size_t>(t.taps);
  t.count.reserve(axis.outputs.size());
  t.offset.reserve(axis.outputs.size() * width);
  t.weight.reserve(axis.outputs.size() * width);
  for (const ResizeOutputTaps& o : axis.outputs) {
    t.count.push_back(o.outside ? -1 : static_cast<int32_t>(o.taps.size()));
    for (size_t j = 0; j < width; ++j) {
      const bool used = j < o.taps.size();
      t.offset.push_back(used ? o.taps[j].index * stride : 0);
      t.weight.push_back(used ? static_cast<float>(o.taps[j].weight) : 0.0f);
    }
  }
  return t;
}

}  // namespace lowp::ir::ops
