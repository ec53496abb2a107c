// cuDNN graph API helpers (cudnn_graph.h).
#include "kernels/cuda/cudnn_graph.h"

#include <utility>

#include "kernels/cuda/cuda_check.h"

namespace lowp::kernels::cuda::cudnn_graph {

Result<Descriptor> makeDescriptor(cudnnBackendDescriptorType_t type) {
  cudnnBackendDescriptor_t d = nullptr;
  LOWP_CUDA_RETURN_IF_ERROR(cudnnBackendCreateDescriptor(type, &d));
  return Descriptor(d);
}

Status setAttribute(const Descriptor& d, cudnnBackendAttributeName_t name, cudnnBackendAttributeType_t type,
                    int64_t count, const void* values) {
  return checkCall(cudnnBackendSetAttribute(d.get(), name, type, count, values), "cudnnBackendSetAttribute");
}

Status setDescriptor(const Descriptor& d, cudnnBackendAttributeName_t name, const Descriptor& value) {
  cudnnBackendDescriptor_t raw = value.get();
  return setAttribute(d, name, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &raw);
}

Status finalize(const Descriptor& d) {
  Status s = checkCall(cudnnBackendFinalize(d.get()), "cudnnBackendFinalize");
  if (s.isOk()) return s;
  char reason[512] = {};
  cudnnGetLastErrorString(reason, sizeof(reason));
  return reason[0] != '\0' ? s.withContext(reason) : s;
}

Result<Descriptor> makeTensor(int64_t id, cudnnDataType_t type, const std::vector<int64_t>& dims,
                              const std::vector<int64_t>& strides, TensorKind kind) {
  if (dims.size() != strides.size()) return Status(StatusCode::kInternal, "tensor dims and strides differ");
  LOWP_ASSIGN_OR_RETURN(Descriptor t, makeDescriptor(CUDNN_BACKEND_TENSOR_DESCRIPTOR));
  const int64_t alignment = 16;
  const auto rank = static_cast<int64_t>(dims.size());
  LOWP_RETURN_IF_ERROR(setAttribute(t, CUDNN_ATTR_TENSOR_DATA_TYPE, CUDNN_TYPE_DATA_TYPE, 1, &type));
  LOWP_RETURN_IF_ERROR(setAttribute(t, CUDNN_ATTR_TENSOR_DIMENSIONS, CUDNN_TYPE_INT64, rank, dims.data()));
  LOWP_RETURN_IF_ERROR(setAttribute(t, CUDNN_ATTR_TENSOR_STRIDES, CUDNN_TYPE_INT64, rank, strides.data()));
  LOWP_RETURN_IF_ERROR(setAttribute(t, CUDNN_ATTR_TENSOR_UNIQUE_ID, CUDNN_TYPE_INT64, 1, &id));
  LOWP_RETURN_IF_ERROR(setAttribute(t, CUDNN_ATTR_TENSOR_BYTE_ALIGNMENT, CUDNN_TYPE_INT64, 1, &alignment));
  if (kind == TensorKind::kVirtual) {
    const bool yes = true;
    LOWP_RETURN_IF_ERROR(setAttribute(t, CUDNN_ATTR_TENSOR_IS_VIRTUAL, CUDNN_TYPE_BOOLEAN, 1, &yes));
  } else if (kind == TensorKind::kByValue) {
    const bool yes = true;
    LOWP_RETURN_IF_ERROR(setAttribute(t, CUDNN_ATTR_TENSOR_IS_BY_VALUE, CUDNN_TYPE_BOOLEAN, 1, &yes));
  }
  LOWP_RETURN_IF_ERROR(finalize(t));
  return t;
}

Status Plan::create(const CudaContext& cuda, std::vector<Descriptor> ops, std::vector<Descriptor> kept,
                    int engine, const std::string& what) {
  ops_ = std::move(ops);
  kept_ = std::move(kept);
  LOWP_ASSIGN_OR_RETURN(graph_, makeDescriptor(CUDNN_BACKEND_OPERATIONGRAPH_DESCRIPTOR));
  std::vector<cudnnBackendDescriptor_t> raw;
  for (const Descriptor& op : ops_) raw.push_back(op.get());
  LOWP_RETURN_IF_ERROR(setAttribute(graph_, CUDNN_ATTR_OPERATIONGRAPH_OPS, CUDNN_TYPE_BACKEND_DESCRIPTOR,
                                    static_cast<int64_t>(raw.size()), raw.data()));
  cudnnHandle_t handle = cuda.cudnn;
  LOWP_RETURN_IF_ERROR(setAttribute(graph_, CUDNN_ATTR_OPERATIONGRAPH_HANDLE, CUDNN_TYPE_HANDLE, 1, &handle));
  LOWP_RETURN_IF_ERROR(finalize(graph_));

  Status last(StatusCode::kUnsupported, "cuDNN offers no engine for this " + what);
  for (cudnnBackendHeurMode_t heuristic : {CUDNN_HEUR_MODE_A, CUDNN_HEUR_MODE_FALLBACK}) {
    auto configs = engineConfigs(heuristic);
    if (!configs) {
      last = configs.status();
      continue;
    }
    if (configs->empty()) continue;
    if (static_cast<size_t>(engine) < configs->size()) {
      auto plan = makePlan(cuda, (*configs)[static_cast<size_t>(engine)]);
      if (plan) {
        plan_ = std::move(*plan);
        return {};
      }
      last = plan.status();
    }
    if (cuda.exactTactics) {
      return Status(StatusCode::kUnsupported, "cuDNN's engine configuration " + std::to_string(engine) +
                                                  " does not run this " + what + ": " + last.message());
    }
    for (const Descriptor& config : *configs) {
      auto plan = makePlan(cuda, config);
      if (plan) {
        plan_ = std::move(*plan);
        return {};
      }
      last = plan.status();
    }
  }
  return last;
}

Result<std::vector<Descriptor>> Plan::engineConfigs(cudnnBackendHeurMode_t heuristic) {
  LOWP_ASSIGN_OR_RETURN(Descriptor heur, makeDescriptor(CUDNN_BACKEND_ENGINEHEUR_DESCRIPTOR));
  LOWP_RETURN_IF_ERROR(setDescriptor(heur, CUDNN_ATTR_ENGINEHEUR_OPERATION_GRAPH, graph_));
  LOWP_RETURN_IF_ERROR(setAttribute(heur, CUDNN_ATTR_ENGINEHEUR_MODE, CUDNN_TYPE_HEUR_MODE, 1, &heuristic));
  LOWP_RETURN_IF_ERROR(finalize(heur));
  int64_t count = 0;
  LOWP_CUDA_RETURN_IF_ERROR(cudnnBackendGetAttribute(heur.get(), CUDNN_ATTR_ENGINEHEUR_RESULTS,
                                                     CUDNN_TYPE_BACKEND_DESCRIPTOR, 0, &count, nullptr));
  std::vector<Descriptor> configs;
  std::vector<cudnnBackendDescriptor_t> raw;
  for (int64_t i = 0; i < count; ++i) {
    LOWP_ASSIGN_OR_RETURN(Descriptor c, makeDescriptor(CUDNN_BACKEND_ENGINECFG_DESCRIPTOR));
    raw.push_back(c.get());
    configs.push_back(std::move(c));
  }
  int64_t returned = 0;
  if (count > 0) {
    LOWP_CUDA_RETURN_IF_ERROR(cudnnBackendGetAttribute(heur.get(), CUDNN_ATTR_ENGINEHEUR_RESULTS,
                                                       CUDNN_TYPE_BACKEND_DESCRIPTOR, count, &returned,
                                                       raw.data()));
  }
  configs.resize(static_cast<size_t>(returned));
  return configs;
}

Result<Descriptor> Plan::makePlan(const CudaContext& cuda, const Descriptor& config) {
  LOWP_ASSIGN_OR_RETURN(Descriptor plan, makeDescriptor(CUDNN_BACKEND_EXECUTION_PLAN_DESCRIPTOR));
  cudnnHandle_t handle = cuda.cudnn;
  LOWP_RETURN_IF_ERROR(setAttribute(plan, CUDNN_ATTR_EXECUTION_PLAN_HANDLE, CUDNN_TYPE_HANDLE, 1, &handle));
  LOWP_RETURN_IF_ERROR(setDescriptor(plan, CUDNN_ATTR_EXECUTION_PLAN_ENGINE_CONFIG, config));
  LOWP_RETURN_IF_ERROR(finalize(plan));
  int64_t workspace = 0;
  LOWP_CUDA_RETURN_IF_ERROR(cudnnBackendGetAttribute(plan.get(), CUDNN_ATTR_EXECUTION_PLAN_WORKSPACE_SIZE,
                                                     CUDNN_TYPE_INT64, 1, nullptr, &workspace));
  if (workspace < 0 || static_cast<size_t>(workspace) > cuda.workspaceBytes)
    return Status(StatusCode::kUnsupported, "the engine needs more workspace than there is");
  return plan;
}

Status Plan::execute(const CudaContext& cuda, const std::vector<int64_t>& ids,
                     const std::vector<void*>& pointers) {
  if (ids.size() != pointers.size())
    return Status(StatusCode::kInternal, "variant pack ids and pointers differ");
  std::vector<void*> key = pointers;
  key.push_back(cuda.workspace);
  if (!pack_ || key != packPointers_) {
    LOWP_ASSIGN_OR_RETURN(pack_, makeDescriptor(CUDNN_BACKEND_VARIANT_PACK_DESCRIPTOR));
    void* workspace = cuda.workspace;
    LOWP_RETURN_IF_ERROR(setAttribute(pack_, CUDNN_ATTR_VARIANT_PACK_UNIQUE_IDS, CUDNN_TYPE_INT64,
                                      static_cast<int64_t>(ids.size()), ids.data()));
    LOWP_RETURN_IF_ERROR(setAttribute(pack_, CUDNN_ATTR_VARIANT_PACK_DATA_POINTERS, CUDNN_TYPE_VOID_PTR,
                                      static_cast<int64_t>(pointers.size()), pointers.data()));
    LOWP_RETURN_IF_ERROR(
        setAttribute(pack_, CUDNN_ATTR_VARIANT_PACK_WORKSPACE, CUDNN_TYPE_VOID_PTR, 1, &workspace));
    LOWP_RETURN_IF_ERROR(finalize(pack_));
    packPointers_ = std::move(key);
  }
  LOWP_CUDA_RETURN_IF_ERROR(cudnnSetStream(cuda.cudnn, cuda.stream));
  LOWP_CUDA_RETURN_IF_ERROR(cudnnBackendExecute(cuda.cudnn, plan_.get(), pack_.get()));
  return {};
}

}  // namespace lowp::kernels::cuda::cudnn_graph
