// cuDNN's graph (backend) API as lowp's tactics use it: descriptors that free themselves, tensor
// descriptors, and a Plan (an operation graph, the execution plan of one of the engine configurations
// cuDNN's heuristic offers for it, and its runs). Used by the int8 convolution graphs
// (quantized_conv.cpp) and the fused attention (attention.cpp).
#pragma once

#include <cudnn.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "kernels/cuda/cuda_context.h"
#include "lowp/status.h"

namespace lowp::kernels::cuda::cudnn_graph {

struct DescriptorDeleter {
  void operator()(void* d) const { cudnnBackendDestroyDescriptor(d); }
};
/// A backend descriptor, destroyed with its owner.
using Descriptor = std::unique_ptr<void, DescriptorDeleter>;

Result<Descriptor> makeDescriptor(cudnnBackendDescriptorType_t type);
Status setAttribute(const Descriptor& d, cudnnBackendAttributeName_t name, cudnnBackendAttributeType_t type,
                    int64_t count, const void* values);
Status setDescriptor(const Descriptor& d, cudnnBackendAttributeName_t name, const Descriptor& value);
/// cudnnBackendFinalize, with cuDNN's own reason (its last-error text) when it refuses.
Status finalize(const Descriptor& d);

enum class TensorKind {
  kMemory,   ///< bound to device memory in each run (the variant pack)
  kVirtual,  ///< between two operations of the graph, never in memory
  kByValue,  ///< a host value passed with each run (a scalar)
};

/// A finalized tensor descriptor: unique id `id`, logical `dims`, `strides` in elements, 16-byte aligned.
Result<Descriptor> makeTensor(int64_t id, cudnnDataType_t type, const std::vector<int64_t>& dims,
                              const std::vector<int64_t>& strides, TensorKind kind = TensorKind::kMemory);

/// One operation graph and the execution plan cuDNN runs it with.
class Plan {
 public:
  /// Finalizes the graph of `ops` (`kept`: the descriptors they refer to, kept alive with them) and makes
  /// the plan of the heuristic's engine configuration `engine` (mode A, then the fallback list). Where that
  /// configuration does not exist or does not finalize: while the builder times tactics
  /// (CudaContext::exactTactics) an error (kUnsupported), so that each configuration is timed once;
  /// otherwise the first configuration that works. Plans needing more than the CUDA workspace are skipped.
  /// `what` names the graph in errors.
  Status create(const CudaContext& cuda, std::vector<Descriptor> ops, std::vector<Descriptor> kept,
                int engine, const std::string& what);

  /// Runs the plan on cuda.stream, tensor ids[i] at pointers[i] (a host pointer for a by-value tensor) and
  /// the CUDA workspace; the variant pack is made again only when a pointer changed.
  Status execute(const CudaContext& cuda, const std::vector<int64_t>& ids,
                 const std::vector<void*>& pointers);

 private:
  Result<std::vector<Descriptor>> engineConfigs(cudnnBackendHeurMode_t heuristic);
  Result<Descriptor> makePlan(const CudaContext& cuda, const Descriptor& config);

  std::vector<Descriptor> ops_;
  std::vector<Descriptor> kept_;
  Descriptor graph_;
  Descriptor plan_;
  Descriptor pack_;
  std::vector<void*> packPointers_;
};

}  // namespace lowp::kernels::cuda::cudnn_graph
