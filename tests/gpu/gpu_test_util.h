// The harness of the GPU kernel tests: runs a CUDA kernel (Backend::kCuda) on device copies of host tensors
// and compares it with the CPU reference kernel of the op on the same node and inputs.
//
// Without a CUDA device every test skips with "no CUDA device: GPU tests skipped"; with LOWP_REQUIRE_GPU=1 in
// the environment (make test-gpu) a missing device fails instead.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "ir/attribute.h"
#include "ir/graph.h"
#include "kernels/kernel.h"
#include "lowp/engine.h"
#include "lowp/tensor.h"
#include "runtime/cuda_device.h"

namespace lowp::testing {

/// The CUDA device the tests share, or null where there is none.
runtime::CudaDevice* gpu();
/// True when LOWP_REQUIRE_GPU=1: a missing GPU is a failure, not a skip.
bool gpuRequired();
/// Whether the GPU has fp8 tensor cores (compute capability 8.9 and later).
bool gpuHasFp8TensorCores();

#define LOWP_REQUIRE_GPU()                                                                    \
  do {                                                                                        \
    if (::lowp::testing::gpu() == nullptr) {                                                  \
      if (::lowp::testing::gpuRequired()) FAIL() << "no CUDA device, and LOWP_REQUIRE_GPU=1"; \
      GTEST_SKIP() << "no CUDA device: GPU tests skipped";                                    \
    }                                                                                         \
  } while (0)

/// While alive, the shared device's kernels bound to one library algorithm (cuBLASLt's "-hN", cuDNN's
/// "-aN" and "-eN") take exactly that one, declining where the library does not offer it, as while the
/// builder times them (CudaContext::exactTactics).
class ExactTactics {
 public:
  ExactTactics() : cuda_(gpu()->kernelContext()) { cuda_.exactTactics = true; }
  ExactTactics(const ExactTactics&) = delete;
  ExactTactics& operator=(const ExactTactics&) = delete;
  ~ExactTactics() { cuda_.exactTactics = false; }

 private:
  kernels::cuda::CudaContext& cuda_;
};

/// A float type under test: the tensor type, its kernel-name prefix ("f32", "f16", "bf16") and the error its
/// results may show against the reference.
struct TypeCase {
  DataType type;
  const char* prefix;
  double tolerance;
};

/// Uniform values in [lo, hi] rounded to `type` (a float type), fresh from `rng`.
Tensor randomTensor(std::mt19937& rng, DataType type, std::vector<int64_t> shape, double lo = -2.0,
                    double hi = 2.0);

/// A tensor of `type` with distinct-looking values: int8 over its whole range, int64 up to +-1e6, float types
/// uniform in [-2, 2]. What kernels that move elements without reading them are tested on (they see only
/// bit patterns).
Tensor anyValues(std::mt19937& rng, DataType type, const std::vector<int64_t>& shape);
/// One type of each size those kernels move (4, 2, 1 and 8 bytes).
inline constexpr DataType kMovedTypes[] = {DataType::kFloat32, DataType::kFloat16, DataType::kInt8,
                                           DataType::kInt64};

/// The same tensor stored channels-last ([N, spatial..., C] bytes; the shape stays logical), and back.
Tensor toHwc(const Tensor& t);
Tensor fromHwc(const Tensor& t);

struct GpuRunOptions {
  /// Byte value every output byte holds before the kernel runs.
  uint8_t poison = 0xff;
  /// Place every tensor one element past a 256-byte boundary, so vectorised kernels take their unaligned
  /// path.
  bool misalign = false;
  /// The inputs the kernel finds a host copy of (KernelContext::hostInput), as the runtime keeps those it
  /// knows while planning; nullopt: every input.
  std::optional<std::vector<size_t>> knownInputs;
};

class NodeUnderTest;

/// A node whose constant indices are out of range (`n`, over `inputs`): kernel `kernelName` declines it, and
/// run anyway it fails with kInvalidArgument, naming the node and saying `message`.
void expectRejectsIndicesOutOfRange(std::string_view kernelName, const NodeUnderTest& n,
                                    const std::vector<Tensor>& inputs, std::string_view message);

/// Runs `kernel` on the GPU over device copies of `inputs` (in the layouts the caller gives), returning the
/// output copied back. `slot` is the kernel's state slot (fresh when null).
Result<Tensor> runOnGpu(const kernels::KernelDef& kernel, const ir::Node& node,
                        const std::vector<Tensor>& inputs, DataType outType,
                        const std::vector<int64_t>& outShape, const GpuRunOptions& options = {},
                        std::shared_ptr<void>* slot = nullptr);

/// The precisions of the cuBLASLt and cuDNN tactics (kernel-name prefix, tensor type) with the relative L2
/// error each may show against the fp32 reference.
struct LibraryPrecision {
  const char* prefix;
  DataType type;
  double tolerance;
};
inline constexpr LibraryPrecision kLibraryPrecisions[] = {{"f32", DataType::kFloat32, 1e-5},
                                                          {"tf32", DataType::kFloat32, 1e-3},
                                                          {"f16", DataType::kFloat16, 1e-2},
                                                          {"bf16", DataType::kBFloat16, 1e-2}};

/// `context`'s outputs for `inputs`, after checking that execute() succeeds (a test failure otherwise).
std::vector<NamedTensor> executeOk(ExecutionContext& context, const std::vector<NamedTensor>& inputs);

/// The lowp command-line program beside the test program (or one folder up); empty when there is none.
std::string lowpProgram();

/// ||got - ref|| / ||ref|| over all elements (fp64); +inf when `got` has a NaN or inf where `ref` has not.
double relativeL2(const Tensor& ref, const Tensor& got);

/// Largest |got - ref| over all elements (for integer outputs).
double maxAbsDifference(const Tensor& ref, const Tensor& got);

/// One comparison of a CUDA kernel with the CPU reference kernel.
struct KernelCase {
  std::string kernel;  ///< The CUDA kernel's registry name.
  std::string opType;
  std::string domain;  ///< "" or "lowp".
  int64_t opset = 17;
  ir::AttributeMap attrs;
  std::vector<Tensor> inputs;  ///< Logical (linear) tensors; type kUndefined marks an omitted input.
  std::vector<size_t> constantSlots;
  /// Relative L2 bound for float outputs, largest difference for integer outputs; 0 asks for identical bytes.
  double tolerance = 1e-5;
  /// True: inputs and output move to and from the kernel's formats (hwc) around the GPU run, and the
  /// reference runs on linear tensors. False: both see the same bytes (lowp.Reformat).
  bool convertFormats = true;
  bool misalign = false;
  /// True for a kernel bound to one library algorithm: its kUnsupported (the algorithm does not apply to
  /// the case) skips the comparison, and the call returns -1.
  bool mayDecline = false;
};

/// Runs the case twice with different poisons (both must agree bytewise: every element written, no race)
/// and compares with the reference; returns the error measured (relative L2 or largest difference), or -1
/// where a kernel that may decline did.
double expectMatchesReference(const KernelCase& c);

}  // namespace lowp::testing
