// i8-quantizedmatmul-onednn: lowp's QuantizedMatMul (ir/ops/quantized.h) through oneDNN's int8 matmul
// primitive, u8/s8 A with s8 B.
//
// Y[..., N] = A[..., K] * B[K, N] in int32 with A's zero point subtracted (oneDNN accumulates exactly in
// s32), then as QuantizedConv: v = act((acc + Bias[n]) * a_scale * b_scales[n]) and Y rounded to fp32 / bf16,
// or saturate(round_half_even(v / y_scale) + y_zero_point) for int8 / uint8. In oneDNN's terms: output scales
// a_scale * b_scales[n] (double, rounded once; per column, mask 1 << 1, or one value), the int32 bias added
// to the accumulator before scaling, a run-time src zero point, the activation as an eltwise post-op, for
// integer outputs linear(1 / y_scale) after it and a run-time dst zero point. As with QuantizedConv, an
// integer output may differ from the reference kernel's double arithmetic by one step near rounding ties.
// oneDNN accumulates exactly only on AVX-512 VNNI (see oneDnnInt8IsExact in common.h): the registry entry
// requires the CPU to have it, and the kernel runs the reference kernel when oneDNN's own ISA is lower.
// A's leading dims fold into the rows of one [rows, K] x [K, N] product; the rows are split over lowp's pool,
// each chunk a single-threaded primitive (runOnCallingThreadOnly in common.h). A constant B is reordered
// once into the layout the primitive for all rows picks (with oneDNN's s8-input compensation); every chunk's
// primitive reads it there. Layouts are plain row-major at the boundary.
// The primitives live in the node's state slot and are re-created when input shapes change. What oneDNN has
// no implementation for at run time runs on the reference kernel.
// Covered by tests/unit/test_int8_kernels.cpp (Int8MatMul*, Int8Saturation*, Int8OneDnnAvx2*), against
// i8-quantizedmatmul-ref.
#include <algorithm>
#include <cstddef>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "ir/ops/quantized.h"
#include "kernels/onednn/common.h"

namespace lowp::kernels::onednn {
namespace {

using dnnl::memory;

bool isInteger(DataType t) {
  return t == DataType::kInt8 || t == DataType::kUInt8;
}

struct QMatMulKey {
  std::vector<int64_t> aShape;
  std::vector<int64_t> bShape;
  DataType aType = DataType::kUInt8;
  DataType yType = DataType::kFloat32;
  bool bias = false;
  bool operator==(const QMatMulKey&) const = default;
};

// One primitive for a number of rows.
struct QProduct {
  dnnl::matmul matmul;
  memory::desc a;
  memory::desc b;
  memory::desc bias;  ///< Empty without a bias.
  memory::desc y;
  memory::desc scratchpad;
  bool readsPackedB = false;
};

struct QMatMulPlan {
  QMatMulKey key;
  ir::ops::QuantizedParams params;
  int64_t m = 0;
  int64_t k = 0;
  int64_t n = 0;
  dnnl::primitive_attr attr;
  bool packB = false;  ///< B is a constant of the graph: reordered once into packedDesc.
  memory::desc packedDesc;
  memory packed;
  bool packedReady = false;
  std::mutex mutex;  ///< Guards byRows and the packing.
  std::map<int64_t, QProduct> byRows;

  memory::desc plainB() const { return {{k, n}, memory::data_type::s8, memory::format_tag::ab}; }

  QProduct forRows(int64_t rows) {
    const std::lock_guard<std::mutex> lock(mutex);
    auto it = byRows.find(rows);
    if (it != byRows.end()) return it->second;
    QProduct p;
    p.a = memory::desc({rows, k}, toDnnlQuantizedType(key.aType), memory::format_tag::ab);
    p.y = memory::desc({rows, n}, toDnnlQuantizedType(key.yType), memory::format_tag::ab);
    if (key.bias) p.bias = memory::desc({1, n}, memory::data_type::s32, memory::format_tag::ab);
    auto create = [&](const memory::desc& b) {
      const dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(p.a, b, p.bias, p.y), attr, cpuEngine());
      p.matmul = dnnl::matmul(pd);
      p.scratchpad = pd.scratchpad_desc();
      p.b = pd.weights_desc();
    };
    if (packB) {
      try {
        create(packedDesc.is_zero() ? memory::desc({k, n}, memory::data_type::s8, memory::format_tag::any)
                                    : packedDesc);
        p.readsPackedB = true;
        if (packedDesc.is_zero()) packedDesc = p.b;
      } catch (const dnnl::error&) {
        p.readsPackedB = false;  // no implementation for this row count reads the packed layout
      }
    }
    if (!p.readsPackedB) create(plainB());
    return byRows.emplace(rows, p).first->second;
  }

  void pack(const std::byte* b) {
    forRows(m);  // the layout is the one the primitive for all rows picks
    const std::lock_guard<std::mutex> lock(mutex);
    if (packedReady || packedDesc.is_zero()) return;
    dnnl::engine& engine = cpuEngine();
    packed = memory(packedDesc, engine);
    memory source(plainB(), engine, const_cast<std::byte*>(b));
    dnnl::stream& stream = threadStream();
    dnnl::reorder(source, packed).execute(stream, source, packed);
    stream.wait();
    packedReady = true;
  }
};

dnnl::primitive_attr makeAttr(const ir::ops::QuantizedParams& p, const ir::ops::ActivationSpec& act,
                              DataType yType, int64_t n) {
  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  std::vector<float> scales;
  if (p.weightScales.size() == 1) {
    scales.push_back(static_cast<float>(double{p.inputScale} * p.weightScales[0]));
  } else {
    for (int64_t c = 0; c < n; ++c)
      scales.push_back(static_cast<float>(double{p.inputScale} * p.weightScale(c)));
  }
  attr.set_output_scales(scales.size() == 1 ? 0 : 1 << 1, scales);
  if (p.inputZeroPoint != 0) attr.set_zero_points(DNNL_ARG_SRC, 0, {DNNL_RUNTIME_S32_VAL});
  if (isInteger(yType) && p.outputZeroPoint != 0)
    attr.set_zero_points(DNNL_ARG_DST, 0, {DNNL_RUNTIME_S32_VAL});
  dnnl::post_ops ops;
  appendActivation(ops, act);
  if (isInteger(yType))
    ops.append_eltwise(1.0f, dnnl::algorithm::eltwise_linear, static_cast<float>(1.0 / p.outputScale), 0.0f);
  attr.set_post_ops(ops);
  return attr;
}

Status runQuantizedMatMul(KernelContext& ctx) {
  auto params = ir::ops::readQuantizedParams(ctx.attrs(), false);
  if (!params) return ctx.invalid(params.status().message());
  auto act = ir::ops::readActivation(ctx.attrs());
  if (!act) return ctx.invalid(act.status().message());
  const Tensor& a = ctx.input(0);
  const Tensor& b = ctx.input(1);
  Tensor& y = ctx.output(0);
  if (y.type() != params->outputType)
    return ctx.invalid("output " + y.describe() + " is not of the output_type attribute's type");
  if (a.rank() < 1 || b.rank() != 2 || a.shape().back() != b.shape()[0]) {
    return ctx.invalid("A " + ir::formatSizes(a.shape()) + " and B " + ir::formatSizes(b.shape()) +
                       " are not [..., K] and [K, N]");
  }
  const int64_t k = b.shape()[0];
  const int64_t n = b.shape()[1];
  if (params->weightScales.size() != 1 && static_cast<int64_t>(params->weightScales.size()) != n) {
    return ctx.invalid(std::to_string(params->weightScales.size()) + " weight scales for " +
                       std::to_string(n) + " columns");
  }
  const bool hasBias = ctx.hasInput(2);
  if (hasBias && (ctx.input(2).type() != DataType::kInt32 || ctx.input(2).elementCount() != n))
    return ctx.invalid("bias " + ctx.input(2).describe() + " is not one int32 per column");
  if (y.elementCount() == 0) return {};
  dnnl::post_ops probe;
  if (!oneDnnInt8IsExact() || k == 0 || !appendActivation(probe, *act)) return runReferenceKernel(ctx);

  const QMatMulKey key{a.shape(), b.shape(), a.type(), y.type(), hasBias};
  runOnCallingThreadOnly();
  auto plan = std::static_pointer_cast<QMatMulPlan>(ctx.state());
  if (!plan || !(plan->key == key)) {
    plan = std::make_shared<QMatMulPlan>();
    plan->key = key;
    plan->params = *params;
    plan->m = a.elementCount() / k;
    plan->k = k;
    plan->n = n;
    plan->attr = makeAttr(*params, *act, y.type(), n);
    const ir::Value* bValue = ctx.node().input(1);
    plan->packB = bValue != nullptr && bValue->constant.has_value();
    ctx.state() = plan;
  }
  const auto* aData = static_cast<const std::byte*>(a.data());
  const auto* bData = static_cast<const std::byte*>(b.data());
  const void* biasData = hasBias ? ctx.input(2).data() : nullptr;
  auto* yData = static_cast<std::byte*>(y.data());
  if (plan->packB && !plan->packedReady) plan->pack(bData);
  const int64_t yBytes = ir::dataTypeInfo(y.type()).storageBytes;
  // Chunks of at least ~256k multiply-adds, so small products stay on one thread.
  const int64_t grain = std::max<int64_t>(1, (int64_t{1} << 18) / std::max<int64_t>(1, n * k));
  QMatMulPlan& p = *plan;
  return parallelOneDnn(ctx, p.m, grain, [&](int64_t begin, int64_t end) {
    const QProduct product = p.forRows(end - begin);
    dnnl::engine& engine = cpuEngine();
    dnnl::stream& stream = threadStream();
    void* bHandle = product.readsPackedB ? p.packed.get_data_handle() : const_cast<std::byte*>(bData);
    std::unordered_map<int, memory> args = {
        {DNNL_ARG_SRC, memory(product.a, engine, const_cast<std::byte*>(aData + begin * k))},
        {DNNL_ARG_WEIGHTS, memory(product.b, engine, bHandle)},
        {DNNL_ARG_DST, memory(product.y, engine, yData + begin * n * yBytes)},
        {DNNL_ARG_SCRATCHPAD, threadBuffer(2, product.scratchpad)}};
    if (biasData != nullptr)
      args.emplace(DNNL_ARG_BIAS, memory(product.bias, engine, const_cast<void*>(biasData)));
    int32_t srcZeroPoint = p.params.inputZeroPoint;
    int32_t dstZeroPoint = p.params.outputZeroPoint;
    const memory::desc scalar({1}, memory::data_type::s32, memory::format_tag::x);
    if (srcZeroPoint != 0)
      args.emplace(DNNL_ARG_ATTR_ZERO_POINTS | DNNL_ARG_SRC, memory(scalar, engine, &srcZeroPoint));
    if (isInteger(p.key.yType) && dstZeroPoint != 0)
      args.emplace(DNNL_ARG_ATTR_ZERO_POINTS | DNNL_ARG_DST, memory(scalar, engine, &dstZeroPoint));
    product.matmul.execute(stream, args);
    stream.wait();
  });
}

Status quantizedMatMulKernel(KernelContext& ctx) {
  try {
    return runQuantizedMatMul(ctx);
  } catch (const dnnl::error& e) {
    if (e.status == dnnl_unimplemented) {
      ctx.state().reset();
      return runReferenceKernel(ctx);
    }
    return oneDnnError(ctx, e);
  }
}

// A of rank 1 or more, a 2-D B, valid quantization and activation attributes.
bool supportsQuantizedMatMul(const ir::Node& node, const std::vector<ir::Shape>& shapes) {
  if (shapes.size() < 2 || !rankKnownNoZeroDim(shapes[0]) || !rankKnownNoZeroDim(shapes[1])) return false;
  if (shapes[0].rank() < 1 || shapes[1].rank() != 2) return false;
  if (shapes.size() > 2 && node.input(2) != nullptr && !rankKnownNoZeroDim(shapes[2])) return false;
  return ir::ops::readQuantizedParams(node.attributes, false).isOk() && activationSupported(node);
}

}  // namespace

void registerQuantizedMatMulKernels(KernelRegistry& registry) {
  registry.add({.opType = "QuantizedMatMul",
                .name = "i8-quantizedmatmul-onednn",
                .inputTypes = {{DataType::kInt8, DataType::kUInt8}, {DataType::kInt8}, {DataType::kInt32}},
                .outputTypes = {{DataType::kInt8, DataType::kUInt8, DataType::kFloat32, DataType::kBFloat16}},
                .fn = quantizedMatMulKernel,
                .feature = CpuFeature::kAvx512Vnni,
                .domain = ir::ops::kLowpDomain,
                .supports = supportsQuantizedMatMul,
                .reference = false});
}

}  // namespace lowp::kernels::onednn
