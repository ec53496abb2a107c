#include "engine/build_memory_plan.h"

#include <algorithm>
#include <string>

#include "ir/format.h"
#include "ir/op_schema.h"
#include "runtime/memory_plan.h"

namespace lowp::engine {

Result<std::optional<BuildMemoryPlan>> planBuildMemory(const ir::Graph& graph,
                                                       const std::vector<std::vector<int64_t>>& inputShapes) {
  if (!inputShapes.empty() && inputShapes.size() != graph.inputs().size()) {
    return Status(StatusCode::kInvalidArgument, std::to_string(inputShapes.size()) + " build shapes for " +
                                                    std::to_string(graph.inputs().size()) + " graph inputs");
  }
  const size_t valueCount = graph.values().size();
  std::vector<ir::Shape> shapes(valueCount, ir::Shape::unknownRank());
  for (const auto& v : graph.values()) {
    if (v->constant) shapes[static_cast<size_t>(v->id)] = ir::Shape::fromSizes(v->constant->shape());
  }
  for (size_t i = 0; i < graph.inputs().size(); ++i) {
    const ir::Value* in = graph.inputs()[i];
    if (in->constant) continue;
    if (!inputShapes.empty()) {
      shapes[static_cast<size_t>(in->id)] = ir::Shape::fromSizes(inputShapes[i]);
    } else if (in->shape.isStatic()) {
      shapes[static_cast<size_t>(in->id)] = in->shape;
    } else {
      return std::optional<BuildMemoryPlan>();
    }
  }

  const std::vector<ir::Node*>& nodes = graph.nodes();
  std::vector<int64_t> lastUse(valueCount, -1);
  for (size_t step = 0; step < nodes.size(); ++step) {
    const ir::Node& node = *nodes[step];
    std::vector<ir::InferInput> inputs;
    for (const ir::Value* in : node.inputs) {
      ir::InferInput info;
      if (in != nullptr) {
        info = {true, in->type, shapes[static_cast<size_t>(in->id)], in->constant ? &*in->constant : nullptr};
        lastUse[static_cast<size_t>(in->id)] = static_cast<int64_t>(step);
      }
      inputs.push_back(std::move(info));
    }
    auto inferred = ir::inferNode(node, std::move(inputs));
    if (!inferred) return inferred.status().withNode(node.name);
    for (size_t i = 0; i < node.outputs.size(); ++i) {
      if (node.outputs[i] != nullptr)
        shapes[static_cast<size_t>(node.outputs[i]->id)] = (*inferred)[i].second;
    }
  }

  std::vector<runtime::BufferLifetime> lifetimes;
  BuildMemoryPlan plan;
  for (size_t step = 0; step < nodes.size(); ++step) {
    for (const ir::Value* out : nodes[step]->outputs) {
      if (out == nullptr || out->isGraphOutput) continue;
      const ir::Shape& shape = shapes[static_cast<size_t>(out->id)];
      if (!shape.isStatic()) continue;  // data-dependent: the runtime allocates it when produced
      const int64_t bytes = ir::storageBytes(out->type, shape.sizes(), out->format);
      if (bytes < 0) {
        return Status(StatusCode::kInvalidArgument,
                      nodes[step]->describe() + ": output '" + out->name + "' of shape " + shape.toString() +
                          " is too large",
                      nodes[step]->name);
      }
      const auto first = static_cast<int64_t>(step);
      const int64_t last = std::max(lastUse[static_cast<size_t>(out->id)], first);
      lifetimes.push_back({bytes, first, last});
      plan.buffers.push_back({out->id, 0, bytes, first, last});
    }
  }
  runtime::MemoryPlan placed = runtime::planMemory(lifetimes);
  for (size_t i = 0; i < plan.buffers.size(); ++i) plan.buffers[i].offset = placed.offsets[i];
  plan.arenaBytes = placed.arenaBytes;
  std::sort(plan.buffers.begin(), plan.buffers.end(),
            [](const PlannedBuffer& a, const PlannedBuffer& b) { return a.value < b.value; });
  return std::optional<BuildMemoryPlan>(std::move(plan));
}

Status checkMemoryPlan(const BuildMemoryPlan& plan, int64_t valueCount, int64_t stepCount) {
  constexpr int64_t kAlign = 64;
  if (plan.arenaBytes < 0)
    return Status(StatusCode::kInvalidEngine, "the memory plan's arena size is negative");
  int64_t previous = -1;
  for (const PlannedBuffer& b : plan.buffers) {
    const std::string which = "the memory plan's buffer for value " + std::to_string(b.value);
    int64_t end = 0;
    if (b.value < 0 || b.value >= valueCount) {
      return Status(StatusCode::kInvalidEngine,
                    which + ": no such value (the graph has " + std::to_string(valueCount) + ")");
    }
    if (b.value <= previous) {
      return Status(StatusCode::kInvalidEngine, which + ": buffers must be in increasing value order");
    }
    previous = b.value;
    if (b.firstStep < 0 || b.firstStep > b.lastStep || b.lastStep >= stepCount) {
      return Status(StatusCode::kInvalidEngine, which + ": steps " + std::to_string(b.firstStep) + " to " +
                                                    std::to_string(b.lastStep) + " are not within the " +
                                                    std::to_string(stepCount) + " nodes");
    }
    if (b.offset < 0 || b.offset % kAlign != 0 || b.bytes <= 0 ||
        __builtin_add_overflow(b.offset, b.bytes, &end) || end > plan.arenaBytes) {
      return Status(StatusCode::kInvalidEngine, which + ": " + std::to_string(b.bytes) + " bytes at offset " +
                                                    std::to_string(b.offset) + " do not fit the arena of " +
                                                    std::to_string(plan.arenaBytes) + " bytes");
    }
  }
  // Sweep the buffers by first step; each one is compared with those still alive.
  std::vector<const PlannedBuffer*> order;
  order.reserve(plan.buffers.size());
  for (const PlannedBuffer& b : plan.buffers) order.push_back(&b);
  std::sort(order.begin(), order.end(),
            [](const PlannedBuffer* a, const PlannedBuffer* b) { return a->firstStep < b->firstStep; });
  std::vector<const PlannedBuffer*> alive;
  for (const PlannedBuffer* b : order) {
    std::erase_if(alive, [&](const PlannedBuffer* a) { return a->lastStep < b->firstStep; });
    for (const PlannedBuffer* a : alive) {
      if (a->offset < b->offset + b->bytes && b->offset < a->offset + a->bytes) {
        return Status(StatusCode::kInvalidEngine, "the memory plan puts values " + std::to_string(a->value) +
                                                      " and " + std::to_string(b->value) +
                                                      ", alive at the same step, in overlapping memory");
      }
    }
    alive.push_back(b);
  }
  return {};
}

}  // namespace lowp::engine
