#include "gpu_test_util.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <functional>
#include <iostream>

#include "ir/format.h"
#include "ir/numeric.h"
#include "kernel_under_test.h"
#include "kernels/cuda/cuda_check.h"
#include "kernels/cuda/cuda_context.h"
#include "op_runner.h"
#include "runtime/thread_pool.h"

namespace lowp::testing {

using kernels::KernelDef;
using kernels::TensorFormat;

runtime::CudaDevice* gpu() {
  static std::unique_ptr<runtime::CudaDevice> device = []() -> std::unique_ptr<runtime::CudaDevice> {
    if (!runtime::cudaDevicePresent()) return nullptr;
    auto d = runtime::CudaDevice::create();
    if (!d) {
      ADD_FAILURE() << "a CUDA device is present but could not be opened: " << d.status().toString();
      return nullptr;
    }
    return std::move(d).value();
  }();
  return device.get();
}

bool gpuRequired() {
  const char* v = std::getenv("LOWP_REQUIRE_GPU");
  return v != nullptr && std::string(v) == "1";
}

bool gpuHasFp8TensorCores() {
  auto f = runtime::cudaFingerprint();
  return f.isOk() && f->smMajor * 10 + f->smMinor >= 89;
}

Tensor randomTensor(std::mt19937& rng, DataType type, std::vector<int64_t> shape, double lo, double hi) {
  Tensor t(type, std::move(shape));
  std::uniform_real_distribution<double> dist(lo, hi);
  for (int64_t i = 0; i < t.elementCount(); ++i) {
    const auto v = static_cast<float>(dist(rng));
    switch (type) {
      case DataType::kFloat32:
        t.data<float>()[i] = v;
        break;
      case DataType::kFloat16:
        t.data<uint16_t>()[i] = ir::floatToFloat16(v);
        break;
      case DataType::kBFloat16:
        t.data<uint16_t>()[i] = ir::floatToBFloat16(v);
        break;
      default:
        ADD_FAILURE() << "randomTensor: not a float type";
        return t;
    }
  }
  return t;
}

Tensor anyValues(std::mt19937& rng, DataType type, const std::vector<int64_t>& shape) {
  if (type == DataType::kInt8) return randomIntegers(rng, type, shape, -128, 127);
  if (type == DataType::kInt64) {
    std::vector<double> v(static_cast<size_t>(count(shape)));
    std::uniform_int_distribution<int64_t> dist(-1000000, 1000000);
    for (double& e : v) e = static_cast<double>(dist(rng));
    return makeTensor(type, shape, v);
  }
  return randomTensor(rng, type, shape);
}

Tensor toHwc(const Tensor& t) {
  Tensor out(t.type(), t.shape());
  ir::reorderChannelsLast(t, out, true);
  return out;
}

Tensor fromHwc(const Tensor& t) {
  Tensor out(t.type(), t.shape());
  ir::reorderChannelsLast(t, out, false);
  return out;
}

namespace {

Result<runtime::DeviceTensor> upload(runtime::CudaDevice& device, const Tensor& host, bool misalign) {
  const auto offset = static_cast<size_t>(misalign ? dataTypeSize(host.type()) : 0);
  runtime::DeviceTensor d;
  LOWP_ASSIGN_OR_RETURN(d.buffer, device.allocateChecked(static_cast<size_t>(host.byteSize()) + 256));
  void* data = static_cast<char*>(d.buffer.get()) + offset;
  LOWP_RETURN_IF_ERROR(device.copyIn(data, host.data(), static_cast<size_t>(host.byteSize())));
  d.view = Tensor::view(host.type(), host.shape(), data);
  return d;
}

bool isHwcCandidate(const Tensor& t) {
  return t.rank() >= 3 && t.rank() <= 5;
}

// The op's reference kernel for input 0 of type `firstInput` (an op may have one per type family, as
// QuantizedMatMul has for int8 and for fp8 operands).
const KernelDef* referenceFor(const KernelDef& kernel, bool sameFormats, DataType firstInput) {
  for (const KernelDef& k : kernels::KernelRegistry::global().all()) {
    if (k.backend != kernels::Backend::kCpu || !k.reference || k.opType != kernel.opType ||
        k.domain != kernel.domain)
      continue;
    if (!k.inputTypes.empty() && !k.inputTypes[0].contains(firstInput)) continue;
    if (sameFormats &&
        (k.inputFormat(0) != kernel.inputFormat(0) || k.outputFormat(0) != kernel.outputFormat(0)))
      continue;
    if (!sameFormats &&
        (k.inputFormat(0) != TensorFormat::kLinear || k.outputFormat(0) != TensorFormat::kLinear))
      continue;
    return &k;
  }
  return nullptr;
}

}  // namespace

Result<Tensor> runOnGpu(const KernelDef& kernel, const ir::Node& node, const std::vector<Tensor>& inputs,
                        DataType outType, const std::vector<int64_t>& outShape, const GpuRunOptions& options,
                        std::shared_ptr<void>* slot) {
  runtime::CudaDevice* device = gpu();
  if (device == nullptr) return Status(StatusCode::kUnsupported, "no CUDA device");
  std::vector<runtime::DeviceTensor> in(inputs.size());
  std::vector<const Tensor*> pointers;
  for (size_t i = 0; i < inputs.size(); ++i) {
    if (inputs[i].type() == DataType::kUndefined) {
      pointers.push_back(nullptr);
      continue;
    }
    LOWP_ASSIGN_OR_RETURN(in[i], upload(*device, inputs[i], options.misalign));
    pointers.push_back(&in[i].view);
  }
  Tensor host(outType, outShape);
  const auto offset = static_cast<size_t>(options.misalign ? dataTypeSize(outType) : 0);
  LOWP_ASSIGN_OR_RETURN(std::shared_ptr<void> outBuffer,
                        device->allocateChecked(static_cast<size_t>(host.byteSize()) + 256));
  void* outData = static_cast<char*>(outBuffer.get()) + offset;
  LOWP_RETURN_IF_ERROR(kernels::cuda::checkCall(
      cudaMemset(outData, options.poison, static_cast<size_t>(host.byteSize())), "cudaMemset"));
  Tensor out = Tensor::view(outType, outShape, outData);
  const kernels::ParallelFor serial = [](int64_t n, int64_t,
                                         const std::function<void(int64_t, int64_t)>& fn) { fn(0, n); };
  kernels::KernelContext ctx(node, pointers, {&out}, serial, [](DataType, const std::vector<int64_t>&) {
    return Tensor();  // CUDA kernels here never allocate outputs
  });
  std::shared_ptr<void> own;
  ctx.setStateSlot(slot != nullptr ? slot : &own);
  ctx.setCuda(&device->kernelContext());
  // The host copies stand for what the runtime keeps of inputs known while planning.
  std::vector<const Tensor*> hostInputs;
  hostInputs.reserve(inputs.size());
  for (size_t i = 0; i < inputs.size(); ++i) {
    const bool known =
        !options.knownInputs || std::ranges::find(*options.knownInputs, i) != options.knownInputs->end();
    hostInputs.push_back(known && inputs[i].type() != DataType::kUndefined ? &inputs[i] : nullptr);
  }
  ctx.setHostInputs(std::move(hostInputs));
  LOWP_RETURN_IF_ERROR(kernel.fn(ctx));
  LOWP_RETURN_IF_ERROR(device->sync());
  LOWP_RETURN_IF_ERROR(device->copyOut(host.data(), outData, static_cast<size_t>(host.byteSize())));
  return host;
}

double relativeL2(const Tensor& ref, const Tensor& got) {
  double num = 0.0;
  double den = 0.0;
  for (int64_t i = 0; i < ref.elementCount(); ++i) {
    const double r = elementAsDouble(ref, i);
    const double g = elementAsDouble(got, i);
    if (std::isnan(g) && !std::isnan(r)) return INFINITY;
    if (std::isinf(r) || std::isinf(g)) {
      if (r != g) return INFINITY;
      continue;
    }
    if (std::isnan(r)) continue;
    num += (g - r) * (g - r);
    den += r * r;
  }
  return den == 0.0 ? std::sqrt(num) : std::sqrt(num / den);
}

double maxAbsDifference(const Tensor& ref, const Tensor& got) {
  double worst = 0.0;
  for (int64_t i = 0; i < ref.elementCount(); ++i)
    worst = std::max(worst, std::abs(elementAsDouble(got, i) - elementAsDouble(ref, i)));
  return worst;
}

double expectMatchesReference(const KernelCase& c) {
  const KernelDef* kernel = kernelNamed(c.kernel);
  EXPECT_NE(kernel, nullptr) << "no kernel named " << c.kernel;
  if (kernel == nullptr) return INFINITY;
  EXPECT_EQ(kernel->backend, kernels::Backend::kCuda) << c.kernel;
  const KernelDef* reference =
      referenceFor(*kernel, !c.convertFormats, c.inputs.empty() ? DataType::kUndefined : c.inputs[0].type());
  EXPECT_NE(reference, nullptr) << "no reference kernel for " << c.opType;
  if (reference == nullptr) return INFINITY;
  NodeUnderTest n(c.opType, c.domain, c.opset, c.attrs, c.inputs, c.constantSlots);
  EXPECT_TRUE(n.status().isOk()) << n.status().toString();
  if (!n.status().isOk()) return INFINITY;
  EXPECT_TRUE(n.outputShapeKnown()) << c.opType
                                    << "'s output shape is not known: give the inputs it depends on as "
                                       "constantSlots";
  if (!n.outputShapeKnown()) return INFINITY;
  EXPECT_TRUE(kernel->supports == nullptr || kernel->supports(n.node(), n.inputShapes()))
      << c.kernel << " declines the node";

  auto ref = runKernel(*reference, n.node(), c.inputs, n.outputType(), n.outputShape());
  EXPECT_TRUE(ref.isOk()) << ref.status().toString();
  if (!ref) return INFINITY;

  std::vector<Tensor> gpuInputs = c.inputs;
  const bool hwcOut = c.convertFormats && kernel->outputFormat(0) == TensorFormat::kHwc;
  if (c.convertFormats) {
    for (size_t i = 0; i < gpuInputs.size(); ++i) {
      if (kernel->inputFormat(i) == TensorFormat::kHwc && gpuInputs[i].type() != DataType::kUndefined &&
          isHwcCandidate(gpuInputs[i]))
        gpuInputs[i] = toHwc(gpuInputs[i]);
    }
  }
  std::vector<Tensor> outputs;
  for (uint8_t poison : {uint8_t{0xff}, uint8_t{0x5a}}) {
    auto got = runOnGpu(*kernel, n.node(), gpuInputs, n.outputType(), n.outputShape(),
                        {.poison = poison, .misalign = c.misalign});
    if (c.mayDecline && !got && got.status().code() == StatusCode::kUnsupported) {
      std::cout << "  " << c.kernel << " declined: " << got.status().message() << "\n";
      return -1;
    }
    EXPECT_TRUE(got.isOk()) << c.kernel << ": " << got.status().toString();
    if (!got) return INFINITY;
    outputs.push_back(hwcOut ? fromHwc(*got) : *got);
  }
  EXPECT_EQ(std::memcmp(outputs[0].data(), outputs[1].data(), static_cast<size_t>(outputs[0].byteSize())), 0)
      << c.kernel
      << ": the output depends on what the buffer held before (an element not written, or a race)";
  const Tensor& got = outputs[0];
  if (c.tolerance == 0.0) {
    const bool same = std::memcmp(got.data(), ref->data(), static_cast<size_t>(got.byteSize())) == 0;
    EXPECT_TRUE(same) << c.kernel << ": not bit-exact with " << reference->name << " (largest difference "
                      << maxAbsDifference(*ref, got) << ")";
    return same ? 0.0 : maxAbsDifference(*ref, got);
  }
  const bool integer = got.type() == DataType::kInt8 || got.type() == DataType::kUInt8;
  const double error = integer ? maxAbsDifference(*ref, got) : relativeL2(*ref, got);
  EXPECT_LE(error, c.tolerance) << c.kernel << " against " << reference->name << " on "
                                << c.inputs[0].describe();
  return error;
}

std::vector<NamedTensor> executeOk(ExecutionContext& context, const std::vector<NamedTensor>& inputs) {
  std::vector<NamedTensor> outputs;
  const Status s = context.execute(inputs, outputs);
  EXPECT_TRUE(s.isOk()) << s.toString();
  return outputs;
}

std::string lowpProgram() {
  namespace fs = std::filesystem;
  const fs::path self = fs::read_symlink("/proc/self/exe").parent_path();
  for (const fs::path& candidate : {self / "lowp", self.parent_path() / "lowp"}) {
    if (fs::exists(candidate)) return candidate.string();
  }
  return "";
}

void expectRejectsIndicesOutOfRange(std::string_view kernelName, const NodeUnderTest& n,
                                    const std::vector<Tensor>& inputs, std::string_view message) {
  const KernelDef* k = kernelNamed(kernelName);
  ASSERT_NE(k, nullptr) << kernelName;
  ASSERT_TRUE(n.status().isOk()) << n.status().toString();
  EXPECT_FALSE(k->supports(n.node(), n.inputShapes()));
  auto got = runOnGpu(*k, n.node(), inputs, n.outputType(), n.outputShape());
  ASSERT_FALSE(got.isOk());
  EXPECT_EQ(got.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(got.status().node(), n.node().name);
  EXPECT_NE(got.status().message().find(message), std::string::npos) << got.status().toString();
}

}  // namespace lowp::testing
