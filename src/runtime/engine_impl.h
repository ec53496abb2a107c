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
  /// runtime::engineFingerprint() of the device the engine was built for.
  std::string fingerprint;
  EngineOptions options;
};

namespace runtime {

/// The public description of a graph input or output.
TensorDesc describeValue(const ir::Value& value);

/// Called with every value a context computes (at plan time or run time), before its memory is reused.
using ValueObserver = std::function<void(const ir::Value& value, const Tensor& tensor)>;
/// Makes `context` call `observer` on every later execute() (an empty function: stop). On the CUDA device
/// each tensor is copied to the host for it, except float tensors of more than `maxFloatBytes` (>= 0):
/// those come as shape and type without data (data() is null), which spares copying every activation of a
/// large batch when only shapes and small values are wanted.
void observeValues(ExecutionContext& context, ValueObserver observer, int64_t maxFloatBytes = -1);

/// Chooses a kernel for every node and describes the graph's inputs and outputs. On the CUDA device
/// (options.device), also a CUDA kernel for every node that does not fold while planning.
Result<std::unique_ptr<Engine::Impl>> prepareEngine(std::unique_ptr<ir::Graph> graph,
                                                    const EngineOptions& options);

/// What engines and timing caches made for `device` are tied to: runtime::deviceFingerprint() on the CPU;
/// on the CUDA device, the GPU, its driver, the CUDA, cuDNN and cuBLASLt versions, and lowp's version.
Result<std::string> engineFingerprint(lowp::Device device, int cudaOrdinal = 0);

/// kUnsupported "no CUDA kernel for <op> '<name>' (types (...) -> (...))", naming the node.
Status noCudaKernel(const ir::Node& node);

/// Per node id, whether every execution context computes the node while planning, whatever the input
/// shapes: each input is a constant or such a node's output (Shape and Size need only their input's shape,
/// known once the inputs are bound).
std::vector<bool> foldedWhilePlanning(const ir::Graph& graph);

}  // namespace runtime
}  // namespace lowp
