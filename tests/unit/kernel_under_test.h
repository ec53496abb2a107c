// Running one registered kernel directly, outside the runtime: for tests that compare a fast kernel with the
// reference kernel on the same node (tests/unit/test_int8_kernels.cpp, test_hwc.cpp, test_onednn*.cpp), and
// the check that skips the oneDNN ones in a build without oneDNN.
#pragma once

#include <memory>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "ir/attribute.h"
#include "ir/graph.h"
#include "kernels/kernel.h"
#include "lowp/status.h"
#include "lowp/tensor.h"

namespace lowp::testing {

/// Whether this build has lowp's oneDNN kernels (the CMake option LOWP_WITH_ONEDNN).
#if LOWP_WITH_ONEDNN
inline constexpr bool kBuiltWithOneDnn = true;
#else
inline constexpr bool kBuiltWithOneDnn = false;
#endif

/// Skips the test where the build has no oneDNN kernels to test.
#define SKIP_WITHOUT_ONEDNN()                                                       \
  do {                                                                              \
    if (!::lowp::testing::kBuiltWithOneDnn) GTEST_SKIP() << "built without oneDNN"; \
  } while (0)

/// The registered kernel of this name, or nullptr.
const kernels::KernelDef* kernelNamed(std::string_view name);

/// The CPU reference kernel of (domain, op) whose input 0 takes `firstInput` (any when kUndefined: an op
/// may have one reference per type family, as QuantizedMatMul has for int8 and fp8), or nullptr.
const kernels::KernelDef* referenceKernel(std::string_view opType, std::string_view domain,
                                          DataType firstInput = DataType::kUndefined);

/// One node over the given inputs (a Tensor of type kUndefined marks an omitted input), with its output type
/// and shape from schema inference; `constantSlots` become graph constants, as initializers would be.
class NodeUnderTest {
 public:
  NodeUnderTest(const std::string& opType, const std::string& domain, int64_t opset, ir::AttributeMap attrs,
                const std::vector<Tensor>& inputs, const std::vector<size_t>& constantSlots);

  /// Gives the node's values the formats `kernel` declares (the runtime checks that they agree).
  void setFormats(const kernels::KernelDef& kernel);

  const ir::Node& node() const { return *node_; }
  const Status& status() const { return status_; }
  const std::vector<int64_t>& outputShape() const { return outShape_; }
  /// Whether shape inference settled the output's shape; where it did not (a shape read from an input not
  /// among the constant slots), outputShape() is no size to allocate the output at.
  bool outputShapeKnown() const { return outShapeKnown_; }
  DataType outputType() const { return outType_; }
  const std::vector<ir::Shape>& inputShapes() const { return shapes_; }

 private:
  ir::Graph graph_;
  ir::Node* node_ = nullptr;
  std::vector<ir::Shape> shapes_;
  std::vector<int64_t> outShape_;
  bool outShapeKnown_ = false;
  DataType outType_ = DataType::kUndefined;
  Status status_;
};

/// Runs `kernel` on `node` with `inputs` on a pool of two threads. The output starts as garbage (a fast
/// kernel must write every element), or zeros for a reference kernel (as the runtime gives it). `slot` is
/// the kernel's state slot (a fresh one when null), so a test can run a kernel twice on one plan.
Result<Tensor> runKernel(const kernels::KernelDef& kernel, const ir::Node& node,
                         const std::vector<Tensor>& inputs, DataType outType,
                         const std::vector<int64_t>& outShape, std::shared_ptr<void>* slot = nullptr);

/// Uniform integers in [lo, hi] as an int8, uint8 or int32 tensor.
Tensor randomIntegers(std::mt19937& rng, DataType type, std::vector<int64_t> shape, int64_t lo, int64_t hi);

}  // namespace lowp::testing
