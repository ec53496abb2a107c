// Elementwise CUDA kernels (the device code is elementwise.cu; launch.h states each computation):
//   {f32,f16,bf16}-{relu,sigmoid,clip,leakyrelu,tanh,exp,erf,gelu,hardsigmoid,hardswish,neg,abs,sqrt,
//                   reciprocal,log,floor,ceil,round,sin,cos,sign,softplus,softsign,mish,elu,celu,selu,
//                   thresholdedrelu}-cuda[-hwc]     unary, any layout (the hwc variants are the same kernel)
//   {f32,f16,bf16}-{add,sub,mul,div,max,min,sum}-cuda
//                                                   ONNX broadcasting of rank <= 8 (Max, Min and Sum of
//                                                   any number of inputs, folded in order into Y); fast
//                                                   paths for same shapes, scalars and per-channel /
//                                                   per-row operands
//   {f32,f16,bf16}to{f32,f16,bf16}-cast-cuda[-hwc]  Cast between the float types (round to nearest even)
//   <from>to<to>-{cast,castlike}-cuda                Cast where one side is int8, uint8, int32, int64 or
//                                                   bool (cast.cu), and CastLike between any two of these
//                                                   types and the float ones
//   f32to{i8,u8}-quantizelinear-cuda[-hwc], {i8,u8}tof32-dequantizelinear-cuda[-hwc]
//                                                   one scale (and zero point) for the whole tensor, read
//                                                   by the device from the tensors; bit-exact with the
//                                                   reference kernels
// Clip's bounds and the quantization parameters stay in device memory: no kernel waits for the device.
// Tests: tests/gpu/test_elementwise.cpp.
#include <cctype>
#include <cmath>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "kernels/cuda/cuda_check.h"
#include "kernels/cuda/cuda_context.h"
#include "kernels/cuda/cuda_kernels.h"
#include "kernels/cuda/kernel_util.h"

namespace lowp::kernels::cuda {
namespace {

const DataType kFloatTypes[] = {DataType::kFloat32, DataType::kFloat16, DataType::kBFloat16};

// ---- unary ----

Result<ClipBounds> clipBounds(const KernelContext& ctx) {
  ClipBounds b;
  b.minValue = -std::numeric_limits<float>::infinity();
  b.maxValue = std::numeric_limits<float>::infinity();
  const char* names[2] = {"min", "max"};
  for (size_t slot = 1; slot <= 2; ++slot) {
    const char* name = names[slot - 1];
    if (ctx.hasInput(slot)) {
      const Tensor& t = ctx.input(slot);
      if (t.elementCount() != 1 || t.type() != ctx.input(0).type())
        return ctx.invalid(std::string(name) + " must be one value of the input's type, got " + t.describe());
      (slot == 1 ? b.min : b.max) = t.data();
    } else if (ctx.attrs().has(name)) {  // opsets 6-10
      (slot == 1 ? b.minValue : b.maxValue) = ctx.attrs().getFloat(name, 0.0f);
    }
  }
  return b;
}

// The attributes of `op` on this node, with the defaults of the ONNX ops.
UnaryAttributes unaryAttributes(const KernelContext& ctx, UnaryOp op) {
  switch (op) {
    case UnaryOp::kLeakyRelu:
      return {.alpha = ctx.attrs().getFloat("alpha", 0.01f)};
    case UnaryOp::kHardSigmoid:
      return {.alpha = ctx.attrs().getFloat("alpha", 0.2f), .beta = ctx.attrs().getFloat("beta", 0.5f)};
    case UnaryOp::kElu:
    case UnaryOp::kCelu:
    case UnaryOp::kThresholdedRelu:
      return {.alpha = ctx.attrs().getFloat("alpha", 1.0f)};
    case UnaryOp::kSelu:
      return {.alpha = ctx.attrs().getFloat("alpha", 1.67326319217681884765625f),
              .beta = ctx.attrs().getFloat("gamma", 1.05070102214813232421875f)};
    default:
      return {};
  }
}

template <UnaryOp kOp>
Status unaryKernel(KernelContext& ctx) {
  LOWP_ASSIGN_OR_RETURN(CudaContext * cuda, requireCuda(ctx));
  LOWP_ASSIGN_OR_RETURN(const Elem type, floatElemOf(ctx, ctx.input(0), "input"));
  LOWP_RETURN_IF_ERROR(requireSameAsInput(ctx));
  ClipBounds bounds;
  if constexpr (kOp == UnaryOp::kClip) {
    LOWP_ASSIGN_OR_RETURN(bounds, clipBounds(ctx));
  }
  UnaryOp op = kOp;
  if constexpr (kOp == UnaryOp::kGelu) {
    const std::string approximate = ctx.attrs().getString("approximate", "none");
    if (approximate != "none" && approximate != "tanh")
      return ctx.invalid("Gelu's approximate must be \"none\" or \"tanh\", not \"" + approximate + "\"");
    if (approximate == "tanh") op = UnaryOp::kGeluTanh;
  }
  LOWP_CUDA_RETURN_IF_ERROR_NODE(
      ctx, launchUnary(op, type, ctx.input(0).data(), ctx.output(0).data(), ctx.input(0).elementCount(),
                       bounds, unaryAttributes(ctx, op), cuda->stream));
  return {};
}

// ---- binary ----

// When `operand`'s dims other than 1 form one run [d0, d1) equal to `out`'s there, operand element of
// output element i is (i / inner) % count.
bool blockPattern(const std::vector<int64_t>& operand, const std::vector<int64_t>& out, int64_t& inner,
                  int64_t& count) {
  const std::vector<int64_t> p = alignedTo(operand, out.size());
  size_t d0 = out.size();
  size_t d1 = 0;
  for (size_t d = 0; d < p.size(); ++d) {
    if (p[d] != 1) {
      d0 = std::min(d0, d);
      d1 = d + 1;
    }
  }
  inner = 1;
  count = 1;
  if (d0 >= d1) return true;  // a scalar
  for (size_t d = d0; d < d1; ++d) {
    if (p[d] != out[d]) return false;
    count *= out[d];
  }
  for (size_t d = d1; d < out.size(); ++d) inner *= out[d];
  return true;
}

// y = a op b, both broadcasting to y; a may be y itself (each element reads only its own position of an
// operand of y's shape).
Status applyBinary(const KernelContext& ctx, BinaryOp op, Elem type, const Tensor& a, const Tensor& b,
                   Tensor& y, cudaStream_t stream) {
  const std::vector<int64_t>& out = y.shape();
  if (a.rank() > y.rank() || b.rank() > y.rank())
    return ctx.invalid("operands " + a.describe() + " and " + b.describe() + " do not broadcast to " +
                       y.describe());
  const int64_t n = y.elementCount();
  int64_t inner = 1;
  int64_t count = 1;
  const bool aFull = a.shape() == out;
  const bool bFull = b.shape() == out;
  if ((aFull && blockPattern(b.shape(), out, inner, count)) ||
      (bFull && blockPattern(a.shape(), out, inner, count))) {
    const Tensor& full = aFull ? a : b;
    const Tensor& other = aFull ? b : a;
    LOWP_CUDA_RETURN_IF_ERROR_NODE(ctx, launchBinaryBlock(op, type, full.data(), other.data(), y.data(), n,
                                                          inner, count, !aFull, stream));
    return {};
  }
  LOWP_ASSIGN_OR_RETURN(const BroadcastPlan plan, broadcastPlanOf(ctx, {&a, &b}, y));
  LOWP_CUDA_RETURN_IF_ERROR_NODE(ctx,
                                 launchBinaryGeneral(op, type, a.data(), b.data(), y.data(), plan, stream));
  return {};
}

// Add, Sub, Mul and Div of two inputs; Max, Min and Sum of any number, folded left to right into Y (one
// input: a copy).
template <BinaryOp kOp>
Status binaryKernel(KernelContext& ctx) {
  LOWP_ASSIGN_OR_RETURN(CudaContext * cuda, requireCuda(ctx));
  const size_t inputs = ctx.inputCount();
  for (size_t i = 0; i < inputs; ++i) {
    if (!ctx.hasInput(i)) return ctx.invalid("input " + std::to_string(i) + " is missing");
  }
  if (inputs == 0) return ctx.invalid("no input");
  const Tensor& first = ctx.input(0);
  Tensor& y = ctx.output(0);
  LOWP_ASSIGN_OR_RETURN(const Elem type, floatElemOf(ctx, first, "input"));
  for (size_t i = 0; i < inputs; ++i) {
    if (ctx.input(i).type() != y.type())
      return ctx.invalid("input " + ctx.input(i).describe() + " and output " + y.describe() +
                         " differ in type");
  }
  if (inputs == 1) {
    if (first.shape() != y.shape())
      return ctx.invalid("output " + y.describe() + " is not " + first.describe());
    if (y.byteSize() == 0 || y.data() == first.data()) return {};
    LOWP_CUDA_RETURN_IF_ERROR_NODE(ctx,
                                   cudaMemcpyAsync(y.data(), first.data(), static_cast<size_t>(y.byteSize()),
                                                   cudaMemcpyDeviceToDevice, cuda->stream));
    return {};
  }
  LOWP_RETURN_IF_ERROR(applyBinary(ctx, kOp, type, first, ctx.input(1), y, cuda->stream));
  for (size_t i = 2; i < inputs; ++i)
    LOWP_RETURN_IF_ERROR(applyBinary(ctx, kOp, type, y, ctx.input(i), y, cuda->stream));
  return {};
}

// ---- Cast ----

Status castKernel(KernelContext& ctx) {
  LOWP_ASSIGN_OR_RETURN(CudaContext * cuda, requireCuda(ctx));
  const Tensor& x = ctx.input(0);
  Tensor& y = ctx.output(0);
  LOWP_ASSIGN_OR_RETURN(const Elem from, floatElemOf(ctx, x, "input"));
  LOWP_ASSIGN_OR_RETURN(const Elem to, floatElemOf(ctx, y, "output"));
  if (y.elementCount() != x.elementCount()) return ctx.invalid("output size differs from the input's");
  LOWP_CUDA_RETURN_IF_ERROR_NODE(ctx,
                                 launchCast(from, to, x.data(), y.data(), x.elementCount(), cuda->stream));
  return {};
}

// Cast and CastLike between any two of the ValueTypes (float pairs by launchCast).
Status anyCastKernel(KernelContext& ctx) {
  LOWP_ASSIGN_OR_RETURN(CudaContext * cuda, requireCuda(ctx));
  const Tensor& x = ctx.input(0);
  Tensor& y = ctx.output(0);
  const std::optional<ValueType> from = valueTypeOf(x.type());
  const std::optional<ValueType> to = valueTypeOf(y.type());
  if (!from || !to) return ctx.unsupported("no CUDA Cast from " + x.describe() + " to " + y.describe());
  if (y.elementCount() != x.elementCount()) return ctx.invalid("output size differs from the input's");
  const bool floats = isFloat(*from) && isFloat(*to);
  const cudaError_t e =
      floats ? launchCast(*elemOf(x.type()), *elemOf(y.type()), x.data(), y.data(), x.elementCount(),
                          cuda->stream)
             : launchIntegerCast(*from, *to, x.data(), y.data(), x.elementCount(), cuda->stream);
  LOWP_CUDA_RETURN_IF_ERROR_NODE(ctx, e);
  return {};
}

// ---- QuantizeLinear, DequantizeLinear ----

bool isSingleElement(const ir::Shape& s) {
  if (!s.rankKnown()) return false;
  for (int64_t d = 0; d < s.rank(); ++d) {
    if (!s[d].isKnown() || s[d].size != 1) return false;
  }
  return true;
}

// One fp32 scale, at most one zero point, no blocked layout, division in fp32.
bool supportsPerTensor(const ir::Node& node, const std::vector<ir::Shape>& shapes) {
  if (shapes.size() < 2 || !isSingleElement(shapes[1]) || node.input(1) == nullptr ||
      node.input(1)->type != DataType::kFloat32)
    return false;
  if (node.input(2) != nullptr && (shapes.size() < 3 || !isSingleElement(shapes[2]))) return false;
  if (node.attributes.getInt("block_size", 0) != 0) return false;
  const int64_t precision = node.attributes.getInt("precision", 0);
  return precision == 0 || precision == 1;  // 1: ONNX's FLOAT
}

Result<const void*> zeroPoint(const KernelContext& ctx, DataType quantized) {
  if (!ctx.hasInput(2)) return nullptr;
  const Tensor& z = ctx.input(2);
  if (z.elementCount() != 1 || z.type() != quantized)
    return ctx.invalid("the zero point " + z.describe() + " is not one value of type " +
                       std::string(dataTypeName(quantized)));
  return z.data();
}

Status checkScale(const KernelContext& ctx) {
  const Tensor& s = ctx.input(1);
  if (s.type() != DataType::kFloat32 || s.elementCount() != 1)
    return ctx.unsupported("the scale " + s.describe() + " is not one fp32 value");
  return {};
}

// float8e4m3fn: per tensor, and a zero point (if any) that is a constant +0 (the kernels add none).
bool supportsFp8PerTensor(const ir::Node& node, const std::vector<ir::Shape>& shapes) {
  if (!supportsPerTensor(node, shapes)) return false;
  const ir::Value* zero = node.input(2);
  return zero == nullptr ||
         (zero->constant && zero->constant->byteSize() == 1 && zero->constant->data<uint8_t>()[0] == 0);
}

Status quantizeKernel(KernelContext& ctx) {
  LOWP_ASSIGN_OR_RETURN(CudaContext * cuda, requireCuda(ctx));
  const Tensor& x = ctx.input(0);
  Tensor& y = ctx.output(0);
  LOWP_ASSIGN_OR_RETURN(const Elem from, floatElemOf(ctx, x, "input"));
  if (y.type() == DataType::kFloat8E4M3FN && y.elementCount() == x.elementCount()) {
    LOWP_RETURN_IF_ERROR(checkScale(ctx));
    LOWP_CUDA_RETURN_IF_ERROR_NODE(
        ctx, launchQuantizeFp8(from, x.data(), y.data(), ctx.input(1).data<float>(), x.elementCount(),
                               cuda->stream));
    return {};
  }
  if (y.type() != DataType::kInt8 && y.type() != DataType::kUInt8)
    return ctx.unsupported("no CUDA QuantizeLinear from " + x.describe() + " to " + y.describe());
  if (y.elementCount() != x.elementCount()) return ctx.invalid("output size differs from the input's");
  LOWP_RETURN_IF_ERROR(checkScale(ctx));
  LOWP_ASSIGN_OR_RETURN(const void* zero, zeroPoint(ctx, y.type()));
  LOWP_CUDA_RETURN_IF_ERROR_NODE(
      ctx, launchQuantize(from, x.data(), y.data(), y.type() == DataType::kInt8, ctx.input(1).data<float>(),
                          zero, x.elementCount(), cuda->stream));
  return {};
}

Status dequantizeKernel(KernelContext& ctx) {
  LOWP_ASSIGN_OR_RETURN(CudaContext * cuda, requireCuda(ctx));
  const Tensor& x = ctx.input(0);
  Tensor& y = ctx.output(0);
  LOWP_ASSIGN_OR_RETURN(const Elem to, floatElemOf(ctx, y, "output"));
  if (x.type() == DataType::kFloat8E4M3FN && y.elementCount() == x.elementCount()) {
    LOWP_RETURN_IF_ERROR(checkScale(ctx));
    LOWP_CUDA_RETURN_IF_ERROR_NODE(
        ctx, launchDequantizeFp8(x.data(), to, y.data(), ctx.input(1).data<float>(), x.elementCount(),
                                 cuda->stream));
    return {};
  }
  if (x.type() != DataType::kInt8 && x.type() != DataType::kUInt8)
    return ctx.unsupported("no CUDA DequantizeLinear from " + x.describe() + " to " + y.describe());
  if (y.elementCount() != x.elementCount()) return ctx.invalid("output size differs from the input's");
  LOWP_RETURN_IF_ERROR(checkScale(ctx));
  LOWP_ASSIGN_OR_RETURN(const void* zero, zeroPoint(ctx, x.type()));
  LOWP_CUDA_RETURN_IF_ERROR_NODE(
      ctx, launchDequantize(x.data(), x.type() == DataType::kInt8, to, y.data(), ctx.input(1).data<float>(),
                            zero, x.elementCount(), cuda->stream));
  return {};
}

// Elementwise kernels serve every dense layout: registered once for linear tensors and once, named "-hwc",
// for channels-last ones (parameters such as Clip's bounds or a scale stay linear).
void addBothLayouts(KernelRegistry& registry, KernelDef def, size_t layoutSlots) {
  const std::string name(def.name);
  def.backend = Backend::kCuda;
  def.reference = false;
  registry.add(def);
  def.name = keepName(name + "-hwc");
  def.inputFormats.assign(layoutSlots, TensorFormat::kHwc);
  def.inputFormats.push_back(TensorFormat::kLinear);
  def.outputFormats = {TensorFormat::kHwc};
  registry.add(def);
}

}  // namespace

void registerElementwiseKernels(KernelRegistry& registry) {
  struct UnaryEntry {
    std::string_view opType;
    KernelFn fn;
  };
  const UnaryEntry unaries[] = {{"Relu", &unaryKernel<UnaryOp::kRelu>},
                                {"Sigmoid", &unaryKernel<UnaryOp::kSigmoid>},
                                {"Clip", &unaryKernel<UnaryOp::kClip>},
                                {"LeakyRelu", &unaryKernel<UnaryOp::kLeakyRelu>},
                                {"Tanh", &unaryKernel<UnaryOp::kTanh>},
                                {"Exp", &unaryKernel<UnaryOp::kExp>},
                                {"Erf", &unaryKernel<UnaryOp::kErf>},
                                {"Gelu", &unaryKernel<UnaryOp::kGelu>},
                                {"HardSigmoid", &unaryKernel<UnaryOp::kHardSigmoid>},
                                {"HardSwish", &unaryKernel<UnaryOp::kHardSwish>},
                                {"Neg", &unaryKernel<UnaryOp::kNeg>},
                                {"Abs", &unaryKernel<UnaryOp::kAbs>},
                                {"Sqrt", &unaryKernel<UnaryOp::kSqrt>},
                                {"Reciprocal", &unaryKernel<UnaryOp::kReciprocal>},
                                {"Log", &unaryKernel<UnaryOp::kLog>},
                                {"Floor", &unaryKernel<UnaryOp::kFloor>},
                                {"Ceil", &unaryKernel<UnaryOp::kCeil>},
                                {"Round", &unaryKernel<UnaryOp::kRound>},
                                {"Sin", &unaryKernel<UnaryOp::kSin>},
                                {"Cos", &unaryKernel<UnaryOp::kCos>},
                                {"Sign", &unaryKernel<UnaryOp::kSign>},
                                {"Softplus", &unaryKernel<UnaryOp::kSoftplus>},
                                {"Softsign", &unaryKernel<UnaryOp::kSoftsign>},
                                {"Mish", &unaryKernel<UnaryOp::kMish>},
                                {"Elu", &unaryKernel<UnaryOp::kElu>},
                                {"Celu", &unaryKernel<UnaryOp::kCelu>},
                                {"Selu", &unaryKernel<UnaryOp::kSelu>},
                                {"ThresholdedRelu", &unaryKernel<UnaryOp::kThresholdedRelu>}};
  struct BinaryEntry {
    std::string_view opType;
    KernelFn fn;
    bool variadic;
  };
  const BinaryEntry binaries[] = {
      {"Add", &binaryKernel<BinaryOp::kAdd>, false}, {"Sub", &binaryKernel<BinaryOp::kSub>, false},
      {"Mul", &binaryKernel<BinaryOp::kMul>, false}, {"Div", &binaryKernel<BinaryOp::kDiv>, false},
      {"Max", &binaryKernel<BinaryOp::kMax>, true},  {"Min", &binaryKernel<BinaryOp::kMin>, true},
      {"Sum", &binaryKernel<BinaryOp::kAdd>, true}};
  for (DataType t : kFloatTypes) {
    const TypeSet types = {t};
    for (const UnaryEntry& u : unaries) {
      addBothLayouts(registry,
                     {.opType = u.opType,
                      .name = ownKernelName(t, u.opType),
                      .inputTypes = {types},
                      .outputTypes = {types},
                      .fn = u.fn},
                     1);
    }
    for (const BinaryEntry& b : binaries) {
      registry.add({.opType = b.opType,
                    .backend = Backend::kCuda,
                    .name = ownKernelName(t, b.opType),
                    .inputTypes = {types},
                    .outputTypes = {types},
                    .fn = b.fn,
                    .supports = b.variadic ? &supportsBroadcastOf<kAnyOperandCount> : &supportsBroadcastOf<2>,
                    .reference = false});
    }
    for (DataType to : kFloatTypes) {
      if (to == t) continue;
      addBothLayouts(registry,
                     {.opType = "Cast",
                      .name = keepName(std::string(shortTypeName(t)) + "to" + std::string(shortTypeName(to)) +
                                       "-cast-cuda"),
                      .inputTypes = {types},
                      .outputTypes = {{to}},
                      .fn = &castKernel},
                     1);
    }
  }
  const DataType castTypes[] = {DataType::kFloat32, DataType::kFloat16, DataType::kBFloat16, DataType::kInt8,
                                DataType::kUInt8,   DataType::kInt32,   DataType::kInt64,    DataType::kBool};
  for (DataType from : castTypes) {
    for (DataType to : castTypes) {
      if (from == to) continue;
      const std::string pair = std::string(shortTypeName(from)) + "to" + std::string(shortTypeName(to));
      const bool floats = isFloat(*valueTypeOf(from)) && isFloat(*valueTypeOf(to));
      if (!floats) {  // float pairs are above, in both layouts
        registry.add({.opType = "Cast",
                      .backend = Backend::kCuda,
                      .name = keepName(pair + "-cast-cuda"),
                      .inputTypes = {{from}},
                      .outputTypes = {{to}},
                      .fn = &anyCastKernel,
                      .reference = false});
      }
      registry.add({.opType = "CastLike",
                    .backend = Backend::kCuda,
                    .name = keepName(pair + "-castlike-cuda"),
                    .inputTypes = {{from}, {to}},
                    .outputTypes = {{to}},
                    .fn = &anyCastKernel,
                    .reference = false});
    }
  }
  const TypeSet f32 = {DataType::kFloat32};
  for (DataType q : {DataType::kInt8, DataType::kUInt8, DataType::kFloat8E4M3FN}) {
    const TypeSet qs = {q};
    const auto supports = q == DataType::kFloat8E4M3FN ? &supportsFp8PerTensor : &supportsPerTensor;
    const std::string dtype(shortTypeName(q));
    for (DataType f : {DataType::kFloat32, DataType::kFloat16, DataType::kBFloat16}) {
      const TypeSet fs = {f};
      const std::string ftype(shortTypeName(f));
      addBothLayouts(
          registry,
          {.opType = "QuantizeLinear",
           .name = keepName(std::string(ftype).append("to").append(dtype).append("-quantizelinear-cuda")),
           .inputTypes = {fs, f32, qs},
           .outputTypes = {qs},
           .fn = &quantizeKernel,
           .supports = supports},
          1);
      addBothLayouts(
          registry,
          {.opType = "DequantizeLinear",
           .name = keepName(std::string(dtype).append("to").append(ftype).append("-dequantizelinear-cuda")),
           .inputTypes = {qs, f32, qs},
           .outputTypes = {fs},
           .fn = &dequantizeKernel,
           .supports = supports},
          1);
    }
  }
}

}  // namespace lowp::kernels::cuda
