// MatMul, Gemm and lowp.FusedMatMul through cuBLASLt (kernels/cuda/matmul.cpp) against the CPU reference
// kernels, in fp32, tf32, fp16 and bf16, for each batch geometry, Gemm's transposes, alpha, beta and C, and
// FusedMatMul's bias (the tensors' type or fp32) and activations.
#include <gtest/gtest.h>

#include <cmath>
#include <numbers>
#include <random>
#include <string>
#include <vector>

#include "gpu_test_util.h"
#include "kernel_under_test.h"
#include "op_runner.h"

namespace lowp::testing {
namespace {

// Tactics past the first may not exist for a problem; the first always must.
bool acceptableDecline(int heuristic, const KernelCase& c) {
  if (heuristic == 0) return false;
  const kernels::KernelDef* k = kernelNamed(c.kernel);
  NodeUnderTest n(c.opType, c.domain, c.opset, c.attrs, c.inputs, c.constantSlots);
  auto out = runOnGpu(*k, n.node(), c.inputs, n.outputType(), n.outputShape());
  return !out.isOk() && out.status().code() == StatusCode::kUnsupported &&
         out.status().message().find("cuBLASLt offers") != std::string::npos;
}

TEST(CudaMatMul, MatchesTheReference) {
  LOWP_REQUIRE_GPU();
  std::mt19937 rng(21);
  struct Shapes {
    std::vector<int64_t> a, b;
  };
  const std::vector<Shapes> cases = {
      {{37, 65}, {65, 29}},          // odd sizes
      {{64, 1024}, {1024, 96}},      // a long sum
      {{2, 3, 17, 33}, {33, 19}},    // A's batch folds into M
      {{4, 16, 32}, {4, 32, 24}},    // equal batches
      {{16, 32}, {3, 32, 8}},        // A shared by B's batch
      {{1, 2, 8, 40}, {2, 40, 12}},  // equal batches after leading ones
      {{33}, {33, 7}},               // 1-D A
      {{5, 33}, {33}},               // 1-D B
  };
  for (const LibraryPrecision& p : kLibraryPrecisions) {
    for (const Shapes& s : cases) {
      for (int h = 0; h < 3; ++h) {
        SCOPED_TRACE(std::string(p.prefix) + " h" + std::to_string(h) + " " + ir::formatSizes(s.a) + " x " +
                     ir::formatSizes(s.b));
        KernelCase c{.kernel = std::string(p.prefix) + "-matmul-cublaslt-h" + std::to_string(h),
                     .opType = "MatMul",
                     .inputs = {randomTensor(rng, p.type, s.a), randomTensor(rng, p.type, s.b)},
                     .constantSlots = {1},
                     .tolerance = p.tolerance};
        if (acceptableDecline(h, c)) continue;
        expectMatchesReference(c);
      }
    }
  }
}

TEST(CudaGemm, MatchesTheReference) {
  LOWP_REQUIRE_GPU();
  std::mt19937 rng(22);
  const int64_t m = 45, k = 77, n = 31;
  for (const LibraryPrecision& p : kLibraryPrecisions) {
    for (int transA = 0; transA < 2; ++transA) {
      for (int transB = 0; transB < 2; ++transB) {
        // C: none, [M, N] with beta 2, [N] and [1, N] as a bias.
        for (int cKind = 0; cKind < 4; ++cKind) {
          SCOPED_TRACE(std::string(p.prefix) + " transA " + std::to_string(transA) + " transB " +
                       std::to_string(transB) + " C kind " + std::to_string(cKind));
          std::vector<Tensor> inputs = {
              randomTensor(rng, p.type, transA ? std::vector<int64_t>{k, m} : std::vector<int64_t>{m, k}),
              randomTensor(rng, p.type, transB ? std::vector<int64_t>{n, k} : std::vector<int64_t>{k, n})};
          float beta = 1.0f;
          if (cKind == 1) {
            inputs.push_back(randomTensor(rng, p.type, {m, n}));
            beta = 2.0f;
          } else if (cKind == 2) {
            inputs.push_back(randomTensor(rng, p.type, {n}));
          } else if (cKind == 3) {
            inputs.push_back(randomTensor(rng, p.type, {1, n}));
          }
          expectMatchesReference({.kernel = std::string(p.prefix) + "-gemm-cublaslt-h0",
                                  .opType = "Gemm",
                                  .opset = 13,
                                  .attrs = attrs({{"transA", int64_t{transA}},
                                                  {"transB", int64_t{transB}},
                                                  {"alpha", 0.5f},
                                                  {"beta", beta}}),
                                  .inputs = inputs,
                                  .constantSlots = {1, 2},
                                  .tolerance = p.tolerance});
        }
      }
    }
  }
}

TEST(CudaFusedMatMul, MatchesTheReference) {
  LOWP_REQUIRE_GPU();
  std::mt19937 rng(25);
  struct Activation {
    const char* name;  ///< "" for none.
    float alpha, beta;
  };
  const Activation activations[] = {{"", 0, 0},         {"Relu", 0, 0},    {"LeakyRelu", 0.1f, 0},
                                    {"Clip", -0.5f, 2}, {"Sigmoid", 0, 0}, {"HardSwish", 0, 0},
                                    {"Tanh", 0, 0},     {"Gelu", 0, 0},    {"Gelu", 1, 0}};
  struct Shapes {
    std::vector<int64_t> a, b;
  };
  // An encoder's projections ([S, B, E] by [E, 3E]) and a plain 2-D product with odd sizes.
  const std::vector<Shapes> cases = {
      {{32, 2, 64}, {64, 192}}, {{37, 65}, {65, 29}}, {{2, 3, 5, 16}, {16, 24}}};
  for (const LibraryPrecision& p : kLibraryPrecisions) {
    for (const Shapes& s : cases) {
      for (const Activation& act : activations) {
        // Bias: none, of the tensors' type, fp32 (beside fp16 / bf16 tensors).
        for (int biasKind = 0; biasKind < 3; ++biasKind) {
          if (biasKind == 2 && p.type == DataType::kFloat32) continue;
          for (int h = 0; h < 2; ++h) {
            SCOPED_TRACE(std::string(p.prefix) + " h" + std::to_string(h) + " " + ir::formatSizes(s.a) +
                         " x " + ir::formatSizes(s.b) + " " + act.name + " bias kind " +
                         std::to_string(biasKind));
            std::vector<Tensor> inputs = {randomTensor(rng, p.type, s.a), randomTensor(rng, p.type, s.b)};
            if (biasKind == 1) inputs.push_back(randomTensor(rng, p.type, {s.b[1]}));
            if (biasKind == 2) inputs.push_back(randomTensor(rng, DataType::kFloat32, {s.b[1]}));
            ir::AttributeMap a;
            if (*act.name != '\0') {
              a = attrs({{"activation", std::string(act.name)},
                         {"activation_alpha", act.alpha},
                         {"activation_beta", act.beta}});
            }
            KernelCase c{.kernel = std::string(p.prefix) + "-fusedmatmul-cublaslt-h" + std::to_string(h),
                         .opType = "FusedMatMul",
                         .domain = "lowp",
                         .opset = 1,
                         .attrs = a,
                         .inputs = inputs,
                         .constantSlots = {1, 2},
                         .tolerance = p.tolerance};
            if (acceptableDecline(h, c)) continue;
            expectMatchesReference(c);
            const bool erfGelu = std::string(act.name) == "Gelu" && act.alpha == 0.0f;
            if (erfGelu && h == 0 && p.type != DataType::kFloat32) {
              c.kernel = std::string(p.prefix) + "-fusedmatmul-cublaslt-gelutanh-h0";
              expectMatchesReference(c);
            }
          }
        }
      }
    }
  }
}

// The -gelutanh tactics run the erf GELU as cuBLASLt's tanh form: on pre-activations x over [-6, 6] (row i
// of A is x_i e_0, column j of B is e_0, so the product is x_i exactly), every result lies within the
// documented 4.8e-4 of the erf GELU plus the result's own rounding, and within that rounding of the tanh
// form, which the plain tactics give where the model asks for it (activation_alpha 1).
TEST(CudaFusedMatMul, GeluTanhTacticsStayWithinTheStatedBoundOfTheErfGelu) {
  LOWP_REQUIRE_GPU();
  const int64_t m = 1201, k = 16, n = 16;
  for (const LibraryPrecision& p : kLibraryPrecisions) {
    if (p.type != DataType::kFloat16 && p.type != DataType::kBFloat16) continue;
    const double halfUlp = p.type == DataType::kFloat16 ? 0x1p-11 : 0x1p-8;  // relative
    std::vector<double> a(static_cast<size_t>(m * k), 0.0), b(static_cast<size_t>(k * n), 0.0);
    for (int64_t i = 0; i < m; ++i)
      a[static_cast<size_t>(i * k)] = -6.0 + 12.0 * static_cast<double>(i) / (m - 1);
    for (int64_t j = 0; j < n; ++j) b[static_cast<size_t>(j)] = 1.0;
    const Tensor aT = makeTensor(p.type, {m, k}, a);
    const std::vector<double> x = values(aT);  // x_i rounded to the type, at i * k
    const std::vector<Tensor> inputs = {aT, makeTensor(p.type, {k, n}, b),
                                        makeTensor(p.type, {n}, std::vector<double>(n, 0.0))};
    for (const float alpha : {0.0f, 1.0f}) {
      const std::string kernel =
          std::string(p.prefix) + "-fusedmatmul-cublaslt-" + (alpha == 0.0f ? "gelutanh-h0" : "h0");
      SCOPED_TRACE(kernel);
      NodeUnderTest node("FusedMatMul", "lowp", 1,
                         attrs({{"activation", std::string("Gelu")}, {"activation_alpha", alpha}}), inputs,
                         {1, 2});
      ASSERT_TRUE(node.status().isOk()) << node.status().message();
      auto got = runOnGpu(*kernelNamed(kernel), node.node(), inputs, node.outputType(), node.outputShape());
      ASSERT_TRUE(got.isOk()) << got.status().message();
      const std::vector<double> y = values(*got);
      double worstErf = 0.0;
      for (int64_t i = 0; i < m; ++i) {
        const double xi = x[static_cast<size_t>(i * k)];
        const double erfForm = 0.5 * xi * (1.0 + std::erf(xi / std::sqrt(2.0)));
        const double tanhForm =
            0.5 * xi * (1.0 + std::tanh(std::sqrt(2.0 / std::numbers::pi) * (xi + 0.044715 * xi * xi * xi)));
        for (int64_t j = 0; j < n; ++j) {
          const double v = y[static_cast<size_t>(i * n + j)];
          // The tanh form, rounded once to the type (cuBLASLt evaluates it in fp32 to within 1e-5).
          ASSERT_LE(std::abs(v - tanhForm), halfUlp * std::abs(tanhForm) + 1e-5) << "x = " << xi;
          worstErf = std::max(worstErf, std::abs(v - erfForm) - halfUlp * std::abs(erfForm));
        }
      }
      EXPECT_LE(worstErf, 4.8e-4);
      EXPECT_GT(worstErf, 4.0e-4) << "the tactic is documented as the tanh form, which departs by 4.7e-4";
    }
  }
}

TEST(CudaGemm, DeclinesWhatItCannotRun) {
  std::mt19937 rng(23);
  const kernels::KernelDef* gemm = kernelNamed("f32-gemm-cublaslt-h0");
  const kernels::KernelDef* matmul = kernelNamed("f32-matmul-cublaslt-h0");
  ASSERT_NE(gemm, nullptr);
  ASSERT_NE(matmul, nullptr);
  // C broadcast along rows ([M, 1]) and a row bias scaled by beta != 1.
  NodeUnderTest columnC(
      "Gemm", "", 13, {},
      {randomTensor(rng, DataType::kFloat32, {4, 5}), randomTensor(rng, DataType::kFloat32, {5, 6}),
       randomTensor(rng, DataType::kFloat32, {4, 1})},
      {1, 2});
  ASSERT_TRUE(columnC.status().isOk());
  EXPECT_FALSE(gemm->supports(columnC.node(), columnC.inputShapes()));
  NodeUnderTest scaledBias(
      "Gemm", "", 13, attrs({{"beta", 0.5f}}),
      {randomTensor(rng, DataType::kFloat32, {4, 5}), randomTensor(rng, DataType::kFloat32, {5, 6}),
       randomTensor(rng, DataType::kFloat32, {6})},
      {1, 2});
  ASSERT_TRUE(scaledBias.status().isOk());
  EXPECT_FALSE(gemm->supports(scaledBias.node(), scaledBias.inputShapes()));
  // Batch dims that broadcast against each other.
  NodeUnderTest mixed("MatMul", "", 13, {},
                      {randomTensor(rng, DataType::kFloat32, {2, 1, 4, 5}),
                       randomTensor(rng, DataType::kFloat32, {1, 3, 5, 6})},
                      {});
  ASSERT_TRUE(mixed.status().isOk());
  EXPECT_FALSE(matmul->supports(mixed.node(), mixed.inputShapes()));
}

TEST(CudaMatMul, KeepsItsPlanAcrossRunsAndRebuildsItForNewShapes) {
  LOWP_REQUIRE_GPU();
  std::mt19937 rng(24);
  const kernels::KernelDef* k = kernelNamed("f16-matmul-cublaslt-h0");
  ASSERT_NE(k, nullptr);
  std::shared_ptr<void> slot;
  for (int64_t rows : {8, 8, 24}) {
    const std::vector<Tensor> inputs = {randomTensor(rng, DataType::kFloat16, {rows, 64}),
                                        randomTensor(rng, DataType::kFloat16, {64, 40})};
    NodeUnderTest n("MatMul", "", 13, {}, inputs, {});
    ASSERT_TRUE(n.status().isOk());
    auto got = runOnGpu(*k, n.node(), inputs, n.outputType(), n.outputShape(), {}, &slot);
    ASSERT_TRUE(got.isOk()) << got.status().toString();
    auto ref = runKernel(*referenceKernel("MatMul", ""), n.node(), inputs, n.outputType(), n.outputShape());
    ASSERT_TRUE(ref.isOk());
    EXPECT_LE(relativeL2(*ref, *got), 1e-2) << rows;
  }
}

}  // namespace
}  // namespace lowp::testing
