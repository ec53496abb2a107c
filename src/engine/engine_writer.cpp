// Writes an Engine::Impl as an engine file (layout in engine_file.h, schema in engine_file.fbs).
#include <cstring>
#include <limits>

#include "engine/build_memory_plan.h"
#include "engine/codec.h"
#include "engine/engine_file.h"
#include "runtime/cpu_features.h"

namespace lowp::engine {
namespace {

using flatbuffers::Offset;

// FlatBuffers addresses at most 2 GiB. The builder does not report an overflow, so the writer bounds
// the size first: tensor bytes exactly, everything else with a generous allowance per item.
constexpr size_t kMaxFlatBufferBytes = std::numeric_limits<int32_t>::max();
constexpr size_t kPerItem = 256;  // vtable, table and alignment of one value, node, attribute or layer

size_t stringsBytes(const std::vector<std::string>& strings) {
  size_t n = 16;
  for (const std::string& s : strings) n += s.size() + 16;
  return n;
}

size_t tensorBytes(const Tensor& t) {
  return static_cast<size_t>(t.byteSize()) + 8 * t.shape().size() + kPerItem;
}

size_t boundFileBytes(const Engine::Impl& engine) {
  const ir::Graph& g = *engine.graph;
  size_t n = 4096 + engine.fingerprint.size();
  for (const auto& v : g.values()) {
    n += kPerItem + v->name.size() + 32 * static_cast<size_t>(v->shape.rank());
    for (const ir::Dim& d : v->shape.dims()) n += d.symbol.size();
    if (v->constant) n += tensorBytes(*v->constant);
  }
  for (const ir::Node* node : g.nodes()) {
    n += kPerItem + node->name.size() + node->opType.size() + node->domain.size() + 32 +
         8 * (node->inputs.size() + node->outputs.size()) + stringsBytes(node->absorbedNames);
    for (const auto& [name, value] : node->attributes.all()) {
      n += kPerItem + name.size();
      if (const auto* s = std::get_if<std::string>(&value)) n += s->size() + 16;
      if (const auto* v = std::get_if<std::vector<int64_t>>(&value)) n += 8 * v->size() + 16;
      if (const auto* v = std::get_if<std::vector<float>>(&value)) n += 4 * v->size() + 16;
      if (const auto* v = std::get_if<std::vector<std::string>>(&value)) n += stringsBytes(*v);
      if (const auto* t = std::get_if<Tensor>(&value)) n += tensorBytes(*t);
    }
  }
  for (const LayerInfo& l : engine.layers) {
    n += kPerItem + l.name.size() + l.opType.size() + l.tactic.size() + l.reason.size() +
         stringsBytes(l.absorbedNames) + stringsBytes(l.inputNames) + stringsBytes(l.inputFormats) +
         stringsBytes(l.outputNames) + stringsBytes(l.outputFormats) +
         8 * (l.inputTypes.size() + l.outputTypes.size());
    for (const auto* shapes : {&l.inputShapes, &l.outputShapes}) {
      for (const std::vector<int64_t>& sizes : *shapes) n += kPerItem + 8 * sizes.size();
    }
  }
  for (const auto& shape : engine.buildShapes) n += kPerItem + 8 * shape.size();
  n += 48 * g.values().size();  // at most one planned buffer per value
  return n;
}

Offset<flatbuffers::String> writeString(FbBuilder& b, const std::string& s) {
  return b.CreateString(s.data(), s.size());
}

Result<Offset<fb::Value>> writeValue(FbBuilder& b, const ir::Value& v) {
  Offset<fb::TensorData> constant;
  if (v.constant) {
    if (!ir::isStorable(v.constant->type())) {
      return Status(StatusCode::kUnsupported, "constant '" + v.name + "' is of type " +
                                                  std::string(ir::dataTypeInfo(v.constant->type()).name) +
                                                  ", which engine files cannot hold");
    }
    constant = writeTensor(b, *v.constant);
  }
  auto name = writeString(b, v.name);
  auto shape = writeShape(b, v.shape);
  return fb::CreateValue(b, name, static_cast<int32_t>(v.type), shape, static_cast<int32_t>(v.format),
                         constant);
}

std::vector<int64_t> valueIds(const std::vector<ir::Value*>& values) {
  std::vector<int64_t> ids;
  ids.reserve(values.size());
  for (const ir::Value* v : values) ids.push_back(v == nullptr ? -1 : v->id);
  return ids;
}

Result<Offset<fb::Node>> writeNode(FbBuilder& b, const ir::Node& node, const Engine::Impl& engine) {
  const auto id = static_cast<size_t>(node.id);
  const kernels::KernelDef* kernel = id < engine.kernelOf.size() ? engine.kernelOf[id] : nullptr;
  if (kernel == nullptr) {
    return Status(StatusCode::kInternal, node.describe() + ": the engine has no kernel for the node",
                  node.name);
  }
  // Readers find the kernel by (domain, op, name): the name must pick exactly this one.
  int sameName = 0;
  for (const kernels::KernelDef& def : kernels::KernelRegistry::global().all()) {
    if (def.backend == kernel->backend && def.domain == kernel->domain && def.opType == kernel->opType &&
        def.name == kernel->name) {
      ++sameName;
    }
  }
  if (sameName != 1) {
    return Status(StatusCode::kInternal,
                  node.describe() + ": kernel name '" + std::string(kernel->name) + "' is shared by " +
                      std::to_string(sameName) + " kernels of " + node.opType + ", so a file cannot name it",
                  node.name);
  }
  std::vector<Offset<fb::Attribute>> attributes;
  for (const auto& [name, value] : node.attributes.all()) {
    auto a = writeAttribute(b, name, value);
    if (!a) return Status(a.status().code(), node.describe() + ": " + a.status().message(), node.name);
    attributes.push_back(*a);
  }
  auto attributesOffset = b.CreateVector(attributes);
  auto nameOffset = writeString(b, node.name);
  auto opType = writeString(b, node.opType);
  auto domain = writeString(b, node.domain);
  auto inputs = b.CreateVector(valueIds(node.inputs));
  auto outputs = b.CreateVector(valueIds(node.outputs));
  auto absorbed = writeStrings(b, node.absorbedNames);
  auto kernelName = b.CreateString(kernel->name.data(), kernel->name.size());
  std::vector<std::string> cudaKernels;
  if (id < engine.cudaKernelsOf.size()) {
    for (const kernels::KernelDef* k : engine.cudaKernelsOf[id]) cudaKernels.emplace_back(k->name);
  }
  auto cudaKernelsOffset = cudaKernels.empty() ? 0 : writeStrings(b, cudaKernels);
  return fb::CreateNode(b, nameOffset, opType, domain, node.opsetVersion, inputs, outputs, attributesOffset,
                        absorbed, kernelName, static_cast<int32_t>(kernel->backend), cudaKernelsOffset);
}

flatbuffers::Offset<flatbuffers::Vector<int32_t>> writeTypes(FbBuilder& b,
                                                             const std::vector<DataType>& types) {
  std::vector<int32_t> ids;
  ids.reserve(types.size());
  for (DataType t : types) ids.push_back(static_cast<int32_t>(t));
  return b.CreateVector(ids);
}

Offset<fb::Layer> writeLayer(FbBuilder& b, const LayerInfo& l) {
  auto name = writeString(b, l.name);
  auto absorbed = writeStrings(b, l.absorbedNames);
  auto opType = writeString(b, l.opType);
  auto inputNames = writeStrings(b, l.inputNames);
  auto inputTypes = writeTypes(b, l.inputTypes);
  auto inputFormats = writeStrings(b, l.inputFormats);
  auto outputNames = writeStrings(b, l.outputNames);
  auto outputTypes = writeTypes(b, l.outputTypes);
  auto outputFormats = writeStrings(b, l.outputFormats);
  auto tactic = writeString(b, l.tactic);
  auto reason = writeString(b, l.reason);
  auto shapes = [&b](const std::vector<std::vector<int64_t>>& list) {
    std::vector<Offset<fb::Sizes>> out;
    out.reserve(list.size());
    for (const std::vector<int64_t>& sizes : list) out.push_back(fb::CreateSizes(b, b.CreateVector(sizes)));
    return b.CreateVector(out);
  };
  auto inputShapes = shapes(l.inputShapes);
  auto outputShapes = shapes(l.outputShapes);
  return fb::CreateLayer(b, name, absorbed, opType, static_cast<int32_t>(l.requestedPrecision),
                         static_cast<int32_t>(l.precision), inputNames, inputTypes, inputFormats, outputNames,
                         outputTypes, outputFormats, tactic, l.timeMs, reason, inputShapes, outputShapes,
                         l.conversion);
}

}  // namespace

Result<std::vector<uint8_t>> writeEngineFile(const Engine::Impl& engine) {
  const ir::Graph& g = *engine.graph;
  const size_t bound = boundFileBytes(engine);
  if (bound > kMaxFlatBufferBytes) {
    return Status(StatusCode::kUnsupported,
                  "the engine needs up to " + std::to_string(bound) +
                      " bytes; an engine file holds at most 2 GiB (a FlatBuffers limit)");
  }
  auto plan = planBuildMemory(g, engine.buildShapes);
  if (!plan) return plan.status().withContext("the memory plan for the build shapes");

  FbBuilder b(std::min<size_t>(bound, size_t{1} << 20));
  b.ForceDefaults(true);  // every scalar stored: exact round trips and a checksum field that always exists

  std::vector<Offset<fb::Value>> values;
  values.reserve(g.values().size());
  for (const auto& v : g.values()) {
    LOWP_ASSIGN_OR_RETURN(auto offset, writeValue(b, *v));
    values.push_back(offset);
  }
  std::vector<Offset<fb::Node>> nodes;
  nodes.reserve(g.nodes().size());
  for (const ir::Node* node : g.nodes()) {
    LOWP_ASSIGN_OR_RETURN(auto offset, writeNode(b, *node, engine));
    nodes.push_back(offset);
  }
  auto graphName = writeString(b, g.name);
  auto valuesOffset = b.CreateVector(values);
  auto nodesOffset = b.CreateVector(nodes);
  auto inputs = b.CreateVector(valueIds(g.inputs()));
  auto outputs = b.CreateVector(valueIds(g.outputs()));
  auto graph = fb::CreateGraph(b, graphName, valuesOffset, nodesOffset, inputs, outputs);

  std::vector<Offset<fb::Layer>> layers;
  layers.reserve(engine.layers.size());
  for (const LayerInfo& l : engine.layers) layers.push_back(writeLayer(b, l));
  auto layersOffset = b.CreateVector(layers);

  std::vector<Offset<fb::Sizes>> buildShapes;
  buildShapes.reserve(engine.buildShapes.size());
  for (const auto& shape : engine.buildShapes)
    buildShapes.push_back(fb::CreateSizes(b, b.CreateVector(shape)));
  auto buildShapesOffset = b.CreateVector(buildShapes);

  Offset<fb::MemoryPlan> memoryPlan;
  if (plan->has_value()) {
    const BuildMemoryPlan& built = **plan;
    std::vector<fb::PlannedBuffer> buffers;
    buffers.reserve(built.buffers.size());
    for (const PlannedBuffer& p : built.buffers) {
      buffers.emplace_back(p.value, p.offset, p.bytes, p.firstStep, p.lastStep);
    }
    memoryPlan = fb::CreateMemoryPlan(b, built.arenaBytes, b.CreateVectorOfStructs(buffers));
  }

  auto version = b.CreateString(LOWP_VERSION);
  std::string fingerprint = engine.fingerprint;
  if (fingerprint.empty()) {
    LOWP_ASSIGN_OR_RETURN(fingerprint,
                          runtime::engineFingerprint(engine.options.device, engine.options.cudaOrdinal));
  }
  auto fingerprintOffset = writeString(b, fingerprint);
  // The checksum is filled in by sealEngineFile once the bytes are final.
  auto root =
      fb::CreateEngineFile(b, version, fingerprintOffset, 0, graph, layersOffset, buildShapesOffset,
                           memoryPlan, static_cast<int32_t>(engine.options.device), engine.options.allowTf32);
  b.Finish(root);

  std::vector<uint8_t> file(kHeaderBytes + b.GetSize());
  std::memcpy(file.data(), kMagic, sizeof(kMagic));
  const auto size = static_cast<uint32_t>(b.GetSize());
  for (size_t i = 0; i < 4; ++i) {
    file[8 + i] = static_cast<uint8_t>(kFormatVersion >> (8 * i));
    file[12 + i] = static_cast<uint8_t>(size >> (8 * i));
  }
  std::memcpy(file.data() + kHeaderBytes, b.GetBufferPointer(), b.GetSize());
  Status sealed = sealEngineFile(file);
  if (!sealed)
    return Status(StatusCode::kInternal, "the engine file just written does not verify: " + sealed.message());
  return file;
}

}  // namespace lowp::engine
