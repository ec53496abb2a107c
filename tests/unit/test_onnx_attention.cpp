// ONNX's Attention (ir/ops/onnx_attention.h): lowered to lowp.Attention where it fits (lower_attention.cpp)
// and then equal to its reference kernel; grouped heads, a cache, causal and bool masks (a row with every
// key masked included) against a direct computation here; bad shapes as errors that name the layer. The ONNX
// backend tests (test_attention_*) cover the reference kernel's every mode.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "lowp/builder.h"
#include "op_runner.h"

namespace lowp::testing {
namespace {

Tensor randomFloats(std::mt19937& rng, const std::vector<int64_t>& shape) {
  std::uniform_real_distribution<double> dist(-1.0, 1.0);
  std::vector<double> v(static_cast<size_t>(count(shape)));
  for (double& x : v) x = dist(rng);
  return makeTensor(DataType::kFloat32, shape, v);
}

double relativeL2(const Tensor& ref, const Tensor& got) {
  double diff = 0.0;
  double norm = 0.0;
  for (int64_t i = 0; i < ref.elementCount(); ++i) {
    const double r = elementAsDouble(ref, i);
    const double g = elementAsDouble(got, i);
    diff += (g - r) * (g - r);
    norm += r * r;
  }
  return std::sqrt(diff / norm);
}

class QuietLogger final : public Logger {
 public:
  void log(Severity /*severity*/, std::string_view /*message*/) override {}
};

struct Case {
  std::string what;
  std::vector<int64_t> q;
  std::vector<int64_t> k;
  std::vector<int64_t> v;
  std::vector<LayerAttribute> attributes;
};

// An engine of one Attention layer named "attn" reading q, k and v.
Result<std::shared_ptr<Engine>> buildAttention(const Case& c,
                                               const std::vector<std::string>& extraInputs = {},
                                               const std::vector<Tensor>& extraConstants = {}) {
  auto net = std::make_unique<NetworkDefinition>();
  LOWP_RETURN_IF_ERROR(net->addInput("q", DataType::kFloat32, c.q));
  LOWP_RETURN_IF_ERROR(net->addInput("k", DataType::kFloat32, c.k));
  LOWP_RETURN_IF_ERROR(net->addInput("v", DataType::kFloat32, c.v));
  std::vector<std::string> inputs = {"q", "k", "v"};
  for (size_t i = 0; i < extraInputs.size(); ++i) {
    if (!extraInputs[i].empty()) LOWP_RETURN_IF_ERROR(net->addConstant(extraInputs[i], extraConstants[i]));
    inputs.push_back(extraInputs[i]);
  }
  LOWP_RETURN_IF_ERROR(net->addLayer("Attention", "attn", inputs, {"y"}, c.attributes).status());
  LOWP_RETURN_IF_ERROR(net->markOutput("y"));
  QuietLogger logger;
  return Builder(logger).build(*net, BuilderConfig());
}

/// The op of the engine's layer `name` ("" when there is none).
std::string opOf(const Engine& engine, const std::string& name) {
  for (const LayerInfo& layer : engine.layers()) {
    if (layer.name == name) return layer.opType;
  }
  return "";
}

std::vector<NamedTensor> run(const Engine& engine, const std::vector<NamedTensor>& inputs) {
  auto context = engine.createExecutionContext();
  std::vector<NamedTensor> outputs;
  const Status s = context->execute(inputs, outputs);
  EXPECT_TRUE(s.isOk()) << s.toString();
  return outputs;
}

ir::AttributeMap toAttributeMap(const std::vector<LayerAttribute>& attributes) {
  ir::AttributeMap map;
  for (const LayerAttribute& a : attributes) {
    std::visit([&](const auto& value) { map.set(a.name, value); }, a.value);
  }
  return map;
}

/// Y of the engine (whose layer "attn" must have been lowered) and of the reference kernel of ONNX's
/// Attention, for random q, k and v; `extra` are the layer's other inputs in slot order (a default Tensor
/// for an omitted one). Empty tensors after a failure, which is reported.
struct Outputs {
  Tensor engine;
  Tensor reference;
};
Outputs runLoweredAndReference(const Engine& engine, const Case& c, const std::vector<Tensor>& extra,
                               std::mt19937& rng) {
  EXPECT_EQ(opOf(engine, "attn"), "lowp.Attention");
  const Tensor q = randomFloats(rng, c.q);
  const Tensor k = randomFloats(rng, c.k);
  const Tensor v = randomFloats(rng, c.v);
  const auto got = run(engine, {{"q", q}, {"k", k}, {"v", v}});
  std::vector<Tensor> inputs = {q, k, v};
  inputs.insert(inputs.end(), extra.begin(), extra.end());
  auto want = runOp(
      {.opType = "Attention", .attributes = toAttributeMap(c.attributes), .inputs = inputs, .opset = 24});
  if (got.size() != 1 || !want.isOk()) {
    ADD_FAILURE() << (want.isOk() ? "the engine gave " + std::to_string(got.size()) + " outputs"
                                  : want.status().toString());
    return {};
  }
  EXPECT_EQ((*want)[0].shape(), got[0].tensor.shape());
  return {got[0].tensor, (*want)[0]};
}

TEST(OnnxAttention, LowersToTheFusedKernelAndMatchesTheReference) {
  std::mt19937 rng(23);
  const std::vector<Case> cases = {
      {"3-D, 4 heads",
       {2, 37, 64},
       {2, 37, 64},
       {2, 37, 64},
       {{"q_num_heads", int64_t{4}}, {"kv_num_heads", int64_t{4}}}},
      {"3-D, cross attention, head sizes 8 and 12",
       {1, 5, 24},
       {1, 19, 24},
       {1, 19, 36},
       {{"q_num_heads", int64_t{3}}, {"kv_num_heads", int64_t{3}}}},
      {"4-D, scale 0.3", {2, 3, 29, 16}, {2, 3, 41, 16}, {2, 3, 41, 24}, {{"scale", 0.3f}}},
      {"3-D, causal",
       {2, 37, 64},
       {2, 37, 64},
       {2, 37, 64},
       {{"q_num_heads", int64_t{4}}, {"kv_num_heads", int64_t{4}}, {"is_causal", int64_t{1}}}},
      {"4-D, causal, fewer queries than keys",
       {1, 2, 9, 16},
       {1, 2, 23, 16},
       {1, 2, 23, 16},
       {{"is_causal", int64_t{1}}}},
  };
  for (const Case& c : cases) {
    auto engine = buildAttention(c);
    ASSERT_TRUE(engine.isOk()) << c.what << ": " << engine.status().toString();
    const Outputs y = runLoweredAndReference(**engine, c, {}, rng);
    EXPECT_LT(relativeL2(y.reference, y.engine), 1e-5) << c.what;
  }
}

// Masks lower too: a bool mask through Where, with zeros (not NaN) for a row whose every key is masked, as
// ONNX's Attention defines; a float mask as it is; either with the causal mask added.
TEST(OnnxAttention, MaskedAttentionLowersAndKeepsZerosForMaskedRows) {
  std::mt19937 rng(25);
  const int64_t b = 2, h = 4, s = 37, e = 64;
  Case c{"3-D with a key mask",
         {b, s, e},
         {b, s, e},
         {b, s, e},
         {{"q_num_heads", int64_t{h}}, {"kv_num_heads", int64_t{h}}}};
  // Per batch, which keys count: batch 0 the first 30; batch 1 none at all (every row masked).
  std::vector<double> keep(static_cast<size_t>(b * s), 0.0);
  for (int64_t j = 0; j < 30; ++j) keep[static_cast<size_t>(j)] = 1.0;
  std::vector<double> additive(keep.size());
  for (size_t i = 0; i < keep.size(); ++i)
    additive[i] = keep[i] != 0.0 ? 0.5 * std::sin(double(i)) : -std::numeric_limits<double>::infinity();
  const Tensor masks[] = {makeTensor(DataType::kBool, {b, 1, 1, s}, keep),
                          makeTensor(DataType::kFloat32, {b, 1, 1, s}, additive)};
  for (const int64_t causal : {0, 1}) {
    c.attributes.push_back({"is_causal", causal});
    for (const Tensor& mask : masks) {
      SCOPED_TRACE(std::string(mask.type() == DataType::kBool ? "bool mask" : "float mask") +
                   (causal ? ", causal" : ""));
      auto engine = buildAttention(c, {"mask"}, {mask});
      ASSERT_TRUE(engine.isOk()) << engine.status().toString();
      const Outputs y = runLoweredAndReference(**engine, c, {mask}, rng);
      EXPECT_LT(relativeL2(y.reference, y.engine), 1e-5);
      for (int64_t i = s * e; i < 2 * s * e; ++i) {  // batch 1
        ASSERT_EQ(elementAsDouble(y.engine, i), 0.0) << "element " << i;
      }
    }
    c.attributes.pop_back();
  }
}

// Direct computation: Q [B, Hq, Sq, D], keys and values [B, Hkv, T, D / Dv] with the cache first, a bool
// mask [Sq, T] (true: attend), causal from offset P, in double.
std::vector<double> directAttention(const Tensor& q, const Tensor& keys, const Tensor& values,
                                    const std::vector<bool>& mask, int64_t past, double scale) {
  const int64_t b = q.shape()[0], hq = q.shape()[1], sq = q.shape()[2], d = q.shape()[3];
  const int64_t hkv = keys.shape()[1], t = keys.shape()[2], dv = values.shape()[3];
  std::vector<double> y(static_cast<size_t>(b * hq * sq * dv), 0.0);
  for (int64_t bi = 0; bi < b; ++bi) {
    for (int64_t h = 0; h < hq; ++h) {
      const int64_t kh = h / (hq / hkv);
      for (int64_t i = 0; i < sq; ++i) {
        std::vector<double> s(static_cast<size_t>(t), -std::numeric_limits<double>::infinity());
        double maxValue = -std::numeric_limits<double>::infinity();
        for (int64_t j = 0; j < t; ++j) {
          if (!mask[static_cast<size_t>(i * t + j)] || j > i + past) continue;
          double dot = 0;
          for (int64_t e = 0; e < d; ++e) {
            dot += elementAsDouble(q, ((bi * hq + h) * sq + i) * d + e) *
                   elementAsDouble(keys, ((bi * hkv + kh) * t + j) * d + e);
          }
          s[static_cast<size_t>(j)] = scale * dot;
          maxValue = std::max(maxValue, scale * dot);
        }
        if (maxValue == -std::numeric_limits<double>::infinity()) continue;  // every key masked: zeros
        double sum = 0;
        for (double& x : s) sum += (x = std::exp(x - maxValue));
        for (int64_t j = 0; j < t; ++j) {
          for (int64_t e = 0; e < dv; ++e) {
            y[static_cast<size_t>(((bi * hq + h) * sq + i) * dv + e)] +=
                s[static_cast<size_t>(j)] / sum * elementAsDouble(values, ((bi * hkv + kh) * t + j) * dv + e);
          }
        }
      }
    }
  }
  return y;
}

// Grouped heads, a cache, is_causal and a bool mask lower too; the engine and the reference kernel both
// match a direct computation.
TEST(OnnxAttention, GroupedHeadsCacheAndMasksLowerAndMatchADirectComputation) {
  std::mt19937 rng(24);
  const int64_t b = 2, hq = 4, hkv = 2, sq = 3, skv = 3, past = 2, d = 8, dv = 6, t = past + skv;
  const Case c{"grouped heads, cache, causal, bool mask",
               {b, hq, sq, d},
               {b, hkv, skv, d},
               {b, hkv, skv, dv},
               {{"is_causal", int64_t{1}}}};
  // Row 1 masks every key it may see; the others one key each.
  std::vector<bool> maskBits(static_cast<size_t>(sq * t), true);
  for (int64_t j = 0; j < t; ++j) maskBits[static_cast<size_t>(1 * t + j)] = false;
  maskBits[static_cast<size_t>(0 * t + 1)] = false;
  maskBits[static_cast<size_t>(2 * t + 4)] = false;
  std::vector<double> maskValues(maskBits.begin(), maskBits.end());
  const Tensor mask = makeTensor(DataType::kBool, {sq, t}, maskValues);
  const Tensor pastKey = randomFloats(rng, {b, hkv, past, d});
  const Tensor pastValue = randomFloats(rng, {b, hkv, past, dv});
  auto engine = buildAttention(c, {"mask", "past_key", "past_value"}, {mask, pastKey, pastValue});
  ASSERT_TRUE(engine.isOk()) << engine.status().toString();
  EXPECT_EQ(opOf(**engine, "attn"), "lowp.Attention");
  const Tensor q = randomFloats(rng, c.q);
  const Tensor k = randomFloats(rng, c.k);
  const Tensor v = randomFloats(rng, c.v);
  const auto got = run(**engine, {{"q", q}, {"k", k}, {"v", v}});
  ASSERT_EQ(got.size(), 1u);
  auto reference = runOp({.opType = "Attention",
                          .attributes = toAttributeMap(c.attributes),
                          .inputs = {q, k, v, mask, pastKey, pastValue},
                          .opset = 23});
  ASSERT_TRUE(reference.isOk()) << reference.status().toString();
  // The keys and values with the cache first.
  Tensor keys(DataType::kFloat32, {b, hkv, t, d});
  Tensor values(DataType::kFloat32, {b, hkv, t, dv});
  for (int64_t bh = 0; bh < b * hkv; ++bh) {
    for (int64_t j = 0; j < t; ++j) {
      for (int64_t e = 0; e < d; ++e)
        keys.data<float>()[(bh * t + j) * d + e] = j < past ? pastKey.data<float>()[(bh * past + j) * d + e]
                                                            : k.data<float>()[(bh * skv + j - past) * d + e];
      for (int64_t e = 0; e < dv; ++e)
        values.data<float>()[(bh * t + j) * dv + e] = j < past
                                                          ? pastValue.data<float>()[(bh * past + j) * dv + e]
                                                          : v.data<float>()[(bh * skv + j - past) * dv + e];
    }
  }
  const std::vector<double> want =
      directAttention(q, keys, values, maskBits, past, 1.0 / std::sqrt(double(d)));
  for (const Tensor* y : {&got[0].tensor, static_cast<const Tensor*>(&(*reference)[0])}) {
    SCOPED_TRACE(y == &got[0].tensor ? "engine" : "reference kernel");
    ASSERT_EQ(y->shape(), (std::vector<int64_t>{b, hq, sq, dv}));
    for (int64_t i = 0; i < y->elementCount(); ++i) {
      ASSERT_FALSE(std::isnan(elementAsDouble(*y, i))) << "element " << i;
      EXPECT_NEAR(elementAsDouble(*y, i), want[static_cast<size_t>(i)], 1e-5) << "element " << i;
    }
    // Row 1 attends to nothing: zeros in every head.
    for (int64_t bh = 0; bh < b * hq; ++bh) {
      for (int64_t e = 0; e < dv; ++e) EXPECT_EQ(elementAsDouble(*y, (bh * sq + 1) * dv + e), 0.0);
    }
  }
}

// Grouped heads in 3-D and 4-D with masks of every rank (a heads dim of 1 or of every query head), a cache,
// nonpad_kv_seqlen with and without is_causal, softcap: each lowers to lowp.Attention and equals the
// reference kernel.
TEST(OnnxAttention, GroupedHeadsWithMasksCacheAndPaddingLowerAndMatchTheReference) {
  std::mt19937 rng(26);
  const int64_t b = 2, hq = 6, hkv = 2, sq = 5, skv = 7, past = 3, d = 16;
  struct Variant {
    std::string what;
    bool threeD;
    std::vector<int64_t> maskShape;  ///< empty: no mask
    bool cache;
    bool nonpad;
    bool causal;
    float softcap = 0.0f;
    bool square = false;  ///< as many new keys as queries (the causal diagonal ends at the last key)
  };
  const std::vector<Variant> variants = {
      {"4-D, mask [B, Hq, Sq, T]", false, {b, hq, sq, skv}, false, false, false},
      {"4-D, mask [B, 1, Sq, T], causal", false, {b, 1, sq, skv}, false, false, true},
      {"4-D, mask [Hq, Sq, T]", false, {hq, sq, skv}, false, false, false},
      {"3-D, mask [1, Sq, T]", true, {1, sq, skv}, false, false, false},
      {"3-D, mask [T]", true, {skv}, false, false, false},
      {"4-D, cache, causal, mask [B, Hq, 1, T]", false, {b, hq, 1, past + skv}, true, false, true},
      {"3-D, cache, nonpad", true, {}, true, true, false},
      {"4-D, nonpad, causal", false, {}, false, true, true},
      {"4-D, nonpad, causal, mask [Sq, T]", false, {sq, skv}, false, true, true},
      {"3-D, softcap 0.7", true, {}, false, false, false, 0.7f},
      {"4-D, cache, causal, mask [B, 1, Sq, T], softcap 2",
       false,
       {b, 1, sq, past + skv},
       true,
       false,
       true,
       2.0f},
      // Causal diagonals that end at the last key: lowp.Attention's causal attribute.
      {"4-D, causal, Sq = T", false, {}, false, false, true, 0.0f, true},
      {"3-D, cache, causal, Sq = new keys, mask [B, Hq, Sq, T]",
       true,
       {b, hq, sq, past + sq},
       true,
       false,
       true,
       0.0f,
       true},
      {"4-D, cache, nonpad, causal, Sq = new keys", false, {}, true, true, true, 0.0f, true},
  };
  for (const Variant& variant : variants) {
    SCOPED_TRACE(variant.what);
    const int64_t fresh = variant.square ? sq : skv;
    Case c{variant.what, {b, hq, sq, d}, {b, hkv, fresh, d}, {b, hkv, fresh, d}, {}};
    if (variant.threeD) {
      c.q = {b, sq, hq * d};
      c.k = {b, fresh, hkv * d};
      c.v = {b, fresh, hkv * d};
      c.attributes = {{"q_num_heads", hq}, {"kv_num_heads", hkv}};
    }
    if (variant.causal) c.attributes.push_back({"is_causal", int64_t{1}});
    if (variant.softcap > 0.0f) c.attributes.push_back({"softcap", variant.softcap});
    std::vector<std::string> names;
    std::vector<Tensor> constants;
    auto add = [&](const std::string& name, Tensor t) {
      names.push_back(name);
      constants.push_back(std::move(t));
    };
    if (!variant.maskShape.empty()) {
      std::vector<double> bits(static_cast<size_t>(count(variant.maskShape)));
      std::bernoulli_distribution keep(0.8);
      for (double& x : bits) x = keep(rng) ? 1.0 : 0.0;
      add("mask", makeTensor(DataType::kBool, variant.maskShape, bits));
    } else if (variant.cache || variant.nonpad) {
      add("", Tensor());
    }
    if (variant.cache) {
      add("past_key", randomFloats(rng, {b, hkv, past, d}));
      add("past_value", randomFloats(rng, {b, hkv, past, d}));
    } else if (variant.nonpad) {
      add("", Tensor());
      add("", Tensor());
    }
    if (variant.nonpad) {
      const int64_t keys = variant.cache ? past + fresh : fresh;
      add("nonpad", makeTensor(DataType::kInt64, {b}, {double(keys - 2), double(keys)}));
    }
    auto engine = buildAttention(c, names, constants);
    ASSERT_TRUE(engine.isOk()) << engine.status().toString();
    const Outputs y = runLoweredAndReference(**engine, c, constants, rng);
    EXPECT_LT(relativeL2(y.reference, y.engine), 1e-5);
  }
}

TEST(OnnxAttention, BadShapesAreErrorsNamingTheLayer) {
  struct Bad {
    Case c;
    std::vector<std::string> extra;
    std::vector<Tensor> constants;
    std::string says;
  };
  const Tensor mask57 = makeTensor(DataType::kFloat32, {5, 7}, std::vector<double>(35, 0.0));
  const Tensor pastKey = makeTensor(DataType::kFloat32, {1, 2, 3, 8}, std::vector<double>(48, 0.0));
  const std::vector<Bad> cases = {
      {{"3-D without heads", {1, 4, 16}, {1, 4, 16}, {1, 4, 16}, {}}, {}, {}, "q_num_heads"},
      {{"hidden not a multiple of the heads",
        {1, 4, 30},
        {1, 4, 30},
        {1, 4, 30},
        {{"q_num_heads", int64_t{4}}, {"kv_num_heads", int64_t{4}}}},
       {},
       {},
       "no multiple"},
      {{"3 query heads over 2 key/value heads", {1, 3, 4, 8}, {1, 2, 4, 8}, {1, 2, 4, 8}, {}},
       {},
       {},
       "no multiple"},
      {{"a mask that does not broadcast", {1, 2, 4, 8}, {1, 2, 6, 8}, {1, 2, 6, 8}, {}},
       {"mask"},
       {mask57},
       "does not broadcast"},
      {{"past_key without past_value", {1, 2, 4, 8}, {1, 2, 6, 8}, {1, 2, 6, 8}, {}},
       {"", "past_key"},
       {Tensor(), pastKey},
       "come together"},
      {{"ranks differ", {1, 2, 4, 8}, {1, 6, 16}, {1, 6, 16}, {}}, {}, {}, "one rank"},
  };
  for (const Bad& bad : cases) {
    auto engine = buildAttention(bad.c, bad.extra, bad.constants);
    ASSERT_FALSE(engine.isOk()) << bad.c.what;
    const std::string message = engine.status().message();
    EXPECT_NE(message.find("attn"), std::string::npos) << bad.c.what << ": " << message;
    EXPECT_NE(message.find(bad.says), std::string::npos) << bad.c.what << ": " << message;
  }
}

}  // namespace
}  // namespace lowp::testing
