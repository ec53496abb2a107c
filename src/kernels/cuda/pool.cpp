// Pooling on the GPU (device code in pool.cu):
//   {f32,f16,bf16}-{maxpool,averagepool}-cuda[-hwc]   1-D and 2-D windows: kernel_shape, strides,
//                                                     dilations, pads, auto_pad, ceil_mode,
//                                                     count_include_pad; MaxPool without its Indices output
//   {f32,f16,bf16}-globalaveragepool-cuda[-hwc]       any spatial rank
// Semantics are the reference kernels' (kernels/reference/pool.cpp). Tests: tests/gpu/test_pool.cpp.
#include <string>
#include <vector>

#include "ir/ops/window.h"
#include "kernels/cuda/cuda_check.h"
#include "kernels/cuda/cuda_context.h"
#include "kernels/cuda/cuda_kernels.h"
#include "kernels/cuda/kernel_util.h"

namespace lowp::kernels::cuda {
namespace {

const DataType kFloatTypes[] = {DataType::kFloat32, DataType::kFloat16, DataType::kBFloat16};

// The window over x [N, C, H, W], or over x [N, C, W] as the 2-D window of height 1 (the same bytes).
Result<PoolGeometry> poolGeometry(const ir::AttributeMap& attrs, const std::vector<int64_t>& x) {
  if (x.size() != 4 && x.size() != 3)
    return Status(StatusCode::kUnsupported, "only 1-D and 2-D pooling run on the GPU here");
  const size_t axes = x.size() - 2;
  const std::vector<int64_t> kernel = attrs.getInts("kernel_shape");
  if (kernel.size() != axes)
    return Status(StatusCode::kInvalidArgument, "kernel_shape must have " + std::to_string(axes) + " values");
  auto window = ir::ops::readWindow(attrs, kernel);
  if (!window) return window.status();
  LOWP_RETURN_IF_ERROR(ir::ops::resolveForwardWindow(*window, std::vector<int64_t>(x.begin() + 2, x.end()),
                                                     attrs.getInt("ceil_mode", 0) != 0));
  auto i = [](int64_t v) { return static_cast<int>(v); };
  PoolGeometry g;
  g.n = x[0];
  g.c = x[1];
  // The last axis is W; a 2-D window's first is H, a 1-D window's H is 1 (one tap, no pad, stride 1).
  const size_t w = axes - 1;
  g.w = x.back();
  g.ow = window->output[w];
  g.kw = i(kernel[w]);
  g.sw = i(window->strides[w]);
  g.dw = i(window->dilations[w]);
  g.padLeft = i(window->padsBegin[w]);
  g.padRight = i(window->padsEnd[w]);
  if (axes == 2) {
    g.h = x[2];
    g.oh = window->output[0];
    g.kh = i(kernel[0]);
    g.sh = i(window->strides[0]);
    g.dh = i(window->dilations[0]);
    g.padTop = i(window->padsBegin[0]);
    g.padBottom = i(window->padsEnd[0]);
  } else {
    g.h = g.oh = 1;
  }
  g.includePad = attrs.getInt("count_include_pad", 0) != 0;
  return g;
}

// y's shape for the window `g` over an input of `rank` dims.
std::vector<int64_t> pooledShape(const PoolGeometry& g, size_t rank) {
  if (rank == 3) return {g.n, g.c, g.ow};
  return {g.n, g.c, g.oh, g.ow};
}

template <bool kMax, bool kHwc>
Status poolKernel(KernelContext& ctx) {
  LOWP_ASSIGN_OR_RETURN(CudaContext * cuda, requireCuda(ctx));
  const Tensor& x = ctx.input(0);
  Tensor& y = ctx.output(0);
  LOWP_ASSIGN_OR_RETURN(const Elem type, floatElemOf(ctx, x, "input"));
  if (y.type() != x.type()) return ctx.invalid("output " + y.describe() + " is not of the input's type");
  if (kMax && ctx.hasOutput(1)) return ctx.unsupported("no CUDA MaxPool with Indices");
  auto g = poolGeometry(ctx.attrs(), x.shape());
  if (!g) return forNode(ctx, g.status());
  g->hwc = kHwc;
  if (y.shape() != pooledShape(*g, x.shape().size()))
    return ctx.invalid("output " + y.describe() + " does not match the window");
  LOWP_CUDA_RETURN_IF_ERROR_NODE(ctx, kMax ? launchMaxPool(type, x.data(), y.data(), *g, cuda->stream)
                                           : launchAveragePool(type, x.data(), y.data(), *g, cuda->stream));
  return {};
}

bool supportsPool(const ir::Node& node, const std::vector<ir::Shape>& shapes) {
  if (node.outputs.size() > 1 && node.outputs[1] != nullptr) return false;  // MaxPool's Indices
  const auto x = staticSizes(shapes, 0);
  return x && poolGeometry(node.attributes, *x).isOk();
}

template <bool kHwc>
Status globalAverageKernel(KernelContext& ctx) {
  LOWP_ASSIGN_OR_RETURN(CudaContext * cuda, requireCuda(ctx));
  const Tensor& x = ctx.input(0);
  Tensor& y = ctx.output(0);
  LOWP_ASSIGN_OR_RETURN(const Elem type, floatElemOf(ctx, x, "input"));
  if (x.rank() < 3) return ctx.invalid("input " + x.describe() + " is not [N, C, spatial...]");
  if (y.type() != x.type() || y.elementCount() != x.shape()[0] * x.shape()[1])
    return ctx.invalid("output " + y.describe() + " is not one value per channel of " + x.describe());
  int64_t spatial = 1;
  for (size_t d = 2; d < x.shape().size(); ++d) spatial *= x.shape()[d];
  LOWP_CUDA_RETURN_IF_ERROR_NODE(ctx, launchGlobalAveragePool(type, x.data(), y.data(), x.shape()[0],
                                                              x.shape()[1], spatial, kHwc, cuda->stream));
  return {};
}

bool supportsGlobal(const ir::Node& /*node*/, const std::vector<ir::Shape>& shapes) {
  return !shapes.empty() && shapes[0].rankKnown() && shapes[0].rank() >= 3 && shapes[0].rank() <= 5;
}

template <bool kHwc>
void registerLayout(KernelRegistry& registry, DataType t) {
  const TypeSet types = {t};
  const std::string prefix(shortTypeName(t));
  const std::string suffix = kHwc ? "-cuda-hwc" : "-cuda";
  const std::vector<TensorFormat> formats =
      kHwc ? std::vector<TensorFormat>{TensorFormat::kHwc} : std::vector<TensorFormat>{};
  registry.add({.opType = "MaxPool",
                .backend = Backend::kCuda,
                .name = keepName(prefix + "-maxpool" + suffix),
                .inputTypes = {types},
                .outputTypes = {types},
                .fn = &poolKernel<true, kHwc>,
                .inputFormats = formats,
                .outputFormats = formats,
                .supports = &supportsPool,
                .reference = false});
  registry.add({.opType = "AveragePool",
                .backend = Backend::kCuda,
                .name = keepName(prefix + "-averagepool" + suffix),
                .inputTypes = {types},
                .outputTypes = {types},
                .fn = &poolKernel<false, kHwc>,
                .inputFormats = formats,
                .outputFormats = formats,
                .supports = &supportsPool,
                .reference = false});
  registry.add({.opType = "GlobalAveragePool",
                .backend = Backend::kCuda,
                .name = keepName(prefix + "-globalaveragepool" + suffix),
                .inputTypes = {types},
                .outputTypes = {types},
                .fn = &globalAverageKernel<kHwc>,
                .inputFormats = formats,
                .outputFormats = formats,
                .supports = &supportsGlobal,
                .reference = false});
}

}  // namespace

void registerPoolKernels(KernelRegistry& registry) {
  for (DataType t : kFloatTypes) {
    registerLayout<false>(registry, t);
    registerLayout<true>(registry, t);
  }
}

}  // namespace lowp::kernels::cuda
