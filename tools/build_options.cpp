#include "build_options.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <iomanip>
#include <iostream>
#include <sstream>

namespace lowp::tools {
namespace {

// Splits "a:fp16,b:fp32" (each option may also be repeated) into (name, value) pairs; the name is what
// comes before the last ':', so layer names holding ':' still parse.
bool parsePairs(const std::vector<std::string>& lists,
                std::vector<std::pair<std::string, std::string>>& out) {
  for (const std::string& list : lists) {
    std::stringstream items(list);
    for (std::string item; std::getline(items, item, ',');) {
      const auto colon = item.rfind(':');
      if (colon == std::string::npos || colon == 0 || colon + 1 == item.size()) return false;
      out.emplace_back(item.substr(0, colon), item.substr(colon + 1));
    }
  }
  return true;
}

// "OPTION: 'TEXT' is not fp32, fp16 or bf16".
std::string notAFloatType(const std::string& option, const std::string& text) {
  std::string message = option;
  message += ": '";
  message += text;
  message += "' is not fp32, fp16 or bf16";
  return message;
}

DataType floatTypeNamed(const std::string& name) {
  const DataType t = dataTypeFromName(name);
  return t == DataType::kFloat32 || t == DataType::kFloat16 || t == DataType::kBFloat16
             ? t
             : DataType::kUndefined;
}

// A precision a layer may be given: a float type, int8 or fp8 (E4M3; the GPU builder's).
DataType layerPrecisionNamed(const std::string& name) {
  const DataType t = dataTypeFromName(name);
  return t == DataType::kInt8 || t == DataType::kFloat8E4M3FN ? t : floatTypeNamed(name);
}

std::string joinTypes(const std::vector<DataType>& types, const std::vector<std::string>& formats) {
  std::string s;
  for (size_t i = 0; i < types.size(); ++i) {
    if (types[i] == DataType::kUndefined) continue;
    s += (s.empty() ? "" : ",") + std::string(dataTypeName(types[i]));
    if (formats[i] != "linear") s += ":" + formats[i];
  }
  return s;
}

}  // namespace

void BuildFlags::addTo(CLI::App& cmd) {
  cmd.add_flag("--fp16", fp16, "allow fp16 layers (chosen where faster)");
  cmd.add_flag("--bf16", bf16, "allow bf16 layers (chosen where faster)");
  cmd.add_flag("--int8", int8, "allow int8 layers");
  cmd.add_flag("--fp8", fp8, "allow fp8 layers (GPU)");
  cmd.add_flag("--noTF32", noTF32, "disallow tf32 matrix math (GPU)");
  cmd.add_flag("--exactActivations", exactActivations,
               "activations as the model states them: no erf GELU in the tanh form (GPU fp16/bf16/fp8)");
  cmd.add_flag("--best", best, "allow every precision");
  cmd.add_flag("--stronglyTyped", stronglyTyped, "build in the model's own types (no flags or constraints)");
  cmd.add_option("--precisionConstraints", precisionConstraints,
                 "none (constraints are hints) | prefer (warn and fall back) | obey (fail if unmet)");
  cmd.add_option("--layerPrecisions", layerPrecisions, "layer:type[,layer:type...]; * is every layer");
  cmd.add_option("--layerOutputTypes", layerOutputTypes, "layer:type[+type...][,...]; * is every layer");
  cmd.add_option("--inputIOFormats", inputIOFormats, "type:chw per network input, in order");
  cmd.add_option("--outputIOFormats", outputIOFormats, "type:chw per network output, in order");
  cmd.add_option("--timingCacheFile", timingCacheFile, "read and update this timing cache");
  cmd.add_option("--builderOptimizationLevel", optimizationLevel, "0..5 (default 3)");
  cmd.add_option("--memPoolSize", memPoolSize, "workspace:<MiB>: most activation memory");
  cmd.add_option("--device", device,
                 "build for: cpu (default), cuda, cuda:N or N (GPU N); an engine file keeps its device");
  calibration.addTo(cmd);
}

std::string parseDevice(const std::string& text, Device& device, int& cudaOrdinal) {
  device = Device::kCpu;
  cudaOrdinal = 0;
  if (text == "cpu") return "";
  std::string ordinal = text;
  if (text == "cuda") {
    ordinal = "0";
  } else if (text.starts_with("cuda:")) {
    ordinal = text.substr(5);
  }
  const bool digits =
      !ordinal.empty() && ordinal.size() < 4 &&
      std::all_of(ordinal.begin(), ordinal.end(), [](char c) { return c >= '0' && c <= '9'; });
  if (!digits) return "--device must be cpu, cuda, cuda:N or N (a GPU number), not '" + text + "'";
  device = Device::kCuda;
  cudaOrdinal = std::stoi(ordinal);
  return "";
}

bool BuildFlags::anyBuildOptionSet() const {
  return fp16 || bf16 || int8 || fp8 || best || stronglyTyped || exactActivations ||
         precisionConstraints != "none" || !layerPrecisions.empty() || !layerOutputTypes.empty() ||
         !inputIOFormats.empty() || !outputIOFormats.empty() || !timingCacheFile.empty() ||
         optimizationLevel != 3 || !memPoolSize.empty() || !calibration.cacheFile.empty() ||
         !calibration.dataFolder.empty() || !calibration.dynamicRanges.empty();
}

std::string BuildFlags::apply(NetworkDefinition& net,
                              const std::map<std::string, std::vector<int64_t>>& shapes,
                              BuilderConfig& config,
                              std::unique_ptr<CalibrationSource>& calibrationSource) const {
  if (fp16 || best) config.setFlag(BuilderFlag::kFP16);
  if (bf16 || best) config.setFlag(BuilderFlag::kBF16);
  if (int8 || best) config.setFlag(BuilderFlag::kINT8);
  if (fp8 || best) config.setFlag(BuilderFlag::kFP8);
  if (noTF32) config.clearFlag(BuilderFlag::kTF32);
  if (exactActivations) config.setFlag(BuilderFlag::kExactActivations);
  Device target = Device::kCpu;
  int cudaOrdinal = 0;
  if (std::string e = parseDevice(device, target, cudaOrdinal); !e.empty()) return e;
  config.setDevice(target, cudaOrdinal);
  net.setStronglyTyped(stronglyTyped);
  if (precisionConstraints == "prefer") {
    config.setFlag(BuilderFlag::kPreferPrecisionConstraints);
  } else if (precisionConstraints == "obey") {
    config.setFlag(BuilderFlag::kObeyPrecisionConstraints);
  } else if (precisionConstraints != "none") {
    return "--precisionConstraints must be none, prefer or obey, not '" + precisionConstraints + "'";
  }
  std::vector<std::pair<std::string, std::string>> pairs;
  if (!parsePairs(layerPrecisions, pairs)) return "--layerPrecisions takes name:type[,name:type...]";
  for (const auto& [name, typeText] : pairs) {
    const DataType type = layerPrecisionNamed(typeText);
    if (type == DataType::kUndefined) {
      std::string message = "--layerPrecisions " + name;
      message += ": '";
      message += typeText;
      message += "' is not fp32, fp16, bf16, int8 or fp8";
      return message;
    }
    if (name == "*") {
      for (int i = 0; i < net.layerCount(); ++i) net.layer(i)->setPrecision(type);
      continue;
    }
    Layer* layer = net.findLayer(name);
    if (layer == nullptr) return "--layerPrecisions: the model has no layer named '" + name + "'";
    layer->setPrecision(type);
  }
  pairs.clear();
  if (!parsePairs(layerOutputTypes, pairs)) return "--layerOutputTypes takes name:type[+type...][,...]";
  for (const auto& [name, typesText] : pairs) {
    std::vector<DataType> types;
    std::stringstream parts(typesText);
    for (std::string part; std::getline(parts, part, '+');) {
      types.push_back(floatTypeNamed(part));
      if (types.back() == DataType::kUndefined) return notAFloatType("--layerOutputTypes " + name, part);
    }
    std::vector<Layer*> targets;
    if (name == "*") {
      for (int i = 0; i < net.layerCount(); ++i) targets.push_back(net.layer(i));
    } else if (Layer* layer = net.findLayer(name)) {
      targets.push_back(layer);
    } else {
      return "--layerOutputTypes: the model has no layer named '" + name + "'";
    }
    for (Layer* layer : targets) {
      for (size_t i = 0; i < types.size() && i < layer->outputNames().size(); ++i) {
        Status s = layer->setOutputType(static_cast<int>(i), types[i]);
        if (!s) return "--layerOutputTypes: " + s.toString();
      }
    }
  }
  // trtexec's --inputIOFormats / --outputIOFormats: one "type:chw" per network input / output, in order.
  auto applyIOFormats = [&](const std::vector<std::string>& lists, const std::vector<TensorDesc>& tensors,
                            bool input) -> std::string {
    std::vector<std::string> items;
    for (const std::string& list : lists) {
      std::stringstream s(list);
      for (std::string item; std::getline(s, item, ',');) items.push_back(item);
    }
    const std::string option = input ? "--inputIOFormats" : "--outputIOFormats";
    if (!items.empty() && items.size() != tensors.size())
      return option + " gives " + std::to_string(items.size()) + " formats for " +
             std::to_string(tensors.size()) + " tensors";
    for (size_t i = 0; i < items.size(); ++i) {
      const auto colon = items[i].find(':');
      const std::string typeText = items[i].substr(0, colon);
      const std::string format = colon == std::string::npos ? "chw" : items[i].substr(colon + 1);
      const DataType type = floatTypeNamed(typeText);
      if (type == DataType::kUndefined) return notAFloatType(option, typeText);
      if (format != "chw" && format != "linear") {
        std::string message = option;
        message += ": format '";
        message += format;
        message += "' is not supported for network tensors (only chw)";
        return message;
      }
      Status st = input ? net.setInputType(tensors[i].name, type) : net.setOutputType(tensors[i].name, type);
      if (!st) return option + ": " + st.toString();
    }
    return "";
  };
  if (std::string e = applyIOFormats(inputIOFormats, net.inputs(), true); !e.empty()) return e;
  if (std::string e = applyIOFormats(outputIOFormats, net.outputs(), false); !e.empty()) return e;
  for (const auto& [name, sizes] : shapes) config.setShape(name, sizes);
  if (Status s = config.setOptimizationLevel(optimizationLevel); !s)
    return "--builderOptimizationLevel: " + s.toString();
  if (!memPoolSize.empty()) {
    // trtexec: --memPoolSize=workspace:<MiB>
    const auto colon = memPoolSize.find(':');
    if (colon == std::string::npos || memPoolSize.substr(0, colon) != "workspace")
      return "--memPoolSize takes workspace:<MiB>";
    try {
      config.setWorkspaceLimit(static_cast<int64_t>(std::stod(memPoolSize.substr(colon + 1)) * (1 << 20)));
    } catch (const std::exception&) {
      return "--memPoolSize: '" + memPoolSize.substr(colon + 1) + "' is not a number of MiB";
    }
  }
  if (Status s = calibration.apply(net, shapes, config, calibrationSource); !s) return s.message();
  config.setTimingCacheFile(timingCacheFile);
  return "";
}

void ProgressBar::layerTimed(int done, int total) {
  constexpr int kWidth = 30;
  const int filled = total > 0 ? done * kWidth / total : kWidth;
  const std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - start_;
  std::fprintf(stderr, "\r[%s%s] %d/%d layers timed, %.1f s",
               std::string(static_cast<size_t>(filled), '=').c_str(),
               std::string(static_cast<size_t>(kWidth - filled), ' ').c_str(), done, total, elapsed.count());
  if (done == total) std::fprintf(stderr, "\n");
  std::fflush(stderr);
}

Result<std::shared_ptr<Engine>> buildEngine(NetworkDefinition& network, const BuildFlags& flags,
                                            const std::map<std::string, std::vector<int64_t>>& shapes,
                                            int threads, Logger& logger, bool progress,
                                            const std::map<std::string, Tensor>& values) {
  BuilderConfig config;
  std::unique_ptr<CalibrationSource> calibrationSource;
  if (std::string e = flags.apply(network, shapes, config, calibrationSource); !e.empty())
    return Status(StatusCode::kInvalidArgument, e);
  for (const auto& [name, tensor] : values) config.setInputValues(name, tensor);
  config.setThreads(threads);
  ProgressBar bar;
  if (progress && isatty(STDERR_FILENO) != 0) config.setProgressMonitor(&bar);
  return Builder(logger).build(network, config);
}

void printLayerInfo(const Engine& engine, std::ostream& os) {
  // The report fixes the stream's number format; callers that print more keep their own.
  const std::ios::fmtflags savedFlags = os.flags();
  const std::streamsize savedPrecision = os.precision();
  auto displayName = [](const LayerInfo& l) {
    return l.absorbedNames.empty() ? l.name : l.name + " (+" + std::to_string(l.absorbedNames.size()) + ")";
  };
  // Columns as wide as their widest entry, so long ONNX names and op types never run together.
  size_t nameWidth = 5;
  size_t opWidth = 2;
  size_t inWidth = 2;
  size_t tacticWidth = 6;
  for (const LayerInfo& l : engine.layers()) {
    nameWidth = std::max(nameWidth, displayName(l).size());
    opWidth = std::max(opWidth, l.opType.size());
    inWidth = std::max(inWidth, joinTypes(l.inputTypes, l.inputFormats).size());
    tacticWidth = std::max(tacticWidth, l.tactic.size());
  }
  auto column = [](size_t width) { return std::setw(static_cast<int>(width + 2)); };
  os << std::left << column(nameWidth) << "layer" << column(opWidth) << "op" << std::setw(6) << "req"
     << std::setw(6) << "prec" << column(inWidth) << "in" << std::setw(12) << "out" << column(tacticWidth)
     << "tactic" << std::right << std::setw(9) << "ms"
     << "  reason\n";
  double total = 0;
  for (const LayerInfo& l : engine.layers()) {
    std::ostringstream ms;
    if (l.timeMs >= 0) {
      ms << std::fixed << std::setprecision(3) << l.timeMs;
      total += l.timeMs;
    } else {
      ms << "-";
    }
    os << std::left << column(nameWidth) << displayName(l) << column(opWidth) << l.opType << std::setw(6)
       << (l.requestedPrecision == DataType::kUndefined ? "-" : dataTypeName(l.requestedPrecision))
       << std::setw(6) << (l.precision == DataType::kUndefined ? "-" : dataTypeName(l.precision))
       << column(inWidth) << joinTypes(l.inputTypes, l.inputFormats) << std::setw(12)
       << joinTypes(l.outputTypes, l.outputFormats) << column(tacticWidth) << l.tactic << std::right
       << std::setw(9) << ms.str() << "  " << l.reason << "\n";
    for (const std::string& absorbed : l.absorbedNames) os << "    absorbed " << absorbed << "\n";
  }
  os << "total measured layer time: " << std::fixed << std::setprecision(3) << total << " ms\n";
  os.flags(savedFlags);
  os.precision(savedPrecision);
}

}  // namespace lowp::tools
