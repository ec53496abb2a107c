#include "onnx/op_importer.h"

namespace lowp::onnx {

ir::Value* ImportContext::addConstant(Tensor value, const std::string& nameHint) {
  for (;;) {
    std::string name = nameHint + "__lowp_const" + std::to_string(counter_++);
    if (graph_.findValue(name) != nullptr) continue;
    ir::Value* v = graph_.addValue(name).value();
    v->type = value.type();
    v->shape = ir::Shape::fromSizes(value.shape());
    v->constant = std::move(value);
    return v;
  }
}

Status ImportContext::invalid(const ir::Node& node, const std::string& message) {
  return Status(StatusCode::kInvalidModel, node.describe() + ": " + message, node.name);
}

Status ImportContext::unsupported(const ir::Node& node, const std::string& message) {
  return Status(StatusCode::kUnsupported, node.describe() + ": " + message, node.name);
}

void ImporterRegistry::add(OpImporter entry) {
  auto key = std::make_pair(std::string(entry.domain), std::string(entry.opType));
  entries_[key] = entry;
}

const OpImporter* ImporterRegistry::find(std::string_view domain, std::string_view opType) const {
  if (domain == "ai.onnx") domain = "";
  auto it = entries_.find(std::make_pair(std::string(domain), std::string(opType)));
  return it == entries_.end() ? nullptr : &it->second;
}

}  // namespace lowp::onnx
