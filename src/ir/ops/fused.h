// lowp's fused ops (domain "lowp"), made by the fusion passes (passes/fuse_*.cpp) and run by the kernels
// that oneDNN's post-ops or the reference kernels provide.
//
// FusedConv (inputs X, W, B?, Z?; Conv's attributes plus the activation attributes below):
//   Y = act(conv(X, W) + B + Z)
//   conv and B exactly as ONNX Conv (B: [M]; it may be fp32 while X, W and Y are fp16/bf16); Z is a residual
//   of Y's shape and type. Computed in fp32 (fp64 for fp64 tensors) and rounded once to Y's type.
// FusedMatMul (inputs A, B, Bias?; the activation attributes):
//   Y = act(matmul(A, B) + Bias)
//   matmul as ONNX MatMul; Bias: [N] (N = Y's last dim; fp32 allowed beside fp16/bf16 operands), broadcast
//   over every row. Computed and rounded as FusedConv.
// FusedLayerNorm (inputs X, Scale, B?, Residual; LayerNormalization's attributes axis, epsilon, stash_type):
//   Y = LayerNormalization(X + Residual), the sum (NumPy broadcast, X's type) rounded to X's type first, as
//   the Add it was fused from stored it. Y only (no Mean, no InvStdDev). `residual_perm` (ints, optional):
//   the residual is read as Transpose(Residual, residual_perm), a permutation that keeps the last axis, with
//   `axis` the last: each row of the sum still adds one contiguous row of Residual, so the Transpose a
//   batch-first encoder puts after its output projection copies nothing.
// Activation attributes: `activation` (string; absent or "" for none) is one of Relu, LeakyRelu, Clip,
// Sigmoid, HardSwish, Tanh, Gelu, with the formulas of the ONNX ops of those names; `activation_alpha` is
// LeakyRelu's alpha, Clip's min, or 1 for Gelu's tanh approximation (0: the exact, erf GELU);
// `activation_beta` Clip's max (floats; defaults 0.01 (Gelu: 0), -inf, +inf).
#pragma once

#include <cmath>
#include <numbers>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ir/attribute.h"
#include "lowp/status.h"

namespace lowp::ir::ops {

inline constexpr std::string_view kLowpDomain = "lowp";

inline constexpr std::string_view kFusedLayerNormOp = "FusedLayerNorm";
inline constexpr size_t kFusedLayerNormResidual = 3;
inline constexpr std::string_view kFusedLayerNormResidualPerm = "residual_perm";

/// The element strides of FusedLayerNorm's residual per dim of Y (`out`): its stored shape read through
/// `perm` (empty: as stored) and broadcast to `out` (stride 0 along a broadcast dim); nullopt where the
/// permuted shape does not broadcast to `out` or `perm` is not a permutation of its dims.
std::optional<std::vector<int64_t>> fusedLayerNormResidualStrides(const std::vector<int64_t>& stored,
                                                                  const std::vector<int64_t>& perm,
                                                                  const std::vector<int64_t>& out);

/// Whether `strides` (per dim of `shape`) keep each row, the dims from `axis` on, contiguous and dense, and
/// no dim before it broadcast (stride 0 along a dim of more than one).
bool rowsAreContiguous(const std::vector<int64_t>& strides, const std::vector<int64_t>& shape, size_t axis);

/// The element offset, under `strides`, of row `row` of `shape` (rows: the dims from `axis` on).
inline int64_t rowOffset(const std::vector<int64_t>& strides, const std::vector<int64_t>& shape, size_t axis,
                         int64_t row) {
  int64_t offset = 0;
  for (size_t d = axis; d-- > 0;) {
    offset += row % shape[d] * strides[d];
    row /= shape[d];
  }
  return offset;
}

// The CUDA kernels' Activation (kernels/cuda/launch.h) has the same values.
enum class FusedActivation { kNone = 0, kRelu, kLeakyRelu, kClip, kSigmoid, kHardSwish, kTanh, kGelu };

struct ActivationSpec {
  FusedActivation kind = FusedActivation::kNone;
  float alpha = 0.0f;  ///< LeakyRelu's slope, Clip's min, 1 for Gelu's tanh approximation.
  float beta = 0.0f;   ///< Clip's max.
};

/// The activation a fused node's attributes describe; kInvalidArgument for an unknown name.
Result<ActivationSpec> readActivation(const AttributeMap& attrs);

/// The ONNX op type of an activation ("" for kNone).
std::string_view activationOpType(FusedActivation kind);

/// The activation whose ONNX op type is `opType`, or kNone when it has none.
FusedActivation activationOf(std::string_view opType);

/// Writes `spec` into a fused node's attributes (activation, activation_alpha, activation_beta).
void writeActivation(AttributeMap& attrs, const ActivationSpec& spec);

/// act(x) with the formulas of the ONNX activation ops (computed in C: float or double).
template <typename C>
C applyActivation(const ActivationSpec& spec, C x) {
  switch (spec.kind) {
    case FusedActivation::kNone:
      return x;
    case FusedActivation::kRelu:
      return x < 0 ? C{0} : x;
    case FusedActivation::kLeakyRelu:
      return x < 0 ? static_cast<C>(spec.alpha) * x : x;
    case FusedActivation::kClip: {
      const C lo = static_cast<C>(spec.alpha);
      const C hi = static_cast<C>(spec.beta);
      x = x < lo ? lo : x;
      return x > hi ? hi : x;
    }
    case FusedActivation::kSigmoid: {
      if (x >= 0) return 1 / (1 + std::exp(-x));
      const C e = std::exp(x);
      return e / (1 + e);
    }
    case FusedActivation::kHardSwish: {
      const C gate = x / 6 + static_cast<C>(0.5);
      return x * (gate < 0 ? C{0} : (gate > 1 ? C{1} : gate));
    }
    case FusedActivation::kTanh:
      return std::tanh(x);
    case FusedActivation::kGelu: {
      const C half = static_cast<C>(0.5);
      if (spec.alpha == 1.0f) {
        const C k = static_cast<C>(std::numbers::sqrt2 * std::numbers::inv_sqrtpi);  // sqrt(2 / pi)
        return half * x * (1 + std::tanh(k * (x + static_cast<C>(0.044715) * x * x * x)));
      }
      return half * x * (1 + std::erf(x / static_cast<C>(std::numbers::sqrt2)));
    }
  }
  return x;
}

}  // namespace lowp::ir::ops
