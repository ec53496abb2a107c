// ConvTranspose through cuDNN 9's backward-data convolution (a transposed convolution is the gradient of a
// convolution with respect to its input):
//   {f32,tf32,f16,bf16}-convtranspose-cudnn[-hwc][-a<N>]
// 2-D, NCHW or (-hwc) NHWC with the weights [C, M / group, kh, kw] reordered once to [C, kh, kw, M / group];
// any stride, dilation, group count, pads, output_padding and output_shape (kernel_util.h,
// convTransposeGeometry): pads that cuDNN's symmetric ones cannot express (SAME_UPPER with an odd total,
// longer after than before) run into a scratch buffer of the whole result, whose window is copied out. fp32
// runs cuDNN's FMA kernels only (no FFT or non-fused Winograd); tf32 lets cuDNN use TF32 tensor cores; fp16
// and bf16 use tensor cores with fp32 accumulation. Only deterministic algorithms run, so that an engine
// gives the same bits on every run. As for Conv (conv.cpp), the plain kernels take the
// heuristic's first algorithm that fits the workspace and the "-a<N>" kernels run
// cudnnConvolutionBwdDataAlgo_t N, declining while the builder times them where cuDNN does not offer it. The
// bias (of the tensors' type) is added by one pass of conv_epilogue.cu. Tests: tests/gpu/test_conv.cpp
// (CudaConvTranspose.*).
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "kernels/cuda/cuda_check.h"
#include "kernels/cuda/cuda_context.h"
#include "kernels/cuda/cuda_kernels.h"
#include "kernels/cuda/kernel_util.h"

namespace lowp::kernels::cuda {
namespace {

// Descriptors, algorithm and (for NHWC) reordered weights of one node.
class ConvTransposePlan {
 public:
  bool fits(const ConvGeometry& g, size_t workspaceBytes) const {
    return d.conv != nullptr && g == geometry_ && workspaceBytes == workspaceBytes_;
  }

  // `algo` < 0: the heuristic's first algorithm that fits; otherwise that algorithm or kUnsupported.
  Status create(const CudaContext& cuda, Precision precision, bool hwc, const ConvGeometry& g, int algo) {
    geometry_ = g;
    workspaceBytes_ = cuda.workspaceBytes;
    LOWP_RETURN_IF_ERROR(d.create(precision, hwc, g));
    constexpr int kRequested = CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT;
    cudnnConvolutionBwdDataAlgoPerf_t perf[kRequested];
    int returned = 0;
    LOWP_CUDA_RETURN_IF_ERROR(cudnnGetConvolutionBackwardDataAlgorithm_v7(cuda.cudnn, d.w, d.y, d.conv, d.x,
                                                                          kRequested, &returned, perf));
    for (const int wanted : {algo, cuda.exactTactics ? algo : -1}) {
      for (int k = 0; k < returned; ++k) {
        const cudnnConvolutionBwdDataAlgoPerf_t& p = perf[k];
        // Non-deterministic algorithms (atomic adds) would make outputs differ from run to run.
        if (p.status != CUDNN_STATUS_SUCCESS || p.memory > cuda.workspaceBytes ||
            p.determinism != CUDNN_DETERMINISTIC)
          continue;
        if (wanted >= 0 && static_cast<int>(p.algo) != wanted) continue;
        if (precision == Precision::kF32) {
          if (p.mathType == CUDNN_TENSOR_OP_MATH || p.mathType == CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION ||
              p.algo == CUDNN_CONVOLUTION_BWD_DATA_ALGO_FFT ||
              p.algo == CUDNN_CONVOLUTION_BWD_DATA_ALGO_FFT_TILING ||
              p.algo == CUDNN_CONVOLUTION_BWD_DATA_ALGO_WINOGRAD_NONFUSED)
            continue;
        } else {
          LOWP_CUDA_RETURN_IF_ERROR(cudnnSetConvolutionMathType(d.conv, p.mathType));
        }
        algo_ = p.algo;
        return {};
      }
    }
    return Status(StatusCode::kUnsupported,
                  algo < 0 ? "cuDNN has no algorithm for this transposed convolution within the workspace"
                           : "cuDNN offers algorithm " + std::to_string(algo) +
                                 " for no such transposed convolution within the workspace");
  }

  // Scratch memory for the whole result of a cropped geometry, kept with the plan (its geometry fixes the
  // size).
  Result<void*> uncropped(size_t bytes) {
    if (uncropped_.data == nullptr) LOWP_CUDA_RETURN_IF_ERROR(cudaMalloc(&uncropped_.data, bytes));
    return uncropped_.data;
  }

  // The weights as cuDNN reads them: for NHWC, [C, kh, kw, M / group].
  Result<const void*> weights(const CudaContext& cuda, const Tensor& w, bool hwc, bool constant) {
    if (!hwc) return w.data();
    return hwcWeights_.get(cuda, w, constant, w.shape()[0], w.shape()[1], w.shape()[2] * w.shape()[3]);
  }

  CudnnConvDescriptors d;  // of the forward convolution: x is the ConvTranspose's output, y its input
  cudnnConvolutionBwdDataAlgo_t algo_ = CUDNN_CONVOLUTION_BWD_DATA_ALGO_1;

 private:
  ConvGeometry geometry_;
  size_t workspaceBytes_ = 0;
  ChannelsLastCopy hwcWeights_;
  DeviceBuffer uncropped_;
};

// The strided copy of the window of y out of the whole result `g.x` (NCHW, or NHWC for hwc).
StridedCopyPlan cropPlan(const ConvTransposeGeometry& t, bool hwc) {
  const std::vector<int64_t>& full = t.conv.x;
  const std::vector<int64_t>& y = t.y;
  StridedCopyPlan plan;
  plan.rank = 3;
  const int64_t channels = y[1];
  if (hwc) {  // [N, H, W * C]
    plan.dims[0] = y[0];
    plan.dims[1] = y[2];
    plan.dims[2] = y[3] * channels;
    plan.inStrides[0] = full[2] * full[3] * channels;
    plan.inStrides[1] = full[3] * channels;
    plan.inStrides[2] = 1;
    plan.base = (t.crop[0] * full[3] + t.crop[1]) * channels;
  } else {  // [N * C, H, W]
    plan.dims[0] = y[0] * channels;
    plan.dims[1] = y[2];
    plan.dims[2] = y[3];
    plan.inStrides[0] = full[2] * full[3];
    plan.inStrides[1] = full[3];
    plan.inStrides[2] = 1;
    plan.base = t.crop[0] * full[3] + t.crop[1];
  }
  return plan;
}

template <Precision kPrecision, bool kHwc, int kAlgo>
Status convTransposeKernel(KernelContext& ctx) {
  LOWP_ASSIGN_OR_RETURN(CudaContext * cuda, requireCuda(ctx));
  const DataType type = tensorTypeOf(kPrecision);
  const Tensor& x = ctx.input(0);
  const Tensor& w = ctx.input(1);
  Tensor& y = ctx.output(0);
  for (const Tensor* t : {&x, &w, static_cast<const Tensor*>(&y)}) {
    if (t->type() != type) return ctx.invalid(t->describe() + " is not " + std::string(dataTypeName(type)));
  }
  auto geometry = convTransposeGeometry(ctx.attrs(), x.shape(), w.shape());
  if (!geometry) return forNode(ctx, geometry.status());
  if (geometry->y != y.shape())
    return ctx.invalid("output " + y.describe() + " is not the transposed convolution's " +
                       ir::formatSizes(geometry->y));
  const Tensor* bias = ctx.hasInput(2) ? &ctx.input(2) : nullptr;
  const int64_t channels = y.shape()[1];
  if (bias != nullptr && (bias->elementCount() != channels || bias->type() != type))
    return ctx.invalid("bias " + bias->describe() + " is not one value of " +
                       std::string(dataTypeName(type)) + " per output channel");
  if (y.elementCount() == 0) return {};

  auto plan = std::static_pointer_cast<ConvTransposePlan>(ctx.state());
  if (!plan || !plan->fits(geometry->conv, cuda->workspaceBytes)) {
    plan = std::make_shared<ConvTransposePlan>();
    LOWP_RETURN_IF_ERROR(forNode(ctx, plan->create(*cuda, kPrecision, kHwc, geometry->conv, kAlgo)));
    ctx.state() = plan;
  }
  auto weights = plan->weights(*cuda, w, kHwc, isConstantInput(ctx, 1));
  if (!weights) return forNode(ctx, weights.status());
  LOWP_CUDA_RETURN_IF_ERROR_NODE(ctx, cudnnSetStream(cuda->cudnn, cuda->stream));
  void* out = y.data();
  if (geometry->cropped) {
    int64_t elements = 1;
    for (int64_t v : geometry->conv.x) elements *= v;
    auto scratch = plan->uncropped(static_cast<size_t>(elements) * dataTypeSize(type));
    if (!scratch) return forNode(ctx, scratch.status());
    out = *scratch;
  }
  const float one = 1.0f;
  const float zero = 0.0f;
  LOWP_CUDA_RETURN_IF_ERROR_NODE(
      ctx, cudnnConvolutionBackwardData(cuda->cudnn, &one, plan->d.w, *weights, plan->d.y, x.data(),
                                        plan->d.conv, plan->algo_, cuda->workspace, cuda->workspaceBytes,
                                        &zero, plan->d.x, out));
  if (geometry->cropped) {
    LOWP_CUDA_RETURN_IF_ERROR_NODE(ctx, launchStridedCopy(static_cast<int>(dataTypeSize(type)), out, y.data(),
                                                          cropPlan(*geometry, kHwc), cuda->stream));
  }
  if (bias == nullptr) return {};
  Epilogue e;
  e.bias = bias->data();
  e.biasType = *elemOf(bias->type());
  LOWP_CUDA_RETURN_IF_ERROR_NODE(ctx, launchConvEpilogue(*elemOf(type), y.data(), y.shape()[0], channels,
                                                         y.shape()[2] * y.shape()[3], kHwc, e, cuda->stream));
  return {};
}

bool supportsConvTranspose(const ir::Node& node, const std::vector<ir::Shape>& shapes) {
  const auto x = staticSizes(shapes, 0);
  const auto w = staticSizes(shapes, 1);
  return x && w && convTransposeGeometry(node.attributes, *x, *w).isOk();
}

template <Precision kPrecision, bool kHwc, int kAlgo>
void registerVariant(KernelRegistry& registry, std::string_view dtype) {
  const DataType type = tensorTypeOf(kPrecision);
  const TypeSet t = {type};
  const std::string name = std::string(dtype) + "-convtranspose-cudnn" + (kHwc ? "-hwc" : "") +
                           (kAlgo >= 0 ? "-a" + std::to_string(kAlgo) : "");
  registry.add(
      {.opType = "ConvTranspose",
       .backend = Backend::kCuda,
       .name = keepName(name),
       .inputTypes = {t, t, t},
       .outputTypes = {t},
       .fn = &convTransposeKernel<kPrecision, kHwc, kAlgo>,
       .inputFormats =
           kHwc ? std::vector<TensorFormat>{TensorFormat::kHwc, TensorFormat::kLinear, TensorFormat::kLinear}
                : std::vector<TensorFormat>{},
       .outputFormats = kHwc ? std::vector<TensorFormat>{TensorFormat::kHwc} : std::vector<TensorFormat>{},
       .supports = &supportsConvTranspose,
       .reference = false});
}

// The heuristic's kernel and one per cuDNN algorithm, NCHW and NHWC.
template <Precision kPrecision, int... kAlgos>
void registerPrecision(KernelRegistry& registry, std::string_view dtype,
                       std::integer_sequence<int, kAlgos...> /*algorithms*/) {
  registerVariant<kPrecision, false, -1>(registry, dtype);
  (registerVariant<kPrecision, false, kAlgos>(registry, dtype), ...);
  registerVariant<kPrecision, true, -1>(registry, dtype);
  (registerVariant<kPrecision, true, kAlgos>(registry, dtype), ...);
}

}  // namespace

void registerConvTransposeKernels(KernelRegistry& registry) {
  using Algorithms = std::make_integer_sequence<int, CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT>;
  registerPrecision<Precision::kF32>(registry, "f32", Algorithms{});
  registerPrecision<Precision::kTf32>(registry, "tf32", Algorithms{});
  registerPrecision<Precision::kF16>(registry, "f16", Algorithms{});
  registerPrecision<Precision::kBf16>(registry, "bf16", Algorithms{});
}

}  // namespace lowp::kernels::cuda
