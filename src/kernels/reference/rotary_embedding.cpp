// Reference kernel of ONNX's RotaryEmbedding (ir/ops/rotary_embedding.h), any-rotaryembedding-ref: X and the
// caches in fp32, fp64, fp16 or bf16. Each output element is computed in float (double for fp64) from the
// stored X, cos and sin values, c x1 - n x2 or n x1 + c x2 as written (no FMA contraction), and rounded
// once to Y's type. Position ids outside the cache's rows are an error naming the token.
// Covered by the ONNX backend tests (test_rotary_embedding_*) and tests/unit/test_rotary_embedding.cpp.
#include <string>
#include <vector>

#include "ir/ops/rotary_embedding.h"
#include "kernels/reference/common.h"

namespace lowp::kernels::ref {
namespace {

using namespace ir::ops;  // NOLINT(google-build-using-namespace): the slot constants

template <typename T>
Status rotaryTyped(KernelContext& ctx) {
  using C = Compute<T>;
  const Tensor& x = ctx.input(kRotaryX);
  const Tensor& cos = ctx.input(kRotaryCos);
  const Tensor& sin = ctx.input(kRotarySin);
  Tensor& y = ctx.output(0);
  const std::vector<int64_t>& s = x.shape();
  const bool threeD = s.size() == 3;
  if (!threeD && s.size() != 4) return ctx.invalid("X " + x.describe() + " is neither 3-D nor 4-D");
  const int64_t heads = threeD ? ctx.attrs().getInt("num_heads", 0) : s[1];
  if (heads <= 0 || (threeD && s[2] % heads != 0))
    return ctx.invalid("X " + x.describe() + " does not split into num_heads heads");
  const int64_t batch = s[0];
  const int64_t sequence = threeD ? s[1] : s[2];
  const int64_t size = threeD ? s[2] / heads : s[3];
  const int64_t rotaryAttr = ctx.attrs().getInt("rotary_embedding_dim", 0);
  const int64_t rotary = rotaryAttr > 0 ? rotaryAttr : size;
  const int64_t half = rotary / 2;
  const bool interleaved = ctx.attrs().getInt("interleaved", 0) != 0;
  const std::vector<int64_t>& cacheShape = cos.shape();
  const int64_t width = cacheShape.empty() ? 0 : cacheShape.back();
  if (rotary % 2 != 0 || rotary > size || width < half || cos.shape() != sin.shape())
    return ctx.invalid("the caches " + cos.describe() + ", " + sin.describe() + " do not rotate " +
                       std::to_string(rotary) + " of the head's " + std::to_string(size) + " values");
  const bool positions = ctx.hasInput(kRotaryPositions);
  const int64_t rows = cacheShape.size() == 2 ? cacheShape[0] : 0;
  const int64_t* ids = positions ? ctx.input(kRotaryPositions).data<int64_t>() : nullptr;
  if (positions ? cacheShape.size() != 2 || ctx.input(kRotaryPositions).elementCount() != batch * sequence
                : cacheShape.size() != 3 || cacheShape[0] != batch || cacheShape[1] != sequence) {
    return ctx.invalid("the caches " + cos.describe() + " do not match X " + x.describe() +
                       (positions ? " and position_ids " + ctx.input(kRotaryPositions).describe() : ""));
  }
  const T* in = x.data<T>();
  const T* c = cos.data<T>();
  const T* n = sin.data<T>();
  T* out = y.data<T>();
  for (int64_t b = 0; b < batch; ++b) {
    for (int64_t t = 0; t < sequence; ++t) {
      const int64_t token = b * sequence + t;
      int64_t row = token;
      if (positions) {
        row = ids[token];
        if (row < 0 || row >= rows) {
          return ctx.invalid("position_ids[" + std::to_string(b) + ", " + std::to_string(t) +
                             "] = " + std::to_string(row) + " is outside the caches' " +
                             std::to_string(rows) + " rows");
        }
      }
      const T* cosRow = c + row * width;
      const T* sinRow = n + row * width;
      for (int64_t h = 0; h < heads; ++h) {
        const int64_t at = threeD ? (token * heads + h) * size : ((b * heads + h) * sequence + t) * size;
        const T* from = in + at;
        T* to = out + at;
        for (int64_t i = 0; i < half; ++i) {
          const int64_t first = interleaved ? 2 * i : i;
          const int64_t second = interleaved ? 2 * i + 1 : i + half;
          const C x1 = toCompute(from[first]);
          const C x2 = toCompute(from[second]);
          const C cv = toCompute(cosRow[i]);
          const C sv = toCompute(sinRow[i]);
          const C cx1 = cv * x1;
          const C sx2 = sv * x2;
          const C sx1 = sv * x1;
          const C cx2 = cv * x2;
          to[first] = fromCompute<T>(cx1 - sx2);
          to[second] = fromCompute<T>(sx1 + cx2);
        }
        for (int64_t e = rotary; e < size; ++e) to[e] = from[e];
      }
    }
  }
  return {};
}

Status rotaryEmbeddingKernel(KernelContext& ctx) {
  Status status;
  if (!dispatchFloat(ctx.input(kRotaryX).type(), [&]<typename T>() { status = rotaryTyped<T>(ctx); }))
    return ctx.invalid("X " + ctx.input(kRotaryX).describe() + " is not fp32, fp64, fp16 or bf16");
  return status;
}

}  // namespace

void registerRotaryEmbeddingKernels(KernelRegistry& registry) {
  const TypeSet floats = floatTypes();
  registry.add({.opType = "RotaryEmbedding",
                .name = "any-rotaryembedding-ref",
                .inputTypes = {floats, floats, floats, TypeSet{DataType::kInt64}},
                .outputTypes = {floats},
                .fn = rotaryEmbeddingKernel});
}

}  // namespace lowp::kernels::ref
