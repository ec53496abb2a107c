// CUDA kernels of the ops on masks, indices and integers (device code in logic.cu), with NumPy broadcasting
// of rank <= 8:
//   <t>-{equal,less,lessorequal,greater,greaterorequal}-cuda
//                          t in f32, f16, bf16, i8, u8, i32, i64 (Equal: bool too); a bool output
//   bool-{and,or,xor,not}-cuda
//   {f32,f16,bf16}-{isnan,isinf}-cuda
//   {i8,u8,i32,i64}-{add,sub,mul,div,max,min}-cuda
//                          two operands; Div only by a constant of the graph without a zero
//   <t>-mod-cuda           every numeric t above; an integer divisor as Div's
//   <t>-pow-cuda           f32, f16, bf16 bases with an exponent of those or int32 / int64; int32 and int64
//                          bases with an int32 or int64 exponent
//   x-where-cuda           Where of any type stored in 1, 2, 4 or 8 bytes
// An integer division by zero has no defined result, and a kernel cannot report one without the host
// waiting for the device: so the CUDA Div and Mod of integers take only divisors checked while building,
// and a model that divides by a tensor it computes runs them elsewhere (or not at all on a GPU build).
// Tests: tests/gpu/test_logic.cpp.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "kernels/cuda/cuda_check.h"
#include "kernels/cuda/cuda_context.h"
#include "kernels/cuda/cuda_kernels.h"
#include "kernels/cuda/kernel_util.h"

namespace lowp::kernels::cuda {
namespace {

const DataType kFloatTypes[] = {DataType::kFloat32, DataType::kFloat16, DataType::kBFloat16};
const DataType kIntegerTypes[] = {DataType::kInt8, DataType::kUInt8, DataType::kInt32, DataType::kInt64};
const DataType kNumericTypes[] = {DataType::kFloat32, DataType::kFloat16, DataType::kBFloat16,
                                  DataType::kInt8,    DataType::kUInt8,   DataType::kInt32,
                                  DataType::kInt64};

Result<ValueType> operandType(const KernelContext& ctx, const Tensor& t) {
  const std::optional<ValueType> type = valueTypeOf(t.type());
  if (!type) return ctx.unsupported("no CUDA " + ctx.node().opType + " of " + t.describe());
  return *type;
}

// Inputs 0 and 1, of one type; their broadcast over output 0.
struct Operands {
  const Tensor* a = nullptr;
  const Tensor* b = nullptr;
  Tensor* y = nullptr;
  ValueType type = ValueType::kF32;
  BroadcastPlan plan;
};

Result<Operands> binaryOperands(KernelContext& ctx, bool sameTypes = true) {
  if (ctx.inputCount() != 2 || !ctx.hasInput(0) || !ctx.hasInput(1))
    return ctx.unsupported("the CUDA kernel takes exactly two inputs");
  Operands o{.a = &ctx.input(0), .b = &ctx.input(1), .y = &ctx.output(0)};
  if (sameTypes && o.b->type() != o.a->type())
    return ctx.invalid("operands " + o.a->describe() + " and " + o.b->describe() + " differ in type");
  LOWP_ASSIGN_OR_RETURN(o.type, operandType(ctx, *o.a));
  LOWP_ASSIGN_OR_RETURN(o.plan, broadcastPlanOf(ctx, {o.a, o.b}, *o.y));
  return o;
}

Status requireOutputType(const KernelContext& ctx, const Tensor& y, DataType type) {
  if (y.type() != type)
    return ctx.invalid("output " + y.describe() + " is not of type " + std::string(dataTypeName(type)));
  return {};
}

template <CompareOp kOp>
Status compareKernel(KernelContext& ctx) {
  LOWP_ASSIGN_OR_RETURN(CudaContext * cuda, requireCuda(ctx));
  LOWP_ASSIGN_OR_RETURN(const Operands o, binaryOperands(ctx));
  LOWP_RETURN_IF_ERROR(requireOutputType(ctx, *o.y, DataType::kBool));
  LOWP_CUDA_RETURN_IF_ERROR_NODE(
      ctx, launchCompare(kOp, o.type, o.a->data(), o.b->data(), o.y->data<bool>(), o.plan, cuda->stream));
  return {};
}

template <LogicOp kOp>
Status logicKernel(KernelContext& ctx) {
  LOWP_ASSIGN_OR_RETURN(CudaContext * cuda, requireCuda(ctx));
  LOWP_ASSIGN_OR_RETURN(const Operands o, binaryOperands(ctx));
  if (o.type != ValueType::kBool) return ctx.invalid("operands " + o.a->describe() + " are not bool");
  LOWP_RETURN_IF_ERROR(requireOutputType(ctx, *o.y, DataType::kBool));
  LOWP_CUDA_RETURN_IF_ERROR_NODE(
      ctx, launchLogic(kOp, o.a->data<bool>(), o.b->data<bool>(), o.y->data<bool>(), o.plan, cuda->stream));
  return {};
}

Status notKernel(KernelContext& ctx) {
  LOWP_ASSIGN_OR_RETURN(CudaContext * cuda, requireCuda(ctx));
  LOWP_RETURN_IF_ERROR(requireSameAsInput(ctx));
  const Tensor& x = ctx.input(0);
  if (x.type() != DataType::kBool) return ctx.invalid("input " + x.describe() + " is not bool");
  LOWP_CUDA_RETURN_IF_ERROR_NODE(
      ctx, launchNot(x.data<bool>(), ctx.output(0).data<bool>(), x.elementCount(), cuda->stream));
  return {};
}

template <bool kIsInf>
Status predicateKernel(KernelContext& ctx) {
  LOWP_ASSIGN_OR_RETURN(CudaContext * cuda, requireCuda(ctx));
  const Tensor& x = ctx.input(0);
  Tensor& y = ctx.output(0);
  LOWP_RETURN_IF_ERROR(requireOutputType(ctx, y, DataType::kBool));
  if (y.elementCount() != x.elementCount()) return ctx.invalid("output size differs from the input's");
  LOWP_ASSIGN_OR_RETURN(const ValueType type, operandType(ctx, x));
  FloatPredicate predicate = FloatPredicate::kIsNaN;
  if constexpr (kIsInf) {
    const bool negative = ctx.attrs().getInt("detect_negative", 1) != 0;
    const bool positive = ctx.attrs().getInt("detect_positive", 1) != 0;
    if (!negative && !positive) {  // nothing counts
      LOWP_CUDA_RETURN_IF_ERROR_NODE(
          ctx, cudaMemsetAsync(y.data(), 0, static_cast<size_t>(y.elementCount()), cuda->stream));
      return {};
    }
    predicate = negative && positive
                    ? FloatPredicate::kIsInf
                    : (positive ? FloatPredicate::kIsPositiveInf : FloatPredicate::kIsNegativeInf);
  }
  LOWP_CUDA_RETURN_IF_ERROR_NODE(
      ctx, launchFloatPredicate(predicate, type, x.data(), y.data<bool>(), x.elementCount(), cuda->stream));
  return {};
}

template <typename T>
bool holdsZero(const Tensor& t) {
  const T* p = t.data<T>();
  for (int64_t i = 0; i < t.elementCount(); ++i) {
    if (p[i] == 0) return true;
  }
  return false;
}

// Whether integer tensor `t` (host memory) holds a zero; true for other types.
bool holdsZero(const Tensor& t) {
  switch (t.type()) {
    case DataType::kInt8:
      return holdsZero<int8_t>(t);
    case DataType::kUInt8:
      return holdsZero<uint8_t>(t);
    case DataType::kInt32:
      return holdsZero<int32_t>(t);
    case DataType::kInt64:
      return holdsZero<int64_t>(t);
    default:
      return true;
  }
}

// Integer Div and Mod run only where the divisor is a constant of the graph (so the build has read it) and
// holds no zero; otherwise as supportsBroadcastOf.
bool supportsDivisor(const ir::Node& node, const std::vector<ir::Shape>& shapes) {
  if (!supportsBroadcastOf<2>(node, shapes)) return false;
  const ir::Value* divisor = node.input(1);
  return ir::isFloat(divisor->type) || (divisor->constant && !holdsZero(*divisor->constant));
}

Status requireCheckedDivisor(const KernelContext& ctx, ValueType type) {
  if (isFloat(type)) return {};
  const Tensor* host = ctx.hostInput(1);
  if (host == nullptr)
    return ctx.unsupported("an integer divisor that is not a constant of the graph (checked for zeros)");
  if (holdsZero(*host)) return ctx.invalid("integer division by zero");
  return {};
}

template <IntegerOp kOp>
Status integerKernel(KernelContext& ctx) {
  LOWP_ASSIGN_OR_RETURN(CudaContext * cuda, requireCuda(ctx));
  LOWP_ASSIGN_OR_RETURN(const Operands o, binaryOperands(ctx));
  if (o.y->type() != o.a->type())
    return ctx.invalid("output " + o.y->describe() + " differs in type from the operands");
  if (kOp == IntegerOp::kDiv) LOWP_RETURN_IF_ERROR(requireCheckedDivisor(ctx, o.type));
  LOWP_CUDA_RETURN_IF_ERROR_NODE(
      ctx, launchIntegerArithmetic(kOp, o.type, o.a->data(), o.b->data(), o.y->data(), o.plan, cuda->stream));
  return {};
}

Status modKernel(KernelContext& ctx) {
  LOWP_ASSIGN_OR_RETURN(CudaContext * cuda, requireCuda(ctx));
  LOWP_ASSIGN_OR_RETURN(const Operands o, binaryOperands(ctx));
  if (o.y->type() != o.a->type())
    return ctx.invalid("output " + o.y->describe() + " differs in type from the operands");
  LOWP_RETURN_IF_ERROR(requireCheckedDivisor(ctx, o.type));
  const bool fmod = ctx.attrs().getInt("fmod", 0) != 0;
  LOWP_CUDA_RETURN_IF_ERROR_NODE(
      ctx, launchMod(o.type, fmod, o.a->data(), o.b->data(), o.y->data(), o.plan, cuda->stream));
  return {};
}

Status powKernel(KernelContext& ctx) {
  LOWP_ASSIGN_OR_RETURN(CudaContext * cuda, requireCuda(ctx));
  LOWP_ASSIGN_OR_RETURN(const Operands o, binaryOperands(ctx, /*sameTypes=*/false));
  if (o.y->type() != o.a->type())
    return ctx.invalid("output " + o.y->describe() + " differs in type from the base " + o.a->describe());
  LOWP_ASSIGN_OR_RETURN(const ValueType exponent, operandType(ctx, *o.b));
  LOWP_CUDA_RETURN_IF_ERROR_NODE(
      ctx, launchPow(o.type, exponent, o.a->data(), o.b->data(), o.y->data(), o.plan, cuda->stream));
  return {};
}

Status whereKernel(KernelContext& ctx) {
  LOWP_ASSIGN_OR_RETURN(CudaContext * cuda, requireCuda(ctx));
  if (ctx.inputCount() != 3 || !ctx.hasInput(0) || !ctx.hasInput(1) || !ctx.hasInput(2))
    return ctx.invalid("Where takes three inputs");
  const Tensor& cond = ctx.input(0);
  const Tensor& x = ctx.input(1);
  const Tensor& y = ctx.input(2);
  Tensor& out = ctx.output(0);
  if (cond.type() != DataType::kBool) return ctx.invalid("the condition " + cond.describe() + " is not bool");
  if (x.type() != y.type() || out.type() != x.type())
    return ctx.invalid("X " + x.describe() + ", Y " + y.describe() + " and the output " + out.describe() +
                       " differ in type");
  LOWP_ASSIGN_OR_RETURN(const BroadcastPlan plan, broadcastPlanOf(ctx, {&cond, &x, &y}, out));
  LOWP_CUDA_RETURN_IF_ERROR_NODE(ctx, launchWhere(ir::dataTypeInfo(x.type()).storageBytes, cond.data<bool>(),
                                                  x.data(), y.data(), out.data(), plan, cuda->stream));
  return {};
}

void add(KernelRegistry& registry, KernelDef def) {
  def.backend = Backend::kCuda;
  def.reference = false;
  registry.add(def);
}

}  // namespace

void registerLogicKernels(KernelRegistry& registry) {
  const TypeSet boolean = {DataType::kBool};
  struct CompareEntry {
    std::string_view opType;
    KernelFn fn;
  };
  const CompareEntry comparisons[] = {{"Equal", &compareKernel<CompareOp::kEqual>},
                                      {"Less", &compareKernel<CompareOp::kLess>},
                                      {"LessOrEqual", &compareKernel<CompareOp::kLessOrEqual>},
                                      {"Greater", &compareKernel<CompareOp::kGreater>},
                                      {"GreaterOrEqual", &compareKernel<CompareOp::kGreaterOrEqual>}};
  for (const CompareEntry& c : comparisons) {
    std::vector<DataType> types(std::begin(kNumericTypes), std::end(kNumericTypes));
    if (c.opType == "Equal") types.push_back(DataType::kBool);
    for (DataType t : types) {
      add(registry, {.opType = c.opType,
                     .name = ownKernelName(t, c.opType),
                     .inputTypes = {{t}},
                     .outputTypes = {boolean},
                     .fn = c.fn,
                     .supports = &supportsBroadcastOf<2>});
    }
  }
  const CompareEntry logic[] = {{"And", &logicKernel<LogicOp::kAnd>},
                                {"Or", &logicKernel<LogicOp::kOr>},
                                {"Xor", &logicKernel<LogicOp::kXor>}};
  for (const CompareEntry& l : logic) {
    add(registry, {.opType = l.opType,
                   .name = ownKernelName(DataType::kBool, l.opType),
                   .inputTypes = {boolean},
                   .outputTypes = {boolean},
                   .fn = l.fn,
                   .supports = &supportsBroadcastOf<2>});
  }
  add(registry, {.opType = "Not",
                 .name = ownKernelName(DataType::kBool, "Not"),
                 .inputTypes = {boolean},
                 .outputTypes = {boolean},
                 .fn = &notKernel});
  for (DataType t : kFloatTypes) {
    add(registry, {.opType = "IsNaN",
                   .name = ownKernelName(t, "IsNaN"),
                   .inputTypes = {{t}},
                   .outputTypes = {boolean},
                   .fn = &predicateKernel<false>});
    add(registry, {.opType = "IsInf",
                   .name = ownKernelName(t, "IsInf"),
                   .inputTypes = {{t}},
                   .outputTypes = {boolean},
                   .fn = &predicateKernel<true>});
  }
  const CompareEntry arithmetic[] = {
      {"Add", &integerKernel<IntegerOp::kAdd>}, {"Sub", &integerKernel<IntegerOp::kSub>},
      {"Mul", &integerKernel<IntegerOp::kMul>}, {"Div", &integerKernel<IntegerOp::kDiv>},
      {"Max", &integerKernel<IntegerOp::kMax>}, {"Min", &integerKernel<IntegerOp::kMin>}};
  for (DataType t : kIntegerTypes) {
    for (const CompareEntry& a : arithmetic) {
      add(registry, {.opType = a.opType,
                     .name = ownKernelName(t, a.opType),
                     .inputTypes = {{t}},
                     .outputTypes = {{t}},
                     .fn = a.fn,
                     .supports = a.opType == "Div" ? &supportsDivisor : &supportsBroadcastOf<2>});
    }
  }
  for (DataType t : kNumericTypes) {
    add(registry, {.opType = "Mod",
                   .name = ownKernelName(t, "Mod"),
                   .inputTypes = {{t}},
                   .outputTypes = {{t}},
                   .fn = &modKernel,
                   .supports = &supportsDivisor});
  }
  const TypeSet floatExponents = {DataType::kFloat32, DataType::kFloat16, DataType::kBFloat16,
                                  DataType::kInt32, DataType::kInt64};
  const TypeSet integerExponents = {DataType::kInt32, DataType::kInt64};
  for (DataType t :
       {DataType::kFloat32, DataType::kFloat16, DataType::kBFloat16, DataType::kInt32, DataType::kInt64}) {
    add(registry, {.opType = "Pow",
                   .name = ownKernelName(t, "Pow"),
                   .inputTypes = {{t}, ir::isFloat(t) ? floatExponents : integerExponents},
                   .outputTypes = {{t}},
                   .fn = &powKernel,
                   .supports = &supportsBroadcastOf<2>});
  }
  add(registry, {.opType = "Where",
                 .name = "x-where-cuda",
                 .inputTypes = {boolean, movableTypes()},
                 .outputTypes = {movableTypes()},
                 .fn = &whereKernel,
                 .supports = &supportsBroadcastOf<3>});
}

}  // namespace lowp::kernels::cuda
