// Reference kernels of the normalization ops (fp32, fp64, fp16, bf16; dense row-major layout).
//
// Numerics, chosen to be the oracle faster kernels are checked against:
// - statistics (means, variances, sums of squares or exponentials) accumulate in double, two-pass
//   (mean first, then the mean of squared deviations), so they do not depend on the element order;
// - the per-element transform runs in the compute type (float for fp32/fp16/bf16, double for fp64) and
//   rounds once to the storage type; LayerNormalization, GroupNormalization and RMSNormalization
//   normalise in double when the stash type or X is fp64;
// - softmax subtracts the row maximum before exponentiating.
// Covered by tests/unit/test_normalization.cpp and the ONNX conformance cases of these ops.
#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <string>
#include <type_traits>

#include "ir/ops/fused.h"
#include "ir/shape.h"
#include "kernels/reference/common.h"

namespace lowp::kernels::ref {
namespace {

int64_t product(const std::vector<int64_t>& shape, size_t begin, size_t end) {
  int64_t n = 1;
  for (size_t d = begin; d < end && d < shape.size(); ++d) n *= shape[d];
  return n;
}

/// Rows per parallel chunk so that each chunk touches about 16K elements.
int64_t grainFor(int64_t rowSize) {
  return std::max<int64_t>(1, 16384 / std::max<int64_t>(1, rowSize));
}

/// Any float tensor's elements converted to V (parameters may have another float type than X).
template <typename V>
std::vector<V> toVector(const Tensor& t) {
  std::vector<V> out(static_cast<size_t>(t.elementCount()));
  dispatchFloat(t.type(), [&]<typename P>() {
    const P* p = t.data<P>();
    for (size_t i = 0; i < out.size(); ++i) out[i] = static_cast<V>(toCompute(p[i]));
  });
  return out;
}

struct Moments {
  double mean;
  double variance;
};

/// Mean and (biased) variance of n elements x[0], x[stride], ...; NaN for n == 0.
template <typename T>
Moments momentsOf(const T* x, int64_t n, int64_t stride = 1) {
  double sum = 0.0;
  for (int64_t i = 0; i < n; ++i) sum += static_cast<double>(toCompute(x[i * stride]));
  const double mean = sum / static_cast<double>(n);
  double squares = 0.0;
  for (int64_t i = 0; i < n; ++i) {
    const double d = static_cast<double>(toCompute(x[i * stride])) - mean;
    squares += d * d;
  }
  return {mean, squares / static_cast<double>(n)};
}

/// The type a normalisation step runs in: double when X or the stash type is fp64, float otherwise.
template <typename T, typename F>
void dispatchNormalize(DataType stash, F&& f) {
  if (stash == DataType::kFloat64 || std::is_same_v<T, double>) {
    f.template operator()<double>();
  } else {
    f.template operator()<float>();
  }
}

/// Writes `values` into a statistics output of type fp32 or fp64.
void writeStatistics(Tensor& out, const std::vector<double>& values) {
  if (out.type() == DataType::kFloat64) {
    std::copy(values.begin(), values.end(), out.data<double>());
  } else {
    std::transform(values.begin(), values.end(), out.data<float>(),
                   [](double v) { return static_cast<float>(v); });
  }
}

/// True when `in` broadcasts to `out` (NumPy rules, one direction).
bool broadcastsTo(const std::vector<int64_t>& in, const std::vector<int64_t>& out) {
  if (in.size() > out.size()) return false;
  for (size_t d = 0; d < in.size(); ++d) {
    int64_t o = out[out.size() - in.size() + d];
    if (in[d] != 1 && in[d] != o) return false;
  }
  return true;
}

/// The type statistics are computed in (ONNX's stash_type); inference admits only fp32 (1) and fp64 (11).
DataType stashType(const KernelContext& ctx) {
  return ctx.attrs().getInt("stash_type", 1) == 11 ? DataType::kFloat64 : DataType::kFloat32;
}

/// Error unless inputs [1, last] that are present have input 0's type (they are read as X's type).
Status requireTypeOfX(KernelContext& ctx, size_t last) {
  for (size_t i = 1; i <= last; ++i) {
    if (ctx.hasInput(i) && ctx.input(i).type() != ctx.input(0).type()) {
      return ctx.invalid("input " + std::to_string(i) + " must have X's type");
    }
  }
  return {};
}

Status unsupportedType(KernelContext& ctx) {
  return ctx.unsupported("no reference kernel for type " +
                         std::string(ir::dataTypeInfo(ctx.input(0).type()).name));
}

template <typename F>
Status runOnFloatType(KernelContext& ctx, F&& f) {
  Status status;
  if (!dispatchFloat(ctx.input(0).type(), [&]<typename T>() { status = f.template operator()<T>(); })) {
    return unsupportedType(ctx);
  }
  return status;
}

// ---- BatchNormalization ----

/// Inference form: Y = (X - mean) / sqrt(var + epsilon) * scale + B.
Status batchNormalizationKernel(KernelContext& ctx) {
  const std::vector<int64_t>& shape = ctx.input(0).shape();
  if (shape.size() < 2) return ctx.invalid("input X must have rank >= 2");
  const bool spatial = ctx.node().opsetVersion >= 9 || ctx.attrs().getInt("spatial", 1) != 0;
  const int64_t batch = shape[0];
  const int64_t channels = shape[1];
  const int64_t inner = product(shape, 2, shape.size());
  const int64_t paramCount = spatial ? channels : channels * inner;
  for (size_t i = 1; i < 5; ++i) {
    if (ctx.input(i).elementCount() != paramCount) {
      return ctx.invalid("input " + std::to_string(i) + " has " +
                         std::to_string(ctx.input(i).elementCount()) + " elements; expected " +
                         std::to_string(paramCount));
    }
  }
  return runOnFloatType(ctx, [&]<typename T>() -> Status {
    using C = Compute<T>;
    const C eps = static_cast<C>(ctx.attrs().getFloat("epsilon", 1e-5f));
    const std::vector<C> scale = toVector<C>(ctx.input(1));
    const std::vector<C> bias = toVector<C>(ctx.input(2));
    const std::vector<C> mean = toVector<C>(ctx.input(3));
    std::vector<C> denom = toVector<C>(ctx.input(4));
    for (C& d : denom) d = std::sqrt(d + eps);
    const T* x = ctx.input(0).data<T>();
    T* y = ctx.output(0).data<T>();
    ctx.parallelFor(batch * channels, grainFor(inner), [&](int64_t begin, int64_t end) {
      for (int64_t nc = begin; nc < end; ++nc) {
        const int64_t c = nc % channels;
        for (int64_t s = 0; s < inner; ++s) {
          const int64_t p = spatial ? c : c * inner + s;
          const int64_t i = nc * inner + s;
          y[i] = fromCompute<T>((toCompute(x[i]) - mean[p]) / denom[p] * scale[p] + bias[p]);
        }
      }
    });
    return {};
  });
}

// ---- InstanceNormalization ----

/// Y[n, c] = (X[n, c] - mean) / sqrt(var + epsilon) * scale[c] + B[c], statistics over the spatial dims.
Status instanceNormalizationKernel(KernelContext& ctx) {
  const std::vector<int64_t>& shape = ctx.input(0).shape();
  if (shape.size() < 2) return ctx.invalid("input must have rank >= 2");
  const int64_t channels = shape[1];
  const int64_t inner = product(shape, 2, shape.size());
  if (ctx.input(1).elementCount() != channels || ctx.input(2).elementCount() != channels) {
    return ctx.invalid("scale and B must have one element per channel (" + std::to_string(channels) + ")");
  }
  return runOnFloatType(ctx, [&]<typename T>() -> Status {
    using C = Compute<T>;
    const double eps = ctx.attrs().getFloat("epsilon", 1e-5f);
    const std::vector<C> scale = toVector<C>(ctx.input(1));
    const std::vector<C> bias = toVector<C>(ctx.input(2));
    const T* x = ctx.input(0).data<T>();
    T* y = ctx.output(0).data<T>();
    ctx.parallelFor(shape[0] * channels, grainFor(inner), [&](int64_t begin, int64_t end) {
      for (int64_t nc = begin; nc < end; ++nc) {
        const Moments m = momentsOf(x + nc * inner, inner);
        const auto mean = static_cast<C>(m.mean);
        const auto denom = static_cast<C>(std::sqrt(m.variance + eps));
        const int64_t c = nc % channels;
        for (int64_t i = nc * inner; i < (nc + 1) * inner; ++i) {
          y[i] = fromCompute<T>((toCompute(x[i]) - mean) / denom * scale[c] + bias[c]);
        }
      }
    });
    return {};
  });
}

// ---- LayerNormalization ----

/// Normalises each row X[i0..i(axis-1), :] over the trailing dims; scale and B broadcast to X's shape.
/// Optional outputs Mean and InvStdDev hold the row statistics in the stash type.
Status layerNormalizationKernel(KernelContext& ctx) {
  const std::vector<int64_t>& shape = ctx.input(0).shape();
  auto axis = ir::normalizeAxis(ctx.attrs().getInt("axis", -1), static_cast<int64_t>(shape.size()));
  if (!axis) return ctx.invalid(axis.status().message());
  const bool hasBias = ctx.hasInput(2);
  for (size_t i = 1; i < (hasBias ? 3u : 2u); ++i) {
    if (!broadcastsTo(ctx.input(i).shape(), shape)) {
      return ctx.invalid("input " + std::to_string(i) + " does not broadcast to X's shape");
    }
  }
  const int64_t rows = product(shape, 0, static_cast<size_t>(*axis));
  const int64_t rowSize = product(shape, static_cast<size_t>(*axis), shape.size());
  const double eps = ctx.attrs().getFloat("epsilon", 1e-5f);
  std::vector<double> mean(static_cast<size_t>(rows));
  std::vector<double> invStd(static_cast<size_t>(rows));
  LOWP_RETURN_IF_ERROR(requireTypeOfX(ctx, 2));
  const DataType stash = stashType(ctx);
  return runOnFloatType(ctx, [&]<typename T>() -> Status {
    using C = Compute<T>;
    const T* x = ctx.input(0).data<T>();
    T* y = ctx.output(0).data<T>();
    ctx.parallelFor(rows, grainFor(rowSize), [&](int64_t begin, int64_t end) {
      for (int64_t r = begin; r < end; ++r) {
        const Moments m = momentsOf(x + r * rowSize, rowSize);
        mean[static_cast<size_t>(r)] = m.mean;
        invStd[static_cast<size_t>(r)] = 1.0 / std::sqrt(m.variance + eps);
      }
    });
    if (ctx.hasOutput(1)) writeStatistics(ctx.output(1), mean);
    if (ctx.hasOutput(2)) writeStatistics(ctx.output(2), invStd);
    const T* scale = ctx.input(1).data<T>();
    const T* bias = hasBias ? ctx.input(2).data<T>() : nullptr;
    const std::array<std::vector<int64_t>, 2> strides = {
        broadcastStrides(ctx.input(1).shape(), shape),
        hasBias ? broadcastStrides(ctx.input(2).shape(), shape) : std::vector<int64_t>(shape.size(), 0)};
    dispatchNormalize<T>(stash, [&]<typename N>() {
      ctx.parallelFor(rows * rowSize, 16384, [&](int64_t begin, int64_t end) {
        forEachBroadcast<2>(shape, strides, begin, end, [&](int64_t i, const std::array<int64_t, 2>& off) {
          const auto r = static_cast<size_t>(i / rowSize);
          const auto normalized = static_cast<C>((static_cast<N>(toCompute(x[i])) - static_cast<N>(mean[r])) *
                                                 static_cast<N>(invStd[r]));
          C v = normalized * toCompute(scale[off[0]]);
          if (bias != nullptr) v += toCompute(bias[off[1]]);
          y[i] = fromCompute<T>(v);
        });
      });
    });
    return {};
  });
}

// ---- lowp.FusedLayerNorm ----

/// LayerNormalization of X + Residual (read through residual_perm): the sum (NumPy broadcast) rounded to X's
/// type, as the Add stored it, then the reference LayerNormalization above.
Status fusedLayerNormKernel(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  if (!ctx.hasInput(ir::ops::kFusedLayerNormResidual)) return ctx.invalid("the residual is missing");
  const Tensor& residual = ctx.input(ir::ops::kFusedLayerNormResidual);
  const std::vector<int64_t>& shape = ctx.output(0).shape();
  const auto residualStrides = ir::ops::fusedLayerNormResidualStrides(
      residual.shape(), ctx.attrs().getInts(ir::ops::kFusedLayerNormResidualPerm), shape);
  if (residual.type() != x.type() || !broadcastsTo(x.shape(), shape) || !residualStrides) {
    return ctx.invalid("X " + x.describe() + " and the residual " + residual.describe() +
                       " do not broadcast to Y's shape " + ir::formatSizes(shape));
  }
  Tensor sum(x.type(), shape);
  const std::array<std::vector<int64_t>, 2> strides = {broadcastStrides(x.shape(), shape), *residualStrides};
  LOWP_RETURN_IF_ERROR(runOnFloatType(ctx, [&]<typename T>() -> Status {
    const T* a = x.data<T>();
    const T* b = residual.data<T>();
    T* out = sum.data<T>();
    ctx.parallelFor(sum.elementCount(), 16384, [&](int64_t begin, int64_t end) {
      forEachBroadcast<2>(shape, strides, begin, end, [&](int64_t i, const std::array<int64_t, 2>& off) {
        out[i] = fromCompute<T>(toCompute(a[off[0]]) + toCompute(b[off[1]]));
      });
    });
    return {};
  }));
  KernelContext norm(ctx.node(), {&sum, &ctx.input(1), ctx.hasInput(2) ? &ctx.input(2) : nullptr},
                     {&ctx.output(0)}, ctx.parallel(), [](DataType type, std::vector<int64_t> shape) {
                       return Tensor(type, std::move(shape));
                     });
  return layerNormalizationKernel(norm);
}

// ---- RMSNormalization ----

/// Y = X / sqrt(mean(X^2 over dims [axis, rank)) + epsilon) * scale; scale broadcasts to X's shape.
Status rmsNormalizationKernel(KernelContext& ctx) {
  const std::vector<int64_t>& shape = ctx.input(0).shape();
  auto axis = ir::normalizeAxis(ctx.attrs().getInt("axis", -1), static_cast<int64_t>(shape.size()));
  if (!axis) return ctx.invalid(axis.status().message());
  if (!broadcastsTo(ctx.input(1).shape(), shape)) return ctx.invalid("scale does not broadcast to X's shape");
  const int64_t rows = product(shape, 0, static_cast<size_t>(*axis));
  const int64_t rowSize = product(shape, static_cast<size_t>(*axis), shape.size());
  const double eps = ctx.attrs().getFloat("epsilon", 1e-5f);
  LOWP_RETURN_IF_ERROR(requireTypeOfX(ctx, 1));
  const DataType stash = stashType(ctx);
  std::vector<double> rms(static_cast<size_t>(rows));
  return runOnFloatType(ctx, [&]<typename T>() -> Status {
    using C = Compute<T>;
    const T* x = ctx.input(0).data<T>();
    T* y = ctx.output(0).data<T>();
    ctx.parallelFor(rows, grainFor(rowSize), [&](int64_t begin, int64_t end) {
      for (int64_t r = begin; r < end; ++r) {
        double squares = 0.0;
        for (int64_t i = r * rowSize; i < (r + 1) * rowSize; ++i) {
          const auto v = static_cast<double>(toCompute(x[i]));
          squares += v * v;
        }
        rms[static_cast<size_t>(r)] = std::sqrt(squares / static_cast<double>(rowSize) + eps);
      }
    });
    const T* scale = ctx.input(1).data<T>();
    const std::array<std::vector<int64_t>, 1> strides = {broadcastStrides(ctx.input(1).shape(), shape)};
    dispatchNormalize<T>(stash, [&]<typename N>() {
      ctx.parallelFor(rows * rowSize, 16384, [&](int64_t begin, int64_t end) {
        forEachBroadcast<1>(shape, strides, begin, end, [&](int64_t i, const std::array<int64_t, 1>& off) {
          const auto r = static_cast<size_t>(i / rowSize);
          const auto normalized = static_cast<C>(static_cast<N>(toCompute(x[i])) / static_cast<N>(rms[r]));
          y[i] = fromCompute<T>(normalized * toCompute(scale[off[0]]));
        });
      });
    });
    return {};
  });
}

// ---- GroupNormalization ----

/// Statistics per (n, group) over the group's C/G channels and the spatial dims; scale and B per group
/// (opset 18) or per channel (opset 21).
Status groupNormalizationKernel(KernelContext& ctx) {
  const std::vector<int64_t>& shape = ctx.input(0).shape();
  if (shape.size() < 2) return ctx.invalid("input must have rank >= 2");
  const int64_t groups = ctx.attrs().getInt("num_groups", 0);
  const int64_t channels = shape[1];
  if (groups <= 0 || channels % groups != 0) {
    return ctx.invalid("num_groups " + std::to_string(groups) + " does not divide the channel count " +
                       std::to_string(channels));
  }
  const bool perChannel = ctx.node().opsetVersion >= 21;
  const int64_t paramCount = perChannel ? channels : groups;
  if (ctx.input(1).elementCount() != paramCount || ctx.input(2).elementCount() != paramCount) {
    return ctx.invalid("scale and bias must have " + std::to_string(paramCount) + " elements");
  }
  const int64_t spatial = product(shape, 2, shape.size());
  const int64_t groupSize = channels / groups * spatial;
  const double eps = ctx.attrs().getFloat("epsilon", 1e-5f);
  const DataType stash = stashType(ctx);
  return runOnFloatType(ctx, [&]<typename T>() -> Status {
    using C = Compute<T>;
    const std::vector<C> scale = toVector<C>(ctx.input(1));
    const std::vector<C> bias = toVector<C>(ctx.input(2));
    const T* x = ctx.input(0).data<T>();
    T* y = ctx.output(0).data<T>();
    dispatchNormalize<T>(stash, [&]<typename N>() {
      ctx.parallelFor(shape[0] * groups, grainFor(groupSize), [&](int64_t begin, int64_t end) {
        for (int64_t ng = begin; ng < end; ++ng) {
          const Moments m = momentsOf(x + ng * groupSize, groupSize);
          const auto mean = static_cast<N>(m.mean);
          const auto denom = static_cast<N>(std::sqrt(m.variance + eps));
          const int64_t g = ng % groups;
          for (int64_t j = 0; j < groupSize; ++j) {
            const int64_t i = ng * groupSize + j;
            const auto p = static_cast<size_t>(perChannel ? g * (channels / groups) + j / spatial : g);
            const auto normalized = static_cast<C>((static_cast<N>(toCompute(x[i])) - mean) / denom);
            y[i] = fromCompute<T>(scale[p] * normalized + bias[p]);
          }
        }
      });
    });
    return {};
  });
}

// ---- LpNormalization ----

/// Y = X / ||X||_p along `axis` (p = 1 or 2); a zero norm gives zeros, as ONNX's reference does.
Status lpNormalizationKernel(KernelContext& ctx) {
  const std::vector<int64_t>& shape = ctx.input(0).shape();
  auto axis = ir::normalizeAxis(ctx.attrs().getInt("axis", -1), static_cast<int64_t>(shape.size()));
  if (!axis) return ctx.invalid(axis.status().message());
  const int64_t p = ctx.attrs().getInt("p", 2);
  if (p != 1 && p != 2) return ctx.invalid("p must be 1 or 2");
  const auto a = static_cast<size_t>(*axis);
  const int64_t size = shape[a];
  const int64_t inner = product(shape, a + 1, shape.size());
  const int64_t rows = product(shape, 0, a) * inner;
  return runOnFloatType(ctx, [&]<typename T>() -> Status {
    using C = Compute<T>;
    const T* x = ctx.input(0).data<T>();
    T* y = ctx.output(0).data<T>();
    ctx.parallelFor(rows, grainFor(size), [&](int64_t begin, int64_t end) {
      for (int64_t r = begin; r < end; ++r) {
        const int64_t base = r / inner * size * inner + r % inner;
        double sum = 0.0;
        for (int64_t k = 0; k < size; ++k) {
          const auto v = static_cast<double>(toCompute(x[base + k * inner]));
          sum += p == 1 ? std::fabs(v) : v * v;
        }
        const auto norm = static_cast<C>(p == 1 ? sum : std::sqrt(sum));
        for (int64_t k = 0; k < size; ++k) {
          const int64_t i = base + k * inner;
          y[i] = fromCompute<T>(norm == C(0) ? C(0) : toCompute(x[i]) / norm);
        }
      }
    });
    return {};
  });
}

// ---- MeanVarianceNormalization ----

/// Y = (X - mean) / (sqrt(var) + 1e-9), statistics over `axes` (default {0, 2, 3}), as ONNX's function
/// body defines it (the epsilon is added to the standard deviation, not the variance).
Status meanVarianceNormalizationKernel(KernelContext& ctx) {
  const std::vector<int64_t>& shape = ctx.input(0).shape();
  const auto rank = static_cast<int64_t>(shape.size());
  std::vector<bool> reduced(shape.size(), false);
  for (int64_t a : ctx.attrs().getInts("axes", {0, 2, 3})) {
    auto axis = ir::normalizeAxis(a, rank, "axes");
    if (!axis) return ctx.invalid(axis.status().message());
    reduced[static_cast<size_t>(*axis)] = true;
  }
  // Each element's statistics slot ("group") is its multi-index over the kept dims: stride 0 on the
  // reduced dims makes forEachBroadcast yield it as the offset.
  std::array<std::vector<int64_t>, 1> groupStrides = {std::vector<int64_t>(shape.size(), 0)};
  int64_t groups = 1;
  int64_t count = 1;
  for (size_t d = shape.size(); d-- > 0;) {
    if (reduced[d]) {
      count *= shape[d];
    } else {
      groupStrides[0][d] = groups;
      groups *= shape[d];
    }
  }
  const int64_t total = groups * count;
  return runOnFloatType(ctx, [&]<typename T>() -> Status {
    using C = Compute<T>;
    const T* x = ctx.input(0).data<T>();
    T* y = ctx.output(0).data<T>();
    std::vector<double> mean(static_cast<size_t>(groups), 0.0);
    std::vector<double> denom(static_cast<size_t>(groups), 0.0);
    forEachBroadcast<1>(shape, groupStrides, 0, total, [&](int64_t i, const std::array<int64_t, 1>& g) {
      mean[static_cast<size_t>(g[0])] += static_cast<double>(toCompute(x[i]));
    });
    for (double& m : mean) m /= static_cast<double>(count);
    forEachBroadcast<1>(shape, groupStrides, 0, total, [&](int64_t i, const std::array<int64_t, 1>& g) {
      const double d = static_cast<double>(toCompute(x[i])) - mean[static_cast<size_t>(g[0])];
      denom[static_cast<size_t>(g[0])] += d * d;
    });
    for (double& d : denom) d = std::sqrt(d / static_cast<double>(count)) + 1e-9;
    ctx.parallelFor(total, 16384, [&](int64_t begin, int64_t end) {
      forEachBroadcast<1>(shape, groupStrides, begin, end, [&](int64_t i, const std::array<int64_t, 1>& g) {
        const auto k = static_cast<size_t>(g[0]);
        y[i] = fromCompute<T>((toCompute(x[i]) - static_cast<C>(mean[k])) / static_cast<C>(denom[k]));
      });
    });
    return {};
  });
}

// ---- LRN ----

/// Across-channel local response normalisation:
/// Y[n, c] = X[n, c] / (bias + alpha / size * sum of X[n, c']^2 for c' in
/// [c - floor((size - 1) / 2), c + ceil((size - 1) / 2)] within [0, C))^beta.
Status lrnKernel(KernelContext& ctx) {
  const std::vector<int64_t>& shape = ctx.input(0).shape();
  if (shape.size() < 2) return ctx.invalid("input must have rank >= 2");
  const int64_t size = ctx.attrs().getInt("size", 0);
  if (size <= 0) return ctx.invalid("size must be positive");
  const int64_t channels = shape[1];
  const int64_t inner = product(shape, 2, shape.size());
  const int64_t before = (size - 1) / 2;
  const int64_t after = size - 1 - before;
  return runOnFloatType(ctx, [&]<typename T>() -> Status {
    using C = Compute<T>;
    const auto alphaOverSize =
        static_cast<C>(static_cast<double>(ctx.attrs().getFloat("alpha", 1e-4f)) / static_cast<double>(size));
    const auto beta = static_cast<C>(ctx.attrs().getFloat("beta", 0.75f));
    const auto bias = static_cast<C>(ctx.attrs().getFloat("bias", 1.0f));
    const T* x = ctx.input(0).data<T>();
    T* y = ctx.output(0).data<T>();
    ctx.parallelFor(shape[0] * channels, grainFor(inner * size), [&](int64_t begin, int64_t end) {
      for (int64_t nc = begin; nc < end; ++nc) {
        const int64_t n = nc / channels;
        const int64_t c = nc % channels;
        const int64_t first = std::max<int64_t>(0, c - before);
        const int64_t last = std::min<int64_t>(channels - 1, c + after);
        for (int64_t s = 0; s < inner; ++s) {
          double squares = 0.0;
          for (int64_t k = first; k <= last; ++k) {
            const auto v = static_cast<double>(toCompute(x[(n * channels + k) * inner + s]));
            squares += v * v;
          }
          const int64_t i = nc * inner + s;
          y[i] = fromCompute<T>(toCompute(x[i]) /
                                std::pow(bias + alphaOverSize * static_cast<C>(squares), beta));
        }
      }
    });
    return {};
  });
}

// ---- Softmax, LogSoftmax, Hardmax ----

enum class SoftmaxKind { kSoftmax, kLogSoftmax, kHardmax };

/// Applies the op to each row of `size` elements spaced `inner` apart. Opsets < 13 flatten X to 2-D at
/// `axis` (default 1): rows are the trailing block, inner == 1. Opset 13 uses the one axis (default -1).
template <SoftmaxKind kKind>
Status softmaxFamilyKernel(KernelContext& ctx) {
  const std::vector<int64_t>& shape = ctx.input(0).shape();
  const bool coerce2d = ctx.node().opsetVersion < 13;
  auto axis =
      ir::normalizeAxis(ctx.attrs().getInt("axis", coerce2d ? 1 : -1), static_cast<int64_t>(shape.size()));
  if (!axis) return ctx.invalid(axis.status().message());
  const auto a = static_cast<size_t>(*axis);
  const int64_t size = coerce2d ? product(shape, a, shape.size()) : shape[a];
  const int64_t inner = coerce2d ? 1 : product(shape, a + 1, shape.size());
  const int64_t rows = product(shape, 0, a) * inner;
  if (size == 0) return {};
  return runOnFloatType(ctx, [&]<typename T>() -> Status {
    using C = Compute<T>;
    const T* x = ctx.input(0).data<T>();
    T* y = ctx.output(0).data<T>();
    ctx.parallelFor(rows, grainFor(size), [&](int64_t begin, int64_t end) {
      for (int64_t r = begin; r < end; ++r) {
        const int64_t base = r / inner * size * inner + r % inner;
        auto at = [&](int64_t k) { return base + k * inner; };
        if constexpr (kKind == SoftmaxKind::kHardmax) {
          // The first maximum wins; a NaN counts as the maximum, as numpy's argmax has it.
          int64_t best = 0;
          C bestValue = toCompute(x[at(0)]);
          for (int64_t k = 1; k < size && !std::isnan(bestValue); ++k) {
            const C v = toCompute(x[at(k)]);
            if (std::isnan(v) || v > bestValue) {
              best = k;
              bestValue = v;
            }
          }
          for (int64_t k = 0; k < size; ++k) y[at(k)] = fromCompute<T>(k == best ? C(1) : C(0));
        } else {
          C maxValue = -std::numeric_limits<C>::infinity();
          for (int64_t k = 0; k < size; ++k) maxValue = std::max(maxValue, toCompute(x[at(k)]));
          double sum = 0.0;
          for (int64_t k = 0; k < size; ++k)
            sum += static_cast<double>(std::exp(toCompute(x[at(k)]) - maxValue));
          for (int64_t k = 0; k < size; ++k) {
            const C shifted = toCompute(x[at(k)]) - maxValue;
            if constexpr (kKind == SoftmaxKind::kSoftmax) {
              y[at(k)] = fromCompute<T>(static_cast<C>(static_cast<double>(std::exp(shifted)) / sum));
            } else {
              y[at(k)] = fromCompute<T>(shifted - static_cast<C>(std::log(sum)));
            }
          }
        }
      }
    });
    return {};
  });
}

}  // namespace

void registerNormalizationKernels(KernelRegistry& registry) {
  const std::vector<TypeSet> floats = {floatTypes()};
  auto add = [&](std::string_view op, std::string_view name, KernelFn fn) {
    registry.add({.opType = op, .name = name, .inputTypes = floats, .outputTypes = floats, .fn = fn});
  };
  add("BatchNormalization", "any-batchnorm-ref", batchNormalizationKernel);
  add("InstanceNormalization", "any-instancenorm-ref", instanceNormalizationKernel);
  add("GroupNormalization", "any-groupnorm-ref", groupNormalizationKernel);
  add("RMSNormalization", "any-rmsnorm-ref", rmsNormalizationKernel);
  add("LpNormalization", "any-lpnorm-ref", lpNormalizationKernel);
  add("MeanVarianceNormalization", "any-mvn-ref", meanVarianceNormalizationKernel);
  add("LRN", "any-lrn-ref", lrnKernel);
  add("Softmax", "any-softmax-ref", softmaxFamilyKernel<SoftmaxKind::kSoftmax>);
  add("LogSoftmax", "any-logsoftmax-ref", softmaxFamilyKernel<SoftmaxKind::kLogSoftmax>);
  add("Hardmax", "any-hardmax-ref", softmaxFamilyKernel<SoftmaxKind::kHardmax>);
  // Y has X's type; Mean and InvStdDev have the stash type (fp32 or fp64).
  registry.add({.opType = ir::ops::kFusedLayerNormOp,
                .name = "any-fusedlayernorm-ref",
                .inputTypes = floats,
                .outputTypes = floats,
                .fn = fusedLayerNormKernel,
                .domain = ir::ops::kLowpDomain});
  registry.add({.opType = "LayerNormalization",
                .name = "any-layernorm-ref",
                .inputTypes = floats,
                .outputTypes = {floatTypes(), TypeSet{DataType::kFloat32, DataType::kFloat64}},
                .fn = layerNormalizationKernel});
}

}  // namespace lowp::kernels::ref
