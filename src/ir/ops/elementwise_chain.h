// lowp.ElementwiseChain: a chain of unary and binary elementwise ops applied to one tensor, made by the
// fuse_elementwise_chain pass and run in one pass over memory by the CPU kernels.
//
// Inputs: X (fp32, fp64, fp16 or bf16), then the operands of the binary steps (X's type, each broadcasting
// unidirectionally to X's shape; X itself may serve as an operand). Output Y: X's type and shape.
// Semantics: v = X; for each step, v = op(v) or v = op(v, operand) (op(operand, v) when operand_first);
// Y = v. Every intermediate is rounded to X's type, so Y equals running the steps as separate ONNX ops.
//
// Attributes (one entry per step, in order):
//   ops            strings  the ONNX op type: Relu, LeakyRelu, Sigmoid, Tanh, Exp, Erf, Gelu, HardSigmoid,
//                           HardSwish, Clip, Neg, Abs, Sqrt, Reciprocal (unary); Add, Sub, Mul, Div, Max, Min
//                           (binary)
//   operands       ints     binary steps: the node input holding the other operand; unary steps: -1
//   operand_first  ints     1 where the operand is the op's first input (operand - v, operand / v, ...)
//   alphas, betas  floats   LeakyRelu: alpha; HardSigmoid: alpha, beta; Clip: min, max; Gelu: alpha 1 for
//                           approximate="tanh", 0 for "none"; otherwise 0
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "ir/attribute.h"
#include "lowp/status.h"

namespace lowp::ir::ops {

inline constexpr std::string_view kElementwiseChainDomain = "lowp";
inline constexpr std::string_view kElementwiseChainOp = "ElementwiseChain";

struct ChainStep {
  std::string op;
  int64_t operand = -1;
  bool operandFirst = false;
  float alpha = 0.0f;
  float beta = 0.0f;
};

/// True for the unary / binary ONNX op types a chain step may be.
bool isChainUnaryOp(std::string_view opType);
bool isChainBinaryOp(std::string_view opType);

/// The steps a node's attributes describe; kInvalidArgument when the lists disagree in length, an op is
/// unknown, or an operand index is not in [0, inputCount).
Result<std::vector<ChainStep>> readChainProgram(const AttributeMap& attrs, size_t inputCount);

/// Writes the steps into a node's attributes (ops, operands, operand_first, alphas, betas).
void writeChainProgram(const std::vector<ChainStep>& steps, AttributeMap& attrs);

}  // namespace lowp::ir::ops
