// Reference kernels of lowp's fused ops (ir/ops/fused.h): FusedConv and FusedMatMul.
//
// Each runs the reference kernel of the ONNX op it extends (Conv, MatMul) in the compute type (fp32 for
// fp32/fp16/bf16 tensors, whose fp16/bf16 inputs are widened exactly; fp64 for fp64), then adds the bias
// (FusedMatMul) and the residual Z (FusedConv), applies the activation with the ONNX op's formula, and
// rounds once to the output type. On fp32 and fp64 tensors this equals the unfused graph exactly.
#include <functional>
#include <string>
#include <type_traits>
#include <vector>

#include "ir/ops/fused.h"
#include "kernels/reference/common.h"

namespace lowp::kernels::ref {
namespace {

// Runs the reference kernel of `opType` on this node's first inputs (all in the compute type C) into `y`.
template <typename C>
Status runBase(KernelContext& ctx, std::string_view opType, size_t inputCount, Tensor& y) {
  std::vector<Tensor> storage;
  storage.reserve(inputCount);
  std::vector<const Tensor*> inputs;
  for (size_t i = 0; i < inputCount; ++i) {
    if (!ctx.hasInput(i)) {
      inputs.push_back(nullptr);
      continue;
    }
    storage.push_back(widened<C>(ctx.input(i)));
    inputs.push_back(&storage.back());
  }
  return runReferenceOf(ctx, opType, std::move(inputs), y);
}

// y = act(acc + bias[i % n] + z[i]) rounded to T, for the accumulator `acc` of the base op.
template <typename T, typename C>
void finish(const Tensor& acc, const Tensor* bias, const Tensor* z, const ir::ops::ActivationSpec& act,
            Tensor& y) {
  const C* a = acc.data<C>();
  const Tensor biasC = bias != nullptr ? widened<C>(*bias) : Tensor();
  const C* b = bias != nullptr ? biasC.data<C>() : nullptr;
  const int64_t n = bias != nullptr ? bias->elementCount() : 1;
  const T* r = z != nullptr ? z->data<T>() : nullptr;
  T* out = y.data<T>();
  for (int64_t i = 0; i < y.elementCount(); ++i) {
    C v = a[i];
    if (b != nullptr) v += b[i % n];
    if (r != nullptr) v += static_cast<C>(toCompute(r[i]));
    out[i] = fromCompute<T>(static_cast<Compute<T>>(ir::ops::applyActivation(act, v)));
  }
}

// FusedConv: inputs X, W, B?, Z?. FusedMatMul: inputs A, B, Bias?.
template <bool kConv>
Status fusedKernel(KernelContext& ctx) {
  auto act = ir::ops::readActivation(ctx.attrs());
  if (!act) return ctx.invalid(act.status().message());
  Tensor& y = ctx.output(0);
  const Tensor* z = kConv && ctx.hasInput(3) ? &ctx.input(3) : nullptr;
  if (z != nullptr && (z->shape() != y.shape() || z->type() != y.type())) {
    return ctx.invalid("residual " + z->describe() + " does not match the output " + y.describe());
  }
  const Tensor* bias = !kConv && ctx.hasInput(2) ? &ctx.input(2) : nullptr;
  if (bias != nullptr && (y.rank() == 0 || bias->elementCount() != y.shape().back())) {
    return ctx.invalid("bias " + bias->describe() + " is not one value per column of the output " +
                       y.describe());
  }
  Status st;
  const bool ok = dispatchFloat(y.type(), [&]<typename T>() {
    using C = std::conditional_t<std::is_same_v<T, double>, double, float>;
    Tensor acc(std::is_same_v<C, double> ? DataType::kFloat64 : DataType::kFloat32, y.shape());
    st = runBase<C>(ctx, kConv ? "Conv" : "MatMul", kConv ? 3 : 2, acc);
    if (st.isOk()) finish<T, C>(acc, bias, z, *act, y);
  });
  if (!ok) return ctx.unsupported("no reference kernel for type " + y.describe());
  return st;
}

}  // namespace

void registerFusedKernels(KernelRegistry& registry) {
  const TypeSet biasTypes = floatTypes();  // fp32 beside fp16/bf16 operands; the schema checks the pairs
  registry.add({.opType = "FusedConv",
                .name = "any-fusedconv-ref",
                .inputTypes = {floatTypes(), floatTypes(), biasTypes, floatTypes()},
                .outputTypes = {floatTypes()},
                .fn = fusedKernel<true>,
                .domain = ir::ops::kLowpDomain});
  registry.add({.opType = "FusedMatMul",
                .name = "any-fusedmatmul-ref",
                .inputTypes = {floatTypes(), floatTypes(), biasTypes},
                .outputTypes = {floatTypes()},
                .fn = fusedKernel<false>,
                .domain = ir::ops::kLowpDomain});
}

}  // namespace lowp::kernels::ref
