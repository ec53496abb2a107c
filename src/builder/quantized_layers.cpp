#include "builder/quantized_layers.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "ir/ops/fused.h"
#include "kernels/reference/conversion_numeric.h"
#include "quant/calibrator.h"

namespace lowp::builder {
namespace {

bool isConv(const ir::Node& node) {
  return (node.domain.empty() && node.opType == "Conv") ||
         (node.domain == ir::ops::kLowpDomain && node.opType == "FusedConv");
}

bool isMatMul(const ir::Node& node) {
  return (node.domain.empty() && node.opType == "MatMul") ||
         (node.domain == ir::ops::kLowpDomain && node.opType == "FusedMatMul");
}

const Tensor* constantAt(const ir::Node& node, size_t slot) {
  if (slot >= node.inputs.size() || node.inputs[slot] == nullptr || !node.inputs[slot]->constant)
    return nullptr;
  const Tensor* t = &*node.inputs[slot]->constant;
  return t->type() == DataType::kFloat32 ? t : nullptr;
}

bool hasSlot(const ir::Node& node, size_t slot) {
  return slot < node.inputs.size() && node.inputs[slot] != nullptr;
}

// Weights as [channels][perChannel] in row-major order, from W [M, ...] (conv) or B [K, N] (matmul: channel
// is the column).
struct Weights {
  int64_t channels = 0;
  int64_t perChannel = 0;
  bool columns = false;  // channel c's values are at k * channels + c
  float at(const Tensor& w, int64_t c, int64_t k) const {
    return w.data<float>()[columns ? k * channels + c : c * perChannel + k];
  }
};

}  // namespace

float quantizedScaleFromAmax(float amax, DataType precision) {
  return precision == DataType::kFloat8E4M3FN ? amax / 448.0f : quant::int8ScaleFromAmax(amax);
}

float scaleForPrecision(float int8Scale, DataType precision) {
  return precision == DataType::kInt8 ? int8Scale : quantizedScaleFromAmax(int8Scale * 127.0f, precision);
}

bool hasQuantizedForm(const ir::Node& node, DataType precision) {
  if (node.inputs.empty() || node.inputs[0] == nullptr || node.inputs[0]->type != DataType::kFloat32)
    return false;
  if (node.outputs.size() != 1 || node.outputs[0] == nullptr) return false;
  const Tensor* w = constantAt(node, 1);
  if (w == nullptr || (hasSlot(node, 2) && constantAt(node, 2) == nullptr)) return false;
  if (isConv(node)) return precision == DataType::kInt8 && w->rank() >= 3;
  return isMatMul(node) && w->rank() == 2 &&
         (precision == DataType::kInt8 || precision == DataType::kFloat8E4M3FN);
}

Result<QuantizedForm> quantizedForm(const ir::Node& node, float inputScale, bool perChannel,
                                    DataType precision) {
  if (!hasQuantizedForm(node, precision)) {
    return Status(StatusCode::kInternal,
                  node.describe() + " has no " + std::string(dataTypeName(precision)) + " form", node.name);
  }
  const bool fp8 = precision == DataType::kFloat8E4M3FN;
  if (fp8) perChannel = false;
  const bool conv = isConv(node);
  const Tensor& w = *constantAt(node, 1);
  Weights layout;
  if (conv) {
    layout.channels = w.shape()[0];
    layout.perChannel = w.elementCount() / std::max<int64_t>(layout.channels, 1);
  } else {
    layout.channels = w.shape()[1];
    layout.perChannel = w.shape()[0];
    layout.columns = true;
  }

  QuantizedForm form;
  form.opType = conv ? "QuantizedConv" : "QuantizedMatMul";
  form.attributes = node.attributes;  // Conv's and the activation's
  // Scale amax / 127 (amax / 448 for fp8) per channel (or over the whole tensor); a channel of zeros takes
  // scale 1.
  std::vector<float> amax(static_cast<size_t>(layout.channels), 0.0f);
  for (int64_t c = 0; c < layout.channels; ++c) {
    for (int64_t k = 0; k < layout.perChannel; ++k)
      amax[static_cast<size_t>(c)] = std::max(amax[static_cast<size_t>(c)], std::fabs(layout.at(w, c, k)));
  }
  if (!perChannel) std::fill(amax.begin(), amax.end(), *std::max_element(amax.begin(), amax.end()));
  std::vector<float> scales(amax.size());
  for (size_t c = 0; c < amax.size(); ++c)
    scales[c] = amax[c] > 0.0f && std::isfinite(amax[c]) ? quantizedScaleFromAmax(amax[c], precision) : 1.0f;
  // Quantized weights in the quantized op's layout: conv [M, ...] as W; matmul [K, N].
  const std::vector<int64_t> qShape =
      conv ? w.shape() : std::vector<int64_t>{layout.perChannel, layout.channels};
  Tensor q(precision, qShape);
  constexpr kernels::ref::Fp8Format kE4M3 = kernels::ref::fp8Format<DataType::kFloat8E4M3FN>();
  for (int64_t c = 0; c < layout.channels; ++c) {
    const float s = scales[static_cast<size_t>(c)];
    for (int64_t k = 0; k < layout.perChannel; ++k) {
      const int64_t at = conv ? c * layout.perChannel + k : k * layout.channels + c;
      if (fp8) {
        q.data<uint8_t>()[at] = kernels::ref::fp8Encode(layout.at(w, c, k) / s, kE4M3, /*saturate=*/true);
        continue;
      }
      const float v = std::nearbyint(layout.at(w, c, k) / s);
      q.data<int8_t>()[at] = static_cast<int8_t>(std::clamp(v, -127.0f, 127.0f));
    }
  }
  form.constants.emplace(1, std::move(q));
  if (const Tensor* b = constantAt(node, 2); b != nullptr && fp8) {
    form.constants.emplace(2, *b);  // fp8 products take their bias in real units
  } else if (b != nullptr) {
    Tensor qb(DataType::kInt32, {layout.channels});
    for (int64_t c = 0; c < layout.channels; ++c) {
      const double v = std::nearbyint(static_cast<double>(b->data<float>()[c]) /
                                      (static_cast<double>(inputScale) * scales[static_cast<size_t>(c)]));
      const double limit = std::numeric_limits<int32_t>::max();
      if (std::fabs(v) > limit || std::isnan(v)) ++form.biasClamped;
      qb.data<int32_t>()[c] = static_cast<int32_t>(std::isnan(v) ? 0.0 : std::clamp(v, -limit, limit));
    }
    form.constants.emplace(2, std::move(qb));
  }
  form.attributes.set(conv ? "x_scale" : "a_scale", inputScale);
  if (!perChannel) scales.resize(1);
  form.attributes.set(conv ? "w_scales" : "b_scales", std::move(scales));
  form.attributes.set("output_type", static_cast<int64_t>(DataType::kFloat32));
  return form;
}

void setQuantizedOutput(QuantizedForm& form, DataType outputType, float outputScale, DataType residualType,
                        float residualScale) {
  form.attributes.set("output_type", static_cast<int64_t>(outputType));
  if (outputType == DataType::kInt8 || outputType == DataType::kFloat8E4M3FN)
    form.attributes.set("y_scale", outputScale);
  if (residualType == DataType::kInt8) form.attributes.set("z_scale", residualScale);
}

bool preservesScale(std::string_view opType) {
  for (std::string_view op :
       {"MaxPool", "Reshape", "Flatten", "Transpose", "Squeeze", "Unsqueeze", "Identity"}) {
    if (op == opType) return true;
  }
  return false;
}

}  // namespace lowp::builder
