#include "ir/graph.h"

#include <algorithm>
#include <unordered_map>

namespace lowp::ir {

std::string Node::describe() const {
  return opType + " '" + name + "'";
}

Result<Value*> Graph::addValue(const std::string& valueName) {
  if (!valueName.empty() && findValue(valueName) != nullptr) {
    return Status(StatusCode::kInvalidModel, "tensor name '" + valueName + "' is defined twice");
  }
  auto v = std::make_unique<Value>();
  v->id = static_cast<int64_t>(values_.size());
  v->name = valueName;
  values_.push_back(std::move(v));
  return values_.back().get();
}

Node* Graph::addNode(std::string opType, std::string nodeName) {
  auto n = std::make_unique<Node>();
  n->id = static_cast<int64_t>(nodeStorage_.size());
  n->opType = std::move(opType);
  n->name = std::move(nodeName);
  nodeStorage_.push_back(std::move(n));
  order_.push_back(nodeStorage_.back().get());
  return order_.back();
}

void Graph::setInput(Node* node, size_t index, Value* value) {
  if (node->inputs.size() <= index) node->inputs.resize(index + 1, nullptr);
  Value* old = node->inputs[index];
  node->inputs[index] = value;
  if (old != nullptr) {
    auto& c = old->consumers;
    auto it = std::find(c.begin(), c.end(), node);
    if (it != c.end()) c.erase(it);
  }
  if (value != nullptr) value->consumers.push_back(node);
}

Status Graph::addOutput(Node* node, Value* value) {
  if (value != nullptr) {
    if (value->producer != nullptr || value->isGraphInput || value->constant) {
      return Status(StatusCode::kInvalidModel, "tensor '" + value->name + "' has more than one producer",
                    node->name);
    }
    value->producer = node;
  }
  node->outputs.push_back(value);
  return {};
}

void Graph::removeNode(Node* node) {
  for (size_t i = 0; i < node->inputs.size(); ++i) setInput(node, i, nullptr);
  for (Value* out : node->outputs) {
    if (out != nullptr) out->producer = nullptr;
  }
  order_.erase(std::remove(order_.begin(), order_.end(), node), order_.end());
}

Value* Graph::findValue(const std::string& valueName) const {
  for (const auto& v : values_) {
    if (v->name == valueName) return v.get();
  }
  return nullptr;
}

Status Graph::sortTopologically() {
  // Kahn's algorithm; ties keep the model's order so that execution order follows the file.
  std::unordered_map<const Node*, size_t> pending;
  for (Node* n : order_) {
    size_t count = 0;
    for (Value* in : n->inputs) {
      if (in != nullptr && in->producer != nullptr) ++count;
    }
    pending[n] = count;
  }
  std::vector<Node*> sorted;
  sorted.reserve(order_.size());
  std::vector<Node*> ready;
  for (auto it = order_.rbegin(); it != order_.rend(); ++it) {
    if (pending[*it] == 0) ready.push_back(*it);
  }
  while (!ready.empty()) {
    Node* n = ready.back();
    ready.pop_back();
    sorted.push_back(n);
    std::vector<Node*> released;
    for (Value* out : n->outputs) {
      if (out == nullptr) continue;
      std::vector<Node*> consumers = out->consumers;  // a node reading `out` twice is listed twice
      std::sort(consumers.begin(), consumers.end());
      consumers.erase(std::unique(consumers.begin(), consumers.end()), consumers.end());
      for (Node* c : consumers) {
        for (Value* in : c->inputs) {
          if (in == out && --pending[c] == 0) released.push_back(c);
        }
      }
    }
    // Keep file order among newly released nodes.
    std::sort(released.begin(), released.end(), [](const Node* a, const Node* b) { return a->id > b->id; });
    released.erase(std::unique(released.begin(), released.end()), released.end());
    ready.insert(ready.end(), released.begin(), released.end());
  }
  if (sorted.size() != order_.size()) {
    for (Node* n : order_) {
      if (pending[n] != 0) {
        return Status(StatusCode::kInvalidModel, "the graph has a cycle through " + n->describe(), n->name);
      }
    }
  }
  order_ = std::move(sorted);
  return {};
}

std::unique_ptr<Graph> cloneGraph(const Graph& graph) {
  auto copy = std::make_unique<Graph>();
  copy->name = graph.name;
  for (const auto& v : graph.values()) {
    auto added = copy->addValue("");  // names may repeat only as ""; set them directly below
    Value* c = *added;
    c->name = v->name;
    c->type = v->type;
    c->shape = v->shape;
    c->format = v->format;
    c->constant = v->constant;
    c->isGraphInput = v->isGraphInput;
    c->isGraphOutput = v->isGraphOutput;
  }
  auto valueOf = [&](const Value* v) { return v == nullptr ? nullptr : copy->values()[v->id].get(); };
  for (const Node* n : graph.nodes()) {
    Node* c = copy->addNode(n->opType, n->name);
    c->domain = n->domain;
    c->opsetVersion = n->opsetVersion;
    c->attributes = n->attributes;
    c->absorbedNames = n->absorbedNames;
    for (size_t i = 0; i < n->inputs.size(); ++i) copy->setInput(c, i, valueOf(n->inputs[i]));
    for (const Value* out : n->outputs) {
      Value* o = valueOf(out);
      if (o != nullptr) o->producer = c;
      c->outputs.push_back(o);
    }
  }
  for (const Value* v : graph.inputs()) copy->inputs().push_back(valueOf(v));
  for (const Value* v : graph.outputs()) copy->outputs().push_back(valueOf(v));
  return copy;
}

}  // namespace lowp::ir
