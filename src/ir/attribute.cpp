#include "ir/attribute.h"

namespace lowp::ir {

std::string_view attrTypeName(AttrType type) {
  switch (type) {
    case AttrType::kInt:
      return "int";
    case AttrType::kFloat:
      return "float";
    case AttrType::kString:
      return "string";
    case AttrType::kInts:
      return "ints";
    case AttrType::kFloats:
      return "floats";
    case AttrType::kStrings:
      return "strings";
    case AttrType::kTensor:
      return "tensor";
    case AttrType::kGraph:
      return "graph";
  }
  return "?";
}

AttrType attrTypeOf(const AttrValue& value) {
  return static_cast<AttrType>(value.index());
}

void AttributeMap::erase(std::string_view name) {
  auto it = values_.find(name);
  if (it != values_.end()) values_.erase(it);
}

int64_t AttributeMap::getInt(std::string_view name, int64_t fallback) const {
  const auto* v = find<int64_t>(name);
  return v ? *v : fallback;
}

float AttributeMap::getFloat(std::string_view name, float fallback) const {
  const auto* v = find<float>(name);
  return v ? *v : fallback;
}

std::string AttributeMap::getString(std::string_view name, std::string fallback) const {
  const auto* v = find<std::string>(name);
  if (v == nullptr) return fallback;
  return *v;
}

std::vector<int64_t> AttributeMap::getInts(std::string_view name, std::vector<int64_t> fallback) const {
  const auto* v = find<std::vector<int64_t>>(name);
  if (v == nullptr) return fallback;
  return *v;
}

std::vector<float> AttributeMap::getFloats(std::string_view name, std::vector<float> fallback) const {
  const auto* v = find<std::vector<float>>(name);
  if (v == nullptr) return fallback;
  return *v;
}

std::vector<std::string> AttributeMap::getStrings(std::string_view name) const {
  const auto* v = find<std::vector<std::string>>(name);
  return v ? *v : std::vector<std::string>{};
}

const Tensor* AttributeMap::getTensor(std::string_view name) const {
  return find<Tensor>(name);
}

}  // namespace lowp::ir
