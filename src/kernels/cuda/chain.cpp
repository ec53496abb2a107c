// {f32,f16,bf16}-elementwisechain-cuda: lowp.ElementwiseChain (ir/ops/elementwise_chain.h) in one kernel
// (device code in chain.cu). The node's steps become a ChainProgram of at most kMaxChainSteps steps over at
// most kMaxChainOperands operands; each operand broadcasts unidirectionally to X's shape and is read as the
// same shape, a block (scalar, per-channel, per-row) or through strides. Longer chains are declined.
// Tests: tests/gpu/test_chain.cpp.
#include <algorithm>
#include <string>
#include <vector>

#include "ir/ops/elementwise_chain.h"
#include "kernels/cuda/cuda_check.h"
#include "kernels/cuda/cuda_context.h"
#include "kernels/cuda/cuda_kernels.h"
#include "kernels/cuda/kernel_util.h"

namespace lowp::kernels::cuda {
namespace {

struct StepOp {
  std::string_view name;
  bool binary;
  UnaryOp unary;
  BinaryOp binaryOp;
};

// Every op of ir::ops::isChainUnaryOp / isChainBinaryOp.
const StepOp kStepOps[] = {
    {"Relu", false, UnaryOp::kRelu, BinaryOp::kAdd},
    {"LeakyRelu", false, UnaryOp::kLeakyRelu, BinaryOp::kAdd},
    {"Sigmoid", false, UnaryOp::kSigmoid, BinaryOp::kAdd},
    {"Tanh", false, UnaryOp::kTanh, BinaryOp::kAdd},
    {"Exp", false, UnaryOp::kExp, BinaryOp::kAdd},
    {"Erf", false, UnaryOp::kErf, BinaryOp::kAdd},
    {"Gelu", false, UnaryOp::kGelu, BinaryOp::kAdd},
    {"HardSigmoid", false, UnaryOp::kHardSigmoid, BinaryOp::kAdd},
    {"HardSwish", false, UnaryOp::kHardSwish, BinaryOp::kAdd},
    {"Clip", false, UnaryOp::kClip, BinaryOp::kAdd},
    {"Neg", false, UnaryOp::kNeg, BinaryOp::kAdd},
    {"Abs", false, UnaryOp::kAbs, BinaryOp::kAdd},
    {"Sqrt", false, UnaryOp::kSqrt, BinaryOp::kAdd},
    {"Reciprocal", false, UnaryOp::kReciprocal, BinaryOp::kAdd},
    {"Add", true, UnaryOp::kRelu, BinaryOp::kAdd},
    {"Sub", true, UnaryOp::kRelu, BinaryOp::kSub},
    {"Mul", true, UnaryOp::kRelu, BinaryOp::kMul},
    {"Div", true, UnaryOp::kRelu, BinaryOp::kDiv},
    {"Max", true, UnaryOp::kRelu, BinaryOp::kMax},
    {"Min", true, UnaryOp::kRelu, BinaryOp::kMin},
};

const StepOp* stepOpOf(std::string_view name) {
  for (const StepOp& op : kStepOps) {
    if (op.name == name) return &op;
  }
  return nullptr;
}

// How `operand` broadcasts unidirectionally to `out`; false when it does not.
bool operandAddressing(const std::vector<int64_t>& operand, const std::vector<int64_t>& out,
                       ChainOperand& o) {
  if (operand.size() > out.size()) return false;
  const std::vector<int64_t> p = alignedTo(operand, out.size());
  for (size_t d = 0; d < out.size(); ++d) {
    if (p[d] != out[d] && p[d] != 1) return false;
  }
  if (p == out) {
    o.mode = ChainOperandMode::kSame;
    return true;
  }
  // A block: the dims other than 1 form one run equal to the output's there.
  size_t d0 = out.size();
  size_t d1 = 0;
  for (size_t d = 0; d < p.size(); ++d) {
    if (p[d] != 1) {
      d0 = std::min(d0, d);
      d1 = d + 1;
    }
  }
  bool block = true;
  o.inner = 1;
  o.count = 1;
  for (size_t d = d0; d < d1; ++d) {
    block = block && p[d] == out[d];
    o.count *= out[d];
  }
  for (size_t d = d1; d < out.size(); ++d) o.inner *= out[d];
  if (block) {
    o.mode = ChainOperandMode::kBlock;
    return true;
  }
  if (out.size() > static_cast<size_t>(kMaxBroadcastRank)) return false;
  o.mode = ChainOperandMode::kStrided;
  int64_t stride = 1;
  for (size_t d = out.size(); d-- > 0;) {
    o.strides[d] = p[d] == 1 ? 0 : stride;
    stride *= p[d];
  }
  return true;
}

// The program of `steps`, with operands' addressing for X's shape `out` (data pointers left null); an
// error message when the chain does not fit the kernel.
Result<ChainProgram> programOf(const std::vector<ir::ops::ChainStep>& steps,
                               const std::vector<std::vector<int64_t>>& inputShapes,
                               std::vector<size_t>& operandInputs) {
  if (steps.size() > static_cast<size_t>(kMaxChainSteps))
    return Status(StatusCode::kUnsupported, "a chain of " + std::to_string(steps.size()) +
                                                " steps is longer than the CUDA kernel's " +
                                                std::to_string(kMaxChainSteps));
  const std::vector<int64_t>& out = inputShapes[0];
  ChainProgram p;
  p.stepCount = static_cast<int>(steps.size());
  p.rank = static_cast<int>(out.size());
  for (size_t d = 0; d < out.size() && d < static_cast<size_t>(kMaxBroadcastRank); ++d) p.dims[d] = out[d];
  operandInputs.clear();
  for (size_t k = 0; k < steps.size(); ++k) {
    const ir::ops::ChainStep& step = steps[k];
    const StepOp* op = stepOpOf(step.op);
    if (op == nullptr) return Status(StatusCode::kUnsupported, "no CUDA chain step " + step.op);
    ChainStepCode& code = p.steps[k];
    code.binary = op->binary;
    code.unary = op->unary;
    code.binaryOp = op->binaryOp;
    code.operandFirst = step.operandFirst;
    code.alpha = step.alpha;
    code.beta = step.beta;
    if (step.op == "Gelu" && step.alpha != 0.0f) code.unary = UnaryOp::kGeluTanh;
    if (!op->binary) continue;
    const auto input = static_cast<size_t>(step.operand);
    if (input >= inputShapes.size())
      return Status(StatusCode::kInvalidArgument, "operand " + std::to_string(step.operand) + " of step " +
                                                      std::to_string(k) + " is missing");
    size_t slot = 0;
    while (slot < operandInputs.size() && operandInputs[slot] != input) ++slot;
    if (slot == operandInputs.size()) {
      if (slot == static_cast<size_t>(kMaxChainOperands))
        return Status(StatusCode::kUnsupported,
                      "more than " + std::to_string(kMaxChainOperands) + " operands in one chain");
      if (!operandAddressing(inputShapes[input], out, p.operands[slot]))
        return Status(StatusCode::kInvalidArgument, "operand " + ir::formatSizes(inputShapes[input]) +
                                                        " does not broadcast to X's shape " +
                                                        ir::formatSizes(out));
      operandInputs.push_back(input);
    }
    code.operand = static_cast<int>(slot);
  }
  p.operandCount = static_cast<int>(operandInputs.size());
  return p;
}

Status elementwiseChainKernel(KernelContext& ctx) {
  LOWP_ASSIGN_OR_RETURN(CudaContext * cuda, requireCuda(ctx));
  const Tensor& x = ctx.input(0);
  Tensor& y = ctx.output(0);
  LOWP_ASSIGN_OR_RETURN(const Elem type, floatElemOf(ctx, x, "X"));
  if (y.type() != x.type() || y.shape() != x.shape())
    return ctx.invalid("output " + y.describe() + " differs from X " + x.describe());
  auto steps = ir::ops::readChainProgram(ctx.attrs(), ctx.inputCount());
  if (!steps) return ctx.invalid(steps.status().message());
  std::vector<std::vector<int64_t>> shapes;
  for (size_t i = 0; i < ctx.inputCount(); ++i) {
    if (!ctx.hasInput(i)) return ctx.invalid("input " + std::to_string(i) + " is missing");
    if (ctx.input(i).type() != x.type())
      return ctx.invalid("operand " + ctx.input(i).describe() + " is not of X's type");
    shapes.push_back(ctx.input(i).shape());
  }
  std::vector<size_t> operandInputs;
  auto program = programOf(*steps, shapes, operandInputs);
  if (!program) {
    return program.status().code() == StatusCode::kUnsupported ? ctx.unsupported(program.status().message())
                                                               : ctx.invalid(program.status().message());
  }
  for (size_t slot = 0; slot < operandInputs.size(); ++slot)
    program->operands[slot].data = ctx.input(operandInputs[slot]).data();
  LOWP_CUDA_RETURN_IF_ERROR_NODE(
      ctx, launchElementwiseChain(type, x.data(), y.data(), x.elementCount(), *program, cuda->stream));
  return {};
}

bool supportsChain(const ir::Node& node, const std::vector<ir::Shape>& shapes) {
  auto steps = ir::ops::readChainProgram(node.attributes, node.inputs.size());
  if (!steps || shapes.size() != node.inputs.size()) return false;
  std::vector<std::vector<int64_t>> sizes;
  for (const ir::Shape& s : shapes) {
    if (!s.rankKnown()) return false;
    for (int64_t d = 0; d < s.rank(); ++d) {
      if (!s[d].isKnown()) return false;
    }
    sizes.push_back(s.sizes());
  }
  std::vector<size_t> operandInputs;
  return programOf(*steps, sizes, operandInputs).isOk();
}

}  // namespace

void registerChainKernels(KernelRegistry& registry) {
  for (DataType t : {DataType::kFloat32, DataType::kFloat16, DataType::kBFloat16}) {
    const TypeSet types = {t};
    registry.add({.opType = ir::ops::kElementwiseChainOp,
                  .backend = Backend::kCuda,
                  .name = keepName(std::string(shortTypeName(t)) + "-elementwisechain-cuda"),
                  .inputTypes = {types},
                  .outputTypes = {types},
                  .fn = &elementwiseChainKernel,
                  .domain = ir::ops::kElementwiseChainDomain,
                  .supports = &supportsChain,
                  .reference = false});
  }
}

}  // namespace lowp::kernels::cuda
