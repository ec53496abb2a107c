// {f32,bf16}-{maxpool,averagepool,globalaveragepool}-onednn, {i8,u8}-maxpool-onednn: ONNX MaxPool (without
// the Indices output), AveragePool and GlobalAveragePool through oneDNN's pooling_v2_forward
// (forward_inference). Channels-last variants: {f32,bf16,i8,u8}-maxpool-hwc-onednn (kHwc in and out) and
// {f32,bf16}-globalaveragepool-hwctolinear-onednn (kHwc in; the [N, C, 1...] output has the same bytes in
// both layouts). Channel-blocked variants, between blocked convolutions: {f32,bf16}-maxpool-chw16-onednn,
// {f32,bf16}-averagepool-chw16-onednn (kChw16 in and out) and
// {f32,bf16}-globalaveragepool-chw16tolinear-onednn (kChw16 in, C a multiple of 16: the output's bytes are
// then the same in both layouts).
//
// The geometry is the reference kernel's (ir/ops/window.h, ceil_mode included): oneDNN gets the resolved
// begin pads and the end pads that make its output size the ONNX one, ((out - 1) * stride + extent - in -
// pad_begin), which in ceil mode reaches past ONNX's end pads. That matters only where padding is counted:
// AveragePool with count_include_pad and ceil_mode is declined (ONNX counts padding only up to its end
// pads). Max pooling never picks padding; average pooling divides by the taps inside the input
// (pooling_avg_exclude_padding) or inside the padded extent (pooling_avg_include_padding).
// GlobalAveragePool is an average over a window of the whole spatial extent.
// Types: fp32, or bf16 in and out (oneDNN sums in fp32); MaxPool also int8 and uint8 (values move unchanged).
// Layouts: plain ncw / nchw / ncdhw, channels-last nwc / nhwc / ndhwc, or nCw16c / nChw16c / nCdhw16c.
// Threads: channels pool independently, so the N * C planes of a plain input are split over lowp's pool,
// each chunk a single-threaded primitive (see runOnCallingThreadOnly in common.h), and so are the blocks of
// 16 planes of a kChw16 input (their zero padding pools to zeros); a channels-last input is
// split by images, and so is a plain int8 / uint8 one, which each chunk reorders into channels-last and back
// (oneDNN pools int8 fast only channels-last). The primitives live in the node's
// state slot and are re-created when the input shape changes.
// Covered by tests/unit/test_onednn.cpp (OneDnnPool.*), tests/unit/test_hwc.cpp (HwcPool.*, int8 and
// channels-last) and tests/unit/test_chw16.cpp (Chw16Pool.*), against any-maxpool-ref, any-averagepool-ref
// and any-globalaveragepool-ref.
#include <algorithm>
#include <cstddef>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "ir/ops/window.h"
#include "kernels/onednn/common.h"

namespace lowp::kernels::onednn {
namespace {

using dnnl::memory;
using Tag = memory::format_tag;

enum class PoolKind { kMax, kAverage, kGlobalAverage };

// x's layout, and y's: kChw16 in, kLinear out is GlobalAveragePool's [N, C, 1...] of C a multiple of 16,
// whose bytes are the same in both.
enum class Layout { kPlain, kHwc, kChw16 };

bool isInteger(DataType t) {
  return t == DataType::kInt8 || t == DataType::kUInt8;
}

// Channels pool independently, so a plain x is read as [1, N * C, spatial...] and its planes split over
// lowp's pool, and a kChw16 x as [1, N * C16, spatial...] in blocks of 16 planes (its padding channels
// included: they pool zeros into zeros); a channels-last x is split by images. Each chunk runs a
// single-threaded primitive for its number of units (at most two sizes), made on first use.
struct PoolState {
  std::vector<int64_t> xShape;
  DataType type = DataType::kFloat32;
  Layout layout = Layout::kPlain;  ///< kHwc: units are images of all channels; kChw16: blocks of 16 planes.
  /// x and y plain int8 / uint8: units are images, reordered into channels-last and back around the
  /// primitive (oneDNN's int8 pooling on plain planes is its reference implementation, measured 141 ms for
  /// ResNet's stem pool at batch 8 where channels-last takes 0.27 ms).
  bool reorder = false;
  int64_t channels = 0;
  dnnl::algorithm algorithm = dnnl::algorithm::pooling_max;
  memory::dims srcSpatial;
  memory::dims dstSpatial;
  memory::dims strides;
  memory::dims kernel;
  memory::dims dilations;
  memory::dims padsBegin;
  memory::dims padsEnd;

  struct Primitive {
    dnnl::pooling_v2_forward pool;
    memory::desc src;
    memory::desc dst;
    memory::desc scratchpad;
    memory::desc userSrc;  ///< With `reorder`: the plain layouts of the unit, and the reorders.
    memory::desc userDst;
    Reorder srcIn;
    Reorder dstOut;
  };
  std::mutex mutex;  ///< Guards byPlanes: chunks on several threads look up and add primitives.
  std::map<int64_t, Primitive> byPlanes;

  Primitive forUnits(int64_t units) {
    const std::lock_guard<std::mutex> lock(mutex);
    auto it = byPlanes.find(units);
    if (it != byPlanes.end()) return it->second;
    const auto dt = isInteger(type) ? toDnnlQuantizedType(type) : toDnnlType(type);
    const bool byImages = layout == Layout::kHwc || reorder;
    const int64_t planes = layout == Layout::kChw16 ? units * kChannelBlock : units;
    memory::dims srcDims = byImages ? memory::dims{units, channels} : memory::dims{1, planes};
    srcDims.insert(srcDims.end(), srcSpatial.begin(), srcSpatial.end());
    memory::dims dstDims = byImages ? memory::dims{units, channels} : memory::dims{1, planes};
    dstDims.insert(dstDims.end(), dstSpatial.begin(), dstSpatial.end());
    const Tag tag = byImages                   ? channelsLastLayoutTag(srcDims.size())
                    : layout == Layout::kChw16 ? channelBlockedLayoutTag(srcDims.size())
                                               : plainLayoutTag(srcDims.size());
    Primitive p;
    p.src = memory::desc(srcDims, dt, tag);
    p.dst = memory::desc(dstDims, dt, tag);
    const dnnl::pooling_v2_forward::desc desc(dnnl::prop_kind::forward_inference, algorithm, p.src, p.dst,
                                              strides, kernel, dilations, padsBegin, padsEnd);
    dnnl::primitive_attr attr;
    attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
    const dnnl::pooling_v2_forward::primitive_desc pd(desc, attr, cpuEngine());
    p.pool = dnnl::pooling_v2_forward(pd);
    p.scratchpad = pd.scratchpad_desc();
    if (reorder) {
      p.userSrc = memory::desc(srcDims, dt, plainLayoutTag(srcDims.size()));
      p.userDst = memory::desc(dstDims, dt, plainLayoutTag(dstDims.size()));
      p.srcIn = Reorder(p.userSrc, p.src);
      p.dstOut = Reorder(p.dst, p.userDst);
    }
    return byPlanes.emplace(units, p).first->second;
  }
};

template <PoolKind kKind, Layout kLayout>
Status runPool(KernelContext& ctx) {
  const Tensor& xt = ctx.input(0);
  Tensor& y = ctx.output(0);
  const std::vector<int64_t>& x = xt.shape();
  if (x.size() < 3 || x.size() > 5)
    return ctx.invalid("input " + xt.describe() + " is not [N, C, spatial...]");
  const std::vector<int64_t> spatial(x.begin() + 2, x.end());
  ir::ops::Window window;
  if constexpr (kKind == PoolKind::kGlobalAverage) {
    window.kernel = spatial;
    window.strides.assign(spatial.size(), 1);
    window.dilations.assign(spatial.size(), 1);
    window.padsBegin.assign(spatial.size(), 0);
    window.padsEnd.assign(spatial.size(), 0);
    window.output.assign(spatial.size(), 1);
  } else {
    auto read = ir::ops::readWindow(ctx.attrs(), ctx.attrs().getInts("kernel_shape"));
    if (!read) return ir::ops::windowError(ctx, read.status());
    window = std::move(read).value();
    if (window.kernel.size() != spatial.size()) {
      return ctx.invalid("kernel_shape has " + std::to_string(window.kernel.size()) + " values for " +
                         std::to_string(spatial.size()) + " spatial axes");
    }
    Status st = ir::ops::resolveForwardWindow(window, spatial, ctx.attrs().getInt("ceil_mode", 0) != 0);
    if (!st.isOk()) return ir::ops::windowError(ctx, st);
  }
  if (y.elementCount() == 0) return {};
  if (xt.elementCount() == 0) return ctx.unsupported("pooling an empty input");
  memory::dims dstDims = {x[0], x[1]};
  memory::dims padsEnd;
  memory::dims dilations;
  for (size_t d = 0; d < spatial.size(); ++d) {
    dstDims.push_back(window.output[d]);
    const int64_t extent = (window.kernel[d] - 1) * window.dilations[d] + 1;
    padsEnd.push_back((window.output[d] - 1) * window.strides[d] + extent - spatial[d] - window.padsBegin[d]);
    dilations.push_back(window.dilations[d] - 1);
  }
  dnnl::algorithm algorithm = dnnl::algorithm::pooling_max;
  if constexpr (kKind == PoolKind::kAverage) {
    algorithm = ctx.attrs().getInt("count_include_pad", 0) != 0
                    ? dnnl::algorithm::pooling_avg_include_padding
                    : dnnl::algorithm::pooling_avg_exclude_padding;
  } else if constexpr (kKind == PoolKind::kGlobalAverage) {
    algorithm = dnnl::algorithm::pooling_avg_exclude_padding;
  }
  runOnCallingThreadOnly();
  auto state = std::static_pointer_cast<PoolState>(ctx.state());
  if (!state || state->xShape != x || state->type != xt.type()) {
    state = std::make_shared<PoolState>();
    state->xShape = x;
    state->type = xt.type();
    state->layout = kLayout;
    state->reorder = kLayout == Layout::kPlain && isInteger(xt.type());
    state->channels = x[1];
    state->algorithm = algorithm;
    state->srcSpatial = toDims(spatial);
    state->dstSpatial = toDims(window.output);
    state->strides = toDims(window.strides);
    state->kernel = toDims(window.kernel);
    state->dilations = dilations;
    state->padsBegin = toDims(window.padsBegin);
    state->padsEnd = padsEnd;
    ctx.state() = state;
  }
  // Units: planes (plain), blocks of 16 planes (kChw16) or images (channels-last), each contiguous in x and
  // y.
  int64_t planesPerUnit = 1;
  if (kLayout == Layout::kHwc || state->reorder) planesPerUnit = x[1];
  if (kLayout == Layout::kChw16) planesPerUnit = kChannelBlock;
  const int64_t units = x[0] * ((x[1] + planesPerUnit - 1) / planesPerUnit);
  int64_t inPlane = planesPerUnit;
  for (int64_t size : spatial) inPlane *= size;
  int64_t outPlane = planesPerUnit;
  for (int64_t size : window.output) outPlane *= size;
  const int64_t bytes = ir::dataTypeInfo(xt.type()).storageBytes;
  const auto* in = static_cast<const std::byte*>(xt.data());
  auto* out = static_cast<std::byte*>(y.data());
  // Chunks of at least ~16k input elements, so small pools stay on one thread.
  const int64_t grain = std::max<int64_t>(1, (int64_t{1} << 14) / std::max<int64_t>(1, inPlane));
  return parallelOneDnn(ctx, units, grain, [&](int64_t begin, int64_t end) {
    const PoolState::Primitive p = state->forUnits(end - begin);
    dnnl::engine& engine = cpuEngine();
    dnnl::stream& stream = threadStream();
    auto* from = const_cast<std::byte*>(in + begin * inPlane * bytes);
    std::byte* to = out + begin * outPlane * bytes;
    if (!state->reorder) {
      executePrimitive(p.pool, stream,
                       {{DNNL_ARG_SRC, &threadMemory(0, p.src, from)},
                        {DNNL_ARG_DST, &threadMemory(1, p.dst, to)},
                        {DNNL_ARG_SCRATCHPAD, &threadBuffer(2, p.scratchpad)}});
    } else {
      memory userSrc(p.userSrc, engine, from);
      memory src = threadBuffer(0, p.src);
      p.srcIn.execute(stream, userSrc, src);
      memory dst = threadBuffer(1, p.dst);
      p.pool.execute(
          stream,
          {{DNNL_ARG_SRC, src}, {DNNL_ARG_DST, dst}, {DNNL_ARG_SCRATCHPAD, threadBuffer(2, p.scratchpad)}});
      memory userDst(p.userDst, engine, to);
      p.dstOut.execute(stream, dst, userDst);
    }
    stream.wait();
  });
}

template <PoolKind kKind, Layout kLayout>
Status poolKernel(KernelContext& ctx) {
  try {
    return runPool<kKind, kLayout>(ctx);
  } catch (const dnnl::error& e) {
    return oneDnnError(ctx, e);
  }
}

bool rankSupported(const std::vector<ir::Shape>& shapes) {
  if (shapes.empty() || !rankKnownNoZeroDim(shapes[0])) return false;
  return shapes[0].rank() >= 3 && shapes[0].rank() <= 5;
}

// MaxPool without its Indices output (oneDNN's workspace is not ONNX's flat index).
bool supportsMaxPool(const ir::Node& node, const std::vector<ir::Shape>& shapes) {
  if (node.outputs.size() > 1 && node.outputs[1] != nullptr) return false;
  return rankSupported(shapes) && node.attributes.has("kernel_shape");
}

bool supportsAveragePool(const ir::Node& node, const std::vector<ir::Shape>& shapes) {
  const bool ceil = node.attributes.getInt("ceil_mode", 0) != 0;
  const bool includePad = node.attributes.getInt("count_include_pad", 0) != 0;
  return rankSupported(shapes) && node.attributes.has("kernel_shape") && !(ceil && includePad);
}

bool supportsGlobalPool(const ir::Node& /*node*/, const std::vector<ir::Shape>& shapes) {
  return rankSupported(shapes);
}

// From kChw16 to a linear [N, C, 1...], which have the same bytes only when C is a multiple of 16.
bool supportsGlobalPoolOfWholeBlocks(const ir::Node& node, const std::vector<ir::Shape>& shapes) {
  return supportsGlobalPool(node, shapes) && shapes[0].dims()[1].size > 0 &&
         shapes[0].dims()[1].size % kChannelBlock == 0;
}

}  // namespace

void registerPoolKernels(KernelRegistry& registry) {
  constexpr TensorFormat kLinear = TensorFormat::kLinear;
  constexpr TensorFormat kHwc = TensorFormat::kHwc;
  constexpr TensorFormat kChw16 = TensorFormat::kChw16;
  // MaxPool in every type, plain and channels-last (int8 / uint8: max pooling moves values unchanged, so the
  // quantization scale carries over); fp32 and bf16 also in kChw16, between blocked convolutions.
  struct MaxVariant {
    DataType type;
    std::string_view name;
    std::string_view hwcName;
    std::string_view chw16Name;  ///< Empty: none.
    CpuFeature feature;
  };
  for (const MaxVariant& v :
       {MaxVariant{DataType::kFloat32, "f32-maxpool-onednn", "f32-maxpool-hwc-onednn",
                   "f32-maxpool-chw16-onednn", CpuFeature::kNone},
        MaxVariant{DataType::kBFloat16, "bf16-maxpool-onednn", "bf16-maxpool-hwc-onednn",
                   "bf16-maxpool-chw16-onednn", CpuFeature::kAvx512},
        MaxVariant{DataType::kInt8, "i8-maxpool-onednn", "i8-maxpool-hwc-onednn", "", CpuFeature::kNone},
        MaxVariant{DataType::kUInt8, "u8-maxpool-onednn", "u8-maxpool-hwc-onednn", "", CpuFeature::kNone}}) {
    const TypeSet types = {v.type};
    registry.add({.opType = "MaxPool",
                  .name = v.name,
                  .inputTypes = {types},
                  .outputTypes = {types},
                  .fn = poolKernel<PoolKind::kMax, Layout::kPlain>,
                  .feature = v.feature,
                  .supports = supportsMaxPool,
                  .reference = false});
    registry.add({.opType = "MaxPool",
                  .name = v.hwcName,
                  .inputTypes = {types},
                  .outputTypes = {types},
                  .fn = poolKernel<PoolKind::kMax, Layout::kHwc>,
                  .inputFormats = {kHwc},
                  .outputFormats = {kHwc},
                  .feature = v.feature,
                  .supports = supportsMaxPool,
                  .reference = false});
    if (v.chw16Name.empty()) continue;
    registry.add({.opType = "MaxPool",
                  .name = v.chw16Name,
                  .inputTypes = {types},
                  .outputTypes = {types},
                  .fn = poolKernel<PoolKind::kMax, Layout::kChw16>,
                  .inputFormats = {kChw16},
                  .outputFormats = {kChw16},
                  .feature = v.feature,
                  .supports = supportsMaxPool,
                  .reference = false});
  }
  struct AverageVariant {
    DataType type;
    std::string_view averageName;
    std::string_view averageChw16Name;
    std::string_view globalName;
    std::string_view globalHwcName;
    std::string_view globalChw16Name;
    CpuFeature feature;
  };
  for (const AverageVariant& v :
       {AverageVariant{DataType::kFloat32, "f32-averagepool-onednn", "f32-averagepool-chw16-onednn",
                       "f32-globalaveragepool-onednn", "f32-globalaveragepool-hwctolinear-onednn",
                       "f32-globalaveragepool-chw16tolinear-onednn", CpuFeature::kNone},
        AverageVariant{DataType::kBFloat16, "bf16-averagepool-onednn", "bf16-averagepool-chw16-onednn",
                       "bf16-globalaveragepool-onednn", "bf16-globalaveragepool-hwctolinear-onednn",
                       "bf16-globalaveragepool-chw16tolinear-onednn", CpuFeature::kAvx512}}) {
    const TypeSet types = {v.type};
    registry.add({.opType = "AveragePool",
                  .name = v.averageName,
                  .inputTypes = {types},
                  .outputTypes = {types},
                  .fn = poolKernel<PoolKind::kAverage, Layout::kPlain>,
                  .feature = v.feature,
                  .supports = supportsAveragePool,
                  .reference = false});
    registry.add({.opType = "AveragePool",
                  .name = v.averageChw16Name,
                  .inputTypes = {types},
                  .outputTypes = {types},
                  .fn = poolKernel<PoolKind::kAverage, Layout::kChw16>,
                  .inputFormats = {kChw16},
                  .outputFormats = {kChw16},
                  .feature = v.feature,
                  .supports = supportsAveragePool,
                  .reference = false});
    registry.add({.opType = "GlobalAveragePool",
                  .name = v.globalName,
                  .inputTypes = {types},
                  .outputTypes = {types},
                  .fn = poolKernel<PoolKind::kGlobalAverage, Layout::kPlain>,
                  .feature = v.feature,
                  .supports = supportsGlobalPool,
                  .reference = false});
    // The output [N, C, 1...] has the same bytes channels-last and plain, and in kChw16 when C is a multiple
    // of 16: such inputs give a linear output without a reformat.
    registry.add({.opType = "GlobalAveragePool",
                  .name = v.globalHwcName,
                  .inputTypes = {types},
                  .outputTypes = {types},
                  .fn = poolKernel<PoolKind::kGlobalAverage, Layout::kHwc>,
                  .inputFormats = {kHwc},
                  .outputFormats = {kLinear},
                  .feature = v.feature,
                  .supports = supportsGlobalPool,
                  .reference = false});
    registry.add({.opType = "GlobalAveragePool",
                  .name = v.globalChw16Name,
                  .inputTypes = {types},
                  .outputTypes = {types},
                  .fn = poolKernel<PoolKind::kGlobalAverage, Layout::kChw16>,
                  .inputFormats = {kChw16},
                  .outputFormats = {kLinear},
                  .feature = v.feature,
                  .supports = supportsGlobalPoolOfWholeBlocks,
                  .reference = false});
  }
}

}  // namespace lowp::kernels::onednn
