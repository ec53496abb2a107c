#include "ir/op_schema.h"

namespace lowp::ir {

InferContext::InferContext(const Node& node, std::vector<InferInput> inputs)
    : node_(node), inputs_(std::move(inputs)), outputs_(node.outputs.size()) {
  for (auto& out : outputs_) out = {DataType::kUndefined, Shape::unknownRank()};
}

DataType InferContext::inputType(size_t i) const {
  return hasInput(i) ? inputs_[i].type : DataType::kUndefined;
}

const Shape& InferContext::inputShape(size_t i) const {
  static const Shape kUnknown = Shape::unknownRank();
  return hasInput(i) ? inputs_[i].shape : kUnknown;
}

std::optional<std::vector<int64_t>> InferContext::inputInts(size_t i) const {
  const Tensor* t = inputValue(i);
  if (t == nullptr) return std::nullopt;
  std::vector<int64_t> out(static_cast<size_t>(t->elementCount()));
  if (t->type() == DataType::kInt64) {
    for (size_t k = 0; k < out.size(); ++k) out[k] = t->data<int64_t>()[k];
  } else if (t->type() == DataType::kInt32) {
    for (size_t k = 0; k < out.size(); ++k) out[k] = t->data<int32_t>()[k];
  } else {
    return std::nullopt;
  }
  return out;
}

void InferContext::setOutput(size_t i, DataType type, Shape shape) {
  if (i < outputs_.size()) outputs_[i] = {type, std::move(shape)};
}

Status InferContext::invalid(const std::string& message) const {
  return Status(StatusCode::kInvalidArgument, node_.describe() + ": " + message, node_.name);
}

Status InferContext::unsupported(const std::string& message) const {
  return Status(StatusCode::kUnsupported, node_.describe() + ": " + message, node_.name);
}

void OpSchemaRegistry::add(OpSchema schema) {
  auto key = std::make_pair(std::string(schema.domain), std::string(schema.opType));
  schemas_[key] = std::move(schema);
}

const OpSchema* OpSchemaRegistry::find(std::string_view domain, std::string_view opType) const {
  // "ai.onnx" is another spelling of the default domain.
  if (domain == "ai.onnx") domain = "";
  auto it = schemas_.find(std::make_pair(std::string(domain), std::string(opType)));
  return it == schemas_.end() ? nullptr : &it->second;
}

Result<std::vector<std::pair<DataType, Shape>>> inferNode(const Node& node, std::vector<InferInput> inputs) {
  const OpSchema* schema = OpSchemaRegistry::global().find(node.domain, node.opType);
  if (schema == nullptr || schema->infer == nullptr) {
    return Status(StatusCode::kUnsupported, "unsupported operator " + node.opType, node.name);
  }
  InferContext ctx(node, std::move(inputs));
  LOWP_RETURN_IF_ERROR(schema->infer(ctx));
  std::vector<std::pair<DataType, Shape>> out;
  out.reserve(ctx.outputCount());
  for (size_t i = 0; i < ctx.outputCount(); ++i) out.emplace_back(ctx.outputType(i), ctx.outputShape(i));
  return out;
}

}  // namespace lowp::ir
