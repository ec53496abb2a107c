// ONNX's RotaryEmbedding (ir/ops/rotary_embedding.h) against a direct computation here: each pair of a
// head's first R values turned by the angle whose cosine and sine the caches hold, 4-D and 3-D, interleaved
// or in halves, with and without position ids, part of the head rotated, fp16; bad shapes, widths and
// position ids as errors. The ONNX backend tests (test_rotary_embedding_*) cover the same modes.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "op_runner.h"

namespace lowp::testing {
namespace {

struct RotaryCase {
  std::string what;
  std::vector<int64_t> x;  ///< [B, H, S, D] or [B, S, H * D]
  int64_t heads = 0;       ///< num_heads (3-D)
  int64_t rotary = 0;      ///< rotary_embedding_dim, 0 for the head size
  bool interleaved = false;
  bool positions = true;
};

std::vector<double> uniform(std::mt19937& rng, int64_t n) {
  std::uniform_real_distribution<double> dist(-1.0, 1.0);
  std::vector<double> v(static_cast<size_t>(n));
  for (double& e : v) e = dist(rng);
  return v;
}

/// The expected Y: for token (b, s) the cosines and sines of its cache row, and each pair (x1, x2) of head
/// values turned as the complex number x1 + i x2 times cos + i sin.
std::vector<double> expected(const RotaryCase& c, const std::vector<double>& x,
                             const std::vector<double>& cosines, const std::vector<double>& sines,
                             int64_t width, const std::vector<int64_t>& ids) {
  const bool threeD = c.x.size() == 3;
  const int64_t heads = threeD ? c.heads : c.x[1];
  const int64_t batch = c.x[0];
  const int64_t sequence = threeD ? c.x[1] : c.x[2];
  const int64_t size = threeD ? c.x[2] / heads : c.x[3];
  const int64_t rotary = c.rotary > 0 ? c.rotary : size;
  std::vector<double> y = x;
  for (int64_t b = 0; b < batch; ++b) {
    for (int64_t s = 0; s < sequence; ++s) {
      const int64_t row = c.positions ? ids[static_cast<size_t>(b * sequence + s)] : b * sequence + s;
      for (int64_t h = 0; h < heads; ++h) {
        const int64_t at =
            threeD ? ((b * sequence + s) * heads + h) * size : ((b * heads + h) * sequence + s) * size;
        for (int64_t i = 0; i < rotary / 2; ++i) {
          const size_t first = static_cast<size_t>(at + (c.interleaved ? 2 * i : i));
          const size_t second = static_cast<size_t>(at + (c.interleaved ? 2 * i + 1 : i + rotary / 2));
          const double cos = cosines[static_cast<size_t>(row * width + i)];
          const double sin = sines[static_cast<size_t>(row * width + i)];
          const double x1 = x[first];
          const double x2 = x[second];
          y[first] = x1 * cos - x2 * sin;
          y[second] = x1 * sin + x2 * cos;
        }
      }
    }
  }
  return y;
}

TEST(RotaryEmbedding, TurnsEachPairByItsPositionsAngle) {
  std::mt19937 rng(91);
  const std::vector<RotaryCase> cases = {
      {"4-D, halves, position ids", {2, 3, 5, 8}},
      {"4-D, interleaved", {2, 3, 5, 8}, 0, 0, true},
      {"3-D, halves, part of the head", {2, 5, 4 * 12}, 4, 6},
      {"3-D, interleaved, part of the head", {1, 4, 2 * 16}, 2, 8, true},
      {"4-D, no position ids", {2, 2, 3, 6}, 0, 0, false, false},
      {"4-D, interleaved, no position ids, part of the head", {1, 2, 4, 10}, 0, 4, true, false},
  };
  for (const RotaryCase& c : cases) {
    for (DataType type : {DataType::kFloat32, DataType::kFloat16}) {
      SCOPED_TRACE(c.what + (type == DataType::kFloat16 ? " fp16" : " fp32"));
      const bool threeD = c.x.size() == 3;
      const int64_t batch = c.x[0];
      const int64_t sequence = threeD ? c.x[1] : c.x[2];
      const int64_t size = threeD ? c.x[2] / c.heads : c.x[3];
      const int64_t half = (c.rotary > 0 ? c.rotary : size) / 2;
      const int64_t width = half + 1;  // a cache row may hold more angles than the rotation uses
      const int64_t rows = c.positions ? 11 : batch * sequence;
      std::vector<double> angles = uniform(rng, rows * width);
      for (double& a : angles) a *= 3.0;
      std::vector<double> cosines(angles.size());
      std::vector<double> sines(angles.size());
      for (size_t i = 0; i < angles.size(); ++i) {
        cosines[i] = std::cos(angles[i]);
        sines[i] = std::sin(angles[i]);
      }
      std::vector<int64_t> ids;
      std::uniform_int_distribution<int64_t> pick(0, rows - 1);
      for (int64_t i = 0; i < batch * sequence; ++i) ids.push_back(pick(rng));
      const std::vector<double> x = uniform(rng, count(c.x));
      const std::vector<int64_t> cacheShape =
          c.positions ? std::vector<int64_t>{rows, width} : std::vector<int64_t>{batch, sequence, width};
      const Tensor xt = makeTensor(type, c.x, x);
      const Tensor cosT = makeTensor(type, cacheShape, cosines);
      const Tensor sinT = makeTensor(type, cacheShape, sines);
      std::vector<Tensor> inputs = {xt, cosT, sinT};
      if (c.positions) {
        inputs.push_back(makeTensor(DataType::kInt64, {batch, sequence}, {ids.begin(), ids.end()}));
      }
      auto run = runOp({.opType = "RotaryEmbedding",
                        .attributes = attrs({{"num_heads", c.heads},
                                             {"rotary_embedding_dim", c.rotary},
                                             {"interleaved", int64_t{c.interleaved}}}),
                        .inputs = inputs,
                        .opset = 23});
      ASSERT_TRUE(run.isOk()) << run.status().toString();
      const Tensor& y = (*run)[0];
      ASSERT_EQ(y.shape(), c.x);
      // From the values as stored (fp16 rounds them); Y rounds once more (at most 2^-11 of |y| <= 1.5).
      const std::vector<double> want = expected(c, values(xt), values(cosT), values(sinT), width, ids);
      const std::vector<double> got = values(y);
      const double tolerance = type == DataType::kFloat16 ? 1e-3 : 1e-6;
      for (size_t i = 0; i < got.size(); ++i) ASSERT_NEAR(got[i], want[i], tolerance) << "element " << i;
    }
  }
}

TEST(RotaryEmbedding, BadShapesAndPositionsAreErrors) {
  const Tensor x = makeTensor(DataType::kFloat32, {1, 2, 3, 8}, std::vector<double>(48, 0.5));
  const Tensor cache = makeTensor(DataType::kFloat32, {4, 4}, std::vector<double>(16, 0.25));
  const Tensor ids = makeTensor(DataType::kInt64, {1, 3}, {0, 1, 2});
  struct Bad {
    std::string what;
    std::vector<Tensor> inputs;
    ir::AttributeMap attributes;
    std::string says;
  };
  const std::vector<Bad> cases = {
      {"odd rotary_embedding_dim",
       {x, cache, cache, ids},
       attrs({{"rotary_embedding_dim", int64_t{3}}}),
       "rotary_embedding_dim 3"},
      {"rotary_embedding_dim over the head",
       {x, cache, cache, ids},
       attrs({{"rotary_embedding_dim", int64_t{10}}}),
       "over the head size 8"},
      {"3-D without num_heads",
       {makeTensor(DataType::kFloat32, {1, 3, 16}, std::vector<double>(48, 0.5)), cache, cache, ids},
       {},
       "num_heads"},
      {"caches narrower than the rotation",
       {x, makeTensor(DataType::kFloat32, {4, 3}, std::vector<double>(12, 0.25)),
        makeTensor(DataType::kFloat32, {4, 3}, std::vector<double>(12, 0.25)), ids},
       {},
       "needs 4"},
      {"cos and sin apart",
       {x, cache, makeTensor(DataType::kFloat32, {5, 4}, std::vector<double>(20, 0.25)), ids},
       {},
       "differ"},
      {"position ids of another shape",
       {x, cache, cache, makeTensor(DataType::kInt64, {1, 2}, {0, 1})},
       {},
       "position_ids"},
      {"a position past the cache",
       {x, cache, cache, makeTensor(DataType::kInt64, {1, 3}, {0, 4, 1})},
       {},
       "position_ids[0, 1] = 4"},
      {"a negative position",
       {x, cache, cache, makeTensor(DataType::kInt64, {1, 3}, {0, 1, -1})},
       {},
       "position_ids[0, 2] = -1"},
      {"no position ids and a 2-D cache", {x, cache, cache}, {}, "without position_ids"},
  };
  for (const Bad& bad : cases) {
    SCOPED_TRACE(bad.what);
    auto run =
        runOp({.opType = "RotaryEmbedding", .attributes = bad.attributes, .inputs = bad.inputs, .opset = 23});
    ASSERT_FALSE(run.isOk());
    EXPECT_NE(run.status().toString().find(bad.says), std::string::npos) << run.status().toString();
  }
}

}  // namespace
}  // namespace lowp::testing
