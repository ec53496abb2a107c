// Reference kernels of the pooling ops: MaxPool (with Indices), AveragePool, LpPool, GlobalMaxPool,
// GlobalAveragePool, GlobalLpPool and MaxUnpool, over NC[D...]HW tensors of any spatial rank.
//
// A window is the cartesian product, over the spatial axes, of the taps (start + j * dilation) that land
// inside the input; taps in the padding are skipped (MaxPool, LpPool: padding never wins and adds 0) and
// counted only by AveragePool with count_include_pad (up to the end padding, not past it in ceil mode).
// Sums run in Compute<T> (float for fp16/bf16) in row-major window order.
#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include "ir/ops/window.h"
#include "kernels/reference/common.h"

namespace lowp::kernels::ref {
namespace {

using ir::formatSizes;

int64_t product(const std::vector<int64_t>& v) {
  int64_t p = 1;
  for (int64_t x : v) p *= x;
  return p;
}

// For one spatial axis, the input coordinates each output coordinate's window reads.
struct AxisTaps {
  std::vector<int64_t> first;   ///< Per output coordinate, its first entry in `coords` (size output + 1).
  std::vector<int64_t> coords;  ///< Input coordinates inside the input.
  std::vector<int64_t> padded;  ///< Per output coordinate, taps inside the padded extent.
};

AxisTaps axisTaps(const ir::ops::Window& w, size_t axis, int64_t in) {
  AxisTaps taps;
  const int64_t out = w.output[axis];
  for (int64_t o = 0; o < out; ++o) {
    taps.first.push_back(static_cast<int64_t>(taps.coords.size()));
    int64_t padded = 0;
    for (int64_t j = 0; j < w.kernel[axis]; ++j) {
      const int64_t i = o * w.strides[axis] - w.padsBegin[axis] + j * w.dilations[axis];
      if (i >= 0 && i < in) taps.coords.push_back(i);
      if (i >= -w.padsBegin[axis] && i < in + w.padsEnd[axis]) ++padded;
    }
    taps.padded.push_back(padded);
  }
  taps.first.push_back(static_cast<int64_t>(taps.coords.size()));
  return taps;
}

struct PoolShape {
  int64_t planes = 0;  ///< N * C.
  std::vector<int64_t> input;
  ir::ops::Window window;
  std::vector<AxisTaps> taps;
  int64_t inSize = 0;
  int64_t outSize = 0;
};

Result<PoolShape> poolShape(const KernelContext& ctx) {
  const std::vector<int64_t>& x = ctx.input(0).shape();
  const std::vector<int64_t> kernel = ctx.attrs().getInts("kernel_shape");
  if (kernel.empty() || x.size() != kernel.size() + 2) {
    return ctx.invalid("input " + formatSizes(x) + " does not match kernel_shape " + formatSizes(kernel));
  }
  PoolShape s;
  s.planes = x[0] * x[1];
  s.input.assign(x.begin() + 2, x.end());
  auto window = ir::ops::readWindow(ctx.attrs(), kernel);
  if (!window) return ir::ops::windowError(ctx, window.status());
  s.window = std::move(window).value();
  Status st = ir::ops::resolveForwardWindow(s.window, s.input, ctx.attrs().getInt("ceil_mode", 0) != 0);
  if (!st.isOk()) return ir::ops::windowError(ctx, st);
  for (size_t d = 0; d < kernel.size(); ++d) s.taps.push_back(axisTaps(s.window, d, s.input[d]));
  s.inSize = product(s.input);
  s.outSize = product(s.window.output);
  return s;
}

// Calls visit(outPixel, window) for every output pixel of one plane, where window.forEach(f) calls
// f(rowMajorInputOffset, coords) for every tap inside the input, in row-major order.
class WindowWalker {
 public:
  explicit WindowWalker(const PoolShape& s) : s_(s), strides_(contiguousStrides(s.input)) {}

  /// Output pixel `p`'s window: sets the per-axis tap ranges.
  void select(int64_t p) {
    const size_t rank = s_.input.size();
    lo_.resize(rank);
    hi_.resize(rank);
    paddedCount_ = 1;
    for (size_t d = rank; d-- > 0;) {
      const int64_t o = p % s_.window.output[d];
      p /= s_.window.output[d];
      lo_[d] = s_.taps[d].first[static_cast<size_t>(o)];
      hi_[d] = s_.taps[d].first[static_cast<size_t>(o) + 1];
      paddedCount_ *= s_.taps[d].padded[static_cast<size_t>(o)];
    }
  }
  /// Taps of the selected window inside the padded extent (AveragePool's count_include_pad divisor).
  int64_t paddedCount() const { return paddedCount_; }

  /// f(offset, pos) for each tap inside the input; pos[d] indexes taps[d].coords.
  template <typename F>
  void forEach(F&& f) {
    const size_t rank = lo_.size();
    for (size_t d = 0; d < rank; ++d) {
      if (lo_[d] == hi_[d]) return;
    }
    pos_ = lo_;
    for (;;) {
      int64_t offset = 0;
      for (size_t d = 0; d < rank; ++d)
        offset += s_.taps[d].coords[static_cast<size_t>(pos_[d])] * strides_[d];
      f(offset, pos_);
      size_t d = rank;
      while (d-- > 0) {
        if (++pos_[d] < hi_[d]) break;
        pos_[d] = lo_[d];
      }
      if (d == static_cast<size_t>(-1)) return;
    }
  }

 private:
  const PoolShape& s_;
  std::vector<int64_t> strides_;
  std::vector<int64_t> lo_, hi_, pos_;
  int64_t paddedCount_ = 1;
};

// Runs fn(plane) over all planes in parallel; `workPerPlane` sizes the chunks.
template <typename F>
void forEachPlane(const KernelContext& ctx, int64_t planes, int64_t workPerPlane, F&& fn) {
  const int64_t grain = std::max<int64_t>(1, 65536 / std::max<int64_t>(workPerPlane, 1));
  ctx.parallelFor(planes, grain, [&](int64_t begin, int64_t end) {
    for (int64_t p = begin; p < end; ++p) fn(p);
  });
}

int64_t windowTaps(const PoolShape& s) {
  return product(s.window.kernel);
}

// ---- MaxPool ---------------------------------------------------------------------------------------------

template <typename T>
Status maxPoolTyped(KernelContext& ctx) {
  using C = Compute<T>;
  auto shape = poolShape(ctx);
  if (!shape) return shape.status();
  const PoolShape& s = *shape;
  const int64_t storageOrder = ctx.attrs().getInt("storage_order", 0);
  // Column-major index strides of the spatial axes, for storage_order = 1.
  std::vector<int64_t> colStrides(s.input.size(), 1);
  for (size_t d = 1; d < s.input.size(); ++d) colStrides[d] = colStrides[d - 1] * s.input[d - 1];
  const T* x = ctx.input(0).data<T>();
  T* y = ctx.output(0).data<T>();
  int64_t* indices = ctx.hasOutput(1) ? ctx.output(1).data<int64_t>() : nullptr;
  forEachPlane(ctx, s.planes, s.outSize * windowTaps(s), [&](int64_t plane) {
    WindowWalker walker(s);
    const T* xp = x + plane * s.inSize;
    std::vector<int64_t> bestPos;
    for (int64_t p = 0; p < s.outSize; ++p) {
      walker.select(p);
      C best = std::numeric_limits<C>::lowest();
      if constexpr (std::numeric_limits<C>::has_infinity) best = -std::numeric_limits<C>::infinity();
      int64_t bestOffset = -1;
      walker.forEach([&](int64_t offset, const std::vector<int64_t>& pos) {
        const C v = toCompute(xp[offset]);
        // The first maximum wins; NaN never does (as in ONNX Runtime).
        const bool better = bestOffset < 0 ? v == v : v > best;
        if (!better) return;
        best = v;
        bestOffset = offset;
        if (storageOrder != 0) bestPos = pos;
      });
      y[plane * s.outSize + p] = fromCompute<T>(best);
      if (indices == nullptr) continue;
      int64_t index = bestOffset;
      if (storageOrder != 0 && bestOffset >= 0) {
        index = 0;
        for (size_t d = 0; d < bestPos.size(); ++d) {
          index += s.taps[d].coords[static_cast<size_t>(bestPos[d])] * colStrides[d];
        }
      }
      indices[plane * s.outSize + p] = index < 0 ? -1 : plane * s.inSize + index;
    }
  });
  return {};
}

template <typename F>
bool dispatchMaxPoolType(DataType type, F&& f) {
  switch (type) {
    case DataType::kInt8:
      f.template operator()<int8_t>();
      return true;
    case DataType::kUInt8:
      f.template operator()<uint8_t>();
      return true;
    default:
      return dispatchFloat(type, f);
  }
}

Status maxPoolKernel(KernelContext& ctx) {
  Status st;
  dispatchMaxPoolType(ctx.input(0).type(), [&]<typename T>() { st = maxPoolTyped<T>(ctx); });
  return st;
}

// ---- AveragePool, LpPool ---------------------------------------------------------------------------------

enum class Reduce { kAverage, kLp };

template <typename T>
Status sumPoolTyped(KernelContext& ctx, Reduce reduce) {
  using C = Compute<T>;
  auto shape = poolShape(ctx);
  if (!shape) return shape.status();
  const PoolShape& s = *shape;
  const bool includePad = ctx.attrs().getInt("count_include_pad", 0) != 0;
  const auto p = static_cast<C>(ctx.attrs().getInt("p", 2));
  const T* x = ctx.input(0).data<T>();
  T* y = ctx.output(0).data<T>();
  forEachPlane(ctx, s.planes, s.outSize * windowTaps(s), [&](int64_t plane) {
    WindowWalker walker(s);
    const T* xp = x + plane * s.inSize;
    for (int64_t o = 0; o < s.outSize; ++o) {
      walker.select(o);
      C sum = 0;
      int64_t count = 0;
      walker.forEach([&](int64_t offset, const std::vector<int64_t>&) {
        const C v = toCompute(xp[offset]);
        sum += reduce == Reduce::kAverage ? v : std::pow(std::abs(v), p);
        ++count;
      });
      C result;
      if (reduce == Reduce::kLp) {
        result = std::pow(sum, C(1) / p);
      } else {
        const int64_t divisor = includePad ? walker.paddedCount() : count;
        result = divisor > 0 ? sum / static_cast<C>(divisor) : C(0);
      }
      y[plane * s.outSize + o] = fromCompute<T>(result);
    }
  });
  return {};
}

Status averagePoolKernel(KernelContext& ctx) {
  Status st;
  dispatchFloat(ctx.input(0).type(), [&]<typename T>() { st = sumPoolTyped<T>(ctx, Reduce::kAverage); });
  return st;
}

Status lpPoolKernel(KernelContext& ctx) {
  Status st;
  dispatchFloat(ctx.input(0).type(), [&]<typename T>() { st = sumPoolTyped<T>(ctx, Reduce::kLp); });
  return st;
}

// ---- Global pools ----------------------------------------------------------------------------------------

enum class GlobalReduce { kMax, kAverage, kLp };

template <typename T>
Status globalPoolTyped(KernelContext& ctx, GlobalReduce reduce) {
  using C = Compute<T>;
  const std::vector<int64_t>& shape = ctx.input(0).shape();
  if (shape.size() < 2) return ctx.invalid("input " + formatSizes(shape) + " has no channel axis");
  const int64_t planes = shape[0] * shape[1];
  const int64_t size = planes == 0 ? 0 : ctx.input(0).elementCount() / planes;
  const auto p = static_cast<C>(ctx.attrs().getInt("p", 2));
  const T* x = ctx.input(0).data<T>();
  T* y = ctx.output(0).data<T>();
  forEachPlane(ctx, planes, size, [&](int64_t plane) {
    const T* xp = x + plane * size;
    C acc = reduce == GlobalReduce::kMax ? -std::numeric_limits<C>::infinity() : C(0);
    for (int64_t i = 0; i < size; ++i) {
      const C v = toCompute(xp[i]);
      switch (reduce) {
        case GlobalReduce::kMax:
          acc = std::max(acc, v);
          break;
        case GlobalReduce::kAverage:
          acc += v;
          break;
        case GlobalReduce::kLp:
          acc += std::pow(std::abs(v), p);
          break;
      }
    }
    if (reduce == GlobalReduce::kAverage) acc = size > 0 ? acc / static_cast<C>(size) : C(0);
    if (reduce == GlobalReduce::kLp) acc = std::pow(acc, C(1) / p);
    y[plane] = fromCompute<T>(acc);
  });
  return {};
}

template <GlobalReduce R>
Status globalPoolKernel(KernelContext& ctx) {
  Status st;
  dispatchFloat(ctx.input(0).type(), [&]<typename T>() { st = globalPoolTyped<T>(ctx, R); });
  return st;
}

// ---- MaxUnpool -------------------------------------------------------------------------------------------

// Scatters X into a zero tensor at the flat indices MaxPool produced. As in ONNX's reference, the indices
// address the shape MaxPool's window implies ((in - 1) * stride + kernel - pads); an output_shape larger than
// that holds it at its origin, zero beyond.
Status maxUnpoolKernel(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  const Tensor& indices = ctx.input(1);
  if (indices.shape() != x.shape()) {
    return ctx.invalid("indices " + formatSizes(indices.shape()) + " differ in shape from X " +
                       formatSizes(x.shape()));
  }
  const std::vector<int64_t> kernel = ctx.attrs().getInts("kernel_shape");
  if (x.rank() != static_cast<int64_t>(kernel.size()) + 2) {
    return ctx.invalid("input " + formatSizes(x.shape()) + " does not match kernel_shape " +
                       formatSizes(kernel));
  }
  auto window = ir::ops::readWindow(ctx.attrs(), kernel);
  if (!window) return ir::ops::windowError(ctx, window.status());
  std::vector<int64_t> inferred = {x.shape()[0], x.shape()[1]};
  for (size_t d = 0; d < kernel.size(); ++d) {
    inferred.push_back((x.shape()[d + 2] - 1) * window->strides[d] + kernel[d] - window->padsBegin[d] -
                       window->padsEnd[d]);
  }
  std::vector<int64_t> outShape = inferred;
  if (ctx.hasInput(2)) {
    const Tensor& os = ctx.input(2);
    if (os.type() != DataType::kInt64 || os.elementCount() != x.rank()) {
      return ctx.invalid("output_shape must be " + std::to_string(x.rank()) + " int64 values");
    }
    outShape.assign(os.data<int64_t>(), os.data<int64_t>() + os.elementCount());
  }
  for (size_t d = 0; d < outShape.size(); ++d) {
    if (inferred[d] < 0 || outShape[d] < inferred[d]) {
      return ctx.invalid("output shape " + formatSizes(outShape) + " cannot hold the unpooled shape " +
                         formatSizes(inferred));
    }
  }
  Tensor& y = ctx.allocateOutput(0, x.type(), outShape);
  const int64_t total = product(inferred);
  const std::vector<int64_t> outStrides = contiguousStrides(outShape);
  const int64_t* idx = indices.data<int64_t>();
  const auto elementBytes = static_cast<size_t>(x.elementCount() == 0 ? 0 : x.byteSize() / x.elementCount());
  const auto* src = static_cast<const std::byte*>(x.data());
  auto* dst = static_cast<std::byte*>(y.data());
  std::fill(dst, dst + y.byteSize(), std::byte{0});
  for (int64_t i = 0; i < x.elementCount(); ++i) {
    if (idx[i] < 0 || idx[i] >= total) {
      return ctx.invalid("index " + std::to_string(idx[i]) + " is outside the unpooled shape " +
                         formatSizes(inferred));
    }
    int64_t rest = idx[i];
    int64_t offset = 0;
    for (size_t d = inferred.size(); d-- > 0;) {
      offset += (rest % inferred[d]) * outStrides[d];
      rest /= inferred[d];
    }
    std::copy_n(src + static_cast<size_t>(i) * elementBytes, elementBytes,
                dst + static_cast<size_t>(offset) * elementBytes);
  }
  return {};
}

}  // namespace

void registerPoolKernels(KernelRegistry& registry) {
  const TypeSet maxTypes = floatTypes() | TypeSet{DataType::kInt8, DataType::kUInt8};
  const TypeSet indexType = {DataType::kInt64};
  registry.add({.opType = "MaxPool",
                .name = "any-maxpool-ref",
                .inputTypes = {maxTypes},
                .outputTypes = {maxTypes, indexType},
                .fn = maxPoolKernel});
  registry.add({.opType = "AveragePool",
                .name = "any-averagepool-ref",
                .inputTypes = {floatTypes()},
                .outputTypes = {floatTypes()},
                .fn = averagePoolKernel});
  registry.add({.opType = "LpPool",
                .name = "any-lppool-ref",
                .inputTypes = {floatTypes()},
                .outputTypes = {floatTypes()},
                .fn = lpPoolKernel});
  registry.add({.opType = "GlobalMaxPool",
                .name = "any-globalmaxpool-ref",
                .inputTypes = {floatTypes()},
                .outputTypes = {floatTypes()},
                .fn = globalPoolKernel<GlobalReduce::kMax>});
  registry.add({.opType = "GlobalAveragePool",
                .name = "any-globalaveragepool-ref",
                .inputTypes = {floatTypes()},
                .outputTypes = {floatTypes()},
                .fn = globalPoolKernel<GlobalReduce::kAverage>});
  registry.add({.opType = "GlobalLpPool",
                .name = "any-globallppool-ref",
                .inputTypes = {floatTypes()},
                .outputTypes = {floatTypes()},
                .fn = globalPoolKernel<GlobalReduce::kLp>});
  registry.add({.opType = "MaxUnpool",
                .name = "any-maxunpool-ref",
                .inputTypes = {numericTypes(), indexType},
                .outputTypes = {numericTypes()},
                .fn = maxUnpoolKernel});
}

}  // namespace lowp::kernels::ref
