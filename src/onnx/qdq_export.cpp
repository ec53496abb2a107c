// QDQ export of calibrated scales; the contract is in qdq_export.h.
#include "onnx/qdq_export.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
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

// ---- weights ----------------------------------------------------------------------------------------------

TensorProto int8Tensor(const std::string& name, const std::vector<int64_t>& dims,
                       const std::vector<int8_t>& q) {
  TensorProto t;
  t.set_name(name);
  t.set_data_type(TensorProto::INT8);
  for (int64_t d : dims) t.add_dims(d);
  t.set_raw_data(std::string(reinterpret_cast<const char*>(q.data()), q.size()));
  return t;
}

TensorProto floatTensor(const std::string& name, const std::vector<int64_t>& dims,
                        const std::vector<float>& v) {
  TensorProto t;
  t.set_name(name);
  t.set_data_type(TensorProto::FLOAT);
  for (int64_t d : dims) t.add_dims(d);
  for (float x : v) t.add_float_data(x);
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

// One read of a constant weight by a node that gets Q/DQ.
struct WeightRead {
  int node;
  int slot;
  int64_t axis;  // the output-channel axis; -1 where the weight has none (a 1-d MatMul operand)
};

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
    indexGraph();
    planNodes();
    for (const auto& [name, scale] : scales_) {
      if (std::find(activations_.begin(), activations_.end(), name) == activations_.end()) {
        report_.unusedScales.push_back(name);
      }
    }
    LOWP_RETURN_IF_ERROR(chooseOpset());
    if (report_.quantizedNodes.empty()) return {};
    collectNames(graph_, names_);
    before_.resize(static_cast<size_t>(graph_.node_size()));
    after_.resize(static_cast<size_t>(graph_.node_size()));
    activationZeroPoint_ = fresh("int8_zero_point");
    *graph_.add_initializer() = int8Tensor(activationZeroPoint_, {}, {0});
    for (const std::string& t : activations_) LOWP_RETURN_IF_ERROR(quantizeActivation(t));
    for (const WeightRead& read : weightReads_) LOWP_RETURN_IF_ERROR(quantizeWeightRead(read));
    reorderNodes();
    dropUnreadWeights();
    return {};
  }

 private:
  void indexGraph() {
    for (int i = 0; i < graph_.initializer_size(); ++i) initializers_[graph_.initializer(i).name()] = i;
    for (const auto& in : graph_.input()) {
      if (initializers_.count(in.name()) == 0) graphInputs_.insert(in.name());
    }
    for (int i = 0; i < graph_.node_size(); ++i) {
      for (int k = 0; k < graph_.node(i).output_size(); ++k) producers_[graph_.node(i).output(k)] = {i, k};
    }
  }

  // Which nodes get Q/DQ, which activations and which weight reads (in node order, so the output is stable).
  void planNodes() {
    for (int i = 0; i < graph_.node_size(); ++i) {
      const NodeProto& node = graph_.node(i);
      const std::string& op = node.op_type();
      if (!isDefaultDomain(node.domain()) ||
          (op != "Conv" && op != "ConvTranspose" && op != "Gemm" && op != "MatMul")) {
        continue;
      }
      std::vector<std::string> activations;
      std::vector<WeightRead> weights;
      if (std::string why = planNode(i, activations, weights); !why.empty()) {
        report_.skippedNodes.push_back(nodeLabel(node, i) + ": " + why);
        continue;
      }
      report_.quantizedNodes.push_back(nodeLabel(node, i));
      if (scales_.count(node.output(0)) != 0) activations.push_back(node.output(0));
      for (const std::string& a : activations) {
        if (std::find(activations_.begin(), activations_.end(), a) == activations_.end())
          activations_.push_back(a);
      }
      weightReads_.insert(weightReads_.end(), weights.begin(), weights.end());
    }
  }

  // The activations and weights of candidate node `i`; the reason it stays fp32, or "".
  std::string planNode(int i, std::vector<std::string>& activations, std::vector<WeightRead>& weights) {
    const NodeProto& node = graph_.node(i);
    const std::string& op = node.op_type();
    if (node.input_size() < 2 || node.output_size() < 1) return "fewer than two inputs";
    const bool conv = op == "Conv" || op == "ConvTranspose";
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
        activations.push_back(name);
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
      weights.push_back({i, slot, axis});
    }
    if (activations.empty()) return "no input is an activation";
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

  // t -> QuantizeLinear -> DequantizeLinear, read by every reader of t.
  Status quantizeActivation(const std::string& t) {
    const std::string scale = fresh(t + "_scale");
    *graph_.add_initializer() = floatTensor(scale, {}, {scales_.at(t)});
    const std::string quantized = fresh(t + "_quantized");
    auto producer = producers_.find(t);
    if (producer != producers_.end()) {
      const auto [index, slot] = producer->second;
      const std::string unquantized = fresh(t + "_unquantized");
      graph_.mutable_node(index)->set_output(slot, unquantized);
      auto& after = after_[static_cast<size_t>(index)];
      after.push_back(makeNode("QuantizeLinear", t + "_QuantizeLinear",
                               {unquantized, scale, activationZeroPoint_}, quantized));
      after.push_back(
          makeNode("DequantizeLinear", t + "_DequantizeLinear", {quantized, scale, activationZeroPoint_}, t));
      return {};
    }
    if (graphInputs_.count(t) == 0) {
      return Status(StatusCode::kInvalidModel,
                    "tensor '" + t + "' is neither a graph input nor a node output");
    }
    const std::string dequantized = fresh(t + "_dequantized");
    for (NodeProto& node : *graph_.mutable_node()) {
      for (std::string& in : *node.mutable_input()) {
        if (in == t) in = dequantized;
      }
    }
    prefix_.push_back(
        makeNode("QuantizeLinear", t + "_QuantizeLinear", {t, scale, activationZeroPoint_}, quantized));
    prefix_.push_back(makeNode("DequantizeLinear", t + "_DequantizeLinear",
                               {quantized, scale, activationZeroPoint_}, dequantized));
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
      node.set_input(read.slot, done->second);
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
    std::string zeroPoint = activationZeroPoint_;
    if (axis >= 0) {
      zeroPoint = fresh(weight + "_zero_point");
      *graph_.add_initializer() = int8Tensor(zeroPoint, scaleDims, std::vector<int8_t>(q.scales.size(), 0));
    }
    *graph_.add_initializer() = int8Tensor(values, tensor->shape(), q.values);
    *graph_.add_initializer() = floatTensor(scale, scaleDims, q.scales);
    const std::string dequantized = fresh(weight + "_dequantized");
    before_[static_cast<size_t>(read.node)].push_back(makeNode(
        "DequantizeLinear", weight + "_DequantizeLinear", {values, scale, zeroPoint}, dequantized, axis));
    node.set_input(read.slot, dequantized);
    dequantizedWeights_[key] = dequantized;
    quantizedWeights_.insert(weight);
    return {};
  }

  // Nodes in a topological order: graph-input Q/DQ first, weight DQ before their first reader, activation
  // Q/DQ right after the producer.
  void reorderNodes() {
    google::protobuf::RepeatedPtrField<NodeProto> nodes;
    for (NodeProto& n : prefix_) *nodes.Add() = std::move(n);
    for (int i = 0; i < graph_.node_size(); ++i) {
      for (NodeProto& n : before_[static_cast<size_t>(i)]) *nodes.Add() = std::move(n);
      *nodes.Add() = std::move(*graph_.mutable_node(i));
      for (NodeProto& n : after_[static_cast<size_t>(i)]) *nodes.Add() = std::move(n);
    }
    graph_.mutable_node()->Swap(&nodes);
  }

  // fp32 weights that every reader now takes in int8 leave the model (and the graph inputs, where old IR
  // versions list initializers).
  void dropUnreadWeights() {
    std::set<std::string> reads;
    collectReads(graph_, reads);
    auto unread = [&](const std::string& name) {
      return quantizedWeights_.count(name) != 0 && reads.count(name) == 0;
    };
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

  std::map<std::string, int> initializers_;
  std::set<std::string> graphInputs_;
  std::map<std::string, std::pair<int, int>> producers_;  // tensor -> (node, output slot)
  std::set<std::string> names_;

  std::vector<std::string> activations_;  // tensors given Q/DQ, in node order
  std::vector<WeightRead> weightReads_;
  std::string activationZeroPoint_;
  std::map<std::string, std::string> dequantizedWeights_;  // "<weight>\n<axis>" -> DequantizeLinear output
  std::set<std::string> quantizedWeights_;
  std::vector<NodeProto> prefix_;
  std::vector<std::vector<NodeProto>> before_, after_;
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
