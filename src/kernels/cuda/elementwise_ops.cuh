// The unary and binary ops of elementwise.cu and chain.cu on fp32 values, with the formulas and the order
// of operations of the reference kernels (kernels/reference/elementwise.cpp, elementwise_binary.cpp), so
// that fp32 results agree to the last bit where CUDA's functions are correctly rounded (+ - * / sqrt) and
// within an ulp or two elsewhere (exp, erf, tanh). Included by the .cu files only.
#pragma once

#include <cmath>

#include "kernels/cuda/device_util.cuh"

namespace lowp::kernels::cuda {

/// log(1 + exp(x)) without overflow for large x.
__device__ __forceinline__ float softplus(float x) {
  return x > 0.0f ? x + log1pf(expf(-x)) : log1pf(expf(x));
}

/// op(x); alpha and beta as UnaryAttributes (Clip: min and max).
__device__ __forceinline__ float applyUnary(UnaryOp op, float x, float alpha, float beta) {
  switch (op) {
    case UnaryOp::kRelu:
      return x < 0.0f ? 0.0f : x;  // NaN passes, as x < 0 is false
    case UnaryOp::kSigmoid: {
      // Both branches keep exp's argument non-positive, as the reference does.
      if (x >= 0.0f) return 1.0f / (1.0f + expf(-x));
      const float e = expf(x);
      return e / (1.0f + e);
    }
    case UnaryOp::kClip:
      x = x < alpha ? alpha : x;
      return x > beta ? beta : x;
    case UnaryOp::kLeakyRelu:
      return x < 0.0f ? alpha * x : x;
    case UnaryOp::kTanh:
      return tanhf(x);
    case UnaryOp::kExp:
      return expf(x);
    case UnaryOp::kErf:
      return erff(x);
    case UnaryOp::kGelu:
      return 0.5f * x * (1.0f + erff(x * 0.70710678118654752440f));  // x / sqrt(2) as a product
    case UnaryOp::kGeluTanh: {
      const float k = 0.79788456080286535588f;  // sqrt(2 / pi)
      return 0.5f * x * (1.0f + tanhf(k * (x + 0.044715f * x * x * x)));
    }
    case UnaryOp::kHardSigmoid: {
      const float v = alpha * x + beta;
      return v < 0.0f ? 0.0f : (v > 1.0f ? 1.0f : v);
    }
    case UnaryOp::kHardSwish: {
      const float gate = x / 6.0f + 0.5f;
      return x * (gate < 0.0f ? 0.0f : (gate > 1.0f ? 1.0f : gate));
    }
    case UnaryOp::kNeg:
      return -x;
    case UnaryOp::kAbs:
      return fabsf(x);
    case UnaryOp::kSqrt:
      return sqrtf(x);
    case UnaryOp::kReciprocal:
      return 1.0f / x;
    case UnaryOp::kLog:
      return logf(x);
    case UnaryOp::kFloor:
      return floorf(x);
    case UnaryOp::kCeil:
      return ceilf(x);
    case UnaryOp::kRound:
      return rintf(x);
    case UnaryOp::kSin:
      return sinf(x);
    case UnaryOp::kCos:
      return cosf(x);
    case UnaryOp::kSign:
      return isnan(x) ? x : (x > 0.0f ? 1.0f : (x < 0.0f ? -1.0f : 0.0f));
    case UnaryOp::kSoftplus:
      return softplus(x);
    case UnaryOp::kSoftsign:
      return x / (1.0f + fabsf(x));
    case UnaryOp::kMish:
      return x * tanhf(softplus(x));
    case UnaryOp::kElu:
      return x < 0.0f ? alpha * expm1f(x) : x;
    case UnaryOp::kCelu:
      return x > 0.0f ? x : alpha * expm1f(x / alpha);
    case UnaryOp::kSelu:
      return beta * (x > 0.0f ? x : alpha * expm1f(x));
    case UnaryOp::kThresholdedRelu:
      return x > alpha ? x : 0.0f;
  }
  return x;
}

template <BinaryOp kOp>
__device__ __forceinline__ float applyBinary(float a, float b) {
  if constexpr (kOp == BinaryOp::kAdd) {
    return __fadd_rn(a, b);
  } else if constexpr (kOp == BinaryOp::kMul) {
    return __fmul_rn(a, b);
  } else if constexpr (kOp == BinaryOp::kSub) {
    return __fsub_rn(a, b);
  } else if constexpr (kOp == BinaryOp::kDiv) {
    return __fdiv_rn(a, b);
  } else if constexpr (kOp == BinaryOp::kMax) {
    return isnan(a) || isnan(b) ? NAN : (a < b ? b : a);
  } else {
    return isnan(a) || isnan(b) ? NAN : (b < a ? b : a);
  }
}

/// applyBinary with the op chosen at run time (the chain's steps).
__device__ __forceinline__ float applyBinary(BinaryOp op, float a, float b) {
  switch (op) {
    case BinaryOp::kAdd:
      return applyBinary<BinaryOp::kAdd>(a, b);
    case BinaryOp::kMul:
      return applyBinary<BinaryOp::kMul>(a, b);
    case BinaryOp::kSub:
      return applyBinary<BinaryOp::kSub>(a, b);
    case BinaryOp::kDiv:
      return applyBinary<BinaryOp::kDiv>(a, b);
    case BinaryOp::kMax:
      return applyBinary<BinaryOp::kMax>(a, b);
    case BinaryOp::kMin:
      return applyBinary<BinaryOp::kMin>(a, b);
  }
  return a;
}

}  // namespace lowp::kernels::cuda
