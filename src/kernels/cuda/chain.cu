// lowp.ElementwiseChain on the GPU (launch.h, launchElementwiseChain): one pass over memory for the whole
// chain. Each thread interprets the program (at most kMaxChainSteps steps, every thread taking the same
// branches) on fp32 values, rounding after each step to the tensor type as the unfused ops would store it.
// X and Y move as 16-byte vectors where both are aligned; operands are read one element at a time through
// their mode (same shape, block pattern, or strides over the output's dims).
// Tests: tests/gpu/test_chain.cpp, against the CPU reference kernel (which runs the steps as separate ops).
#include <cmath>

#include "kernels/cuda/elementwise_ops.cuh"

namespace lowp::kernels::cuda {
namespace {

constexpr int kThreads = 256;

template <typename T>
__device__ __forceinline__ float roundTo(float v) {
  return toFloat(fromFloat<T>(v));
}

template <typename T>
__device__ __forceinline__ float operandAt(const ChainProgram& p, const ChainOperand& o, int64_t i) {
  const T* data = static_cast<const T*>(o.data);
  switch (o.mode) {
    case ChainOperandMode::kSame:
      return toFloat(data[i]);
    case ChainOperandMode::kBlock:
      return toFloat(data[(i / o.inner) % o.count]);
    case ChainOperandMode::kStrided: {
      int64_t rest = i;
      int64_t at = 0;
      for (int d = p.rank - 1; d >= 0; --d) {
        at += (rest % p.dims[d]) * o.strides[d];
        rest /= p.dims[d];
      }
      return toFloat(data[at]);
    }
  }
  return 0.0f;
}

template <typename T>
__device__ __forceinline__ T runChain(const ChainProgram& p, T x, int64_t i) {
  float v = toFloat(x);
  for (int s = 0; s < p.stepCount; ++s) {
    const ChainStepCode& step = p.steps[s];
    if (step.binary) {
      const float o = operandAt<T>(p, p.operands[step.operand], i);
      v = step.operandFirst ? applyBinary(step.binaryOp, o, v) : applyBinary(step.binaryOp, v, o);
    } else {
      v = applyUnary(step.unary, v, step.alpha, step.beta);
    }
    v = roundTo<T>(v);
  }
  return fromFloat<T>(v);
}

// The program lives in the kernel's parameter space (constant memory), read alike by every thread.
template <typename T, int kVec>
__global__ void chainKernel(const T* __restrict__ x, T* __restrict__ y, int64_t n,
                            const __grid_constant__ ChainProgram program) {
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  const int64_t first = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  const int64_t vectors = n / kVec;
  for (int64_t v = first; v < vectors; v += stride) {
    const Vec<T, kVec> in = reinterpret_cast<const Vec<T, kVec>*>(x)[v];
    Vec<T, kVec> out;
#pragma unroll
    for (int j = 0; j < kVec; ++j) out.v[j] = runChain<T>(program, in.v[j], v * kVec + j);
    reinterpret_cast<Vec<T, kVec>*>(y)[v] = out;
  }
  for (int64_t i = vectors * kVec + first; i < n; i += stride) y[i] = runChain<T>(program, x[i], i);
}

}  // namespace

cudaError_t launchElementwiseChain(Elem type, const void* x, void* y, int64_t n, const ChainProgram& program,
                                   cudaStream_t stream) {
  if (n <= 0) return cudaSuccess;
  if (program.stepCount < 0 || program.stepCount > kMaxChainSteps || program.operandCount < 0 ||
      program.operandCount > kMaxChainOperands)
    return cudaErrorInvalidValue;
  cudaError_t result = cudaErrorInvalidValue;
  dispatchFloatElem(type, [&](auto tag) {
    using T = decltype(tag);
    constexpr int kVec = 16 / sizeof(T);
    const auto* in = static_cast<const T*>(x);
    auto* out = static_cast<T*>(y);
    if (aligned(x, 16) && aligned(y, 16)) {
      chainKernel<T, kVec><<<gridFor(n / kVec + 1, kThreads), kThreads, 0, stream>>>(in, out, n, program);
    } else {
      chainKernel<T, 1><<<gridFor(n, kThreads), kThreads, 0, stream>>>(in, out, n, program);
    }
    result = cudaGetLastError();
  });
  return result;
}

}  // namespace lowp::kernels::cuda
