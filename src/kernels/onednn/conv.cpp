// {f32,bf16}-conv-onednn, {f32,bf16}-fusedconv-onednn: ONNX Conv and lowp's FusedConv (ir/ops/fused.h)
// through oneDNN's convolution_forward (forward_inference, direct); and the same with x, y and z kept in
// kChw16 between layers, {f32,bf16}-{conv,fusedconv}-onednn-chw16 (oneDNN's nChw16c: no reorders around the
// primitive at all; for inputs of 16 channels or more), or with x plain and y, z in kChw16,
// {f32,bf16}-{conv,fusedconv}-onednn-lineartochw16 (a network's first convolution); and likewise with x, y
// and z channels-last (kHwc, oneDNN's nhwc, run by its brgemm convolutions),
// {f32,bf16}-{conv,fusedconv}-onednn-hwc, or x plain and y, z channels-last, -lineartohwc. A piece of a
// channel split then writes its strided slice of y through a dense buffer. And
// f32-{conv,fusedconv}-onednn-chw16-winograd: oneDNN's Winograd algorithm on kChw16 (2-D 3 x 3, stride 1,
// one group, channels in multiples of 16; on AVX-512), fewer multiplications summed in another order
// (relative L2 about 1e-6 from the direct algorithm on ResNet-50's shapes); at batch 1 each thread's piece
// of output channels transforms the whole input.
//
// Computes y = act(conv(x, w) + bias + z) over 1, 2 or 3 spatial axes, with groups (depthwise included),
// strides, dilations (oneDNN counts dilation - 1) and the explicit pads that auto_pad resolves to, exactly as
// the reference kernel and shape inference resolve them (ir/ops/window.h). The residual z is a sum post-op
// (y holds z when the primitive starts: y is planned in z's memory where nothing reads z afterwards, else z
// is copied in), the activation an eltwise post-op after it.
// Types: fp32 throughout, or bf16 x, w, y (and z) with a bf16 or fp32 bias; oneDNN accumulates in fp32 and
// applies bias and post-ops in fp32 before the one rounding to bf16.
// Layouts: x, y and z are ONNX's plain layout (ncw / nchw / ncdhw); the primitives run on nChw16c, with
// reorders around them (x in, y out, z in, in buffers of the thread; an input of fewer than 16 channels
// stays plain, as oneDNN's blocked kernels read those). Measured on 2 AVX-512 cores, batch 1, medians of
// 15 runs: MobileNetV2 34-36 ms on the plain layout (depthwise convolutions fall to GEMM), 6.4-6.7 ms
// blocked; ResNet-50 47-51 ms plain, 44 ms blocked. Choosing per node by timing both gained 5% on
// MobileNetV2 and nothing on ResNet-50, but made results depend on timing noise; the builder times tactics.
// The weights [M, C/group, k...] are read as oiw.. (goiw.. with groups) and reordered once into the
// primitive's layout; weights that are not a constant of the graph are reordered again on every run.
// Threads: the convolution is cut into pieces, each a single-threaded primitive on one thread of lowp's pool
// (see runOnCallingThreadOnly in common.h): by images when there are several, else by blocks of 16 output
// channels, the input then reordered once in channel slices (a depthwise piece reorders its own channels).
// The plan (pieces' primitives, reordered weights) lives in the node's state slot; new input shapes
// re-create it.
// Covered by tests/unit/test_onednn.cpp (OneDnnConv.*, OneDnnFusedConv.*), against any-conv-ref and
// any-fusedconv-ref.
#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

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

// Whether the primitives use nChw16c (with reorders around them) or ONNX's plain layout; nChw16c unless
// LOWP_ONEDNN_CONV_LAYOUT=plain (read when a plan is made), which is there to measure the difference and to
// test both.
bool blockedLayout() {
  const char* v = std::getenv("LOWP_ONEDNN_CONV_LAYOUT");
  return v == nullptr || std::string(v) != "plain";
}

// How the graph stores x, y and z: all in ONNX's plain layout, all in kChw16 (nChw16c), or x plain and y,
// z in kChw16 (a first convolution, whose few input channels oneDNN reads plain anyway); or likewise
// channels-last (kHwc: nhwc), which oneDNN runs with its brgemm convolutions.
enum class IoLayout { kPlain, kBlocked, kPlainToBlocked, kHwc, kPlainToHwc };

// Everything a plan depends on besides the weights' values.
struct ConvKey {
  std::vector<int64_t> xShape;
  std::vector<int64_t> wShape;
  DataType type = DataType::kFloat32;
  DataType biasType = DataType::kUndefined;  ///< kUndefined: no bias.
  bool residual = false;
  IoLayout io = IoLayout::kPlain;
  bool winograd = false;  ///< oneDNN's Winograd algorithm rather than its direct one.
  bool operator==(const ConvKey&) const = default;
  /// Whether this key is the one of these operands, without copying their shapes.
  bool describes(const std::vector<int64_t>& x, const std::vector<int64_t>& w, DataType t, DataType bias,
                 bool z, IoLayout layout, bool wino) const {
    return xShape == x && wShape == w && type == t && biasType == bias && residual == z && io == layout &&
           winograd == wino;
  }
  bool blockedX() const { return io == IoLayout::kBlocked; }
  bool blockedY() const { return io == IoLayout::kBlocked || io == IoLayout::kPlainToBlocked; }
  bool hwcX() const { return io == IoLayout::kHwc; }
  bool hwcY() const { return io == IoLayout::kHwc || io == IoLayout::kPlainToHwc; }
};

// One piece of a node's convolution: `images` images and output channels [oc0, oc1) (a depthwise piece also
// reads only input channels [oc0, oc1)), as one single-threaded primitive and the reorders around it.
// How a node's convolution is cut into pieces for lowp's pool (each piece on one thread, see
// runOnCallingThreadOnly in common.h): by images when there are several, else by blocks of 16 output
// channels (the whole input, reordered once into nChw16c in channel slices, is read by every piece; a
// depthwise piece reads only its own channels); or, for one channels-last 2-D image whose weights are
// small against its activations, by bands of output rows, each reading its rows of x and all the weights and
// writing whole rows of y, which are contiguous (a piece of 16 channels keeps too few accumulators busy:
// ResNet-50's 3x3 convolutions of 64 channels at 56 x 56 took 0.51-0.54 ms split by channels).
enum class Split { kImages, kChannels, kRows };

struct ConvPlan {
  ConvKey key;
  ir::ops::Window window;
  int64_t group = 1;
  ir::ops::ActivationSpec act;
  bool blocked = false;  ///< The primitives use oneDNN's layouts, with reorders around them.
  Split split = Split::kImages;
  bool depthwise = false;     ///< group == input channels == output channels.
  bool blockedInput = false;  ///< blocked, and x has 16 channels or more: x in nChw16c too.
  bool sharedSrc = false;     ///< kChannels, blockedInput, not depthwise: x reordered once before the pieces.
  memory::desc sharedSrcDesc;
  int64_t xImage = 0;  ///< Elements of one image of x, of y, and from one channel to the next of x, of y.
  int64_t yImage = 0;
  int64_t xChannel = 0;
  int64_t yChannel = 0;
  int64_t weightsPerOutputChannel = 0;

  std::mutex mutex;  ///< Guards parts and srcSlices: pieces on several threads look up and add.
  std::map<std::array<int64_t, 3>, std::shared_ptr<ConvolutionPiece>> parts;
  struct SrcSlice {
    memory::desc plain;
    memory::desc blocked;
    Reorder reorder;
  };
  std::map<std::array<int64_t, 2>, SrcSlice> srcSlices;

  /// The piece of `images` images and output channels [oc0, oc1) (kImages, kChannels), or of one image and
  /// output rows [oc0, oc1) (kRows).
  std::shared_ptr<ConvolutionPiece> part(int64_t images, int64_t oc0, int64_t oc1);
  SrcSlice srcSlice(int64_t c0, int64_t c1);
};

std::shared_ptr<ConvolutionPiece> ConvPlan::part(int64_t images, int64_t oc0, int64_t oc1) {
  const std::lock_guard<std::mutex> lock(mutex);
  const std::array<int64_t, 3> id = {images, oc0, oc1};
  auto it = parts.find(id);
  if (it != parts.end()) return it->second;
  auto p = std::make_shared<ConvolutionPiece>();
  const std::vector<int64_t>& x = key.xShape;
  const std::vector<int64_t>& w = key.wShape;
  const size_t rank = x.size();
  const ConvPiece piece = convPiece(window, x, w, group, depthwise && split == Split::kChannels,
                                    split == Split::kRows, images, oc0, oc1);
  const memory::dims& srcDims = piece.src;
  const memory::dims& dstDims = piece.dst;
  const auto dt = toDnnlType(key.type);
  // A piece of a channel split of a channels-last tensor is a strided slice of its channels.
  const bool channelSlices = split == Split::kChannels;
  if (key.hwcX()) {
    p->userSrc = channelSlices && depthwise ? channelsLastSlice(srcDims, dt, x[1])
                                            : memory::desc(srcDims, dt, channelsLastLayoutTag(rank));
  } else {
    p->userSrc =
        memory::desc(srcDims, dt, key.blockedX() ? channelBlockedLayoutTag(rank) : plainLayoutTag(rank));
  }
  if (key.hwcY()) {
    p->userDst = channelSlices ? channelsLastSlice(dstDims, dt, w[0])
                               : memory::desc(dstDims, dt, channelsLastLayoutTag(rank));
  } else {
    p->userDst =
        memory::desc(dstDims, dt, key.blockedY() ? channelBlockedLayoutTag(rank) : plainLayoutTag(rank));
  }
  p->userWeights = memory::desc(piece.weights, dt, plainWeightsTag(rank, piece.groups > 1));
  if (key.biasType != DataType::kUndefined)
    p->bias = memory::desc({piece.oc1 - piece.oc0}, toDnnlType(key.biasType), Tag::x);
  // nChw16c, not the layout oneDNN prefers (nhwc for most fp32 shapes here): reorders between nchw and
  // nChw16c move blocks of 16 channels and cost far less than nchw <-> nhwc transposes (measured, MobileNetV2
  // batch 8: the nhwc reorders took 60% of the run, more than the convolutions), and a piece's slice of
  // channels is then contiguous. Few input channels stay plain (oneDNN's blocked kernels read those plain).
  // Channels-last tensors are read and written as they are (a piece's slice through a dense buffer).
  Tag layout = blocked ? channelBlockedLayoutTag(rank) : plainLayoutTag(rank);
  Tag srcLayout = blockedInput ? layout : plainLayoutTag(rank);
  if (key.hwcY()) layout = srcLayout = channelsLastLayoutTag(rank);
  const dnnl::convolution_forward::desc desc(
      dnnl::prop_kind::forward_inference,
      key.winograd ? dnnl::algorithm::convolution_winograd : dnnl::algorithm::convolution_direct,
      memory::desc(srcDims, dt, srcLayout), memory::desc(piece.weights, dt, Tag::any), p->bias,
      memory::desc(dstDims, dt, layout), toDims(window.strides), piece.dilations, piece.padsBegin,
      piece.padsEnd);
  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  dnnl::post_ops ops;
  if (key.residual) ops.append_sum(1.0f);
  appendActivation(ops, act);
  attr.set_post_ops(ops);
  const dnnl::convolution_forward::primitive_desc pd(desc, attr, cpuEngine());
  p->adopt(dnnl::convolution_forward(pd), pd, sharedSrc, key.residual);
  return parts.emplace(id, p).first->second;
}

// The reorder of input channels [c0, c1) of the one image into the shared nChw16c input.
ConvPlan::SrcSlice ConvPlan::srcSlice(int64_t c0, int64_t c1) {
  const std::lock_guard<std::mutex> lock(mutex);
  auto it = srcSlices.find({c0, c1});
  if (it != srcSlices.end()) return it->second;
  memory::dims dims = {1, c1 - c0};
  dims.insert(dims.end(), key.xShape.begin() + 2, key.xShape.end());
  const auto dt = toDnnlType(key.type);
  SrcSlice slice;
  slice.plain = memory::desc(dims, dt, plainLayoutTag(dims.size()));
  slice.blocked = memory::desc(dims, dt, channelBlockedLayoutTag(dims.size()));
  slice.reorder = Reorder(slice.plain, slice.blocked);
  return srcSlices.emplace(std::array<int64_t, 2>{c0, c1}, slice).first->second;
}

std::shared_ptr<ConvPlan> makeConvPlan(const ConvKey& key, const ir::ops::Window& window, int64_t group,
                                       const ir::ops::ActivationSpec& act, bool blocked) {
  auto plan = std::make_shared<ConvPlan>();
  plan->key = key;
  plan->window = window;
  plan->group = group;
  plan->act = act;
  plan->blocked = blocked;
  const std::vector<int64_t>& x = key.xShape;
  const std::vector<int64_t>& w = key.wShape;
  plan->depthwise = group > 1 && group == x[1] && group == w[0];
  plan->split = x[0] == 1 && (group == 1 || plan->depthwise) && w[0] > kChannelBlock ? Split::kChannels
                                                                                     : Split::kImages;
  // Bands read every weight on every thread; channel slices of a channels-last y go through a dense buffer
  // and back (z in, y out): bands where the weights take fewer bytes than x and those copies.
  int64_t weightElements = 1;
  for (int64_t d : w) weightElements *= d;
  int64_t inElements = 1;
  for (int64_t d : x) inElements *= d;
  int64_t outElements = w[0];
  for (int64_t size : window.output) outElements *= size;
  if (x[0] == 1 && x.size() == 4 && key.hwcX() && key.hwcY() && window.output[0] >= 2 &&
      weightElements <= inElements + 2 * outElements)
    plan->split = Split::kRows;
  plan->blockedInput = key.blockedX() || (blocked && x[1] >= kChannelBlock);
  // With kChw16 or channels-last input the whole input is in the primitive's layout already: nothing to
  // share; a plain input of a channels-last output is reordered by every piece.
  plan->sharedSrc = !key.blockedX() && !key.hwcY() && plan->blockedInput && plan->split == Split::kChannels &&
                    !plan->depthwise;
  if (plan->sharedSrc)
    plan->sharedSrcDesc = memory::desc(toDims(x), toDnnlType(key.type), channelBlockedLayoutTag(x.size()));
  int64_t pixels = 1;
  for (size_t d = 2; d < x.size(); ++d) pixels *= x[d];
  int64_t outPixels = 1;
  for (int64_t size : window.output) outPixels *= size;
  plan->xChannel = key.hwcX() ? 1 : pixels;
  plan->yChannel = key.hwcY() ? 1 : outPixels;
  // Images of kChw16 tensors take their padded channels.
  auto stored = [&](int64_t channels, bool blockedTensor) {
    return blockedTensor ? (channels + kChannelBlock - 1) / kChannelBlock * kChannelBlock : channels;
  };
  plan->xImage = stored(x[1], key.blockedX()) * pixels;
  plan->yImage = stored(w[0], key.blockedY()) * outPixels;
  plan->weightsPerOutputChannel = 1;
  for (size_t d = 1; d < w.size(); ++d) plan->weightsPerOutputChannel *= w[d];
  return plan;
}

// y = act(bias (or 0) + z): the convolution of an input with no channels or no pixels to read.
Status fillWithoutProduct(KernelContext& ctx, const ir::ops::ActivationSpec& act) {
  Tensor& y = ctx.output(0);
  if (y.type() != DataType::kFloat32) return ctx.unsupported("an empty convolution in " + y.describe());
  float* out = y.data<float>();
  const int64_t channels = y.shape()[1];
  const int64_t perChannel = y.elementCount() / (y.shape()[0] * channels);
  const float* z = ctx.hasInput(3) ? ctx.input(3).data<float>() : nullptr;
  for (int64_t i = 0; i < y.elementCount(); ++i) {
    float v = ctx.hasInput(2) ? ctx.input(2).data<float>()[i / perChannel % channels] : 0.0f;
    if (z != nullptr) v += z[i];
    out[i] = ir::ops::applyActivation(act, v);
  }
  return {};
}

// Runs the whole convolution, its pieces spread over lowp's pool.
Status execute(const KernelContext& ctx, ConvPlan& plan, Tensor& y) {
  // oneDNN takes non-const handles; it only reads inputs.
  auto* x = static_cast<std::byte*>(const_cast<void*>(ctx.input(0).data()));
  auto* w = static_cast<std::byte*>(const_cast<void*>(ctx.input(1).data()));
  auto* bias = ctx.hasInput(2) ? static_cast<std::byte*>(const_cast<void*>(ctx.input(2).data())) : nullptr;
  auto* z = plan.key.residual ? static_cast<std::byte*>(const_cast<void*>(ctx.input(3).data())) : nullptr;
  auto* out = static_cast<std::byte*>(y.data());
  const int64_t bytes = ir::dataTypeInfo(plan.key.type).storageBytes;
  const int64_t biasBytes = bias != nullptr ? ir::dataTypeInfo(plan.key.biasType).storageBytes : 0;
  const int64_t outChannels = plan.key.wShape[0];
  if (plan.split == Split::kImages) {
    return parallelOneDnn(ctx, plan.key.xShape[0], 1, [&](int64_t begin, int64_t end) {
      ConvolutionPiece& part = *plan.part(end - begin, 0, outChannels);
      const int64_t yOffset = begin * plan.yImage * bytes;
      runPiece(ctx, part,
               {x + begin * plan.xImage * bytes, false, w, bias, z != nullptr ? z + yOffset : nullptr,
                out + yOffset});
    });
  }
  if (plan.split == Split::kRows) {
    const std::vector<int64_t>& xs = plan.key.xShape;
    const int64_t xRow = xs[1] * xs[3];                        // elements of one input row, every channel
    const int64_t yRow = outChannels * plan.window.output[1];  // and of one output row
    return parallelOneDnn(ctx, plan.window.output[0], 1, [&](int64_t begin, int64_t end) {
      ConvolutionPiece& part = *plan.part(1, begin, end);
      const int64_t yOffset = begin * yRow * bytes;
      runPiece(ctx, part,
               {x + inputRowsOf(plan.window, xs[2], begin, end).begin * xRow * bytes, false, w, bias,
                z != nullptr ? z + yOffset : nullptr, out + yOffset});
    });
  }
  memory shared;
  if (plan.sharedSrc) {
    shared = threadBuffer(0, plan.sharedSrcDesc);
    auto* blocked = static_cast<std::byte*>(shared.get_data_handle());
    const int64_t inBlocks = (plan.key.xShape[1] + kChannelBlock - 1) / kChannelBlock;
    Status st = parallelOneDnn(ctx, inBlocks, 1, [&](int64_t begin, int64_t end) {
      const int64_t c0 = begin * kChannelBlock;
      const int64_t c1 = std::min(end * kChannelBlock, plan.key.xShape[1]);
      ConvPlan::SrcSlice slice = plan.srcSlice(c0, c1);
      dnnl::engine& engine = cpuEngine();
      memory from(slice.plain, engine, x + c0 * plan.xChannel * bytes);
      memory to(slice.blocked, engine, blocked + c0 * plan.xChannel * bytes);
      dnnl::stream& stream = threadStream();
      slice.reorder.execute(stream, from, to);
      stream.wait();
    });
    if (!st.isOk()) return st;
  }
  const int64_t outBlocks = (outChannels + kChannelBlock - 1) / kChannelBlock;
  return parallelOneDnn(ctx, outBlocks, 1, [&](int64_t begin, int64_t end) {
    const int64_t oc0 = begin * kChannelBlock;
    const int64_t oc1 = std::min(end * kChannelBlock, outChannels);
    ConvolutionPiece& part = *plan.part(1, oc0, oc1);
    const int64_t yOffset = oc0 * plan.yChannel * bytes;
    PieceData data;
    data.src =
        plan.sharedSrc ? shared.get_data_handle() : x + (plan.depthwise ? oc0 * plan.xChannel * bytes : 0);
    data.srcReordered = plan.sharedSrc;
    data.weights = w + oc0 * plan.weightsPerOutputChannel * bytes;
    data.bias = bias != nullptr ? bias + oc0 * biasBytes : nullptr;
    data.z = z != nullptr ? z + yOffset : nullptr;
    data.y = out + yOffset;
    runPiece(ctx, part, data);
  });
}

// The channels past C of kChw16 tensor `y` set to zero, the layout's promise to the next layer (oneDNN leaves
// what the primitive computed there, an activation of the padding's bias, e.g. 0.5 for Sigmoid).
void zeroChannelPadding(Tensor& y) {
  const int64_t channels = y.shape()[1];
  const int64_t valid = channels % kChannelBlock;
  if (valid == 0) return;
  const int64_t blocks = (channels + kChannelBlock - 1) / kChannelBlock;
  const int64_t pixels = y.elementCount() / (y.shape()[0] * channels);
  const auto bytes = static_cast<size_t>(ir::dataTypeInfo(y.type()).storageBytes);
  auto* data = static_cast<std::byte*>(y.data());
  for (int64_t n = 0; n < y.shape()[0]; ++n) {
    std::byte* lastBlock =
        data + ((n * blocks + blocks - 1) * pixels * kChannelBlock) * static_cast<int64_t>(bytes);
    for (int64_t p = 0; p < pixels; ++p)
      std::memset(lastBlock + (p * kChannelBlock + valid) * static_cast<int64_t>(bytes), 0,
                  static_cast<size_t>(kChannelBlock - valid) * bytes);
  }
}

// Runs the plan, then zeroes the padding channels of a kChw16 output.
Status finish(const KernelContext& ctx, ConvPlan& plan, Tensor& y) {
  LOWP_RETURN_IF_ERROR(execute(ctx, plan, y));
  if (plan.key.blockedY()) zeroChannelPadding(y);
  return {};
}

template <bool kFused, IoLayout kIo, bool kWinograd>
Status runConv(KernelContext& ctx) {
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
  if (ctx.hasInput(2) && ctx.input(2).elementCount() != w[0]) {
    return ctx.invalid("bias " + ir::formatSizes(ctx.input(2).shape()) +
                       " does not have one value per output channel");
  }
  const bool residual = kFused && ctx.hasInput(3);
  Tensor& y = ctx.output(0);
  if (residual && (ctx.input(3).shape() != y.shape() || ctx.input(3).type() != y.type())) {
    return ctx.invalid("residual " + ctx.input(3).describe() + " does not match the output " + y.describe());
  }
  const DataType biasType = ctx.hasInput(2) ? ctx.input(2).type() : DataType::kUndefined;
  auto plan = std::static_pointer_cast<ConvPlan>(ctx.state());
  if (plan && plan->key.describes(x, w, ctx.input(0).type(), biasType, residual, kIo, kWinograd)) {
    // The operands the plan was made and checked for; the node's attributes (window, activation) do not
    // change between runs.
    runOnCallingThreadOnly();
    return finish(ctx, *plan, y);
  }
  ir::ops::ActivationSpec act;
  if constexpr (kFused) {
    auto spec = ir::ops::readActivation(ctx.attrs());
    if (!spec) return ctx.invalid(spec.status().message());
    act = *spec;
    dnnl::post_ops probe;
    if (!appendActivation(probe, act)) return ctx.unsupported("oneDNN has no post-op for this activation");
  }
  const std::vector<int64_t> spatial(x.begin() + 2, x.end());
  auto window = ir::ops::readWindow(ctx.attrs(), std::vector<int64_t>(w.begin() + 2, w.end()));
  if (!window) return ir::ops::windowError(ctx, window.status());
  Status st = ir::ops::resolveForwardWindow(*window, spatial, false);
  if (!st.isOk()) return ir::ops::windowError(ctx, st);
  if (y.elementCount() == 0) return {};
  if (ctx.input(0).elementCount() == 0 || ctx.input(1).elementCount() == 0) {
    if (kIo != IoLayout::kPlain)
      return ctx.unsupported("an empty convolution in a blocked or channels-last layout");
    return fillWithoutProduct(ctx, act);
  }

  const ConvKey key{x, w, ctx.input(0).type(), biasType, residual, kIo, kWinograd};
  runOnCallingThreadOnly();
  plan = makeConvPlan(key, *window, group, act, kIo != IoLayout::kPlain || blockedLayout());
  ctx.state() = plan;
  return finish(ctx, *plan, y);
}

template <bool kFused, IoLayout kIo, bool kWinograd = false>
Status convKernel(KernelContext& ctx) {
  try {
    return runConv<kFused, kIo, kWinograd>(ctx);
  } catch (const dnnl::error& e) {
    return oneDnnError(ctx, e);
  }
}

bool supportsFusedConv(const ir::Node& node, const std::vector<ir::Shape>& shapes) {
  return convolutionRanksSupported(node, shapes) && activationSupported(node);
}

// kChw16 in and out: an input of at least 16 channels (fewer are read plain, as oneDNN's blocked kernels
// read them), known when the kernel is chosen.
bool blockedInputFits(const std::vector<ir::Shape>& shapes) {
  return shapes[0][1].isKnown() && shapes[0][1].size >= kChannelBlock;
}

bool supportsBlockedConv(const ir::Node& node, const std::vector<ir::Shape>& shapes) {
  return convolutionRanksSupported(node, shapes) && blockedInputFits(shapes);
}

bool supportsBlockedFusedConv(const ir::Node& node, const std::vector<ir::Shape>& shapes) {
  return supportsFusedConv(node, shapes) && blockedInputFits(shapes);
}

// What oneDNN's Winograd convolutions take: 2-D, 3 x 3, stride 1, no dilation, one group, input and output
// channels multiples of 16 (its kernels' vector width).
bool winogradFits(const ir::Node& node, const std::vector<ir::Shape>& shapes) {
  if (shapes[0].rank() != 4 || !shapes[1].isStatic()) return false;
  const std::vector<int64_t> w = shapes[1].sizes();
  if (w[2] != 3 || w[3] != 3 || w[0] % kChannelBlock != 0 || w[1] % kChannelBlock != 0) return false;
  if (node.attributes.getInt("group", 1) != 1) return false;
  for (const char* name : {"strides", "dilations"}) {
    if (!node.attributes.has(name)) continue;
    for (int64_t v : node.attributes.getInts(name)) {
      if (v != 1) return false;
    }
  }
  return true;
}

bool supportsWinogradConv(const ir::Node& node, const std::vector<ir::Shape>& shapes) {
  return supportsBlockedConv(node, shapes) && winogradFits(node, shapes);
}

bool supportsWinogradFusedConv(const ir::Node& node, const std::vector<ir::Shape>& shapes) {
  return supportsBlockedFusedConv(node, shapes) && winogradFits(node, shapes);
}

// The kernel of one (fused, layout, Winograd) triple.
template <bool kFused>
KernelFn convKernelFor(IoLayout io, bool winograd) {
  if (winograd) return convKernel<kFused, IoLayout::kBlocked, true>;
  switch (io) {
    case IoLayout::kPlain:
      return convKernel<kFused, IoLayout::kPlain>;
    case IoLayout::kBlocked:
      return convKernel<kFused, IoLayout::kBlocked>;
    case IoLayout::kPlainToBlocked:
      return convKernel<kFused, IoLayout::kPlainToBlocked>;
    case IoLayout::kHwc:
      return convKernel<kFused, IoLayout::kHwc>;
    case IoLayout::kPlainToHwc:
      return convKernel<kFused, IoLayout::kPlainToHwc>;
  }
  return nullptr;
}

// Which nodes a tactic takes: any convolution, one of 16 or more input channels where x is blocked, one
// Winograd computes.
SupportsFn convSupportsFor(bool fused, IoLayout io, bool winograd) {
  if (winograd) return fused ? supportsWinogradFusedConv : supportsWinogradConv;
  if (io == IoLayout::kBlocked) return fused ? supportsBlockedFusedConv : supportsBlockedConv;
  return fused ? supportsFusedConv : convolutionRanksSupported;
}

}  // namespace

void registerConvKernels(KernelRegistry& registry) {
  // Formats of x, w, the bias and the residual z, and of y, per layout: y and z share x's, except where x is
  // plain and y blocked or channels-last (a first convolution, 3 input channels, writing the layout the next
  // layers read without a reformat between them).
  auto formatsOf = [](IoLayout io) -> std::pair<std::vector<TensorFormat>, std::vector<TensorFormat>> {
    constexpr TensorFormat kLinear = TensorFormat::kLinear;
    switch (io) {
      case IoLayout::kPlain:
        return {};
      case IoLayout::kBlocked:
        return {{TensorFormat::kChw16, kLinear, kLinear, TensorFormat::kChw16}, {TensorFormat::kChw16}};
      case IoLayout::kPlainToBlocked:
        return {{kLinear, kLinear, kLinear, TensorFormat::kChw16}, {TensorFormat::kChw16}};
      case IoLayout::kHwc:
        return {{TensorFormat::kHwc, kLinear, kLinear, TensorFormat::kHwc}, {TensorFormat::kHwc}};
      case IoLayout::kPlainToHwc:
        return {{kLinear, kLinear, kLinear, TensorFormat::kHwc}, {TensorFormat::kHwc}};
    }
    return {};
  };
  struct Variant {
    std::string_view conv;  ///< The Conv tactic; `fused` the FusedConv one of the same variant.
    std::string_view fused;
    bool bf16;
    IoLayout io;
    bool winograd = false;
  };
  // Channels-last: oneDNN's brgemm convolutions, measured 5-18% faster than its nChw16c kernels on
  // ResNet-50's 3x3 convolutions (one thread, 4 images: 262-310 against 248-262 GFLOP/s), most at 7x7
  // pixels. Winograd (oneDNN's F(4x4, 3x3) or F(2x2, 3x3)): fewer multiplications, rounded in another order.
  const Variant variants[] = {
      {"f32-conv-onednn", "f32-fusedconv-onednn", false, IoLayout::kPlain},
      {"f32-conv-onednn-chw16", "f32-fusedconv-onednn-chw16", false, IoLayout::kBlocked},
      {"f32-conv-onednn-chw16-winograd", "f32-fusedconv-onednn-chw16-winograd", false, IoLayout::kBlocked,
       true},
      {"bf16-conv-onednn-chw16", "bf16-fusedconv-onednn-chw16", true, IoLayout::kBlocked},
      {"f32-conv-onednn-lineartochw16", "f32-fusedconv-onednn-lineartochw16", false,
       IoLayout::kPlainToBlocked},
      {"bf16-conv-onednn-lineartochw16", "bf16-fusedconv-onednn-lineartochw16", true,
       IoLayout::kPlainToBlocked},
      {"f32-conv-onednn-hwc", "f32-fusedconv-onednn-hwc", false, IoLayout::kHwc},
      {"f32-conv-onednn-lineartohwc", "f32-fusedconv-onednn-lineartohwc", false, IoLayout::kPlainToHwc},
      {"bf16-conv-onednn-hwc", "bf16-fusedconv-onednn-hwc", true, IoLayout::kHwc},
      {"bf16-conv-onednn-lineartohwc", "bf16-fusedconv-onednn-lineartohwc", true, IoLayout::kPlainToHwc},
      {"bf16-conv-onednn", "bf16-fusedconv-onednn", true, IoLayout::kPlain},
  };
  for (const Variant& v : variants) {
    const TypeSet types = {v.bf16 ? DataType::kBFloat16 : DataType::kFloat32};
    // A bf16 convolution takes an fp32 bias too.
    const TypeSet biasTypes = v.bf16 ? TypeSet{DataType::kBFloat16, DataType::kFloat32} : types;
    // bf16 needs AVX-512 (oneDNN converts with AVX512_BF16 instructions where the CPU has them, else
    // emulates); so do oneDNN's fp32 Winograd kernels.
    const CpuFeature feature = v.bf16 || v.winograd ? CpuFeature::kAvx512 : CpuFeature::kNone;
    auto [inputFormats, outputFormats] = formatsOf(v.io);
    registry.add({.opType = "Conv",
                  .name = v.conv,
                  .inputTypes = {types, types, biasTypes},
                  .outputTypes = {types},
                  .fn = convKernelFor<false>(v.io, v.winograd),
                  .inputFormats = inputFormats,
                  .outputFormats = outputFormats,
                  .feature = feature,
                  .supports = convSupportsFor(false, v.io, v.winograd),
                  .reference = false});
    registry.add({.opType = "FusedConv",
                  .name = v.fused,
                  .inputTypes = {types, types, biasTypes, types},
                  .outputTypes = {types},
                  .fn = convKernelFor<true>(v.io, v.winograd),
                  .inputFormats = std::move(inputFormats),
                  .outputFormats = std::move(outputFormats),
                  .feature = feature,
                  .domain = ir::ops::kLowpDomain,
                  .supports = convSupportsFor(true, v.io, v.winograd),
                  .reference = false,
                  .inPlaceInput = 3});
  }
}

}  // namespace lowp::kernels::onednn
