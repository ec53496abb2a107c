// The rewrite rules lowp knows, one per file; pipeline.cpp runs them in order.
#pragma once

#include "passes/rewrite_rule.h"

namespace lowp::passes {

/// Einsum of two float operands that is a (batched) matrix product -> Transpose / Reshape / MatMul; a
/// one-operand Einsum that only permutes -> Transpose (lower_einsum.cpp).
const RewriteRule& lowerEinsumRule();

/// Identity, Dropout in inference (training_mode absent or constant false, mask unused), and Cast or
/// CastLike to the input's own type: consumers read the node's input instead. Where the node's output is a
/// graph output, the input's producer takes that value over (the graph output keeps its name); where it
/// cannot (the input is a graph input, constant or graph output itself), the node stays.
const RewriteRule& removeIdentityRule();

// ---- Explicit quantization (QuantizeLinear / DequantizeLinear in the model); qdq_common.h says which Q / DQ
// nodes these rules read: int8 / uint8, float32 scales, constant per-tensor parameters. ----

/// QuantizeLinear of constants (fake-quantized weights): an integer constant, computed with the reference
/// kernel (fold_constant_quantize.cpp).
const RewriteRule& foldConstantQuantizeRule();

/// op(DQ(q)) -> DQ(op(q)) for Reshape, Flatten, Transpose, Squeeze, Unsqueeze, MaxPool, and Relu of int8
/// with zero point 0 (move_dequantize_forward.cpp).
const RewriteRule& moveDequantizeForwardRule();

/// Q(op(x)) -> op(Q(x)) for Reshape, Flatten, Transpose, Squeeze, Unsqueeze and MaxPool
/// (move_quantize_backward.cpp).
const RewriteRule& moveQuantizeBackwardRule();

/// Q(DQ(q)) with identical parameters: q (remove_dequantize_quantize.cpp).
const RewriteRule& removeDequantizeQuantizeRule();

/// Conv / MatMul / Gemm of a per-tensor DQ activation and DQ constant int8 weights (and bias): one
/// QuantizedConv / QuantizedMatMul with a float32 output (fuse_quantized_linear.cpp).
const RewriteRule& fuseQuantizedLinearRule();

/// Add of a QuantizedConv's output (directly or through a Q / DQ pair) and a residual: the conv's residual
/// input Z (fuse_quantized_residual.cpp).
const RewriteRule& fuseQuantizedResidualRule();

/// Relu, LeakyRelu, Clip, Sigmoid, HardSwish or Tanh of a quantized op's float32 output: its fused
/// activation (fuse_quantized_activation.cpp).
const RewriteRule& fuseQuantizedActivationRule();

/// QuantizeLinear of a quantized op's float32 output: its int8 / uint8 output (fuse_quantized_output.cpp).
const RewriteRule& fuseQuantizedOutputRule();

/// QuantizeLinear / DequantizeLinear nodes whose output nothing reads (remove_unread_qdq.cpp).
const RewriteRule& removeUnreadQdqRule();

/// A node whose inputs are all constants (or, for Shape and Size, whose input shape is static) runs once at
/// build time with its reference kernel and its outputs become constants. Skipped: random ops, outputs of
/// unknown shape, and outputs over 16 MiB larger than the inputs they come from.
const RewriteRule& foldConstantsRule();

/// BatchNormalization (inference) of the output of a Conv, ConvTranspose or Gemm that nothing else reads,
/// with constant weights, bias and BN parameters: the BN's scale and shift go into the weights and bias
/// (computed in double, stored in the weights' type, fp32 or fp64); the producer takes over the BN's output
/// and records its name.
const RewriteRule& foldBatchNormRule();

/// Add of a Conv's (or residual-less FusedConv's) output and a tensor Z of the same shape: a FusedConv with
/// residual Z (fuse_conv_add.cpp).
const RewriteRule& fuseConvAddRule();

/// MatMul(Q, Kt) -> [Mul or Div by a scalar constant] -> [Add(mask)] -> Softmax(last axis) -> MatMul(P, V),
/// each intermediate read only by the next: one lowp.Attention node (fuse_attention.cpp).
const RewriteRule& fuseAttentionRule();

/// ONNX's Attention without cache or softcap, with as many key/value heads as query heads -> lowp.Attention,
/// with Reshape / Transpose views of 3-D operands and its mask (and causal mask) made additive
/// (lower_attention.cpp).
const RewriteRule& lowerAttentionRule();

/// lowp.Attention reads its operands through the view ops before it (Transpose, Reshape, Squeeze,
/// Unsqueeze, Gather of one index) and writes Y as the Transpose after it wants; a Transpose before the
/// projection that makes the operands (MatMul and bias Add) moves below it into those views
/// (fuse_attention_layout.cpp).
const RewriteRule& fuseAttentionLayoutRule();

/// Gemm with constant weights, transA = 0, alpha = beta = 1 and a per-column bias: a FusedMatMul with B laid
/// out [K, N] (gemm_to_matmul.cpp).
const RewriteRule& gemmToMatMulRule();

/// Add of a MatMul's output and a constant bias of one value per column: a FusedMatMul
/// (fuse_matmul_bias.cpp).
const RewriteRule& fuseMatMulBiasRule();

/// x * 0.5 * (1 + erf(x / sqrt(2))) written out with Erf, Div or Mul, Add and two Muls, in any operand order:
/// one ONNX Gelu node (fuse_gelu.cpp), before fuse_activation so that it can become an epilogue.
const RewriteRule& fuseGeluRule();

/// Relu, LeakyRelu, Clip, Sigmoid, HardSwish or Tanh of a Conv / MatMul / FusedConv / FusedMatMul output: the
/// activation moves into the fused op (fuse_activation.cpp).
const RewriteRule& fuseActivationRule();

/// LayerNormalization(Add(x, r)) of equal shapes, the Add read by nothing else: one lowp.FusedLayerNorm that
/// adds the residual as it reads x (fuse_layernorm_residual.cpp).
const RewriteRule& fuseLayerNormResidualRule();

/// A lowp.FusedLayerNorm of the last axis reading, as X or residual, a Transpose that keeps the last axis
/// and that nothing else reads: it reads the Transpose's input through residual_perm
/// (fuse_transposed_residual.cpp).
const RewriteRule& fuseTransposedResidualRule();

/// A run of elementwise nodes (unary activations and math, binary ops with a constant, X itself or a
/// broadcast operand), each the single reader of the one before: one lowp.ElementwiseChain node
/// (fuse_elementwise_chain.cpp).
const RewriteRule& fuseElementwiseChainRule();

/// Nodes none of whose outputs is a graph output or read by any node.
const RewriteRule& removeDeadNodesRule();

}  // namespace lowp::passes
