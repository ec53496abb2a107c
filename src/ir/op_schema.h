// Op schemas: for every operator lowp knows, the attributes it understands and its type and shape rule.
//
// The same inference function runs at import (shapes may be symbolic, values known only for constants)
// and at run time (every shape concrete, every input value available), so it must accept unknown dims and
// missing values and then leave the affected output dims unknown.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ir/attribute.h"
#include "ir/graph.h"
#include "ir/shape.h"
#include "lowp/status.h"

namespace lowp::ir {

struct AttrSpec {
  std::string_view name;
  AttrType type;
};

/// What inference knows of one input slot.
struct InferInput {
  bool present = false;
  DataType type = DataType::kUndefined;
  Shape shape = Shape::unknownRank();
  const Tensor* value = nullptr;  ///< The input's value when known (constant, or at run time).
};

class InferContext {
 public:
  InferContext(const Node& node, std::vector<InferInput> inputs);

  const Node& node() const { return node_; }
  const AttributeMap& attrs() const { return node_.attributes; }

  size_t inputCount() const { return inputs_.size(); }
  bool hasInput(size_t i) const { return i < inputs_.size() && inputs_[i].present; }
  DataType inputType(size_t i) const;
  const Shape& inputShape(size_t i) const;
  /// The value of input i when known, else nullptr.
  const Tensor* inputValue(size_t i) const { return hasInput(i) ? inputs_[i].value : nullptr; }
  /// Input i's value as integers (int32/int64 tensors), when known.
  std::optional<std::vector<int64_t>> inputInts(size_t i) const;

  size_t outputCount() const { return outputs_.size(); }
  void setOutput(size_t i, DataType type, Shape shape);
  DataType outputType(size_t i) const { return outputs_[i].first; }
  const Shape& outputShape(size_t i) const { return outputs_[i].second; }

  /// An error naming this node: inconsistent shapes or types (kInvalidArgument).
  Status invalid(const std::string& message) const;
  /// An error naming this node: a valid case lowp does not implement (kUnsupported).
  Status unsupported(const std::string& message) const;

 private:
  const Node& node_;
  std::vector<InferInput> inputs_;
  std::vector<std::pair<DataType, Shape>> outputs_;
};

using InferFn = Status (*)(InferContext&);

struct OpSchema {
  std::string_view opType;
  int minInputs = 0;
  int maxInputs = 0;  ///< -1: variadic.
  int minOutputs = 1;
  int maxOutputs = 1;
  std::vector<AttrSpec> attributes;
  InferFn infer = nullptr;
  std::string_view domain = "";  ///< "" is the default ONNX domain.
};

class OpSchemaRegistry {
 public:
  void add(OpSchema schema);
  const OpSchema* find(std::string_view domain, std::string_view opType) const;
  /// The registry holding every schema in ir/ops/op_list.cpp.
  static const OpSchemaRegistry& global();

 private:
  std::map<std::pair<std::string, std::string>, OpSchema, std::less<>> schemas_;
};

/// Runs the node's schema inference on `inputs` and returns the output types and shapes.
Result<std::vector<std::pair<DataType, Shape>>> inferNode(const Node& node, std::vector<InferInput> inputs);

}  // namespace lowp::ir
