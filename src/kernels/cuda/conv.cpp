// Conv and lowp.FusedConv (ir/ops/fused.h) through cuDNN 9's convolution API:
//   {f32,tf32,f16,bf16}-{conv,fusedconv}-cudnn[-hwc][-a<N>]
//   {f16,bf16}-{conv,fusedconv}-cudnn-padc8-hwc[-a<N>]: fewer than 8 input channels (a network's first
//     convolution over RGB), read in NCHW and padded with zero channels to NHWC x 8 so that tensor cores
//     run it, the weights padded alike once; the output in NHWC
//   {f16,bf16}-{conv,fusedconv}-cudnn-s2d[32]-hwc[-a<N>]: stride 2 over at most 4 input channels (the 7 x 7
//     stem of ResNets), read in NCHW and rearranged 2 x 2 space-to-depth into NHWC x 16 (or x 32, zero
//     beyond 4C: cuDNN's kernels for 32 channels can win despite twice the work), where it is a stride-1
//     convolution of ceil(k / 2) taps that tensor cores run well; the weights rearranged alike once
// and depthwise convolutions over NHWC with lowp's own kernel (depthwise.cu):
//   {f32,f16,bf16}-{conv,fusedconv}-depthwise-hwc-cuda
// 2-D convolutions (NCHW, or NHWC for "-hwc" with the weights reordered once to KRSC) with symmetric
// padding, any stride, dilation and group count. fp32 runs cuDNN's FMA kernels only (CUDNN_FMA_MATH, no FFT
// or non-fused Winograd, whose rounding is looser); tf32 lets cuDNN use TF32 tensor cores; fp16 and bf16
// use tensor cores with fp32 accumulation. The plain kernels take the first algorithm of cuDNN's heuristic
// list that fits the workspace; the "-a<N>" kernels run cuDNN algorithm N (cudnnConvolutionFwdAlgo_t) and,
// while the builder times them, decline where cuDNN offers it for no such convolution: separate tactics, so
// that the builder times each and the engine file records the one it chose. In an engine run at other
// shapes, an algorithm no longer offered gives way to the heuristic's first.
// Bias, residual and activation: where cuDNN fuses them (cudnnConvolutionBiasActivationForward: Relu or no
// activation, a bias of the tensors' type) one call does all; otherwise the convolution is followed by one
// pass of conv_epilogue.cu (bias of fp32 or the tensors' type, residual, any FusedConv activation). Which of
// the two works is found on the first run and kept in the node's state with the descriptors.
// Tests: tests/gpu/test_conv.cpp.
#include <algorithm>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "ir/ops/fused.h"
#include "ir/ops/window.h"
#include "kernels/cuda/cuda_check.h"
#include "kernels/cuda/cuda_context.h"
#include "kernels/cuda/cuda_kernels.h"
#include "kernels/cuda/kernel_util.h"

namespace lowp::kernels::cuda {
namespace {

enum class Fusion { kUntried, kCudnn, kEpilogue };

// Where a convolution kernel reads and writes: NCHW, NHWC, NCHW of fewer than 8 channels padded to NHWC x 8,
// or NCHW of a stride-2 convolution rearranged 2 x 2 space-to-depth to NHWC x 16 (the output NHWC).
enum class Layout { kNchw, kNhwc, kPaddedNhwc, kSpaceToDepth, kSpaceToDepth32 };

constexpr int64_t kPaddedChannels = 8;

constexpr bool isSpaceToDepth(Layout l) {
  return l == Layout::kSpaceToDepth || l == Layout::kSpaceToDepth32;
}

// The channels of the space-to-depth input: 4 per input channel, padded with zeros to 16 or 32.
constexpr int64_t spaceToDepthChannels(Layout l) {
  return l == Layout::kSpaceToDepth32 ? 32 : 16;
}

// At most this many input channels fit any space-to-depth layout (4 each in 16).
constexpr int64_t kSpaceToDepthInputChannels = 4;

// Descriptors, algorithm and (for NHWC) reordered weights of one node.
class ConvPlan {
 public:
  ConvPlan() = default;
  ConvPlan(const ConvPlan&) = delete;
  ConvPlan& operator=(const ConvPlan&) = delete;
  ~ConvPlan() {
    if (bias_ != nullptr) cudnnDestroyTensorDescriptor(bias_);
    if (act_ != nullptr) cudnnDestroyActivationDescriptor(act_);
  }

  bool fits(const ConvGeometry& g, DataType biasType, size_t workspaceBytes) const {
    return d.conv != nullptr && g == geometry_ && biasType == biasType_ && workspaceBytes == workspaceBytes_;
  }

  // `algo` < 0: the heuristic's first algorithm that fits; otherwise that algorithm or kUnsupported.
  Status create(const CudaContext& cuda, Precision precision, bool hwc, const ConvGeometry& g,
                DataType biasType, bool relu, int algo) {
    geometry_ = g;
    biasType_ = biasType;
    workspaceBytes_ = cuda.workspaceBytes;
    LOWP_RETURN_IF_ERROR(d.create(precision, hwc, g));
    if (biasType != DataType::kUndefined) {
      LOWP_CUDA_RETURN_IF_ERROR(cudnnCreateTensorDescriptor(&bias_));
      LOWP_CUDA_RETURN_IF_ERROR(cudnnSetTensor4dDescriptor(bias_, CUDNN_TENSOR_NCHW, cudnnTypeOf(biasType), 1,
                                                           static_cast<int>(g.y[1]), 1, 1));
    }
    LOWP_CUDA_RETURN_IF_ERROR(cudnnCreateActivationDescriptor(&act_));
    LOWP_CUDA_RETURN_IF_ERROR(cudnnSetActivationDescriptor(
        act_, relu ? CUDNN_ACTIVATION_RELU : CUDNN_ACTIVATION_IDENTITY, CUDNN_PROPAGATE_NAN, 0.0));

    constexpr int kRequested = CUDNN_CONVOLUTION_FWD_ALGO_COUNT;
    cudnnConvolutionFwdAlgoPerf_t perf[kRequested];
    int returned = 0;
    LOWP_CUDA_RETURN_IF_ERROR(cudnnGetConvolutionForwardAlgorithm_v7(cuda.cudnn, d.x, d.w, d.conv, d.y,
                                                                     kRequested, &returned, perf));
    // In an engine, an algorithm cuDNN no longer offers at these shapes gives way to its first choice
    // (CudaContext::exactTactics).
    for (const int wanted : {algo, cuda.exactTactics ? algo : -1}) {
      for (int k = 0; k < returned; ++k) {
        const cudnnConvolutionFwdAlgoPerf_t& p = perf[k];
        if (p.status != CUDNN_STATUS_SUCCESS || p.memory > cuda.workspaceBytes) continue;
        if (wanted >= 0 && static_cast<int>(p.algo) != wanted) continue;
        if (precision == Precision::kF32) {
          // fp32 keeps the descriptor's FMA math: no tensor-core (TF32) result, no FFT or non-fused Winograd.
          if (p.mathType == CUDNN_TENSOR_OP_MATH || p.mathType == CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION ||
              p.algo == CUDNN_CONVOLUTION_FWD_ALGO_FFT || p.algo == CUDNN_CONVOLUTION_FWD_ALGO_FFT_TILING ||
              p.algo == CUDNN_CONVOLUTION_FWD_ALGO_WINOGRAD_NONFUSED)
            continue;
        } else {
          LOWP_CUDA_RETURN_IF_ERROR(
              cudnnSetConvolutionMathType(d.conv, p.mathType));  // as the heuristic asks
        }
        algo_ = p.algo;
        return {};
      }
    }
    return Status(StatusCode::kUnsupported,
                  algo < 0 ? "cuDNN has no algorithm for this convolution within the workspace"
                           : "cuDNN offers algorithm " + std::to_string(algo) +
                                 " for no such convolution within the workspace");
  }

  // The weights [M, C, kh, kw] as the padded or space-to-depth input needs them, made once on the host (the
  // weights are a constant: supportsPadded, supportsSpaceToDepth): [M, kh, kw, 8] zero beyond C, or
  // [M, ceil(kh / 2), ceil(kw / 2), 16] with w'[o][A][B][(c * 2 + da) * 2 + db] = w[o][c][2A + da][2B + db],
  // zero beyond the kernel and beyond 4C.
  Result<const void*> rearrangedWeights(const CudaContext& cuda, const Tensor& w, Layout layout) {
    if (rearranged_.data != nullptr && rearrangedFrom_ == w.data()) return rearranged_.data;
    const int64_t m = w.shape()[0], c = w.shape()[1], kh = w.shape()[2], kw = w.shape()[3];
    std::vector<uint16_t> host(static_cast<size_t>(w.elementCount()));
    LOWP_CUDA_RETURN_IF_ERROR(cudaMemcpyAsync(host.data(), w.data(), static_cast<size_t>(w.byteSize()),
                                              cudaMemcpyDeviceToHost, cuda.stream));
    LOWP_CUDA_RETURN_IF_ERROR(cudaStreamSynchronize(cuda.stream));
    const bool s2d = isSpaceToDepth(layout);
    const int64_t channels = s2d ? spaceToDepthChannels(layout) : kPaddedChannels;
    const int64_t th = s2d ? (kh + 1) / 2 : kh, tw = s2d ? (kw + 1) / 2 : kw;
    std::vector<uint16_t> out(static_cast<size_t>(m * th * tw * channels), 0);
    for (int64_t o = 0; o < m; ++o)
      for (int64_t i = 0; i < c; ++i)
        for (int64_t a = 0; a < kh; ++a)
          for (int64_t b = 0; b < kw; ++b) {
            const int64_t tap = s2d ? (a / 2) * tw + b / 2 : a * kw + b;
            const int64_t channel = s2d ? (i * 2 + a % 2) * 2 + b % 2 : i;
            out[static_cast<size_t>((o * th * tw + tap) * channels + channel)] =
                host[static_cast<size_t>(((o * c + i) * kh + a) * kw + b)];
          }
    LOWP_RETURN_IF_ERROR(upload(rearranged_, out.data(), out.size() * sizeof(uint16_t), cuda.stream));
    rearrangedFrom_ = w.data();
    return rearranged_.data;
  }

  // Scratch memory for the padded or space-to-depth input, kept with the plan (its geometry fixes the size).
  Result<void*> rearrangedInput(size_t bytes) {
    if (input_.data == nullptr) LOWP_CUDA_RETURN_IF_ERROR(cudaMalloc(&input_.data, bytes));
    return input_.data;
  }

  // The weights as cuDNN reads them: for NHWC, reordered to [M, kh, kw, C / group] (ChannelsLastCopy).
  Result<const void*> weights(const CudaContext& cuda, const Tensor& w, bool hwc, bool constant) {
    if (!hwc) return w.data();
    return hwcWeights_.get(cuda, w, constant, w.shape()[0], w.shape()[1],
                           w.elementCount() / std::max<int64_t>(1, w.shape()[0] * w.shape()[1]));
  }

  CudnnConvDescriptors d;
  cudnnTensorDescriptor_t bias_ = nullptr;
  cudnnActivationDescriptor_t act_ = nullptr;
  cudnnConvolutionFwdAlgo_t algo_ = CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM;
  Fusion fusion = Fusion::kUntried;

 private:
  ConvGeometry geometry_;
  DataType biasType_ = DataType::kUndefined;
  size_t workspaceBytes_ = 0;
  DeviceBuffer rearranged_;  // rearrangedWeights
  const void* rearrangedFrom_ = nullptr;
  ChannelsLastCopy hwcWeights_;
  DeviceBuffer input_;  // rearrangedInput
};

bool cudnnDeclined(cudnnStatus_t s) {
  return s == CUDNN_STATUS_BAD_PARAM || (s >= CUDNN_STATUS_NOT_SUPPORTED && s < CUDNN_STATUS_INTERNAL_ERROR);
}

template <Precision kPrecision, Layout kLayout, bool kFused, int kAlgo>
Status convKernel(KernelContext& ctx) {
  constexpr bool kHwc = kLayout != Layout::kNchw;
  LOWP_ASSIGN_OR_RETURN(CudaContext * cuda, requireCuda(ctx));
  const DataType type = tensorTypeOf(kPrecision);
  LOWP_ASSIGN_OR_RETURN(const ConvOperands operands, convOperands(ctx, type, kFused));
  const Tensor& x = *operands.x;
  const Tensor& w = *operands.w;
  Tensor& y = *operands.y;
  const Tensor* bias = operands.bias;
  const Tensor* residual = operands.residual;
  const ir::ops::ActivationSpec& activation = operands.activation;
  auto geometry = convGeometry(ctx.attrs(), x.shape(), w.shape());
  if (!geometry) return forNode(ctx, geometry.status());
  if (geometry->output != y.shape())
    return ctx.invalid("output " + y.describe() + " is not the convolution's " +
                       ir::formatSizes(geometry->output));
  if (y.elementCount() == 0) return {};

  const DataType biasType = bias != nullptr ? bias->type() : DataType::kUndefined;
  const bool relu = activation.kind == ir::ops::FusedActivation::kRelu;
  // cuDNN's view: with padded channels, an NHWC convolution of 8 input channels; after space-to-depth, a
  // stride-1 convolution of ceil(k / 2) taps over 16 channels, without padding (the rearrangement pads).
  ConvGeometry run = *geometry;
  if constexpr (kLayout == Layout::kPaddedNhwc) {
    if (run.group != 1 || run.x[1] > kPaddedChannels) return ctx.unsupported("more than 8 input channels");
    run.x[1] = run.w[1] = kPaddedChannels;
  } else if constexpr (isSpaceToDepth(kLayout)) {
    if (run.group != 1 || run.x[1] > kSpaceToDepthInputChannels || run.stride[0] != 2 || run.stride[1] != 2 ||
        run.dilation[0] != 1 || run.dilation[1] != 1 || run.pad[0] != run.pad[1])
      return ctx.unsupported("not a stride-2 convolution of at most 4 channels with equal pads");
    const int64_t th = (run.w[2] + 1) / 2, tw = (run.w[3] + 1) / 2;
    run.x = {run.x[0], spaceToDepthChannels(kLayout), run.y[2] + th - 1, run.y[3] + tw - 1};
    run.w = {run.w[0], spaceToDepthChannels(kLayout), th, tw};
    run.pad[0] = run.pad[1] = 0;
    run.stride[0] = run.stride[1] = 1;
  }
  auto plan = std::static_pointer_cast<ConvPlan>(ctx.state());
  if (!plan || !plan->fits(run, biasType, cuda->workspaceBytes)) {
    plan = std::make_shared<ConvPlan>();
    LOWP_RETURN_IF_ERROR(forNode(ctx, plan->create(*cuda, kPrecision, kHwc, run, biasType, relu, kAlgo)));
    ctx.state() = plan;
  }
  const void* input = x.data();
  Result<const void*> weights = nullptr;
  if constexpr (kLayout == Layout::kPaddedNhwc) {
    const int64_t pixels = run.x[0] * run.x[2] * run.x[3];
    auto padded = plan->rearrangedInput(static_cast<size_t>(pixels * kPaddedChannels) * dataTypeSize(type));
    if (!padded) return forNode(ctx, padded.status());
    LOWP_CUDA_RETURN_IF_ERROR_NODE(ctx, launchPadToHwc8(x.data(), *padded, x.shape()[0], x.shape()[1],
                                                        x.shape()[2] * x.shape()[3], cuda->stream));
    input = *padded;
    weights = plan->rearrangedWeights(*cuda, w, kLayout);
  } else if constexpr (isSpaceToDepth(kLayout)) {
    const int64_t pixels = run.x[0] * run.x[2] * run.x[3];
    auto rearranged = plan->rearrangedInput(static_cast<size_t>(pixels * spaceToDepthChannels(kLayout)) *
                                            dataTypeSize(type));
    if (!rearranged) return forNode(ctx, rearranged.status());
    LOWP_CUDA_RETURN_IF_ERROR_NODE(
        ctx, launchSpaceToDepth(x.data(), *rearranged, x.shape()[0], x.shape()[1], x.shape()[2], x.shape()[3],
                                run.x[2], run.x[3], geometry->pad[0],
                                static_cast<int>(spaceToDepthChannels(kLayout)), cuda->stream));
    input = *rearranged;
    weights = plan->rearrangedWeights(*cuda, w, kLayout);
  } else {
    weights = plan->weights(*cuda, w, kHwc, isConstantInput(ctx, 1));
  }
  if (!weights) return forNode(ctx, weights.status());
  LOWP_CUDA_RETURN_IF_ERROR_NODE(ctx, cudnnSetStream(cuda->cudnn, cuda->stream));
  const float one = 1.0f;
  const float zero = 0.0f;

  const bool cudnnCanFuse =
      bias != nullptr && bias->type() == type && (activation.kind == ir::ops::FusedActivation::kNone || relu);
  if (cudnnCanFuse && plan->fusion != Fusion::kEpilogue) {
    const float alpha2 = residual != nullptr ? 1.0f : 0.0f;
    const cudnnStatus_t s = cudnnConvolutionBiasActivationForward(
        cuda->cudnn, &one, plan->d.x, input, plan->d.w, *weights, plan->d.conv, plan->algo_, cuda->workspace,
        cuda->workspaceBytes, &alpha2, plan->d.y, residual != nullptr ? residual->data() : y.data(),
        plan->bias_, bias->data(), plan->act_, plan->d.y, y.data());
    if (s == CUDNN_STATUS_SUCCESS) {
      plan->fusion = Fusion::kCudnn;
      return {};
    }
    if (plan->fusion == Fusion::kCudnn || !cudnnDeclined(s))
      return forNode(ctx, checkCall(s, "cudnnConvolutionBiasActivationForward"));
    plan->fusion = Fusion::kEpilogue;
  }
  LOWP_CUDA_RETURN_IF_ERROR_NODE(
      ctx, cudnnConvolutionForward(cuda->cudnn, &one, plan->d.x, input, plan->d.w, *weights, plan->d.conv,
                                   plan->algo_, cuda->workspace, cuda->workspaceBytes, &zero, plan->d.y,
                                   y.data()));
  if (bias == nullptr && residual == nullptr && activation.kind == ir::ops::FusedActivation::kNone) return {};
  const Epilogue e = epilogueOf(operands, type);
  LOWP_CUDA_RETURN_IF_ERROR_NODE(ctx,
                                 launchConvEpilogue(*elemOf(type), y.data(), geometry->y[0], geometry->y[1],
                                                    geometry->y[2] * geometry->y[3], kHwc, e, cuda->stream));
  return {};
}

template <Precision kPrecision, bool kFused>
Status depthwiseKernel(KernelContext& ctx) {
  LOWP_ASSIGN_OR_RETURN(CudaContext * cuda, requireCuda(ctx));
  const DataType type = tensorTypeOf(kPrecision);
  LOWP_ASSIGN_OR_RETURN(const ConvOperands operands, convOperands(ctx, type, kFused));
  const Tensor& x = *operands.x;
  const Tensor& w = *operands.w;
  Tensor& y = *operands.y;
  auto geometry = convGeometry(ctx.attrs(), x.shape(), w.shape());
  if (!geometry) return forNode(ctx, geometry.status());
  const ConvGeometry& g = *geometry;
  if (g.group != g.x[1] || g.w[0] != g.x[1] || g.w[1] != 1)
    return ctx.unsupported("not a depthwise convolution (group = input channels = output channels)");
  if (g.output != y.shape())
    return ctx.invalid("output " + y.describe() + " is not the convolution's " + ir::formatSizes(g.output));
  if (y.elementCount() == 0) return {};

  // Weights [c, 1, kh, kw] to [kh, kw, c], once for a constant (again when they move or are computed).
  auto reordered = std::static_pointer_cast<ChannelsLastCopy>(ctx.state());
  if (!reordered) {
    reordered = std::make_shared<ChannelsLastCopy>();
    ctx.state() = reordered;
  }
  auto weights = reordered->get(*cuda, w, isConstantInput(ctx, 1), 1, g.w[0], g.w[2] * g.w[3]);
  if (!weights) return forNode(ctx, weights.status());
  LOWP_CUDA_RETURN_IF_ERROR_NODE(
      ctx, launchDepthwiseConvHwc(*elemOf(type), x.data(), *weights, y.data(), hwcGeometryOf(g),
                                  epilogueOf(operands, type), cuda->stream));
  return {};
}

bool supportsConv(const ir::Node& node, const std::vector<ir::Shape>& shapes) {
  const auto x = staticSizes(shapes, 0);
  const auto w = staticSizes(shapes, 1);
  if (!x || !w || !convGeometry(node.attributes, *x, *w).isOk()) return false;
  return node.opType != "FusedConv" || ir::ops::readActivation(node.attributes).isOk();
}

// Fewer than 8 input channels of a 2-D convolution, one group, and the weights a constant (padded once, on
// the host).
bool supportsPadded(const ir::Node& node, const std::vector<ir::Shape>& shapes) {
  if (!supportsConv(node, shapes) || staticSizes(shapes, 0)->size() != 4 ||
      node.attributes.getInt("group", 1) != 1)
    return false;
  const ir::Value* w = node.input(1);
  return (*staticSizes(shapes, 0))[1] < kPaddedChannels && w != nullptr && w->constant.has_value();
}

// A 2-D convolution of stride 2 over at most 4 input channels with equal pads, one group, and the weights a
// constant (rearranged once, on the host).
bool supportsSpaceToDepth(const ir::Node& node, const std::vector<ir::Shape>& shapes) {
  if (!supportsConv(node, shapes) || staticSizes(shapes, 0)->size() != 4) return false;
  const auto g = convGeometry(node.attributes, *staticSizes(shapes, 0), *staticSizes(shapes, 1));
  const ir::Value* w = node.input(1);
  return g->group == 1 && g->x[1] <= kSpaceToDepthInputChannels && g->stride[0] == 2 && g->stride[1] == 2 &&
         g->dilation[0] == 1 && g->dilation[1] == 1 && g->pad[0] == g->pad[1] && w != nullptr &&
         w->constant.has_value();
}

// Conv and FusedConv of one precision, layout and algorithm (kAlgo < 0: the heuristic's choice).
template <Precision kPrecision, Layout kLayout, int kAlgo>
void registerVariant(KernelRegistry& registry, std::string_view dtype) {
  const DataType type = tensorTypeOf(kPrecision);
  const TypeSet t = {type};
  const TypeSet bias = {type, DataType::kFloat32};
  const char* layout = kLayout == Layout::kNchw           ? ""
                       : kLayout == Layout::kNhwc         ? "-hwc"
                       : kLayout == Layout::kPaddedNhwc   ? "-padc8-hwc"
                       : kLayout == Layout::kSpaceToDepth ? "-s2d-hwc"
                                                          : "-s2d32-hwc";
  const std::string suffix =
      std::string("-cudnn") + layout + (kAlgo >= 0 ? "-a" + std::to_string(kAlgo) : "");
  const TensorFormat in = kLayout == Layout::kNhwc ? TensorFormat::kHwc : TensorFormat::kLinear;
  const std::vector<TensorFormat> inFormats =
      kLayout == Layout::kNchw
          ? std::vector<TensorFormat>{}
          : std::vector<TensorFormat>{in, TensorFormat::kLinear, TensorFormat::kLinear, TensorFormat::kHwc};
  const std::vector<TensorFormat> outFormats =
      kLayout == Layout::kNchw ? std::vector<TensorFormat>{} : std::vector<TensorFormat>{TensorFormat::kHwc};
  const SupportsFn supports = kLayout == Layout::kPaddedNhwc ? &supportsPadded
                              : isSpaceToDepth(kLayout)      ? &supportsSpaceToDepth
                                                             : &supportsConv;
  registry.add({.opType = "Conv",
                .backend = Backend::kCuda,
                .name = keepName(std::string(dtype) + "-conv" + suffix),
                .inputTypes = {t, t, t},
                .outputTypes = {t},
                .fn = &convKernel<kPrecision, kLayout, false, kAlgo>,
                .inputFormats = inFormats,
                .outputFormats = outFormats,
                .supports = supports,
                .reference = false});
  registry.add({.opType = "FusedConv",
                .backend = Backend::kCuda,
                .name = keepName(std::string(dtype) + "-fusedconv" + suffix),
                .inputTypes = {t, t, bias, t},
                .outputTypes = {t},
                .fn = &convKernel<kPrecision, kLayout, true, kAlgo>,
                .inputFormats = inFormats,
                .outputFormats = outFormats,
                .domain = ir::ops::kLowpDomain,
                .supports = supports,
                .reference = false});
}

// The heuristic's kernel and one per cuDNN algorithm.
template <Precision kPrecision, Layout kLayout, int... kAlgos>
void registerAlgorithms(KernelRegistry& registry, std::string_view dtype,
                        std::integer_sequence<int, kAlgos...> /*algorithms*/) {
  registerVariant<kPrecision, kLayout, -1>(registry, dtype);
  (registerVariant<kPrecision, kLayout, kAlgos>(registry, dtype), ...);
}

bool supportsDepthwise(const ir::Node& node, const std::vector<ir::Shape>& shapes) {
  if (!supportsConv(node, shapes)) return false;
  const auto x = staticSizes(shapes, 0);
  const auto w = staticSizes(shapes, 1);
  return node.attributes.getInt("group", 1) == (*x)[1] && (*w)[0] == (*x)[1] && (*w)[1] == 1;
}

template <Precision kPrecision>
void registerDepthwise(KernelRegistry& registry, std::string_view dtype) {
  const DataType type = tensorTypeOf(kPrecision);
  const TypeSet t = {type};
  const TypeSet bias = {type, DataType::kFloat32};
  const std::vector<TensorFormat> inFormats = {TensorFormat::kHwc, TensorFormat::kLinear,
                                               TensorFormat::kLinear, TensorFormat::kHwc};
  registry.add({.opType = "Conv",
                .backend = Backend::kCuda,
                .name = keepName(std::string(dtype) + "-conv-depthwise-hwc-cuda"),
                .inputTypes = {t, t, bias},
                .outputTypes = {t},
                .fn = &depthwiseKernel<kPrecision, false>,
                .inputFormats = inFormats,
                .outputFormats = {TensorFormat::kHwc},
                .supports = &supportsDepthwise,
                .reference = false});
  registry.add({.opType = "FusedConv",
                .backend = Backend::kCuda,
                .name = keepName(std::string(dtype) + "-fusedconv-depthwise-hwc-cuda"),
                .inputTypes = {t, t, bias, t},
                .outputTypes = {t},
                .fn = &depthwiseKernel<kPrecision, true>,
                .inputFormats = inFormats,
                .outputFormats = {TensorFormat::kHwc},
                .domain = ir::ops::kLowpDomain,
                .supports = &supportsDepthwise,
                .reference = false});
}

template <Precision kPrecision>
void registerPrecision(KernelRegistry& registry, std::string_view dtype) {
  using Algorithms = std::make_integer_sequence<int, CUDNN_CONVOLUTION_FWD_ALGO_COUNT>;
  registerAlgorithms<kPrecision, Layout::kNchw>(registry, dtype, Algorithms{});
  registerAlgorithms<kPrecision, Layout::kNhwc>(registry, dtype, Algorithms{});
  if constexpr (kPrecision == Precision::kF16 || kPrecision == Precision::kBf16) {
    registerAlgorithms<kPrecision, Layout::kPaddedNhwc>(registry, dtype, Algorithms{});
    registerAlgorithms<kPrecision, Layout::kSpaceToDepth>(registry, dtype, Algorithms{});
    registerAlgorithms<kPrecision, Layout::kSpaceToDepth32>(registry, dtype, Algorithms{});
  }
}

}  // namespace

void registerConvKernels(KernelRegistry& registry) {
  registerPrecision<Precision::kF32>(registry, "f32");
  registerPrecision<Precision::kTf32>(registry, "tf32");
  registerPrecision<Precision::kF16>(registry, "f16");
  registerPrecision<Precision::kBf16>(registry, "bf16");
  registerDepthwise<Precision::kF32>(registry, "f32");
  registerDepthwise<Precision::kF16>(registry, "f16");
  registerDepthwise<Precision::kBf16>(registry, "bf16");
}

}  // namespace lowp::kernels::cuda
