// Unit tests of the tensor ops (shape and data movement): shape inference with unknown, symbolic and
// value-dependent dims; the reference kernels through the engine path (lowp::testing::runOp) for every op,
// several element types (fp16, int8, bool, fp8 copied as bytes), zero-sized tensors and bad inputs; and the
// importer's rewriting of old-opset attributes into inputs.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <deque>
#include <limits>
#include <string>
#include <vector>

#include "ir/graph.h"
#include "ir/numeric.h"
#include "ir/op_schema.h"
#include "kernels/kernel.h"
#include "onnx/op_importer.h"
#include "op_runner.h"

namespace lowp {
namespace {

using ir::AttributeMap;
using ir::Dim;
using ir::Shape;
using testing::elementAsDouble;
using testing::makeTensor;
using testing::OpRun;
using testing::runOp;
using Ints = std::vector<int64_t>;

Tensor f32(Ints shape, const std::vector<double>& values) {
  return makeTensor(DataType::kFloat32, std::move(shape), values);
}
Tensor i64(Ints shape, const std::vector<double>& values) {
  return makeTensor(DataType::kInt64, std::move(shape), values);
}
/// int64 values written exactly (doubles cannot hold int64's extremes).
Tensor i64Exact(Ints shape, const Ints& values) {
  Tensor t(DataType::kInt64, std::move(shape));
  std::memcpy(t.data(), values.data(), values.size() * sizeof(int64_t));
  return t;
}
Tensor i32(Ints shape, const std::vector<double>& values) {
  return makeTensor(DataType::kInt32, std::move(shape), values);
}
/// 0, 1, 2, ... of the given type and shape.
Tensor iota(DataType type, Ints shape) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  std::vector<double> v(static_cast<size_t>(n));
  for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<double>(i);
  return makeTensor(type, std::move(shape), v);
}

using lowp::testing::attrs;

std::vector<double> valuesOf(const Tensor& t) {
  std::vector<double> v;
  for (int64_t i = 0; i < t.elementCount(); ++i) v.push_back(elementAsDouble(t, i));
  return v;
}

OpRun opRun(std::string op, std::vector<Tensor> inputs, AttributeMap a = {}, int outputs = 1,
            int64_t opset = 21) {
  OpRun run;
  run.opType = std::move(op);
  run.inputs = std::move(inputs);
  run.attributes = std::move(a);
  run.outputCount = outputs;
  run.opset = opset;
  return run;
}

std::vector<Tensor> runOk(const OpRun& run) {
  auto result = runOp(run);
  EXPECT_TRUE(result.isOk()) << run.opType << ": " << result.status().toString();
  return result.isOk() ? std::move(result).value()
                       : std::vector<Tensor>(static_cast<size_t>(run.outputCount));
}

/// Runs a one-output op and returns its output.
Tensor run1(std::string op, std::vector<Tensor> inputs, AttributeMap a = {}, int64_t opset = 21) {
  return runOk(opRun(std::move(op), std::move(inputs), std::move(a), 1, opset))[0];
}

StatusCode runCode(std::string op, std::vector<Tensor> inputs, AttributeMap a = {}, int outputs = 1) {
  auto r = runOp(opRun(std::move(op), std::move(inputs), std::move(a), outputs));
  return r.isOk() ? StatusCode::kOk : r.status().code();
}

void expectTensor(const Tensor& t, DataType type, const Ints& shape, const std::vector<double>& values) {
  EXPECT_EQ(t.type(), type);
  EXPECT_EQ(t.shape(), shape);
  EXPECT_EQ(valuesOf(t), values);
}

// ---- Shape inference ----

ir::InferInput inputOf(DataType type, Shape shape, const Tensor* value = nullptr) {
  return {.present = true, .type = type, .shape = std::move(shape), .value = value};
}
ir::InferInput valueOf(const Tensor& t) {
  return inputOf(t.type(), Shape::fromSizes(t.shape()), &t);
}

Result<std::vector<std::pair<DataType, Shape>>> infer(const std::string& op, AttributeMap a,
                                                      std::vector<ir::InferInput> inputs, int outputs = 1,
                                                      int64_t opset = 21) {
  ir::Node node;
  node.opType = op;
  node.name = "n";
  node.opsetVersion = opset;
  node.attributes = std::move(a);
  node.outputs.resize(static_cast<size_t>(outputs), nullptr);
  return ir::inferNode(node, std::move(inputs));
}

/// The inferred shape of output 0, as a string ("[batchx12]"), or the error's code name.
std::string inferred(const std::string& op, AttributeMap a, std::vector<ir::InferInput> inputs) {
  auto r = infer(op, std::move(a), std::move(inputs));
  return r.isOk() ? (*r)[0].second.toString() : statusCodeName(r.status().code());
}

const Shape kBatch34({Dim::symbolic("batch"), Dim(3), Dim(4)});

TEST(TensorInfer, ReshapeKeepsSymbolsThroughZeroAndMinusOne) {
  Tensor t1 = i64({2}, {0, -1});
  Tensor t2 = i64({3}, {-1, 2, 2});
  Tensor t3 = i64({4}, {0, 3, 2, 2});
  Tensor t4 = i64({2}, {-1, 12});
  Tensor bad = i64({2}, {5, -1});
  const auto f = DataType::kFloat32;
  EXPECT_EQ(inferred("Reshape", {}, {inputOf(f, kBatch34), valueOf(t1)}), "[batchx12]");
  EXPECT_EQ(inferred("Reshape", {}, {inputOf(f, kBatch34), valueOf(t2)}), "[?x2x2]");
  EXPECT_EQ(inferred("Reshape", {}, {inputOf(f, kBatch34), valueOf(t3)}), "[batchx3x2x2]");
  EXPECT_EQ(inferred("Reshape", {}, {inputOf(f, kBatch34), valueOf(t4)}), "[batchx12]");
  EXPECT_EQ(inferred("Reshape", {}, {inputOf(f, Shape::fromSizes({2, 6})), valueOf(bad)}),
            "invalid argument");
  // Unknown target: the rank comes from the target's length.
  EXPECT_EQ(inferred("Reshape", {}, {inputOf(f, kBatch34), inputOf(DataType::kInt64, Shape::fromSizes({3}))}),
            "[?x?x?]");
  Tensor twoMinus = i64({2}, {-1, -1});
  EXPECT_EQ(inferred("Reshape", {}, {inputOf(f, kBatch34), valueOf(twoMinus)}), "invalid argument");
  Tensor zeroTarget = i64({2}, {0, 4});
  EXPECT_EQ(inferred("Reshape", attrs({{"allowzero", int64_t{1}}}),
                     {inputOf(f, Shape::fromSizes({0, 4})), valueOf(zeroTarget)}),
            "[0x4]");
}

TEST(TensorInfer, ShapeSizeAndFlatten) {
  auto shape = infer("Shape", {}, {inputOf(DataType::kFloat32, kBatch34)});
  ASSERT_TRUE(shape.isOk());
  EXPECT_EQ((*shape)[0].first, DataType::kInt64);
  EXPECT_EQ((*shape)[0].second.toString(), "[3]");
  EXPECT_EQ(inferred("Shape", attrs({{"start", int64_t{-2}}}), {inputOf(DataType::kFloat32, kBatch34)}),
            "[2]");
  EXPECT_EQ(inferred("Shape", attrs({{"start", int64_t{5}}}), {inputOf(DataType::kFloat32, kBatch34)}),
            "[0]");
  EXPECT_EQ(inferred("Shape", {}, {inputOf(DataType::kFloat32, Shape::unknownRank())}), "[?]");
  EXPECT_EQ(inferred("Size", {}, {inputOf(DataType::kFloat32, kBatch34)}), "[]");
  EXPECT_EQ(inferred("Flatten", {}, {inputOf(DataType::kFloat32, kBatch34)}), "[batchx12]");
  EXPECT_EQ(inferred("Flatten", attrs({{"axis", int64_t{0}}}), {inputOf(DataType::kFloat32, kBatch34)}),
            "[1x?]");
  EXPECT_EQ(inferred("Flatten", attrs({{"axis", int64_t{4}}}), {inputOf(DataType::kFloat32, kBatch34)}),
            "invalid argument");
}

TEST(TensorInfer, TransposeSqueezeUnsqueeze) {
  const auto f = DataType::kFloat32;
  EXPECT_EQ(inferred("Transpose", {}, {inputOf(f, kBatch34)}), "[4x3xbatch]");
  EXPECT_EQ(inferred("Transpose", attrs({{"perm", Ints{0, 2, 1}}}), {inputOf(f, kBatch34)}), "[batchx4x3]");
  EXPECT_EQ(inferred("Transpose", attrs({{"perm", Ints{0, 0, 1}}}), {inputOf(f, kBatch34)}),
            "invalid argument");
  Tensor axes0 = i64({1}, {0});
  Tensor axes1 = i64({1}, {1});
  EXPECT_EQ(
      inferred("Squeeze", {}, {inputOf(f, Shape({Dim(1), Dim::symbolic("n"), Dim(1)})), valueOf(axes0)}),
      "[nx1]");
  EXPECT_EQ(inferred("Squeeze", {}, {inputOf(f, Shape::fromSizes({1, 3, 1}))}), "[3]");
  EXPECT_EQ(inferred("Squeeze", {}, {inputOf(f, kBatch34)}), "[?]");  // batch may be 1: rank unknown
  EXPECT_EQ(inferred("Squeeze", {}, {inputOf(f, kBatch34), valueOf(axes1)}), "invalid argument");
  EXPECT_EQ(inferred("Unsqueeze", {}, {inputOf(f, kBatch34), valueOf(axes1)}), "[batchx1x3x4]");
  Tensor axesNeg = i64({2}, {-1, 0});
  EXPECT_EQ(inferred("Unsqueeze", {}, {inputOf(f, kBatch34), valueOf(axesNeg)}), "[1xbatchx3x4x1]");
  EXPECT_EQ(
      inferred("Unsqueeze", {}, {inputOf(f, kBatch34), inputOf(DataType::kInt64, Shape::fromSizes({2}))}),
      "[?x?x?x?x?]");
}

TEST(TensorInfer, ConcatAndSplit) {
  const auto f = DataType::kFloat32;
  Shape a({Dim::symbolic("n"), Dim(2)});
  Shape b({Dim(5), Dim(3)});
  EXPECT_EQ(inferred("Concat", attrs({{"axis", int64_t{1}}}), {inputOf(f, a), inputOf(f, b)}), "[5x5]");
  EXPECT_EQ(inferred("Concat", attrs({{"axis", int64_t{0}}}), {inputOf(f, a), inputOf(f, b)}),
            "invalid argument");
  EXPECT_EQ(inferred("Concat", attrs({{"axis", int64_t{1}}}), {inputOf(f, a), inputOf(DataType::kInt32, b)}),
            "invalid argument");
  EXPECT_EQ(inferred("Concat", {}, {inputOf(f, a)}), "invalid argument");  // axis is required

  auto even = infer("Split", attrs({{"axis", int64_t{2}}}), {inputOf(f, kBatch34)}, 2);
  ASSERT_TRUE(even.isOk());
  EXPECT_EQ((*even)[1].second.toString(), "[batchx3x2]");
  auto uneven = infer("Split", attrs({{"axis", int64_t{1}}, {"num_outputs", int64_t{3}}}),
                      {inputOf(f, Shape::fromSizes({2, 7}))}, 3);
  ASSERT_TRUE(uneven.isOk());
  EXPECT_EQ((*uneven)[0].second.toString(), "[2x3]");
  EXPECT_EQ((*uneven)[2].second.toString(), "[2x1]");
  auto notEven = infer("Split", attrs({{"axis", int64_t{1}}}), {inputOf(f, Shape::fromSizes({2, 7}))}, 3, 13);
  EXPECT_EQ(notEven.status().code(), StatusCode::kInvalidArgument);
  Tensor split = i64({2}, {1, 2});
  auto bad = infer("Split", {}, {inputOf(f, Shape::fromSizes({4})), valueOf(split)}, 2);
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
}

TEST(TensorInfer, SliceWithKnownAndUnknownParameters) {
  const auto f = DataType::kFloat32;
  Tensor starts = i64({2}, {1, 0});
  Tensor ends = i64Exact({2}, {-1, std::numeric_limits<int64_t>::max()});
  Tensor axes = i64({2}, {2, 0});
  EXPECT_EQ(inferred("Slice", {}, {inputOf(f, kBatch34), valueOf(starts), valueOf(ends), valueOf(axes)}),
            "[batchx3x2]");
  Tensor steps = i64({2}, {-1, 1});
  Tensor s2 = i64({2}, {-1, 0});
  Tensor e2 = i64Exact({2}, {std::numeric_limits<int64_t>::min(), std::numeric_limits<int64_t>::max()});
  EXPECT_EQ(
      inferred("Slice", {}, {inputOf(f, kBatch34), valueOf(s2), valueOf(e2), valueOf(axes), valueOf(steps)}),
      "[batchx3x4]");
  // Unknown starts with known axes: only the sliced dims become unknown.
  auto unknown = inputOf(DataType::kInt64, Shape::fromSizes({2}));
  EXPECT_EQ(inferred("Slice", {}, {inputOf(f, kBatch34), unknown, unknown, valueOf(axes)}), "[?x3x?]");
  EXPECT_EQ(inferred("Slice", {}, {inputOf(f, kBatch34), unknown, unknown}), "[?x?x?]");
  Tensor zeroStep = i64({2}, {0, 1});
  EXPECT_EQ(
      inferred("Slice", {},
               {inputOf(f, kBatch34), valueOf(starts), valueOf(ends), valueOf(axes), valueOf(zeroStep)}),
      "invalid argument");
}

TEST(TensorInfer, GatherFamilies) {
  const auto f = DataType::kFloat32;
  Shape idx({Dim::symbolic("k"), Dim(2)});
  EXPECT_EQ(inferred("Gather", attrs({{"axis", int64_t{1}}}),
                     {inputOf(f, kBatch34), inputOf(DataType::kInt64, idx)}),
            "[batchxkx2x4]");
  EXPECT_EQ(inferred("Gather", {}, {inputOf(f, kBatch34), inputOf(DataType::kFloat32, idx)}),
            "invalid argument");
  EXPECT_EQ(inferred("GatherElements", attrs({{"axis", int64_t{1}}}),
                     {inputOf(f, kBatch34), inputOf(DataType::kInt64, Shape::fromSizes({2, 2, 4}))}),
            "[2x2x4]");
  EXPECT_EQ(
      inferred("GatherND", {}, {inputOf(f, kBatch34), inputOf(DataType::kInt64, Shape::fromSizes({5, 2}))}),
      "[5x4]");
  EXPECT_EQ(inferred("GatherND", attrs({{"batch_dims", int64_t{1}}}),
                     {inputOf(f, Shape::fromSizes({2, 3, 4})),
                      inputOf(DataType::kInt64, Shape::fromSizes({2, 1}))}),
            "[2x4]");
  EXPECT_EQ(
      inferred("GatherND", {}, {inputOf(f, kBatch34), inputOf(DataType::kInt64, Shape::fromSizes({5, 4}))}),
      "invalid argument");
  EXPECT_EQ(inferred("ScatterND", {},
                     {inputOf(f, kBatch34), inputOf(DataType::kInt64, Shape::fromSizes({5, 1})),
                      inputOf(f, Shape::fromSizes({5, 3, 4}))}),
            "[batchx3x4]");
  EXPECT_EQ(inferred("ScatterND", {},
                     {inputOf(f, kBatch34), inputOf(DataType::kInt64, Shape::fromSizes({5, 1})),
                      inputOf(f, Shape::fromSizes({5, 3}))}),
            "invalid argument");
  EXPECT_EQ(inferred("ScatterElements", attrs({{"reduction", std::string("sum")}}),
                     {inputOf(f, kBatch34), inputOf(DataType::kInt64, kBatch34), inputOf(f, kBatch34)}),
            "invalid argument");
}

TEST(TensorInfer, ValueDependentShapes) {
  const auto f = DataType::kFloat32;
  Tensor target = i64({3}, {2, 1, 4});
  EXPECT_EQ(inferred("Expand", {}, {inputOf(f, Shape({Dim(3), Dim(1)})), valueOf(target)}), "[2x3x4]");
  EXPECT_EQ(inferred("Expand", {}, {inputOf(f, Shape({Dim(3), Dim(2)})), valueOf(target)}),
            "invalid argument");
  EXPECT_EQ(inferred("Expand", {},
                     {inputOf(f, Shape({Dim(3), Dim(2)})), inputOf(DataType::kInt64, Shape::fromSizes({3}))}),
            "[?x?x?]");
  Tensor reps = i64({3}, {1, 2, 0});
  EXPECT_EQ(inferred("Tile", {}, {inputOf(f, kBatch34), valueOf(reps)}), "[batchx6x0]");
  Tensor pads = i64({6}, {0, 1, -1, 0, 1, 0});
  EXPECT_EQ(inferred("Pad", {}, {inputOf(f, kBatch34), valueOf(pads)}), "[batchx5x3]");
  Tensor padsAxes = i64({2}, {2, 2});
  Tensor axes = i64({1}, {-1});
  EXPECT_EQ(inferred("Pad", {}, {inputOf(f, kBatch34), valueOf(padsAxes), {}, valueOf(axes)}), "[batchx3x8]");
  EXPECT_EQ(inferred("Pad", attrs({{"mode", std::string("mirror")}}), {inputOf(f, kBatch34), valueOf(pads)}),
            "invalid argument");
  Tensor sizes = i64({2}, {2, 3});
  auto cos = infer("ConstantOfShape", attrs({{"value", i32({1}, {7})}}), {valueOf(sizes)});
  ASSERT_TRUE(cos.isOk());
  EXPECT_EQ((*cos)[0].first, DataType::kInt32);
  EXPECT_EQ((*cos)[0].second.toString(), "[2x3]");
  Tensor start = f32({}, {1});
  Tensor limit = f32({}, {2});
  Tensor delta = f32({}, {0.3});
  EXPECT_EQ(inferred("Range", {}, {valueOf(start), valueOf(limit), valueOf(delta)}), "[4]");
  EXPECT_EQ(inferred("Range", {}, {inputOf(f, Shape::fromSizes({})), valueOf(limit), valueOf(delta)}), "[?]");
  Tensor depth = i64({}, {5});
  EXPECT_EQ(
      inferred("OneHot", attrs({{"axis", int64_t{1}}}),
               {inputOf(DataType::kInt64, kBatch34), valueOf(depth), inputOf(f, Shape::fromSizes({2}))}),
      "[batchx5x3x4]");
  Tensor cond = makeTensor(DataType::kBool, {3}, {1, 0, 1});
  EXPECT_EQ(inferred("Compress", attrs({{"axis", int64_t{1}}}), {inputOf(f, kBatch34), valueOf(cond)}),
            "[batchx2x4]");
  EXPECT_EQ(inferred("NonZero", {}, {inputOf(f, kBatch34)}), "[3x?]");
}

TEST(TensorInfer, LayoutOps) {
  const auto f = DataType::kFloat32;
  EXPECT_EQ(inferred("SpaceToDepth", attrs({{"blocksize", int64_t{2}}}),
                     {inputOf(f, Shape({Dim::symbolic("n"), Dim(3), Dim(4), Dim(6)}))}),
            "[nx12x2x3]");
  EXPECT_EQ(inferred("SpaceToDepth", attrs({{"blocksize", int64_t{4}}}),
                     {inputOf(f, Shape::fromSizes({1, 3, 4, 6}))}),
            "invalid argument");
  EXPECT_EQ(inferred("DepthToSpace", attrs({{"blocksize", int64_t{2}}, {"mode", std::string("CRD")}}),
                     {inputOf(f, Shape::fromSizes({1, 8, 2, 3}))}),
            "[1x2x4x6]");
  EXPECT_EQ(inferred("DepthToSpace", attrs({{"blocksize", int64_t{2}}}),
                     {inputOf(f, Shape::fromSizes({1, 6, 2, 3}))}),
            "invalid argument");
  EXPECT_EQ(inferred("Trilu", {}, {inputOf(f, Shape::fromSizes({3}))}), "invalid argument");
  EXPECT_EQ(inferred("EyeLike", {}, {inputOf(f, Shape::fromSizes({3}))}), "invalid argument");
  EXPECT_EQ(
      inferred("ReverseSequence", attrs({{"batch_axis", int64_t{0}}, {"time_axis", int64_t{0}}}),
               {inputOf(f, Shape::fromSizes({3, 4})), inputOf(DataType::kInt64, Shape::fromSizes({3}))}),
      "invalid argument");
}

TEST(TensorInfer, UnknownRankPropagates) {
  const auto f = DataType::kFloat32;
  const Shape u = Shape::unknownRank();
  Tensor target = i64({2}, {0, -1});
  EXPECT_EQ(inferred("Reshape", {}, {inputOf(f, u), valueOf(target)}), "[?x?]");
  EXPECT_EQ(inferred("Transpose", {}, {inputOf(f, u)}), "[?]");
  EXPECT_EQ(inferred("Gather", {}, {inputOf(f, u), inputOf(DataType::kInt64, u)}), "[?]");
  EXPECT_EQ(inferred("Identity", {}, {inputOf(f, u)}), "[?]");
  EXPECT_EQ(inferred("Concat", attrs({{"axis", int64_t{0}}}),
                     {inputOf(f, u), inputOf(f, Shape::fromSizes({2, 3}))}),
            "[?x3]");
}

TEST(TensorInfer, DropoutMaskTypeAndTrainingMode) {
  auto r = infer("Dropout", {}, {inputOf(DataType::kFloat16, kBatch34)}, 2);
  ASSERT_TRUE(r.isOk());
  EXPECT_EQ((*r)[1].first, DataType::kBool);
  auto old = infer("Dropout", {}, {inputOf(DataType::kFloat16, kBatch34)}, 2, 7);
  ASSERT_TRUE(old.isOk());
  EXPECT_EQ((*old)[1].first, DataType::kFloat16);
  Tensor ratio = f32({}, {0.5});
  Tensor training = makeTensor(DataType::kBool, {}, {1});
  auto t =
      infer("Dropout", {}, {inputOf(DataType::kFloat32, kBatch34), valueOf(ratio), valueOf(training)}, 2);
  EXPECT_EQ(t.status().code(), StatusCode::kUnsupported);
}

// ---- Kernels ----

TEST(TensorKernels, IdentityAndDropoutCopyEveryType) {
  for (DataType t :
       {DataType::kFloat32, DataType::kFloat16, DataType::kInt8, DataType::kBool, DataType::kUInt64}) {
    Tensor x = makeTensor(t, {2, 2}, {1, 0, 1, 1});
    expectTensor(run1("Identity", {x}), t, {2, 2}, valuesOf(x));
  }
  auto out = runOk(opRun("Dropout", {f32({3}, {1, 2, 3})}, {}, 2));
  expectTensor(out[0], DataType::kFloat32, {3}, {1, 2, 3});
  expectTensor(out[1], DataType::kBool, {3}, {1, 1, 1});
  // Training with ratio 0 is the identity; with a non-zero ratio it is random and unsupported.
  Tensor yes = makeTensor(DataType::kBool, {}, {1});
  auto zero = runOk(opRun("Dropout", {f32({2}, {4, 5}), f32({}, {0}), yes}, {}, 2));
  expectTensor(zero[0], DataType::kFloat32, {2}, {4, 5});
  EXPECT_EQ(runCode("Dropout", {f32({2}, {4, 5}), f32({}, {0.1}), yes}), StatusCode::kUnsupported);
}

TEST(TensorKernels, ReshapeFlattenSqueezeUnsqueeze) {
  Tensor x = iota(DataType::kInt8, {2, 3, 2});
  expectTensor(run1("Reshape", {x, i64({2}, {0, -1})}), DataType::kInt8, {2, 6}, valuesOf(x));
  expectTensor(run1("Reshape", {x, i64({3}, {3, 2, -1})}), DataType::kInt8, {3, 2, 2}, valuesOf(x));
  Tensor empty(DataType::kFloat32, {0, 4});
  EXPECT_EQ(run1("Reshape", {empty, i64({2}, {4, 0})}, attrs({{"allowzero", int64_t{1}}})).shape(),
            (Ints{4, 0}));
  EXPECT_EQ(runCode("Reshape", {x, i64({2}, {5, -1})}), StatusCode::kInvalidArgument);
  expectTensor(run1("Flatten", {x}, attrs({{"axis", int64_t{2}}})), DataType::kInt8, {6, 2}, valuesOf(x));
  Tensor y = iota(DataType::kFloat16, {1, 3, 1});
  expectTensor(run1("Squeeze", {y}), DataType::kFloat16, {3}, {0, 1, 2});
  expectTensor(run1("Squeeze", {y, i64({1}, {-1})}), DataType::kFloat16, {1, 3}, {0, 1, 2});
  expectTensor(run1("Unsqueeze", {y, i64({2}, {0, 4})}), DataType::kFloat16, {1, 1, 3, 1, 1}, {0, 1, 2});
  EXPECT_EQ(runCode("Squeeze", {y, i64({1}, {1})}), StatusCode::kInvalidArgument);
}

TEST(TensorKernels, TransposeEveryElementSize) {
  for (DataType t : {DataType::kUInt8, DataType::kBFloat16, DataType::kInt32, DataType::kFloat64}) {
    Tensor x = iota(t, {2, 3, 4});
    Tensor y = run1("Transpose", {x}, attrs({{"perm", Ints{1, 2, 0}}}));
    ASSERT_EQ(y.shape(), (Ints{3, 4, 2}));
    for (int64_t a = 0; a < 2; ++a) {
      for (int64_t b = 0; b < 3; ++b) {
        for (int64_t c = 0; c < 4; ++c) {
          EXPECT_EQ(elementAsDouble(y, (b * 4 + c) * 2 + a), static_cast<double>((a * 3 + b) * 4 + c));
        }
      }
    }
  }
  expectTensor(run1("Transpose", {iota(DataType::kFloat32, {2, 3})}), DataType::kFloat32, {3, 2},
               {0, 3, 1, 4, 2, 5});
  EXPECT_EQ(run1("Transpose", {Tensor(DataType::kFloat32, {0, 3})}).shape(), (Ints{3, 0}));
}

TEST(TensorKernels, Fp8IsMovedAsBytes) {
  Tensor x(DataType::kFloat8E4M3FN, {2, 2});
  const uint8_t bits[] = {0x38, 0x40, 0xb8, 0x7f};
  std::memcpy(x.data(), bits, 4);
  Tensor y = run1("Transpose", {x});
  const auto* out = y.data<uint8_t>();
  EXPECT_EQ(out[0], 0x38);
  EXPECT_EQ(out[1], 0xb8);
  EXPECT_EQ(out[2], 0x40);
  EXPECT_EQ(out[3], 0x7f);
}

TEST(TensorKernels, ConcatAndSplit) {
  Tensor a = iota(DataType::kInt64, {2, 2});
  Tensor b = makeTensor(DataType::kInt64, {2, 1}, {9, 8});
  Tensor none(DataType::kInt64, {2, 0});
  expectTensor(run1("Concat", {a, none, b}, attrs({{"axis", int64_t{-1}}})), DataType::kInt64, {2, 3},
               {0, 1, 9, 2, 3, 8});
  expectTensor(run1("Concat", {a, a}, attrs({{"axis", int64_t{0}}})), DataType::kInt64, {4, 2},
               {0, 1, 2, 3, 0, 1, 2, 3});
  EXPECT_EQ(runCode("Concat", {a, b}, attrs({{"axis", int64_t{0}}})), StatusCode::kInvalidArgument);

  Tensor x = iota(DataType::kFloat32, {2, 5});
  auto parts = runOk(opRun("Split", {x, i64({3}, {2, 0, 3})}, attrs({{"axis", int64_t{1}}}), 3));
  expectTensor(parts[0], DataType::kFloat32, {2, 2}, {0, 1, 5, 6});
  expectTensor(parts[1], DataType::kFloat32, {2, 0}, {});
  expectTensor(parts[2], DataType::kFloat32, {2, 3}, {2, 3, 4, 7, 8, 9});
  auto uneven = runOk(opRun("Split", {x}, attrs({{"axis", int64_t{1}}, {"num_outputs", int64_t{2}}}), 2, 18));
  expectTensor(uneven[0], DataType::kFloat32, {2, 3}, {0, 1, 2, 5, 6, 7});
  expectTensor(uneven[1], DataType::kFloat32, {2, 2}, {3, 4, 8, 9});
  auto equal = runOk(opRun("Split", {iota(DataType::kBool, {1, 4})}, attrs({{"axis", int64_t{1}}}), 2, 13));
  expectTensor(equal[1], DataType::kBool, {1, 2}, {1, 1});
}

TEST(TensorKernels, SliceForwardBackwardAndClamped) {
  Tensor x = iota(DataType::kFloat32, {3, 4});
  expectTensor(run1("Slice", {x, i64({2}, {1, 0}), i64({2}, {3, 4}), i64({2}, {0, 1}), i64({2}, {1, 2})}),
               DataType::kFloat32, {2, 2}, {4, 6, 8, 10});
  expectTensor(run1("Slice", {x, i64({1}, {-1}), i64Exact({1}, {std::numeric_limits<int64_t>::min()}),
                              i64({1}, {1}), i64({1}, {-1})}),
               DataType::kFloat32, {3, 4}, {3, 2, 1, 0, 7, 6, 5, 4, 11, 10, 9, 8});
  expectTensor(run1("Slice", {x, i32({1}, {10}), i32({1}, {20})}), DataType::kFloat32, {0, 4}, {});
  expectTensor(run1("Slice", {x, i64({1}, {-100}), i64({1}, {1})}), DataType::kFloat32, {1, 4}, {0, 1, 2, 3});
  expectTensor(run1("Slice", {x, i64({1}, {2}), i64({1}, {0}), i64({1}, {1}), i64({1}, {-2})}),
               DataType::kFloat32, {3, 1}, {2, 6, 10});
}

TEST(TensorKernels, GatherFamilies) {
  Tensor data = iota(DataType::kInt16, {3, 2});
  expectTensor(run1("Gather", {data, i64({2, 2}, {0, 2, -1, 1})}), DataType::kInt16, {2, 2, 2},
               {0, 1, 4, 5, 4, 5, 2, 3});
  expectTensor(run1("Gather", {data, i32({}, {1})}, attrs({{"axis", int64_t{1}}})), DataType::kInt16, {3},
               {1, 3, 5});
  EXPECT_EQ(runCode("Gather", {data, i64({1}, {3})}), StatusCode::kInvalidArgument);
  expectTensor(run1("GatherElements", {data, i64({2, 2}, {1, 0, -1, 2})}), DataType::kInt16, {2, 2},
               {2, 1, 4, 5});
  expectTensor(run1("GatherElements", {data, i64({3, 1}, {1, 0, 1})}, attrs({{"axis", int64_t{1}}})),
               DataType::kInt16, {3, 1}, {1, 2, 5});
  Tensor nd = iota(DataType::kFloat32, {2, 2, 2});
  expectTensor(run1("GatherND", {nd, i64({2, 2}, {0, 1, 1, 0})}), DataType::kFloat32, {2, 2}, {2, 3, 4, 5});
  expectTensor(run1("GatherND", {nd, i64({2, 1, 2}, {0, 1, 1, 0})}, attrs({{"batch_dims", int64_t{1}}})),
               DataType::kFloat32, {2, 1}, {1, 6});
  EXPECT_EQ(runCode("GatherND", {nd, i64({1, 1}, {2})}), StatusCode::kInvalidArgument);
}

TEST(TensorKernels, ScatterReductionsAndDuplicates) {
  Tensor data = f32({1, 5}, {1, 2, 3, 4, 5});
  Tensor idx = i64({1, 2}, {1, 1});
  Tensor upd = f32({1, 2}, {10, 20});
  auto scatter = [&](const char* reduction) {
    return run1("ScatterElements", {data, idx, upd},
                attrs({{"axis", int64_t{1}}, {"reduction", std::string(reduction)}}));
  };
  expectTensor(scatter("none"), DataType::kFloat32, {1, 5}, {1, 20, 3, 4, 5});
  expectTensor(scatter("add"), DataType::kFloat32, {1, 5}, {1, 32, 3, 4, 5});
  expectTensor(scatter("mul"), DataType::kFloat32, {1, 5}, {1, 400, 3, 4, 5});
  expectTensor(scatter("max"), DataType::kFloat32, {1, 5}, {1, 20, 3, 4, 5});
  expectTensor(scatter("min"), DataType::kFloat32, {1, 5}, {1, 2, 3, 4, 5});
  EXPECT_EQ(runCode("ScatterElements", {data, i64({1, 2}, {1, 5}), upd}, attrs({{"axis", int64_t{1}}})),
            StatusCode::kInvalidArgument);
  // Old Scatter reads like ScatterElements; negative indices count from the end.
  expectTensor(run1("Scatter",
                    {iota(DataType::kUInt8, {2, 2}), i64({1, 2}, {-1, 0}),
                     makeTensor(DataType::kUInt8, {1, 2}, {7, 9})},
                    {}, 10),
               DataType::kUInt8, {2, 2}, {0, 9, 7, 3});
  Tensor nd = iota(DataType::kInt32, {2, 3});
  expectTensor(run1("ScatterND", {nd, i64({2, 1}, {1, 1}), i32({2, 3}, {1, 1, 1, 2, 2, 2})},
                    attrs({{"reduction", std::string("add")}})),
               DataType::kInt32, {2, 3}, {0, 1, 2, 6, 7, 8});
  expectTensor(run1("ScatterND", {nd, i64({1, 2}, {0, 2}), i32({1}, {-5})}), DataType::kInt32, {2, 3},
               {0, 1, -5, 3, 4, 5});
  Tensor half = makeTensor(DataType::kFloat16, {2}, {1.5, 2});
  expectTensor(run1("ScatterND", {half, i64({1, 1}, {0}), makeTensor(DataType::kFloat16, {1}, {2})},
                    attrs({{"reduction", std::string("mul")}})),
               DataType::kFloat16, {2}, {3, 2});
}

TEST(TensorKernels, ShapeAndSize) {
  Tensor x(DataType::kBool, {2, 0, 3});
  expectTensor(run1("Shape", {x}), DataType::kInt64, {3}, {2, 0, 3});
  expectTensor(run1("Shape", {x}, attrs({{"start", int64_t{1}}, {"end", int64_t{-1}}})), DataType::kInt64,
               {1}, {0});
  expectTensor(run1("Size", {x}), DataType::kInt64, {}, {0});
  expectTensor(run1("Size", {f32({2, 3}, {})}), DataType::kInt64, {}, {6});
}

TEST(TensorKernels, ExpandAndTile) {
  Tensor x = f32({3, 1}, {1, 2, 3});
  expectTensor(run1("Expand", {x, i64({3}, {2, 1, 2})}), DataType::kFloat32, {2, 3, 2},
               {1, 1, 2, 2, 3, 3, 1, 1, 2, 2, 3, 3});
  expectTensor(run1("Expand", {x, i64({1}, {0})}), DataType::kFloat32, {3, 0}, {});
  EXPECT_EQ(runCode("Expand", {x, i64({2}, {2, 2})}), StatusCode::kInvalidArgument);
  Tensor y = iota(DataType::kInt8, {2, 2});
  expectTensor(run1("Tile", {y, i64({2}, {2, 2})}), DataType::kInt8, {4, 4},
               {0, 1, 0, 1, 2, 3, 2, 3, 0, 1, 0, 1, 2, 3, 2, 3});
  expectTensor(run1("Tile", {y, i64({2}, {1, 0})}), DataType::kInt8, {2, 0}, {});
}

TEST(TensorKernels, PadModes) {
  Tensor x = iota(DataType::kFloat32, {2, 3});
  Tensor pads = i64({4}, {0, 2, 1, 1});
  auto pad = [&](const char* mode, std::vector<Tensor> extra = {}) {
    std::vector<Tensor> in = {x, pads};
    in.insert(in.end(), extra.begin(), extra.end());
    return run1("Pad", in, attrs({{"mode", std::string(mode)}}));
  };
  expectTensor(pad("constant", {f32({}, {-1})}), DataType::kFloat32, {3, 6},
               {-1, -1, 0, 1, 2, -1, -1, -1, 3, 4, 5, -1, -1, -1, -1, -1, -1, -1});
  expectTensor(pad("edge"), DataType::kFloat32, {3, 6},
               {0, 0, 0, 1, 2, 2, 3, 3, 3, 4, 5, 5, 3, 3, 3, 4, 5, 5});
  expectTensor(pad("reflect"), DataType::kFloat32, {3, 6},
               {2, 1, 0, 1, 2, 1, 5, 4, 3, 4, 5, 4, 2, 1, 0, 1, 2, 1});
  expectTensor(pad("wrap"), DataType::kFloat32, {3, 6},
               {1, 2, 0, 1, 2, 0, 4, 5, 3, 4, 5, 3, 1, 2, 0, 1, 2, 0});
  // Negative pads crop; axes pick the padded axes.
  expectTensor(run1("Pad", {x, i64({2}, {-1, 1}), Tensor(), i64({1}, {1})}), DataType::kFloat32, {2, 3},
               {1, 2, 0, 4, 5, 0});
  // The old float `value` attribute fills when constant_value is absent, converted to the data's type.
  expectTensor(run1("Pad", {iota(DataType::kInt32, {2}), i64({2}, {1, 0})}, attrs({{"value", 7.0f}})),
               DataType::kInt32, {3}, {7, 0, 1});
  EXPECT_EQ(runCode("Pad", {Tensor(DataType::kFloat32, {0}), i64({2}, {1, 0})},
                    attrs({{"mode", std::string("edge")}})),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(runCode("Pad", {x, i64({4}, {0, -4, 0, 0})}), StatusCode::kInvalidArgument);
}

TEST(TensorKernels, ConstantOfShapeRangeEyeLike) {
  expectTensor(run1("ConstantOfShape", {i64({2}, {2, 2})}), DataType::kFloat32, {2, 2}, {0, 0, 0, 0});
  expectTensor(
      run1("ConstantOfShape", {i64({1}, {3})}, attrs({{"value", makeTensor(DataType::kInt8, {1}, {-3})}})),
      DataType::kInt8, {3}, {-3, -3, -3});
  expectTensor(run1("ConstantOfShape", {i64({0}, {})}, attrs({{"value", i64({1}, {5})}})), DataType::kInt64,
               {}, {5});
  expectTensor(run1("ConstantOfShape", {i64({2}, {0, 3})}), DataType::kFloat32, {0, 3}, {});

  expectTensor(run1("Range", {i32({}, {10}), i32({}, {4}), i32({}, {-3})}), DataType::kInt32, {2}, {10, 7});
  expectTensor(run1("Range", {i64({}, {0}), i64({}, {0}), i64({}, {1})}), DataType::kInt64, {0}, {});
  Tensor r = run1("Range", {f32({}, {1}), f32({}, {2}), f32({}, {0.25})});
  expectTensor(r, DataType::kFloat32, {4}, {1, 1.25, 1.5, 1.75});
  expectTensor(
      run1("Range", {makeTensor(DataType::kFloat16, {}, {0}), makeTensor(DataType::kFloat16, {}, {3}),
                     makeTensor(DataType::kFloat16, {}, {1})}),
      DataType::kFloat16, {3}, {0, 1, 2});
  EXPECT_EQ(runCode("Range", {i32({}, {0}), i32({}, {4}), i32({}, {0})}), StatusCode::kInvalidArgument);

  expectTensor(run1("EyeLike", {f32({2, 3}, {})}, attrs({{"k", int64_t{1}}})), DataType::kFloat32, {2, 3},
               {0, 1, 0, 0, 0, 1});
  expectTensor(run1("EyeLike", {f32({3, 2}, {})}, attrs({{"k", int64_t{-1}}, {"dtype", int64_t{9}}})),
               DataType::kBool, {3, 2}, {0, 0, 1, 0, 0, 1});
  expectTensor(run1("EyeLike", {f32({2, 2}, {})}, attrs({{"k", int64_t{1} << 62}})), DataType::kFloat32,
               {2, 2}, {0, 0, 0, 0});
}

TEST(TensorKernels, TriluOneHotCompressNonZero) {
  Tensor x = iota(DataType::kFloat32, {2, 3});
  expectTensor(run1("Trilu", {x}), DataType::kFloat32, {2, 3}, {0, 1, 2, 0, 4, 5});
  expectTensor(run1("Trilu", {x, i64({}, {-1})}, attrs({{"upper", int64_t{0}}})), DataType::kFloat32, {2, 3},
               {0, 0, 0, 3, 0, 0});
  expectTensor(run1("Trilu", {x, i64({}, {1})}, attrs({{"upper", int64_t{0}}})), DataType::kFloat32, {2, 3},
               {0, 1, 0, 3, 4, 5});
  expectTensor(run1("Trilu", {x, i64Exact({}, {std::numeric_limits<int64_t>::max()})}), DataType::kFloat32,
               {2, 3}, {0, 0, 0, 0, 0, 0});

  Tensor idx = i64({3}, {0, -1, 7});
  expectTensor(run1("OneHot", {idx, f32({}, {3}), i32({2}, {-1, 5})}), DataType::kInt32, {3, 3},
               {5, -1, -1, -1, -1, 5, -1, -1, -1});
  expectTensor(
      run1("OneHot", {i32({2}, {1, 2}), i64({1}, {3}), f32({2}, {0, 1})}, attrs({{"axis", int64_t{0}}})),
      DataType::kFloat32, {3, 2}, {0, 0, 1, 0, 0, 1});

  Tensor cond = makeTensor(DataType::kBool, {2}, {0, 1});
  expectTensor(run1("Compress", {x, cond}, attrs({{"axis", int64_t{0}}})), DataType::kFloat32, {1, 3},
               {3, 4, 5});
  expectTensor(run1("Compress", {x, makeTensor(DataType::kBool, {3}, {1, 0, 1})}), DataType::kFloat32, {2},
               {0, 2});
  expectTensor(run1("Compress", {x, makeTensor(DataType::kBool, {2}, {0, 0})}, attrs({{"axis", int64_t{1}}})),
               DataType::kFloat32, {2, 0}, {});

  Tensor nz = f32({2, 2}, {1, 0, -0.0, 3});
  expectTensor(run1("NonZero", {nz}), DataType::kInt64, {2, 2}, {0, 1, 0, 1});
  expectTensor(run1("NonZero", {Tensor(DataType::kInt8, {0, 3})}), DataType::kInt64, {2, 0}, {});
  expectTensor(run1("NonZero", {makeTensor(DataType::kBool, {}, {1})}), DataType::kInt64, {1, 1}, {0});
}

TEST(TensorKernels, SpaceDepthAndReverseSequence) {
  Tensor x = iota(DataType::kFloat32, {1, 1, 2, 4});
  // Blocks of 2x2: channel = (by, bx).
  expectTensor(run1("SpaceToDepth", {x}, attrs({{"blocksize", int64_t{2}}})), DataType::kFloat32,
               {1, 4, 1, 2}, {0, 2, 1, 3, 4, 6, 5, 7});
  Tensor d = iota(DataType::kFloat32, {1, 8, 1, 1});
  expectTensor(run1("DepthToSpace", {d}, attrs({{"blocksize", int64_t{2}}})), DataType::kFloat32,
               {1, 2, 2, 2}, {0, 2, 4, 6, 1, 3, 5, 7});
  expectTensor(run1("DepthToSpace", {d}, attrs({{"blocksize", int64_t{2}}, {"mode", std::string("CRD")}})),
               DataType::kFloat32, {1, 2, 2, 2}, {0, 1, 2, 3, 4, 5, 6, 7});
  // Round trip through both DCR layouts.
  Tensor big = iota(DataType::kUInt16, {2, 3, 4, 6});
  Tensor s2d = run1("SpaceToDepth", {big}, attrs({{"blocksize", int64_t{2}}}));
  EXPECT_EQ(valuesOf(run1("DepthToSpace", {s2d}, attrs({{"blocksize", int64_t{2}}}))), valuesOf(big));

  Tensor seq = iota(DataType::kInt64, {3, 2});  // [time, batch]
  expectTensor(run1("ReverseSequence", {seq, i64({2}, {3, 1})}), DataType::kInt64, {3, 2},
               {4, 1, 2, 3, 0, 5});
  Tensor bt = iota(DataType::kInt64, {2, 3});  // [batch, time]
  expectTensor(run1("ReverseSequence", {bt, i64({2}, {2, 0})},
                    attrs({{"batch_axis", int64_t{0}}, {"time_axis", int64_t{1}}})),
               DataType::kInt64, {2, 3}, {1, 0, 2, 3, 4, 5});
  EXPECT_EQ(runCode("ReverseSequence", {seq, i64({2}, {4, 1})}), StatusCode::kInvalidArgument);
}

TEST(TensorKernels, LargeTransposeRunsInParallelChunks) {
  Tensor x = iota(DataType::kInt32, {64, 300, 3});
  Tensor y = run1("Transpose", {x}, attrs({{"perm", Ints{2, 0, 1}}}));
  ASSERT_EQ(y.shape(), (Ints{3, 64, 300}));
  const auto* out = y.data<int32_t>();
  for (int64_t c = 0; c < 3; ++c) {
    for (int64_t a = 0; a < 64; ++a) {
      for (int64_t b = 0; b < 300; b += 37) ASSERT_EQ(out[(c * 64 + a) * 300 + b], (a * 300 + b) * 3 + c);
    }
  }
}

// ---- Importer normalisation ----

TEST(TensorImport, OldAttributesBecomeConstantInputs) {
  ir::Graph graph;
  ir::Value* x = graph.addValue("x").value();
  ir::Node* slice = graph.addNode("Slice", "s");
  graph.setInput(slice, 0, x);
  slice->opsetVersion = 9;
  slice->attributes.set("starts", Ints{1});
  slice->attributes.set("ends", Ints{3});
  slice->attributes.set("axes", Ints{-1});
  onnx::ImportContext ctx(graph);
  const onnx::OpImporter* importer = onnx::ImporterRegistry::global().find("", "Slice");
  ASSERT_NE(importer, nullptr);
  ASSERT_NE(importer->normalize, nullptr);
  ASSERT_TRUE(importer->normalize(ctx, *slice).isOk());
  ASSERT_EQ(slice->inputs.size(), 4u);
  EXPECT_FALSE(slice->attributes.has("starts"));
  ASSERT_TRUE(slice->inputs[3]->constant.has_value());
  EXPECT_EQ(slice->inputs[3]->constant->data<int64_t>()[0], -1);

  ir::Node* squeeze = graph.addNode("Squeeze", "q");
  graph.setInput(squeeze, 0, x);
  squeeze->attributes.set("axes", Ints{0, 2});
  ASSERT_TRUE(onnx::ImporterRegistry::global().find("", "Squeeze")->normalize(ctx, *squeeze).isOk());
  ASSERT_EQ(squeeze->inputs.size(), 2u);
  EXPECT_EQ(squeeze->inputs[1]->constant->shape(), (Ints{2}));

  ir::Node* pad = graph.addNode("Pad", "p");
  graph.setInput(pad, 0, x);
  pad->attributes.set("pads", Ints{1, 1});
  pad->attributes.set("value", 2.0f);
  ASSERT_TRUE(onnx::ImporterRegistry::global().find("", "Pad")->normalize(ctx, *pad).isOk());
  EXPECT_TRUE(pad->attributes.has("value"));
  EXPECT_NE(pad->input(1), nullptr);

  ir::Node* bad = graph.addNode("Slice", "b");
  graph.setInput(bad, 0, x);
  bad->attributes.set("starts", Ints{1});
  EXPECT_EQ(onnx::ImporterRegistry::global().find("", "Slice")->normalize(ctx, *bad).code(),
            StatusCode::kInvalidModel);
}

TEST(TensorImport, EveryOpHasSchemaKernelAndImporter) {
  for (const char* op : {"Identity",
                         "Dropout",
                         "Reshape",
                         "Flatten",
                         "Transpose",
                         "Squeeze",
                         "Unsqueeze",
                         "Concat",
                         "Split",
                         "Slice",
                         "Gather",
                         "GatherElements",
                         "GatherND",
                         "ScatterElements",
                         "ScatterND",
                         "Scatter",
                         "Shape",
                         "Size",
                         "Expand",
                         "Tile",
                         "Pad",
                         "ConstantOfShape",
                         "Range",
                         "Compress",
                         "NonZero",
                         "Trilu",
                         "OneHot",
                         "EyeLike",
                         "SpaceToDepth",
                         "DepthToSpace",
                         "ReverseSequence"}) {
    EXPECT_NE(ir::OpSchemaRegistry::global().find("", op), nullptr) << op;
    EXPECT_NE(onnx::ImporterRegistry::global().find("", op), nullptr) << op;
    EXPECT_TRUE(kernels::KernelRegistry::global().hasOp("", op, kernels::Backend::kCpu)) << op;
  }
}

}  // namespace
}  // namespace lowp
