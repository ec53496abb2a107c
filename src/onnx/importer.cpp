#include "onnx/importer.h"

#include <filesystem>
#include <map>
#include <set>

#include "ir/op_schema.h"
#include "onnx/onnx_pb.h"
#include "onnx/op_importer.h"
#include "onnx/tensor_proto.h"

namespace lowp::onnx {
namespace fs = std::filesystem;
namespace {

using ir::AttrType;
using ir::AttrValue;

// Reads a declared tensor type (element type and dims) from a ValueInfoProto.
Status readValueInfo(const ::onnx::ValueInfoProto& info, ir::Value& value) {
  if (!info.has_type()) return {};  // type left to inference
  const auto& type = info.type();
  if (!type.has_tensor_type()) {
    return Status(StatusCode::kUnsupported, "graph input/output '" + info.name() +
                                                "' is not a tensor (sequence, map and optional values "
                                                "are not supported)");
  }
  const auto& tensorType = type.tensor_type();
  if (tensorType.elem_type() != 0) {
    auto dt = ir::dataTypeFromOnnx(tensorType.elem_type());
    if (!dt) {
      return Status(StatusCode::kInvalidModel, "graph input/output '" + info.name() +
                                                   "' has unknown element type " +
                                                   std::to_string(tensorType.elem_type()));
    }
    value.type = *dt;
  }
  if (tensorType.has_shape()) {
    std::vector<ir::Dim> dims;
    for (const auto& d : tensorType.shape().dim()) {
      if (d.has_dim_value() && d.dim_value() >= 0) {
        dims.emplace_back(d.dim_value());
      } else {
        dims.push_back(ir::Dim::symbolic(d.has_dim_param() ? d.dim_param() : std::string()));
      }
    }
    value.shape = ir::Shape(std::move(dims));
  }
  return {};
}

Result<AttrValue> convertAttribute(const ::onnx::AttributeProto& a, const fs::path& baseDir) {
  using P = ::onnx::AttributeProto;
  if (!a.ref_attr_name().empty()) {
    return Status(StatusCode::kUnsupported, "attribute '" + a.name() + "' refers to a function attribute");
  }
  switch (a.type()) {
    case P::INT:
      return AttrValue(static_cast<int64_t>(a.i()));
    case P::FLOAT:
      return AttrValue(a.f());
    case P::STRING:
      return AttrValue(a.s());
    case P::INTS:
      return AttrValue(std::vector<int64_t>(a.ints().begin(), a.ints().end()));
    case P::FLOATS:
      return AttrValue(std::vector<float>(a.floats().begin(), a.floats().end()));
    case P::STRINGS:
      return AttrValue(std::vector<std::string>(a.strings().begin(), a.strings().end()));
    case P::TENSOR: {
      LOWP_ASSIGN_OR_RETURN(Tensor t, tensorFromProto(a.t(), baseDir));
      return AttrValue(std::move(t));
    }
    case P::GRAPH:
      return AttrValue(ir::SubgraphAttr{a.g().name()});
    default:
      return Status(StatusCode::kUnsupported,
                    "attribute '" + a.name() + "' has unsupported type " + P::AttributeType_Name(a.type()));
  }
}

// A Constant node becomes a constant value; it never reaches the runtime.
Result<Tensor> constantNodeValue(const ::onnx::NodeProto& node, const fs::path& baseDir) {
  if (node.attribute_size() != 1) {
    return Status(StatusCode::kInvalidModel, "Constant needs exactly one value attribute");
  }
  const auto& a = node.attribute(0);
  const std::string& n = a.name();
  if (n == "value") return tensorFromProto(a.t(), baseDir);
  if (n == "value_float") {
    Tensor t(DataType::kFloat32, {});
    *t.data<float>() = a.f();
    return t;
  }
  if (n == "value_floats") {
    Tensor t(DataType::kFloat32, {a.floats_size()});
    for (int i = 0; i < a.floats_size(); ++i) t.data<float>()[i] = a.floats(i);
    return t;
  }
  if (n == "value_int") {
    Tensor t(DataType::kInt64, {});
    *t.data<int64_t>() = a.i();
    return t;
  }
  if (n == "value_ints") {
    Tensor t(DataType::kInt64, {a.ints_size()});
    for (int i = 0; i < a.ints_size(); ++i) t.data<int64_t>()[i] = a.ints(i);
    return t;
  }
  return Status(StatusCode::kUnsupported, "Constant with attribute '" + n + "' is not supported");
}

class GraphImporter {
 public:
  GraphImporter(const ::onnx::ModelProto& model, fs::path baseDir)
      : model_(model), baseDir_(std::move(baseDir)) {}

  Result<std::unique_ptr<ir::Graph>> run() {
    LOWP_RETURN_IF_ERROR(readOpsets());
    if (!model_.has_graph()) return Status(StatusCode::kInvalidModel, "the model has no graph");
    const auto& g = model_.graph();
    graph_->name = g.name();
    if (g.sparse_initializer_size() > 0) {
      return Status(StatusCode::kUnsupported, "sparse initializers are not supported");
    }
    for (const auto& init : g.initializer()) {
      auto t = tensorFromProto(init, baseDir_);
      if (!t) return t.status().withContext("initializer '" + init.name() + "'");
      LOWP_ASSIGN_OR_RETURN(ir::Value * v, graph_->addValue(init.name()));
      v->type = t->type();
      v->shape = ir::Shape::fromSizes(t->shape());
      v->constant = std::move(t).value();
    }
    for (const auto& in : g.input()) {
      if (ir::Value* existing = graph_->findValue(in.name())) {
        (void)existing;  // older IR versions list initializers among the inputs: they stay constants
        continue;
      }
      LOWP_ASSIGN_OR_RETURN(ir::Value * v, graph_->addValue(in.name()));
      LOWP_RETURN_IF_ERROR(readValueInfo(in, *v));
      if (v->type == DataType::kUndefined) {
        return Status(StatusCode::kInvalidModel, "graph input '" + in.name() + "' has no element type");
      }
      if (!ir::isStorable(v->type)) {
        return Status(StatusCode::kUnsupported, "graph input '" + in.name() + "' has type " +
                                                    std::string(ir::dataTypeInfo(v->type).onnxName));
      }
      v->isGraphInput = true;
      graph_->inputs().push_back(v);
    }
    for (int i = 0; i < g.node_size(); ++i) LOWP_RETURN_IF_ERROR(declareOutputs(g.node(i), i));
    for (int i = 0; i < g.node_size(); ++i) LOWP_RETURN_IF_ERROR(importNode(g.node(i), i));
    for (const auto& out : g.output()) {
      ir::Value* v = graph_->findValue(out.name());
      if (v == nullptr) {
        return Status(StatusCode::kInvalidModel,
                      "graph output '" + out.name() + "' is not produced by any node");
      }
      ir::Value declared;
      LOWP_RETURN_IF_ERROR(readValueInfo(out, declared));
      declaredOutputTypes_[v] = declared.type;
      v->isGraphOutput = true;
      graph_->outputs().push_back(v);
    }
    LOWP_RETURN_IF_ERROR(graph_->sortTopologically());
    LOWP_RETURN_IF_ERROR(inferGraph(*graph_));
    for (auto [v, type] : declaredOutputTypes_) {
      if (type != DataType::kUndefined && v->type != DataType::kUndefined && type != v->type) {
        return Status(StatusCode::kInvalidModel, "graph output '" + v->name + "' is declared " +
                                                     std::string(ir::dataTypeInfo(type).name) +
                                                     " but its producer gives " +
                                                     std::string(ir::dataTypeInfo(v->type).name));
      }
    }
    return std::move(graph_);
  }

 private:
  Status readOpsets() {
    for (const auto& op : model_.opset_import()) {
      std::string domain = op.domain() == "ai.onnx" ? "" : op.domain();
      opsets_[domain] = op.version();
    }
    if (opsets_.empty()) opsets_[""] = 1;  // IR version 2 models had no opset_import
    auto it = opsets_.find("");
    if (it != opsets_.end()) {
      if (it->second > kMaxOpset) {
        return Status(StatusCode::kUnsupported, "opset " + std::to_string(it->second) +
                                                    " is newer than the newest lowp imports (" +
                                                    std::to_string(kMaxOpset) + ")");
      }
    }
    return {};
  }

  static std::string nodeName(const ::onnx::NodeProto& node, int index) {
    return node.name().empty() ? node.op_type() + "_" + std::to_string(index) : node.name();
  }

  // Creates the values every node produces, so inputs can be connected whatever the node order.
  Status declareOutputs(const ::onnx::NodeProto& node, int index) {
    for (const auto& out : node.output()) {
      if (out.empty()) continue;
      auto v = graph_->addValue(out);
      if (!v) {
        return Status(
            StatusCode::kInvalidModel,
            node.op_type() + " '" + nodeName(node, index) + "': output '" + out + "' is already defined",
            nodeName(node, index));
      }
    }
    return {};
  }

  Status importNode(const ::onnx::NodeProto& proto, int index) {
    std::string name = nodeName(proto, index);
    Status s = importNodeUnchecked(proto, name);
    if (!s) {
      std::string prefix = proto.op_type() + " '" + name + "'";
      std::string msg = s.message().rfind(prefix, 0) == 0 ? s.message() : prefix + ": " + s.message();
      return Status(s.code(), msg, name);
    }
    return s;
  }

  Status importNodeUnchecked(const ::onnx::NodeProto& proto, const std::string& name) {
    const std::string domain = proto.domain() == "ai.onnx" ? "" : proto.domain();
    auto opset = opsets_.find(domain);
    if (opset == opsets_.end()) {
      return Status(StatusCode::kInvalidModel, "domain '" + domain + "' is not imported by the model");
    }
    if (proto.op_type() == "Constant" && domain.empty()) {
      if (proto.output_size() != 1) return Status(StatusCode::kInvalidModel, "Constant needs one output");
      LOWP_ASSIGN_OR_RETURN(Tensor t, constantNodeValue(proto, baseDir_));
      ir::Value* v = graph_->findValue(proto.output(0));
      v->type = t.type();
      v->shape = ir::Shape::fromSizes(t.shape());
      v->constant = std::move(t);
      return {};
    }
    const ir::OpSchema* schema = ir::OpSchemaRegistry::global().find(domain, proto.op_type());
    const OpImporter* importer = ImporterRegistry::global().find(domain, proto.op_type());
    if (schema == nullptr || importer == nullptr) {
      return Status(StatusCode::kUnsupported,
                    "unsupported operator " + (domain.empty() ? "" : domain + ".") + proto.op_type());
    }
    if (opset->second < importer->sinceVersion) {
      return Status(StatusCode::kUnsupported, "opset " + std::to_string(opset->second) + " of " +
                                                  proto.op_type() +
                                                  " is not supported (lowp imports it from opset " +
                                                  std::to_string(importer->sinceVersion) + ")");
    }
    const int inputs = proto.input_size();
    const int outputs = proto.output_size();
    if (inputs < schema->minInputs || (schema->maxInputs >= 0 && inputs > schema->maxInputs)) {
      return Status(StatusCode::kInvalidModel,
                    "has " + std::to_string(inputs) + " inputs, expected " +
                        std::to_string(schema->minInputs) + " to " +
                        (schema->maxInputs < 0 ? std::string("any") : std::to_string(schema->maxInputs)));
    }
    if (outputs < schema->minOutputs || (schema->maxOutputs >= 0 && outputs > schema->maxOutputs)) {
      return Status(StatusCode::kInvalidModel, "has " + std::to_string(outputs) + " outputs, expected " +
                                                   std::to_string(schema->minOutputs) + " to " +
                                                   std::to_string(schema->maxOutputs));
    }
    ir::Node* node = graph_->addNode(proto.op_type(), name);
    node->domain = domain;
    node->opsetVersion = opset->second;
    for (const auto& a : proto.attribute()) {
      auto spec = std::find_if(schema->attributes.begin(), schema->attributes.end(),
                               [&](const ir::AttrSpec& s) { return s.name == a.name(); });
      if (spec == schema->attributes.end()) {
        return Status(StatusCode::kUnsupported, "unsupported attribute '" + a.name() + "'");
      }
      auto value = convertAttribute(a, baseDir_);
      if (!value) return value.status().withContext("attribute '" + a.name() + "'");
      AttrType got = ir::attrTypeOf(*value);
      if (got != spec->type) {
        return Status(StatusCode::kInvalidModel, "attribute '" + a.name() + "' is " +
                                                     std::string(ir::attrTypeName(got)) + ", expected " +
                                                     std::string(ir::attrTypeName(spec->type)));
      }
      node->attributes.set(a.name(), std::move(value).value());
    }
    for (int i = 0; i < inputs; ++i) {
      const std::string& in = proto.input(i);
      ir::Value* v = nullptr;
      if (!in.empty()) {
        v = graph_->findValue(in);
        if (v == nullptr) return Status(StatusCode::kInvalidModel, "input '" + in + "' is not defined");
      }
      graph_->setInput(node, static_cast<size_t>(i), v);
    }
    for (int i = 0; i < outputs; ++i) {
      ir::Value* v = proto.output(i).empty() ? nullptr : graph_->findValue(proto.output(i));
      LOWP_RETURN_IF_ERROR(graph_->addOutput(node, v));
    }
    if (importer->normalize != nullptr) {
      ImportContext ctx(*graph_);
      LOWP_RETURN_IF_ERROR(importer->normalize(ctx, *node));
    }
    return {};
  }

  const ::onnx::ModelProto& model_;
  fs::path baseDir_;
  std::unique_ptr<ir::Graph> graph_ = std::make_unique<ir::Graph>();
  std::map<std::string, int64_t> opsets_;
  std::map<ir::Value*, DataType> declaredOutputTypes_;
};

}  // namespace

Status inferGraph(ir::Graph& graph) {
  for (ir::Node* node : graph.nodes()) {
    std::vector<ir::InferInput> inputs;
    for (ir::Value* in : node->inputs) {
      ir::InferInput info;
      if (in != nullptr) {
        if (in->type == DataType::kUndefined) {
          return Status(
              StatusCode::kInvalidModel,
              node->describe() + ": input '" + in->name + "' has no type (is it produced by any node?)",
              node->name);
        }
        info.present = true;
        info.type = in->type;
        info.shape = in->shape;
        info.value = in->constant ? &*in->constant : nullptr;
      }
      inputs.push_back(std::move(info));
    }
    auto result = ir::inferNode(*node, std::move(inputs));
    if (!result) return result.status().withNode(node->name);
    for (size_t i = 0; i < node->outputs.size(); ++i) {
      ir::Value* out = node->outputs[i];
      if (out == nullptr) continue;
      out->type = (*result)[i].first;
      out->shape = (*result)[i].second;
      if (out->type == DataType::kUndefined) {
        return Status(StatusCode::kInternal,
                      node->describe() + ": inference left output " + std::to_string(i) + " without a type",
                      node->name);
      }
    }
  }
  return {};
}

Result<std::unique_ptr<ir::Graph>> importOnnxBytes(const std::string& bytes, const std::string& baseDir,
                                                   const std::string& label) {
  ::onnx::ModelProto model;
  if (bytes.empty()) return Status(StatusCode::kInvalidModel, label + ": the file is empty");
  if (bytes.size() > static_cast<size_t>(INT32_MAX) ||
      !model.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    return Status(StatusCode::kInvalidModel,
                  label + ": not a valid ONNX model (the protobuf message is truncated or corrupt)");
  }
  GraphImporter importer(model, baseDir);
  auto graph = importer.run();
  if (!graph) return graph.status().withContext(label);
  return graph;
}

Result<std::unique_ptr<ir::Graph>> importOnnxFile(const std::string& path) {
  LOWP_ASSIGN_OR_RETURN(std::string bytes, readFileBytes(path));
  fs::path dir = fs::path(path).parent_path();
  if (dir.empty()) dir = ".";
  return importOnnxBytes(bytes, dir.string(), path);
}

}  // namespace lowp::onnx
