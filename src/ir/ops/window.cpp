// Sliding-window geometry of the convolutions and pools; see window.h.
#include "ir/ops/window.h"

#include <string>

namespace lowp::ir::ops {
namespace {

Status bad(const std::string& message) {
  return Status(StatusCode::kInvalidArgument, message);
}

// Reads a per-axis ints attribute of `count` values (default `fallback`), each at least `minValue`.
Result<std::vector<int64_t>> readAxes(const AttributeMap& attrs, const char* name, size_t count,
                                      int64_t fallback, int64_t minValue) {
  if (!attrs.has(name)) return std::vector<int64_t>(count, fallback);
  std::vector<int64_t> values = attrs.getInts(name);
  if (values.size() != count) {
    return bad(std::string(name) + " has " + std::to_string(values.size()) + " values but the op has " +
               std::to_string(count) + " spatial axes");
  }
  for (int64_t v : values) {
    if (v < minValue) {
      return bad(std::string(name) + " value " + std::to_string(v) + " is below " + std::to_string(minValue));
    }
  }
  return values;
}

int64_t dilatedExtent(const Window& w, size_t axis) {
  return w.dilations[axis] * (w.kernel[axis] - 1) + 1;
}

// Splits `total` padding between the two ends; SAME_UPPER puts the odd element at the end. A negative
// total (ConvTranspose asked for more output than the full result) halves with floor division, as ONNX's
// reference does, so the extra output row lands at the end.
void splitPads(Window& w, size_t axis, int64_t total, bool upper) {
  const int64_t half = total >= 0 ? total / 2 : -((1 - total) / 2);
  w.padsBegin[axis] = upper ? half : total - half;
  w.padsEnd[axis] = total - w.padsBegin[axis];
}

}  // namespace

Result<Window> readWindow(const AttributeMap& attrs, const std::vector<int64_t>& kernel) {
  Window w;
  const size_t axes = kernel.size();
  w.kernel = kernel;
  for (int64_t k : kernel) {
    if (k == 0 || k < -1) return bad("kernel size " + std::to_string(k) + " is not positive");
  }
  std::string autoPad = attrs.getString("auto_pad", "NOTSET");
  if (autoPad == "NOTSET" || autoPad.empty()) {
    w.autoPad = AutoPad::kNotSet;
  } else if (autoPad == "SAME_UPPER") {
    w.autoPad = AutoPad::kSameUpper;
  } else if (autoPad == "SAME_LOWER") {
    w.autoPad = AutoPad::kSameLower;
  } else if (autoPad == "VALID") {
    w.autoPad = AutoPad::kValid;
  } else {
    return bad("auto_pad '" + autoPad + "' is not one of NOTSET, SAME_UPPER, SAME_LOWER, VALID");
  }
  auto strides = readAxes(attrs, "strides", axes, 1, 1);
  if (!strides) return strides.status();
  auto dilations = readAxes(attrs, "dilations", axes, 1, 1);
  if (!dilations) return dilations.status();
  auto pads = readAxes(attrs, "pads", 2 * axes, 0, 0);
  if (!pads) return pads.status();
  w.strides = std::move(strides).value();
  w.dilations = std::move(dilations).value();
  w.padsBegin.assign(axes, 0);
  w.padsEnd.assign(axes, 0);
  if (w.autoPad == AutoPad::kNotSet) {
    for (size_t d = 0; d < axes; ++d) {
      w.padsBegin[d] = (*pads)[d];
      w.padsEnd[d] = (*pads)[axes + d];
    }
  }
  w.output.assign(axes, -1);
  return w;
}

Status resolveForwardWindow(Window& w, const std::vector<int64_t>& input, bool ceilMode) {
  for (size_t d = 0; d < w.kernel.size(); ++d) {
    const int64_t in = input[d];
    const int64_t s = w.strides[d];
    if (in < 0) continue;
    if (w.autoPad == AutoPad::kSameUpper || w.autoPad == AutoPad::kSameLower) {
      w.output[d] = (in + s - 1) / s;
      if (w.kernel[d] < 0) continue;
      int64_t total = (w.output[d] - 1) * s + dilatedExtent(w, d) - in;
      splitPads(w, d, total > 0 ? total : 0, w.autoPad == AutoPad::kSameUpper);
      continue;
    }
    if (w.kernel[d] < 0) continue;
    const int64_t extent = dilatedExtent(w, d);
    const int64_t span = in + w.padsBegin[d] + w.padsEnd[d] - extent;
    if (span < 0) {
      if (in == 0) {
        w.output[d] = 0;
        continue;
      }
      return bad("the dilated kernel (" + std::to_string(extent) + ") is larger than the padded input (" +
                 std::to_string(in + w.padsBegin[d] + w.padsEnd[d]) + ") on spatial axis " +
                 std::to_string(d));
    }
    int64_t out = (ceilMode ? (span + s - 1) / s : span / s) + 1;
    // A last window that would start inside the end padding is dropped (as PyTorch and ONNX do).
    if (ceilMode && out > 1 && (out - 1) * s >= in + w.padsBegin[d]) --out;
    w.output[d] = out;
  }
  return {};
}

Status resolveTransposedWindow(Window& w, const AttributeMap& attrs, const std::vector<int64_t>& input) {
  const size_t axes = w.kernel.size();
  auto outputPadding = readAxes(attrs, "output_padding", axes, 0, 0);
  if (!outputPadding) return outputPadding.status();
  std::vector<int64_t> outputShape = attrs.getInts("output_shape");
  // output_shape lists the spatial sizes; some exporters write the whole shape (N, C, spatial...).
  if (outputShape.size() == axes + 2) outputShape.erase(outputShape.begin(), outputShape.begin() + 2);
  if (attrs.has("output_shape") && outputShape.size() != axes) {
    return bad("output_shape has " + std::to_string(attrs.getInts("output_shape").size()) +
               " values but the op has " + std::to_string(axes) + " spatial axes");
  }
  for (int64_t v : outputShape) {
    if (v < 0) return bad("output_shape value " + std::to_string(v) + " is negative");
  }
  const bool same = w.autoPad == AutoPad::kSameUpper || w.autoPad == AutoPad::kSameLower;
  for (size_t d = 0; d < axes; ++d) {
    const int64_t in = input[d];
    const int64_t s = w.strides[d];
    int64_t target = -1;
    if (!outputShape.empty()) {
      target = outputShape[d];
    } else if (same && in >= 0) {
      target = in * s;
    }
    if (target >= 0) {
      w.output[d] = target;
      if (in < 0 || w.kernel[d] < 0) continue;
      int64_t total = s * (in - 1) + (*outputPadding)[d] + dilatedExtent(w, d) - target;
      splitPads(w, d, total, w.autoPad == AutoPad::kSameUpper);
      continue;
    }
    if (in < 0 || w.kernel[d] < 0) continue;
    int64_t out = s * (in - 1) + (*outputPadding)[d] + dilatedExtent(w, d) - w.padsBegin[d] - w.padsEnd[d];
    if (in == 0) out = 0;
    if (out < 0) {
      return bad("the pads (" + std::to_string(w.padsBegin[d]) + ", " + std::to_string(w.padsEnd[d]) +
                 ") remove more than the whole output on spatial axis " + std::to_string(d));
    }
    w.output[d] = out;
  }
  return {};
}

}  // namespace lowp::ir::ops
