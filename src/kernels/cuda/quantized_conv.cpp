// lowp.QuantizedConv (ir/ops/quantized.h) on int8 tensor cores, through cuDNN 9's graph API and through
// lowp's own implicit GEMM (quantized_conv.cu):
//   i8-quantizedconv-cudnn-hwc-e<N>   N = 0, 1, 2: the N-th engine configuration cuDNN's heuristic offers
//   i8-quantizedconv-igemm-hwc-<T>    T = 128x128, 256x64, 128x64: the pixels x output channels of one tile
//                                     of the own kernel (input and output channels multiples of 16)
// x int8 NHWC (no zero point), w int8 [M, C, kh, kw] reordered once to [M, kh, kw, C], one group; y of
// fp32, fp16 or int8 (no zero point) in NHWC; the residual of y's float type or int8, in NHWC.
//
// Both compute, in one kernel:
//   conv(x, w) in int32  ->  * s[m]  ->  + b[m]  ->  + z * alpha_z  ->  activation  ->  y
// with s[m] = x_scale * w_scales[m] / y_scale and b[m] = B[m] * x_scale * w_scales[m] / y_scale (y_scale 1
// for a float output), alpha_z = z_scale / y_scale (z_scale 1 for a float residual; a vector of that one
// value, as cuDNN's engines take no scaling attribute on a pointwise operand). Dividing by y_scale
// before the activation is exact in real numbers for the activations taken here (Relu, LeakyRelu, and
// Clip with its bounds divided too), so the graph never needs a step after it. Values are fp32 from the
// accumulator on, rounded once to y's type; the reference (double) may differ by one int8 step or one
// fp16 rounding where the fp32 rescale rounds differently.
//
// cuDNN gets one operation graph per node, which it compiles into one kernel. Its "-e<N>" tactics are
// separate so that the builder times each and the engine file keeps the chosen
// one. While the builder times them (CudaContext::exactTactics) a tactic whose configuration cuDNN does not
// offer, or cannot finalize, declines; in an engine run at other shapes it falls back to the first that
// works. Tests: tests/gpu/test_quantized_conv.cpp.
#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "ir/ops/fused.h"
#include "ir/ops/quantized.h"
#include "kernels/cuda/cuda_check.h"
#include "kernels/cuda/cuda_context.h"
#include "kernels/cuda/cuda_kernels.h"
#include "kernels/cuda/cudnn_graph.h"
#include "kernels/cuda/kernel_util.h"

namespace lowp::kernels::cuda {
namespace {

constexpr int kEngineTactics = 3;

using cudnn_graph::Descriptor;
using cudnn_graph::finalize;
using cudnn_graph::makeDescriptor;
using cudnn_graph::setAttribute;
using cudnn_graph::setDescriptor;

// Tensor ids in the operation graph: the ones a run binds to memory, then the virtual ones between ops.
enum TensorId : int64_t { kX = 1, kW, kScale, kBias, kResidual, kResidualScale, kY, kFirstVirtual };

// A tensor of logical dims [n, c, h, w], stored NHWC.
Result<Descriptor> makeTensor(int64_t id, DataType type, const std::vector<int64_t>& nchw, bool isVirtual) {
  const int64_t c = nchw[1], h = nchw[2], w = nchw[3];
  return cudnn_graph::makeTensor(
      id, cudnnTypeOf(type), nchw, {c * h * w, 1, w * c, c},
      isVirtual ? cudnn_graph::TensorKind::kVirtual : cudnn_graph::TensorKind::kMemory);
}

// What the graph computes after the convolution, with y_scale folded in (see the file comment).
struct Rescale {
  std::vector<float> vectors;  ///< s[m], then b[m] (quantizedRescale)
  float residualAlpha = 1.0f;
  ir::ops::ActivationSpec activation;
};

// Where cuDNN writes: whether the graph fits a node's operands now.
struct PlanKey {
  ConvGeometry geometry;
  DataType residualType = DataType::kUndefined;
  DataType outputType = DataType::kUndefined;
  bool bias = false;
  size_t workspaceBytes = 0;
  bool operator==(const PlanKey& o) const = default;
};

// What every tactic keeps for a node: the reordered weights and the rescale vectors, for one PlanKey.
class QuantizedConvState {
 public:
  bool fits(const PlanKey& key) const { return key == key_; }

  // Uploads the vectors s[m], b[m] and alpha_z once.
  Status prepare(const CudaContext& cuda, const PlanKey& key, const Rescale& r) {
    key_ = key;
    channels_ = static_cast<size_t>(key.geometry.w[0]);
    std::vector<float> host = r.vectors;
    host.resize(3 * channels_, r.residualAlpha);
    LOWP_RETURN_IF_ERROR(upload(vectors_, host.data(), host.size() * sizeof(float), cuda.stream));
    residualAlpha_ = r.residualAlpha;
    activation_ = r.activation;
    return {};
  }

  // Weights [M, C, kh, kw] as [M, kh, kw, C] (ChannelsLastCopy).
  Result<const void*> weights(const CudaContext& cuda, const Tensor& w, bool constant) {
    return weights_.get(cuda, w, constant, w.shape()[0], w.shape()[1],
                        w.elementCount() / std::max<int64_t>(1, w.shape()[0] * w.shape()[1]));
  }

  const float* scales() const { return static_cast<const float*>(vectors_.data); }
  const float* biases() const { return key_.bias ? scales() + channels_ : nullptr; }
  float residualAlpha() const { return residualAlpha_; }
  const ir::ops::ActivationSpec& activation() const { return activation_; }

 protected:
  PlanKey key_;
  DeviceBuffer vectors_;  // s[m], b[m], alpha_z (M values each)
  size_t channels_ = 0;
  float residualAlpha_ = 1.0f;
  ir::ops::ActivationSpec activation_;
  ChannelsLastCopy weights_;
};

// The operation graph and the execution plan of one cuDNN engine configuration, besides the state.
class QuantizedConvPlan : public QuantizedConvState {
 public:
  Status create(const CudaContext& cuda, const PlanKey& key, const Rescale& r, int engine) {
    LOWP_RETURN_IF_ERROR(buildGraph(cuda, key, r, engine));
    return prepare(cuda, key, r);
  }

  // Runs the plan.
  Status execute(const CudaContext& cuda, const void* x, const void* w, const void* z, void* y) {
    auto* vectors = const_cast<float*>(scales());
    std::vector<void*> pointers = {const_cast<void*>(x), const_cast<void*>(w), vectors};
    std::vector<int64_t> ids = {kX, kW, kScale};
    if (key_.bias) {
      pointers.push_back(vectors + channels_);
      ids.push_back(kBias);
    }
    if (z != nullptr) {
      pointers.push_back(const_cast<void*>(z));
      ids.push_back(kResidual);
      if (residualAlpha_ != 1.0f) {
        pointers.push_back(vectors + 2 * channels_);
        ids.push_back(kResidualScale);
      }
    }
    pointers.push_back(y);
    ids.push_back(kY);
    return plan_.execute(cuda, ids, pointers);
  }

 private:
  // One pointwise op: y = mode(x, b), b optional.
  Status pointwise(cudnnPointwiseMode_t mode, const Descriptor& x, const Descriptor* b, const Descriptor& y,
                   const ir::ops::ActivationSpec* relu = nullptr) {
    LOWP_ASSIGN_OR_RETURN(Descriptor pw, makeDescriptor(CUDNN_BACKEND_POINTWISE_DESCRIPTOR));
    const cudnnDataType_t math = CUDNN_DATA_FLOAT;
    LOWP_RETURN_IF_ERROR(setAttribute(pw, CUDNN_ATTR_POINTWISE_MODE, CUDNN_TYPE_POINTWISE_MODE, 1, &mode));
    LOWP_RETURN_IF_ERROR(setAttribute(pw, CUDNN_ATTR_POINTWISE_MATH_PREC, CUDNN_TYPE_DATA_TYPE, 1, &math));
    if (relu != nullptr && relu->kind == ir::ops::FusedActivation::kLeakyRelu) {
      const double slope = relu->alpha;
      LOWP_RETURN_IF_ERROR(
          setAttribute(pw, CUDNN_ATTR_POINTWISE_RELU_LOWER_CLIP_SLOPE, CUDNN_TYPE_DOUBLE, 1, &slope));
    } else if (relu != nullptr && relu->kind == ir::ops::FusedActivation::kClip) {
      const double lower = relu->alpha;
      const double upper = relu->beta;
      LOWP_RETURN_IF_ERROR(
          setAttribute(pw, CUDNN_ATTR_POINTWISE_RELU_LOWER_CLIP, CUDNN_TYPE_DOUBLE, 1, &lower));
      LOWP_RETURN_IF_ERROR(
          setAttribute(pw, CUDNN_ATTR_POINTWISE_RELU_UPPER_CLIP, CUDNN_TYPE_DOUBLE, 1, &upper));
    }
    LOWP_RETURN_IF_ERROR(finalize(pw));
    LOWP_ASSIGN_OR_RETURN(Descriptor op, makeDescriptor(CUDNN_BACKEND_OPERATION_POINTWISE_DESCRIPTOR));
    LOWP_RETURN_IF_ERROR(setDescriptor(op, CUDNN_ATTR_OPERATION_POINTWISE_PW_DESCRIPTOR, pw));
    LOWP_RETURN_IF_ERROR(setDescriptor(op, CUDNN_ATTR_OPERATION_POINTWISE_XDESC, x));
    if (b != nullptr) LOWP_RETURN_IF_ERROR(setDescriptor(op, CUDNN_ATTR_OPERATION_POINTWISE_BDESC, *b));
    LOWP_RETURN_IF_ERROR(setDescriptor(op, CUDNN_ATTR_OPERATION_POINTWISE_YDESC, y));
    LOWP_RETURN_IF_ERROR(finalize(op));
    ops_.push_back(std::move(op));
    kept_.push_back(std::move(pw));
    return {};
  }

  // The graph, and the plan of heuristic configuration `engine` (cudnn_graph::Plan::create).
  Status buildGraph(const CudaContext& cuda, const PlanKey& key, const Rescale& r, int engine) {
    const ConvGeometry& g = key.geometry;
    const std::vector<int64_t> channel = {1, g.w[0], 1, 1};
    LOWP_ASSIGN_OR_RETURN(Descriptor x, makeTensor(kX, DataType::kInt8, g.x, false));
    LOWP_ASSIGN_OR_RETURN(Descriptor w, makeTensor(kW, DataType::kInt8, g.w, false));
    LOWP_ASSIGN_OR_RETURN(Descriptor scale, makeTensor(kScale, DataType::kFloat32, channel, false));
    LOWP_ASSIGN_OR_RETURN(Descriptor y, makeTensor(kY, key.outputType, g.y, false));
    int64_t nextVirtual = kFirstVirtual;
    auto intermediate = [&]() { return makeTensor(nextVirtual++, DataType::kFloat32, g.y, true); };

    LOWP_ASSIGN_OR_RETURN(Descriptor conv, makeDescriptor(CUDNN_BACKEND_CONVOLUTION_DESCRIPTOR));
    const int64_t dims = 2;
    const int64_t pads[2] = {g.pad[0], g.pad[1]};
    const int64_t strides[2] = {g.stride[0], g.stride[1]};
    const int64_t dilations[2] = {g.dilation[0], g.dilation[1]};
    const cudnnDataType_t accumulate = CUDNN_DATA_INT32;
    const cudnnConvolutionMode_t mode = CUDNN_CROSS_CORRELATION;
    LOWP_RETURN_IF_ERROR(setAttribute(conv, CUDNN_ATTR_CONVOLUTION_SPATIAL_DIMS, CUDNN_TYPE_INT64, 1, &dims));
    LOWP_RETURN_IF_ERROR(
        setAttribute(conv, CUDNN_ATTR_CONVOLUTION_COMP_TYPE, CUDNN_TYPE_DATA_TYPE, 1, &accumulate));
    LOWP_RETURN_IF_ERROR(
        setAttribute(conv, CUDNN_ATTR_CONVOLUTION_CONV_MODE, CUDNN_TYPE_CONVOLUTION_MODE, 1, &mode));
    LOWP_RETURN_IF_ERROR(setAttribute(conv, CUDNN_ATTR_CONVOLUTION_PRE_PADDINGS, CUDNN_TYPE_INT64, 2, pads));
    LOWP_RETURN_IF_ERROR(setAttribute(conv, CUDNN_ATTR_CONVOLUTION_POST_PADDINGS, CUDNN_TYPE_INT64, 2, pads));
    LOWP_RETURN_IF_ERROR(
        setAttribute(conv, CUDNN_ATTR_CONVOLUTION_FILTER_STRIDES, CUDNN_TYPE_INT64, 2, strides));
    LOWP_RETURN_IF_ERROR(
        setAttribute(conv, CUDNN_ATTR_CONVOLUTION_DILATIONS, CUDNN_TYPE_INT64, 2, dilations));
    LOWP_RETURN_IF_ERROR(finalize(conv));

    LOWP_ASSIGN_OR_RETURN(Descriptor acc, intermediate());
    LOWP_ASSIGN_OR_RETURN(Descriptor convOp,
                          makeDescriptor(CUDNN_BACKEND_OPERATION_CONVOLUTION_FORWARD_DESCRIPTOR));
    const float one = 1.0f;
    const float zero = 0.0f;
    LOWP_RETURN_IF_ERROR(setDescriptor(convOp, CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_X, x));
    LOWP_RETURN_IF_ERROR(setDescriptor(convOp, CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_W, w));
    LOWP_RETURN_IF_ERROR(setDescriptor(convOp, CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_Y, acc));
    LOWP_RETURN_IF_ERROR(setDescriptor(convOp, CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_CONV_DESC, conv));
    LOWP_RETURN_IF_ERROR(
        setAttribute(convOp, CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_ALPHA, CUDNN_TYPE_FLOAT, 1, &one));
    LOWP_RETURN_IF_ERROR(
        setAttribute(convOp, CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_BETA, CUDNN_TYPE_FLOAT, 1, &zero));
    LOWP_RETURN_IF_ERROR(finalize(convOp));
    ops_.push_back(std::move(convOp));

    // The steps after the convolution; the last writes y.
    const bool act = r.activation.kind != ir::ops::FusedActivation::kNone;
    const int steps =
        1 + (key.bias ? 1 : 0) + (key.residualType != DataType::kUndefined ? 1 : 0) + (act ? 1 : 0);
    int step = 0;
    Descriptor current = std::move(acc);
    auto next = [&]() -> Result<Descriptor> {
      if (++step == steps) return std::move(y);
      return intermediate();
    };
    LOWP_ASSIGN_OR_RETURN(Descriptor scaled, next());
    LOWP_RETURN_IF_ERROR(pointwise(CUDNN_POINTWISE_MUL, current, &scale, scaled));
    kept_.push_back(std::move(current));
    kept_.push_back(std::move(scale));
    current = std::move(scaled);
    if (key.bias) {
      LOWP_ASSIGN_OR_RETURN(Descriptor bias, makeTensor(kBias, DataType::kFloat32, channel, false));
      LOWP_ASSIGN_OR_RETURN(Descriptor biased, next());
      LOWP_RETURN_IF_ERROR(pointwise(CUDNN_POINTWISE_ADD, current, &bias, biased));
      kept_.push_back(std::move(current));
      kept_.push_back(std::move(bias));
      current = std::move(biased);
    }
    if (key.residualType != DataType::kUndefined) {
      LOWP_ASSIGN_OR_RETURN(Descriptor z, makeTensor(kResidual, key.residualType, g.y, false));
      if (r.residualAlpha != 1.0f) {
        LOWP_ASSIGN_OR_RETURN(Descriptor alpha,
                              makeTensor(kResidualScale, DataType::kFloat32, channel, false));
        LOWP_ASSIGN_OR_RETURN(Descriptor scaledZ, intermediate());
        LOWP_RETURN_IF_ERROR(pointwise(CUDNN_POINTWISE_MUL, z, &alpha, scaledZ));
        kept_.push_back(std::move(z));
        kept_.push_back(std::move(alpha));
        z = std::move(scaledZ);
      }
      LOWP_ASSIGN_OR_RETURN(Descriptor summed, next());
      LOWP_RETURN_IF_ERROR(pointwise(CUDNN_POINTWISE_ADD, current, &z, summed));
      kept_.push_back(std::move(current));
      kept_.push_back(std::move(z));
      current = std::move(summed);
    }
    if (act) {
      LOWP_ASSIGN_OR_RETURN(Descriptor activated, next());
      LOWP_RETURN_IF_ERROR(pointwise(CUDNN_POINTWISE_RELU_FWD, current, nullptr, activated, &r.activation));
      kept_.push_back(std::move(current));
      current = std::move(activated);
    }
    kept_.push_back(std::move(current));
    kept_.push_back(std::move(x));
    kept_.push_back(std::move(w));
    kept_.push_back(std::move(conv));

    return plan_.create(cuda, std::move(ops_), std::move(kept_), engine, "int8 convolution graph");
  }

  std::vector<Descriptor> ops_;   // while the graph is built, then the plan's
  std::vector<Descriptor> kept_;  // descriptors the ops refer to
  cudnn_graph::Plan plan_;
};

// The activations the graph's Relu step computes, after dividing by y_scale.
bool activationSupported(const ir::ops::ActivationSpec& a) {
  using ir::ops::FusedActivation;
  return a.kind == FusedActivation::kNone || a.kind == FusedActivation::kRelu ||
         a.kind == FusedActivation::kLeakyRelu || a.kind == FusedActivation::kClip;
}

Result<Rescale> rescaleOf(const CudaContext& cuda, const ir::ops::QuantizedParams& p,
                          const ir::ops::ActivationSpec& activation, const Tensor* bias, int64_t channels,
                          DataType residualType) {
  Rescale r;
  const double outputScale = p.outputType == DataType::kInt8 ? p.outputScale : 1.0;
  LOWP_ASSIGN_OR_RETURN(r.vectors, quantizedRescale(cuda, p, bias, channels, outputScale));
  r.residualAlpha =
      static_cast<float>((residualType == DataType::kInt8 ? p.residualScale : 1.0) / outputScale);
  r.activation = activation;
  if (activation.kind == ir::ops::FusedActivation::kClip) {
    r.activation.alpha = static_cast<float>(activation.alpha / outputScale);
    r.activation.beta = static_cast<float>(activation.beta / outputScale);
  }
  return r;
}

// A node's operands, checked against its attributes, and the key of the state made for them.
struct Operands {
  const Tensor* x = nullptr;
  const Tensor* w = nullptr;
  const Tensor* bias = nullptr;
  const Tensor* z = nullptr;
  Tensor* y = nullptr;
  ir::ops::QuantizedParams params;
  ir::ops::ActivationSpec activation;
  PlanKey key;
};

Result<Operands> checkedOperands(KernelContext& ctx, const CudaContext& cuda) {
  Operands o;
  auto params = ir::ops::readQuantizedParams(ctx.attrs(), true);
  if (!params) return ctx.invalid(params.status().message());
  auto activation = ir::ops::readActivation(ctx.attrs());
  if (!activation) return ctx.invalid(activation.status().message());
  o.params = std::move(*params);
  o.activation = *activation;
  o.x = &ctx.input(0);
  o.w = &ctx.input(1);
  o.y = &ctx.output(0);
  o.bias = ctx.hasInput(2) ? &ctx.input(2) : nullptr;
  o.z = ctx.hasInput(3) ? &ctx.input(3) : nullptr;
  const Tensor& x = *o.x;
  const Tensor& w = *o.w;
  const Tensor& y = *o.y;
  if (x.type() != DataType::kInt8 || w.type() != DataType::kInt8 || y.type() != o.params.outputType)
    return ctx.invalid("input " + x.describe() + ", weight " + w.describe() + " and output " + y.describe() +
                       " do not match the op's types");
  if (o.params.inputZeroPoint != 0 || o.params.outputZeroPoint != 0 || o.params.residualZeroPoint != 0)
    return ctx.unsupported("the int8 convolutions on the GPU take no zero points");
  if (!activationSupported(o.activation)) return ctx.unsupported("no such activation in the int8 epilogue");
  auto geometry = convGeometry(ctx.attrs(), x.shape(), w.shape());
  if (!geometry) return forNode(ctx, geometry.status());
  if (geometry->group != 1) return ctx.unsupported("grouped int8 convolutions do not run here");
  if (geometry->output != y.shape())
    return ctx.invalid("output " + y.describe() + " is not the convolution's " +
                       ir::formatSizes(geometry->output));
  const int64_t channels = w.shape()[0];
  if (o.params.weightScales.size() != 1 && static_cast<int64_t>(o.params.weightScales.size()) != channels)
    return ctx.invalid(std::to_string(o.params.weightScales.size()) + " weight scales for " +
                       std::to_string(channels) + " output channels");
  if (o.bias != nullptr && (o.bias->type() != DataType::kInt32 || o.bias->elementCount() != channels))
    return ctx.invalid("bias " + o.bias->describe() + " is not one int32 per output channel");
  if (o.z != nullptr && o.z->shape() != y.shape())
    return ctx.invalid("residual " + o.z->describe() + " does not match the output " + y.describe());
  o.key.geometry = *geometry;
  o.key.residualType = o.z != nullptr ? o.z->type() : DataType::kUndefined;
  o.key.outputType = y.type();
  o.key.bias = o.bias != nullptr;
  o.key.workspaceBytes = cuda.workspaceBytes;
  return o;
}

// The node's state of type State (made, or made anew when the operands changed): create(state, rescale).
template <typename State, typename Create>
Result<std::shared_ptr<State>> stateOf(KernelContext& ctx, const CudaContext& cuda, const Operands& o,
                                       Create&& create) {
  auto state = std::static_pointer_cast<State>(ctx.state());
  if (state && state->fits(o.key)) return state;
  LOWP_ASSIGN_OR_RETURN(Rescale r,
                        rescaleOf(cuda, o.params, o.activation, o.bias, o.w->shape()[0], o.key.residualType));
  state = std::make_shared<State>();
  LOWP_RETURN_IF_ERROR(forNode(ctx, create(*state, r)));
  ctx.state() = state;
  return state;
}

template <int kEngine>
Status cudnnQuantizedConvKernel(KernelContext& ctx) {
  LOWP_ASSIGN_OR_RETURN(CudaContext * cuda, requireCuda(ctx));
  LOWP_ASSIGN_OR_RETURN(Operands o, checkedOperands(ctx, *cuda));
  if (o.y->elementCount() == 0) return {};
  LOWP_ASSIGN_OR_RETURN(
      auto plan, stateOf<QuantizedConvPlan>(ctx, *cuda, o, [&](QuantizedConvPlan& p, const Rescale& r) {
        return p.create(*cuda, o.key, r, kEngine);
      }));
  auto weights = plan->weights(*cuda, *o.w, isConstantInput(ctx, 1));
  if (!weights) return forNode(ctx, weights.status());
  return forNode(
      ctx, plan->execute(*cuda, o.x->data(), *weights, o.z != nullptr ? o.z->data() : nullptr, o.y->data()));
}

template <QuantizedConvTile kTile>
Status ownQuantizedConvKernel(KernelContext& ctx) {
  LOWP_ASSIGN_OR_RETURN(CudaContext * cuda, requireCuda(ctx));
  LOWP_ASSIGN_OR_RETURN(Operands o, checkedOperands(ctx, *cuda));
  if (o.y->elementCount() == 0) return {};
  const ConvGeometry& g = o.key.geometry;
  if (g.x[1] % 16 != 0 || g.w[0] % 16 != 0)
    return ctx.unsupported("the own int8 convolution takes input and output channels in 16s");
  LOWP_ASSIGN_OR_RETURN(
      auto state, stateOf<QuantizedConvState>(ctx, *cuda, o, [&](QuantizedConvState& s, const Rescale& r) {
        return s.prepare(*cuda, o.key, r);
      }));
  auto weights = state->weights(*cuda, *o.w, isConstantInput(ctx, 1));
  if (!weights) return forNode(ctx, weights.status());
  QuantizedConvEpilogue e;
  e.scale = state->scales();
  e.bias = state->biases();
  if (o.z != nullptr) {
    e.residual = o.z->data();
    e.residualType = *elemOf(o.z->type());
    e.residualAlpha = state->residualAlpha();
  }
  e.activation = activationEpilogue(state->activation());
  const cudaError_t launched = launchQuantizedConv(kTile, static_cast<const int8_t*>(o.x->data()),
                                                   static_cast<const int8_t*>(*weights), o.y->data(),
                                                   *elemOf(o.y->type()), hwcGeometryOf(g), e, cuda->stream);
  if (launched == cudaErrorNotSupported)
    return ctx.unsupported("this tile with a " + std::string(dataTypeName(o.z->type())) +
                           " residual needs more shared memory than the GPU gives a block");
  LOWP_CUDA_RETURN_IF_ERROR_NODE(ctx, launched);
  return {};
}

bool supportsQuantizedConv(const ir::Node& node, const std::vector<ir::Shape>& shapes) {
  const auto x = staticSizes(shapes, 0);
  const auto w = staticSizes(shapes, 1);
  if (!x || !w) return false;
  auto g = convGeometry(node.attributes, *x, *w);
  if (!g || g->group != 1 || (*x)[1] % 4 != 0 || (*w)[0] % 4 != 0) return false;
  auto params = ir::ops::readQuantizedParams(node.attributes, true);
  auto activation = ir::ops::readActivation(node.attributes);
  return params && activation && activationSupported(*activation) && params->inputZeroPoint == 0 &&
         params->outputZeroPoint == 0 && params->residualZeroPoint == 0;
}

// The own kernel's sizes: input and output channels in 16s (its 16-byte copies of x, the residual and y),
// and one image and one filter indexed in 32 bits.
bool supportsOwnQuantizedConv(const ir::Node& node, const std::vector<ir::Shape>& shapes) {
  if (!supportsQuantizedConv(node, shapes)) return false;
  const auto x = staticSizes(shapes, 0);
  const auto w = staticSizes(shapes, 1);
  const int64_t limit = std::numeric_limits<int32_t>::max();
  return (*x)[1] % 16 == 0 && (*w)[0] % 16 == 0 && (*x)[1] * (*x)[2] * (*x)[3] <= limit &&
         (*w)[1] * (*w)[2] * (*w)[3] <= limit;
}

const TypeSet kOutputTypes = {DataType::kInt8, DataType::kFloat16, DataType::kFloat32};

KernelDef quantizedConvDef(std::string name, KernelFn fn, SupportsFn supports) {
  const TypeSet i8 = {DataType::kInt8};
  return {
      .opType = "QuantizedConv",
      .backend = Backend::kCuda,
      .name = keepName(std::move(name)),
      .inputTypes = {i8, i8, {DataType::kInt32}, kOutputTypes},
      .outputTypes = {kOutputTypes},
      .fn = fn,
      .inputFormats = {TensorFormat::kHwc, TensorFormat::kLinear, TensorFormat::kLinear, TensorFormat::kHwc},
      .outputFormats = {TensorFormat::kHwc},
      .domain = ir::ops::kLowpDomain,
      .supports = supports,
      .reference = false};
}

template <int... kEngines>
void registerCudnnEngines(KernelRegistry& registry, std::integer_sequence<int, kEngines...> /*engines*/) {
  (registry.add(quantizedConvDef("i8-quantizedconv-cudnn-hwc-e" + std::to_string(kEngines),
                                 &cudnnQuantizedConvKernel<kEngines>, &supportsQuantizedConv)),
   ...);
}

}  // namespace

void registerQuantizedConvKernels(KernelRegistry& registry) {
  registerCudnnEngines(registry, std::make_integer_sequence<int, kEngineTactics>{});
  registry.add(quantizedConvDef("i8-quantizedconv-igemm-hwc-128x128",
                                &ownQuantizedConvKernel<QuantizedConvTile::k128x128>,
                                &supportsOwnQuantizedConv));
  registry.add(quantizedConvDef("i8-quantizedconv-igemm-hwc-256x64",
                                &ownQuantizedConvKernel<QuantizedConvTile::k256x64>,
                                &supportsOwnQuantizedConv));
  registry.add(quantizedConvDef("i8-quantizedconv-igemm-hwc-128x64",
                                &ownQuantizedConvKernel<QuantizedConvTile::k128x64>,
                                &supportsOwnQuantizedConv));
}

}  // namespace lowp::kernels::cuda
