// The typed graph: Values (tensors) produced and consumed by Nodes (operators).
//
// Every Value has an element type; its shape is known as far as the graph's inputs fix it. Only Cast,
// QuantizeLinear and DequantizeLinear (and casts the builder inserts) change a type between a producer's
// inputs and outputs beyond what the op's own type rule says.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "ir/attribute.h"
#include "ir/data_type.h"
#include "ir/format.h"
#include "ir/shape.h"
#include "lowp/status.h"
#include "lowp/tensor.h"

namespace lowp::ir {

struct Node;

struct Value {
  int64_t id = 0;  ///< Dense index into the graph's value list.
  std::string name;
  DataType type = DataType::kUndefined;
  Shape shape = Shape::unknownRank();
  /// The memory layout the builder chose; graphs from the importer are all kLinear.
  TensorFormat format = TensorFormat::kLinear;
  Node* producer = nullptr;  ///< nullptr for graph inputs and constants.
  std::vector<Node*> consumers;
  /// The value of an initializer or folded constant.
  std::optional<Tensor> constant;
  bool isGraphInput = false;
  bool isGraphOutput = false;
};

struct Node {
  int64_t id = 0;
  std::string name;  ///< The ONNX node name; the importer invents "<op>_<index>" for unnamed nodes.
  std::string opType;
  std::string domain;           ///< "" for the default ONNX domain.
  int64_t opsetVersion = 0;     ///< The opset of the node's domain the model imports.
  std::vector<Value*> inputs;   ///< nullptr marks an omitted optional input.
  std::vector<Value*> outputs;  ///< nullptr marks an omitted optional output.
  AttributeMap attributes;
  /// Names of the nodes rewrites folded or fused into this one (e.g. a BatchNormalization folded into a
  /// Conv), so the layer still answers to every name it absorbed.
  std::vector<std::string> absorbedNames;

  /// Input i, or nullptr when absent.
  Value* input(size_t i) const { return i < inputs.size() ? inputs[i] : nullptr; }
  /// "Conv 'conv1'" — how errors name a node.
  std::string describe() const;
};

class Graph {
 public:
  Graph() = default;
  Graph(const Graph&) = delete;
  Graph& operator=(const Graph&) = delete;

  /// Adds a value with a unique name; error if the name is taken.
  Result<Value*> addValue(const std::string& name);
  /// Adds a node (not yet connected).
  Node* addNode(std::string opType, std::string name);
  /// Sets input slot `index` of `node` to `value` (may be nullptr), keeping consumer lists in step.
  void setInput(Node* node, size_t index, Value* value);
  /// Appends an output to `node`; error if the value already has a producer.
  Status addOutput(Node* node, Value* value);
  /// Removes a node and its edges; its outputs remain as values without a producer.
  void removeNode(Node* node);

  Value* findValue(const std::string& name) const;
  const std::vector<std::unique_ptr<Value>>& values() const { return values_; }
  /// Nodes, in topological order after sortTopologically().
  const std::vector<Node*>& nodes() const { return order_; }

  std::vector<Value*>& inputs() { return inputs_; }
  const std::vector<Value*>& inputs() const { return inputs_; }
  std::vector<Value*>& outputs() { return outputs_; }
  const std::vector<Value*>& outputs() const { return outputs_; }

  /// Orders nodes so that every node follows the producers of its inputs; error naming a node on a cycle.
  Status sortTopologically();

  std::string name;

 private:
  std::vector<std::unique_ptr<Value>> values_;
  std::vector<std::unique_ptr<Node>> nodeStorage_;
  std::vector<Node*> order_;
  std::vector<Value*> inputs_;
  std::vector<Value*> outputs_;
};

/// A copy of `graph`: values keep their ids; nodes are renumbered in the graph's order; constants share
/// their (immutable) buffers with the original.
std::unique_ptr<Graph> cloneGraph(const Graph& graph);

}  // namespace lowp::ir
