// lowp.Attention on the GPU (kernels/cuda/attention.cpp) against the CPU reference kernel: the tensor-core
// kernels (fp16, bf16) at every head size they take, Sk from 1 to 512 (tails of the 16-wide tiles and the
// 64-wide chunks), Sq across several 64-row tiles, 3-D and 4-D, each kind of mask, misaligned tensors; the
// CUDA-core kernels (fp32, fp16, bf16) on the same and on sizes the tensor cores decline; cuDNN's fused
// attention on each engine configuration, and what it declines.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "gpu_test_util.h"
#include "grouped_head_views.h"
#include "ir/ops/attention.h"
#include "ir/ops/attention_layout.h"
#include "kernel_under_test.h"
#include "kernels/cuda/cuda_context.h"
#include "kernels/cuda/launch.h"
#include "lowp/builder.h"
#include "op_runner.h"

namespace lowp::testing {
namespace {

struct AttentionSizes {
  std::vector<int64_t> batch;
  int64_t sq, d, sk, dv;
  std::vector<int64_t> mask;  ///< empty: none
};

std::vector<int64_t> withRows(const std::vector<int64_t>& batch, int64_t rows, int64_t cols) {
  std::vector<int64_t> s = batch;
  s.push_back(rows);
  s.push_back(cols);
  return s;
}

/// Q, Kt, V (and the mask) of `type`: Q and Kt in [-1, 1] so that scores spread, the mask in [-4, 0].
std::vector<Tensor> attentionInputs(std::mt19937& rng, DataType type, const AttentionSizes& s) {
  std::vector<Tensor> in = {randomTensor(rng, type, withRows(s.batch, s.sq, s.d), -1.0, 1.0),
                            randomTensor(rng, type, withRows(s.batch, s.d, s.sk), -1.0, 1.0),
                            randomTensor(rng, type, withRows(s.batch, s.sk, s.dv), -1.0, 1.0)};
  if (!s.mask.empty()) in.push_back(randomTensor(rng, type, s.mask, -4.0, 0.0));
  return in;
}

std::string describe(const AttentionSizes& s) {
  return "batch " + ir::formatSizes(s.batch) + " Sq " + std::to_string(s.sq) + " D " + std::to_string(s.d) +
         " Sk " + std::to_string(s.sk) + " Dv " + std::to_string(s.dv) + " mask " + ir::formatSizes(s.mask);
}

const std::vector<AttentionSizes>& tensorCoreSizes() {
  static const std::vector<AttentionSizes> sizes = {
      {{8}, 128, 32, 128, 32, {}},                   // the encoder's heads, 3-D
      {{2, 4}, 128, 64, 128, 64, {2, 1, 1, 128}},    // 4-D with a key padding mask
      {{2, 2}, 70, 128, 512, 128, {2, 2, 70, 512}},  // Sk at the limit, a full mask, a partial row tile
      {{3}, 1, 32, 1, 64, {}},                       // one query, one key
      {{2}, 65, 64, 17, 32, {65, 17}},               // Sk off the 16-tiles, a mask over the rows
      {{1, 3}, 200, 128, 100, 32, {100}},            // Sk off the 64-chunks, a mask over the keys only
      {{4}, 33, 32, 511, 128, {4, 33, 1}},           // a mask broadcast along the keys
      {{}, 96, 64, 48, 64, {}},                      // rank 2: one head
  };
  return sizes;
}

TEST(CudaAttention, TensorCoresMatchTheReference) {
  LOWP_REQUIRE_GPU();
  std::mt19937 rng(61);
  for (const auto& [type, prefix] :
       {std::pair{DataType::kFloat16, "f16"}, std::pair{DataType::kBFloat16, "bf16"}}) {
    std::vector<AttentionSizes> sizes = tensorCoreSizes();
    sizes.push_back({{2, 3}, 77, 64, 1000, 64, {2, 1, 1, 1000}});  // one pass: Sk over wmma's 512
    sizes.push_back({{1, 2}, 300, 64, 300, 64, {}});  // square: causal blocks skip the chunks past their rows
    for (const AttentionSizes& s : sizes) {
      for (const char* kernel : {"-attention-wmma-cuda", "-attention-flash-cuda"}) {
        const bool flash = std::string(kernel) == "-attention-flash-cuda";
        if (flash ? s.d != s.dv : s.sk > kernels::cuda::kAttentionTensorCoreMaxSk) continue;
        SCOPED_TRACE(std::string(prefix) + kernel + " " + describe(s));
        // Aligned; misaligned with scores capped (softcap); causal (rows before the first key give zeros).
        for (int variant = 0; variant < 3; ++variant) {
          expectMatchesReference(
              {.kernel = std::string(prefix) + kernel,
               .opType = "Attention",
               .domain = "lowp",
               .opset = 1,
               .attrs = attrs({{"scale", 0.125f},
                               {std::string(ir::ops::kAttentionSoftcap), variant == 1 ? 1.0f : 0.0f},
                               {std::string(ir::ops::kAttentionCausal), int64_t{variant == 2}},
                               {std::string(ir::ops::kAttentionZeroMaskedRows), int64_t{variant == 2}}}),
               .inputs = attentionInputs(rng, type, s),
               .tolerance = 1e-2,
               .misalign = variant == 1});
        }
      }
    }
  }
}

// The kernels' types, with the relative L2 error each may show against the reference.
const TypeCase kTypeCases[] = {{DataType::kFloat32, "f32", 1e-5},
                               {DataType::kFloat16, "f16", 1e-2},
                               {DataType::kBFloat16, "bf16", 1e-2}};

TEST(CudaAttention, CudaCoresMatchTheReference) {
  LOWP_REQUIRE_GPU();
  std::mt19937 rng(62);
  std::vector<AttentionSizes> sizes = tensorCoreSizes();
  // Sizes the tensor cores decline: odd head sizes, Sk over 512.
  sizes.push_back({{3}, 7, 5, 9, 3, {3, 7, 9}});
  sizes.push_back({{2}, 40, 48, 1000, 80, {1000}});
  sizes.push_back({{1}, 3, 1, 33, 1, {}});
  for (const TypeCase& t : kTypeCases) {
    for (const AttentionSizes& s : sizes) {
      SCOPED_TRACE(std::string(t.prefix) + " " + describe(s));
      expectMatchesReference({.kernel = std::string(t.prefix) + "-attention-cuda",
                              .opType = "Attention",
                              .domain = "lowp",
                              .opset = 1,
                              .attrs = attrs({{"scale", 0.3f}}),
                              .inputs = attentionInputs(rng, t.type, s),
                              .tolerance = t.tolerance,
                              .misalign = true});
      expectMatchesReference({.kernel = std::string(t.prefix) + "-attention-cuda",
                              .opType = "Attention",
                              .domain = "lowp",
                              .opset = 1,
                              .attrs = attrs({{"scale", 0.3f},
                                              {std::string(ir::ops::kAttentionSoftcap), 0.8f},
                                              {std::string(ir::ops::kAttentionCausal), int64_t{1}},
                                              {std::string(ir::ops::kAttentionZeroMaskedRows), int64_t{1}}}),
                              .inputs = attentionInputs(rng, t.type, s),
                              .tolerance = t.tolerance});
    }
  }
}

// The composed tactic (cuBLASLt, softmax, cuBLASLt) on every size without a mask; S and P are stored in the
// tensors' type, so fp16 / bf16 stay within the same tolerance as the fused kernels.
TEST(CudaAttention, ComposedMatchesTheReference) {
  LOWP_REQUIRE_GPU();
  std::mt19937 rng(64);
  std::vector<AttentionSizes> sizes = tensorCoreSizes();
  sizes.push_back({{3}, 7, 5, 9, 3, {}});
  sizes.push_back({{2}, 40, 48, 1000, 80, {}});
  sizes.push_back({{64, 12}, 128, 64, 128, 64, {}});  // BERT-base at batch 64
  for (const TypeCase& t : kTypeCases) {
    for (AttentionSizes s : sizes) {
      // fp32 scores of 64 x 12 heads (48 MiB, twice) leave the workspace no room: declined, as it should.
      if (t.type == DataType::kFloat32 && s.batch.size() == 2 && s.batch[0] == 64) continue;
      s.mask.clear();
      SCOPED_TRACE(std::string(t.prefix) + " " + describe(s));
      expectMatchesReference(
          {.kernel = std::string(t.prefix) + "-attention-cublaslt",
           .opType = "Attention",
           .domain = "lowp",
           .opset = 1,
           .attrs = attrs({{"scale", 0.3f}}),
           .inputs = attentionInputs(rng, t.type, s),
           .tolerance = t.type == DataType::kBFloat16 ? 2 * t.tolerance : t.tolerance,  // S and P in bf16
           .misalign = false});
    }
  }
}

// A row masked to -inf everywhere gives NaN, as the reference (and the unfused Softmax) does, or zeros with
// zero_masked_rows (ONNX's Attention lowered); other rows are unaffected.
TEST(CudaAttention, FullyMaskedRowsAreNaNOrZeros) {
  LOWP_REQUIRE_GPU();
  std::mt19937 rng(63);
  // Sk of 200: the flash kernel splits the keys of these few rows between blocks, every split of row 3
  // masked.
  const int64_t sk = 200;
  const AttentionSizes s{{2}, 16, 32, sk, 32, {16, sk}};
  for (const auto& [kernel, type] : {std::pair{"f32-attention-cuda", DataType::kFloat32},
                                     std::pair{"f16-attention-wmma-cuda", DataType::kFloat16},
                                     std::pair{"f16-attention-flash-cuda", DataType::kFloat16}}) {
    SCOPED_TRACE(kernel);
    std::vector<Tensor> in = attentionInputs(rng, type, s);
    std::vector<double> mask = values(in[3]);
    for (int64_t j = 0; j < sk; ++j)
      mask[static_cast<size_t>(3 * sk + j)] = -std::numeric_limits<double>::infinity();
    for (int64_t j = 0; j < sk; j += 3)
      mask[static_cast<size_t>(5 * sk + j)] = -std::numeric_limits<double>::infinity();
    in[3] = makeTensor(type, {16, sk}, mask);
    for (const bool zeroes : {false, true}) {
      SCOPED_TRACE(zeroes ? "zero_masked_rows" : "NaN for masked rows");
      const ir::AttributeMap attributes =
          zeroes ? attrs({{std::string(ir::ops::kAttentionZeroMaskedRows), int64_t{1}}}) : ir::AttributeMap{};
      expectMatchesReference({.kernel = kernel,
                              .opType = "Attention",
                              .domain = "lowp",
                              .opset = 1,
                              .attrs = attributes,
                              .inputs = in,
                              .tolerance = type == DataType::kFloat32 ? 1e-5 : 1e-2});
      // The comparison skips where the reference is NaN: check those rows here.
      const kernels::KernelDef* k = kernelNamed(kernel);
      ASSERT_NE(k, nullptr);
      NodeUnderTest n("Attention", "lowp", 1, attributes, in, {});
      ASSERT_TRUE(n.status().isOk()) << n.status().toString();
      auto got = runOnGpu(*k, n.node(), in, n.outputType(), n.outputShape());
      ASSERT_TRUE(got.isOk()) << got.status().toString();
      for (int64_t head = 0; head < 2; ++head) {
        for (int64_t e = 0; e < 32; ++e) {
          const double masked = elementAsDouble(*got, (head * 16 + 3) * 32 + e);
          if (zeroes) {
            EXPECT_EQ(masked, 0.0) << "head " << head << " e " << e;
          } else {
            EXPECT_TRUE(std::isnan(masked)) << "head " << head << " e " << e;
          }
          EXPECT_FALSE(std::isnan(elementAsDouble(*got, (head * 16 + 5) * 32 + e)))
              << "head " << head << " e " << e;
        }
      }
    }
  }
}

TEST(CudaAttention, TensorCoresDeclineOtherSizes) {
  std::mt19937 rng(64);
  const kernels::KernelDef* k = kernelNamed("f16-attention-wmma-cuda");
  ASSERT_NE(k, nullptr);
  for (const AttentionSizes& s :
       {AttentionSizes{{2}, 8, 48, 16, 32, {}}, AttentionSizes{{2}, 8, 32, 16, 96, {}},
        AttentionSizes{{2}, 8, 64, 513, 64, {}}}) {
    SCOPED_TRACE(describe(s));
    NodeUnderTest n("Attention", "lowp", 1, {}, attentionInputs(rng, DataType::kFloat16, s), {});
    ASSERT_TRUE(n.status().isOk()) << n.status().toString();
    EXPECT_FALSE(k->supports(n.node(), n.inputShapes()));
  }
  const kernels::KernelDef* simt = kernelNamed("f16-attention-cuda");
  ASSERT_NE(simt, nullptr);
  NodeUnderTest wide("Attention", "lowp", 1, {},
                     attentionInputs(rng, DataType::kFloat16, {{1}, 2, 1024, 4, 1025, {}}), {});
  ASSERT_TRUE(wide.status().isOk());
  EXPECT_FALSE(simt->supports(wide.node(), wide.inputShapes()));
}

// cuDNN's fused attention, each of its engine tactics timed by the builder as such (exact tactics: a
// configuration cuDNN does not offer declines). It reads K's rows contiguous, so Kt is given as a view:
// K [..., Sk, D] transposed.
TEST(CudaAttention, CudnnMatchesTheReference) {
  LOWP_REQUIRE_GPU();
  std::mt19937 rng(66);
  const ExactTactics exact;
  const std::vector<AttentionSizes> sizes = {
      {{8}, 128, 64, 128, 64, {}},      // the encoder's heads, 3-D
      {{2, 4}, 70, 64, 100, 64, {}},    // 4-D, partial tiles
      {{}, 96, 128, 48, 128, {}},       // rank 2: one head, D = 128
      {{3}, 1, 32, 1, 32, {}},          // one query, one key
      {{2, 3}, 77, 64, 1000, 64, {}},   // a long Sk
      {{2, 1, 3}, 33, 64, 65, 64, {}},  // three leading dims, merged into cuDNN's batch
  };
  for (const auto& [type, prefix] :
       {std::pair{DataType::kFloat16, "f16"}, std::pair{DataType::kBFloat16, "bf16"}}) {
    for (const AttentionSizes& s : sizes) {
      const size_t rank = s.batch.size() + 2;
      std::vector<int64_t> perm(rank);
      for (size_t d = 0; d < rank; ++d) perm[d] = static_cast<int64_t>(d);
      std::swap(perm[rank - 2], perm[rank - 1]);
      std::vector<int64_t> program;
      ir::ops::appendViewStep(program, ir::ops::ViewStepKind::kTranspose, perm);
      ir::AttributeMap a = attrs({{"scale", 0.125f}});
      a.set(std::string(ir::ops::kAttentionKtView), program);
      const std::vector<Tensor> inputs = {randomTensor(rng, type, withRows(s.batch, s.sq, s.d), -1.0, 1.0),
                                          randomTensor(rng, type, withRows(s.batch, s.sk, s.d), -1.0, 1.0),
                                          randomTensor(rng, type, withRows(s.batch, s.sk, s.dv), -1.0, 1.0)};
      int ran = 0;
      for (int engine = 0; engine < 4; ++engine) {
        const std::string kernel = std::string(prefix) + "-attention-cudnn-e" + std::to_string(engine);
        SCOPED_TRACE(kernel + " " + describe(s));
        const double error = expectMatchesReference({.kernel = kernel,
                                                     .opType = "Attention",
                                                     .domain = "lowp",
                                                     .opset = 1,
                                                     .attrs = a,
                                                     .inputs = inputs,
                                                     .tolerance = 1e-2,
                                                     .mayDecline = true});
        if (error >= 0) ++ran;
      }
      EXPECT_GT(ran, 0) << prefix << " " << describe(s) << ": no cuDNN engine ran";
    }
  }
}

// cuDNN's attention declines what it does not take: a mask, K's rows not contiguous (a dense Kt), tensors
// off 16-byte alignment.
TEST(CudaAttention, CudnnDeclinesWhatItDoesNotTake) {
  LOWP_REQUIRE_GPU();
  std::mt19937 rng(67);
  const kernels::KernelDef* kernel = kernelNamed("f16-attention-cudnn-e0");
  ASSERT_NE(kernel, nullptr);
  const AttentionSizes masked = {{2}, 16, 64, 16, 64, {2, 16, 16}};
  NodeUnderTest withMask("Attention", "lowp", 1, attrs({{"scale", 0.125f}}),
                         attentionInputs(rng, DataType::kFloat16, masked), {});
  ASSERT_TRUE(withMask.status().isOk()) << withMask.status().toString();
  EXPECT_FALSE(kernel->supports(withMask.node(), withMask.inputShapes()));
  const AttentionSizes plain = {{2}, 16, 64, 16, 64, {}};
  const std::vector<Tensor> inputs = attentionInputs(rng, DataType::kFloat16, plain);
  NodeUnderTest denseKt("Attention", "lowp", 1, attrs({{"scale", 0.125f}}), inputs, {});
  ASSERT_TRUE(denseKt.status().isOk()) << denseKt.status().toString();
  for (bool misalign : {false, true}) {
    auto got = runOnGpu(*kernel, denseKt.node(), inputs, DataType::kFloat16, denseKt.outputShape(),
                        {.misalign = misalign});
    ASSERT_FALSE(got.isOk());
    EXPECT_EQ(got.status().code(), StatusCode::kUnsupported) << got.status().toString();
  }
}

// Grouped key/value heads as lower_attention makes them: Q [B, Hkv, G, Sq, D], and K and V [B, Hkv, Sk, D]
// read through Unsqueeze and Expand views (stride 0 along G; Kt transposed too): every CUDA kernel reads a
// key/value head in place for its group, cuDNN's as its grouped-query form.
TEST(CudaAttention, GroupedHeadViewsMatchTheReference) {
  LOWP_REQUIRE_GPU();
  std::mt19937 rng(68);
  const ExactTactics exact;
  const int64_t b = 2, kvHeads = 2, group = 4, d = 64;
  const ir::AttributeMap a = groupedHeadAttributes(0.125f, 4);
  struct Case {
    int64_t sq, sk;
    bool mask;  ///< a key padding mask [B, 1, 1, 1, Sk]
  };
  // A prompt's rows; a generated token's row against a long cache, with and without a padding mask (the
  // flash kernel folds each group's rows into one head and splits the keys between blocks).
  for (const Case c : {Case{33, 200, false}, Case{1, 3000, false}, Case{1, 3000, true}}) {
    for (const auto& [type, prefix] :
         {std::pair{DataType::kFloat16, "f16"}, std::pair{DataType::kBFloat16, "bf16"}}) {
      const std::vector<Tensor> inputs = {
          randomTensor(rng, type, {b, kvHeads, group, c.sq, d}, -1.0, 1.0),
          randomTensor(rng, type, {b, kvHeads, c.sk, d}, -1.0, 1.0),
          randomTensor(rng, type, {b, kvHeads, c.sk, d}, -1.0, 1.0),
          c.mask ? randomTensor(rng, type, {b, 1, 1, 1, c.sk}, -4.0, 0.0) : Tensor(),
          makeTensor(DataType::kInt64, {5}, {1, 1, group, 1, 1})};
      int cudnnRan = 0;
      for (const char* kernel : {"-attention-flash-cuda", "-attention-wmma-cuda", "-attention-cuda",
                                 "-attention-cudnn-e0", "-attention-cudnn-e1"}) {
        const bool cudnn = std::string(kernel).find("cudnn") != std::string::npos;
        const bool wmma = std::string(kernel) == "-attention-wmma-cuda";
        if ((wmma && c.sk > kernels::cuda::kAttentionTensorCoreMaxSk) || (cudnn && c.mask)) continue;
        SCOPED_TRACE(std::string(prefix) + kernel + " Sq " + std::to_string(c.sq) + " Sk " +
                     std::to_string(c.sk) + (c.mask ? " with a mask" : ""));
        const double error = expectMatchesReference({.kernel = std::string(prefix) + kernel,
                                                     .opType = "Attention",
                                                     .domain = "lowp",
                                                     .opset = 1,
                                                     .attrs = a,
                                                     .inputs = inputs,
                                                     .constantSlots = {4},
                                                     .tolerance = 1e-2,
                                                     .mayDecline = cudnn});
        if (cudnn && error >= 0) ++cudnnRan;
      }
      if (!c.mask) {
        EXPECT_GT(cudnnRan, 0) << prefix << ": no cuDNN engine ran the grouped heads";
      }
    }
  }
}

// Q, Kt and V read in place from one packed projection [S, B, 3 * E] through the views fuse_attention_layout
// makes of PyTorch's export (Reshape, Gather, Reshape to [S, B * H, D], Transpose, Reshape to [B, H, S, D];
// Kt transposed once more), Y written as [S, B, H, D], the scale partly from an input.
TEST(CudaAttention, PackedProjectionViewsMatchTheReference) {
  LOWP_REQUIRE_GPU();
  std::mt19937 rng(65);
  struct Packed {
    int64_t s, batch, heads, d;
  };
  auto ints = [](std::vector<int64_t> v) {
    return makeTensor(DataType::kInt64, {static_cast<int64_t>(v.size())},
                      std::vector<double>(v.begin(), v.end()));
  };
  for (const Packed& p : {Packed{128, 4, 12, 64}, Packed{70, 3, 2, 32}, Packed{9, 2, 3, 128}}) {
    const int64_t e = p.heads * p.d;
    using ir::ops::ViewStepKind;
    std::vector<int64_t> programs[3];
    for (int64_t part = 0; part < 3; ++part) {
      std::vector<int64_t>& program = programs[part];
      ir::ops::appendViewStep(program, ViewStepKind::kReshape, {5, 0});
      ir::ops::appendViewStep(program, ViewStepKind::kGather, {2, part});
      ir::ops::appendViewStep(program, ViewStepKind::kReshape, {6, 0});
      ir::ops::appendViewStep(program, ViewStepKind::kTranspose, {1, 0, 2});
      ir::ops::appendViewStep(program, ViewStepKind::kReshape, {7, 0});
      if (part == 1) ir::ops::appendViewStep(program, ViewStepKind::kTranspose, {0, 1, 3, 2});
    }
    ir::AttributeMap a = attrs({{"scale", 0.5f}});
    a.set(std::string(ir::ops::kAttentionQView), programs[0]);
    a.set(std::string(ir::ops::kAttentionKtView), programs[1]);
    a.set(std::string(ir::ops::kAttentionVView), programs[2]);
    a.set(std::string(ir::ops::kAttentionYPerm), std::vector<int64_t>{2, 0, 1, 3});
    a.set(std::string(ir::ops::kAttentionScaleInputs), std::vector<int64_t>{4});
    for (const auto& [type, prefix] :
         {std::pair{DataType::kFloat16, "f16"}, std::pair{DataType::kBFloat16, "bf16"}}) {
      const Tensor qkv = randomTensor(rng, type, {p.s, p.batch, 3 * e}, -1.0, 1.0);
      const std::vector<Tensor> inputs = {qkv,
                                          qkv,
                                          qkv,
                                          Tensor(),
                                          makeTensor(DataType::kFloat32, {1}, {0.25}),
                                          ints({p.s, p.batch, 3, e}),
                                          ints({p.s, p.batch * p.heads, p.d}),
                                          ints({p.batch, p.heads, p.s, p.d})};
      for (const char* kernel :
           {"-attention-flash-cuda", "-attention-wmma-cuda", "-attention-cuda", "-attention-cudnn-e0"}) {
        // Aligned, the tensor cores' rows move 16 bytes at a time; misaligned, one element at a time
        // (cuDNN's attention declines misaligned rows: CudnnDeclinesWhatItDoesNotTake).
        for (bool misalign : {false, true}) {
          if (misalign && std::string(kernel) == "-attention-cudnn-e0") continue;
          SCOPED_TRACE(std::string(prefix) + kernel + " S " + std::to_string(p.s) + " D " +
                       std::to_string(p.d) + (misalign ? " misaligned" : ""));
          expectMatchesReference({.kernel = std::string(prefix) + kernel,
                                  .opType = "Attention",
                                  .domain = "lowp",
                                  .opset = 1,
                                  .attrs = a,
                                  .inputs = inputs,
                                  .constantSlots = {4, 5, 6, 7},
                                  .tolerance = 1e-2,
                                  .misalign = misalign});
        }
      }
    }
  }
}

/// `net` built for the GPU, fp16 allowed or not.
Result<std::shared_ptr<Engine>> buildForGpu(const NetworkDefinition& net, bool fp16) {
  BuilderConfig config;
  config.setDevice(Device::kCuda);
  if (fp16) config.setFlag(BuilderFlag::kFP16);
  StderrLogger logger(Severity::kError);
  return Builder(logger).build(net, config);
}

/// The engine's layer `name`, or nullptr.
const LayerInfo* layerNamed(const Engine& engine, const std::string& name) {
  for (const LayerInfo& layer : engine.layers()) {
    if (layer.name == name) return &layer;
  }
  return nullptr;
}

// ONNX's Attention with a bool key mask, built for the GPU: lowered to lowp.Attention (its mask made
// additive), rows of a batch whose every key is masked give zeros, the rest match the CPU reference kernel.
TEST(CudaAttention, OnnxAttentionWithAMaskBuildsForTheGpu) {
  LOWP_REQUIRE_GPU();
  std::mt19937 rng(64);
  const int64_t b = 2, heads = 4, s = 64, e = 128;
  std::vector<double> keep(static_cast<size_t>(b * s), 0.0);
  for (int64_t j = 0; j < 50; ++j) keep[static_cast<size_t>(j)] = 1.0;  // batch 1 keeps no key
  const Tensor mask = makeTensor(DataType::kBool, {b, 1, 1, s}, keep);
  const std::vector<LayerAttribute> attributes = {{"q_num_heads", heads}, {"kv_num_heads", heads}};
  for (const bool fp16 : {false, true}) {
    SCOPED_TRACE(fp16 ? "fp16 allowed" : "fp32");
    NetworkDefinition net;
    for (const char* name : {"q", "k", "v"})
      ASSERT_TRUE(net.addInput(name, DataType::kFloat32, {b, s, e}).isOk());
    ASSERT_TRUE(net.addConstant("mask", mask).isOk());
    ASSERT_TRUE(net.addLayer("Attention", "attn", {"q", "k", "v", "mask"}, {"y"}, attributes).isOk());
    ASSERT_TRUE(net.markOutput("y").isOk());
    auto engine = buildForGpu(net, fp16);
    ASSERT_TRUE(engine.isOk()) << engine.status().toString();
    const LayerInfo* attention = layerNamed(**engine, "attn");
    ASSERT_NE(attention, nullptr);
    EXPECT_EQ(attention->opType, "lowp.Attention");
    const Tensor q = randomTensor(rng, DataType::kFloat32, {b, s, e}, -1.0, 1.0);
    const Tensor k = randomTensor(rng, DataType::kFloat32, {b, s, e}, -1.0, 1.0);
    const Tensor v = randomTensor(rng, DataType::kFloat32, {b, s, e}, -1.0, 1.0);
    auto context = (*engine)->createExecutionContext();
    std::vector<NamedTensor> outputs;
    const Status ran = context->execute(std::vector<NamedTensor>{{"q", q}, {"k", k}, {"v", v}}, outputs);
    ASSERT_TRUE(ran.isOk()) << ran.toString();
    auto want =
        runOp({.opType = "Attention",
               .attributes = attrs({{"q_num_heads", int64_t{heads}}, {"kv_num_heads", int64_t{heads}}}),
               .inputs = {q, k, v, mask},
               .opset = 23});
    ASSERT_TRUE(want.isOk()) << want.status().toString();
    EXPECT_LT(relativeL2((*want)[0], outputs[0].tensor), fp16 ? 1e-2 : 1e-3);
    for (int64_t i = s * e; i < 2 * s * e; ++i) {
      ASSERT_EQ(elementAsDouble(outputs[0].tensor, i), 0.0) << "element " << i;
    }
  }
}

// A decoder's attention: ONNX's Attention with grouped key/value heads (8 query heads, 2 key/value heads), a
// cache whose present outputs the model reads, is_causal and nonpad_kv_seqlen, built for the GPU: lowered to
// lowp.Attention, whose CUDA kernels read each key/value head in place for its group (a view of stride 0),
// and equal to the CPU reference kernel; the present outputs equal the cache and the new keys and values.
TEST(CudaAttention, OnnxAttentionWithGroupedHeadsAndACacheBuildsForTheGpu) {
  LOWP_REQUIRE_GPU();
  std::mt19937 rng(65);
  const int64_t b = 2, hq = 8, hkv = 2, sq = 16, past = 48, d = 64;
  const Tensor pastKey = randomTensor(rng, DataType::kFloat32, {b, hkv, past, d}, -1.0, 1.0);
  const Tensor pastValue = randomTensor(rng, DataType::kFloat32, {b, hkv, past, d}, -1.0, 1.0);
  const Tensor nonpad = makeTensor(DataType::kInt64, {b}, {double(past + sq), double(past + sq - 5)});
  const std::vector<LayerAttribute> attributes = {{"is_causal", int64_t{1}}};
  for (const bool fp16 : {false, true}) {
    SCOPED_TRACE(fp16 ? "fp16 allowed" : "fp32");
    NetworkDefinition net;
    ASSERT_TRUE(net.addInput("q", DataType::kFloat32, {b, hq, sq, d}).isOk());
    ASSERT_TRUE(net.addInput("k", DataType::kFloat32, {b, hkv, sq, d}).isOk());
    ASSERT_TRUE(net.addInput("v", DataType::kFloat32, {b, hkv, sq, d}).isOk());
    ASSERT_TRUE(net.addConstant("past_key", pastKey).isOk());
    ASSERT_TRUE(net.addConstant("past_value", pastValue).isOk());
    ASSERT_TRUE(net.addConstant("nonpad", nonpad).isOk());
    ASSERT_TRUE(net.addLayer("Attention", "attn", {"q", "k", "v", "", "past_key", "past_value", "nonpad"},
                             {"y", "present_key", "present_value"}, attributes)
                    .isOk());
    for (const char* output : {"y", "present_key", "present_value"})
      ASSERT_TRUE(net.markOutput(output).isOk());
    auto engine = buildForGpu(net, fp16);
    ASSERT_TRUE(engine.isOk()) << engine.status().toString();
    const LayerInfo* attention = layerNamed(**engine, "attn");
    ASSERT_NE(attention, nullptr);
    EXPECT_EQ(attention->opType, "lowp.Attention");
    EXPECT_NE(attention->tactic.find("cuda"), std::string::npos) << "tactic '" << attention->tactic << "'";
    const Tensor q = randomTensor(rng, DataType::kFloat32, {b, hq, sq, d}, -1.0, 1.0);
    const Tensor k = randomTensor(rng, DataType::kFloat32, {b, hkv, sq, d}, -1.0, 1.0);
    const Tensor v = randomTensor(rng, DataType::kFloat32, {b, hkv, sq, d}, -1.0, 1.0);
    auto context = (*engine)->createExecutionContext();
    std::vector<NamedTensor> outputs;
    const Status ran = context->execute(std::vector<NamedTensor>{{"q", q}, {"k", k}, {"v", v}}, outputs);
    ASSERT_TRUE(ran.isOk()) << ran.toString();
    auto want = runOp({.opType = "Attention",
                       .attributes = attrs({{"is_causal", int64_t{1}}}),
                       .inputs = {q, k, v, Tensor(), pastKey, pastValue, nonpad},
                       .outputCount = 3,
                       .opset = 24});
    ASSERT_TRUE(want.isOk()) << want.status().toString();
    ASSERT_EQ(outputs.size(), 3u);
    for (size_t i = 0; i < 3; ++i) {
      ASSERT_EQ((*want)[i].shape(), outputs[i].tensor.shape()) << outputs[i].name;
      EXPECT_LT(relativeL2((*want)[i], outputs[i].tensor), fp16 && i == 0 ? 1e-2 : 1e-3) << outputs[i].name;
    }
  }
}

}  // namespace
}  // namespace lowp::testing
