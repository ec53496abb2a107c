// The internals behind lowp::Engine and lowp::ExecutionContext.
#pragma once

#include <functional>
#include <memory>
#include <vector>

#include "ir/graph.h"
#include "kernels/kernel.h"
#include "lowp/engine.h"

namespace lowp {

struct Engine::Impl {
  std::unique_ptr<ir::Graph> graph;
  /// The kernel of each node, indexed by node id; nullptr for nodes that are not in the graph's order.
  std::vector<const kernels::KernelDef*> kernelOf;
  /// On the CUDA device, per node id, the Backend::kCuda kernels that may run the node, best first: an
  /// execution context runs the first whose supports() accepts its plan's shapes. Empty for a node that
  /// folds while planning (its inputs are constants or plan-time values: kernelOf computes it on the CPU and
  /// its result is uploaded). Empty altogether for an engine that runs on the CPU.
  std::vector<std::vector<const kernels::KernelDef*>> cudaKernelsOf;
  std::vector<TensorDesc> inputs;
  std::vector<TensorDesc> outputs;
  /// Per layer in execution order, the builder's decisions.
  std::vector<LayerInfo> layers;
  /// Per graph input, the shape the builder timed tactics for; empty for an engine made without building.
  std::vector<std::vector<int64_t>> buildShapes;
  /// runtime::deviceFingerprint() of the machine that built the engine.
  std::string fingerprint;
  EngineOptions options;
};

namespace runtime {

/// The public description of a graph input or output.
TensorDesc describeValue(const ir::Value& value);

/// Called with every value a context computes (at plan time or run time), before its memory is reused.
using ValueObserver = std::function<void(const ir::Value& value, const Tensor& tensor)>;
/// Makes `context` call `observer` on every later execute() (an empty function: stop).
void observeValues(ExecutionContext& context, ValueObserver observer);

/// Chooses a kernel for every node and describes the graph's inputs and outputs. On the CUDA device
/// (options.device), also a CUDA kernel for every node that does not fold while planning.
Result<std::unique_ptr<Engine::Impl>> prepareEngine(std::unique_ptr<ir::Graph> graph,
                                                    const EngineOptions& options);

/// kUnsupported "no CUDA kernel for <op> '<name>' (types (...) -> (...))", naming the node.
Status noCudaKernel(const ir::Node& node);

/// Per node id, whether every execution context computes the node while planning, whatever the input
/// shapes: each input is a constant or such a node's output (Shape and Size need only their input's shape,
/// known once the inputs are bound).
std::vector<bool> foldedWhilePlanning(const ir::Graph& graph);

}  // namespace runtime
}  // namespace lowp
