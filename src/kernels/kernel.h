// The kernel interface and the kernel registry.
//
// A kernel is one declarative registry entry: (op, backend, input/output types, format, required CPU
// feature) -> a function. Every op has a reference kernel (kernels/reference/), simple and exact: the
// oracle for tests and the fallback when nothing faster exists. Faster kernels are one more entry each.
#pragma once

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "ir/attribute.h"
#include "ir/data_type.h"
#include "ir/format.h"
#include "ir/graph.h"
#include "ir/shape.h"
#include "lowp/status.h"
#include "lowp/tensor.h"

namespace lowp::kernels {

namespace cuda {
struct CudaContext;  // kernels/cuda/cuda_context.h
}  // namespace cuda

using ir::DataType;

enum class Backend { kCpu = 0, kCuda = 1 };

/// CPU capabilities a kernel may require (detected once at start-up by the runtime).
enum class CpuFeature { kNone = 0, kAvx2 = 1, kAvx512 = 2, kAvx512Bf16 = 3, kAvx512Vnni = 4 };

using ir::TensorFormat;

/// A set of element types, one bit per DataType.
class TypeSet {
 public:
  constexpr TypeSet() = default;
  TypeSet(std::initializer_list<DataType> types) {
    for (DataType t : types) bits_ |= bit(t);
  }
  static TypeSet any() {
    TypeSet s;
    s.bits_ = ~uint64_t{0};
    return s;
  }
  bool contains(DataType t) const { return (bits_ & bit(t)) != 0; }
  TypeSet operator|(TypeSet o) const {
    TypeSet s;
    s.bits_ = bits_ | o.bits_;
    return s;
  }

 private:
  static uint64_t bit(DataType t) { return uint64_t{1} << static_cast<unsigned>(t); }
  uint64_t bits_ = 0;
};

/// Common type sets.
TypeSet floatTypes();        ///< fp32, fp64, fp16, bf16
TypeSet signedIntTypes();    ///< int8, int16, int32, int64
TypeSet unsignedIntTypes();  ///< uint8, uint16, uint32, uint64
TypeSet intTypes();          ///< signed and unsigned integers
TypeSet numericTypes();      ///< floats and integers
TypeSet allStorableTypes();  ///< numeric, bool, fp8

/// Runs fn(begin, end) over [0, n) in chunks of at least `grain`, possibly on several threads.
using ParallelFor =
    std::function<void(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn)>;

/// What a kernel sees of one node execution.
class KernelContext {
 public:
  KernelContext(const ir::Node& node, std::vector<const Tensor*> inputs, std::vector<Tensor*> outputs,
                const ParallelFor& parallelFor,
                std::function<Tensor(DataType, std::vector<int64_t>)> allocate)
      : node_(node),
        inputs_(std::move(inputs)),
        outputs_(std::move(outputs)),
        parallelFor_(parallelFor),
        allocate_(std::move(allocate)) {}

  const ir::Node& node() const { return node_; }
  const ir::AttributeMap& attrs() const { return node_.attributes; }

  size_t inputCount() const { return inputs_.size(); }
  bool hasInput(size_t i) const { return i < inputs_.size() && inputs_[i] != nullptr; }
  /// Input i; only valid when hasInput(i).
  const Tensor& input(size_t i) const { return *inputs_[i]; }

  /// Input i's value in host memory where the kernel may read it while running on the host: a CPU kernel's
  /// inputs; for a CUDA kernel, the host copy of an input known while planning (a constant, a Reshape
  /// target computed from shapes), which the runtime gives with setHostInputs; nullptr otherwise.
  const Tensor* hostInput(size_t i) const {
    if (!hasInput(i)) return nullptr;
    if (cuda_ == nullptr) return inputs_[i];
    return i < hostInputs_.size() ? hostInputs_[i] : nullptr;
  }
  void setHostInputs(std::vector<const Tensor*> hostInputs) { hostInputs_ = std::move(hostInputs); }

  size_t outputCount() const { return outputs_.size(); }
  bool hasOutput(size_t i) const { return i < outputs_.size() && outputs_[i] != nullptr; }
  /// Output i, allocated by the runtime with the shape inference gave. Ops whose output shape depends on
  /// input values that inference could not see find an empty tensor here and call allocateOutput().
  Tensor& output(size_t i) { return *outputs_[i]; }
  Tensor& allocateOutput(size_t i, DataType type, std::vector<int64_t> shape) {
    *outputs_[i] = allocate_(type, std::move(shape));
    return *outputs_[i];
  }

  /// Per node and execution context, a slot a kernel may fill with what it prepares once and reuses
  /// (a library primitive, packed weights). The kernel must check that what it stored still fits the
  /// inputs (their shapes may change between runs). Empty on the first run.
  std::shared_ptr<void>& state() { return *state_; }
  void setStateSlot(std::shared_ptr<void>* slot) { state_ = slot; }

  void parallelFor(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn) const {
    parallelFor_(n, grain, fn);
  }
  /// The threads parallelFor runs on, for a context a kernel makes for a part of its work.
  const ParallelFor& parallel() const { return parallelFor_; }

  /// For Backend::kCuda kernels, the stream, library handles and workspace to run on; the runtime sets it
  /// (nullptr for CPU kernels). A CUDA kernel's tensors, inputs and outputs alike, are in that device's
  /// memory; the kernel queues its work on the stream and returns without waiting for it.
  cuda::CudaContext* cuda() const { return cuda_; }
  void setCuda(cuda::CudaContext* context) { cuda_ = context; }

  Status invalid(const std::string& message) const {
    return Status(StatusCode::kInvalidArgument, node_.describe() + ": " + message, node_.name);
  }
  Status unsupported(const std::string& message) const {
    return Status(StatusCode::kUnsupported, node_.describe() + ": " + message, node_.name);
  }

 private:
  const ir::Node& node_;
  std::vector<const Tensor*> inputs_;
  std::vector<Tensor*> outputs_;
  std::vector<const Tensor*> hostInputs_;
  const ParallelFor& parallelFor_;
  std::function<Tensor(DataType, std::vector<int64_t>)> allocate_;
  std::shared_ptr<void> ownState_;
  std::shared_ptr<void>* state_ = &ownState_;
  cuda::CudaContext* cuda_ = nullptr;
};

using KernelFn = Status (*)(KernelContext&);

/// Whether a kernel handles this particular node (its attributes and input shapes), beyond the types the
/// registry entry already states. Shapes may have unknown dims; a kernel that needs them known says no.
using SupportsFn = bool (*)(const ir::Node& node, const std::vector<ir::Shape>& inputShapes);

struct KernelDef {
  std::string_view opType;
  Backend backend = Backend::kCpu;
  /// Name that encodes what the kernel is: "<dtype>-<op>[-<fusion>]-<isa>", e.g. "f32-conv-ref".
  std::string_view name;
  /// Allowed types per input slot; slots past the end use the last entry; empty allows anything.
  std::vector<TypeSet> inputTypes;
  /// Allowed types per output slot, same rule.
  std::vector<TypeSet> outputTypes;
  KernelFn fn = nullptr;
  /// Layout per input slot, same rule as inputTypes; empty means kLinear everywhere.
  std::vector<TensorFormat> inputFormats;
  /// Layout per output slot, same rule; empty means kLinear everywhere.
  std::vector<TensorFormat> outputFormats;
  CpuFeature feature = CpuFeature::kNone;
  std::string_view domain = "";
  /// nullptr: every node whose types match. Reference kernels handle every valid node and leave it null.
  SupportsFn supports = nullptr;
  /// True for the reference kernel of the op: the oracle, and the fallback when nothing faster applies.
  /// The runtime zero-fills a reference kernel's outputs before it runs; other kernels must write every
  /// element of their outputs (the padding of blocked formats included, with zeros).
  bool reference = true;
  /// An input whose memory output 0 may take: when nothing reads that input after this node (and it has
  /// output 0's type, layout and size), the runtime plans both in one buffer, and the kernel computes in
  /// place (oneDNN's sum post-op reads the residual from the output). The kernel must work both ways: it
  /// finds the two at the same address, or apart. -1: none.
  int inPlaceInput = -1;
  /// How the kernel departs from the op beyond its precision's rounding, for the report; empty: it does
  /// not. BuilderFlag::kExactActivations leaves such kernels out.
  std::string_view approximation;

  TensorFormat inputFormat(size_t i) const { return slotFormat(inputFormats, i); }
  TensorFormat outputFormat(size_t i) const { return slotFormat(outputFormats, i); }

 private:
  static TensorFormat slotFormat(const std::vector<TensorFormat>& formats, size_t i) {
    if (formats.empty()) return TensorFormat::kLinear;
    return i < formats.size() ? formats[i] : formats.back();
  }
};

class KernelRegistry {
 public:
  void add(KernelDef def) { defs_.push_back(std::move(def)); }
  /// Every kernel for (domain, op, backend) whose type constraints accept the given types
  /// (kUndefined marks an absent slot and matches anything).
  std::vector<const KernelDef*> find(std::string_view domain, std::string_view opType, Backend backend,
                                     const std::vector<DataType>& inputTypes,
                                     const std::vector<DataType>& outputTypes) const;
  /// True when any kernel exists for the op on the backend, whatever the types.
  bool hasOp(std::string_view domain, std::string_view opType, Backend backend) const;
  const std::vector<KernelDef>& all() const { return defs_; }

  /// The registry holding every kernel in kernels/kernel_list.cpp.
  static const KernelRegistry& global();

 private:
  std::vector<KernelDef> defs_;
};

}  // namespace lowp::kernels
