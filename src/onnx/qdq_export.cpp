// QDQ export of calibrated scales; the contract is in qdq_export.h.
#include "onnx/qdq_export.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <string_view>
#include <utility>

#include "onnx/onnx_pb.h"
#include "onnx/tensor_proto.h"

namespace lowp::onnx {
namespace fs = std::filesystem;
namespace {

using ::onnx::GraphProto;
using ::onnx::ModelProto;
using ::onnx::NodeProto;
using ::onnx::TensorProto;

bool isDefaultDomain(const std::string& domain) {
  return domain.empty() || domain == "ai.onnx";
}

const ::onnx::AttributeProto* findAttribute(const NodeProto& node, std::string_view name) {
  for (const auto& a : node.attribute()) {
    if (a.name() == name) return &a;
  }
  return nullptr;
}

int64_t intAttribute(const NodeProto& node, std::string_view name, int64_t fallback) {
  const ::onnx::AttributeProto* a = findAttribute(node, name);
  return a != nullptr ? a->i() : fallback;
}

// The importer's name for a node: its name, or "<op>_<index>" when it has none.
std::string nodeLabel(const NodeProto& node, int index) {
  return node.name().empty() ? node.op_type() + "_" + std::to_string(index) : node.name();
}

// ---- raising the opset ------------------------------------------------------------------------------------

// A default-domain op whose meaning or signature changes at `version`: a model of an older opset that holds
// it (with `attribute` set, where one is named) is not valid, or means something else, at `version` and
// later.
struct OpsetChange {
  std::string_view op;
  int64_t version;
  std::string_view attribute;  // empty: the change matters whatever the attributes
  std::string_view what;
};

constexpr OpsetChange kOpsetChanges[] = {
    {"Upsample", 9, "", "takes its scales as an input"},
    {"BatchNormalization", 9, "spatial", "lost the spatial attribute"},
    {"Scan", 9, "", "changed its inputs"},
    {"Upsample", 10, "", "is deprecated"},
    {"Slice", 10, "", "takes starts, ends and axes as inputs"},
    {"TopK", 10, "", "takes k as an input"},
    {"Affine", 10, "", "was removed"},
    {"ConstantFill", 10, "", "was removed"},
    {"Crop", 10, "", "was removed"},
    {"DynamicSlice", 10, "", "was removed"},
    {"GRUUnit", 10, "", "was removed"},
    {"GivenTensorFill", 10, "", "was removed"},
    {"ImageScaler", 10, "", "was removed"},
    {"ParametricSoftplus", 10, "", "was removed"},
    {"Scale", 10, "", "was removed"},
    {"ScaledTanh", 10, "", "was removed"},
    {"Pad", 11, "", "takes pads and value as inputs"},
    {"Resize", 11, "", "changed its inputs (roi, scales, sizes)"},
    {"Clip", 11, "min", "takes min and max as inputs"},
    {"Clip", 11, "max", "takes min and max as inputs"},
    {"Scatter", 11, "", "is deprecated"},
    {"Dropout", 12, "ratio", "takes ratio as an input"},
    {"Softmax", 13, "", "normalises over one axis instead of the flattened trailing axes"},
    {"LogSoftmax", 13, "", "normalises over one axis instead of the flattened trailing axes"},
    {"Hardmax", 13, "", "works on one axis instead of the flattened trailing axes"},
    {"Split", 13, "split", "takes split as an input"},
    {"Squeeze", 13, "axes", "takes axes as an input"},
    {"Unsqueeze", 13, "axes", "takes axes as an input"},
    {"ReduceSum", 13, "axes", "takes axes as an input"},
};

// Why `graph` (subgraphs included) cannot move from opset `from` to `to`: the first node in the way; "" if
// none.
std::string opsetBlocker(const GraphProto& graph, int64_t from, int64_t to) {
  for (int i = 0; i < graph.node_size(); ++i) {
    const NodeProto& node = graph.node(i);
    for (const auto& a : node.attribute()) {
      if (a.has_g()) {
        if (std::string why = opsetBlocker(a.g(), from, to); !why.empty()) return why;
      }
      for (const GraphProto& g : a.graphs()) {
        if (std::string why = opsetBlocker(g, from, to); !why.empty()) return why;
      }
    }
    if (!isDefaultDomain(node.domain())) continue;
    for (const OpsetChange& change : kOpsetChanges) {
      if (node.op_type() != change.op || change.version <= from || change.version > to) continue;
      if (!change.attribute.empty() && findAttribute(node, change.attribute) == nullptr) continue;
      return "node '" + nodeLabel(node, i) + "' (" + node.op_type() + ") " + std::string(change.what) +
             " from opset " + std::to_string(change.version);
    }
  }
  return {};
}

// Every tensor name `graph` and its subgraphs read.
void collectReads(const GraphProto& graph, std::set<std::string>& reads) {
  for (const NodeProto& node : graph.node()) {
    for (const std::string& input : node.input()) reads.insert(input);
    for (const auto& a : node.attribute()) {
      if (a.has_g()) collectReads(a.g(), reads);
      for (const GraphProto& g : a.graphs()) collectReads(g, reads);
    }
  }
  for (const auto& output : graph.output()) reads.insert(output.name());
}

// Every name `graph` and its subgraphs use, for values and nodes alike, so that new names collide with none.
void collectNames(const GraphProto& graph, std::set<std::string>& names) {
  for (const NodeProto& node : graph.node()) {
    names.insert(node.name());
    names.insert(node.input().begin(), node.input().end());
    names.insert(node.output().begin(), node.output().end());
    for (const auto& a : node.attribute()) {
      if (a.has_g()) collectNames(a.g(), names);
      for (const GraphProto& g : a.graphs()) collectNames(g, names);
    }
  }
  for (const auto& t : graph.initializer()) names.insert(t.name());
  for (const auto& v : graph.input()) names.insert(v.name());
  for (const auto& v : graph.output()) names.insert(v.name());
  for (const auto& v : graph.value_info()) names.insert(v.name());
}

// Every read of a tensor by `graph` and its subgraphs, and each graph output, counted once.
void countReads(const GraphProto& graph, std::map<std::string, int>& reads) {
  for (const NodeProto& node : graph.node()) {
    for (const std::string& input : node.input()) ++reads[input];
    for (const auto& a : node.attribute()) {
      if (a.has_g()) countReads(a.g(), reads);
      for (const GraphProto& g : a.graphs()) countReads(g, reads);
    }
  }
  for (const auto& output : graph.output()) ++reads[output.name()];
}

// ---- initializers -----------------------------------------------------------------------------------------

TensorProto int8Tensor(const std::string& name, const std::vector<int64_t>& dims,
                       const std::vector<int8_t>& q) {
  TensorProto t;
  t.set_name(name);
  t.set_data_type(TensorProto::INT8);
  for (int64_t d : dims) t.add_dims(d);
  t.set_raw_data(std::string(reinterpret_cast<const char*>(q.data()), q.size()));
  return t;
}

TensorProto uint8Tensor(const std::string& name, uint8_t value) {
  TensorProto t;
  t.set_name(name);
  t.set_data_type(TensorProto::UINT8);
  t.set_raw_data(std::string(1, static_cast<char>(value)));
  return t;
}

TensorProto int32Tensor(const std::string& name, const std::vector<int64_t>& dims,
                        const std::vector<int32_t>& v) {
  TensorProto t;
  t.set_name(name);
  t.set_data_type(TensorProto::INT32);
  for (int64_t d : dims) t.add_dims(d);
  // raw_data is little-endian, as ONNX defines it; lowp builds for little-endian hosts only.
  t.set_raw_data(std::string(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(int32_t)));
  return t;
}

TensorProto floatTensor(const std::string& name, const std::vector<int64_t>& dims,
                        const std::vector<float>& v) {
  TensorProto t;
  t.set_name(name);
  t.set_data_type(TensorProto::FLOAT);
  for (int64_t d : dims) t.add_dims(d);
  t.set_raw_data(std::string(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(float)));
  return t;
}

struct QuantizedWeight {
  std::vector<int8_t> values;
  std::vector<float> scales;  // one per index along the axis, or one for the tensor
};

// Symmetric int8 quantization of `w` with one scale per index along `axis` (-1: one scale for the tensor).
Result<QuantizedWeight> quantizeWeight(const Tensor& w, int64_t axis, const std::string& name) {
  const auto& dims = w.shape();
  const int64_t channels = axis < 0 ? 1 : dims[static_cast<size_t>(axis)];
  int64_t inner = 1;
  for (size_t d = static_cast<size_t>(axis + 1); axis >= 0 && d < dims.size(); ++d) inner *= dims[d];
  const float* x = w.data<float>();
  const int64_t n = w.elementCount();
  auto channelOf = [&](int64_t i) { return axis < 0 ? 0 : (i / inner) % channels; };

  std::vector<float> amax(static_cast<size_t>(channels), 0.0f);
  for (int64_t i = 0; i < n; ++i) {
    if (!std::isfinite(x[i])) {
      return Status(StatusCode::kInvalidModel,
                    "weight '" + name + "' holds a non-finite value at element " + std::to_string(i));
    }
    float& m = amax[static_cast<size_t>(channelOf(i))];
    m = std::max(m, std::fabs(x[i]));
  }
  QuantizedWeight q;
  for (float m : amax) q.scales.push_back(m > 0.0f ? m / 127.0f : 1.0f);  // an all-zero channel stays 0
  q.values.resize(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    const float r = std::nearbyint(x[i] / q.scales[static_cast<size_t>(channelOf(i))]);  // half to even
    q.values[static_cast<size_t>(i)] = static_cast<int8_t>(std::clamp(r, -128.0f, 127.0f));
  }
  return q;
}

// ---- the rewrite ------------------------------------------------------------------------------------------

// How an activation is stored between its QuantizeLinear and DequantizeLinear: real = (q - zeroPoint) *
// scale.
struct ActivationQuant {
  float scale = 1.0f;
  bool isUnsigned = false;  // uint8 (zero point 0 or 128); int8 (zero point 0) otherwise
  int zeroPoint = 0;
};

// One read of a constant weight by a node that gets Q/DQ.
struct WeightRead {
  int node;
  int slot;
  int64_t axis;  // the output-channel axis; -1 where the weight has none (a 1-d MatMul operand)
};

// A Conv / ConvTranspose / Gemm / MatMul that gets Q/DQ.
struct LayerPlan {
  std::string input;  // input 0 as the model names it (Q/DQ on a graph input renames what nodes read)
  std::vector<std::string> activations;
  std::vector<WeightRead> weights;
};

// Where a tensor's QuantizeLinear goes: after output `slot` of node `node`, or (node -1) on a graph input.
struct Placement {
  int node = -1;
  int slot = 0;
};

bool isLayerOp(const NodeProto& node) {
  const std::string& op = node.op_type();
  return isDefaultDomain(node.domain()) &&
         (op == "Conv" || op == "ConvTranspose" || op == "Gemm" || op == "MatMul");
}

bool isPoolOp(const NodeProto& node) {
  return isDefaultDomain(node.domain()) &&
         (node.op_type() == "GlobalAveragePool" || node.op_type() == "AveragePool");
}

// Ops whose output, given a quantized input 0, takes the same quantization exactly: they move or select
// values. MaxPool only where every window holds an input element (pads smaller than the dilated kernel, no
// ceil_mode), since the quantization of -infinity is not -infinity; and not with its Indices output.
bool movesValues(const NodeProto& node) {
  if (!isDefaultDomain(node.domain()) || node.output_size() != 1 || node.input_size() < 1) return false;
  const std::string& op = node.op_type();
  if (op == "Reshape" || op == "Flatten" || op == "Transpose" || op == "Squeeze" || op == "Unsqueeze") {
    return true;
  }
  if (op != "MaxPool" || intAttribute(node, "ceil_mode", 0) != 0 ||
      intAttribute(node, "storage_order", 0) != 0)
    return false;
  const auto* kernel = findAttribute(node, "kernel_shape");
  if (kernel == nullptr) return false;
  const auto* pads = findAttribute(node, "pads");
  const auto* dilations = findAttribute(node, "dilations");
  const int rank = kernel->ints_size();
  for (int d = 0; pads != nullptr && d < pads->ints_size(); ++d) {
    const int64_t dilation =
        dilations != nullptr && dilations->ints_size() == rank ? dilations->ints(d % rank) : 1;
    if (pads->ints(d) >= (kernel->ints(d % rank) - 1) * dilation + 1) return false;
  }
  return true;
}

// How many ops a tensor may pass through (reshapes, pooling, Adds, activations) on its way to a quantized
// layer for the ops on the way to be quantized too; deeper chains stay fp32 and keep the search bounded.
constexpr int kMaxPassThroughDepth = 64;

class QdqExporter {
 public:
  QdqExporter(ModelProto& model, const std::map<std::string, float>& scales, fs::path baseDir,
              QdqExportReport& report)
      : model_(model),
        graph_(*model.mutable_graph()),
        scales_(scales),
        baseDir_(std::move(baseDir)),
        report_(report) {}

  Status run() {
    collectNames(graph_, names_);
    indexGraph();
    LOWP_RETURN_IF_ERROR(foldBatchNorms());
    indexGraph();
    planLayers();
    LOWP_RETURN_IF_ERROR(chooseOpset());
    if (!report_.quantizedNodes.empty()) planActivations();
    for (const auto& [name, scale] : scales_) {
      if (quant_.count(name) == 0) report_.unusedScales.push_back(name);
    }
    if (report_.quantizedNodes.empty()) {
      reorderNodes();
      dropUnreadInitializers();
      return {};
    }
    for (const std::string& t : quantOrder_) LOWP_RETURN_IF_ERROR(quantizeActivation(t));
    for (const auto& [index, plan] : layers_) {
      for (const WeightRead& read : plan.weights) LOWP_RETURN_IF_ERROR(quantizeWeightRead(read));
      LOWP_RETURN_IF_ERROR(quantizeBias(index, plan));
    }
    reorderNodes();
    dropUnreadInitializers();
    return {};
  }

 private:
  // ---- indexes ----

  void indexGraph() {
    initializers_.clear();
    graphInputs_.clear();
    graphOutputs_.clear();
    producers_.clear();
    readers_.clear();
    readCounts_.clear();
    constantNodes_.clear();
    for (int i = 0; i < graph_.initializer_size(); ++i) initializers_[graph_.initializer(i).name()] = i;
    for (const auto& in : graph_.input()) {
      if (initializers_.count(in.name()) == 0) graphInputs_.push_back(in.name());
    }
    for (const auto& out : graph_.output()) graphOutputs_.insert(out.name());
    for (int i = 0; i < graph_.node_size(); ++i) {
      const NodeProto& node = graph_.node(i);
      for (int k = 0; k < node.output_size(); ++k) producers_[node.output(k)] = {i, k};
      for (int k = 0; k < node.input_size(); ++k) {
        if (!node.input(k).empty()) readers_[node.input(k)].push_back({i, k});
      }
      if (isDefaultDomain(node.domain()) && node.op_type() == "Constant" && node.output_size() == 1)
        constantNodes_[node.output(0)] = i;
    }
    countReads(graph_, readCounts_);
  }

  int readCount(const std::string& t) const {
    auto it = readCounts_.find(t);
    return it == readCounts_.end() ? 0 : it->second;
  }

  const std::vector<std::pair<int, int>>& readersOf(const std::string& t) const {
    static const std::vector<std::pair<int, int>> kNone;
    auto it = readers_.find(t);
    return it == readers_.end() ? kNone : it->second;
  }

  // The value of a constant tensor: an initializer or the output of a Constant node with a tensor value.
  std::optional<Tensor> constantValue(const std::string& name) const {
    const TensorProto* proto = nullptr;
    if (auto init = initializers_.find(name); init != initializers_.end()) {
      proto = &graph_.initializer(init->second);
    } else if (auto c = constantNodes_.find(name); c != constantNodes_.end()) {
      const auto* value = findAttribute(graph_.node(c->second), "value");
      if (value != nullptr && value->has_t()) proto = &value->t();
    }
    if (proto == nullptr) return std::nullopt;
    auto tensor = tensorFromProto(*proto, baseDir_);
    if (!tensor) return std::nullopt;
    return std::move(tensor).value();
  }

  // The value of a one-element constant, or nullopt.
  std::optional<double> scalarValue(const std::string& name) const {
    std::optional<Tensor> t = constantValue(name);
    if (!t || t->elementCount() != 1) return std::nullopt;
    const double v = elementAsDouble(*t, 0);
    return std::isnan(v) ? std::nullopt : std::optional<double>(v);
  }

  bool isConstant(const std::string& name) const {
    return initializers_.count(name) != 0 || constantNodes_.count(name) != 0;
  }

  // ---- 1. BatchNormalization folding ----

  // Folds BN node `bn` into the Conv that writes its input, as the header states; false where the conditions
  // do not hold (the BN then stays as it is, which is correct, only slower in ONNX Runtime).
  bool foldBatchNorm(int bn, std::vector<bool>& removed) {
    NodeProto& norm = *graph_.mutable_node(bn);
    if (norm.input_size() != 5) return false;
    for (int k = 1; k < norm.output_size(); ++k) {
      if (!norm.output(k).empty()) return false;
    }
    if (intAttribute(norm, "training_mode", 0) != 0 || intAttribute(norm, "spatial", 1) != 1) return false;
    const std::string& x = norm.input(0);
    auto producer = producers_.find(x);
    if (producer == producers_.end() || producer->second.second != 0) return false;
    NodeProto& conv = *graph_.mutable_node(producer->second.first);
    if (!isDefaultDomain(conv.domain()) || conv.op_type() != "Conv" || conv.input_size() < 2) return false;
    if (readCount(x) != 1 || graphOutputs_.count(x) != 0) return false;
    auto weightIndex = initializers_.find(conv.input(1));
    if (weightIndex == initializers_.end() ||
        graph_.initializer(weightIndex->second).data_type() != TensorProto::FLOAT)
      return false;
    auto weight = tensorFromProto(graph_.initializer(weightIndex->second), baseDir_);
    if (!weight || weight->rank() < 3) return false;
    const int64_t channels = weight->shape()[0];
    if (channels <= 0) return false;
    std::optional<Tensor> params[4];
    for (int k = 0; k < 4; ++k) {
      if (initializers_.count(norm.input(k + 1)) == 0) return false;
      params[k] = constantValue(norm.input(k + 1));
      if (!params[k] || params[k]->elementCount() != channels) return false;
    }
    std::optional<Tensor> bias;
    const bool hasBias = conv.input_size() > 2 && !conv.input(2).empty();
    if (hasBias) {
      auto biasIndex = initializers_.find(conv.input(2));
      if (biasIndex == initializers_.end() ||
          graph_.initializer(biasIndex->second).data_type() != TensorProto::FLOAT)
        return false;
      bias = constantValue(conv.input(2));
      if (!bias || bias->elementCount() != channels) return false;
    }
    const auto* epsilonAttr = findAttribute(norm, "epsilon");
    const double epsilon = epsilonAttr != nullptr ? static_cast<double>(epsilonAttr->f()) : 1e-5;

    const int64_t inner = weight->elementCount() / channels;
    std::vector<float> w(static_cast<size_t>(weight->elementCount()));
    std::vector<float> b(static_cast<size_t>(channels));
    for (int64_t m = 0; m < channels; ++m) {
      const double gamma = elementAsDouble(*params[0], m);
      const double beta = elementAsDouble(*params[1], m);
      const double mean = elementAsDouble(*params[2], m);
      const double var = elementAsDouble(*params[3], m);
      const double s = gamma / std::sqrt(var + epsilon);
      if (!std::isfinite(s)) return false;
      for (int64_t j = 0; j < inner; ++j) {
        const int64_t e = m * inner + j;
        w[static_cast<size_t>(e)] = static_cast<float>(static_cast<double>(weight->data<float>()[e]) * s);
      }
      const double b0 = hasBias ? static_cast<double>(bias->data<float>()[m]) : 0.0;
      b[static_cast<size_t>(m)] = static_cast<float>((b0 - mean) * s + beta);
    }
    const std::string& y = norm.output(0);
    const std::string weightName = fresh(y + "_weight");
    const std::string biasName = fresh(y + "_bias");
    *graph_.add_initializer() = floatTensor(weightName, weight->shape(), w);
    *graph_.add_initializer() = floatTensor(biasName, {channels}, b);
    replacedInitializers_.insert(conv.input(1));
    if (hasBias) replacedInitializers_.insert(conv.input(2));
    for (int k = 1; k < 5; ++k) replacedInitializers_.insert(norm.input(k));
    conv.set_input(1, weightName);
    if (conv.input_size() > 2) {
      conv.set_input(2, biasName);
    } else {
      conv.add_input(biasName);
    }
    conv.set_output(0, y);
    removed[static_cast<size_t>(bn)] = true;
    return true;
  }

  Status foldBatchNorms() {
    std::vector<bool> removed(static_cast<size_t>(graph_.node_size()), false);
    bool any = false;
    for (int i = 0; i < graph_.node_size(); ++i) {
      const NodeProto& node = graph_.node(i);
      if (!isDefaultDomain(node.domain()) || node.op_type() != "BatchNormalization") continue;
      const std::string label = nodeLabel(node, i);
      if (foldBatchNorm(i, removed)) {
        report_.foldedBatchNorms.push_back(label);
        any = true;
      }
    }
    if (!any) return {};
    google::protobuf::RepeatedPtrField<NodeProto> nodes;
    for (int i = 0; i < graph_.node_size(); ++i) {
      if (!removed[static_cast<size_t>(i)]) *nodes.Add() = std::move(*graph_.mutable_node(i));
    }
    graph_.mutable_node()->Swap(&nodes);
    return {};
  }

  // ---- 2. layers ----

  // Which layers get Q/DQ, their activations and weight reads (in node order, so the output is stable).
  void planLayers() {
    for (int i = 0; i < graph_.node_size(); ++i) {
      const NodeProto& node = graph_.node(i);
      if (!isLayerOp(node)) continue;
      LayerPlan plan;
      if (std::string why = planLayer(i, plan); !why.empty()) {
        report_.skippedNodes.push_back(nodeLabel(node, i) + ": " + why);
        continue;
      }
      report_.quantizedNodes.push_back(nodeLabel(node, i));
      for (const std::string& a : plan.activations) demanded_.insert(a);
      layers_[i] = std::move(plan);
    }
  }

  // The activations and weights of candidate node `i`; the reason it stays fp32, or "".
  std::string planLayer(int i, LayerPlan& plan) {
    const NodeProto& node = graph_.node(i);
    const std::string& op = node.op_type();
    if (node.input_size() < 2 || node.output_size() < 1) return "fewer than two inputs";
    const bool conv = op == "Conv" || op == "ConvTranspose";
    plan.input = node.input(0);
    for (int slot = 0; slot < 2; ++slot) {
      const std::string& name = node.input(slot);
      auto init = initializers_.find(name);
      const bool weightSlot = conv ? slot == 1 : init != initializers_.end();
      if (!weightSlot) {
        if (init != initializers_.end()) return "input '" + name + "' is constant";
        auto producer = producers_.find(name);
        if (producer != producers_.end() &&
            graph_.node(producer->second.first).op_type() == "DequantizeLinear") {
          return "input '" + name + "' is already dequantized";
        }
        if (scales_.count(name) == 0) return "input '" + name + "' has no scale";
        if (std::find(plan.activations.begin(), plan.activations.end(), name) == plan.activations.end())
          plan.activations.push_back(name);
        continue;
      }
      if (init == initializers_.end()) return "weight '" + name + "' is not a constant initializer";
      const TensorProto& w = graph_.initializer(init->second);
      if (w.data_type() != TensorProto::FLOAT) {
        return "weight '" + name + "' is " + TensorProto::DataType_Name(w.data_type()) + ", not FLOAT";
      }
      const auto rank = static_cast<int64_t>(w.dims_size());
      int64_t axis = 0;
      if (op == "ConvTranspose") {
        axis = 1;
      } else if (op == "Gemm") {
        axis = slot == 1 ? (intAttribute(node, "transB", 0) != 0 ? 0 : 1)
                         : (intAttribute(node, "transA", 0) != 0 ? 1 : 0);
      } else if (op == "MatMul") {
        axis = rank < 2 ? -1 : (slot == 1 ? rank - 1 : rank - 2);
      }
      if (axis >= rank) return "weight '" + name + "' has rank " + std::to_string(rank);
      plan.weights.push_back({i, slot, axis});
    }
    if (plan.activations.empty()) return "no input is an activation";
    return {};
  }

  Status chooseOpset() {
    ::onnx::OperatorSetIdProto* opset = nullptr;
    for (auto& o : *model_.mutable_opset_import()) {
      if (isDefaultDomain(o.domain())) opset = &o;
    }
    report_.opsetBefore = report_.opsetAfter = opset != nullptr ? opset->version() : 0;
    if (report_.quantizedNodes.empty()) return {};
    if (opset == nullptr) {
      return Status(StatusCode::kInvalidModel, "the model imports no default-domain opset");
    }
    const int64_t from = opset->version();
    int64_t to = from;
    if (from < 13) {
      if (std::string why = opsetBlocker(graph_, from, 13); why.empty()) {
        to = 13;
      } else if (from < 10) {
        if (std::string why10 = opsetBlocker(graph_, from, 10); !why10.empty()) {
          return Status(StatusCode::kUnsupported,
                        "opset " + std::to_string(from) +
                            " has no QuantizeLinear and cannot be raised to 10: " + why10);
        }
        to = 10;
        report_.opsetNote = "opset raised to 10 only: " + why;
      } else {
        report_.opsetNote = "opset " + std::to_string(from) + " kept: " + why;
      }
    }
    opset->set_version(to);
    const int64_t minIr = to >= 13 ? 7 : (to >= 10 ? 5 : 3);
    if (model_.ir_version() < minIr) model_.set_ir_version(minIr);
    report_.opsetAfter = to;
    report_.perChannelWeights = to >= 13;
    return {};
  }

  // ---- 3. which tensors get Q/DQ, and how ----

  // The Relu or Clip(0, max) that alone reads `t` and that a uint8 zero-point-0 quantization of t with the
  // scale of its output makes redundant: its node index and that quantization; nullopt where there is none.
  std::optional<std::pair<int, ActivationQuant>> redundantActivation(const std::string& t) const {
    if (graphOutputs_.count(t) != 0 || readCount(t) != 1) return std::nullopt;
    const auto& readers = readersOf(t);
    if (readers.size() != 1 || readers[0].second != 0) return std::nullopt;
    const int index = readers[0].first;
    const NodeProto& node = graph_.node(index);
    if (!isDefaultDomain(node.domain()) || node.output_size() != 1) return std::nullopt;
    const std::string& r = node.output(0);
    auto scale = scales_.find(r);
    if (scale == scales_.end()) return std::nullopt;
    const ActivationQuant q{scale->second * 127.0f / 255.0f, true, 0};
    if (node.op_type() == "Relu") return std::make_pair(index, q);
    if (node.op_type() != "Clip") return std::nullopt;
    std::optional<double> lo, hi;
    if (node.input_size() > 1 || findAttribute(node, "min") == nullptr) {  // opset 11+: min, max inputs
      if (node.input_size() < 2 || node.input(1).empty()) return std::nullopt;
      lo = scalarValue(node.input(1));
      if (node.input_size() > 2 && !node.input(2).empty()) {
        hi = scalarValue(node.input(2));
        if (!hi) return std::nullopt;
      }
    } else {
      lo = static_cast<double>(findAttribute(node, "min")->f());
      if (const auto* max = findAttribute(node, "max"); max != nullptr) hi = static_cast<double>(max->f());
    }
    // Below 0 the quantization gives 0 = Q(lo) only for lo = 0; above max it saturates at 255 = Q(max) when
    // max / scale rounds to 255 or more.
    if (!lo || *lo != 0.0) return std::nullopt;
    if (hi && *hi < 254.5 * static_cast<double>(q.scale)) return std::nullopt;
    return std::make_pair(index, q);
  }

  // Whether a quantized layer reads `t`, directly or through ops that keep it quantized (movesValues,
  // pooling, a residual Add, a removable Relu / Clip).
  bool feedsQuantizedLayer(const std::string& t, int depth = 0) {
    if (auto memo = feedsMemo_.find(t); memo != feedsMemo_.end()) return memo->second;
    if (depth > kMaxPassThroughDepth) return false;  // not memoised: a shorter path may still reach a layer
    bool feeds = demanded_.count(t) != 0;
    for (const auto& [index, slot] : readersOf(t)) {
      if (feeds) break;
      const NodeProto& node = graph_.node(index);
      const bool plain = isDefaultDomain(node.domain());
      const bool passes = ((movesValues(node) || isPoolOp(node)) && slot == 0) ||
                          (plain && node.op_type() == "Add") ||
                          (plain && (node.op_type() == "Relu" || node.op_type() == "Clip") && slot == 0);
      if (passes && node.output_size() >= 1) feeds = feedsQuantizedLayer(node.output(0), depth + 1);
    }
    feedsMemo_[t] = feeds;
    return feeds;
  }

  // The quantization of tensor `t` (which has a scale) by its sign and its readers; see the header.
  ActivationQuant quantFor(const std::string& t) const {
    const float amax = scales_.at(t) * 127.0f;
    if (nonNegative_.count(t) != 0) return {amax / 255.0f, true, 0};
    if (readersOf(t).size() > 1) return {scales_.at(t), true, 128};
    return {scales_.at(t), false, 0};
  }

  void setQuant(const std::string& t, const ActivationQuant& q, Placement where) {
    if (quant_.count(t) != 0) return;
    quant_[t] = q;
    placements_[t] = where;
    quantOrder_.push_back(t);
  }

  // Where the Q of tensor `t` goes: after its producer, or at the top for a graph input.
  Placement placementOf(const std::string& t) const {
    auto producer = producers_.find(t);
    if (producer == producers_.end()) return {};
    return {producer->second.first, producer->second.second};
  }

  // Quantizes `t` with its own scale where it has one; false where it has none.
  bool quantizeWithOwnScale(const std::string& t) {
    if (quant_.count(t) != 0) return true;
    if (scales_.count(t) == 0) return false;
    if (producers_.count(t) == 0 &&
        std::find(graphInputs_.begin(), graphInputs_.end(), t) == graphInputs_.end())
      return false;
    setQuant(t, quantFor(t), placementOf(t));
    return true;
  }

  // Q/DQ on the output of layer or Add `i`: through a redundant Relu / Clip (removed) where one follows,
  // else with the output's own scale. Gemm / MatMul outputs that are graph outputs stay fp32.
  void quantizeOutput(int i) {
    const NodeProto& node = graph_.node(i);
    const std::string& t = node.output(0);
    const std::string label = nodeLabel(node, i);
    if (graphOutputs_.count(t) != 0 && (node.op_type() == "Gemm" || node.op_type() == "MatMul")) {
      report_.floatOutputs.push_back(label + ": output '" + t + "' is a graph output");
      return;
    }
    if (auto follower = redundantActivation(t)) {
      const auto& [index, q] = *follower;
      const std::string& r = graph_.node(index).output(0);
      removed_[static_cast<size_t>(index)] = true;
      for (int k = 1; k < graph_.node(index).input_size(); ++k)
        clipBounds_.insert(graph_.node(index).input(k));
      report_.removedActivations.push_back(nodeLabel(graph_.node(index), index));
      nonNegative_.insert(r);
      setQuant(r, q, {i, 0});
      return;
    }
    if (!quantizeWithOwnScale(t)) report_.floatOutputs.push_back(label + ": output '" + t + "' has no scale");
  }

  // The tensor `t` becomes (after a removed Relu / Clip): t itself, or that activation's output.
  std::string quantizedName(const std::string& t) const {
    if (auto follower = redundantActivation(t)) return graph_.node(follower->first).output(0);
    return t;
  }

  void planActivations() {
    removed_.assign(static_cast<size_t>(graph_.node_size()), false);
    for (const std::string& t : graphInputs_) {
      if (demanded_.count(t) != 0) quantizeWithOwnScale(t);
    }
    for (int i = 0; i < graph_.node_size(); ++i) {
      if (removed_[static_cast<size_t>(i)]) continue;
      const NodeProto& node = graph_.node(i);
      const std::string& op = node.op_type();
      const bool plain = isDefaultDomain(node.domain());
      if (auto layer = layers_.find(i); layer != layers_.end()) {
        for (const std::string& a : layer->second.activations) quantizeWithOwnScale(a);
        quantizeOutput(i);
      } else if (plain && op == "Add" && node.input_size() == 2 && node.output_size() == 1) {
        planAdd(i);
      } else if (movesValues(node) && quant_.count(node.input(0)) != 0 &&
                 feedsQuantizedLayer(node.output(0))) {
        if (nonNegative_.count(node.input(0)) != 0) nonNegative_.insert(node.output(0));
        setQuant(node.output(0), quant_.at(node.input(0)), {i, 0});
        report_.otherQuantizedNodes.push_back(nodeLabel(node, i));
      } else if (isPoolOp(node) && node.output_size() == 1 && quant_.count(node.input(0)) != 0 &&
                 scales_.count(node.output(0)) != 0 && feedsQuantizedLayer(node.output(0))) {
        if (nonNegative_.count(node.input(0)) != 0) nonNegative_.insert(node.output(0));
        quantizeWithOwnScale(node.output(0));
        report_.otherQuantizedNodes.push_back(nodeLabel(node, i));
      }
      if (plain && node.output_size() >= 1 && nonNegative_.count(node.output(0)) == 0) {
        if (op == "Relu") nonNegative_.insert(node.output(0));
        if (op == "Clip") {
          std::optional<double> lo;
          if (node.input_size() > 1 && !node.input(1).empty()) lo = scalarValue(node.input(1));
          if (const auto* min = findAttribute(node, "min"); min != nullptr)
            lo = static_cast<double>(min->f());
          if (lo && *lo >= 0.0) nonNegative_.insert(node.output(0));
        }
      }
      // An activation a later layer reads is quantized where it is written, so every reader shares one Q.
      for (const std::string& out : node.output()) {
        if (demanded_.count(out) != 0) quantizeWithOwnScale(out);
      }
    }
  }

  // A residual Add: both inputs activations with scales (or already quantized), its output (or that of a
  // redundant Relu after it) with a scale and read by a quantized layer.
  void planAdd(int i) {
    const NodeProto& node = graph_.node(i);
    const std::string& t = node.output(0);
    if (graphOutputs_.count(t) != 0) return;
    for (const std::string& in : node.input()) {
      if (in.empty() || isConstant(in) || (quant_.count(in) == 0 && scales_.count(in) == 0)) return;
    }
    const std::string out = quantizedName(t);
    if (scales_.count(out) == 0 || !feedsQuantizedLayer(out)) return;
    for (const std::string& in : node.input()) {
      if (!quantizeWithOwnScale(in)) return;
    }
    if (nonNegative_.count(node.input(0)) != 0 && nonNegative_.count(node.input(1)) != 0)
      nonNegative_.insert(t);
    report_.otherQuantizedNodes.push_back(nodeLabel(node, i));
    quantizeOutput(i);
  }

  // ---- emitting ----

  // A name no value or node of the model uses yet.
  std::string fresh(const std::string& base) {
    std::string name = base;
    for (int k = 1; names_.count(name) != 0; ++k) name = base + "_" + std::to_string(k);
    names_.insert(name);
    return name;
  }

  NodeProto makeNode(const std::string& op, const std::string& name, std::vector<std::string> inputs,
                     const std::string& output, int64_t axis = -1) {
    NodeProto node;
    node.set_op_type(op);
    node.set_name(fresh(name));
    for (std::string& in : inputs) node.add_input(std::move(in));
    node.add_output(output);
    if (axis >= 0) {
      auto* a = node.add_attribute();
      a->set_name("axis");
      a->set_type(::onnx::AttributeProto::INT);
      a->set_i(axis);
    }
    return node;
  }

  // The zero-point initializer of `q`, one per kind in the model.
  std::string zeroPointOf(const ActivationQuant& q) {
    const std::string key =
        !q.isUnsigned ? "int8_zero_point" : (q.zeroPoint == 0 ? "uint8_zero_point" : "uint8_zero_point_128");
    auto& name = zeroPoints_[key];
    if (name.empty()) {
      name = fresh(key);
      *graph_.add_initializer() =
          q.isUnsigned ? uint8Tensor(name, static_cast<uint8_t>(q.zeroPoint)) : int8Tensor(name, {}, {0});
    }
    return name;
  }

  // t -> QuantizeLinear -> DequantizeLinear, read by every reader of t.
  Status quantizeActivation(const std::string& t) {
    const ActivationQuant& q = quant_.at(t);
    const std::string scale = fresh(t + "_scale");
    *graph_.add_initializer() = floatTensor(scale, {}, {q.scale});
    const std::string zeroPoint = zeroPointOf(q);
    const std::string quantized = fresh(t + "_quantized");
    const Placement where = placements_.at(t);
    if (where.node >= 0) {
      const std::string unquantized = fresh(t + "_unquantized");
      graph_.mutable_node(where.node)->set_output(where.slot, unquantized);
      auto& after = after_[where.node];
      after.push_back(
          makeNode("QuantizeLinear", t + "_QuantizeLinear", {unquantized, scale, zeroPoint}, quantized));
      after.push_back(
          makeNode("DequantizeLinear", t + "_DequantizeLinear", {quantized, scale, zeroPoint}, t));
      return {};
    }
    if (std::find(graphInputs_.begin(), graphInputs_.end(), t) == graphInputs_.end()) {
      return Status(StatusCode::kInvalidModel,
                    "tensor '" + t + "' is neither a graph input nor a node output");
    }
    const std::string dequantized = fresh(t + "_dequantized");
    for (NodeProto& node : *graph_.mutable_node()) {
      for (std::string& in : *node.mutable_input()) {
        if (in == t) in = dequantized;
      }
    }
    prefix_.push_back(makeNode("QuantizeLinear", t + "_QuantizeLinear", {t, scale, zeroPoint}, quantized));
    prefix_.push_back(
        makeNode("DequantizeLinear", t + "_DequantizeLinear", {quantized, scale, zeroPoint}, dequantized));
    return {};
  }

  // The weight read by `read` becomes int8 + DequantizeLinear (one per weight and axis, however many
  // readers).
  Status quantizeWeightRead(const WeightRead& read) {
    NodeProto& node = *graph_.mutable_node(read.node);
    const std::string weight = node.input(read.slot);
    const int64_t axis = report_.perChannelWeights ? read.axis : -1;
    const std::string key = weight + "\n" + std::to_string(axis);
    if (auto done = dequantizedWeights_.find(key); done != dequantizedWeights_.end()) {
      node.set_input(read.slot, done->second.name);
      weightScales_[{read.node, read.slot}] = done->second.scales;
      return {};
    }
    const TensorProto& proto = graph_.initializer(initializers_.at(weight));
    auto tensor = tensorFromProto(proto, baseDir_);
    if (!tensor) return tensor.status().withContext("weight '" + weight + "'");
    LOWP_ASSIGN_OR_RETURN(QuantizedWeight q, quantizeWeight(*tensor, axis, weight));

    const std::string values = fresh(weight + "_quantized");
    const std::string scale = fresh(weight + "_scale");
    std::vector<int64_t> scaleDims;
    if (axis >= 0) scaleDims.push_back(static_cast<int64_t>(q.scales.size()));
    std::string zeroPoint = zeroPointOf({1.0f, false, 0});
    if (axis >= 0) {
      zeroPoint = fresh(weight + "_zero_point");
      *graph_.add_initializer() = int8Tensor(zeroPoint, scaleDims, std::vector<int8_t>(q.scales.size(), 0));
    }
    *graph_.add_initializer() = int8Tensor(values, tensor->shape(), q.values);
    *graph_.add_initializer() = floatTensor(scale, scaleDims, q.scales);
    const std::string dequantized = fresh(weight + "_dequantized");
    before_[read.node].push_back(makeNode("DequantizeLinear", weight + "_DequantizeLinear",
                                          {values, scale, zeroPoint}, dequantized, axis));
    node.set_input(read.slot, dequantized);
    dequantizedWeights_[key] = {dequantized, q.scales};
    weightScales_[{read.node, read.slot}] = q.scales;
    replacedInitializers_.insert(weight);
    return {};
  }

  // The fp32 bias of Conv / Gemm `index` becomes int32 on the grid x_scale * w_scale[m] (see the header).
  Status quantizeBias(int index, const LayerPlan& plan) {
    NodeProto& node = *graph_.mutable_node(index);
    const std::string& op = node.op_type();
    if ((op != "Conv" && op != "Gemm") || node.input_size() < 3 || node.input(2).empty()) return {};
    if (op == "Gemm") {
      const auto* beta = findAttribute(node, "beta");
      if (beta != nullptr && beta->f() != 1.0f) return {};
    }
    auto x = quant_.find(plan.input);
    auto w = weightScales_.find({index, 1});
    auto init = initializers_.find(node.input(2));
    if (x == quant_.end() || w == weightScales_.end() || init == initializers_.end() ||
        std::find(plan.activations.begin(), plan.activations.end(), plan.input) == plan.activations.end())
      return {};
    const TensorProto& proto = graph_.initializer(init->second);
    if (proto.data_type() != TensorProto::FLOAT || proto.dims_size() != 1) return {};
    auto bias = tensorFromProto(proto, baseDir_);
    if (!bias) return bias.status().withContext("bias '" + node.input(2) + "'");
    const int64_t n = bias->elementCount();
    const std::vector<float>& ws = w->second;
    if (ws.size() != 1 && static_cast<int64_t>(ws.size()) != n) return {};
    std::vector<float> scales(ws.size());
    std::vector<int32_t> values(static_cast<size_t>(n));
    for (size_t m = 0; m < ws.size(); ++m) scales[m] = x->second.scale * ws[m];
    for (int64_t m = 0; m < n; ++m) {
      const float s = scales[ws.size() == 1 ? 0 : static_cast<size_t>(m)];
      const double v = std::nearbyint(static_cast<double>(bias->data<float>()[m]) / static_cast<double>(s));
      if (!(std::fabs(v) <= static_cast<double>(INT32_MAX))) return {};  // beyond int32 (or NaN): stays fp32
      values[static_cast<size_t>(m)] = static_cast<int32_t>(v);
    }
    const std::string biasName = node.input(2);
    const std::string valuesName = fresh(biasName + "_quantized");
    const std::string scaleName = fresh(biasName + "_scale");
    const std::string dequantized = fresh(biasName + "_dequantized");
    std::vector<int64_t> scaleDims;
    if (scales.size() != 1) scaleDims.push_back(static_cast<int64_t>(scales.size()));
    *graph_.add_initializer() = int32Tensor(valuesName, {n}, values);
    *graph_.add_initializer() = floatTensor(scaleName, scaleDims, scales);
    before_[index].push_back(makeNode("DequantizeLinear", biasName + "_DequantizeLinear",
                                      {valuesName, scaleName}, dequantized, scales.size() != 1 ? 0 : -1));
    node.set_input(2, dequantized);
    replacedInitializers_.insert(biasName);
    return {};
  }

  // Nodes in a topological order: graph-input Q/DQ first, weight DQ before their first reader, activation
  // Q/DQ right after the producer; removed activations left out.
  void reorderNodes() {
    google::protobuf::RepeatedPtrField<NodeProto> nodes;
    for (NodeProto& n : prefix_) *nodes.Add() = std::move(n);
    for (int i = 0; i < graph_.node_size(); ++i) {
      for (NodeProto& n : before_[i]) *nodes.Add() = std::move(n);
      if (removed_.empty() || !removed_[static_cast<size_t>(i)])
        *nodes.Add() = std::move(*graph_.mutable_node(i));
      for (NodeProto& n : after_[i]) *nodes.Add() = std::move(n);
    }
    graph_.mutable_node()->Swap(&nodes);
  }

  // Initializers the rewrite stopped reading (fp32 weights now read as int8, weights and BN parameters
  // folded, biases now int32) leave the model, as do Constant nodes only a removed Clip read, and the graph
  // inputs that name such initializers (old IR versions list initializers as inputs).
  void dropUnreadInitializers() {
    std::set<std::string> reads;
    collectReads(graph_, reads);
    auto unread = [&](const std::string& name) {
      return replacedInitializers_.count(name) != 0 && reads.count(name) == 0;
    };
    auto* nodes = graph_.mutable_node();
    nodes->erase(std::remove_if(nodes->begin(), nodes->end(),
                                [&](const NodeProto& n) {
                                  const bool drop = isDefaultDomain(n.domain()) &&
                                                    n.op_type() == "Constant" && n.output_size() == 1 &&
                                                    reads.count(n.output(0)) == 0 &&
                                                    clipBounds_.count(n.output(0)) != 0;
                                  return drop;
                                }),
                 nodes->end());
    auto* inits = graph_.mutable_initializer();
    inits->erase(
        std::remove_if(inits->begin(), inits->end(), [&](const TensorProto& t) { return unread(t.name()); }),
        inits->end());
    auto* inputs = graph_.mutable_input();
    inputs->erase(std::remove_if(inputs->begin(), inputs->end(),
                                 [&](const ::onnx::ValueInfoProto& v) { return unread(v.name()); }),
                  inputs->end());
  }

  ModelProto& model_;
  GraphProto& graph_;
  const std::map<std::string, float>& scales_;
  fs::path baseDir_;
  QdqExportReport& report_;

  // Indexes of the graph as it stands (rebuilt after BN folding).
  std::map<std::string, int> initializers_;
  std::vector<std::string> graphInputs_;
  std::set<std::string> graphOutputs_;
  std::map<std::string, std::pair<int, int>> producers_;             // tensor -> (node, output slot)
  std::map<std::string, std::vector<std::pair<int, int>>> readers_;  // tensor -> (node, input slot)
  std::map<std::string, int> readCounts_;                            // subgraphs and graph outputs too
  std::map<std::string, int> constantNodes_;                         // output -> Constant node
  std::set<std::string> names_;

  // The plan.
  std::map<int, LayerPlan> layers_;
  std::set<std::string> demanded_;  // activation inputs of quantized layers
  std::map<std::string, bool> feedsMemo_;
  std::set<std::string> nonNegative_;
  std::map<std::string, ActivationQuant> quant_;
  std::map<std::string, Placement> placements_;
  std::vector<std::string> quantOrder_;  // tensors given Q/DQ, in node order
  std::vector<bool> removed_;            // Relu / Clip made redundant
  std::set<std::string> clipBounds_;     // Constant outputs a removed Clip read

  // The rewrite.
  std::map<std::string, std::string> zeroPoints_;
  struct DequantizedWeight {
    std::string name;
    std::vector<float> scales;
  };
  std::map<std::string, DequantizedWeight> dequantizedWeights_;  // "<weight>\n<axis>" -> its DequantizeLinear
  std::map<std::pair<int, int>, std::vector<float>> weightScales_;  // (node, slot) -> weight scales
  std::set<std::string> replacedInitializers_;
  std::vector<NodeProto> prefix_;
  std::map<int, std::vector<NodeProto>> before_, after_;
};

// An initializer still in external data must resolve from the written model's folder as from the read one's.
Status checkExternalData(const GraphProto& graph, const fs::path& inputDir, const fs::path& outputDir) {
  std::error_code ec;
  if (fs::weakly_canonical(inputDir, ec) == fs::weakly_canonical(outputDir, ec)) return {};
  for (const TensorProto& t : graph.initializer()) {
    if (t.data_location() == TensorProto::EXTERNAL) {
      return Status(StatusCode::kUnsupported, "initializer '" + t.name() +
                                                  "' is stored in an external file; write the QDQ model into "
                                                  "the folder of the input model (" +
                                                  inputDir.string() + ")");
    }
  }
  return {};
}

}  // namespace

Status exportQdqModel(const std::string& inputPath, const std::map<std::string, float>& scales,
                      const std::string& outputPath, QdqExportReport* report) {
  for (const auto& [name, scale] : scales) {
    if (!std::isfinite(scale) || scale <= 0.0f) {
      return Status(StatusCode::kInvalidArgument, "scale " + std::to_string(scale) + " of tensor '" + name +
                                                      "' is not a finite positive number");
    }
  }
  LOWP_ASSIGN_OR_RETURN(std::string bytes, readFileBytes(inputPath));
  ModelProto model;
  if (bytes.empty() || bytes.size() > static_cast<size_t>(INT32_MAX) ||
      !model.ParseFromArray(bytes.data(), static_cast<int>(bytes.size())) || !model.has_graph()) {
    return Status(StatusCode::kInvalidModel, inputPath + ": not a valid ONNX model");
  }
  fs::path inputDir = fs::path(inputPath).parent_path();
  if (inputDir.empty()) inputDir = ".";
  fs::path outputDir = fs::path(outputPath).parent_path();
  if (outputDir.empty()) outputDir = ".";

  QdqExportReport local;
  QdqExportReport& r = report != nullptr ? *report : local;
  r = {};
  QdqExporter exporter(model, scales, inputDir, r);
  if (Status s = exporter.run(); !s.isOk()) return s.withContext(inputPath);
  LOWP_RETURN_IF_ERROR(checkExternalData(model.graph(), inputDir, outputDir).withContext(inputPath));

  std::string out;
  if (!model.SerializeToString(&out)) {
    return Status(StatusCode::kIoError, outputPath + ": the model cannot be serialized (larger than 2 GiB?)");
  }
  std::ofstream file(outputPath, std::ios::binary);
  if (!file) return Status(StatusCode::kIoError, outputPath + ": cannot create file");
  file.write(out.data(), static_cast<std::streamsize>(out.size()));
  if (!file) return Status(StatusCode::kIoError, outputPath + ": write failed");
  return {};
}

}  // namespace lowp::onnx
