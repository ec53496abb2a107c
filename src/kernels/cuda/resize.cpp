// Resize (opsets 10 and later) and Upsample on the GPU (device code in resize.cu):
//   x-resize-nearest-cuda, x-upsample-nearest-cuda   nearest, any type stored in 1, 2, 4 or 8 bytes
//   {f32,f16,bf16}-{resize,upsample}-cuda             linear and cubic, in fp32, rounded once
// Every mode, coordinate transformation, nearest rounding, antialias, exclude_outside, axes,
// keep_aspect_ratio_policy and tf_crop_and_resize's extrapolation, on any rank up to 8: the taps of each axis
// are ir::ops::resizeAxisTaps's, the very ones the reference kernel reads, made on the host when the shapes
// change and kept in device memory with the node's state. So the roi, scales and sizes must be constants of
// the graph (as they are once shape subgraphs fold); a Resize whose sizes are computed at run time is
// declined. The reference sums separable passes in double; these kernels sum the products of the weights in
// fp32, so fp32 outputs differ from it by rounding (relative L2 about 1e-7).
// Tests: tests/gpu/test_resize.cpp.
#include <algorithm>
#include <cstddef>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ir/ops/resize_plan.h"
#include "kernels/cuda/cuda_check.h"
#include "kernels/cuda/cuda_context.h"
#include "kernels/cuda/cuda_kernels.h"
#include "kernels/cuda/kernel_util.h"
#include "kernels/reference/conversion_numeric.h"

namespace lowp::kernels::cuda {
namespace {

using ir::ops::ResizeInput;
using ir::ops::ResizeMode;

// Input `slot` of a Resize or Upsample as its value is known while planning: absent, or a constant of the
// graph; nullopt when it is computed at run time.
std::optional<ResizeInput> constantInput(const ir::Node& node, size_t slot) {
  ResizeInput r;
  const ir::Value* v = node.input(slot);
  if (v == nullptr) return r;
  if (!v->constant) return std::nullopt;
  r.present = v->constant->elementCount() > 0;
  r.value = r.present ? &*v->constant : nullptr;
  return r;
}

struct ResizeSetup {
  ir::ops::ResizeAttrs attrs;
  ir::ops::ResizeGeometry geometry;
};

// The attributes and geometry of the node for an input of `inSizes`; kUnsupported where roi, scales or sizes
// are not constants of the graph.
Result<ResizeSetup> resizeSetup(const ir::Node& node, const std::vector<int64_t>& inSizes) {
  auto attrs = ir::ops::readResizeAttrs(node);
  if (!attrs) return attrs.status();
  for (size_t slot = 1; slot < node.inputs.size(); ++slot) {
    if (!constantInput(node, slot))
      return Status(StatusCode::kUnsupported,
                    "the CUDA Resize takes roi, scales and sizes that are constants");
  }
  auto geometry = ir::ops::resolveNodeResizeGeometry(node, *attrs, inSizes,
                                                     [&](size_t slot) { return *constantInput(node, slot); });
  if (!geometry) return geometry.status();
  return ResizeSetup{*attrs, *geometry};
}

// The tap tables of one input and output shape in device memory, and the fill value.
class ResizePlan {
 public:
  bool fits(const std::vector<int64_t>& in, const std::vector<int64_t>& out) const {
    return in == in_ && out == out_;
  }

  Status create(const ResizeSetup& setup, const std::vector<int64_t>& in, const std::vector<int64_t>& out,
                DataType type, cudaStream_t stream) {
    in_ = in;
    out_ = out;
    tables_ = {};
    tables_.rank = static_cast<int>(in.size());
    std::vector<int32_t> counts;
    std::vector<int64_t> offsets;
    std::vector<float> weights;
    int64_t inStride = 1;
    for (size_t d = in.size(); d-- > 0;) {
      tables_.outDims[d] = out[d];
      tables_.inStrides[d] = inStride;
      const ir::ops::ResizeTapTable axis = ir::ops::resizeTapTable(
          ir::ops::resizeAxisTaps(setup.attrs, setup.geometry, d, in[d], out[d]), inStride);
      if (!axis.identity) {
        tables_.taps[d] = axis.taps;
        tables_.first[d] = static_cast<int64_t>(offsets.size());
        tables_.countFirst[d] = static_cast<int64_t>(counts.size());
        counts.insert(counts.end(), axis.count.begin(), axis.count.end());
        offsets.insert(offsets.end(), axis.offset.begin(), axis.offset.end());
        weights.insert(weights.end(), axis.weight.begin(), axis.weight.end());
      }
      inStride *= in[d];
    }
    // One buffer: offsets, then weights, then counts (each part's alignment kept by the order).
    const size_t offsetBytes = offsets.size() * sizeof(int64_t);
    const size_t weightBytes = weights.size() * sizeof(float);
    std::vector<std::byte> host(offsetBytes + weightBytes + counts.size() * sizeof(int32_t));
    if (!host.empty()) {
      std::memcpy(host.data(), offsets.data(), offsetBytes);
      std::memcpy(host.data() + offsetBytes, weights.data(), weightBytes);
      std::memcpy(host.data() + offsetBytes + weightBytes, counts.data(), counts.size() * sizeof(int32_t));
      LOWP_RETURN_IF_ERROR(upload(buffer_, host.data(), host.size(), stream));
      auto* base = static_cast<std::byte*>(buffer_.data);
      tables_.offset = reinterpret_cast<const int64_t*>(base);
      tables_.weight = reinterpret_cast<const float*>(base + offsetBytes);
      tables_.count = reinterpret_cast<const int32_t*>(base + offsetBytes + weightBytes);
    }
    fill_ = static_cast<float>(setup.attrs.extrapolation);
    fillBits_ = 0;
    ref::dispatchStorable(type, [&]<typename T>() {
      const T v = ref::convertElement<double, T>(setup.attrs.extrapolation, true);
      static_assert(sizeof(T) <= sizeof(fillBits_));
      std::memcpy(&fillBits_, &v, sizeof(T));
    });
    return {};
  }

  const ResizeTables& tables() const { return tables_; }
  float fill() const { return fill_; }
  uint64_t fillBits() const { return fillBits_; }

 private:
  std::vector<int64_t> in_, out_;
  DeviceBuffer buffer_;
  ResizeTables tables_;
  float fill_ = 0.0f;
  uint64_t fillBits_ = 0;
};

Status nodeError(const KernelContext& ctx, const Status& s) {
  return s.code() == StatusCode::kUnsupported ? ctx.unsupported(s.message()) : ctx.invalid(s.message());
}

template <bool kNearest>
Status resizeKernel(KernelContext& ctx) {
  LOWP_ASSIGN_OR_RETURN(CudaContext * cuda, requireCuda(ctx));
  const Tensor& x = ctx.input(0);
  Tensor& y = ctx.output(0);
  if (y.type() != x.type())
    return ctx.invalid("output " + y.describe() + " differs in type from " + x.describe());
  if (x.rank() > kMaxCopyRank) return ctx.unsupported("no CUDA Resize of rank " + std::to_string(x.rank()));
  auto setup = resizeSetup(ctx.node(), x.shape());
  if (!setup) return nodeError(ctx, setup.status());
  if ((setup->attrs.mode == ResizeMode::kNearest) != kNearest)
    return ctx.unsupported(kNearest ? "this kernel resizes in mode nearest only" : "mode nearest");
  if (setup->geometry.outSizes != y.shape())
    return ctx.invalid("output " + y.describe() + " is not the resized shape " +
                       ir::formatSizes(setup->geometry.outSizes));
  if (y.elementCount() == 0) return {};
  if (x.elementCount() == 0) return ctx.invalid("cannot resize an empty tensor to a non-empty one");

  auto plan = std::static_pointer_cast<ResizePlan>(ctx.state());
  if (!plan || !plan->fits(x.shape(), y.shape())) {
    plan = std::make_shared<ResizePlan>();
    LOWP_RETURN_IF_ERROR(forNode(ctx, plan->create(*setup, x.shape(), y.shape(), x.type(), cuda->stream)));
    ctx.state() = plan;
  }
  if constexpr (kNearest) {
    const int bytes = ir::dataTypeInfo(x.type()).storageBytes;
    LOWP_CUDA_RETURN_IF_ERROR_NODE(
        ctx, launchResizeNearest(bytes, x.data(), y.data(), plan->tables(), plan->fillBits(), cuda->stream));
  } else {
    LOWP_ASSIGN_OR_RETURN(const Elem type, floatElemOf(ctx, x, "X"));
    LOWP_CUDA_RETURN_IF_ERROR_NODE(
        ctx, launchResizeInterpolate(type, x.data(), y.data(), plan->tables(), plan->fill(), cuda->stream));
  }
  return {};
}

template <bool kNearest>
bool supportsResize(const ir::Node& node, const std::vector<ir::Shape>& shapes) {
  const auto x = staticSizes(shapes, 0);
  if (!x || x->size() > static_cast<size_t>(kMaxCopyRank)) return false;
  auto setup = resizeSetup(node, *x);
  return setup.isOk() && (setup->attrs.mode == ResizeMode::kNearest) == kNearest;
}

}  // namespace

void registerResizeKernels(KernelRegistry& registry) {
  const TypeSet floats = {DataType::kFloat32, DataType::kFloat16, DataType::kBFloat16, DataType::kFloat64};
  const TypeSet ints = {DataType::kInt32, DataType::kInt64};
  const TypeSet any = movableTypes();
  for (const std::string_view op : {"Resize", "Upsample"}) {
    const bool resize = op == "Resize";
    const std::string lower = resize ? "resize" : "upsample";
    // Resize reads X, roi, scales, sizes; Upsample X, scales.
    std::vector<TypeSet> inputs =
        resize ? std::vector<TypeSet>{any, floats, floats, ints} : std::vector<TypeSet>{any, floats};
    registry.add({.opType = op,
                  .backend = Backend::kCuda,
                  .name = keepName("x-" + lower + "-nearest-cuda"),
                  .inputTypes = inputs,
                  .outputTypes = {any},
                  .fn = &resizeKernel<true>,
                  .supports = &supportsResize<true>,
                  .reference = false});
    for (const DataType type : {DataType::kFloat32, DataType::kFloat16, DataType::kBFloat16}) {
      inputs[0] = TypeSet{type};
      registry.add({.opType = op,
                    .backend = Backend::kCuda,
                    .name = ownKernelName(type, op),
                    .inputTypes = inputs,
                    .outputTypes = {TypeSet{type}},
                    .fn = &resizeKernel<false>,
                    .supports = &supportsResize<false>,
                    .reference = false});
    }
  }
}

}  // namespace lowp::kernels::cuda
