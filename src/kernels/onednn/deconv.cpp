// {f32,bf16}-convtranspose-onednn: ONNX ConvTranspose through oneDNN's deconvolution_forward
// (forward_inference, direct) over 1, 2 or 3 spatial axes, with groups, strides, dilations (oneDNN counts
// dilation - 1), pads, output_padding, output_shape and auto_pad resolved exactly as shape inference and the
// reference kernel resolve them (ir/ops/window.h).
// Geometry: oneDNN takes the begin pads as they are and an end pad that makes its output size ONNX's,
// (in - 1) * stride + dilated kernel - begin - out, which output_padding or a larger output_shape make
// negative. oneDNN 2.6 rejects a negative begin pad and an end pad of -stride or less; those nodes are
// declined (supports, where the sizes are known when the kernel is chosen; else the reference kernel runs).
// Types: fp32 throughout, or bf16 x, w, y with a bf16 or fp32 bias; oneDNN accumulates in fp32.
// Layouts: x and y are ONNX's plain layout (ncw / nchw / ncdhw); the primitive takes the layout it picks
// (format_tag::any: nChw16c in fp32, nhwc in bf16 on AMX), with reorders around it in buffers of the thread.
// Measured on 2 shared AVX-512 cores, 2x upsampling of 256 into 128 channels (k 4, s 2, p 1, 32x32 to
// 64x64), the builder's kernel timings, medians of 3 builds: fp32 3.97 ms at batch 1, 31.9 ms at batch 8
// in oneDNN's layouts, 5.64 and 36.3 ms in the plain one (its GEMM deconvolution); bf16 1.06 and 9.3 ms
// against 5.97 and 49 ms. The reference kernel takes 12.6 and 91 ms in fp32.
// The weights [C, M / group, k...] are read as oneDNN's logical [M, C, k...] (iohw) or [G, M / G, C / G,
// k...] (giohw) through their strides, and reordered once into the primitive's layout when they are a
// constant of the graph; otherwise on every run.
// Threads: the deconvolution is cut into pieces, each a single-threaded primitive on one thread of lowp's
// pool (see runOnCallingThreadOnly in common.h): by images when there are several; for one image by blocks
// of 16 output channels (one group; each piece reads all of x and its slice of the weights) or by groups.
// The plan (pieces' primitives, packed weights) lives in the node's state slot; new input shapes re-create
// it.
// Covered by tests/unit/test_onednn_deconv.cpp (OneDnnDeconv.*), against any-convtranspose-ref.
#include <algorithm>
#include <array>
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

// The end pads oneDNN needs for the output sizes of `window` over spatial input sizes `input`, or false
// when oneDNN cannot express the geometry (a negative begin pad, an end pad of -stride or less).
bool oneDnnEndPads(const ir::ops::Window& window, const std::vector<int64_t>& input, memory::dims& padsEnd) {
  padsEnd.clear();
  for (size_t d = 0; d < input.size(); ++d) {
    const int64_t extent = (window.kernel[d] - 1) * window.dilations[d] + 1;
    const int64_t end = (input[d] - 1) * window.strides[d] + extent - window.padsBegin[d] - window.output[d];
    if (window.padsBegin[d] < 0 || end <= -window.strides[d]) return false;
    padsEnd.push_back(end);
  }
  return true;
}

// Everything a plan depends on besides the weights' values.
struct DeconvKey {
  std::vector<int64_t> xShape;
  std::vector<int64_t> wShape;
  DataType type = DataType::kFloat32;
  DataType biasType = DataType::kUndefined;  ///< kUndefined: no bias.
  bool describes(const std::vector<int64_t>& x, const std::vector<int64_t>& w, DataType t,
                 DataType bias) const {
    return xShape == x && wShape == w && type == t && biasType == bias;
  }
};

// One piece of a node's deconvolution (DeconvPlan::part) as one single-threaded primitive and the reorders
// around it.
// kImages: pieces of whole images; kChannels (one image, one group): blocks of 16 output channels, each
// reading all of x; kGroups (one image, several groups): runs of whole groups, each reading its channels.
enum class Split { kImages, kChannels, kGroups };

struct DeconvPlan {
  DeconvKey key;
  ir::ops::Window window;
  memory::dims padsEnd;  ///< oneDNN's (see oneDnnEndPads).
  int64_t group = 1;
  Split split = Split::kImages;
  int64_t inPerGroup = 0;   ///< C / group.
  int64_t outPerGroup = 0;  ///< M / group.
  int64_t taps = 1;         ///< Elements of one kernel window.
  int64_t xChannel = 0;     ///< Elements of one channel of x, of y.
  int64_t yChannel = 0;

  std::mutex mutex;  ///< Guards parts: pieces on several threads look up and add.
  std::map<std::array<int64_t, 3>, std::shared_ptr<ConvolutionPiece>> parts;

  /// The piece of `images` images (kImages), output channels [first, last) (kChannels) or groups [first,
  /// last) (kGroups).
  std::shared_ptr<ConvolutionPiece> part(int64_t images, int64_t first, int64_t last);
};

std::shared_ptr<ConvolutionPiece> DeconvPlan::part(int64_t images, int64_t first, int64_t last) {
  const std::lock_guard<std::mutex> lock(mutex);
  const std::array<int64_t, 3> id = {images, first, last};
  auto it = parts.find(id);
  if (it != parts.end()) return it->second;
  auto p = std::make_shared<ConvolutionPiece>();
  const std::vector<int64_t>& x = key.xShape;
  const size_t rank = x.size();
  const auto dt = toDnnlType(key.type);
  // The piece's groups and channels per group.
  int64_t groups = group;
  int64_t outChannels = outPerGroup;  // per group
  const int64_t inChannels = inPerGroup;
  if (split == Split::kChannels) outChannels = last - first;
  if (split == Split::kGroups) groups = last - first;

  memory::dims srcDims = {images, groups * inChannels};
  srcDims.insert(srcDims.end(), x.begin() + 2, x.end());
  memory::dims dstDims = {images, groups * outChannels};
  dstDims.insert(dstDims.end(), window.output.begin(), window.output.end());
  // ONNX's w[c][m][k...] (c the input channel, m the output channel in its group): from one output channel
  // to the next `taps`, one input channel to the next M / group * taps, one group to the next C / group of
  // those.
  memory::dims wDims = {outChannels, inChannels};
  memory::dims wStrides = {taps, outPerGroup * taps};
  int64_t stride = taps;
  for (size_t d = 2; d < rank; ++d) {
    wDims.push_back(key.wShape[d]);
    stride /= key.wShape[d];
    wStrides.push_back(stride);
  }
  if (group > 1) {
    wDims.insert(wDims.begin(), groups);
    wStrides.insert(wStrides.begin(), inPerGroup * outPerGroup * taps);
  }
  p->userSrc = memory::desc(srcDims, dt, plainLayoutTag(rank));
  p->userDst = memory::desc(dstDims, dt, plainLayoutTag(rank));
  p->userWeights = memory::desc(wDims, dt, wStrides);
  if (key.biasType != DataType::kUndefined)
    p->bias = memory::desc({groups * outChannels}, toDnnlType(key.biasType), Tag::x);
  memory::dims dilations;
  for (int64_t d : window.dilations) dilations.push_back(d - 1);
  const dnnl::deconvolution_forward::desc desc(
      dnnl::prop_kind::forward_inference, dnnl::algorithm::deconvolution_direct,
      memory::desc(srcDims, dt, Tag::any), memory::desc(wDims, dt, Tag::any), p->bias,
      memory::desc(dstDims, dt, Tag::any), toDims(window.strides), dilations, toDims(window.padsBegin),
      padsEnd);
  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  const dnnl::deconvolution_forward::primitive_desc pd(desc, attr, cpuEngine());
  p->adopt(dnnl::deconvolution_forward(pd), pd, /*sharedSrc=*/false, /*residual=*/false);
  return parts.emplace(id, p).first->second;
}

std::shared_ptr<DeconvPlan> makeDeconvPlan(const DeconvKey& key, const ir::ops::Window& window,
                                           const memory::dims& padsEnd, int64_t group) {
  auto plan = std::make_shared<DeconvPlan>();
  plan->key = key;
  plan->window = window;
  plan->padsEnd = padsEnd;
  plan->group = group;
  const std::vector<int64_t>& x = key.xShape;
  const std::vector<int64_t>& w = key.wShape;
  plan->inPerGroup = x[1] / group;
  plan->outPerGroup = w[1];
  for (size_t d = 2; d < w.size(); ++d) plan->taps *= w[d];
  plan->xChannel = 1;
  for (size_t d = 2; d < x.size(); ++d) plan->xChannel *= x[d];
  plan->yChannel = 1;
  for (int64_t size : window.output) plan->yChannel *= size;
  if (x[0] == 1 && group > 1) {
    plan->split = Split::kGroups;
  } else if (x[0] == 1 && w[1] > kChannelBlock) {
    plan->split = Split::kChannels;
  }
  return plan;
}

// Runs the whole deconvolution, its pieces spread over lowp's pool.
Status execute(KernelContext& ctx, DeconvPlan& plan) {
  // oneDNN takes non-const handles; it only reads inputs.
  auto* x = static_cast<std::byte*>(const_cast<void*>(ctx.input(0).data()));
  auto* w = static_cast<std::byte*>(const_cast<void*>(ctx.input(1).data()));
  auto* bias = ctx.hasInput(2) ? static_cast<std::byte*>(const_cast<void*>(ctx.input(2).data())) : nullptr;
  auto* y = static_cast<std::byte*>(ctx.output(0).data());
  const int64_t bytes = ir::dataTypeInfo(plan.key.type).storageBytes;
  const int64_t biasBytes = bias != nullptr ? ir::dataTypeInfo(plan.key.biasType).storageBytes : 0;
  const int64_t inChannels = plan.key.xShape[1];
  const int64_t outChannels = plan.outPerGroup * plan.group;
  const auto offset = [](std::byte* base, int64_t elements, int64_t size) {
    return base != nullptr ? base + elements * size : nullptr;
  };
  switch (plan.split) {
    case Split::kImages:
      return parallelOneDnn(ctx, plan.key.xShape[0], 1, [&](int64_t begin, int64_t end) {
        runPiece(ctx, *plan.part(end - begin, 0, outChannels),
                 {.src = x + begin * inChannels * plan.xChannel * bytes,
                  .weights = w,
                  .bias = bias,
                  .y = y + begin * outChannels * plan.yChannel * bytes});
      });
    case Split::kChannels: {
      const int64_t blocks = (outChannels + kChannelBlock - 1) / kChannelBlock;
      return parallelOneDnn(ctx, blocks, 1, [&](int64_t begin, int64_t end) {
        const int64_t oc0 = begin * kChannelBlock;
        const int64_t oc1 = std::min(end * kChannelBlock, outChannels);
        runPiece(ctx, *plan.part(1, oc0, oc1),
                 {.src = x,
                  .weights = w + oc0 * plan.taps * bytes,
                  .bias = offset(bias, oc0, biasBytes),
                  .y = y + oc0 * plan.yChannel * bytes});
      });
    }
    case Split::kGroups:
      return parallelOneDnn(ctx, plan.group, 1, [&](int64_t begin, int64_t end) {
        const int64_t ic0 = begin * plan.inPerGroup;
        const int64_t oc0 = begin * plan.outPerGroup;
        runPiece(ctx, *plan.part(1, begin, end),
                 {.src = x + ic0 * plan.xChannel * bytes,
                  .weights = w + ic0 * plan.outPerGroup * plan.taps * bytes,
                  .bias = offset(bias, oc0, biasBytes),
                  .y = y + oc0 * plan.yChannel * bytes});
      });
  }
  return {};
}

Status runDeconv(KernelContext& ctx) {
  const std::vector<int64_t>& x = ctx.input(0).shape();
  const std::vector<int64_t>& w = ctx.input(1).shape();
  if (x.size() < 3 || x.size() > 5 || w.size() != x.size()) {
    return ctx.invalid("input " + ir::formatSizes(x) + " and weight " + ir::formatSizes(w) +
                       " do not form a 1-, 2- or 3-D transposed convolution");
  }
  const int64_t group = ctx.attrs().getInt("group", 1);
  if (group < 1 || x[1] != w[0] || x[1] % group != 0) {
    return ctx.invalid("input " + ir::formatSizes(x) + ", weight " + ir::formatSizes(w) + " and group " +
                       std::to_string(group) + " do not match");
  }
  if (ctx.hasInput(2) && ctx.input(2).elementCount() != w[1] * group) {
    return ctx.invalid("bias " + ir::formatSizes(ctx.input(2).shape()) +
                       " does not have one value per output channel");
  }
  const DataType biasType = ctx.hasInput(2) ? ctx.input(2).type() : DataType::kUndefined;
  auto plan = std::static_pointer_cast<DeconvPlan>(ctx.state());
  if (plan && plan->key.describes(x, w, ctx.input(0).type(), biasType)) {
    // The operands the plan was made and checked for; the node's attributes do not change between runs.
    runOnCallingThreadOnly();
    return execute(ctx, *plan);
  }
  const std::vector<int64_t> spatial(x.begin() + 2, x.end());
  auto window = ir::ops::readWindow(ctx.attrs(), std::vector<int64_t>(w.begin() + 2, w.end()));
  if (!window) return ir::ops::windowError(ctx, window.status());
  Status st = ir::ops::resolveTransposedWindow(*window, ctx.attrs(), spatial);
  if (!st.isOk()) return ir::ops::windowError(ctx, st);
  if (ctx.output(0).elementCount() == 0) return {};
  // Sizes supports() could not see: an empty input (y is the bias alone) or a geometry oneDNN cannot take.
  memory::dims padsEnd;
  if (ctx.input(0).elementCount() == 0 || ctx.input(1).elementCount() == 0 ||
      !oneDnnEndPads(*window, spatial, padsEnd))
    return runReferenceKernel(ctx);

  const DeconvKey key{x, w, ctx.input(0).type(), biasType};
  runOnCallingThreadOnly();
  plan = makeDeconvPlan(key, *window, padsEnd, group);
  ctx.state() = plan;
  return execute(ctx, *plan);
}

Status deconvKernel(KernelContext& ctx) {
  try {
    return runDeconv(ctx);
  } catch (const dnnl::error& e) {
    return oneDnnError(ctx, e);
  }
}

// 1- to 3-D transposed convolutions whose ranks are known; where the spatial sizes of x and w are known too,
// only a geometry oneDNN can express (oneDnnEndPads).
bool supportsDeconv(const ir::Node& node, const std::vector<ir::Shape>& shapes) {
  if (!convolutionRanksSupported(node, shapes)) return false;
  const int64_t rank = shapes[0].rank();
  std::vector<int64_t> spatial;
  std::vector<int64_t> kernel;
  for (int64_t d = 2; d < rank; ++d) {
    if (!shapes[0][d].isKnown() || !shapes[1][d].isKnown()) return true;  // checked when it runs
    spatial.push_back(shapes[0][d].size);
    kernel.push_back(shapes[1][d].size);
  }
  auto window = ir::ops::readWindow(node.attributes, kernel);
  if (!window || !ir::ops::resolveTransposedWindow(*window, node.attributes, spatial).isOk()) return false;
  memory::dims padsEnd;
  return oneDnnEndPads(*window, spatial, padsEnd);
}

}  // namespace

void registerDeconvKernels(KernelRegistry& registry) {
  const TypeSet f32 = {DataType::kFloat32};
  const TypeSet bf16 = {DataType::kBFloat16};
  registry.add({.opType = "ConvTranspose",
                .name = "f32-convtranspose-onednn",
                .inputTypes = {f32, f32, f32},
                .outputTypes = {f32},
                .fn = deconvKernel,
                .supports = supportsDeconv,
                .reference = false});
  // bf16 needs AVX-512 (oneDNN converts with AVX512_BF16 instructions where the CPU has them, else
  // emulates); a bf16 deconvolution takes an fp32 bias too.
  registry.add({.opType = "ConvTranspose",
                .name = "bf16-convtranspose-onednn",
                .inputTypes = {bf16, bf16, {DataType::kBFloat16, DataType::kFloat32}},
                .outputTypes = {bf16},
                .fn = deconvKernel,
                .feature = CpuFeature::kAvx512,
                .supports = supportsDeconv,
                .reference = false});
}

}  // namespace lowp::kernels::onednn
