// Reference kernel of ONNX's Attention (ir/ops/onnx_attention.h), any-onnxattention-ref: Q, K and V in
// fp32, fp64, fp16 or bf16 (V's type may differ from Q's), the mask bool or float, 3-D or 4-D operands.
//
// Everything is computed in C: float, or double when Q or V is fp64 (fp16/bf16 widen exactly). Q, the keys
// (past_key then K) and the values (past_value then V) are first gathered as dense [B, H, S, size] copies;
// present_key / present_value are those copies rounded to their types. Per (batch, query head) and query
// row: the scores s[j] = scale * sum_e Q[e] K[j][e] summed in ascending e without FMA, the softcap, the bias
// (the mask read through NumPy broadcast strides, the keys past a short mask, is_causal,
// nonpad_kv_seqlen), softmax with the row maximum subtracted and the exponentials summed in double, zeros
// for a row whose every key is masked, then Y = sum_j p[j] V[j] in ascending j, rounded once to Y's type.
// Covered by the ONNX backend tests (test_attention_*) and tests/unit/test_onnx_attention.cpp.
#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <type_traits>
#include <vector>

#include "ir/ops/onnx_attention.h"
#include "kernels/reference/common.h"

namespace lowp::kernels::ref {
namespace {

using namespace ir::ops;  // NOLINT(google-build-using-namespace): the slot constants

/// An operand's sizes as [B, heads, S, head size], and whether it is stored 3-D ([B, S, heads * size]).
struct HeadsShape {
  int64_t batch = 0;
  int64_t heads = 0;
  int64_t sequence = 0;
  int64_t size = 0;
  bool threeD = false;
};

Result<HeadsShape> headsOf(const KernelContext& ctx, const Tensor& t, const char* name, int64_t headsAttr) {
  const std::vector<int64_t>& s = t.shape();
  if (s.size() == 4) return HeadsShape{s[0], s[1], s[2], s[3], false};
  if (s.size() == 3 && headsAttr > 0 && s[2] % headsAttr == 0)
    return HeadsShape{s[0], headsAttr, s[1], s[2] / headsAttr, true};
  return ctx.invalid(std::string(name) + " " + t.describe() +
                     " is neither [B, H, S, size] nor [B, S, H * size] with the heads of its attribute");
}

/// `t`, stored as `shape` says, into the dense [B, H, S, size] buffer `out` at sequence offset `at` of a
/// buffer `length` long along S.
template <typename C>
void gatherHeads(const Tensor& t, const HeadsShape& shape, int64_t at, int64_t length, std::vector<C>& out) {
  const Tensor wide = widened<C>(t);
  const C* in = wide.data<C>();
  for (int64_t b = 0; b < shape.batch; ++b) {
    for (int64_t h = 0; h < shape.heads; ++h) {
      for (int64_t s = 0; s < shape.sequence; ++s) {
        const C* from = shape.threeD ? in + ((b * shape.sequence + s) * shape.heads + h) * shape.size
                                     : in + ((b * shape.heads + h) * shape.sequence + s) * shape.size;
        C* to = out.data() + ((b * shape.heads + h) * length + at + s) * shape.size;
        std::copy(from, from + shape.size, to);
      }
    }
  }
}

template <typename C>
void storeAs(const std::vector<C>& values, Tensor& out) {
  dispatchFloat(out.type(), [&]<typename T>() {
    T* o = out.data<T>();
    for (size_t i = 0; i < values.size(); ++i) o[i] = fromCompute<T>(static_cast<Compute<T>>(values[i]));
  });
}

template <typename C>
Status attentionTyped(KernelContext& ctx) {
  const Tensor& qIn = ctx.input(kOnnxAttentionQ);
  const int64_t qHeadsAttr = ctx.attrs().getInt("q_num_heads", 0);
  const int64_t kvHeadsAttr = ctx.attrs().getInt("kv_num_heads", 0);
  LOWP_ASSIGN_OR_RETURN(const HeadsShape q, headsOf(ctx, qIn, "Q", qHeadsAttr));
  LOWP_ASSIGN_OR_RETURN(const HeadsShape k, headsOf(ctx, ctx.input(kOnnxAttentionK), "K", kvHeadsAttr));
  LOWP_ASSIGN_OR_RETURN(const HeadsShape v, headsOf(ctx, ctx.input(kOnnxAttentionV), "V", kvHeadsAttr));
  const bool cached = ctx.hasInput(kOnnxAttentionPastKey) && ctx.hasInput(kOnnxAttentionPastValue);
  const int64_t past = cached ? ctx.input(kOnnxAttentionPastKey).shape()[2] : 0;
  const int64_t batch = q.batch;
  const int64_t qHeads = q.heads;
  const int64_t kvHeads = k.heads;
  const int64_t sq = q.sequence;
  const int64_t d = q.size;
  const int64_t dv = v.size;
  const int64_t total = past + k.sequence;
  if (k.batch != batch || v.batch != batch || v.heads != kvHeads || v.sequence != k.sequence || k.size != d ||
      kvHeads == 0 || qHeads % kvHeads != 0 ||
      (cached && ctx.input(kOnnxAttentionPastValue).shape()[2] != past)) {
    return ctx.invalid("Q " + qIn.describe() + ", K " + ctx.input(kOnnxAttentionK).describe() + " and V " +
                       ctx.input(kOnnxAttentionV).describe() + " do not fit one attention");
  }

  std::vector<C> qs(static_cast<size_t>(batch * qHeads * sq * d));
  gatherHeads(qIn, q, 0, sq, qs);
  std::vector<C> keys(static_cast<size_t>(batch * kvHeads * total * d));
  std::vector<C> values(static_cast<size_t>(batch * kvHeads * total * dv));
  if (cached) {
    gatherHeads(ctx.input(kOnnxAttentionPastKey), {batch, kvHeads, past, d, false}, 0, total, keys);
    gatherHeads(ctx.input(kOnnxAttentionPastValue), {batch, kvHeads, past, dv, false}, 0, total, values);
  }
  gatherHeads(ctx.input(kOnnxAttentionK), k, past, total, keys);
  gatherHeads(ctx.input(kOnnxAttentionV), v, past, total, values);
  if (ctx.hasOutput(kOnnxAttentionPresentKey)) storeAs(keys, ctx.output(kOnnxAttentionPresentKey));
  if (ctx.hasOutput(kOnnxAttentionPresentValue)) storeAs(values, ctx.output(kOnnxAttentionPresentValue));

  // The mask, read as [B, Hq, Sq, its own last dim] through broadcast strides.
  const bool hasMask = ctx.hasInput(kOnnxAttentionMask);
  const Tensor* mask = hasMask ? &ctx.input(kOnnxAttentionMask) : nullptr;
  const bool boolMask = hasMask && mask->type() == DataType::kBool;
  Tensor maskValues;
  if (hasMask && !boolMask) maskValues = widened<C>(*mask);
  const int64_t maskKeys = hasMask && !mask->shape().empty() ? mask->shape().back() : total;
  std::vector<int64_t> maskStrides(4, 0);
  if (hasMask) {
    if (mask->shape().empty() || mask->shape().size() > 4 || maskKeys > total)
      return ctx.invalid("attn_mask " + mask->describe() + " does not broadcast into the scores");
    maskStrides = broadcastStrides(mask->shape(), {batch, qHeads, sq, maskKeys});
  }
  std::vector<int64_t> nonpad;
  if (ctx.hasInput(kOnnxAttentionNonpad)) {
    const Tensor& n = ctx.input(kOnnxAttentionNonpad);
    if (n.elementCount() != batch)
      return ctx.invalid("nonpad_kv_seqlen " + n.describe() + " is not one length per batch");
    nonpad.assign(n.data<int64_t>(), n.data<int64_t>() + batch);
  }
  const bool causal = ctx.attrs().getInt("is_causal", 0) != 0;
  const double scale = ctx.attrs().has("scale") ? ctx.attrs().getFloat("scale", 1.0f)
                                                : 1.0 / std::sqrt(static_cast<double>(d));
  const C softcap = static_cast<C>(ctx.attrs().getFloat("softcap", 0.0f));
  const int64_t mode = ctx.attrs().getInt("qk_matmul_output_mode", 0);
  const bool wantQk = ctx.hasOutput(kOnnxAttentionQk);

  std::vector<C> y(static_cast<size_t>(batch * qHeads * sq * dv));
  std::vector<C> qk(wantQk ? static_cast<size_t>(batch * qHeads * sq * total) : 0);
  const C minusInf = -std::numeric_limits<C>::infinity();
  const int64_t group = qHeads / kvHeads;
  ctx.parallelFor(batch * qHeads, 1, [&](int64_t begin, int64_t end) {
    std::vector<C> s(static_cast<size_t>(total));
    std::vector<double> e(static_cast<size_t>(total));
    for (int64_t bh = begin; bh < end; ++bh) {
      const int64_t b = bh / qHeads;
      const int64_t h = bh % qHeads;
      const C* kh = keys.data() + (b * kvHeads + h / group) * total * d;
      const C* vh = values.data() + (b * kvHeads + h / group) * total * dv;
      const int64_t causalOffset = cached ? past : !nonpad.empty() ? nonpad[b] - sq : 0;
      const int64_t validKeys = nonpad.empty() ? total : std::min(total, nonpad[b]);
      for (int64_t i = 0; i < sq; ++i) {
        const C* qi = qs.data() + (bh * sq + i) * d;
        C* qkRow = wantQk ? qk.data() + (bh * sq + i) * total : nullptr;
        for (int64_t j = 0; j < total; ++j) {
          C dot = 0;
          for (int64_t c = 0; c < d; ++c) dot += qi[c] * kh[j * d + c];
          C sj = static_cast<C>(scale * dot);
          if (softcap > 0) sj = softcap * std::tanh(sj / softcap);
          if (wantQk && mode <= 1) qkRow[j] = sj;
          bool masked = j >= maskKeys || j >= validKeys || (causal && j > i + causalOffset);
          if (hasMask && j < maskKeys) {
            const int64_t at =
                b * maskStrides[0] + h * maskStrides[1] + i * maskStrides[2] + j * maskStrides[3];
            if (boolMask) {
              masked = masked || !mask->data<bool>()[at];
            } else {
              sj += maskValues.data<C>()[at];
            }
          }
          s[static_cast<size_t>(j)] = masked ? minusInf : sj;
          if (wantQk && mode == 2) qkRow[j] = s[static_cast<size_t>(j)];
        }
        C maxValue = minusInf;
        for (int64_t j = 0; j < total; ++j) maxValue = std::max(maxValue, s[static_cast<size_t>(j)]);
        double sum = 0.0;
        if (maxValue != minusInf) {
          for (int64_t j = 0; j < total; ++j) {
            e[static_cast<size_t>(j)] = std::exp(static_cast<double>(s[static_cast<size_t>(j)] - maxValue));
            sum += e[static_cast<size_t>(j)];
          }
        }
        C* yi = y.data() + (bh * sq + i) * dv;
        std::fill(yi, yi + dv, C(0));
        for (int64_t j = 0; j < total; ++j) {
          // A row whose every key is masked attends to nothing: its probabilities are 0, not NaN.
          const C p = sum > 0 ? static_cast<C>(e[static_cast<size_t>(j)] / sum) : C(0);
          if (wantQk && mode == 3) qkRow[j] = p;
          for (int64_t c = 0; c < dv; ++c) yi[c] += p * vh[j * dv + c];
        }
      }
    }
  });

  Tensor& out = ctx.output(kOnnxAttentionY);
  if (q.threeD) {
    // [B, Hq, Sq, Dv] back to [B, Sq, Hq * Dv].
    std::vector<C> packed(y.size());
    for (int64_t b = 0; b < batch; ++b)
      for (int64_t h = 0; h < qHeads; ++h)
        for (int64_t i = 0; i < sq; ++i)
          std::copy_n(y.data() + ((b * qHeads + h) * sq + i) * dv, dv,
                      packed.data() + ((b * sq + i) * qHeads + h) * dv);
    y.swap(packed);
  }
  storeAs(y, out);
  if (wantQk) storeAs(qk, ctx.output(kOnnxAttentionQk));
  return {};
}

Status onnxAttentionKernel(KernelContext& ctx) {
  for (size_t i = 0; i < 3; ++i) {
    if (!ctx.hasInput(i)) return ctx.invalid("input " + std::to_string(i) + " (Q, K, V) is missing");
  }
  const bool wide = ctx.input(kOnnxAttentionQ).type() == DataType::kFloat64 ||
                    ctx.input(kOnnxAttentionV).type() == DataType::kFloat64;
  return wide ? attentionTyped<double>(ctx) : attentionTyped<float>(ctx);
}

}  // namespace

void registerOnnxAttentionKernels(KernelRegistry& registry) {
  const TypeSet floats = floatTypes();
  registry.add({.opType = "Attention",
                .name = "any-onnxattention-ref",
                .inputTypes = {floats, floats, floats, floats | TypeSet{DataType::kBool}, floats, floats,
                               TypeSet{DataType::kInt64}},
                .outputTypes = {floats},
                .fn = onnxAttentionKernel});
}

}  // namespace lowp::kernels::ref
