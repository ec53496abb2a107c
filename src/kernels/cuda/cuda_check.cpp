#include "kernels/cuda/cuda_check.h"

#include <string>

#include "kernels/cuda/cuda_context.h"

namespace lowp::kernels::cuda {
namespace {

std::string callName(const char* call) {
  std::string name(call);
  const size_t paren = name.find('(');
  return paren == std::string::npos ? name : name.substr(0, paren);
}

}  // namespace

Status checkCall(cudaError_t result, const char* call) {
  if (result == cudaSuccess) return {};
  cudaGetLastError();  // the runtime also records the error; clear it so that later checks see their own
  return Status(StatusCode::kInternal,
                callName(call) + ": " + cudaGetErrorName(result) + " (" + cudaGetErrorString(result) + ")");
}

Status checkCall(cublasStatus_t result, const char* call) {
  if (result == CUBLAS_STATUS_SUCCESS) return {};
  const std::string message =
      callName(call) + ": " + cublasLtGetStatusName(result) + " (" + cublasLtGetStatusString(result) + ")";
  return Status(result == CUBLAS_STATUS_NOT_SUPPORTED ? StatusCode::kUnsupported : StatusCode::kInternal,
                message);
}

Status checkCall(cudnnStatus_t result, const char* call) {
  if (result == CUDNN_STATUS_SUCCESS) return {};
  // cuDNN 9 numbers its errors by class: 3000-3999 are the NOT_SUPPORTED family.
  const bool unsupported = result >= CUDNN_STATUS_NOT_SUPPORTED && result < CUDNN_STATUS_INTERNAL_ERROR;
  return Status(unsupported ? StatusCode::kUnsupported : StatusCode::kInternal,
                callName(call) + ": " + cudnnGetErrorString(result));
}

Status forNode(const KernelContext& ctx, Status status) {
  if (status.isOk()) return status;
  return status.withContext(ctx.node().describe()).withNode(ctx.node().name);
}

Result<CudaContext*> requireCuda(const KernelContext& ctx) {
  if (ctx.cuda() == nullptr || ctx.cuda()->stream == nullptr)
    return Status(StatusCode::kInternal, ctx.node().describe() + ": a CUDA kernel ran without a CUDA context",
                  ctx.node().name);
  return ctx.cuda();
}

}  // namespace lowp::kernels::cuda
