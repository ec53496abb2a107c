// Shared pieces of the oneDNN kernels (see common.h): engine, streams, threading, buffers, errors.
#include "kernels/onednn/common.h"

#include <omp.h>

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstring>
#include <mutex>
#include <optional>
#include <string>
#include <utility>

#include "kernels/onednn/onednn.h"

namespace lowp::kernels::onednn {

dnnl::engine& cpuEngine() {
  static dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  return engine;
}

dnnl::stream& threadStream() {
  thread_local dnnl::stream stream(cpuEngine());
  return stream;
}

void runOnCallingThreadOnly() {
  thread_local bool single = false;
  if (!single) {
    omp_set_num_threads(1);
    single = true;
  }
}

Status parallelOneDnn(const KernelContext& ctx, int64_t n, int64_t grain,
                      const std::function<void(int64_t, int64_t)>& fn) {
  std::mutex mutex;
  std::optional<Status> failed;
  ctx.parallelFor(n, grain, [&](int64_t begin, int64_t end) {
    try {
      runOnCallingThreadOnly();
      fn(begin, end);
    } catch (const dnnl::error& e) {
      const std::lock_guard<std::mutex> lock(mutex);
      if (!failed) failed = oneDnnError(ctx, e);
    }
  });
  return failed ? *failed : Status();
}

// threadMemory's slots past those of the callers: the memory objects of threadBuffer's buffers.
constexpr int kBufferMemorySlots = 64;

const dnnl::memory& threadBuffer(int slot, const dnnl::memory::desc& desc) {
  struct alignas(64) CacheLine {
    std::byte bytes[64];
  };
  thread_local std::vector<std::vector<CacheLine>> buffers;
  if (buffers.size() <= static_cast<size_t>(slot)) buffers.resize(static_cast<size_t>(slot) + 1);
  std::vector<CacheLine>& buffer = buffers[static_cast<size_t>(slot)];
  const size_t lines = (desc.get_size() + sizeof(CacheLine) - 1) / sizeof(CacheLine);
  if (buffer.size() < lines) buffer.resize(lines);
  return threadMemory(kBufferMemorySlots + slot, desc, buffer.data());
}

const dnnl::memory& threadMemory(int slot, const dnnl::memory::desc& desc, void* data) {
  // A fixed array: a reference handed out stays valid while other slots are taken.
  thread_local std::array<dnnl::memory, 2 * kBufferMemorySlots> memories;
  dnnl::memory& m = memories.at(static_cast<size_t>(slot));
  if (!m || m.get_desc() != desc) {
    m = dnnl::memory(desc, cpuEngine(), data);
  } else {
    m.set_data_handle(data);
  }
  return m;
}

void executePrimitive(const dnnl::primitive& primitive, dnnl::stream& stream,
                      std::initializer_list<ExecArg> args) {
  std::array<dnnl_exec_arg_t, 16> c{};
  int count = 0;
  for (const ExecArg& a : args) {
    if (a.memory != nullptr && count < static_cast<int>(c.size()))
      c[static_cast<size_t>(count++)] = {a.arg, a.memory->get()};
  }
  dnnl::error::wrap_c_api(dnnl_primitive_execute(primitive.get(), stream.get(), count, c.data()),
                          "could not execute a primitive");
}

dnnl::memory::dims toDims(const std::vector<int64_t>& sizes) {
  return dnnl::memory::dims(sizes.begin(), sizes.end());
}

dnnl::memory::data_type toDnnlType(DataType type) {
  switch (type) {
    case DataType::kBFloat16:
      return dnnl::memory::data_type::bf16;
    case DataType::kFloat16:
      return dnnl::memory::data_type::f16;
    default:
      return dnnl::memory::data_type::f32;
  }
}

dnnl::memory::data_type toDnnlQuantizedType(DataType type) {
  switch (type) {
    case DataType::kInt8:
      return dnnl::memory::data_type::s8;
    case DataType::kUInt8:
      return dnnl::memory::data_type::u8;
    case DataType::kInt32:
      return dnnl::memory::data_type::s32;
    case DataType::kBFloat16:
      return dnnl::memory::data_type::bf16;
    default:
      return dnnl::memory::data_type::f32;
  }
}

bool oneDnnInt8IsExact() {
  const auto vnni = static_cast<unsigned>(dnnl::cpu_isa::avx512_core_vnni);
  return (static_cast<unsigned>(dnnl::get_effective_cpu_isa()) & vnni) == vnni;
}

void ConvolutionPiece::adopt(dnnl::primitive made, const dnnl::primitive_desc_base& pd, bool sharedSrc,
                             bool residual) {
  primitive = std::move(made);
  src = pd.src_desc();
  dst = pd.dst_desc();
  scratchpad = pd.scratchpad_desc();
  reorderSrc = src != userSrc;
  if (reorderSrc && !sharedSrc) srcIn = Reorder(userSrc, src);
  reorderDst = dst != userDst;
  if (reorderDst) {
    dstOut = Reorder(dst, userDst);
    if (residual) dstIn = Reorder(userDst, dst);
  }
  weights.plan(userWeights, pd.weights_desc());
}

void runPiece(const KernelContext& ctx, ConvolutionPiece& piece, const PieceData& data) {
  enum Slot { kSrc, kDst, kZ, kBias };  // threadMemory's slots
  dnnl::stream& stream = threadStream();
  const ir::Value* wValue = ctx.node().input(1);
  const dnnl::memory& weights =
      piece.weights.get(data.weights, wValue != nullptr && wValue->constant.has_value());
  const dnnl::memory* src = &threadMemory(kSrc, data.srcReordered ? piece.src : piece.userSrc, data.src);
  if (piece.reorderSrc && !data.srcReordered) {
    const dnnl::memory& reordered = threadBuffer(0, piece.src);
    piece.srcIn.execute(stream, *src, reordered);
    src = &reordered;
  }
  const dnnl::memory& userDst = threadMemory(kDst, piece.userDst, data.y);
  const dnnl::memory& dst = piece.reorderDst ? threadBuffer(1, piece.dst) : userDst;
  if (data.z != nullptr) {
    if (piece.reorderDst) {
      piece.dstIn.execute(stream, threadMemory(kZ, piece.userDst, data.z), dst);
    } else if (data.z != data.y) {  // in place, y holds z already
      std::memcpy(data.y, data.z, piece.userDst.get_size());
    }
  }
  const dnnl::memory* bias = data.bias != nullptr ? &threadMemory(kBias, piece.bias, data.bias) : nullptr;
  executePrimitive(piece.primitive, stream,
                   {{DNNL_ARG_SRC, src},
                    {DNNL_ARG_WEIGHTS, &weights},
                    {DNNL_ARG_BIAS, bias},
                    {DNNL_ARG_DST, &dst},
                    {DNNL_ARG_SCRATCHPAD, &threadBuffer(2, piece.scratchpad)}});
  if (piece.reorderDst) piece.dstOut.execute(stream, dst, userDst);
  stream.wait();
}

Status runReferenceKernel(KernelContext& ctx) {
  std::vector<DataType> in;
  std::vector<DataType> out;
  for (size_t i = 0; i < ctx.inputCount(); ++i)
    in.push_back(ctx.hasInput(i) ? ctx.input(i).type() : DataType::kUndefined);
  for (size_t i = 0; i < ctx.outputCount(); ++i)
    out.push_back(ctx.hasOutput(i) ? ctx.output(i).type() : DataType::kUndefined);
  const ir::Node& node = ctx.node();
  for (const KernelDef* k : KernelRegistry::global().find(node.domain, node.opType, Backend::kCpu, in, out)) {
    if (!k->reference) continue;
    // An input whose memory an output took (KernelDef::inPlaceInput) is read from a copy: the zero-filled
    // output would erase it.
    std::vector<Tensor*> outputs;
    for (size_t i = 0; i < ctx.outputCount(); ++i)
      outputs.push_back(ctx.hasOutput(i) ? &ctx.output(i) : nullptr);
    std::vector<Tensor> copies;
    copies.reserve(ctx.inputCount());
    std::vector<const Tensor*> inputs;
    for (size_t i = 0; i < ctx.inputCount(); ++i) {
      const Tensor* input = ctx.hasInput(i) ? &ctx.input(i) : nullptr;
      if (input != nullptr && input->data() != nullptr &&
          std::any_of(outputs.begin(), outputs.end(),
                      [&](const Tensor* o) { return o != nullptr && o->data() == input->data(); }))
        input = &copies.emplace_back(input->clone());
      inputs.push_back(input);
    }
    // The runtime zero-fills a reference kernel's outputs before it runs (kernel.h); so does this fallback.
    for (Tensor* t : outputs) {
      if (t != nullptr && t->data() != nullptr) std::memset(t->data(), 0, static_cast<size_t>(t->byteSize()));
    }
    if (copies.empty()) return k->fn(ctx);
    KernelContext apart(node, std::move(inputs), std::move(outputs), ctx.parallel(),
                        [](DataType t, std::vector<int64_t> s) { return Tensor(t, std::move(s)); });
    apart.setStateSlot(&ctx.state());
    return k->fn(apart);
  }
  return ctx.unsupported("no reference kernel to fall back on");
}

dnnl::memory::format_tag plainLayoutTag(size_t rank) {
  using Tag = dnnl::memory::format_tag;
  return rank == 3 ? Tag::ncw : rank == 4 ? Tag::nchw : Tag::ncdhw;
}

dnnl::memory::format_tag channelsLastLayoutTag(size_t rank) {
  using Tag = dnnl::memory::format_tag;
  return rank == 3 ? Tag::nwc : rank == 4 ? Tag::nhwc : Tag::ndhwc;
}

RowBand inputRowsOf(const ir::ops::Window& window, int64_t inputRows, int64_t o0, int64_t o1) {
  const int64_t reach = (window.kernel[0] - 1) * window.dilations[0] + 1;
  const int64_t first = o0 * window.strides[0] - window.padsBegin[0];
  const int64_t last = (o1 - 1) * window.strides[0] - window.padsBegin[0] + reach;  // one past
  RowBand b;
  b.begin = std::max<int64_t>(first, 0);
  b.end = std::min(last, inputRows);
  b.padTop = b.begin - first;
  b.padBottom = last - b.end;
  return b;
}

ConvPiece convPiece(const ir::ops::Window& window, const std::vector<int64_t>& x,
                    const std::vector<int64_t>& w, int64_t group, bool sliceInput, bool byRows,
                    int64_t images, int64_t first, int64_t last) {
  ConvPiece p;
  p.oc0 = byRows ? 0 : first;
  p.oc1 = byRows ? w[0] : last;
  const int64_t outChannels = p.oc1 - p.oc0;
  p.groups = sliceInput ? outChannels : group;
  p.weights = {outChannels, w[1]};
  p.weights.insert(p.weights.end(), w.begin() + 2, w.end());
  if (p.groups > 1) {
    p.weights[0] = outChannels / p.groups;
    p.weights.insert(p.weights.begin(), p.groups);
  }
  p.src = {images, sliceInput ? outChannels : x[1]};
  p.src.insert(p.src.end(), x.begin() + 2, x.end());
  p.dst = {images, outChannels};
  for (int64_t size : window.output) p.dst.push_back(size);
  for (int64_t d : window.dilations) p.dilations.push_back(d - 1);
  p.padsBegin = toDims(window.padsBegin);
  p.padsEnd = toDims(window.padsEnd);
  if (byRows) {
    const RowBand b = inputRowsOf(window, x[2], first, last);
    p.src[2] = b.end - b.begin;
    p.dst[2] = last - first;
    p.padsBegin[0] = b.padTop;
    p.padsEnd[0] = b.padBottom;
  }
  return p;
}

dnnl::memory::format_tag channelBlockedLayoutTag(size_t rank) {
  using Tag = dnnl::memory::format_tag;
  return rank == 3 ? Tag::nCw16c : rank == 4 ? Tag::nChw16c : Tag::nCdhw16c;
}

dnnl::memory::desc channelsLastSlice(const dnnl::memory::dims& dims, dnnl::memory::data_type type,
                                     int64_t channels) {
  dnnl::memory::dims strides(dims.size(), 1);
  int64_t stride = channels;
  for (size_t d = dims.size() - 1; d >= 2; --d) {
    strides[d] = stride;
    stride *= dims[d];
  }
  strides[0] = stride;
  return dnnl::memory::desc(dims, type, strides);
}

namespace {

// Copies `from` into `to` (same type and shape, rank 3 to 5) between the plain and channels-last layouts.
void reorderLayout(const Tensor& from, bool fromHwc, Tensor& to, bool toHwc) {
  const size_t rank = from.shape().size();
  const auto type = toDnnlQuantizedType(from.type());
  const dnnl::memory::dims dims = toDims(from.shape());
  const dnnl::memory::desc a(dims, type, fromHwc ? channelsLastLayoutTag(rank) : plainLayoutTag(rank));
  const dnnl::memory::desc b(dims, type, toHwc ? channelsLastLayoutTag(rank) : plainLayoutTag(rank));
  dnnl::memory src(a, cpuEngine(), const_cast<void*>(from.data()));
  dnnl::memory dst(b, cpuEngine(), to.data());
  dnnl::stream& stream = threadStream();
  dnnl::reorder(src, dst).execute(stream, src, dst);
  stream.wait();
}

}  // namespace

Status runReferenceKernelFromHwc(KernelContext& ctx, const std::vector<bool>& inputHwc,
                                 const std::vector<bool>& outputHwc) {
  auto hwc = [](const std::vector<bool>& flags, size_t i) { return i < flags.size() && flags[i]; };
  std::vector<Tensor> plainInputs(ctx.inputCount());
  std::vector<const Tensor*> inputs;
  for (size_t i = 0; i < ctx.inputCount(); ++i) {
    if (!ctx.hasInput(i)) {
      inputs.push_back(nullptr);
    } else if (hwc(inputHwc, i) && ctx.input(i).elementCount() > 0) {
      plainInputs[i] = Tensor(ctx.input(i).type(), ctx.input(i).shape());
      reorderLayout(ctx.input(i), true, plainInputs[i], false);
      inputs.push_back(&plainInputs[i]);
    } else {
      inputs.push_back(&ctx.input(i));
    }
  }
  std::vector<Tensor> plainOutputs(ctx.outputCount());
  std::vector<Tensor*> outputs;
  for (size_t i = 0; i < ctx.outputCount(); ++i) {
    if (!ctx.hasOutput(i)) {
      outputs.push_back(nullptr);
    } else if (hwc(outputHwc, i) && ctx.output(i).elementCount() > 0) {
      plainOutputs[i] = Tensor(ctx.output(i).type(), ctx.output(i).shape());
      outputs.push_back(&plainOutputs[i]);
    } else {
      outputs.push_back(&ctx.output(i));
    }
  }
  const ParallelFor parallelFor = [&ctx](int64_t n, int64_t grain,
                                         const std::function<void(int64_t, int64_t)>& fn) {
    ctx.parallelFor(n, grain, fn);
  };
  KernelContext plain(ctx.node(), inputs, outputs, parallelFor,
                      [](DataType t, std::vector<int64_t> s) { return Tensor(t, std::move(s)); });
  LOWP_RETURN_IF_ERROR(runReferenceKernel(plain));
  for (size_t i = 0; i < ctx.outputCount(); ++i) {
    if (outputs[i] == &plainOutputs[i]) reorderLayout(plainOutputs[i], false, ctx.output(i), true);
  }
  return {};
}

bool rankKnownNoZeroDim(const ir::Shape& shape) {
  if (!shape.rankKnown()) return false;
  for (const ir::Dim& d : shape.dims()) {
    if (d.size == 0) return false;
  }
  return true;
}

bool appendActivation(dnnl::post_ops& ops, const ir::ops::ActivationSpec& spec) {
  using dnnl::algorithm;
  using ir::ops::FusedActivation;
  switch (spec.kind) {
    case FusedActivation::kNone:
      return true;
    case FusedActivation::kRelu:
      ops.append_eltwise(1.0f, algorithm::eltwise_relu, 0.0f, 0.0f);
      return true;
    case FusedActivation::kLeakyRelu:
      ops.append_eltwise(1.0f, algorithm::eltwise_relu, spec.alpha, 0.0f);
      return true;
    case FusedActivation::kClip:
      // oneDNN's clip is x < alpha ? alpha : min(x, beta): ONNX's Clip only while min <= max.
      if (!(spec.alpha <= spec.beta)) return false;
      ops.append_eltwise(1.0f, algorithm::eltwise_clip, spec.alpha, spec.beta);
      return true;
    case FusedActivation::kSigmoid:
      ops.append_eltwise(1.0f, algorithm::eltwise_logistic, 0.0f, 0.0f);
      return true;
    case FusedActivation::kHardSwish:
      ops.append_eltwise(1.0f, algorithm::eltwise_hardswish, 0.0f, 0.0f);
      return true;
    case FusedActivation::kTanh:
      ops.append_eltwise(1.0f, algorithm::eltwise_tanh, 0.0f, 0.0f);
      return true;
    case FusedActivation::kGelu:
      ops.append_eltwise(
          1.0f, spec.alpha == 1.0f ? algorithm::eltwise_gelu_tanh : algorithm::eltwise_gelu_erf, 0.0f, 0.0f);
      return true;
  }
  return false;
}

bool activationSupported(const ir::Node& node) {
  auto spec = ir::ops::readActivation(node.attributes);
  if (!spec) return false;
  dnnl::post_ops ops;
  return appendActivation(ops, *spec);
}

bool convolutionRanksSupported(const ir::Node& node, const std::vector<ir::Shape>& shapes) {
  if (shapes.size() < 2 || !rankKnownNoZeroDim(shapes[0]) || !rankKnownNoZeroDim(shapes[1])) return false;
  const int64_t rank = shapes[0].rank();
  if (rank < 3 || rank > 5 || shapes[1].rank() != rank) return false;
  if (shapes.size() > 2 && node.input(2) != nullptr && !rankKnownNoZeroDim(shapes[2])) return false;
  return node.attributes.getInt("group", 1) >= 1;
}

Status oneDnnError(const KernelContext& ctx, const dnnl::error& e) {
  // No implementation for these operands (an algorithm's conditions unmet) declines; anything else failed.
  if (e.status == dnnl_unimplemented)
    return Status(StatusCode::kUnsupported, ctx.node().describe() + ": oneDNN has no implementation for it",
                  ctx.node().name);
  return Status(StatusCode::kInternal,
                ctx.node().describe() + ": oneDNN failed (status " +
                    std::to_string(static_cast<int>(e.status)) + "): " + e.what(),
                ctx.node().name);
}

void registerOneDnnKernels(KernelRegistry& registry) {
  registerConvKernels(registry);
  registerDeconvKernels(registry);
  registerMatMulKernels(registry);
  registerPoolKernels(registry);
  registerQuantizedConvKernels(registry);
  registerQuantizedMatMulKernels(registry);
}

Reorder::Reorder(const dnnl::memory::desc& from, const dnnl::memory::desc& to) {
  dnnl::engine& engine = cpuEngine();
  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  const dnnl::reorder::primitive_desc pd(engine, from, engine, to, attr);
  primitive_ = dnnl::reorder(pd);
  scratchpad_ = pd.scratchpad_desc();
}

void Reorder::execute(dnnl::stream& stream, const dnnl::memory& from, const dnnl::memory& to) const {
  const dnnl::memory& scratchpad = threadBuffer(5, scratchpad_);
  executePrimitive(primitive_, stream,
                   {{DNNL_ARG_FROM, &from}, {DNNL_ARG_TO, &to}, {DNNL_ARG_SCRATCHPAD, &scratchpad}});
}

void PackedWeights::plan(const dnnl::memory::desc& userLayout, const dnnl::memory::desc& chosen) {
  user = userLayout;
  needed = chosen != user;
  if (!needed) return;
  packed = dnnl::memory(chosen, cpuEngine());
  reorder = Reorder(user, chosen);
}

const dnnl::memory& PackedWeights::get(void* data, bool constant) {
  constexpr int kUserSlot = 40;  // threadMemory's slot of the graph's weights
  if (!needed) return threadMemory(kUserSlot, user, data);
  dnnl::stream& stream = threadStream();
  if (constant) {
    const std::lock_guard<std::mutex> lock(mutex);
    if (!ready) {
      reorder.execute(stream, threadMemory(kUserSlot, user, data), packed);
      stream.wait();
      ready = true;
    }
    return packed;
  }
  const dnnl::memory& own = threadBuffer(3, packed.get_desc());
  reorder.execute(stream, threadMemory(kUserSlot, user, data), own);
  return own;
}

}  // namespace lowp::kernels::onednn
