// i8-quantizedconv-onednn: lowp's QuantizedConv (ir/ops/quantized.h) through oneDNN's int8
// convolution_forward (forward_inference, direct), u8/s8 activations with s8 weights.
//
// Computes, as the op defines, acc = sum (X - x_zero_point) * W + B in int32 (oneDNN accumulates the u8 x s8
// or s8 x s8 products exactly in s32 with vpdpbusd where the CPU has VNNI; padding reads the zero point, as
// ONNX pads), then in fp32: v = act(acc * x_scale * w_scales[m] + z) and Y = v rounded to fp32 / bf16, or
// saturate(round_half_even(v / y_scale) + y_zero_point) for int8 / uint8 outputs. In oneDNN's terms:
//   output scales  x_scale * w_scales[m] (computed in double, rounded once), per output channel (mask 1 << 1)
//                  or one value; oneDNN adds the int32 bias to the accumulator before scaling
//   src zero point x_zero_point, a run-time argument (only when non-zero)
//   sum post-op    the residual: scale 1 for an fp32 / bf16 Z of Y's type; for an int8 / uint8 Z, scale
//                  z_scale, zero point z_zero_point and Z's data type (Y's buffer holds Z when the primitive
//                  starts, so Z must have Y's element size: an integer Z needs an integer Y)
//   eltwise        the activation, then for integer outputs linear(1 / y_scale)
//   dst zero point y_zero_point, a run-time argument (only when non-zero)
// oneDNN accumulates exactly only on AVX-512 VNNI (see oneDnnInt8IsExact in common.h): the registry entry
// requires the CPU to have it, and the kernel runs the reference kernel when oneDNN's own ISA is lower.
// The float rescale rounds differently from the reference kernel's double arithmetic, so an integer output
// may differ from it by one step where v / y_scale lies close to a rounding tie.
// Layouts: oneDNN's int8 convolutions (brgconv and jit_int8 on AVX-512 VNNI, jit_uni_int8 on AVX2) run on
// channels-last (nwc / nhwc / ndhwc) only (nChw16c falls to the reference implementation ref_int8, measured
// 20 s for a 64->64 3x3 56x56 convolution). i8-quantizedconv-onednn takes X, Y and Z in ONNX's plain layout
// (ncw / nchw / ncdhw), so every piece reorders its input into channels-last and its output back, in buffers
// of the thread; measured on 2 shared AVX-512 VNNI cores, 64->64 3x3 56x56 int8 at batch 1 on one thread:
// 0.23 ms in the primitive and 0.05 ms in each reorder (0.33 ms in all). The same code is registered for
// channels-last tensors (ir/format.h, kHwc), which skip those reorders: i8-quantizedconv-hwc-onednn (X, Y and
// Z channels-last), i8-quantizedconv-hwctolinear-onednn (X channels-last; Y and Z plain) and
// i8-quantizedconv-lineartohwc-onednn (X plain; Y and Z channels-last), the ends of a chain of INT8 layers.
// A piece of a channel split reads and writes channel slices of a channels-last tensor through strided
// descriptors (reordered into and out of dense buffers); a piece of an image split reads and writes X, Y and
// Z in place.
// The weights [M, C/group, k...] are read as oiw.. (goiw.. with groups) and reordered once into the
// primitive's layout (which carries oneDNN's s8-input and zero-point compensations); weights that are not a
// constant of the graph are reordered again on every run.
// Threads: as kernels/onednn/conv.cpp, the convolution is cut into pieces, each a single-threaded primitive
// on one thread of lowp's pool (runOnCallingThreadOnly in common.h): by images when there are several, else
// by blocks of 16 output channels; a plain convolution then reorders its input once for every piece, a
// depthwise piece reorders its own channels. Each piece writes its own channel slice of Y, which is
// contiguous in the plain layout.
// The plan (pieces' primitives, reordered weights) lives in the node's state slot; new input shapes
// re-create it. What oneDNN has no implementation for at run time runs on the reference kernel.
// Covered by tests/unit/test_int8_kernels.cpp (Int8Conv*, Int8Saturation*, Int8OneDnnAvx2*), against
// i8-quantizedconv-ref, and tests/unit/test_hwc.cpp (HwcQuantizedConv.*: the channels-last variants, bit for
// bit against the plain one).
#include <algorithm>
#include <array>
#include <cstddef>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "ir/ops/quantized.h"
#include "ir/ops/window.h"
#include "kernels/onednn/common.h"

namespace lowp::kernels::onednn {
namespace {

using dnnl::memory;
using Tag = memory::format_tag;

Tag plainWeightsTag(size_t rank, bool grouped) {
  if (grouped) return rank == 3 ? Tag::goiw : rank == 4 ? Tag::goihw : Tag::goidhw;
  return rank == 3 ? Tag::oiw : rank == 4 ? Tag::oihw : Tag::oidhw;
}

bool isInteger(DataType t) {
  return t == DataType::kInt8 || t == DataType::kUInt8;
}

// Everything a plan depends on besides the attributes (fixed per node) and the weights' values.
struct QConvKey {
  std::vector<int64_t> xShape;
  std::vector<int64_t> wShape;
  DataType xType = DataType::kUInt8;
  DataType yType = DataType::kFloat32;
  DataType zType = DataType::kUndefined;  ///< kUndefined: no residual.
  bool bias = false;
  bool xHwc = false;  ///< X is channels-last (kHwc); else plain.
  bool yHwc = false;  ///< Y and Z are channels-last; else plain.
  bool operator==(const QConvKey&) const = default;
};

// One piece of the convolution: `images` images and output channels [oc0, oc1) (a depthwise piece also reads
// only input channels [oc0, oc1)), as one single-threaded primitive and the reorders around it.
struct QConvPart {
  memory::desc userSrc;  ///< The piece of X as ONNX lays it out.
  memory::desc userDst;  ///< The piece of Y.
  memory::desc userZ;    ///< The piece of Z (Z's type), when there is a residual.
  memory::desc userWeights;
  memory::desc bias;
  dnnl::convolution_forward conv;
  memory::desc src;  ///< The layouts the primitive reads and writes.
  memory::desc dst;
  memory::desc zInDst;  ///< dst's layout with Z's data type: where Z is put for the sum post-op.
  memory::desc scratchpad;
  bool reorderSrc = false;
  bool reorderDst = false;
  Reorder srcIn;          ///< userSrc -> src.
  Reorder zIn;            ///< userZ -> zInDst.
  Reorder dstOut;         ///< dst -> userDst.
  PackedWeights weights;  ///< The weights in the primitive's layout.
};

// How the convolution is cut into pieces: by images, by blocks of output channels, or (one image, 2-D,
// channels-last in and out) by bands of output rows, which read and write X, Y and Z in place.
enum class Split { kImages, kChannels, kRows };

struct QConvPlan {
  QConvKey key;
  ir::ops::Window window;
  int64_t group = 1;
  ir::ops::ActivationSpec act;
  ir::ops::QuantizedParams params;
  Split split = Split::kImages;
  bool depthwise = false;  ///< group == input channels == output channels.
  bool sharedSrc = false;  ///< kChannels, not depthwise: X reordered once into channels-last for all pieces.
  memory::desc sharedUserSrc;
  memory::desc sharedSrcDesc;
  Reorder sharedSrcReorder;
  int64_t xImage = 0;  ///< Elements of one image of X, of Y, and of one channel of X, of Y.
  int64_t yImage = 0;
  int64_t xChannel = 0;
  int64_t yChannel = 0;
  int64_t weightsPerOutputChannel = 0;

  std::mutex mutex;  ///< Guards parts: pieces on several threads look up and add.
  std::map<std::array<int64_t, 3>, std::shared_ptr<QConvPart>> parts;

  /// The piece of `images` images and output channels [oc0, oc1) (kImages, kChannels), or of one image and
  /// output rows [oc0, oc1) (kRows).
  std::shared_ptr<QConvPart> part(int64_t images, int64_t oc0, int64_t oc1);
  /// kRows: the input rows output rows [o0, o1) read.
  RowBand band(int64_t o0, int64_t o1) const { return inputRowsOf(window, key.xShape[2], o0, o1); }
};

// The post-ops and scales of the op (see the header comment) for output channels [oc0, oc1).
dnnl::primitive_attr makeAttr(const QConvPlan& plan, int64_t oc0, int64_t oc1) {
  const ir::ops::QuantizedParams& p = plan.params;
  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  std::vector<float> scales;
  if (p.weightScales.size() == 1) {
    scales.push_back(static_cast<float>(double{p.inputScale} * p.weightScales[0]));
  } else {
    for (int64_t m = oc0; m < oc1; ++m)
      scales.push_back(static_cast<float>(double{p.inputScale} * p.weightScale(m)));
  }
  attr.set_output_scales(scales.size() == 1 ? 0 : 1 << 1, scales);
  if (p.inputZeroPoint != 0) attr.set_zero_points(DNNL_ARG_SRC, 0, {DNNL_RUNTIME_S32_VAL});
  const bool integerOutput = isInteger(plan.key.yType);
  if (integerOutput && p.outputZeroPoint != 0) attr.set_zero_points(DNNL_ARG_DST, 0, {DNNL_RUNTIME_S32_VAL});
  dnnl::post_ops ops;
  if (plan.key.zType != DataType::kUndefined) {
    if (isInteger(plan.key.zType)) {
      ops.append_sum(p.residualScale, p.residualZeroPoint, toDnnlQuantizedType(plan.key.zType));
    } else {
      ops.append_sum(1.0f);
    }
  }
  appendActivation(ops, plan.act);
  if (integerOutput) {
    ops.append_eltwise(1.0f, dnnl::algorithm::eltwise_linear, static_cast<float>(1.0 / p.outputScale), 0.0f);
  }
  attr.set_post_ops(ops);
  return attr;
}

std::shared_ptr<QConvPart> QConvPlan::part(int64_t images, int64_t oc0, int64_t oc1) {
  const std::lock_guard<std::mutex> lock(mutex);
  const std::array<int64_t, 3> id = {images, oc0, oc1};
  auto it = parts.find(id);
  if (it != parts.end()) return it->second;
  auto p = std::make_shared<QConvPart>();
  const std::vector<int64_t>& x = key.xShape;
  const std::vector<int64_t>& w = key.wShape;
  const size_t rank = x.size();
  const ConvPiece piece = convPiece(window, x, w, group, depthwise && split == Split::kChannels,
                                    split == Split::kRows, images, oc0, oc1);
  const memory::dims& srcDims = piece.src;
  const memory::dims& dstDims = piece.dst;
  const auto xt = toDnnlQuantizedType(key.xType);
  const auto yt = toDnnlQuantizedType(key.yType);
  const auto s8 = memory::data_type::s8;
  // The user's tensors: plain, or channels-last (a channel slice of it strided with all its channels).
  auto userDesc = [&](const memory::dims& dims, memory::data_type type, bool hwc, int64_t channels) {
    if (!hwc) return memory::desc(dims, type, plainLayoutTag(rank));
    if (dims[1] == channels) return memory::desc(dims, type, channelsLastLayoutTag(rank));
    return channelsLastSlice(dims, type, channels);
  };
  p->userSrc = userDesc(srcDims, xt, key.xHwc, x[1]);
  p->userDst = userDesc(dstDims, yt, key.yHwc, w[0]);
  p->userWeights = memory::desc(piece.weights, s8, plainWeightsTag(rank, piece.groups > 1));
  if (key.bias) p->bias = memory::desc({piece.oc1 - piece.oc0}, memory::data_type::s32, Tag::x);
  const dnnl::convolution_forward::desc desc(
      dnnl::prop_kind::forward_inference, dnnl::algorithm::convolution_direct,
      memory::desc(srcDims, xt, channelsLastLayoutTag(rank)), memory::desc(piece.weights, s8, Tag::any),
      p->bias, memory::desc(dstDims, yt, channelsLastLayoutTag(rank)), toDims(window.strides),
      piece.dilations, piece.padsBegin, piece.padsEnd);
  const dnnl::convolution_forward::primitive_desc pd(desc, makeAttr(*this, piece.oc0, piece.oc1),
                                                     cpuEngine());
  p->conv = dnnl::convolution_forward(pd);
  p->src = pd.src_desc();
  p->dst = pd.dst_desc();
  p->scratchpad = pd.scratchpad_desc();
  p->reorderSrc = p->src != p->userSrc;
  if (p->reorderSrc && !sharedSrc) p->srcIn = Reorder(p->userSrc, p->src);
  p->reorderDst = p->dst != p->userDst;
  if (p->reorderDst) p->dstOut = Reorder(p->dst, p->userDst);
  if (key.zType != DataType::kUndefined) {
    const auto zt = toDnnlQuantizedType(key.zType);
    p->userZ = userDesc(dstDims, zt, key.yHwc, w[0]);
    p->zInDst = p->dst;
    p->zInDst.data.data_type = memory::convert_to_c(zt);
    if (p->reorderDst) p->zIn = Reorder(p->userZ, p->zInDst);
  }
  p->weights.plan(p->userWeights, pd.weights_desc());
  return parts.emplace(id, p).first->second;
}

std::shared_ptr<QConvPlan> makePlan(const QConvKey& key, const ir::ops::Window& window, int64_t group,
                                    const ir::ops::ActivationSpec& act,
                                    const ir::ops::QuantizedParams& params) {
  auto plan = std::make_shared<QConvPlan>();
  plan->key = key;
  plan->window = window;
  plan->group = group;
  plan->act = act;
  plan->params = params;
  const std::vector<int64_t>& x = key.xShape;
  const std::vector<int64_t>& w = key.wShape;
  plan->depthwise = group > 1 && group == x[1] && group == w[0];
  plan->split = x[0] == 1 && (group == 1 || plan->depthwise) && w[0] > kChannelBlock ? Split::kChannels
                                                                                     : Split::kImages;
  // One image in channels-last: bands of rows need no copy (a channel piece writes a strided slice).
  if (x[0] == 1 && x.size() == 4 && key.xHwc && key.yHwc && window.output[0] >= 2) plan->split = Split::kRows;
  // A channels-last X is read by every piece as it is.
  plan->sharedSrc = plan->split == Split::kChannels && !plan->depthwise && !key.xHwc;
  if (plan->sharedSrc) {
    const auto xt = toDnnlQuantizedType(key.xType);
    plan->sharedUserSrc = memory::desc(toDims(x), xt, plainLayoutTag(x.size()));
    plan->sharedSrcDesc = memory::desc(toDims(x), xt, channelsLastLayoutTag(x.size()));
    plan->sharedSrcReorder = Reorder(plan->sharedUserSrc, plan->sharedSrcDesc);
  }
  int64_t pixels = 1;
  for (size_t d = 2; d < x.size(); ++d) pixels *= x[d];
  int64_t outPixels = 1;
  for (int64_t size : window.output) outPixels *= size;
  plan->xChannel = pixels;
  plan->yChannel = outPixels;
  plan->xImage = x[1] * pixels;
  plan->yImage = w[0] * outPixels;
  plan->weightsPerOutputChannel = 1;
  for (size_t d = 1; d < w.size(); ++d) plan->weightsPerOutputChannel *= w[d];
  return plan;
}

// Where one piece reads and writes (byte pointers at the piece's offsets).
struct PartData {
  const std::byte* src = nullptr;
  bool srcReordered = false;  ///< `src` is the shared channels-last input.
  const std::byte* weights = nullptr;
  const std::byte* bias = nullptr;
  const std::byte* z = nullptr;
  std::byte* y = nullptr;
  int64_t zBytes = 0;  ///< Bytes of the piece of Z.
};

// oneDNN takes non-const handles; it only reads inputs.
void* mutableHandle(const std::byte* p) {
  return const_cast<std::byte*>(p);
}

// Runs one piece on the calling thread (single-threaded oneDNN).
void runPart(const KernelContext& ctx, const QConvPlan& plan, QConvPart& part, const PartData& data) {
  dnnl::engine& engine = cpuEngine();
  dnnl::stream& stream = threadStream();
  const ir::Value* wValue = ctx.node().input(1);
  memory weights =
      part.weights.get(mutableHandle(data.weights), wValue != nullptr && wValue->constant.has_value());
  memory src(data.srcReordered ? part.src : part.userSrc, engine, mutableHandle(data.src));
  if (part.reorderSrc && !data.srcReordered) {
    memory userSrc = src;
    src = threadBuffer(0, part.src);
    part.srcIn.execute(stream, userSrc, src);
  }
  memory userDst(part.userDst, engine, data.y);
  memory dst = part.reorderDst ? threadBuffer(1, part.dst) : userDst;
  if (data.z != nullptr) {
    if (part.reorderDst) {
      memory userZ(part.userZ, engine, mutableHandle(data.z));
      memory zInDst(part.zInDst, engine, dst.get_data_handle());
      part.zIn.execute(stream, userZ, zInDst);
    } else if (data.z != data.y) {  // in place, y holds z already
      std::memcpy(data.y, data.z, static_cast<size_t>(data.zBytes));
    }
  }
  std::unordered_map<int, memory> args = {{DNNL_ARG_SRC, src},
                                          {DNNL_ARG_WEIGHTS, weights},
                                          {DNNL_ARG_DST, dst},
                                          {DNNL_ARG_SCRATCHPAD, threadBuffer(2, part.scratchpad)}};
  if (data.bias != nullptr) args.emplace(DNNL_ARG_BIAS, memory(part.bias, engine, mutableHandle(data.bias)));
  int32_t srcZeroPoint = plan.params.inputZeroPoint;
  int32_t dstZeroPoint = plan.params.outputZeroPoint;
  const memory::desc scalar({1}, memory::data_type::s32, Tag::x);
  if (srcZeroPoint != 0)
    args.emplace(DNNL_ARG_ATTR_ZERO_POINTS | DNNL_ARG_SRC, memory(scalar, engine, &srcZeroPoint));
  if (isInteger(plan.key.yType) && dstZeroPoint != 0)
    args.emplace(DNNL_ARG_ATTR_ZERO_POINTS | DNNL_ARG_DST, memory(scalar, engine, &dstZeroPoint));
  part.conv.execute(stream, args);
  if (part.reorderDst) part.dstOut.execute(stream, dst, userDst);
  stream.wait();
}

// Runs the whole convolution, its pieces spread over lowp's pool.
Status execute(const KernelContext& ctx, QConvPlan& plan, Tensor& y) {
  const auto* x = static_cast<const std::byte*>(ctx.input(0).data());
  const auto* w = static_cast<const std::byte*>(ctx.input(1).data());
  const auto* bias = plan.key.bias ? static_cast<const std::byte*>(ctx.input(2).data()) : nullptr;
  const bool residual = plan.key.zType != DataType::kUndefined;
  const auto* z = residual ? static_cast<const std::byte*>(ctx.input(3).data()) : nullptr;
  auto* out = static_cast<std::byte*>(y.data());
  const int64_t yBytes = ir::dataTypeInfo(plan.key.yType).storageBytes;
  const int64_t zBytes = residual ? ir::dataTypeInfo(plan.key.zType).storageBytes : 0;
  const int64_t outChannels = plan.key.wShape[0];
  if (plan.split == Split::kImages) {
    return parallelOneDnn(ctx, plan.key.xShape[0], 1, [&](int64_t begin, int64_t end) {
      QConvPart& part = *plan.part(end - begin, 0, outChannels);
      PartData data;
      data.src = x + begin * plan.xImage;  // one byte per element of X
      data.weights = w;
      data.bias = bias;
      data.z = z != nullptr ? z + begin * plan.yImage * zBytes : nullptr;
      data.zBytes = (end - begin) * plan.yImage * zBytes;
      data.y = out + begin * plan.yImage * yBytes;
      runPart(ctx, plan, part, data);
    });
  }
  if (plan.split == Split::kRows) {
    const std::vector<int64_t>& xs = plan.key.xShape;
    const int64_t xRow = xs[1] * xs[3];                        // elements of one input row, every channel
    const int64_t yRow = outChannels * plan.window.output[1];  // and of one output row
    return parallelOneDnn(ctx, plan.window.output[0], 1, [&](int64_t begin, int64_t end) {
      QConvPart& part = *plan.part(1, begin, end);
      PartData data;
      data.src = x + plan.band(begin, end).begin * xRow;  // one byte per element of X
      data.weights = w;
      data.bias = bias;
      data.z = z != nullptr ? z + begin * yRow * zBytes : nullptr;
      data.zBytes = (end - begin) * yRow * zBytes;
      data.y = out + begin * yRow * yBytes;
      runPart(ctx, plan, part, data);
    });
  }
  memory shared;
  if (plan.sharedSrc) {
    shared = threadBuffer(4, plan.sharedSrcDesc);
    dnnl::stream& stream = threadStream();
    memory from(plan.sharedUserSrc, cpuEngine(), mutableHandle(x));
    plan.sharedSrcReorder.execute(stream, from, shared);
    stream.wait();
  }
  const int64_t outBlocks = (outChannels + kChannelBlock - 1) / kChannelBlock;
  return parallelOneDnn(ctx, outBlocks, 1, [&](int64_t begin, int64_t end) {
    const int64_t oc0 = begin * kChannelBlock;
    const int64_t oc1 = std::min(end * kChannelBlock, outChannels);
    QConvPart& part = *plan.part(1, oc0, oc1);
    PartData data;
    if (plan.sharedSrc) {
      data.src = static_cast<const std::byte*>(shared.get_data_handle());
      data.srcReordered = true;
    } else {
      data.src = x + (plan.depthwise ? oc0 * (plan.key.xHwc ? 1 : plan.xChannel) : 0);
    }
    data.weights = w + oc0 * plan.weightsPerOutputChannel;
    data.bias = bias != nullptr ? bias + oc0 * static_cast<int64_t>(sizeof(int32_t)) : nullptr;
    // A channel slice starts at channel oc0 of pixel 0 (channels-last) or at plane oc0 (plain).
    const int64_t channelStride = plan.key.yHwc ? 1 : plan.yChannel;
    data.z = z != nullptr ? z + oc0 * channelStride * zBytes : nullptr;
    data.zBytes = (oc1 - oc0) * plan.yChannel * zBytes;
    data.y = out + oc0 * channelStride * yBytes;
    runPart(ctx, plan, part, data);
  });
}

// The reference kernel, on plain copies of channels-last tensors (X; Y and Z).
template <bool kXHwc, bool kYHwc>
Status referenceFallback(KernelContext& ctx) {
  if (!kXHwc && !kYHwc) return runReferenceKernel(ctx);
  return runReferenceKernelFromHwc(ctx, {kXHwc, false, false, kYHwc}, {kYHwc});
}

template <bool kXHwc, bool kYHwc>
Status runQuantizedConv(KernelContext& ctx) {
  auto params = ir::ops::readQuantizedParams(ctx.attrs(), true);
  if (!params) return ctx.invalid(params.status().message());
  auto act = ir::ops::readActivation(ctx.attrs());
  if (!act) return ctx.invalid(act.status().message());
  const std::vector<int64_t>& x = ctx.input(0).shape();
  const std::vector<int64_t>& w = ctx.input(1).shape();
  if (x.size() < 3 || x.size() > 5 || w.size() != x.size()) {
    return ctx.invalid("input " + ir::formatSizes(x) + " and weight " + ir::formatSizes(w) +
                       " do not form a 1-, 2- or 3-D convolution");
  }
  const int64_t group = ctx.attrs().getInt("group", 1);
  if (group < 1 || x[1] != w[1] * group || w[0] % group != 0) {
    return ctx.invalid("input " + ir::formatSizes(x) + ", weight " + ir::formatSizes(w) + " and group " +
                       std::to_string(group) + " do not match");
  }
  Tensor& y = ctx.output(0);
  if (y.type() != params->outputType)
    return ctx.invalid("output " + y.describe() + " is not of the output_type attribute's type");
  if (params->weightScales.size() != 1 && static_cast<int64_t>(params->weightScales.size()) != w[0]) {
    return ctx.invalid(std::to_string(params->weightScales.size()) + " weight scales for " +
                       std::to_string(w[0]) + " output channels");
  }
  const bool hasBias = ctx.hasInput(2);
  if (hasBias && (ctx.input(2).type() != DataType::kInt32 || ctx.input(2).elementCount() != w[0])) {
    return ctx.invalid("bias " + ctx.input(2).describe() + " is not one int32 per output channel");
  }
  const DataType zType = ctx.hasInput(3) ? ctx.input(3).type() : DataType::kUndefined;
  if (zType != DataType::kUndefined && ctx.input(3).shape() != y.shape())
    return ctx.invalid("residual " + ctx.input(3).describe() + " does not match the output " + y.describe());
  auto window = ir::ops::readWindow(ctx.attrs(), std::vector<int64_t>(w.begin() + 2, w.end()));
  if (!window) return ir::ops::windowError(ctx, window.status());
  Status st = ir::ops::resolveForwardWindow(*window, std::vector<int64_t>(x.begin() + 2, x.end()), false);
  if (!st.isOk()) return ir::ops::windowError(ctx, st);
  if (y.elementCount() == 0) return {};
  // oneDNN below VNNI (inexact); empty tensors (oneDNN plans none); an integer residual with a float output
  // (the sum post-op reads Z from Y's buffer, which must have Z's element size); an activation oneDNN has no
  // post-op for.
  dnnl::post_ops probe;
  if (!oneDnnInt8IsExact() || ctx.input(0).elementCount() == 0 || ctx.input(1).elementCount() == 0 ||
      (isInteger(zType) && !isInteger(y.type())) || !appendActivation(probe, *act))
    return referenceFallback<kXHwc, kYHwc>(ctx);

  const QConvKey key{x, w, ctx.input(0).type(), y.type(), zType, hasBias, kXHwc, kYHwc};
  runOnCallingThreadOnly();
  auto plan = std::static_pointer_cast<QConvPlan>(ctx.state());
  if (!plan || !(plan->key == key)) {
    plan = makePlan(key, *window, group, *act, *params);
    ctx.state() = plan;
  }
  return execute(ctx, *plan, y);
}

template <bool kXHwc, bool kYHwc>
Status quantizedConvKernel(KernelContext& ctx) {
  try {
    return runQuantizedConv<kXHwc, kYHwc>(ctx);
  } catch (const dnnl::error& e) {
    if (e.status == dnnl_unimplemented) {
      ctx.state().reset();
      return referenceFallback<kXHwc, kYHwc>(ctx);
    }
    return oneDnnError(ctx, e);
  }
}

// 1- to 3-D convolutions of known rank with valid quantization and activation attributes; an integer
// residual only with an integer output (see the header comment).
bool supportsQuantizedConv(const ir::Node& node, const std::vector<ir::Shape>& shapes) {
  if (shapes.size() < 2 || !rankKnownNoZeroDim(shapes[0]) || !rankKnownNoZeroDim(shapes[1])) return false;
  const int64_t rank = shapes[0].rank();
  if (rank < 3 || rank > 5 || shapes[1].rank() != rank) return false;
  if (shapes.size() > 2 && node.input(2) != nullptr && !rankKnownNoZeroDim(shapes[2])) return false;
  if (node.attributes.getInt("group", 1) < 1) return false;
  auto params = ir::ops::readQuantizedParams(node.attributes, true);
  if (!params || !activationSupported(node)) return false;
  const ir::Value* z = node.inputs.size() > 3 ? node.input(3) : nullptr;
  return z == nullptr || !isInteger(z->type) || isInteger(params->outputType);
}

// The channels-last variants also need the exact oneDNN (their fallback reorders to run the reference).
bool supportsHwcQuantizedConv(const ir::Node& node, const std::vector<ir::Shape>& shapes) {
  return oneDnnInt8IsExact() && supportsQuantizedConv(node, shapes);
}

}  // namespace

void registerQuantizedConvKernels(KernelRegistry& registry) {
  const TypeSet activations = {DataType::kInt8, DataType::kUInt8};
  const TypeSet outputs = {DataType::kInt8, DataType::kUInt8, DataType::kFloat32, DataType::kBFloat16};
  struct Variant {
    std::string_view name;
    KernelFn fn;
    TensorFormat x;
    TensorFormat y;  ///< Y's format, and the residual Z's.
  };
  constexpr TensorFormat kLinear = TensorFormat::kLinear;
  constexpr TensorFormat kHwc = TensorFormat::kHwc;
  for (const Variant& v :
       {Variant{"i8-quantizedconv-onednn", quantizedConvKernel<false, false>, kLinear, kLinear},
        Variant{"i8-quantizedconv-hwc-onednn", quantizedConvKernel<true, true>, kHwc, kHwc},
        Variant{"i8-quantizedconv-hwctolinear-onednn", quantizedConvKernel<true, false>, kHwc, kLinear},
        Variant{"i8-quantizedconv-lineartohwc-onednn", quantizedConvKernel<false, true>, kLinear, kHwc}}) {
    registry.add(
        {.opType = "QuantizedConv",
         .name = v.name,
         .inputTypes = {activations, {DataType::kInt8}, {DataType::kInt32}, outputs},
         .outputTypes = {outputs},
         .fn = v.fn,
         .inputFormats = {v.x, kLinear, kLinear, v.y},
         .outputFormats = {v.y},
         .feature = CpuFeature::kAvx512Vnni,
         .domain = ir::ops::kLowpDomain,
         .supports = v.x == kLinear && v.y == kLinear ? supportsQuantizedConv : supportsHwcQuantizedConv,
         .reference = false});
  }
}

}  // namespace lowp::kernels::onednn
