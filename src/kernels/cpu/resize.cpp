// Resize and Upsample on the CPU, output row by output row (a row: every index fixed but the last axis's),
// from the taps the reference kernel reads (ir/ops/resize_plan.h, resizeAxisTaps), made on every run (the
// scales may be computed; the tables hold the sum of the output's dims, not their product):
//   any-{resize,upsample}-nearest-rows
//       nearest, any stored type: each output element one input element, moved as a word of its size
//   {f32,f16,bf16}-{resize,upsample}-rows
//       linear and cubic: each output row the weighted sum, over the taps of the other axes, of input rows
//       resized along the last axis (each resized once per thread while the rows it runs reuse it), in fp32
//       and rounded once; the reference sums separable passes in double, so fp32 outputs differ by
//       rounding (relative L2 about 1e-7)
// Every mode, coordinate transformation, antialias, exclude_outside, axes and tf_crop_and_resize's
// extrapolation, as the reference. Rows are spread over lowp's pool. Plain C++ (any ISA).
// Tests: tests/unit/test_resize.cpp (CpuResize.*), against any-resize-ref.
#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string_view>
#include <utility>
#include <vector>

#include "ir/numeric.h"
#include "ir/ops/resize_plan.h"
#include "kernels/cpu/cpu_kernels.h"
#include "kernels/reference/common.h"
#include "kernels/reference/conversion_numeric.h"
#include "kernels/reference/resize.h"

namespace lowp::kernels::cpu {
namespace {

using ir::ops::ResizeMode;

using ir::ops::ResizeTapTable;

struct ResizeRowsPlan {
  ResizeMode mode = ResizeMode::kNearest;
  std::vector<int64_t> in, out;
  std::vector<ResizeTapTable> axes;
  double fill = 0.0;
};

Result<std::shared_ptr<ResizeRowsPlan>> makePlan(KernelContext& ctx) {
  const ir::Node& node = ctx.node();
  auto attrs = ir::ops::readResizeAttrs(node);
  if (!attrs) return attrs.status();
  const Tensor& x = ctx.input(0);
  auto geometry = ref::resizeGeometryOf(ctx, *attrs);
  if (!geometry) return geometry.status();
  auto plan = std::make_shared<ResizeRowsPlan>();
  plan->in = x.shape();
  plan->out = geometry->outSizes;
  plan->fill = attrs->extrapolation;
  plan->mode = attrs->mode;
  int64_t stride = 1;
  plan->axes.resize(x.shape().size());
  for (size_t d = x.shape().size(); d-- > 0;) {
    plan->axes[d] = ir::ops::resizeTapTable(
        ir::ops::resizeAxisTaps(*attrs, *geometry, d, plan->in[d], plan->out[d]), stride);
    stride *= plan->in[d];
  }
  return plan;
}

template <typename T>
float load(const T& v) {
  if constexpr (std::is_same_v<T, ir::Float16>) {
    return ir::float16ToFloat(v.bits);
  } else if constexpr (std::is_same_v<T, ir::BFloat16>) {
    return ir::bfloat16ToFloat(v.bits);
  } else {
    return v;
  }
}

template <typename T>
T store(float v) {
  if constexpr (std::is_same_v<T, ir::Float16>) {
    return T{ir::floatToFloat16(v)};
  } else if constexpr (std::is_same_v<T, ir::BFloat16>) {
    return T{ir::floatToBFloat16(v)};
  } else {
    return v;
  }
}

// One input row to read, and its weight in the output row.
struct SourceRow {
  int64_t offset;
  float weight;
};

// The input rows output row `row` combines (the product of the taps of every axis but the last); false
// where one of those axes maps it outside the input.
bool sourceRows(const ResizeRowsPlan& plan, int64_t row, std::vector<SourceRow>& rows) {
  rows.assign(1, {0, 1.0f});
  const size_t last = plan.out.size() - 1;
  int64_t stride = plan.in[last];
  int64_t rest = row;
  std::vector<SourceRow> next;
  for (size_t d = last; d-- > 0;) {
    const int64_t o = rest % plan.out[d];
    rest /= plan.out[d];
    const ResizeTapTable& t = plan.axes[d];
    if (t.identity) {
      for (SourceRow& r : rows) r.offset += o * stride;
    } else {
      const int32_t count = t.count[static_cast<size_t>(o)];
      if (count < 0) return false;
      next.clear();
      for (const SourceRow& r : rows) {
        for (int j = 0; j < count; ++j) {
          const size_t k = static_cast<size_t>(o * t.taps + j);
          next.push_back({r.offset + t.offset[k], r.weight * t.weight[k]});
        }
      }
      rows.swap(next);
    }
    stride *= plan.in[d];
  }
  return true;
}

// h = input row `in` resized along the last axis. kTaps > 0: the axis has that many taps per output index,
// summed in a loop of fixed length where an index uses all of them (all but antialiased or exclude_outside
// edges); 0: any number.
template <typename T, int kTaps>
void resizeRow(const T* in, const ResizeTapTable& axis, float* h, int64_t width) {
  for (int64_t i = 0; i < width; ++i) {
    const int32_t count = axis.count[static_cast<size_t>(i)];
    const size_t k = static_cast<size_t>(i * axis.taps);
    const int64_t* offset = axis.offset.data() + k;
    const float* w = axis.weight.data() + k;
    float sum = 0.0f;
    if (kTaps > 0 && count == kTaps) {
      for (int j = 0; j < kTaps; ++j) sum += w[j] * load(in[offset[j]]);
    } else {
      for (int j = 0; j < count; ++j) sum += w[j] * load(in[offset[j]]);
    }
    h[i] = sum;
  }
}

// The input rows one thread resized along the last axis most recently: the output rows a thread runs in
// order read mostly the same input rows (a 2x linear upsampling reads each twice), so each is resized once.
class ResizedRows {
 public:
  explicit ResizedRows(int64_t width) : width_(width) {}

  template <typename T>
  const float* get(const T* src, int64_t offset, const ResizeTapTable& axis) {
    for (Slot& s : slots_) {
      if (s.offset == offset) return s.row.data();
    }
    Slot& s = slots_[next_];
    next_ = (next_ + 1) % kSlots;
    s.offset = offset;
    s.row.resize(static_cast<size_t>(width_));
    if (axis.taps == 2) {
      resizeRow<T, 2>(src + offset, axis, s.row.data(), width_);
    } else if (axis.taps == 4) {
      resizeRow<T, 4>(src + offset, axis, s.row.data(), width_);
    } else {
      resizeRow<T, 0>(src + offset, axis, s.row.data(), width_);
    }
    return s.row.data();
  }

 private:
  static constexpr size_t kSlots = 8;  // the 4 input rows of a cubic tap, and the next output row's
  struct Slot {
    int64_t offset = -1;
    std::vector<float> row;
  };
  int64_t width_;
  std::array<Slot, kSlots> slots_;
  size_t next_ = 0;
};

// One output row of a linear or cubic resize; `sources`, `resized` and `acc` are the calling thread's.
template <typename T>
void interpolateRow(const ResizeRowsPlan& plan, const T* src, T* out, int64_t row, T fill,
                    std::vector<SourceRow>& sources, ResizedRows& resized, std::vector<float>& acc) {
  const ResizeTapTable& last = plan.axes.back();
  const auto width = static_cast<int64_t>(acc.size());
  if (!sourceRows(plan, row, sources)) {
    std::fill(out, out + width, fill);
    return;
  }
  std::fill(acc.begin(), acc.end(), 0.0f);
  for (const SourceRow& s : sources) {
    if (last.identity) {
      const T* in = src + s.offset;
      for (int64_t i = 0; i < width; ++i) acc[static_cast<size_t>(i)] += s.weight * load(in[i]);
      continue;
    }
    const float* h = resized.get(src, s.offset, last);
    for (int64_t i = 0; i < width; ++i) acc[static_cast<size_t>(i)] += s.weight * h[i];
  }
  for (int64_t i = 0; i < width; ++i) {
    const bool outside = !last.identity && last.count[static_cast<size_t>(i)] < 0;
    out[i] = outside ? fill : store<T>(acc[static_cast<size_t>(i)]);
  }
}

template <typename T>
void resizeRowsInterpolate(KernelContext& ctx, const ResizeRowsPlan& plan) {
  const T* src = ctx.input(0).data<T>();
  T* dst = ctx.output(0).data<T>();
  const int64_t width = plan.out.back();
  const int64_t rows = ctx.output(0).elementCount() / std::max<int64_t>(width, 1);
  const T fill = store<T>(static_cast<float>(plan.fill));
  ctx.parallelFor(rows, std::max<int64_t>(1, 4096 / std::max<int64_t>(width, 1)),
                  [&](int64_t begin, int64_t end) {
                    std::vector<SourceRow> sources;
                    ResizedRows resized(width);
                    std::vector<float> acc(static_cast<size_t>(width));
                    for (int64_t row = begin; row < end; ++row)
                      interpolateRow(plan, src, dst + row * width, row, fill, sources, resized, acc);
                  });
}

// Nearest over elements moved as unsigned words W of their size.
template <typename W>
void resizeRowsNearestWords(KernelContext& ctx, const ResizeRowsPlan& plan, W fill) {
  const auto* src = static_cast<const W*>(ctx.input(0).data());
  auto* dst = static_cast<W*>(ctx.output(0).data());
  const ResizeTapTable& last = plan.axes.back();
  const int64_t width = plan.out.back();
  const int64_t rows = ctx.output(0).elementCount() / std::max<int64_t>(width, 1);
  ctx.parallelFor(rows, std::max<int64_t>(1, 4096 / std::max<int64_t>(width, 1)),
                  [&](int64_t begin, int64_t end) {
                    std::vector<SourceRow> sources;
                    for (int64_t row = begin; row < end; ++row) {
                      W* out = dst + row * width;
                      if (!sourceRows(plan, row, sources)) {
                        std::fill(out, out + width, fill);
                        continue;
                      }
                      const W* in = src + sources.front().offset;
                      if (last.identity) {
                        std::copy(in, in + width, out);
                        continue;
                      }
                      for (int64_t i = 0; i < width; ++i) {
                        const size_t k = static_cast<size_t>(i * last.taps);
                        out[i] = last.count[static_cast<size_t>(i)] < 0 ? fill : in[last.offset[k]];
                      }
                    }
                  });
}

Status resizeRowsNearest(KernelContext& ctx, const ResizeRowsPlan& plan) {
  const DataType type = ctx.input(0).type();
  uint64_t fill = 0;
  ref::dispatchStorable(type, [&]<typename T>() {
    const T v = ref::convertElement<double, T>(plan.fill, true);
    static_assert(sizeof(T) <= sizeof(fill));
    std::memcpy(&fill, &v, sizeof(T));
  });
  auto words = [&]<typename W>() {
    W w{};
    std::memcpy(&w, &fill, sizeof(W));
    resizeRowsNearestWords<W>(ctx, plan, w);
    return Status();
  };
  switch (ir::dataTypeInfo(type).storageBytes) {
    case 1:
      return words.operator()<uint8_t>();
    case 2:
      return words.operator()<uint16_t>();
    case 4:
      return words.operator()<uint32_t>();
    case 8:
      return words.operator()<uint64_t>();
    default:
      return ctx.unsupported("no resize-rows kernel for " + ctx.input(0).describe());
  }
}

template <bool kNearest>
Status resizeRowsKernel(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  Tensor& y = ctx.output(0);
  // The roi, scales and sizes may be computed, so the tables are made on every run: their size is the sum
  // of the output's dims, not their product.
  auto plan = makePlan(ctx);
  if (!plan) {
    return plan.status().code() == StatusCode::kUnsupported ? ctx.unsupported(plan.status().message())
                                                            : ctx.invalid(plan.status().message());
  }
  if (((*plan)->mode == ResizeMode::kNearest) != kNearest)
    return ctx.unsupported(kNearest ? "this kernel resizes in mode nearest only" : "mode nearest");
  if ((*plan)->out != y.shape())
    return ctx.invalid("output shape " + y.describe() + " differs from the resized shape " +
                       ir::formatSizes((*plan)->out));
  if (y.elementCount() == 0) return {};
  if (x.elementCount() == 0) return ctx.invalid("cannot resize an empty tensor to a non-empty one");
  if constexpr (kNearest) {
    return resizeRowsNearest(ctx, **plan);
  } else {
    bool known = true;
    switch (x.type()) {
      case DataType::kFloat32:
        resizeRowsInterpolate<float>(ctx, **plan);
        break;
      case DataType::kFloat16:
        resizeRowsInterpolate<ir::Float16>(ctx, **plan);
        break;
      case DataType::kBFloat16:
        resizeRowsInterpolate<ir::BFloat16>(ctx, **plan);
        break;
      default:
        known = false;
    }
    if (!known) return ctx.unsupported("no resize-rows kernel for " + x.describe());
  }
  return {};
}

template <bool kNearest>
bool supportsResizeRows(const ir::Node& node, const std::vector<ir::Shape>& shapes) {
  auto attrs = ir::ops::readResizeAttrs(node);
  return attrs.isOk() && (attrs->mode == ResizeMode::kNearest) == kNearest && !shapes.empty() &&
         shapes[0].rankKnown() && shapes[0].rank() > 0;
}

}  // namespace

void registerResizeKernels(KernelRegistry& registry) {
  const TypeSet floats = {DataType::kFloat32, DataType::kFloat16, DataType::kBFloat16, DataType::kFloat64};
  const TypeSet ints = {DataType::kInt32, DataType::kInt64};
  struct Names {
    std::string_view op, nearest, f32, f16, bf16;
  };
  const Names ops[] = {
      {"Resize", "any-resize-nearest-rows", "f32-resize-rows", "f16-resize-rows", "bf16-resize-rows"},
      {"Upsample", "any-upsample-nearest-rows", "f32-upsample-rows", "f16-upsample-rows",
       "bf16-upsample-rows"}};
  for (const Names& n : ops) {
    // Resize reads X, roi, scales, sizes; Upsample X, scales.
    std::vector<TypeSet> inputs = n.op == "Resize"
                                      ? std::vector<TypeSet>{allStorableTypes(), floats, floats, ints}
                                      : std::vector<TypeSet>{allStorableTypes(), floats};
    registry.add({.opType = n.op,
                  .name = n.nearest,
                  .inputTypes = inputs,
                  .outputTypes = {allStorableTypes()},
                  .fn = &resizeRowsKernel<true>,
                  .supports = &supportsResizeRows<true>,
                  .reference = false});
    const std::pair<DataType, std::string_view> interpolating[] = {
        {DataType::kFloat32, n.f32}, {DataType::kFloat16, n.f16}, {DataType::kBFloat16, n.bf16}};
    for (const auto& [type, name] : interpolating) {
      inputs[0] = TypeSet{type};
      registry.add({.opType = n.op,
                    .name = name,
                    .inputTypes = inputs,
                    .outputTypes = {TypeSet{type}},
                    .fn = &resizeRowsKernel<false>,
                    .supports = &supportsResizeRows<false>,
                    .reference = false});
    }
  }
}

}  // namespace lowp::kernels::cpu
