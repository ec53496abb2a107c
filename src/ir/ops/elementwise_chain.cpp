// Program attributes and the type and shape rule of lowp.ElementwiseChain (elementwise_chain.h).
#include "ir/ops/elementwise_chain.h"

#include <algorithm>
#include <array>
#include <string>

#include "ir/ops/common.h"

namespace lowp::ir::ops {
namespace {

constexpr std::array<std::string_view, 14> kUnaryOps = {
    "Relu",        "LeakyRelu", "Sigmoid", "Tanh", "Exp", "Erf",  "Gelu",
    "HardSigmoid", "HardSwish", "Clip",    "Neg",  "Abs", "Sqrt", "Reciprocal"};
constexpr std::array<std::string_view, 6> kBinaryOps = {"Add", "Sub", "Mul", "Div", "Max", "Min"};

bool isChainType(DataType t) {
  return t == DataType::kFloat32 || t == DataType::kFloat64 || t == DataType::kFloat16 ||
         t == DataType::kBFloat16;
}

/// Y has X's type and shape; every operand has X's type and broadcasts into X's shape without growing it.
Status inferElementwiseChain(InferContext& ctx) {
  LOWP_ASSIGN_OR_RETURN(auto steps, readChainProgram(ctx.attrs(), ctx.inputCount()));
  if (steps.empty()) return ctx.invalid("the program has no steps");
  const DataType type = ctx.inputType(0);
  if (!isChainType(type)) {
    return ctx.invalid("X has type " + std::string(dataTypeInfo(type).name) + "; a chain computes on floats");
  }
  const Shape& shape = ctx.inputShape(0);
  for (size_t i = 1; i < ctx.inputCount(); ++i) {
    if (!ctx.hasInput(i)) return ctx.invalid("operand " + std::to_string(i) + " is missing");
    if (ctx.inputType(i) != type) {
      return ctx.invalid("operand " + std::to_string(i) + " has type " +
                         std::string(dataTypeInfo(ctx.inputType(i)).name) + ", X " +
                         std::string(dataTypeInfo(type).name));
    }
    const Shape& operand = ctx.inputShape(i);
    if (!shape.rankKnown() || !operand.rankKnown()) continue;
    auto b = broadcastShapes(shape, operand);
    if (!b) return ctx.invalid(b.status().message());
    bool grows = b->rank() != shape.rank();
    for (int64_t d = 0; !grows && d < shape.rank(); ++d) {
      grows = shape[d].size >= 0 && (*b)[d].size >= 0 && shape[d].size != (*b)[d].size;
    }
    if (grows) {
      return ctx.invalid("operand " + std::to_string(i) + " of shape " + operand.toString() +
                         " does not broadcast into X's shape " + shape.toString());
    }
  }
  ctx.setOutput(0, type, shape);
  return {};
}

}  // namespace

bool isChainUnaryOp(std::string_view opType) {
  return std::find(kUnaryOps.begin(), kUnaryOps.end(), opType) != kUnaryOps.end();
}

bool isChainBinaryOp(std::string_view opType) {
  return std::find(kBinaryOps.begin(), kBinaryOps.end(), opType) != kBinaryOps.end();
}

Result<std::vector<ChainStep>> readChainProgram(const AttributeMap& attrs, size_t inputCount) {
  const std::vector<std::string> ops = attrs.getStrings("ops");
  const std::vector<int64_t> operands = attrs.getInts("operands");
  const std::vector<int64_t> operandFirst = attrs.getInts("operand_first");
  const std::vector<float> alphas = attrs.getFloats("alphas");
  const std::vector<float> betas = attrs.getFloats("betas");
  const size_t n = ops.size();
  if (operands.size() != n || operandFirst.size() != n || alphas.size() != n || betas.size() != n) {
    return Status(StatusCode::kInvalidArgument,
                  "ElementwiseChain: ops, operands, operand_first, alphas and betas differ in length");
  }
  std::vector<ChainStep> steps(n);
  for (size_t k = 0; k < n; ++k) {
    ChainStep& s = steps[k];
    s.op = ops[k];
    s.operand = operands[k];
    s.operandFirst = operandFirst[k] != 0;
    s.alpha = alphas[k];
    s.beta = betas[k];
    const std::string where = "ElementwiseChain step " + std::to_string(k) + " (" + s.op + ")";
    if (isChainBinaryOp(s.op)) {
      if (s.operand < 0 || static_cast<size_t>(s.operand) >= inputCount) {
        return Status(StatusCode::kInvalidArgument,
                      where + ": operand " + std::to_string(s.operand) + " is not a node input");
      }
    } else if (isChainUnaryOp(s.op)) {
      if (s.operand != -1)
        return Status(StatusCode::kInvalidArgument, where + ": a unary step has no operand");
    } else {
      return Status(StatusCode::kInvalidArgument, where + ": not an op a chain can hold");
    }
  }
  return steps;
}

void writeChainProgram(const std::vector<ChainStep>& steps, AttributeMap& attrs) {
  std::vector<std::string> ops;
  std::vector<int64_t> operands;
  std::vector<int64_t> operandFirst;
  std::vector<float> alphas;
  std::vector<float> betas;
  for (const ChainStep& s : steps) {
    ops.push_back(s.op);
    operands.push_back(s.operand);
    operandFirst.push_back(s.operandFirst ? 1 : 0);
    alphas.push_back(s.alpha);
    betas.push_back(s.beta);
  }
  attrs.set("ops", std::move(ops));
  attrs.set("operands", std::move(operands));
  attrs.set("operand_first", std::move(operandFirst));
  attrs.set("alphas", std::move(alphas));
  attrs.set("betas", std::move(betas));
}

void registerElementwiseChainSchema(OpSchemaRegistry& registry) {
  registry.add({.opType = kElementwiseChainOp,
                .minInputs = 1,
                .maxInputs = -1,
                .attributes = {{"ops", AttrType::kStrings},
                               {"operands", AttrType::kInts},
                               {"operand_first", AttrType::kInts},
                               {"alphas", AttrType::kFloats},
                               {"betas", AttrType::kFloats}},
                .infer = inferElementwiseChain,
                .domain = kElementwiseChainDomain});
}

}  // namespace lowp::ir::ops
