#include "explain_checks.h"

#include <algorithm>
#include <cmath>
#include <iomanip>
#include <regex>
#include <set>
#include <sstream>

namespace lowp::tools {
namespace {

// "this CPU" or "this GPU": the device the engines run on, in a sentence.
std::string deviceNoun(const ExplainInputs& in) {
  return in.device->device == Device::kCuda ? "this GPU" : "this CPU";
}

using Json = nlohmann::ordered_json;

std::string typeName(DataType t) {
  return std::string(dataTypeName(t));
}

// "12.3", "0.456", "1234": about three significant digits, never scientific notation.
std::string num(double v) {
  std::ostringstream s;
  const double a = std::fabs(v);
  s << std::fixed << std::setprecision(a >= 100 ? 0 : a >= 10 ? 1 : a >= 1 ? 2 : 3) << v;
  return s.str();
}

// "1 layer", "3 layers".
std::string count(int64_t n, const std::string& noun) {
  return std::to_string(n) + " " + noun + (n == 1 ? "" : "s");
}

std::string ms(double v) {
  return num(v) + " ms";
}

std::string percent(double part, double whole) {
  return whole > 0 ? num(100 * part / whole) + "%" : "-";
}

std::string times(double ratio) {
  return num(ratio) + "x";
}

// A layer that computes in a float precision the builder chose (not a conversion, not shape arithmetic).
bool computesInPrecision(const LayerInfo& l) {
  return !l.conversion && l.precision != DataType::kUndefined;
}

bool isRequested(const ExplainInputs& in, DataType t) {
  return std::find(in.requested.begin(), in.requested.end(), t) != in.requested.end();
}

double elements(const std::vector<int64_t>& shape) {
  double n = 1;
  for (int64_t d : shape) n *= d < 0 ? 0 : static_cast<double>(d);
  return n;
}

// The most a layer can gain from computing in `t` instead of fp32 on a device with native arithmetic:
// the ratio of their widths.
double nominalGain(DataType t) {
  const int64_t size = dataTypeSize(t);
  return size > 0 ? 4.0 / static_cast<double>(size) : 1.0;
}

// The measured MatMul rate of `t` over fp32's; 0 when either was not measured.
double measuredGain(const ExplainInputs& in, DataType t) {
  auto a = in.rates.find(t);
  auto b = in.rates.find(DataType::kFloat32);
  if (a == in.rates.end() || b == in.rates.end() || !a->second.measured || !b->second.measured) return 0;
  return a->second.gflops / b->second.gflops;
}

// The best measured gain over the requested precisions.
double bestRequestedGain(const ExplainInputs& in) {
  double g = 0;
  for (DataType t : in.requested) g = std::max(g, measuredGain(in, t));
  return g;
}

// True when the builder measured `t` for this layer and kept another precision because `t` was slower:
// the reason lists "<t> <time> ms" among the precisions it weighed.
bool measuredSlowerIn(const LayerInfo& l, DataType t) {
  if (l.precision == t) return false;
  const std::regex weighed("[(,;] ?" + typeName(t) + " [0-9.e+-]+ ms");
  return std::regex_search(l.reason, weighed);
}

std::string opName(const std::string& op) {
  return op.rfind("lowp.", 0) == 0 ? op.substr(5) : op;
}

// "Conv x12, Softmax x3" from op counts, most frequent first.
std::string opCounts(const std::map<std::string, int>& counts) {
  std::vector<std::pair<std::string, int>> sorted(counts.begin(), counts.end());
  std::stable_sort(sorted.begin(), sorted.end(),
                   [](const auto& a, const auto& b) { return a.second > b.second; });
  std::string s;
  for (const auto& [op, n] : sorted) s += (s.empty() ? "" : ", ") + op + " x" + std::to_string(n);
  return s;
}

const LayerInfo* layerNamed(const Engine& engine, const std::string& name) {
  for (const LayerInfo& l : engine.layers()) {
    if (l.name == name) return &l;
  }
  return nullptr;
}

// The layer of `engine` producing tensor `tensor`, or nullptr for a network input or constant.
const LayerInfo* producerOf(const Engine& engine, const std::string& tensor) {
  for (const LayerInfo& l : engine.layers()) {
    if (std::find(l.outputNames.begin(), l.outputNames.end(), tensor) != l.outputNames.end()) return &l;
  }
  return nullptr;
}

// ---- 1. native arithmetic ---------------------------------------------------------------------------------

Finding checkNativeArithmetic(const ExplainInputs& in) {
  Finding f;
  f.check = "native-arithmetic";
  f.title = "native arithmetic for the precision on this device";
  const double fp32Gflops =
      in.rates.count(DataType::kFloat32) != 0 ? in.rates.at(DataType::kFloat32).gflops : 0;
  std::string finding;
  std::vector<std::string> alternatives;
  for (DataType t : in.requested) {
    const TypeArithmetic a = typeArithmetic(t, *in.device);
    const double gain = measuredGain(in, t);
    // Layers the builder timed in t and kept in another precision because t was slower there.
    double keptMs = 0;
    int kept = 0;
    for (const LayerInfo& l : in.reduced.engine->layers()) {
      if (!computesInPrecision(l) || isRequested(in, l.precision) || !measuredSlowerIn(l, t)) continue;
      keptMs += std::max(0.0, in.reduced.layerTime(l.name));
      ++kept;
    }
    const bool fast = a.arithmetic == Arithmetic::kNative && gain > 1;
    std::string sentence =
        typeName(t) + " is " + std::string(arithmeticName(a.arithmetic)) + " here (" + a.via + ")";
    auto rate = in.rates.find(t);
    if (rate != in.rates.end() && rate->second.measured && fp32Gflops > 0) {
      sentence += ": a " + std::to_string(rate->second.size) + "^3 MatMul runs at " +
                  num(rate->second.gflops) + " GFLOP/s in " + typeName(t) + " (" + rate->second.tactic +
                  (rate->second.tactic.find("-ref") != std::string::npos
                       ? ", the reference kernel: lowp has no faster one for this type here"
                       : "") +
                  ") vs " + num(fp32Gflops) + " GFLOP/s in fp32, " + times(gain) +
                  (gain < 1 ? " (slower)" : "");
    } else if (rate != in.rates.end()) {
      sentence += "; its MatMul could not be measured: " + rate->second.error;
    }
    sentence += ". The builder measured " + typeName(t) + " and kept " + count(kept, "layer") + " (" +
                ms(keptMs) + ", " + percent(keptMs, in.reduced.layerSumMs) +
                " of layer time) in fp32 because it was slower";
    finding += (finding.empty() ? "" : " ") + sentence + ".";
    // Where t is not faster than fp32, those layers would have gained at most the width ratio.
    const double explains = fast ? 0.0 : keptMs * (1 - 1 / nominalGain(t));
    f.explainsMs += explains;
    f.measured[typeName(t)] = {
        {"arithmetic", arithmeticName(a.arithmetic)},
        {"via", a.via},
        {"gflops", rate != in.rates.end() && rate->second.measured ? Json(rate->second.gflops) : Json()},
        {"fp32Gflops", fp32Gflops},
        {"gainOverFp32", gain},
        {"layersKeptInFp32", kept},
        {"keptMs", keptMs}};
    if (!fast) {
      for (DataType other : {DataType::kBFloat16, DataType::kInt8}) {
        if (other == t || isRequested(in, other)) continue;
        const double g = measuredGain(in, other);
        if (typeArithmetic(other, *in.device).arithmetic == Arithmetic::kNative && g > 1) {
          std::string flag = "--" + typeName(other);
          if (other == DataType::kInt8) flag += " (with --calibData for real scales)";
          const std::string suggestion = "build with " + flag + ": " + deviceNoun(in) + " has " +
                                         typeArithmetic(other, *in.device).via + ", and its " +
                                         typeName(other) + " MatMul measured " + times(g) + " fp32";
          if (std::find(alternatives.begin(), alternatives.end(), suggestion) == alternatives.end())
            alternatives.push_back(suggestion);
        }
      }
    }
  }
  f.finding = finding;
  std::vector<std::string> slow;
  std::vector<std::string> fast;
  for (DataType t : in.requested) {
    const bool native =
        typeArithmetic(t, *in.device).arithmetic == Arithmetic::kNative && measuredGain(in, t) > 1;
    (native ? fast : slow).push_back(typeName(t));
  }
  auto join = [](const std::vector<std::string>& items) {
    std::string s;
    for (const std::string& item : items) s += (s.empty() ? "" : ", ") + item;
    return s;
  };
  if (slow.empty()) {
    f.action = "none: " + in.requestedLabel + " arithmetic is native here and faster than fp32";
  } else if (!alternatives.empty()) {
    std::string action;
    for (const std::string& a : alternatives) action += (action.empty() ? "" : "; or ") + a;
    f.action = action;
  } else if (!fast.empty()) {
    f.action = "none: " + join(slow) + " cannot be faster than fp32 here, but " + join(fast) +
               (fast.size() > 1 ? " are" : " is") + " allowed too and the builder uses " +
               (fast.size() > 1 ? "them" : "it") + " where faster";
  } else {
    f.action = "keep fp32 on " + deviceNoun(in) + ": no allowed precision computes faster here";
  }
  if (std::find(slow.begin(), slow.end(), "fp16") != slow.end() && in.device->device == Device::kCpu &&
      typeArithmetic(DataType::kFloat16, *in.device).arithmetic != Arithmetic::kNative)
    f.action += ". fp16 computes natively only with AVX512-FP16 or AMX-FP16 (or on a GPU)";
  return f;
}

// ---- 2. batch size ----------------------------------------------------------------------------------------

Finding checkBatchSize(const ExplainInputs& in) {
  Finding f;
  f.check = "batch-size";
  f.title = "the batch is too small to fill the device";
  Json points = Json::array();
  std::string list;
  const BatchPoint* current = nullptr;
  const BatchPoint* best = nullptr;
  // An engine with no layer in the precision is the fp32 engine again: its speedup is 1, whatever noise says.
  auto speedupOf = [](const BatchPoint& p) { return p.sameAsFp32 ? 1.0 : p.fp32Ms / p.reducedMs; };
  int measuredPoints = 0;
  double noise = 0;
  for (const BatchPoint& p : in.sweep) {
    if (!p.error.empty()) {
      points.push_back({{"batch", p.batch}, {"error", p.error}});
      list += (list.empty() ? "" : ", ") + std::string("batch ") + std::to_string(p.batch) + ": " + p.error;
      continue;
    }
    ++measuredPoints;
    noise = std::max(noise, p.spread);
    const double measured = p.fp32Ms / p.reducedMs;
    points.push_back({{"batch", p.batch},
                      {"fp32Ms", p.fp32Ms},
                      {"reducedMs", p.reducedMs},
                      {"speedup", measured},
                      {"spread", p.spread},
                      {"sameAsFp32", p.sameAsFp32},
                      {"reducedMsPerSample", p.reducedMs / static_cast<double>(p.batch)}});
    list += (list.empty() ? "" : ", ") + times(measured) + " at batch " + std::to_string(p.batch) +
            (p.sameAsFp32 ? " (no layer in " + in.requestedLabel + ": 1x but for noise)" : "");
    if (p.batch == in.batch) current = &p;
    if (best == nullptr || speedupOf(p) > speedupOf(*best)) best = &p;
  }
  f.measured["points"] = points;
  f.finding = "Speedup of " + in.requestedLabel + " over fp32: " + list + ".";
  if (current == nullptr || best == nullptr || measuredPoints < 2) {
    f.action =
        "give --batches=1,8,32 (the batch sizes to compare) to see how the speedup changes with the batch";
    return f;
  }
  const double currentSpeedup = speedupOf(*current);
  const double bestSpeedup = speedupOf(*best);
  // A difference within the spread of the query times is not one.
  const double threshold = std::max(0.1, 2 * noise);
  if (best != current && bestSpeedup > (1 + threshold) * currentSpeedup) {
    f.explainsMs = std::max(0.0, current->reducedMs - current->fp32Ms / bestSpeedup);
    f.action = std::string(best->batch > in.batch ? "raise" : "lower") + " the batch to " +
               std::to_string(best->batch) + ": " + in.requestedLabel + " gains " + times(bestSpeedup) +
               " there (" + ms(best->reducedMs / static_cast<double>(best->batch)) + " per sample) against " +
               times(currentSpeedup) + " at batch " + std::to_string(in.batch);
  } else if (best == current && std::any_of(in.sweep.begin(), in.sweep.end(), [&](const BatchPoint& p) {
               return p.error.empty() && p.batch < in.batch && bestSpeedup > (1 + threshold) * speedupOf(p);
             })) {
    f.action = "none at this batch: it gains the most of those measured; smaller batches gain less";
  } else {
    f.action = "none: the speedup changes by less than the measurements' spread (" + percent(threshold, 1) +
               ") between these batches; batch size is not what limits it";
  }
  return f;
}

// ---- 3 (and 9). layers not in the requested precision ----------------------------------------------------

// Why a layer is not in a requested precision, as a group name.
std::string fallbackGroup(const ExplainInputs& in, const LayerInfo& l) {
  if (l.reason.rfind("requested ", 0) == 0 || l.reason.rfind("constraint", 0) == 0)
    return "kept by a constraint (" + l.reason + ")";
  for (DataType t : in.requested) {
    if (l.reason.find("no " + typeName(t) + " implementation") != std::string::npos)
      return "no " + typeName(t) + " implementation";
    if (t == DataType::kInt8 && l.reason.find("no int8 scale") != std::string::npos)
      return "no int8 scale for its input";
    if (measuredSlowerIn(l, t)) return typeName(t) + " measured slower";
  }
  return l.reason.empty() ? "no reason given" : l.reason;
}

Finding checkFallback(const ExplainInputs& in) {
  Finding f;
  f.check = "precision-fallback";
  f.title = "layers not in the requested precision";
  struct Group {
    int count = 0;
    double ms = 0;
    std::map<std::string, int> ops;
    std::vector<std::pair<double, std::string>> layers;
  };
  std::map<std::string, Group> groups;
  int total = 0;
  int inRequested = 0;
  double requestedMs = 0;
  for (const LayerInfo& l : in.reduced.engine->layers()) {
    if (!computesInPrecision(l)) continue;
    ++total;
    const double t = std::max(0.0, in.reduced.layerTime(l.name));
    if (isRequested(in, l.precision)) {
      ++inRequested;
      requestedMs += t;
      continue;
    }
    Group& g = groups[fallbackGroup(in, l)];
    ++g.count;
    g.ms += t;
    ++g.ops[opName(l.opType)];
    g.layers.emplace_back(t, l.name);
  }
  std::vector<std::pair<std::string, Group>> sorted(groups.begin(), groups.end());
  std::stable_sort(sorted.begin(), sorted.end(),
                   [](const auto& a, const auto& b) { return a.second.ms > b.second.ms; });
  const double gain = bestRequestedGain(in);
  std::string text = std::to_string(inRequested) + " of " + std::to_string(total) + " layers run in " +
                     in.requestedLabel + " (" + percent(requestedMs, in.reduced.layerSumMs) +
                     " of layer time).";
  Json list = Json::array();
  for (auto& [why, g] : sorted) {
    std::sort(g.layers.rbegin(), g.layers.rend());
    text += " " + count(g.count, "layer") + " (" + ms(g.ms) + ", " + percent(g.ms, in.reduced.layerSumMs) +
            "): " + why + " [" + opCounts(g.ops) + "; largest '" + g.layers.front().second + "' " +
            ms(g.layers.front().first) + "].";
    Json names = Json::array();
    for (const auto& [t, name] : g.layers) names.push_back({{"name", name}, {"ms", t}});
    list.push_back({{"reason", why}, {"count", g.count}, {"ms", g.ms}, {"ops", g.ops}, {"layers", names}});
    // The builder's own measurement says these are no faster in the precision; others would gain up to the
    // precision's measured MatMul gain (memory-bound ones less: see the roofline check).
    const bool measuredSlower = why.find("measured slower") != std::string::npos;
    if (!measuredSlower && gain > 1) f.explainsMs += g.ms * (1 - 1 / gain);
  }
  f.finding = text;
  f.measured["layers"] = total;
  f.measured["inRequested"] = inRequested;
  f.measured["inRequestedMs"] = requestedMs;
  f.measured["groups"] = list;
  if (sorted.empty()) {
    f.action = "none: every layer runs in " + in.requestedLabel;
    return f;
  }
  const std::string& why = sorted.front().first;
  const Group& g = sorted.front().second;
  if (why.rfind("kept by a constraint", 0) == 0) {
    f.action = "the constraints keep " + count(g.count, "layer") + " (" +
               percent(g.ms, in.reduced.layerSumMs) + ") out of " + in.requestedLabel +
               ": relax them where accuracy allows";
  } else if (why.rfind("no int8 scale", 0) == 0) {
    f.action =
        "give scales for the inputs of these layers: --calibData DIR, --calib FILE or --dynamicRanges FILE";
  } else if (why.rfind("no ", 0) == 0) {
    f.action = opCounts(g.ops) + " have no " + in.requestedLabel + " kernel in lowp and stay in fp32 (" +
               percent(g.ms, in.reduced.layerSumMs) + " of layer time): that share bounds the speedup";
  } else if (why.find("measured slower") != std::string::npos) {
    f.action = "none: the builder timed " + in.requestedLabel +
               " for these layers and fp32 was faster, conversions counted";
  } else {
    f.action = "see the layer report (lowp build --dumpLayerInfo) for these layers";
  }
  return f;
}

// ---- 4. memory-bound layers (roofline) --------------------------------------------------------------------

Finding checkRoofline(const ExplainInputs& in, const std::vector<RooflineLayer>& reducedRoof) {
  Finding f;
  f.check = "memory-bound";
  f.title = "memory-bound layers gain from fewer bytes, not faster math";
  auto fp32Rate = in.rates.find(DataType::kFloat32);
  if (fp32Rate == in.rates.end() || !fp32Rate->second.measured || in.bandwidthGBs <= 0) {
    f.finding = "The device's rates could not be measured, so no roofline.";
    f.action = "see the errors above";
    return f;
  }
  const double ridge = fp32Rate->second.gflops / in.bandwidthGBs;
  double memoryMs = 0;
  double total = 0;
  int memoryLayers = 0;
  for (const RooflineLayer& r : reducedRoof) {
    total += r.ms;
    if (r.memoryBound) {
      memoryMs += r.ms;
      ++memoryLayers;
      // A memory-bound layer in a reduced precision misses the precision's gain in arithmetic.
      const double gain = measuredGain(in, r.precision);
      const double fp32Ms = in.fp32.layerTime(r.name);
      if (isRequested(in, r.precision) && gain > 1 && fp32Ms > 0)
        f.explainsMs += std::max(0.0, r.ms - fp32Ms / gain);
    }
  }
  std::vector<const RooflineLayer*> furthest;
  for (const RooflineLayer& r : reducedRoof) {
    if (r.ms > 0) furthest.push_back(&r);
  }
  std::sort(furthest.begin(), furthest.end(), [](const RooflineLayer* a, const RooflineLayer* b) {
    return a->ms - a->boundMs() > b->ms - b->boundMs();
  });
  furthest.resize(std::min<size_t>(furthest.size(), 3));
  std::string far;
  Json farJson = Json::array();
  for (const RooflineLayer* r : furthest) {
    far += (far.empty() ? "" : ", ") + std::string("'") + r->name + "' (" + opName(r->op) + ", " +
           (r->precision == DataType::kUndefined ? "-" : typeName(r->precision)) + ", " + ms(r->ms) + " vs " +
           ms(r->boundMs()) + " bound, " + (r->memoryBound ? "memory" : "compute") + "-bound)";
    farJson.push_back(
        {{"name", r->name}, {"ms", r->ms}, {"boundMs", r->boundMs()}, {"memoryBound", r->memoryBound}});
  }
  f.finding = count(memoryLayers, "layer") + " taking " + ms(memoryMs) + " (" + percent(memoryMs, total) +
              " of layer time) are memory-bound: fewer FLOPs per byte than the device's ridge point of " +
              num(ridge) + " FLOP/byte (fp32 " + num(fp32Rate->second.gflops) + " GFLOP/s over " +
              num(in.bandwidthGBs) + " GB/s measured). Furthest from their bound: " + far + ".";
  f.measured = {{"ridgeFlopPerByte", ridge},
                {"memoryBoundLayers", memoryLayers},
                {"memoryBoundMs", memoryMs},
                {"layerMs", total},
                {"furthestFromBound", farJson}};
  if (total > 0 && memoryMs / total > 0.3) {
    f.action =
        "these layers gain only from fewer bytes: a narrower storage type or fusing them into their "
        "neighbours helps, "
        "faster arithmetic does not";
  } else {
    f.action =
        "none for most of the time: it is in compute-bound layers; the layers furthest from their bound are "
        "where "
        "kernels lose time";
  }
  return f;
}

// ---- 5. forced precisions ---------------------------------------------------------------------------------

Finding checkForced(const ExplainInputs& in) {
  Finding f;
  f.check = "forced-precision";
  f.title = "forced precisions slower than the builder's choice";
  if (!in.unforced) {
    f.finding = "No per-layer precision was forced (no --layerPrecisions or --layerOutputTypes).";
    f.action = "none";
    return f;
  }
  const EngineRun& free = *in.unforced;
  std::vector<std::string> differ;
  for (const LayerInfo& l : in.reduced.engine->layers()) {
    if (!computesInPrecision(l)) continue;
    const LayerInfo* other = layerNamed(*free.engine, l.name);
    if (other != nullptr && other->precision != l.precision)
      differ.push_back("'" + l.name + "' " + typeName(l.precision) +
                       " (builder: " + typeName(other->precision) + ")");
  }
  const double slower = in.reduced.medianMs - free.medianMs;
  std::string shown;
  for (size_t i = 0; i < differ.size() && i < 5; ++i) shown += (i == 0 ? "" : ", ") + differ[i];
  if (differ.size() > 5) shown += ", ...";
  f.finding =
      "With " + in.constraintsText + " the engine takes " + ms(in.reduced.medianMs) +
      " per query; left to choose, the builder's " + ms(free.medianMs) + " (" +
      (slower > 0 ? "forced is " + percent(slower, free.medianMs) + " slower" : "forced is not slower") +
      "). " + std::to_string(differ.size()) + (differ.size() == 1 ? " layer differs" : " layers differ") +
      (shown.empty() ? "" : ": " + shown) + ".";
  f.measured = {
      {"forcedMs", in.reduced.medianMs}, {"unforcedMs", free.medianMs}, {"layersDiffering", differ.size()}};
  f.explainsMs = std::max(0.0, slower);
  f.action = slower > 0.05 * free.medianMs ? "drop the constraints on the layers listed, or use "
                                             "--precisionConstraints=prefer: the builder's choice is " +
                                                 ms(slower) + " faster per query"
                                           : "none: the forced precisions cost nothing measurable";
  return f;
}

// ---- 6. conversions ---------------------------------------------------------------------------------------

Finding checkConversions(const ExplainInputs& in) {
  Finding f;
  f.check = "conversions";
  f.title = "conversions (casts, quantize/dequantize, reformats) eat the gain";
  const Engine& engine = *in.reduced.engine;
  double convMs = 0;
  int conversions = 0;
  std::map<std::string, std::pair<double, int>> byLayer;  // the non-requested layer each conversion serves
  bool networkInput = false;
  bool networkOutput = false;
  std::set<std::string> inputs;
  for (const TensorDesc& d : engine.inputs()) inputs.insert(d.name);
  for (const LayerInfo& l : engine.layers()) {
    if (!l.conversion) continue;
    const double t = std::max(0.0, in.reduced.layerTime(l.name));
    convMs += t;
    ++conversions;
    // The reason names the layer the conversion feeds ("input of 'X'"); when X is in the requested
    // precision, the island is upstream: the first non-conversion producer of the converted tensor.
    std::string served;
    const std::string marker = "input of '";
    const size_t at = l.reason.find(marker);
    if (at != std::string::npos) {
      const std::string consumer =
          l.reason.substr(at + marker.size(), l.reason.rfind('\'') - at - marker.size());
      const LayerInfo* c = layerNamed(engine, consumer);
      served = consumer;
      if (c != nullptr && isRequested(in, c->precision)) {
        const LayerInfo* p = &l;
        while (p != nullptr && p->conversion && !p->inputNames.empty()) {
          if (inputs.count(p->inputNames[0]) != 0) {
            networkInput = true;
            p = nullptr;
            served = "network input";
            break;
          }
          p = producerOf(engine, p->inputNames[0]);
        }
        if (p != nullptr) served = p->name;
      }
    } else if (l.reason.find("network output") != std::string::npos) {
      served = "network output";
      networkOutput = true;
    } else {
      served = l.reason.substr(std::string("conversion: ").size());
    }
    auto& [siteMs, n] = byLayer[served];
    siteMs += t;
    ++n;
  }
  double fp32ConvMs = 0;
  for (const LayerInfo& l : in.fp32.engine->layers()) {
    if (l.conversion) fp32ConvMs += std::max(0.0, in.fp32.layerTime(l.name));
  }
  std::vector<std::pair<std::string, std::pair<double, int>>> sorted(byLayer.begin(), byLayer.end());
  std::stable_sort(sorted.begin(), sorted.end(),
                   [](const auto& a, const auto& b) { return a.second.first > b.second.first; });
  std::string top;
  Json sites = Json::array();
  // Conversions around layers outside the requested precision, by the op of those layers.
  std::map<std::string, std::pair<double, int>> islands;
  double islandMs = 0;
  for (size_t i = 0; i < sorted.size(); ++i) {
    const auto& [name, v] = sorted[i];
    const LayerInfo* l = layerNamed(engine, name);
    std::string what =
        l != nullptr ? "'" + name + "' (" + opName(l->opType) + ", " + typeName(l->precision) + ")" : name;
    if (i < 3)
      top += (top.empty() ? "" : ", ") + what + ": " + ms(v.first) + " in " + std::to_string(v.second);
    sites.push_back({{"layer", name}, {"ms", v.first}, {"conversions", v.second}});
    if (l != nullptr && !isRequested(in, l->precision)) {
      auto& [opMs, n] = islands[opName(l->opType)];
      opMs += v.first;
      n += v.second;
      islandMs += v.first;
    }
  }
  std::vector<std::pair<std::string, std::pair<double, int>>> byOp(islands.begin(), islands.end());
  std::stable_sort(byOp.begin(), byOp.end(),
                   [](const auto& a, const auto& b) { return a.second.first > b.second.first; });
  std::string islandText;
  Json islandJson = Json::object();
  for (const auto& [op, v] : byOp) {
    islandText +=
        (islandText.empty() ? "" : ", ") + op + " " + ms(v.first) + " in " + std::to_string(v.second);
    islandJson[op] = {{"ms", v.first}, {"conversions", v.second}};
  }
  f.finding = count(conversions, "conversion") + (conversions == 1 ? " takes " : " take ") + ms(convMs) +
              " per query (" + percent(convMs, in.reduced.layerSumMs) + " of the " + in.requestedLabel +
              " engine's layer time; the fp32 engine spends " + ms(fp32ConvMs) + " in its own).";
  if (!islandText.empty())
    f.finding +=
        " Around the layers not in " + in.requestedLabel + ": " + ms(islandMs) + " (" + islandText + ").";
  if (!top.empty()) f.finding += " Costliest: " + top + ".";
  f.explainsMs = std::max(0.0, convMs - fp32ConvMs);
  f.measured = {{"conversions", conversions},          {"ms", convMs},       {"fp32EngineMs", fp32ConvMs},
                {"aroundOtherPrecisionsMs", islandMs}, {"byOp", islandJson}, {"sites", sites}};
  // Network inputs and outputs can be given and taken in fp16 or bf16 (not int8).
  DataType ioType = DataType::kUndefined;
  for (DataType t : in.requested) {
    if (ioType == DataType::kUndefined && (t == DataType::kFloat16 || t == DataType::kBFloat16)) ioType = t;
  }
  if (conversions == 0 || f.explainsMs < 0.02 * in.reduced.layerSumMs) {
    f.action = "none: conversions cost little here";
  } else if (islandMs < 0.1 * convMs && ioType == DataType::kUndefined) {
    f.action = "none: the conversions are at the network's inputs and outputs, which stay in float";
  } else {
    std::string action =
        "every boundary between " + in.requestedLabel +
        " layers and layers in another precision costs a conversion; the ops named above cost "
        "the most: where they could run in " +
        in.requestedLabel + ", or sit next to each other, the conversions go";
    if (networkInput && ioType != DataType::kUndefined)
      action +=
          "; give the input in " + typeName(ioType) + " (--inputIOFormats=" + typeName(ioType) + ":chw)";
    if (networkOutput && ioType != DataType::kUndefined)
      action +=
          "; take the output in " + typeName(ioType) + " (--outputIOFormats=" + typeName(ioType) + ":chw)";
    f.action = action;
  }
  return f;
}

// ---- 7. host overhead -------------------------------------------------------------------------------------

Finding checkHostOverhead(const ExplainInputs& in) {
  const bool onGpu = in.device->device == Device::kCuda;
  Finding f;
  f.check = "host-overhead";
  f.title = "time spent outside the layers (host overhead, data transfers)";
  // The query without the profiler (whose clock reads would count as overhead) against the layers' medians.
  const EngineRun& r = in.reduced;
  const double overhead = std::max(0.0, r.medianMs - r.layerSumMs);
  const double fp32Overhead = std::max(0.0, in.fp32.medianMs - in.fp32.layerSumMs);
  f.finding =
      "A query of the " + in.requestedLabel + " engine takes " + ms(r.medianMs) + " (median), its layers " +
      ms(r.layerSumMs) + ": " + ms(overhead) + " (" + percent(overhead, r.medianMs) +
      ") is spent outside them (" +
      (onGpu ? std::string("the GPU waiting between layers for the host to launch them")
             : std::string("input checks, memory plan, thread hand-offs")) +
      "; fp32 engine: " + ms(fp32Overhead) + "). " +
      (onGpu ? "On the GPU a query is timed as its layers' GPU time between CUDA events: the host-device "
               "copies of inputs and outputs are not in it."
             : "On the CPU there are no host-device copies: the engine reads the caller's buffers.");
  // The runtime clears the output of a reference kernel before running it, outside the layer's time.
  int referenceLayers = 0;
  for (const LayerInfo& l : r.engine->layers()) {
    if (l.tactic.size() > 4 && l.tactic.compare(l.tactic.size() - 4, 4, "-ref") == 0 && l.timeMs >= 0)
      ++referenceLayers;
  }
  if (referenceLayers > 0)
    f.finding +=
        " " + count(referenceLayers, "layer") + (referenceLayers == 1 ? " runs" : " run") +
        " a reference kernel, whose output the runtime zeroes before each run; that time counts here.";
  if (r.layerSumMs > 1.05 * r.medianMs)
    f.finding +=
        " The layers' medians add up to more than the query's: the machine was busy while they were "
        "measured, so this overhead is not resolved.";
  f.explainsMs = overhead;
  f.measured = {{"queryMs", r.medianMs},
                {"layersMs", r.layerSumMs},
                {"profiledQueryMs", r.profiledMs},
                {"overheadMs", overhead},
                {"referenceKernelLayers", referenceLayers},
                {"fp32OverheadMs", fp32Overhead},
                {"dataTransferMs", 0.0}};
  f.action = overhead <= 0.1 * r.medianMs ? "none: the time is in the layers"
             : onGpu                      ? "replay the layers as one CUDA graph (lowp exec --useCudaGraph, "
                                            "ExecutionContext::setUseCudaGraph), or raise the batch"
                     : "raise the batch so the fixed cost per query is shared by more samples, or use fewer "
                       "threads (--threads) for a model this small";
  return f;
}

// ---- 8. library versions ----------------------------------------------------------------------------------

Finding checkVersions(const ExplainInputs& in) {
  Finding f;
  f.check = "library-versions";
  f.title = "old engine or kernel libraries";
  std::string text;
  std::string onednnIsa;
  Json libs = Json::array();
  for (const LibraryVersion& lib : in.device->libraries) {
    text += (text.empty() ? "" : "; ") + lib.name + " " + lib.version +
            (lib.detail.empty() ? "" : " (" + lib.detail + ")");
    libs.push_back({{"name", lib.name}, {"version", lib.version}, {"detail", lib.detail}});
    if (lib.name == "oneDNN") onednnIsa = lib.detail;
  }
  // CPU features oneDNN's highest instruction set does not cover are features it leaves unused.
  const CpuFeatureFlags& cpu = in.device->features;
  std::vector<std::string> unused;
  if (!onednnIsa.empty()) {
    if ((cpu.amxBf16 || cpu.amxInt8) && onednnIsa.find("amx") == std::string::npos) unused.push_back("AMX");
    if (cpu.avx512Fp16 && onednnIsa.find("fp16") == std::string::npos) unused.push_back("AVX512-FP16");
    if (cpu.avx512Bf16 && onednnIsa.find("bf16") == std::string::npos &&
        onednnIsa.find("amx") == std::string::npos)
      unused.push_back("AVX512-BF16");
    if (cpu.avx512Vnni && onednnIsa.find("vnni") == std::string::npos &&
        onednnIsa.find("bf16") == std::string::npos && onednnIsa.find("amx") == std::string::npos)
      unused.push_back("AVX512-VNNI");
  }
  std::string unusedText;
  for (const std::string& u : unused) unusedText += (unusedText.empty() ? "" : ", ") + u;
  if (in.device->device == Device::kCuda) {
    f.finding = text +
                ". On the GPU lowp computes with cuDNN, cuBLASLt and its own CUDA kernels; the "
                "engine and its timing cache are tied to these versions.";
    f.measured = {{"libraries", libs}, {"fingerprint", in.device->fingerprint}, {"unusedFeatures", unused}};
    f.action = "none";
    return f;
  }
  f.finding =
      text + ". " +
      (onednnIsa.empty() ? std::string("lowp is built without oneDNN: its own and reference kernels only.")
       : unused.empty()
           ? std::string("oneDNN dispatches to every instruction set this CPU has for its kernels.")
           : "This CPU has " + unusedText + ", which this oneDNN does not dispatch to.");
  f.measured = {{"libraries", libs}, {"fingerprint", in.device->fingerprint}, {"unusedFeatures", unused}};
  f.action = !unused.empty() ? "build lowp against a newer oneDNN that dispatches to " + unusedText
             : onednnIsa.empty()
                 ? "build lowp with LOWP_WITH_ONEDNN=ON for the oneDNN convolutions and matmuls"
                 : "none";
  return f;
}

// ---- 10. the profile --------------------------------------------------------------------------------------

Finding checkProfile(const ExplainInputs& in, const std::vector<RooflineLayer>& reducedRoof) {
  Finding f;
  f.check = "profile";
  f.title = "where the time goes, layer by layer";
  std::vector<const RooflineLayer*> sorted;
  sorted.reserve(reducedRoof.size());
  for (const RooflineLayer& r : reducedRoof) sorted.push_back(&r);
  std::stable_sort(sorted.begin(), sorted.end(),
                   [](const RooflineLayer* a, const RooflineLayer* b) { return a->ms > b->ms; });
  sorted.resize(std::min<size_t>(sorted.size(), 5));
  std::string text;
  double topMs = 0;
  Json top = Json::array();
  for (const RooflineLayer* r : sorted) {
    topMs += r->ms;
    const double fp32Ms = in.fp32.layerTime(r->name);
    text += (text.empty() ? "" : ", ") + std::string("'") + r->name + "' " + opName(r->op) + " " +
            (r->precision == DataType::kUndefined ? "-" : typeName(r->precision)) + " " + ms(r->ms) +
            (fp32Ms > 0 ? " (fp32 engine " + ms(fp32Ms) + ")" : "");
    top.push_back({{"name", r->name},
                   {"op", r->op},
                   {"precision", r->precision == DataType::kUndefined ? "" : typeName(r->precision)},
                   {"ms", r->ms},
                   {"fp32EngineMs", fp32Ms}});
  }
  f.finding = "The " + std::to_string(sorted.size()) + " slowest layers of the " + in.requestedLabel +
              " engine take " + percent(topMs, in.reduced.layerSumMs) + " of its layer time: " + text + ".";
  f.measured = {{"top", top}};
  f.action = sorted.empty() ? "none"
                            : "start with '" + sorted.front()->name +
                                  "': the whole profile is in --exportJson and --report";
  return f;
}

}  // namespace

std::vector<RooflineLayer> roofline(const EngineRun& run, const std::map<DataType, ComputeRate>& rates,
                                    double bandwidthGBs) {
  std::vector<RooflineLayer> out;
  auto rateOf = [&](DataType t) {
    auto it = rates.find(t);
    if (it != rates.end() && it->second.measured) return it->second.gflops;
    it = rates.find(DataType::kFloat32);
    return it != rates.end() && it->second.measured ? it->second.gflops : 0.0;
  };
  for (const LayerInfo& l : run.engine->layers()) {
    const double t = run.layerTime(l.name);
    if (t < 0) continue;
    RooflineLayer r;
    r.name = l.name;
    r.op = l.opType;
    r.precision = l.precision;
    r.ms = t;
    double outElements = 0;
    for (size_t i = 0; i < l.outputShapes.size(); ++i) {
      outElements += elements(l.outputShapes[i]);
      r.bytes += elements(l.outputShapes[i]) * static_cast<double>(dataTypeSize(l.outputTypes[i]));
    }
    for (size_t i = 0; i < l.inputShapes.size(); ++i) {
      if (l.inputTypes[i] == DataType::kUndefined) continue;
      r.bytes += elements(l.inputShapes[i]) * static_cast<double>(dataTypeSize(l.inputTypes[i]));
    }
    const std::string op = opName(l.opType);
    const auto& in = l.inputShapes;
    const bool hasWeights = in.size() >= 2 && !in[1].empty() && in[1][0] > 0;
    if ((op == "Conv" || op == "FusedConv" || op == "QuantizedConv") && hasWeights) {
      // Each output element is a dot product over the weights of its output channel.
      r.flops = 2 * outElements * elements(in[1]) / static_cast<double>(in[1][0]);
    } else if (op == "ConvTranspose" && hasWeights && !in[0].empty()) {
      // Each input element is scattered through the weights of its input channel.
      r.flops = 2 * elements(in[0]) * elements(in[1]) / static_cast<double>(in[1][0]);
    } else if ((op == "MatMul" || op == "FusedMatMul" || op == "QuantizedMatMul") && !in.empty() &&
               !in[0].empty()) {
      r.flops = 2 * outElements * static_cast<double>(in[0].back());
    } else if (op == "Attention" && in.size() >= 3 && in[0].size() >= 2 && in[1].size() >= 2) {
      // Q . Kt and P . V: 2 * Sk * (D + Dv) per query row (Y has Dv per row), the softmax's few per score
      // left out.
      const double sk = static_cast<double>(in[1].back());
      const double d = static_cast<double>(in[0].back());
      const double dv = l.outputShapes.empty() || l.outputShapes[0].empty()
                            ? d
                            : static_cast<double>(l.outputShapes[0].back());
      r.flops = dv > 0 ? 2 * outElements / dv * sk * (d + dv) : 0;
    } else if (op == "Gemm" && !in.empty() && !l.outputShapes.empty() && !l.outputShapes[0].empty() &&
               l.outputShapes[0][0] > 0) {
      r.flops = 2 * outElements * elements(in[0]) / static_cast<double>(l.outputShapes[0][0]);
    } else {
      r.flops = outElements;
    }
    const double gflops = rateOf(l.precision);
    r.computeMs = gflops > 0 ? r.flops / (gflops * 1e6) : 0;
    r.memoryMs = bandwidthGBs > 0 ? r.bytes / (bandwidthGBs * 1e6) : 0;
    r.memoryBound = r.memoryMs > r.computeMs;
    out.push_back(r);
  }
  return out;
}

std::vector<Finding> runChecks(const ExplainInputs& in) {
  const std::vector<RooflineLayer> roof = roofline(in.reduced, in.rates, in.bandwidthGBs);
  std::vector<Finding> findings{checkNativeArithmetic(in), checkBatchSize(in), checkFallback(in),
                                checkRoofline(in, roof),   checkForced(in),    checkConversions(in),
                                checkHostOverhead(in),     checkVersions(in),  checkProfile(in, roof)};
  std::stable_sort(findings.begin(), findings.end(),
                   [](const Finding& a, const Finding& b) { return a.explainsMs > b.explainsMs; });
  return findings;
}

}  // namespace lowp::tools
