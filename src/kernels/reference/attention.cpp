// Reference kernel of lowp.Attention (ir/ops/attention.h), any-attention-ref: fp32, fp64, fp16 and bf16.
//
// Per (batch, head) and query row, in the compute type C (float; double for fp64; fp16/bf16 widened exactly):
// the scores row S = cap(scale * (Q . Kt)) + mask (cap: softcap * tanh(s / softcap) when softcap > 0; -inf
// past the diagonal with causal) with the products summed in ascending order without FMA (the
// reference gemm), softmax as the reference Softmax computes it (row maximum subtracted, the sum of
// exponentials in double), then Y = P . V by the same gemm, rounded once to the output type. The mask is read
// through NumPy broadcast strides; with zero_masked_rows a row whose every score is -inf gets P = 0. Operands
// read through views and a permuted Y (attention_layout.h) are gathered into dense copies first (grouped
// key/value heads once per key/value head). Covered by tests/unit/test_attention.cpp.
#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <memory>
#include <string>
#include <type_traits>
#include <vector>

#include "ir/ops/attention.h"
#include "ir/ops/attention_layout.h"
#include "ir/ops/fused.h"
#include "kernels/reference/attention.h"
#include "kernels/reference/common.h"
#include "kernels/reference/linear_gemm.h"

namespace lowp::kernels::ref {
namespace {

template <typename T>
Status attentionTyped(KernelContext& ctx, const Tensor& q, const Tensor& kt, const Tensor& v, int64_t kvGroup,
                      float scaleValue, Tensor& y) {
  const bool zeroMaskedRows = ir::ops::attentionZeroesMaskedRows(ctx.attrs());
  using C = std::conditional_t<std::is_same_v<T, double>, double, float>;
  const size_t rank = q.shape().size();
  const int64_t sq = q.shape()[rank - 2];
  const int64_t d = q.shape()[rank - 1];
  const int64_t sk = kt.shape()[rank - 1];
  const int64_t dv = v.shape()[rank - 1];
  int64_t heads = 1;
  for (size_t i = 0; i + 2 < rank; ++i) heads *= q.shape()[i];
  if (y.elementCount() == 0 || heads == 0) return {};
  const C scale = static_cast<C>(scaleValue);
  const C softcap = static_cast<C>(ir::ops::attentionSoftcap(ctx.attrs()));
  const bool causal = ir::ops::attentionIsCausal(ctx.attrs());

  const Tensor qc = widened<C>(q);
  const Tensor ktc = widened<C>(kt);
  const Tensor vc = widened<C>(v);
  const bool hasMask = ctx.hasInput(ir::ops::kAttentionMask);
  const Tensor maskc = hasMask ? widened<C>(ctx.input(ir::ops::kAttentionMask)) : Tensor();
  // The scores' shape [..., Sq, Sk], which the mask broadcasts into.
  std::vector<int64_t> scoresShape(q.shape().begin(), q.shape().end() - 1);
  scoresShape.push_back(sk);
  std::vector<int64_t> maskStrides;
  if (hasMask) {
    const std::vector<int64_t>& m = maskc.shape();
    bool fits = m.size() <= rank;
    for (size_t i = 0; fits && i < m.size(); ++i) {
      fits = m[i] == 1 || m[i] == scoresShape[rank - m.size() + i];
    }
    if (!fits) {
      return ctx.invalid("mask " + ir::formatSizes(m) + " does not broadcast into the scores " +
                         ir::formatSizes(scoresShape));
    }
    maskStrides = broadcastStrides(m, scoresShape);
  }

  ctx.parallelFor(heads, 1, [&](int64_t begin, int64_t end) {
    std::vector<C> scores(static_cast<size_t>(sq * sk));
    std::vector<C> out(static_cast<size_t>(sq * dv));
    for (int64_t h = begin; h < end; ++h) {
      C* s = scores.data();
      gemm(sq, sk, d, qc.data<C>() + h * sq * d, d, ktc.data<C>() + h / kvGroup * d * sk, sk, s, sk);
      for (int64_t i = 0; i < sq; ++i) {
        C* row = s + i * sk;
        for (int64_t j = 0; j < sk; ++j) row[j] = scale * row[j];
        if (softcap > 0) {
          for (int64_t j = 0; j < sk; ++j) row[j] = softcap * std::tanh(row[j] / softcap);
        }
        if (hasMask) {
          const std::array<std::vector<int64_t>, 1> strides = {maskStrides};
          forEachBroadcast<1>(scoresShape, strides, (h * sq + i) * sk, (h * sq + i + 1) * sk,
                              [&](int64_t e, const std::array<int64_t, 1>& off) {
                                row[e - (h * sq + i) * sk] += maskc.data<C>()[off[0]];
                              });
        }
        if (causal) {  // keys past the diagonal i + sk - sq
          for (int64_t j = std::max<int64_t>(0, i + sk - sq + 1); j < sk; ++j)
            row[j] = -std::numeric_limits<C>::infinity();
        }
        C maxValue = -std::numeric_limits<C>::infinity();
        for (int64_t j = 0; j < sk; ++j) maxValue = std::max(maxValue, row[j]);
        if (zeroMaskedRows && maxValue == -std::numeric_limits<C>::infinity()) {
          std::fill(row, row + sk, C(0));  // every key masked: P = 0, so Y = 0
          continue;
        }
        double sum = 0.0;
        for (int64_t j = 0; j < sk; ++j) sum += static_cast<double>(std::exp(row[j] - maxValue));
        for (int64_t j = 0; j < sk; ++j) {
          row[j] = static_cast<C>(static_cast<double>(std::exp(row[j] - maxValue)) / sum);
        }
      }
      gemm(sq, dv, sk, s, sk, vc.data<C>() + h / kvGroup * sk * dv, dv, out.data(), dv);
      T* yh = y.data<T>() + h * sq * dv;
      for (int64_t e = 0; e < sq * dv; ++e)
        yh[e] = fromCompute<T>(static_cast<Compute<T>>(out[static_cast<size_t>(e)]));
    }
  });
  return {};
}

Status attentionKernel(KernelContext& ctx) {
  LOWP_ASSIGN_OR_RETURN(ir::ops::DenseAttention * dense, denseAttentionOf(ctx));
  if (auto mismatch = ir::ops::attentionOperandMismatch(dense->q.shape(), dense->kt.shape(), dense->v.shape(),
                                                        dense->kvGroup))
    return ctx.invalid(*mismatch);
  Tensor& out = ctx.output(0);
  // A permuted Y is computed in its canonical order first.
  std::vector<int64_t> canonical(dense->q.shape().begin(), dense->q.shape().end() - 1);
  canonical.push_back(dense->v.shape().back());
  Tensor y = dense->yPerm.empty() ? Tensor::view(out.type(), out.shape(), out.data())
                                  : ir::ops::reuseTensor(dense->y, out.type(), canonical);
  Status st;
  const bool ok = dispatchFloat(out.type(), [&]<typename T>() {
    st = attentionTyped<T>(ctx, dense->q, dense->kt, dense->v, dense->kvGroup, dense->scale, y);
  });
  if (!ok) return ctx.unsupported("no reference kernel for type " + out.describe());
  if (st && !dense->yPerm.empty()) ir::ops::scatterPermuted(y, dense->yPerm, out, dense->parallel);
  return st;
}

}  // namespace

Result<ir::ops::DenseAttention*> denseAttentionOf(KernelContext& ctx) {
  for (size_t i = 0; i < 3; ++i) {
    if (!ctx.hasInput(i)) return ctx.invalid("input " + std::to_string(i) + " is missing");
  }
  std::vector<const Tensor*> inputs;
  inputs.reserve(ctx.inputCount());
  for (size_t i = 0; i < ctx.inputCount(); ++i) inputs.push_back(ctx.hasInput(i) ? &ctx.input(i) : nullptr);
  auto dense = std::static_pointer_cast<ir::ops::DenseAttention>(ctx.state());
  if (!dense) {
    dense = std::make_shared<ir::ops::DenseAttention>();
    ctx.state() = dense;
  }
  const Status filled = ir::ops::denseAttention(ctx.attrs(), inputs, ctx.parallel(), *dense);
  if (!filled) return Status(filled.code(), ctx.node().describe() + ": " + filled.message(), ctx.node().name);
  return dense.get();
}

void registerAttentionKernels(KernelRegistry& registry) {
  registry.add({.opType = ir::ops::kAttentionOp,
                .name = "any-attention-ref",
                // Q, Kt, V and the mask; then Reshape targets and scale factors (attention_layout.h).
                .inputTypes = {floatTypes(), floatTypes(), floatTypes(), floatTypes(), TypeSet::any()},
                .outputTypes = {floatTypes()},
                .fn = attentionKernel,
                .domain = ir::ops::kLowpDomain});
}

}  // namespace lowp::kernels::ref
