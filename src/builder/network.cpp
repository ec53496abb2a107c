// NetworkDefinition and Layer: a graph from the importer, or made by hand, with per-layer constraints.
#include <algorithm>
#include <cmath>
#include <iostream>

#include "builder/network_impl.h"
#include "ir/op_schema.h"
#include "onnx/importer.h"
#include "runtime/engine_impl.h"

namespace lowp {
namespace {

bool isFloatType(DataType t) {
  return t == DataType::kFloat32 || t == DataType::kFloat16 || t == DataType::kBFloat16 ||
         t == DataType::kFloat64;
}

Status notAFloat(const std::string& what, DataType t) {
  return Status(StatusCode::kInvalidArgument,
                what + ": " + std::string(ir::dataTypeInfo(t).name) + " is not fp32, fp16 or bf16");
}

ir::AttrValue toAttrValue(const LayerAttribute& a) {
  return std::visit([](const auto& v) -> ir::AttrValue { return v; }, a.value);
}

}  // namespace

// ---- Layer ------------------------------------------------------------------------------------------------

const std::string& Layer::name() const {
  return network_->impl().nodes[static_cast<size_t>(index_)]->name;
}
const std::string& Layer::opType() const {
  return network_->impl().nodes[static_cast<size_t>(index_)]->opType;
}
std::vector<std::string> Layer::inputNames() const {
  std::vector<std::string> names;
  for (const ir::Value* v : network_->impl().nodes[static_cast<size_t>(index_)]->inputs)
    names.push_back(v ? v->name : "");
  return names;
}
std::vector<std::string> Layer::outputNames() const {
  std::vector<std::string> names;
  for (const ir::Value* v : network_->impl().nodes[static_cast<size_t>(index_)]->outputs)
    names.push_back(v ? v->name : "");
  return names;
}
void Layer::setPrecision(DataType type) {
  network_->impl().constraints[static_cast<size_t>(index_)].precision = type;
}
DataType Layer::precision() const {
  return network_->impl().constraints[static_cast<size_t>(index_)].precision;
}
bool Layer::precisionIsSet() const {
  return precision() != DataType::kUndefined;
}
void Layer::resetPrecision() {
  setPrecision(DataType::kUndefined);
}
Status Layer::setOutputType(int index, DataType type) {
  const ir::Node* node = network_->impl().nodes[static_cast<size_t>(index_)];
  if (index < 0 || static_cast<size_t>(index) >= node->outputs.size()) {
    return Status(StatusCode::kInvalidArgument, node->describe() + " has no output " + std::to_string(index),
                  node->name);
  }
  network_->impl().constraints[static_cast<size_t>(index_)].outputTypes[index] = type;
  return {};
}
DataType Layer::outputType(int index) const {
  const auto& types = network_->impl().constraints[static_cast<size_t>(index_)].outputTypes;
  auto it = types.find(index);
  return it == types.end() ? DataType::kUndefined : it->second;
}
bool Layer::outputTypeIsSet(int index) const {
  return outputType(index) != DataType::kUndefined;
}
void Layer::resetOutputType(int index) {
  network_->impl().constraints[static_cast<size_t>(index_)].outputTypes.erase(index);
}

// ---- NetworkDefinition ------------------------------------------------------------------------------------

NetworkDefinition::NetworkDefinition() : impl_(std::make_unique<Impl>()) {
  impl_->graph = std::make_unique<ir::Graph>();
}
NetworkDefinition::~NetworkDefinition() = default;

Result<std::unique_ptr<NetworkDefinition>> NetworkDefinition::fromOnnxFile(const std::string& path) {
  LOWP_ASSIGN_OR_RETURN(auto graph, onnx::importOnnxFile(path));
  auto network = std::make_unique<NetworkDefinition>();
  network->impl_->graph = std::move(graph);
  network->impl_->label = path;
  for (ir::Node* node : network->impl_->graph->nodes()) {
    const int index = static_cast<int>(network->impl_->nodes.size());
    network->impl_->nodes.push_back(node);
    network->impl_->layers.push_back(std::unique_ptr<Layer>(new Layer(network.get(), index)));
    network->impl_->constraints.emplace_back();
  }
  return network;
}

Status NetworkDefinition::addInput(const std::string& name, DataType type,
                                   const std::vector<int64_t>& shape) {
  LOWP_ASSIGN_OR_RETURN(ir::Value * v, impl_->graph->addValue(name));
  std::vector<ir::Dim> dims;
  dims.reserve(shape.size());
  for (int64_t d : shape) dims.push_back(d < 0 ? ir::Dim() : ir::Dim(d));
  v->type = type;
  v->shape = ir::Shape(std::move(dims));
  v->isGraphInput = true;
  impl_->graph->inputs().push_back(v);
  return {};
}

Status NetworkDefinition::addConstant(const std::string& name, const Tensor& value) {
  LOWP_ASSIGN_OR_RETURN(ir::Value * v, impl_->graph->addValue(name));
  v->type = value.type();
  v->shape = ir::Shape::fromSizes(value.shape());
  v->constant = value;
  return {};
}

Result<Layer*> NetworkDefinition::addLayer(const std::string& opType, const std::string& name,
                                           const std::vector<std::string>& inputs,
                                           const std::vector<std::string>& outputs,
                                           const std::vector<LayerAttribute>& attributes) {
  ir::Graph& g = *impl_->graph;
  const std::string label = opType + " '" + name + "'";
  auto invalid = [&](const std::string& message) {
    return Status(StatusCode::kInvalidArgument, label + ": " + message, name);
  };
  const ir::OpSchema* schema = ir::OpSchemaRegistry::global().find("", opType);
  if (schema == nullptr) {
    return Status(StatusCode::kUnsupported, label + ": unsupported operator " + opType, name);
  }
  const auto inputCount = static_cast<int>(inputs.size());
  if (inputCount < schema->minInputs || (schema->maxInputs >= 0 && inputCount > schema->maxInputs)) {
    return invalid("takes " + std::to_string(schema->minInputs) + " to " +
                   (schema->maxInputs < 0 ? std::string("any") : std::to_string(schema->maxInputs)) +
                   " inputs, not " + std::to_string(inputCount));
  }
  std::vector<ir::Value*> inputValues;
  for (const std::string& in : inputs) {
    ir::Value* v = in.empty() ? nullptr : g.findValue(in);
    if (!in.empty() && (v == nullptr || v->type == DataType::kUndefined)) {
      return invalid("input '" + in + "' is not an input, constant or output of an earlier layer");
    }
    inputValues.push_back(v);
  }
  for (const std::string& out : outputs) {
    if (!out.empty() && g.findValue(out) != nullptr) return invalid("output '" + out + "' is defined twice");
  }
  if (std::any_of(impl_->nodes.begin(), impl_->nodes.end(),
                  [&](const ir::Node* n) { return n->name == name; })) {
    return invalid("a layer of that name exists");
  }
  ir::Node* node = g.addNode(opType, name);
  node->opsetVersion = onnx::kMaxOpset;
  for (const LayerAttribute& a : attributes) {
    auto spec = std::find_if(schema->attributes.begin(), schema->attributes.end(),
                             [&](const ir::AttrSpec& s) { return s.name == a.name; });
    if (spec == schema->attributes.end() || spec->type != ir::attrTypeOf(toAttrValue(a))) {
      g.removeNode(node);
      return invalid(spec == schema->attributes.end() ? "unknown attribute '" + a.name + "'"
                                                      : "attribute '" + a.name + "' must be of type " +
                                                            std::string(ir::attrTypeName(spec->type)));
    }
    node->attributes.set(a.name, toAttrValue(a));
  }
  for (size_t i = 0; i < inputValues.size(); ++i) g.setInput(node, i, inputValues[i]);
  std::vector<ir::InferInput> infer;
  for (const ir::Value* v : inputValues) {
    ir::InferInput info;
    if (v != nullptr) {
      info.present = true;
      info.type = v->type;
      info.shape = v->shape;
      info.value = v->constant ? &*v->constant : nullptr;
    }
    infer.push_back(std::move(info));
  }
  node->outputs.resize(outputs.size(), nullptr);
  auto inferred = ir::inferNode(*node, std::move(infer));
  if (!inferred) {
    g.removeNode(node);
    return inferred.status();
  }
  node->outputs.clear();
  for (size_t i = 0; i < outputs.size(); ++i) {
    ir::Value* v = nullptr;
    if (!outputs[i].empty()) {
      LOWP_ASSIGN_OR_RETURN(v, g.addValue(outputs[i]));
      v->type = (*inferred)[i].first;
      v->shape = (*inferred)[i].second;
    }
    LOWP_RETURN_IF_ERROR(g.addOutput(node, v));
  }
  const int index = static_cast<int>(impl_->nodes.size());
  impl_->nodes.push_back(node);
  impl_->layers.push_back(std::unique_ptr<Layer>(new Layer(this, index)));
  impl_->constraints.emplace_back();
  return impl_->layers.back().get();
}

Status NetworkDefinition::markOutput(const std::string& name) {
  ir::Value* v = impl_->graph->findValue(name);
  if (v == nullptr || v->type == DataType::kUndefined) {
    return Status(StatusCode::kInvalidArgument, "markOutput: no tensor '" + name + "'");
  }
  if (!v->isGraphOutput) {
    v->isGraphOutput = true;
    impl_->graph->outputs().push_back(v);
  }
  return {};
}

int NetworkDefinition::layerCount() const {
  return static_cast<int>(impl_->layers.size());
}
Layer* NetworkDefinition::layer(int index) {
  return index >= 0 && index < layerCount() ? impl_->layers[static_cast<size_t>(index)].get() : nullptr;
}
Layer* NetworkDefinition::findLayer(std::string_view name) {
  for (size_t i = 0; i < impl_->nodes.size(); ++i) {
    if (impl_->nodes[i]->name == name) return impl_->layers[i].get();
  }
  return nullptr;
}

std::vector<TensorDesc> NetworkDefinition::inputs() const {
  std::vector<TensorDesc> out;
  for (const ir::Value* v : impl_->graph->inputs()) out.push_back(runtime::describeValue(*v));
  return out;
}
std::vector<TensorDesc> NetworkDefinition::outputs() const {
  std::vector<TensorDesc> out;
  for (const ir::Value* v : impl_->graph->outputs()) out.push_back(runtime::describeValue(*v));
  return out;
}

Status NetworkDefinition::setInputType(const std::string& name, DataType type) {
  const auto& ins = impl_->graph->inputs();
  auto it = std::find_if(ins.begin(), ins.end(), [&](const ir::Value* v) { return v->name == name; });
  if (it == ins.end())
    return Status(StatusCode::kInvalidArgument, "setInputType: no network input '" + name + "'");
  if (!isFloatType((*it)->type))
    return notAFloat("input '" + name + "' is not floating-point; its type", (*it)->type);
  if (!isFloatType(type) || type == DataType::kFloat64) return notAFloat("setInputType '" + name + "'", type);
  impl_->inputTypes[name] = type;
  return {};
}

Status NetworkDefinition::setOutputType(const std::string& name, DataType type) {
  const auto& outs = impl_->graph->outputs();
  auto it = std::find_if(outs.begin(), outs.end(), [&](const ir::Value* v) { return v->name == name; });
  if (it == outs.end())
    return Status(StatusCode::kInvalidArgument, "setOutputType: no network output '" + name + "'");
  if (!isFloatType((*it)->type))
    return notAFloat("output '" + name + "' is not floating-point; its type", (*it)->type);
  if (!isFloatType(type) || type == DataType::kFloat64)
    return notAFloat("setOutputType '" + name + "'", type);
  impl_->outputTypes[name] = type;
  return {};
}

Status NetworkDefinition::setDynamicRange(const std::string& name, float min, float max) {
  const ir::Value* found = nullptr;
  for (const auto& v : impl_->graph->values()) {
    if (v->name == name && !v->constant) found = v.get();
  }
  if (found == nullptr)
    return Status(StatusCode::kInvalidArgument, "setDynamicRange: no tensor '" + name + "'");
  if (!isFloatType(found->type))
    return notAFloat("setDynamicRange: tensor '" + name + "' is not floating-point; its type", found->type);
  const float amax = std::max(std::fabs(min), std::fabs(max));
  if (!std::isfinite(min) || !std::isfinite(max) || !(min <= max) || amax == 0.0f) {
    return Status(StatusCode::kInvalidArgument, "setDynamicRange: tensor '" + name + "': [" +
                                                    std::to_string(min) + ", " + std::to_string(max) +
                                                    "] is not a finite, non-empty range");
  }
  impl_->dynamicRanges[name] = amax;
  return {};
}

void NetworkDefinition::setStronglyTyped(bool on) {
  impl_->stronglyTyped = on;
}
bool NetworkDefinition::stronglyTyped() const {
  return impl_->stronglyTyped;
}

// ---- BuilderConfig ----------------------------------------------------------------------------------------

BuilderConfig::BuilderConfig() {
  setFlag(BuilderFlag::kTF32);  // as TensorRT: on unless cleared
}
void BuilderConfig::setFlag(BuilderFlag flag) {
  flags_ |= 1u << static_cast<unsigned>(flag);
}
void BuilderConfig::clearFlag(BuilderFlag flag) {
  flags_ &= ~(1u << static_cast<unsigned>(flag));
}
bool BuilderConfig::getFlag(BuilderFlag flag) const {
  return (flags_ & (1u << static_cast<unsigned>(flag))) != 0;
}
void BuilderConfig::setShape(const std::string& name, std::vector<int64_t> shape) {
  shapes_[name] = std::move(shape);
}
void BuilderConfig::setInputValues(const std::string& name, Tensor values) {
  inputValues_.insert_or_assign(name, std::move(values));
}
Status BuilderConfig::setOptimizationLevel(int level) {
  if (level < 0 || level > 5) {
    return Status(StatusCode::kInvalidArgument,
                  "optimization level " + std::to_string(level) + " is not in 0..5");
  }
  optimizationLevel_ = level;
  return {};
}

std::string_view builderFlagName(BuilderFlag flag) {
  switch (flag) {
    case BuilderFlag::kFP16:
      return "fp16";
    case BuilderFlag::kBF16:
      return "bf16";
    case BuilderFlag::kINT8:
      return "int8";
    case BuilderFlag::kTF32:
      return "tf32";
    case BuilderFlag::kFP8:
      return "fp8";
    case BuilderFlag::kPreferPrecisionConstraints:
      return "prefer-precision-constraints";
    case BuilderFlag::kObeyPrecisionConstraints:
      return "obey-precision-constraints";
    case BuilderFlag::kExactActivations:
      return "exact-activations";
  }
  return "?";
}

void StderrLogger::log(Severity severity, std::string_view message) {
  if (static_cast<int>(severity) > static_cast<int>(threshold_)) return;
  static constexpr const char* kNames[] = {"internal error", "error", "warning", "info", "verbose"};
  std::cerr << "[lowp " << kNames[static_cast<int>(severity)] << "] " << message << "\n";
}

}  // namespace lowp
