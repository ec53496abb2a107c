// Fast QuantizeLinear and DequantizeLinear: fp32 to and from int8 / uint8 with one scale and one zero point
// for the whole tensor, on the loops of quantize_loops.h (AVX-512 and AVX2, chosen by the registry from the
// running CPU's features), split over the pool in chunks of 32K elements.
//
// Kernels: f32toi8-quantizelinear-<isa>, f32tou8-quantizelinear-<isa>, i8tof32-dequantizelinear-<isa>,
// u8tof32-dequantizelinear-<isa>, each also for channels-last tensors (name ending "-hwc"). supports() takes
// a node whose scale is a constant fp32 scalar ([] or [1]) and whose zero point, if any, is a constant
// scalar, with no blocked quantization and (QuantizeLinear) no `precision` other than fp32; per-axis or
// blocked scales, scales computed in the graph and other types run on the reference kernel. Results are
// bit-exact with the reference kernels (NaN quantizes to the zero point, +-Inf saturate, ties round to even).
// Tests: tests/unit/test_int8_kernels.cpp (Int8Quantize*), tests/unit/test_hwc.cpp (HwcQuantize.*).
#include <cstdint>
#include <deque>
#include <string>
#include <utility>
#include <vector>

#include "kernels/cpu/cpu_kernels.h"
#include "kernels/cpu/quantize_loops.h"

namespace lowp::kernels::cpu {
namespace {

constexpr int64_t kGrain = int64_t{1} << 15;

using LoopsFn = const QuantizeLoops& (*)();

bool isSingleElement(const ir::Shape& s) {
  if (!s.rankKnown()) return false;
  if (s.rank() == 0) return true;
  return s.rank() == 1 && s[0].isKnown() && s[0].size == 1;
}

bool isConstantScalar(const ir::Node& node, size_t slot, const std::vector<ir::Shape>& shapes) {
  const ir::Value* v = node.input(slot);
  return v != nullptr && v->constant.has_value() && slot < shapes.size() && isSingleElement(shapes[slot]);
}

// One constant fp32 scale and at most one constant zero point; no blocked layout; QuantizeLinear divides in
// fp32 (no other `precision`).
bool supportsPerTensor(const ir::Node& node, const std::vector<ir::Shape>& shapes) {
  if (!isConstantScalar(node, 1, shapes) || node.input(1)->type != DataType::kFloat32) return false;
  if (node.input(2) != nullptr && !isConstantScalar(node, 2, shapes)) return false;
  if (node.attributes.getInt("block_size", 0) != 0) return false;
  const int64_t precision = node.attributes.getInt("precision", 0);
  return precision == 0 || precision == 1;  // 1: ONNX's FLOAT
}

// The scale and zero point of a per-tensor node, read at run time (the node's constants).
struct PerTensor {
  float scale = 1.0f;
  int32_t zeroPoint = 0;
};

Result<PerTensor> readPerTensor(const KernelContext& ctx) {
  const Tensor& s = ctx.input(1);
  if (s.type() != DataType::kFloat32 || s.elementCount() != 1)
    return ctx.invalid("the scale " + s.describe() + " is not one fp32 value");
  PerTensor p;
  p.scale = s.data<float>()[0];
  if (ctx.hasInput(2)) {
    const Tensor& z = ctx.input(2);
    if (z.elementCount() != 1 || (z.type() != DataType::kInt8 && z.type() != DataType::kUInt8))
      return ctx.invalid("the zero point " + z.describe() + " is not one int8 or uint8 value");
    p.zeroPoint = z.type() == DataType::kInt8 ? int32_t{z.data<int8_t>()[0]} : int32_t{z.data<uint8_t>()[0]};
  }
  return p;
}

template <LoopsFn kLoops>
Status quantizeKernel(KernelContext& ctx) {
  LOWP_ASSIGN_OR_RETURN(PerTensor p, readPerTensor(ctx));
  const Tensor& x = ctx.input(0);
  Tensor& y = ctx.output(0);
  if (x.type() != DataType::kFloat32 || (y.type() != DataType::kInt8 && y.type() != DataType::kUInt8))
    return ctx.unsupported("no fast QuantizeLinear from " + x.describe() + " to " + y.describe());
  if (y.elementCount() != x.elementCount()) return ctx.invalid("output size differs from the input's");
  if (ctx.hasInput(2) && ctx.input(2).type() != y.type())
    return ctx.invalid("the zero point " + ctx.input(2).describe() + " is not of the output's type");
  const bool isSigned = y.type() == DataType::kInt8;
  const QuantizeLoops& loops = kLoops();
  const float* in = x.data<float>();
  auto* out = static_cast<int8_t*>(y.data());
  ctx.parallelFor(x.elementCount(), kGrain, [&](int64_t begin, int64_t end) {
    loops.quantize(in + begin, out + begin, isSigned, p.scale, p.zeroPoint, end - begin);
  });
  return {};
}

template <LoopsFn kLoops>
Status dequantizeKernel(KernelContext& ctx) {
  LOWP_ASSIGN_OR_RETURN(PerTensor p, readPerTensor(ctx));
  const Tensor& x = ctx.input(0);
  Tensor& y = ctx.output(0);
  if ((x.type() != DataType::kInt8 && x.type() != DataType::kUInt8) || y.type() != DataType::kFloat32)
    return ctx.unsupported("no fast DequantizeLinear from " + x.describe() + " to " + y.describe());
  if (y.elementCount() != x.elementCount()) return ctx.invalid("output size differs from the input's");
  if (ctx.hasInput(2) && ctx.input(2).type() != x.type())
    return ctx.invalid("the zero point " + ctx.input(2).describe() + " is not of the input's type");
  const bool isSigned = x.type() == DataType::kInt8;
  const QuantizeLoops& loops = kLoops();
  const auto* in = static_cast<const int8_t*>(x.data());
  float* out = y.data<float>();
  ctx.parallelFor(x.elementCount(), kGrain, [&](int64_t begin, int64_t end) {
    loops.dequantize(in + begin, isSigned, out + begin, p.scale, p.zeroPoint, end - begin);
  });
  return {};
}

// Elementwise with one scale, so the same functions serve every dense layout: each kernel is registered
// for linear tensors and again, named "...-hwc", for channels-last ones (the scale and zero point stay
// linear scalars).
template <LoopsFn kLoops>
void registerIsa(KernelRegistry& registry, CpuFeature feature, const std::string& isa) {
  static std::deque<std::string> names;  // kernel names live as long as the registry (deque: stable)
  const TypeSet f32 = {DataType::kFloat32};
  for (const auto& [format, suffix] :
       {std::pair{TensorFormat::kLinear, ""}, std::pair{TensorFormat::kHwc, "-hwc"}}) {
    for (const auto& [type, dtype] : {std::pair{DataType::kInt8, "i8"}, std::pair{DataType::kUInt8, "u8"}}) {
      const TypeSet q = {type};
      names.push_back(std::string("f32to") + dtype + "-quantizelinear-" + isa + suffix);
      registry.add({.opType = "QuantizeLinear",
                    .name = names.back(),
                    .inputTypes = {f32, f32, q},
                    .outputTypes = {q},
                    .fn = &quantizeKernel<kLoops>,
                    .inputFormats = {format, TensorFormat::kLinear},
                    .outputFormats = {format},
                    .feature = feature,
                    .supports = &supportsPerTensor,
                    .reference = false});
      names.push_back(std::string(dtype) + "tof32-dequantizelinear-" + isa + suffix);
      registry.add({.opType = "DequantizeLinear",
                    .name = names.back(),
                    .inputTypes = {q, f32, q},
                    .outputTypes = {f32},
                    .fn = &dequantizeKernel<kLoops>,
                    .inputFormats = {format, TensorFormat::kLinear},
                    .outputFormats = {format},
                    .feature = feature,
                    .supports = &supportsPerTensor,
                    .reference = false});
    }
  }
}

}  // namespace

void registerQuantizeKernels(KernelRegistry& registry) {
  registerIsa<&avx512QuantizeLoops>(registry, CpuFeature::kAvx512, "avx512");
  registerIsa<&avx2QuantizeLoops>(registry, CpuFeature::kAvx2, "avx2");
}

}  // namespace lowp::kernels::cpu
