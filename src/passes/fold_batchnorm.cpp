// fold_batchnorm: BatchNormalization in inference is a per-channel affine map, y = s * x + t with
// s = scale / sqrt(var + epsilon) and t = B - mean * s, so it folds into the linear op that produces x:
//   W'[.., c, ..] = W[.., c, ..] * s[c],   b'[c] = b[c] * s[c] + t[c]   (b = 0 when there is no bias).
// Where the output channel c sits in the weights:
//   Conv           W [M, C/group, k...]        c = the first index
//   ConvTranspose  W [C, M/group, k...]        c = (first index / (C/group)) * (M/group) + second index
//   Gemm           B [K, N], or [N, K] with transB    c = the N index; the bias C must broadcast along N
//                  only (scalar, [N] or [1, N]); it becomes beta * C, stored as [N] with beta = 1.
//
// Targets: BatchNormalization (training_mode 0, spatial 1, no training outputs) with constant parameters,
// whose input X comes from a default-domain Conv, ConvTranspose or Gemm that nothing else reads, X not a
// graph output, with constant fp32 or fp64 weights and a constant or absent bias. The new weights and bias
// are computed in double and stored in the weights' type as new constants (the old ones may be shared).
// The producer takes over the BN's output value and records the BN's name in absorbedNames.
#include <cmath>
#include <optional>

#include "passes/rules.h"

namespace lowp::passes {
namespace {

// Where the producer's output channels sit in its weight tensor.
struct ChannelLayout {
  int64_t channels = 0;  ///< Output channels (the BN's channel count).
  int64_t outer = 1;     ///< ConvTranspose only: input channels per group.
  int64_t inner = 1;     ///< Elements per channel step: Conv (C/group) x kernel, ConvTranspose kernel, Gemm
                         ///< transB=1 K.
  int64_t groups = 1;    ///< ConvTranspose only.
  bool transposed = false;
  bool gemm = false;

  int64_t channelOf(int64_t element) const {
    if (gemm) return transposed ? element / inner : element % channels;
    if (!transposed) return element / inner;
    const int64_t perGroup = channels / groups;  // M / group: the weights' second dim
    const int64_t row = element / (perGroup * inner);
    return (row / outer) * perGroup + (element / inner) % perGroup;
  }
};

std::optional<ChannelLayout> layoutOf(const ir::Node& producer, const Tensor& w) {
  const auto& shape = w.shape();
  ChannelLayout layout;
  if (producer.opType == "Gemm") {
    if (shape.size() != 2) return std::nullopt;
    layout.gemm = true;
    layout.transposed = producer.attributes.getInt("transB", 0) != 0;
    layout.channels = layout.transposed ? shape[0] : shape[1];
    layout.inner = layout.transposed ? shape[1] : 1;
    return layout;
  }
  if (shape.size() < 3) return std::nullopt;
  int64_t kernel = 1;
  for (size_t i = 2; i < shape.size(); ++i) kernel *= shape[i];
  layout.inner = kernel;
  if (producer.opType == "Conv") {
    layout.channels = shape[0];
    layout.inner = shape[1] * kernel;
    return layout;
  }
  const int64_t group = producer.attributes.getInt("group", 1);
  if (group <= 0 || shape[0] % group != 0) return std::nullopt;
  layout.transposed = true;
  layout.groups = group;
  layout.outer = shape[0] / group;
  layout.channels = shape[1] * group;
  return layout;
}

bool isFloatWeight(const ir::Value* w) {
  return w != nullptr && w->constant && (w->type == DataType::kFloat32 || w->type == DataType::kFloat64);
}

// Gemm's C may broadcast along N only: scalar, [N] or [1, N].
bool biasFits(const ir::Node& producer, const ir::Value& bias, int64_t channels) {
  if (!bias.constant) return false;
  const auto& shape = bias.constant->shape();
  if (producer.opType != "Gemm") return bias.constant->elementCount() == channels;
  if (bias.constant->elementCount() == 1) return true;
  return bias.constant->elementCount() == channels &&
         (shape.size() == 1 || (shape.size() == 2 && shape[0] == 1));
}

bool followsFoldableLinearOp(const ir::Graph& /*graph*/, const ir::Node& bn) {
  if (bn.attributes.getInt("training_mode", 0) != 0 || bn.attributes.getInt("spatial", 1) != 1) return false;
  if (bn.outputs.empty() || bn.outputs[0] == nullptr) return false;
  for (size_t i = 1; i < bn.outputs.size(); ++i) {
    if (bn.outputs[i] != nullptr) return false;
  }
  const ir::Value* x = bn.input(0);
  if (x == nullptr || x->isGraphOutput || x->consumers.size() != 1 || x->producer == nullptr) return false;
  const ir::Node& producer = *x->producer;
  if (!producer.domain.empty() || producer.outputs.size() != 1) return false;
  if (producer.opType != "Conv" && producer.opType != "ConvTranspose" && producer.opType != "Gemm")
    return false;
  const ir::Value* w = producer.input(1);
  if (!isFloatWeight(w) || x->type != w->type) return false;
  auto layout = layoutOf(producer, *w->constant);
  if (!layout) return false;
  if (const ir::Value* b = producer.input(2)) {
    if (b->type != w->type || !biasFits(producer, *b, layout->channels)) return false;
  }
  for (size_t i = 1; i < 5; ++i) {
    const ir::Value* p = bn.input(i);
    if (p == nullptr || !p->constant || !ir::isFloat(p->type) ||
        p->constant->elementCount() != layout->channels) {
      return false;
    }
  }
  return true;
}

double at(const Tensor& t, int64_t i) {
  return elementAsDouble(t, i);
}

void store(Tensor& t, int64_t i, double v) {
  if (t.type() == DataType::kFloat64) {
    t.data<double>()[i] = v;
  } else {
    t.data<float>()[i] = static_cast<float>(v);
  }
}

Result<bool> foldIntoProducer(ir::Graph& graph, ir::Node& bn) {
  ir::Value* x = bn.inputs[0];
  ir::Value* y = bn.outputs[0];
  ir::Node& producer = *x->producer;
  const ir::Value* w = producer.inputs[1];
  const Tensor& weights = *w->constant;
  const ChannelLayout layout = *layoutOf(producer, weights);
  const int64_t channels = layout.channels;
  const double epsilon = bn.attributes.getFloat("epsilon", 1e-5f);
  const Tensor& scale = *bn.inputs[1]->constant;
  const Tensor& shift = *bn.inputs[2]->constant;
  const Tensor& mean = *bn.inputs[3]->constant;
  const Tensor& var = *bn.inputs[4]->constant;
  const Tensor* bias = producer.input(2) != nullptr ? &*producer.inputs[2]->constant : nullptr;
  const bool gemm = producer.opType == "Gemm";
  const double biasScale = gemm ? producer.attributes.getFloat("beta", 1.0f) : 1.0;

  std::vector<double> s(static_cast<size_t>(channels));
  Tensor newBias(weights.type(), {channels});
  for (int64_t c = 0; c < channels; ++c) {
    s[static_cast<size_t>(c)] = at(scale, c) / std::sqrt(at(var, c) + epsilon);
    double b = 0.0;
    if (bias != nullptr) b = biasScale * at(*bias, bias->elementCount() == 1 ? 0 : c);
    store(newBias, c, (b - at(mean, c)) * s[static_cast<size_t>(c)] + at(shift, c));
  }
  Tensor newWeights(weights.type(), weights.shape());
  for (int64_t e = 0; e < weights.elementCount(); ++e) {
    store(newWeights, e, at(weights, e) * s[static_cast<size_t>(layout.channelOf(e))]);
  }

  LOWP_ASSIGN_OR_RETURN(ir::Value * wValue, graph.addValue(uniqueValueName(graph, w->name + "_bn_folded")));
  wValue->type = weights.type();
  wValue->shape = ir::Shape::fromSizes(weights.shape());
  wValue->constant = std::move(newWeights);
  LOWP_ASSIGN_OR_RETURN(ir::Value * bValue,
                        graph.addValue(uniqueValueName(graph, producer.name + "_bn_bias")));
  bValue->type = weights.type();
  bValue->shape = ir::Shape({channels});
  bValue->constant = std::move(newBias);

  std::vector<std::string> absorbed = bn.absorbedNames;
  absorbed.insert(absorbed.begin(), bn.name);
  graph.removeNode(&bn);
  graph.setInput(&producer, 1, wValue);
  graph.setInput(&producer, 2, bValue);
  if (gemm) producer.attributes.set("beta", 1.0f);
  producer.outputs[0] = y;
  y->producer = &producer;
  x->producer = nullptr;
  producer.absorbedNames.insert(producer.absorbedNames.end(), absorbed.begin(), absorbed.end());
  return true;
}

}  // namespace

const RewriteRule& foldBatchNormRule() {
  static const RewriteRule rule{.name = "fold_batchnorm",
                                .opTypes = {"BatchNormalization"},
                                .condition = followsFoldableLinearOp,
                                .rewrite = foldIntoProducer};
  return rule;
}

}  // namespace lowp::passes
