// Checking CUDA, cuBLASLt and cuDNN calls: each failure becomes a Status that names the call.
#pragma once

#include <cublasLt.h>
#include <cuda_runtime_api.h>
#include <cudnn.h>

#include "kernels/kernel.h"
#include "lowp/status.h"

namespace lowp::kernels::cuda {

/// OK, or kInternal "<call>: <error name> (<error text>)" (kUnsupported for the libraries' NOT_SUPPORTED).
/// `call` is the call's source text; only the function name before '(' is kept.
Status checkCall(cudaError_t result, const char* call);
Status checkCall(cublasStatus_t result, const char* call);
Status checkCall(cudnnStatus_t result, const char* call);

/// `status` with the node named, for errors inside a kernel.
Status forNode(const KernelContext& ctx, Status status);

/// The kernel's CUDA context, or an error naming the node when the runtime gave it none.
Result<CudaContext*> requireCuda(const KernelContext& ctx);

}  // namespace lowp::kernels::cuda

/// Returns the Status of a failed CUDA / cuBLASLt / cuDNN call from the enclosing function.
#define LOWP_CUDA_RETURN_IF_ERROR(call) LOWP_RETURN_IF_ERROR(::lowp::kernels::cuda::checkCall((call), #call))

/// The same inside a kernel: the error also names the node.
#define LOWP_CUDA_RETURN_IF_ERROR_NODE(ctx, call) \
  LOWP_RETURN_IF_ERROR(::lowp::kernels::cuda::forNode((ctx), ::lowp::kernels::cuda::checkCall((call), #call)))
