// Node attributes: a small typed dictionary, as in ONNX. The op schema declares the name and type of every
// attribute an op understands; the importer rejects any other, so kernels can read attributes without
// re-checking their types.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "lowp/tensor.h"

namespace lowp::ir {

enum class AttrType { kInt, kFloat, kString, kInts, kFloats, kStrings, kTensor, kGraph };

std::string_view attrTypeName(AttrType type);

/// A subgraph attribute (If/Loop/Scan bodies). lowp records that one was given but does not run them.
struct SubgraphAttr {
  std::string name;
};

using AttrValue = std::variant<int64_t, float, std::string, std::vector<int64_t>, std::vector<float>,
                               std::vector<std::string>, Tensor, SubgraphAttr>;

/// The type tag of a stored attribute value.
AttrType attrTypeOf(const AttrValue& value);

class AttributeMap {
 public:
  bool has(std::string_view name) const { return values_.find(name) != values_.end(); }
  void set(std::string name, AttrValue value) { values_[std::move(name)] = std::move(value); }
  void erase(std::string_view name);
  const std::map<std::string, AttrValue, std::less<>>& all() const { return values_; }

  /// Typed getters: the value, or `fallback` when the attribute is absent (or has another type).
  int64_t getInt(std::string_view name, int64_t fallback) const;
  float getFloat(std::string_view name, float fallback) const;
  std::string getString(std::string_view name, std::string fallback = {}) const;
  std::vector<int64_t> getInts(std::string_view name, std::vector<int64_t> fallback = {}) const;
  std::vector<float> getFloats(std::string_view name, std::vector<float> fallback = {}) const;
  std::vector<std::string> getStrings(std::string_view name) const;
  /// The tensor attribute, or nullptr.
  const Tensor* getTensor(std::string_view name) const;

 private:
  template <typename T>
  const T* find(std::string_view name) const {
    auto it = values_.find(name);
    return it == values_.end() ? nullptr : std::get_if<T>(&it->second);
  }
  std::map<std::string, AttrValue, std::less<>> values_;
};

}  // namespace lowp::ir
