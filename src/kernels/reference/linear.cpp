// Reference kernels of the linear ops: Conv, ConvInteger, QLinearConv, ConvTranspose, Gemm, MatMul,
// MatMulInteger, QLinearMatMul, Einsum.
//
// Every product runs through the blocked GEMM of linear_gemm.h, in the accumulator type GemmAcc<T>: float for
// fp32/fp16/bf16 (the reduced types are widened once, up front), double for fp64, and unsigned wrap-around
// arithmetic of the same width for the integer types (exactly two's complement for the signed ones).
// Convolutions are im2col + GEMM per (image, group, block of output pixels); ConvTranspose is GEMM + col2im.
#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <optional>
#include <string>
#include <type_traits>

#include "ir/ops/linear_einsum.h"
#include "ir/ops/window.h"
#include "kernels/reference/common.h"
#include "kernels/reference/linear_gemm.h"

namespace lowp::kernels::ref {
namespace {

using ir::formatSizes;

// ---- Accumulator types and views -------------------------------------------------------------------------

template <typename T>
using GemmAcc = std::conditional_t<
    std::is_same_v<T, double>, double,
    std::conditional_t<
        std::is_same_v<T, int32_t> || std::is_same_v<T, uint32_t>, uint32_t,
        std::conditional_t<std::is_same_v<T, int64_t> || std::is_same_v<T, uint64_t>, uint64_t, float>>>;

// A tensor's data as accumulator values: the data itself where the bits already are (float, double, and
// the integers read as their unsigned twins, which may alias them), otherwise a widened copy.
template <typename T>
class AccInput {
 public:
  using A = GemmAcc<T>;
  explicit AccInput(const Tensor& t) {
    if constexpr (kIsReducedFloat<T>) {
      const T* src = t.data<T>();
      storage_.resize(static_cast<size_t>(t.elementCount()));
      for (size_t i = 0; i < storage_.size(); ++i) storage_[i] = toCompute(src[i]);
      data_ = storage_.data();
    } else {
      data_ = reinterpret_cast<const A*>(t.data<T>());
    }
  }
  const A* data() const { return data_; }

 private:
  const A* data_ = nullptr;
  std::vector<A> storage_;
};

// An output in accumulator values: the tensor's own memory, or a float buffer narrowed by finish().
template <typename T>
class AccOutput {
 public:
  using A = GemmAcc<T>;
  explicit AccOutput(Tensor& t) : tensor_(t) {
    if constexpr (kIsReducedFloat<T>) {
      storage_.resize(static_cast<size_t>(t.elementCount()));
      data_ = storage_.data();
    } else {
      data_ = reinterpret_cast<A*>(t.data<T>());
    }
  }
  A* data() { return data_; }
  void finish() {
    if constexpr (kIsReducedFloat<T>) {
      T* dst = tensor_.data<T>();
      for (size_t i = 0; i < storage_.size(); ++i) dst[i] = fromCompute<T>(storage_[i]);
    }
  }

 private:
  Tensor& tensor_;
  A* data_ = nullptr;
  std::vector<A> storage_;
};

int64_t product(const std::vector<int64_t>& v) {
  int64_t p = 1;
  for (int64_t x : v) p *= x;
  return p;
}

// ---- Convolution geometry --------------------------------------------------------------------------------

struct ConvShape {
  int64_t batch = 0;
  int64_t inChannels = 0;
  int64_t outChannels = 0;
  int64_t group = 1;
  ir::ops::Window window;
  std::vector<int64_t> input;  ///< Spatial input sizes.
  int64_t inSize = 0;          ///< Pixels per input channel.
  int64_t outSize = 0;         ///< Pixels per output channel.
  int64_t kernelSize = 0;      ///< Kernel taps per channel.
};

// The convolution of input 0 by the weights in input `wSlot`.
Result<ConvShape> convShape(const KernelContext& ctx, bool transposed, size_t wSlot = 1) {
  const std::vector<int64_t>& x = ctx.input(0).shape();
  const std::vector<int64_t>& w = ctx.input(wSlot).shape();
  if (x.size() < 3 || w.size() != x.size()) {
    return ctx.invalid("input " + formatSizes(x) + " and weight " + formatSizes(w) +
                       " do not form a convolution");
  }
  ConvShape s;
  s.batch = x[0];
  s.inChannels = x[1];
  s.group = ctx.attrs().getInt("group", 1);
  s.input.assign(x.begin() + 2, x.end());
  std::vector<int64_t> kernel(w.begin() + 2, w.end());
  auto window = ir::ops::readWindow(ctx.attrs(), kernel);
  if (!window) return ir::ops::windowError(ctx, window.status());
  s.window = std::move(window).value();
  Status st = transposed ? ir::ops::resolveTransposedWindow(s.window, ctx.attrs(), s.input)
                         : ir::ops::resolveForwardWindow(s.window, s.input, false);
  if (!st.isOk()) return ir::ops::windowError(ctx, st);
  s.outChannels = transposed ? w[1] * s.group : w[0];
  const int64_t weightChannels = transposed ? w[0] : w[1] * s.group;
  if (s.group < 1 || s.inChannels != weightChannels || s.outChannels % s.group != 0 ||
      s.inChannels % s.group != 0) {
    return ctx.invalid("input " + formatSizes(x) + ", weight " + formatSizes(w) + " and group " +
                       std::to_string(s.group) + " do not match");
  }
  s.inSize = product(s.input);
  s.outSize = product(s.window.output);
  s.kernelSize = product(kernel);
  return s;
}

// Runs of output pixels along the last spatial axis within a block of pixels [p0, p1): each run shares the
// coordinates of the outer axes.
struct PixelRuns {
  std::vector<int64_t> start;   ///< Offset of the run in the block.
  std::vector<int64_t> length;  ///< Pixels in the run.
  std::vector<int64_t> coords;  ///< Per run, the coordinates of all spatial axes of its first pixel.
};

PixelRuns pixelRuns(const std::vector<int64_t>& sizes, int64_t p0, int64_t p1) {
  PixelRuns runs;
  const size_t rank = sizes.size();
  std::vector<int64_t> coord(rank);
  int64_t rest = p0;
  for (size_t d = rank; d-- > 0;) {
    coord[d] = rest % sizes[d];
    rest /= sizes[d];
  }
  for (int64_t p = p0; p < p1;) {
    const int64_t len = std::min(sizes[rank - 1] - coord[rank - 1], p1 - p);
    runs.start.push_back(p - p0);
    runs.length.push_back(len);
    runs.coords.insert(runs.coords.end(), coord.begin(), coord.end());
    p += len;
    coord[rank - 1] += len;
    for (size_t d = rank; d-- > 1 && coord[d] >= sizes[d];) {
      coord[d] = 0;
      ++coord[d - 1];
    }
  }
  return runs;
}

// Steps a kernel-tap multi-index through the kernel in row-major order.
void nextTap(std::vector<int64_t>& tap, const std::vector<int64_t>& kernel) {
  for (size_t d = tap.size(); d-- > 0;) {
    if (++tap[d] < kernel[d]) return;
    tap[d] = 0;
  }
}

// im2col for one group of one image: rows (channel c, tap t) -> col[(c * taps + t) * width + q] holds the
// input pixel that tap t of output pixel p0 + q reads, or 0 in the padding.
template <typename A>
void im2col(const ConvShape& s, const A* x, int64_t channels, int64_t p0, int64_t p1, A* col) {
  const ir::ops::Window& w = s.window;
  const size_t rank = s.input.size();
  const int64_t width = p1 - p0;
  const PixelRuns runs = pixelRuns(w.output, p0, p1);
  const std::vector<int64_t> inStrides = contiguousStrides(s.input);
  const size_t last = rank - 1;
  const int64_t inLast = s.input[last];
  const int64_t stride = w.strides[last];
  std::vector<int64_t> tap(rank, 0);
  for (int64_t t = 0; t < s.kernelSize; ++t, nextTap(tap, w.kernel)) {
    for (size_t r = 0; r < runs.start.size(); ++r) {
      const int64_t* coord = &runs.coords[r * rank];
      int64_t offset = 0;
      bool inside = true;
      for (size_t d = 0; d < last; ++d) {
        const int64_t i = coord[d] * w.strides[d] - w.padsBegin[d] + tap[d] * w.dilations[d];
        inside = inside && i >= 0 && i < s.input[d];
        offset += i * inStrides[d];
      }
      const int64_t len = runs.length[r];
      // Input index of the run's first pixel on the last axis, and the part of the run inside the input.
      const int64_t i0 = coord[last] * stride - w.padsBegin[last] + tap[last] * w.dilations[last];
      int64_t lo = i0 >= 0 ? 0 : (-i0 + stride - 1) / stride;
      int64_t hi = i0 >= inLast ? 0 : (inLast - i0 + stride - 1) / stride;
      if (!inside) lo = hi = 0;
      lo = std::min(lo, len);
      hi = std::clamp(hi, lo, len);
      for (int64_t c = 0; c < channels; ++c) {
        A* dst = col + (c * s.kernelSize + t) * width + runs.start[r];
        const A* src = x + c * s.inSize + offset;
        for (int64_t q = 0; q < lo; ++q) dst[q] = A(0);
        if (stride == 1) {
          for (int64_t q = lo; q < hi; ++q) dst[q] = src[i0 + q];
        } else {
          for (int64_t q = lo; q < hi; ++q) dst[q] = src[i0 + q * stride];
        }
        for (int64_t q = hi; q < len; ++q) dst[q] = A(0);
      }
    }
  }
}

bool isPointwise(const ConvShape& s) {
  const ir::ops::Window& w = s.window;
  for (size_t d = 0; d < s.input.size(); ++d) {
    if (w.kernel[d] != 1 || w.strides[d] != 1 || w.padsBegin[d] != 0 || w.output[d] != s.input[d])
      return false;
  }
  return true;
}

// y = conv(x, w) (+ bias), all in accumulator type A; layouts as ONNX (NCHW..., weights [M, C/group, k...]).
template <typename A>
void convolve(const KernelContext& ctx, const ConvShape& s, const A* x, const A* w, const A* bias, A* y) {
  constexpr int64_t kPixelBlock = 256;
  const int64_t cg = s.inChannels / s.group;
  const int64_t mg = s.outChannels / s.group;
  const int64_t kg = cg * s.kernelSize;
  const bool pointwise = isPointwise(s);
  const int64_t pixelBlocks = (s.outSize + kPixelBlock - 1) / kPixelBlock;
  const int64_t outer = s.batch * s.group * pixelBlocks;
  // Few (image, group, pixel block) tasks: also split the output channels so both cores get work.
  int64_t rowBlocks =
      outer >= 4 ? 1 : std::min<int64_t>((4 + outer - 1) / std::max<int64_t>(outer, 1), (mg + 3) / 4);
  rowBlocks = std::max<int64_t>(rowBlocks, 1);
  const int64_t rowsPerBlock = (mg + rowBlocks - 1) / rowBlocks;
  const int64_t tasks = outer * rowBlocks;
  const int64_t flops = 2 * rowsPerBlock * kg * std::min(kPixelBlock, s.outSize);
  const int64_t grain = std::max<int64_t>(1, (int64_t{1} << 21) / std::max<int64_t>(flops, 1));
  ctx.parallelFor(tasks, grain, [&](int64_t begin, int64_t end) {
    std::vector<A> col;
    for (int64_t task = begin; task < end; ++task) {
      const int64_t rb = task % rowBlocks;
      const int64_t pb = (task / rowBlocks) % pixelBlocks;
      const int64_t g = (task / rowBlocks / pixelBlocks) % s.group;
      const int64_t n = task / rowBlocks / pixelBlocks / s.group;
      const int64_t p0 = pb * kPixelBlock;
      const int64_t p1 = std::min(s.outSize, p0 + kPixelBlock);
      const int64_t m0 = rb * rowsPerBlock;
      const int64_t m1 = std::min(mg, m0 + rowsPerBlock);
      if (m0 >= m1) continue;
      const A* xg = x + (n * s.inChannels + g * cg) * s.inSize;
      const A* b = xg + p0;
      int64_t ldb = s.inSize;
      if (!pointwise) {
        col.resize(static_cast<size_t>(kg * (p1 - p0)));
        im2col(s, xg, cg, p0, p1, col.data());
        b = col.data();
        ldb = p1 - p0;
      }
      A* yb = y + (n * s.outChannels + g * mg + m0) * s.outSize + p0;
      gemm(m1 - m0, p1 - p0, kg, w + (g * mg + m0) * kg, kg, b, ldb, yb, s.outSize);
      if (bias != nullptr) {
        for (int64_t m = m0; m < m1; ++m) {
          const A bv = bias[g * mg + m];
          A* row = yb + (m - m0) * s.outSize;
          for (int64_t p = 0; p < p1 - p0; ++p) row[p] += bv;
        }
      }
    }
  });
}

// Adds col[(m * taps + t) * inSize + i] into the output pixel that input pixel i reaches through tap t,
// for the `channels` output channels starting at y.
template <typename A>
void col2im(const ConvShape& s, const A* col, int64_t channels, A* y) {
  const ir::ops::Window& w = s.window;
  const size_t rank = s.input.size();
  const size_t last = rank - 1;
  const PixelRuns runs = pixelRuns(s.input, 0, s.inSize);
  const std::vector<int64_t> outStrides = contiguousStrides(w.output);
  const int64_t outLast = w.output[last];
  const int64_t stride = w.strides[last];
  std::vector<int64_t> tap(rank, 0);
  for (int64_t t = 0; t < s.kernelSize; ++t, nextTap(tap, w.kernel)) {
    for (size_t r = 0; r < runs.start.size(); ++r) {
      const int64_t* coord = &runs.coords[r * rank];
      int64_t offset = 0;
      bool inside = true;
      for (size_t d = 0; d < last; ++d) {
        const int64_t o = coord[d] * w.strides[d] - w.padsBegin[d] + tap[d] * w.dilations[d];
        inside = inside && o >= 0 && o < w.output[d];
        offset += o * outStrides[d];
      }
      if (!inside) continue;
      const int64_t o0 = tap[last] * w.dilations[last] - w.padsBegin[last];
      const int64_t len = runs.length[r];
      const int64_t lo = o0 >= 0 ? 0 : std::min(len, (-o0 + stride - 1) / stride);
      const int64_t hi = o0 >= outLast ? lo : std::clamp((outLast - o0 + stride - 1) / stride, lo, len);
      for (int64_t m = 0; m < channels; ++m) {
        const A* src = col + (m * s.kernelSize + t) * s.inSize + runs.start[r];
        A* dst = y + m * s.outSize + offset;
        for (int64_t q = lo; q < hi; ++q) dst[o0 + q * stride] += src[q];
      }
    }
  }
}

// y = convTranspose(x, w) (+ bias); weights [C, M/group, k...]. Per (image, group, block of output channels):
// col = W_g^T (rows: output channel x tap) * x_g, then col2im into y.
template <typename A>
void convolveTransposed(const KernelContext& ctx, const ConvShape& s, const A* x, const A* w, const A* bias,
                        A* y) {
  const int64_t cg = s.inChannels / s.group;
  const int64_t mg = s.outChannels / s.group;
  const int64_t taps = s.kernelSize;
  // Transposed weights per group: wt[g][(m * taps + t) * cg + c] = w[g * cg + c][m][t].
  std::vector<A> wt(static_cast<size_t>(s.inChannels * mg * taps));
  for (int64_t g = 0; g < s.group; ++g) {
    for (int64_t c = 0; c < cg; ++c) {
      for (int64_t r = 0; r < mg * taps; ++r)
        wt[(g * mg * taps + r) * cg + c] = w[((g * cg + c) * mg) * taps + r];
    }
  }
  // Output channels per task: bounded col memory (about 4 MB of A), and enough tasks for two cores.
  const int64_t perChannel = std::max<int64_t>(taps * s.inSize, 1);
  int64_t block = std::clamp<int64_t>((int64_t{1} << 20) / perChannel, 1, std::max<int64_t>(mg, 1));
  if (s.batch * s.group < 4) block = std::min(block, std::max<int64_t>(1, (mg + 3) / 4));
  const int64_t blocks = (mg + block - 1) / block;
  ctx.parallelFor(s.batch * s.group * blocks, 1, [&](int64_t begin, int64_t end) {
    std::vector<A> col;
    for (int64_t task = begin; task < end; ++task) {
      const int64_t mb = task % blocks;
      const int64_t g = (task / blocks) % s.group;
      const int64_t n = task / blocks / s.group;
      const int64_t m0 = mb * block;
      const int64_t m1 = std::min(mg, m0 + block);
      A* yb = y + (n * s.outChannels + g * mg + m0) * s.outSize;
      for (int64_t m = m0; m < m1; ++m) {
        const A init = bias != nullptr ? bias[g * mg + m] : A(0);
        std::fill(yb + (m - m0) * s.outSize, yb + (m - m0 + 1) * s.outSize, init);
      }
      col.resize(static_cast<size_t>((m1 - m0) * taps * s.inSize));
      gemm((m1 - m0) * taps, s.inSize, cg, wt.data() + (g * mg + m0) * taps * cg, cg,
           x + (n * s.inChannels + g * cg) * s.inSize, s.inSize, col.data(), s.inSize);
      col2im(s, col.data(), m1 - m0, yb);
    }
  });
}

// ---- Conv, ConvTranspose ---------------------------------------------------------------------------------

template <typename T>
Status runConv(KernelContext& ctx, bool transposed) {
  auto shape = convShape(ctx, transposed);
  if (!shape) return shape.status();
  const Tensor& wt = ctx.input(1);
  if (ctx.hasInput(2) && ctx.input(2).elementCount() != shape->outChannels) {
    return ctx.invalid("bias " + formatSizes(ctx.input(2).shape()) +
                       " does not have one value per output channel");
  }
  if (ctx.output(0).elementCount() == 0) return {};
  AccInput<T> x(ctx.input(0));
  AccInput<T> w(wt);
  std::optional<AccInput<T>> bias;
  if (ctx.hasInput(2)) bias.emplace(ctx.input(2));
  AccOutput<T> y(ctx.output(0));
  const GemmAcc<T>* b = bias ? bias->data() : nullptr;
  if (transposed) {
    convolveTransposed(ctx, *shape, x.data(), w.data(), b, y.data());
  } else {
    convolve(ctx, *shape, x.data(), w.data(), b, y.data());
  }
  y.finish();
  return {};
}

Status convKernel(KernelContext& ctx) {
  Status st;
  dispatchFloat(ctx.input(0).type(), [&]<typename T>() { st = runConv<T>(ctx, false); });
  return st;
}

Status convTransposeKernel(KernelContext& ctx) {
  Status st;
  dispatchFloat(ctx.input(0).type(), [&]<typename T>() { st = runConv<T>(ctx, true); });
  return st;
}

// ---- Integer forms: operands minus their zero points, as int32 (wrap-around uint32 arithmetic) -----------

// Reads element i of an int8/uint8 tensor.
int32_t int8At(const Tensor& t, int64_t i) {
  return t.type() == DataType::kInt8 ? t.data<int8_t>()[i] : t.data<uint8_t>()[i];
}

// value - zeroPoint for every element of `t`, where the zero point of element i is zp[zpIndex(i)].
template <typename F>
std::vector<uint32_t> subtractZeroPoint(const Tensor& t, const Tensor* zp, F&& zpIndex) {
  std::vector<uint32_t> out(static_cast<size_t>(t.elementCount()));
  for (int64_t i = 0; i < t.elementCount(); ++i) {
    const int32_t z = zp != nullptr ? int8At(*zp, zpIndex(i)) : 0;
    out[static_cast<size_t>(i)] = static_cast<uint32_t>(int8At(t, i) - z);
  }
  return out;
}

// The int32 convolution (x - x_zero_point) * (w - w_zero_point) (+ bias) of ConvInteger and QLinearConv:
// x at input 0 with its zero point at xZeroPoint, w at wSlot with a scalar or per-output-channel zero point
// at wSlot + 2; `biasSlot` is an int32 bias or SIZE_MAX. Padding reads 0 after the zero point is subtracted,
// i.e. the zero point itself, as ONNX pads.
Status integerConvolve(KernelContext& ctx, const ConvShape& shape, size_t wSlot, size_t biasSlot,
                       int32_t* y) {
  const Tensor* xzp = ctx.hasInput(2) ? &ctx.input(2) : nullptr;
  const Tensor* wzp = ctx.hasInput(wSlot + 2) ? &ctx.input(wSlot + 2) : nullptr;
  const Tensor* bias = ctx.hasInput(biasSlot) ? &ctx.input(biasSlot) : nullptr;
  if (xzp != nullptr && xzp->elementCount() != 1) {
    return ctx.unsupported("x_zero_point " + formatSizes(xzp->shape()) + " is not a scalar");
  }
  if (wzp != nullptr && wzp->elementCount() != 1 && wzp->elementCount() != shape.outChannels) {
    return ctx.invalid("w_zero_point " + formatSizes(wzp->shape()) +
                       " is neither a scalar nor one per output channel");
  }
  if (bias != nullptr && (bias->type() != DataType::kInt32 || bias->elementCount() != shape.outChannels)) {
    return ctx.invalid("bias " + formatSizes(bias->shape()) + " is not one int32 per output channel");
  }
  std::vector<uint32_t> x = subtractZeroPoint(ctx.input(0), xzp, [](int64_t) { return int64_t{0}; });
  const int64_t perChannel = ctx.input(wSlot).elementCount() / std::max<int64_t>(shape.outChannels, 1);
  const bool perTensor = wzp == nullptr || wzp->elementCount() == 1;
  std::vector<uint32_t> w = subtractZeroPoint(
      ctx.input(wSlot), wzp, [&](int64_t i) { return perTensor ? int64_t{0} : i / perChannel; });
  const auto* b = bias != nullptr ? reinterpret_cast<const uint32_t*>(bias->data<int32_t>()) : nullptr;
  convolve<uint32_t>(ctx, shape, x.data(), w.data(), b, reinterpret_cast<uint32_t*>(y));
  return {};
}

Status convIntegerKernel(KernelContext& ctx) {
  auto shape = convShape(ctx, false);
  if (!shape) return shape.status();
  if (ctx.output(0).elementCount() == 0) return {};
  return integerConvolve(ctx, *shape, 1, SIZE_MAX, ctx.output(0).data<int32_t>());
}

// ---- Requantization (QLinearConv, QLinearMatMul) ---------------------------------------------------------

float scaleAt(const Tensor& t, int64_t i) {
  switch (t.type()) {
    case DataType::kFloat16:
      return ir::toFloat(t.data<Float16>()[i]);
    case DataType::kBFloat16:
      return ir::toFloat(t.data<BFloat16>()[i]);
    case DataType::kFloat64:
      return static_cast<float>(t.data<double>()[i]);
    default:
      return t.data<float>()[i];
  }
}

// a * b / c in the scales' own type, rounding after each operation as ONNX's numpy reference does.
float combinedScale(DataType type, float a, float b, float c) {
  auto round = [type](float v) {
    if (type == DataType::kFloat16) return ir::float16ToFloat(ir::floatToFloat16(v));
    if (type == DataType::kBFloat16) return ir::bfloat16ToFloat(ir::floatToBFloat16(v));
    return v;
  };
  return round(round(a * b) / c);
}

// y = saturate(round_half_even(acc * scale + zeroPoint)) in the output's int8/uint8 type.
void requantize(Tensor& out, int64_t i, int32_t acc, float scale, int32_t zeroPoint) {
  const bool isSigned = out.type() == DataType::kInt8;
  const double lo = isSigned ? -128.0 : 0.0;
  const double hi = isSigned ? 127.0 : 255.0;
  const double v = std::nearbyint(std::clamp(static_cast<double>(acc) * scale + zeroPoint, lo, hi));
  if (isSigned) {
    out.data<int8_t>()[i] = static_cast<int8_t>(v);
  } else {
    out.data<uint8_t>()[i] = static_cast<uint8_t>(v);
  }
}

// Checks that inputs `slots` of a QLinear op hold one value each.
Status requireScalars(const KernelContext& ctx, std::initializer_list<size_t> slots) {
  for (size_t slot : slots) {
    if (ctx.input(slot).elementCount() != 1) {
      return ctx.unsupported("input " + std::to_string(slot) + " of shape " +
                             formatSizes(ctx.input(slot).shape()) + " is not a scalar (per-tensor)");
    }
  }
  return {};
}

Status qlinearConvKernel(KernelContext& ctx) {
  auto shape = convShape(ctx, false, 3);
  if (!shape) return shape.status();
  LOWP_RETURN_IF_ERROR(requireScalars(ctx, {1, 2, 6, 7}));
  const Tensor& wScale = ctx.input(4);
  if (wScale.elementCount() != 1 && wScale.elementCount() != shape->outChannels) {
    return ctx.invalid("w_scale " + formatSizes(wScale.shape()) +
                       " is neither a scalar nor one per output channel");
  }
  Tensor& y = ctx.output(0);
  if (y.elementCount() == 0) return {};
  std::vector<int32_t> acc(static_cast<size_t>(y.elementCount()));
  LOWP_RETURN_IF_ERROR(integerConvolve(ctx, *shape, 3, 8, acc.data()));
  const float xScale = scaleAt(ctx.input(1), 0);
  const float yScale = scaleAt(ctx.input(6), 0);
  const int32_t yZero = int8At(ctx.input(7), 0);
  std::vector<float> scales(static_cast<size_t>(shape->outChannels));
  for (int64_t m = 0; m < shape->outChannels; ++m) {
    const float ws = scaleAt(wScale, wScale.elementCount() == 1 ? 0 : m);
    scales[static_cast<size_t>(m)] = combinedScale(wScale.type(), xScale, ws, yScale);
  }
  for (int64_t i = 0; i < y.elementCount(); ++i) {
    const int64_t m = i / shape->outSize % shape->outChannels;
    requantize(y, i, acc[static_cast<size_t>(i)], scales[static_cast<size_t>(m)], yZero);
  }
  return {};
}

// ---- MatMul, MatMulInteger -------------------------------------------------------------------------------

// numpy.matmul geometry: 1-D operands are [1, K] / [K, 1]; batch dims broadcast.
struct MatMulShape {
  int64_t m = 0, n = 0, k = 0;
  std::vector<int64_t> aOffsets;  ///< Per output matrix, the element offset of its A matrix.
  std::vector<int64_t> bOffsets;
};

// The product of input 0 and input `bSlot`.
Result<MatMulShape> matMulShape(const KernelContext& ctx, size_t bSlot = 1) {
  std::vector<int64_t> a = ctx.input(0).shape();
  std::vector<int64_t> b = ctx.input(bSlot).shape();
  if (a.empty() || b.empty()) return ctx.invalid("MatMul operands must have rank 1 or more");
  if (a.size() == 1) a.insert(a.begin(), 1);
  if (b.size() == 1) b.push_back(1);
  MatMulShape s;
  s.m = a[a.size() - 2];
  s.k = a.back();
  s.n = b.back();
  if (b[b.size() - 2] != s.k) {
    return ctx.invalid("shapes " + formatSizes(ctx.input(0).shape()) + " and " +
                       formatSizes(ctx.input(bSlot).shape()) + " do not multiply");
  }
  std::vector<int64_t> aBatch(a.begin(), a.end() - 2);
  std::vector<int64_t> bBatch(b.begin(), b.end() - 2);
  std::vector<int64_t> batch(std::max(aBatch.size(), bBatch.size()), 1);
  for (size_t i = 0; i < batch.size(); ++i) {
    const size_t ia = i + aBatch.size() - batch.size();
    const size_t ib = i + bBatch.size() - batch.size();
    const int64_t da = i + aBatch.size() >= batch.size() ? aBatch[ia] : 1;
    const int64_t db = i + bBatch.size() >= batch.size() ? bBatch[ib] : 1;
    if (da != db && da != 1 && db != 1) {
      return ctx.invalid("batch dims of " + formatSizes(ctx.input(0).shape()) + " and " +
                         formatSizes(ctx.input(bSlot).shape()) + " do not broadcast");
    }
    batch[i] = da == 1 ? db : da;
  }
  const std::vector<int64_t> aStrides = broadcastStrides(aBatch, batch);
  const std::vector<int64_t> bStrides = broadcastStrides(bBatch, batch);
  const std::array<std::vector<int64_t>, 2> strides = {aStrides, bStrides};
  const int64_t count = product(batch);
  s.aOffsets.resize(static_cast<size_t>(count));
  s.bOffsets.resize(static_cast<size_t>(count));
  forEachBroadcast<2>(batch, strides, 0, count, [&](int64_t i, const std::array<int64_t, 2>& off) {
    s.aOffsets[static_cast<size_t>(i)] = off[0] * s.m * s.k;
    s.bOffsets[static_cast<size_t>(i)] = off[1] * s.k * s.n;
  });
  return s;
}

template <typename A>
void runMatMul(const KernelContext& ctx, const MatMulShape& s, const A* a, const A* b, A* c) {
  parallelGemm<A>(ctx, static_cast<int64_t>(s.aOffsets.size()), s.m, s.n, s.k, s.k, s.n, s.n, [&](int64_t i) {
    return GemmOperands<A>{a + s.aOffsets[static_cast<size_t>(i)], b + s.bOffsets[static_cast<size_t>(i)],
                           c + i * s.m * s.n};
  });
}

template <typename T>
Status matMulTyped(KernelContext& ctx) {
  auto shape = matMulShape(ctx);
  if (!shape) return shape.status();
  if (ctx.output(0).elementCount() == 0) return {};
  AccInput<T> a(ctx.input(0));
  AccInput<T> b(ctx.input(1));
  AccOutput<T> c(ctx.output(0));
  runMatMul(ctx, *shape, a.data(), b.data(), c.data());
  c.finish();
  return {};
}

// The MatMul types: floats and the 32/64-bit integers.
template <typename F>
bool dispatchMatMulType(DataType type, F&& f) {
  switch (type) {
    case DataType::kInt32:
      f.template operator()<int32_t>();
      return true;
    case DataType::kUInt32:
      f.template operator()<uint32_t>();
      return true;
    case DataType::kInt64:
      f.template operator()<int64_t>();
      return true;
    case DataType::kUInt64:
      f.template operator()<uint64_t>();
      return true;
    default:
      return dispatchFloat(type, f);
  }
}

Status matMulKernel(KernelContext& ctx) {
  Status st;
  if (!dispatchMatMulType(ctx.input(0).type(), [&]<typename T>() { st = matMulTyped<T>(ctx); })) {
    return ctx.unsupported("MatMul of " + std::string(ir::dataTypeInfo(ctx.input(0).type()).name));
  }
  return st;
}

// Index into a zero-point tensor for each element of an operand: scalar, per row of A ([M] or [..., M, 1]),
// per column of B ([N] or [..., 1, N]) or any shape that broadcasts to the operand.
Result<std::vector<int64_t>> zeroPointIndex(const KernelContext& ctx, const Tensor& operand, const Tensor& zp,
                                            bool perRow) {
  std::vector<int64_t> shape = operand.shape();
  std::vector<int64_t> zpShape = zp.shape();
  if (zp.elementCount() == 1) zpShape.clear();
  if (perRow && zpShape.size() == 1 && shape.size() >= 2) zpShape.push_back(1);
  bool ok = zpShape.size() <= shape.size();
  for (size_t i = 0; ok && i < zpShape.size(); ++i) {
    const int64_t d = shape[shape.size() - zpShape.size() + i];
    ok = zpShape[i] == 1 || zpShape[i] == d;
  }
  if (!ok) {
    return ctx.invalid("zero point " + formatSizes(zp.shape()) + " does not fit operand " +
                       formatSizes(shape));
  }
  std::vector<int64_t> index(static_cast<size_t>(operand.elementCount()));
  const std::array<std::vector<int64_t>, 1> strides = {broadcastStrides(zpShape, shape)};
  forEachBroadcast<1>(
      shape, strides, 0, operand.elementCount(),
      [&](int64_t i, const std::array<int64_t, 1>& off) { index[static_cast<size_t>(i)] = off[0]; });
  return index;
}

// The int32 product (a - a_zero_point) * (b - b_zero_point) of MatMulInteger and QLinearMatMul: a at input
// 0, b at `bSlot`, each zero point two slots after its operand (absent: 0).
Status integerMatMul(KernelContext& ctx, const MatMulShape& shape, size_t bSlot, int32_t* y) {
  std::vector<uint32_t> operands[2];
  const size_t slots[2] = {0, bSlot};
  for (size_t i = 0; i < 2; ++i) {
    const Tensor& t = ctx.input(slots[i]);
    if (!ctx.hasInput(slots[i] + 2)) {
      operands[i] = subtractZeroPoint(t, nullptr, [](int64_t) { return int64_t{0}; });
      continue;
    }
    const Tensor& zp = ctx.input(slots[i] + 2);
    auto index = zeroPointIndex(ctx, t, zp, i == 0);
    if (!index) return index.status();
    operands[i] = subtractZeroPoint(t, &zp, [&](int64_t e) { return (*index)[static_cast<size_t>(e)]; });
  }
  runMatMul<uint32_t>(ctx, shape, operands[0].data(), operands[1].data(), reinterpret_cast<uint32_t*>(y));
  return {};
}

Status matMulIntegerKernel(KernelContext& ctx) {
  auto shape = matMulShape(ctx);
  if (!shape) return shape.status();
  if (ctx.output(0).elementCount() == 0) return {};
  return integerMatMul(ctx, *shape, 1, ctx.output(0).data<int32_t>());
}

// a_scale is per tensor or per row of A ([M]); b_scale per tensor or per column of B ([N]).
Status qlinearMatMulKernel(KernelContext& ctx) {
  auto shape = matMulShape(ctx, 3);
  if (!shape) return shape.status();
  LOWP_RETURN_IF_ERROR(requireScalars(ctx, {6, 7}));
  const Tensor& aScale = ctx.input(1);
  const Tensor& bScale = ctx.input(4);
  if (aScale.elementCount() != 1 && aScale.elementCount() != shape->m) {
    return ctx.invalid("a_scale " + formatSizes(aScale.shape()) + " is neither a scalar nor one per row");
  }
  if (bScale.elementCount() != 1 && bScale.elementCount() != shape->n) {
    return ctx.invalid("b_scale " + formatSizes(bScale.shape()) + " is neither a scalar nor one per column");
  }
  Tensor& y = ctx.output(0);
  if (y.elementCount() == 0) return {};
  std::vector<int32_t> acc(static_cast<size_t>(y.elementCount()));
  LOWP_RETURN_IF_ERROR(integerMatMul(ctx, *shape, 3, acc.data()));
  const float yScale = scaleAt(ctx.input(6), 0);
  const int32_t yZero = int8At(ctx.input(7), 0);
  for (int64_t i = 0; i < y.elementCount(); ++i) {
    const int64_t row = i / shape->n % shape->m;
    const int64_t col = i % shape->n;
    const float as = scaleAt(aScale, aScale.elementCount() == 1 ? 0 : row);
    const float bs = scaleAt(bScale, bScale.elementCount() == 1 ? 0 : col);
    requantize(y, i, acc[static_cast<size_t>(i)], combinedScale(bScale.type(), as, bs, yScale), yZero);
  }
  return {};
}

// ---- Gemm ------------------------------------------------------------------------------------------------

// Y = alpha * op(A) * op(B) + beta * C, C broadcast to [M, N]. Integer types: exact when alpha = beta = 1,
// otherwise scaled in double and truncated, as numpy computes the ONNX reference.
template <typename T>
Status gemmTyped(KernelContext& ctx) {
  using A = GemmAcc<T>;
  const Tensor& ta = ctx.input(0);
  const Tensor& tb = ctx.input(1);
  if (ta.rank() != 2 || tb.rank() != 2) return ctx.invalid("Gemm operands must be matrices");
  const bool transA = ctx.attrs().getInt("transA", 0) != 0;
  const bool transB = ctx.attrs().getInt("transB", 0) != 0;
  const int64_t m = ta.shape()[transA ? 1 : 0];
  const int64_t k = ta.shape()[transA ? 0 : 1];
  const int64_t n = tb.shape()[transB ? 0 : 1];
  if (tb.shape()[transB ? 1 : 0] != k) {
    return ctx.invalid("A " + formatSizes(ta.shape()) + " and B " + formatSizes(tb.shape()) +
                       " do not multiply");
  }
  const float alpha = ctx.attrs().getFloat("alpha", 1.0f);
  const float beta = ctx.attrs().getFloat("beta", 1.0f);
  const Tensor* tc = ctx.hasInput(2) && beta != 0.0f ? &ctx.input(2) : nullptr;
  std::vector<int64_t> cStrides;
  if (tc != nullptr) {
    const std::vector<int64_t>& cs = tc->shape();
    bool ok = cs.size() <= 2;
    for (size_t i = 0; ok && i < cs.size(); ++i) ok = cs[i] == 1 || cs[i] == (i + 1 == cs.size() ? n : m);
    if (!ok) return ctx.invalid("C " + formatSizes(cs) + " does not broadcast to " + formatSizes({m, n}));
    cStrides = broadcastStrides(cs, {m, n});
  }
  if (m == 0 || n == 0) return {};
  AccInput<T> a(ta);
  AccInput<T> b(tb);
  // Transposed operands are copied into row-major form first.
  auto untranspose = [](const A* src, int64_t rows, int64_t cols) {
    std::vector<A> out(static_cast<size_t>(rows * cols));
    for (int64_t r = 0; r < rows; ++r) {
      for (int64_t c = 0; c < cols; ++c) out[c * rows + r] = src[r * cols + c];
    }
    return out;
  };
  std::vector<A> aT = transA ? untranspose(a.data(), k, m) : std::vector<A>();
  std::vector<A> bT = transB ? untranspose(b.data(), n, k) : std::vector<A>();
  const A* ap = transA ? aT.data() : a.data();
  const A* bp = transB ? bT.data() : b.data();
  AccOutput<T> y(ctx.output(0));
  A* yp = y.data();
  parallelGemm<A>(ctx, 1, m, n, k, k, n, n, [&](int64_t) { return GemmOperands<A>{ap, bp, yp}; });
  const T* cp = tc != nullptr ? tc->data<T>() : nullptr;
  auto cAt = [&](int64_t i, int64_t j) { return cp[i * cStrides[0] + j * cStrides[1]]; };
  for (int64_t i = 0; i < m; ++i) {
    for (int64_t j = 0; j < n; ++j) {
      A& v = yp[i * n + j];
      if constexpr (std::is_floating_point_v<A>) {
        v = static_cast<A>(alpha) * v;
        if (cp != nullptr) v += static_cast<A>(beta) * static_cast<A>(toCompute(cAt(i, j)));
      } else if (alpha == 1.0f && (cp == nullptr || beta == 1.0f)) {
        if (cp != nullptr) v += static_cast<A>(cAt(i, j));
      } else {
        double r = alpha * static_cast<double>(static_cast<T>(v));
        if (cp != nullptr) r += beta * static_cast<double>(cAt(i, j));
        v = static_cast<A>(static_cast<T>(r));
      }
    }
  }
  y.finish();
  return {};
}

Status gemmKernel(KernelContext& ctx) {
  Status st;
  if (!dispatchMatMulType(ctx.input(0).type(), [&]<typename T>() { st = gemmTyped<T>(ctx); })) {
    return ctx.unsupported("Gemm of " + std::string(ir::dataTypeInfo(ctx.input(0).type()).name));
  }
  return st;
}

// ---- Einsum ----------------------------------------------------------------------------------------------

// Integers multiply and add modulo 2^64 (then truncate), floats in their compute type.
template <typename T>
using EinsumAcc = std::conditional_t<std::is_integral_v<T>, uint64_t, Compute<T>>;

// out[o] = sum over the reduced axes of prod_i in_i[...]: one loop nest over all axes of the plan.
template <typename T>
Status einsumTyped(KernelContext& ctx, const ir::ops::EinsumPlan& plan) {
  using A = EinsumAcc<T>;
  const size_t inputs = ctx.inputCount();
  const size_t axes = plan.sizes.size();
  std::vector<bool> isOut(axes, false);
  for (int64_t a : plan.outputAxes) isOut[static_cast<size_t>(a)] = true;
  std::vector<int64_t> reduced;
  for (size_t a = 0; a < axes; ++a) {
    if (!isOut[a]) reduced.push_back(static_cast<int64_t>(a));
  }
  // Per input, its stride along every axis (repeated letters add up: a diagonal; broadcast dims read 0).
  std::vector<std::vector<int64_t>> strides(inputs, std::vector<int64_t>(axes, 0));
  std::vector<std::vector<A>> values(inputs);
  for (size_t i = 0; i < inputs; ++i) {
    const Tensor& t = ctx.input(i);
    const std::vector<int64_t> contiguous = contiguousStrides(t.shape());
    for (size_t d = 0; d < t.shape().size(); ++d) {
      if (t.shape()[d] != 1) strides[i][static_cast<size_t>(plan.inputAxes[i][d])] += contiguous[d];
    }
    values[i].resize(static_cast<size_t>(t.elementCount()));
    const T* src = t.data<T>();
    // Integers widen through int64_t first, so negative int8 values sign-extend before any unsigned wrap.
    for (size_t e = 0; e < values[i].size(); ++e) {
      if constexpr (std::is_integral_v<T>) {
        values[i][e] = static_cast<A>(static_cast<int64_t>(src[e]));
      } else {
        values[i][e] = static_cast<A>(toCompute(src[e]));
      }
    }
  }
  std::vector<int64_t> outSizes;
  for (int64_t a : plan.outputAxes) outSizes.push_back(plan.sizes[static_cast<size_t>(a)]);
  int64_t reduceCount = 1;
  for (int64_t a : reduced) reduceCount *= plan.sizes[static_cast<size_t>(a)];
  T* out = ctx.output(0).data<T>();
  const int64_t outCount = product(outSizes);
  const int64_t grain =
      std::max<int64_t>(1, 16384 / std::max<int64_t>(reduceCount * static_cast<int64_t>(inputs), 1));
  ctx.parallelFor(outCount, grain, [&](int64_t begin, int64_t end) {
    std::vector<int64_t> index(outSizes.size());
    std::vector<int64_t> r(reduced.size());
    std::vector<int64_t> base(inputs);
    std::vector<int64_t> offset(inputs);
    for (int64_t o = begin; o < end; ++o) {
      int64_t rest = o;
      for (size_t d = outSizes.size(); d-- > 0;) {
        index[d] = rest % outSizes[d];
        rest /= outSizes[d];
      }
      for (size_t i = 0; i < inputs; ++i) {
        base[i] = 0;
        for (size_t d = 0; d < outSizes.size(); ++d)
          base[i] += index[d] * strides[i][static_cast<size_t>(plan.outputAxes[d])];
        offset[i] = base[i];
      }
      std::fill(r.begin(), r.end(), 0);
      A sum = A(0);
      for (int64_t step = 0; step < reduceCount; ++step) {
        A term = values[0][static_cast<size_t>(offset[0])];
        for (size_t i = 1; i < inputs; ++i) term *= values[i][static_cast<size_t>(offset[i])];
        sum += term;
        // Advance the reduction odometer, moving every input's offset with it.
        for (size_t d = reduced.size(); d-- > 0;) {
          const auto axis = static_cast<size_t>(reduced[d]);
          for (size_t i = 0; i < inputs; ++i) offset[i] += strides[i][axis];
          if (++r[d] < plan.sizes[axis]) break;
          for (size_t i = 0; i < inputs; ++i) offset[i] -= strides[i][axis] * r[d];
          r[d] = 0;
        }
      }
      if constexpr (std::is_integral_v<T>) {
        out[o] = static_cast<T>(sum);
      } else {
        out[o] = fromCompute<T>(sum);
      }
    }
  });
  return {};
}

Status einsumKernel(KernelContext& ctx) {
  auto eq = ir::ops::parseEinsum(ctx.attrs().getString("equation"), ctx.inputCount());
  if (!eq) return ctx.invalid(eq.status().message());
  std::vector<std::vector<int64_t>> shapes;
  for (size_t i = 0; i < ctx.inputCount(); ++i) {
    if (!ctx.hasInput(i)) return ctx.invalid("Einsum input " + std::to_string(i) + " is missing");
    if (ctx.input(i).type() != ctx.input(0).type()) return ctx.invalid("Einsum inputs differ in type");
    shapes.push_back(ctx.input(i).shape());
  }
  auto plan = ir::ops::planEinsum(*eq, shapes);
  if (!plan) return ctx.invalid(plan.status().message());
  Status st;
  bool known = dispatchType(ctx.input(0).type(), [&]<typename T>() {
    if constexpr (std::is_same_v<T, bool>) {
      st = ctx.unsupported("Einsum of bool");
    } else {
      st = einsumTyped<T>(ctx, *plan);
    }
  });
  if (!known) return ctx.unsupported("Einsum of " + std::string(ir::dataTypeInfo(ctx.input(0).type()).name));
  return st;
}

TypeSet matMulTypes() {
  return floatTypes() | TypeSet{DataType::kInt32, DataType::kInt64, DataType::kUInt32, DataType::kUInt64};
}

}  // namespace

void registerLinearKernels(KernelRegistry& registry) {
  const TypeSet int8Like = {DataType::kInt8, DataType::kUInt8};
  const TypeSet int32Only = {DataType::kInt32};
  registry.add({.opType = "Conv",
                .name = "any-conv-ref",
                .inputTypes = {floatTypes()},
                .outputTypes = {floatTypes()},
                .fn = convKernel});
  registry.add({.opType = "ConvTranspose",
                .name = "any-convtranspose-ref",
                .inputTypes = {floatTypes()},
                .outputTypes = {floatTypes()},
                .fn = convTransposeKernel});
  registry.add({.opType = "ConvInteger",
                .name = "any-convinteger-ref",
                .inputTypes = {int8Like},
                .outputTypes = {int32Only},
                .fn = convIntegerKernel});
  registry.add({.opType = "QLinearConv",
                .name = "any-qlinearconv-ref",
                .inputTypes = {int8Like, floatTypes(), int8Like, int8Like, floatTypes(), int8Like,
                               floatTypes(), int8Like, int32Only},
                .outputTypes = {int8Like},
                .fn = qlinearConvKernel});
  registry.add({.opType = "Gemm",
                .name = "any-gemm-ref",
                .inputTypes = {matMulTypes()},
                .outputTypes = {matMulTypes()},
                .fn = gemmKernel});
  registry.add({.opType = "MatMul",
                .name = "any-matmul-ref",
                .inputTypes = {matMulTypes()},
                .outputTypes = {matMulTypes()},
                .fn = matMulKernel});
  registry.add({.opType = "MatMulInteger",
                .name = "any-matmulinteger-ref",
                .inputTypes = {int8Like},
                .outputTypes = {int32Only},
                .fn = matMulIntegerKernel});
  registry.add({.opType = "QLinearMatMul",
                .name = "any-qlinearmatmul-ref",
                .inputTypes = {int8Like, floatTypes(), int8Like, int8Like, floatTypes(), int8Like,
                               floatTypes(), int8Like},
                .outputTypes = {int8Like},
                .fn = qlinearMatMulKernel});
  registry.add({.opType = "Einsum",
                .name = "any-einsum-ref",
                .inputTypes = {numericTypes()},
                .outputTypes = {numericTypes()},
                .fn = einsumKernel});
}

}  // namespace lowp::kernels::ref
