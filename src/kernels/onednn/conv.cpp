// f32-conv-onednn: ONNX Conv in fp32 through oneDNN's convolution_forward (forward_inference, direct).
//
// Computes y = conv(x, w) + bias over 1, 2 or 3 spatial axes, with groups (depthwise included), strides,
// dilations (oneDNN counts dilation - 1) and the explicit pads that auto_pad resolves to, exactly as the
// reference kernel and shape inference resolve them (ir/ops/window.h).
// Layouts: x and y stay in ONNX's plain layout (ncw / nchw / ncdhw); the weights [M, C/group, k...] are read
// as oiw.. (goiw.. with groups) and reordered once into the layout oneDNN picks (format_tag::any). The
// primitives and the reordered weights live in the node's state slot; a change of input shapes re-creates
// them, and weights that are not a constant of the graph are reordered again on every run.
// Threads: the batch is split over lowp's pool, each chunk a single-threaded primitive for its number of
// images (see runOnCallingThreadOnly in common.h); one image runs on the calling thread alone.
// Accumulator: fp32 (oneDNN's f32 convolutions accumulate in fp32).
// Covered by tests/unit/test_onednn.cpp (OneDnnConv.*), against the reference kernel any-conv-ref.
#include <algorithm>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "ir/ops/window.h"
#include "kernels/onednn/common.h"

namespace lowp::kernels::onednn {
namespace {

using dnnl::memory;
using Tag = memory::format_tag;

Tag plainDataTag(size_t rank) {
  return rank == 3 ? Tag::ncw : rank == 4 ? Tag::nchw : Tag::ncdhw;
}

Tag plainWeightsTag(size_t rank, bool grouped) {
  if (grouped) return rank == 3 ? Tag::goiw : rank == 4 ? Tag::goihw : Tag::goidhw;
  return rank == 3 ? Tag::oiw : rank == 4 ? Tag::oihw : Tag::oidhw;
}

// What one set of input shapes needs: the weights in the primitive's layout, and one primitive per number
// of images a chunk of the pool gets (at most two sizes: the batch split evenly, and its remainder).
struct ConvPlan {
  std::vector<int64_t> xShape;
  std::vector<int64_t> wShape;
  bool hasBias = false;
  memory::dims weightDims;
  memory::dims dstSpatial;
  memory::dims strides;
  memory::dims dilations;  ///< oneDNN's: ONNX dilation - 1.
  memory::dims padsBegin;
  memory::dims padsEnd;
  memory::desc userWeightsDesc;  ///< The ONNX weights as oneDNN reads them in place.
  memory::desc weightsDesc;      ///< The layout every primitive of the plan reads the weights in.
  memory::desc biasDesc;
  bool reorderWeights = false;   ///< weightsDesc differs from userWeightsDesc.
  dnnl::reorder weightsReorder;  ///< userWeightsDesc -> weightsDesc, when reorderWeights.
  memory weights;                ///< The weights in weightsDesc, when reorderWeights.
  bool weightsReady = false;     ///< `weights` holds the graph's constant weights already.

  std::mutex mutex;  ///< Guards byBatch: chunks on several threads look up and add primitives.
  struct Primitive {
    dnnl::convolution_forward conv;
    memory::desc scratchpad;
  };
  std::map<int64_t, Primitive> byBatch;

  memory::desc srcDesc(int64_t batch) const {
    memory::dims dims = {batch};
    dims.insert(dims.end(), xShape.begin() + 1, xShape.end());
    return {dims, memory::data_type::f32, plainDataTag(xShape.size())};
  }
  memory::desc dstDesc(int64_t batch) const {
    memory::dims dims = {batch, wShape[0]};
    dims.insert(dims.end(), dstSpatial.begin(), dstSpatial.end());
    return {dims, memory::data_type::f32, plainDataTag(xShape.size())};
  }
  dnnl::convolution_forward::primitive_desc describe(int64_t batch, const memory::desc& weights) const {
    const dnnl::convolution_forward::desc desc(
        dnnl::prop_kind::forward_inference, dnnl::algorithm::convolution_direct, srcDesc(batch), weights,
        biasDesc, dstDesc(batch), strides, dilations, padsBegin, padsEnd);
    return {desc, concurrentAttr(), cpuEngine()};
  }
  // The primitive for chunks of `batch` images, created on first use.
  Primitive forBatch(int64_t batch) {
    const std::lock_guard<std::mutex> lock(mutex);
    auto it = byBatch.find(batch);
    if (it == byBatch.end()) {
      const auto pd = describe(batch, weightsDesc);
      it = byBatch.emplace(batch, Primitive{dnnl::convolution_forward(pd), pd.scratchpad_desc()}).first;
    }
    return it->second;
  }
};

// Plans the convolution for the current input shapes; the weights layout is the one oneDNN picks for one
// image.
std::shared_ptr<ConvPlan> makeConvPlan(const KernelContext& ctx, const ir::ops::Window& window,
                                       int64_t group) {
  auto plan = std::make_shared<ConvPlan>();
  plan->xShape = ctx.input(0).shape();
  plan->wShape = ctx.input(1).shape();
  plan->hasBias = ctx.hasInput(2);
  const std::vector<int64_t>& w = plan->wShape;
  const size_t rank = w.size();
  plan->weightDims = toDims(w);
  if (group > 1) {
    plan->weightDims[0] = w[0] / group;
    plan->weightDims.insert(plan->weightDims.begin(), group);
  }
  plan->dstSpatial = toDims(window.output);
  plan->strides = toDims(window.strides);
  for (int64_t d : window.dilations) plan->dilations.push_back(d - 1);
  plan->padsBegin = toDims(window.padsBegin);
  plan->padsEnd = toDims(window.padsEnd);
  const auto f32 = memory::data_type::f32;
  plan->userWeightsDesc = memory::desc(plan->weightDims, f32, plainWeightsTag(rank, group > 1));
  if (plan->hasBias) plan->biasDesc = memory::desc({w[0]}, f32, Tag::x);
  const auto pd = plan->describe(1, memory::desc(plan->weightDims, f32, Tag::any));
  plan->weightsDesc = pd.weights_desc();
  plan->byBatch.emplace(1, ConvPlan::Primitive{dnnl::convolution_forward(pd), pd.scratchpad_desc()});
  plan->reorderWeights = plan->weightsDesc != plan->userWeightsDesc;
  if (plan->reorderWeights) {
    plan->weights = memory(plan->weightsDesc, cpuEngine());
    plan->weightsReorder = dnnl::reorder(
        dnnl::reorder::primitive_desc(cpuEngine(), plan->userWeightsDesc, cpuEngine(), plan->weightsDesc));
  }
  return plan;
}

// y = bias (or 0) everywhere: the convolution of an input with no channels or no pixels to read.
void fillWithBias(KernelContext& ctx) {
  Tensor& y = ctx.output(0);
  float* out = y.data<float>();
  const int64_t channels = y.shape()[1];
  const int64_t perChannel = y.elementCount() / (y.shape()[0] * channels);
  for (int64_t i = 0; i < y.elementCount(); ++i) {
    out[i] = ctx.hasInput(2) ? ctx.input(2).data<float>()[i / perChannel % channels] : 0.0f;
  }
}

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
  const std::vector<int64_t> spatial(x.begin() + 2, x.end());
  auto window = ir::ops::readWindow(ctx.attrs(), std::vector<int64_t>(w.begin() + 2, w.end()));
  if (!window) return ir::ops::windowError(ctx, window.status());
  Status st = ir::ops::resolveForwardWindow(*window, spatial, false);
  if (!st.isOk()) return ir::ops::windowError(ctx, st);
  if (ctx.output(0).elementCount() == 0) return {};
  if (ctx.input(0).elementCount() == 0 || ctx.input(1).elementCount() == 0) {
    fillWithBias(ctx);
    return {};
  }

  runOnCallingThreadOnly();
  auto plan = std::static_pointer_cast<ConvPlan>(ctx.state());
  if (!plan || plan->xShape != x || plan->wShape != w || plan->hasBias != ctx.hasInput(2)) {
    plan = makeConvPlan(ctx, *window, group);
    ctx.state() = plan;
  }
  dnnl::engine& engine = cpuEngine();
  // oneDNN takes non-const handles; it only reads inputs.
  auto* wData = const_cast<float*>(ctx.input(1).data<float>());
  memory weights(plan->userWeightsDesc, engine, wData);
  if (plan->reorderWeights) {
    const ir::Value* wValue = ctx.node().input(1);
    const bool constant = wValue != nullptr && wValue->constant.has_value();
    if (!plan->weightsReady) {
      dnnl::stream& stream = threadStream();
      plan->weightsReorder.execute(stream, weights, plan->weights);
      stream.wait();
      plan->weightsReady = constant;
    }
    weights = plan->weights;
  }
  auto* xData = const_cast<float*>(ctx.input(0).data<float>());
  float* yData = ctx.output(0).data<float>();
  float* biasData = plan->hasBias ? const_cast<float*>(ctx.input(2).data<float>()) : nullptr;
  const int64_t xImage = ctx.input(0).elementCount() / x[0];
  const int64_t yImage = ctx.output(0).elementCount() / x[0];
  // Images are independent: each chunk of the batch runs a primitive for its size on its own thread.
  return parallelOneDnn(ctx, x[0], 1, [&](int64_t begin, int64_t end) {
    const ConvPlan::Primitive primitive = plan->forBatch(end - begin);
    dnnl::stream& stream = threadStream();
    std::unordered_map<int, memory> args = {
        {DNNL_ARG_SRC, memory(plan->srcDesc(end - begin), engine, xData + begin * xImage)},
        {DNNL_ARG_WEIGHTS, weights},
        {DNNL_ARG_DST, memory(plan->dstDesc(end - begin), engine, yData + begin * yImage)},
        {DNNL_ARG_SCRATCHPAD, threadScratchpad(primitive.scratchpad)}};
    if (biasData != nullptr) args.emplace(DNNL_ARG_BIAS, memory(plan->biasDesc, engine, biasData));
    primitive.conv.execute(stream, args);
    stream.wait();
  });
}

Status convKernel(KernelContext& ctx) {
  try {
    return runConv(ctx);
  } catch (const dnnl::error& e) {
    return oneDnnError(ctx, e);
  }
}

// 1- to 3-D convolutions whose ranks are known; every dimension may still be resolved at run time.
bool supportsConv(const ir::Node& node, const std::vector<ir::Shape>& shapes) {
  if (shapes.size() < 2 || !rankKnownNoZeroDim(shapes[0]) || !rankKnownNoZeroDim(shapes[1])) return false;
  const int64_t rank = shapes[0].rank();
  if (rank < 3 || rank > 5 || shapes[1].rank() != rank) return false;
  if (shapes.size() > 2 && node.input(2) != nullptr && !rankKnownNoZeroDim(shapes[2])) return false;
  return node.attributes.getInt("group", 1) >= 1;
}

}  // namespace

void registerConvKernels(KernelRegistry& registry) {
  registry.add({.opType = "Conv",
                .name = "f32-conv-onednn",
                .inputTypes = {TypeSet{DataType::kFloat32}},
                .outputTypes = {TypeSet{DataType::kFloat32}},
                .fn = convKernel,
                .supports = supportsConv,
                .reference = false});
}

}  // namespace lowp::kernels::onednn
