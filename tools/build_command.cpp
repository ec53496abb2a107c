// `lowp build`: builds an engine from an ONNX model with trtexec's option spellings, prints the layer
// report, and saves the engine file.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <iomanip>
#include <iostream>
#include <map>
#include <sstream>

#include "calibration_flags.h"
#include "commands.h"
#include "lowp/builder.h"
#include "tensor_summary.h"

namespace lowp::tools {
namespace {

struct BuildOptions {
  std::string onnx;
  bool fp16 = false;
  bool bf16 = false;
  bool int8 = false;
  bool fp8 = false;
  bool noTF32 = false;
  bool best = false;
  bool stronglyTyped = false;
  std::string precisionConstraints = "none";
  std::vector<std::string> layerPrecisions;
  std::vector<std::string> layerOutputTypes;
  std::vector<std::string> inputIOFormats;
  std::vector<std::string> outputIOFormats;
  std::vector<std::string> shapes;
  std::string timingCacheFile;
  std::string saveEngine;
  bool dumpLayerInfo = false;
  int optimizationLevel = 3;
  std::string memPoolSize;
  int threads = 0;
  bool verbose = false;
  CalibrationFlags calibration;
};

int fail(const std::string& message) {
  std::cerr << "lowp build: error: " << message << "\n";
  return 1;
}

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

// A precision a layer may be given: a float type or int8.
DataType layerPrecisionNamed(const std::string& name) {
  const DataType t = dataTypeFromName(name);
  return t == DataType::kInt8 ? t : floatTypeNamed(name);
}

// Draws "[=======>     ] 41/120 layers timed, 3.2 s" on standard error, redrawn in place.
class ProgressBar final : public ProgressMonitor {
 public:
  void layerTimed(int done, int total) override {
    constexpr int kWidth = 30;
    const int filled = total > 0 ? done * kWidth / total : kWidth;
    const std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - start_;
    std::fprintf(
        stderr, "\r[%s%s] %d/%d layers timed, %.1f s", std::string(static_cast<size_t>(filled), '=').c_str(),
        std::string(static_cast<size_t>(kWidth - filled), ' ').c_str(), done, total, elapsed.count());
    if (done == total) std::fprintf(stderr, "\n");
    std::fflush(stderr);
  }

 private:
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
};

std::string joinTypes(const std::vector<DataType>& types, const std::vector<std::string>& formats) {
  std::string s;
  for (size_t i = 0; i < types.size(); ++i) {
    if (types[i] == DataType::kUndefined) continue;
    s += (s.empty() ? "" : ",") + std::string(dataTypeName(types[i]));
    if (formats[i] != "linear") s += ":" + formats[i];
  }
  return s;
}

void printLayerInfo(const Engine& engine) {
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
  std::cout << std::left << column(nameWidth) << "layer" << column(opWidth) << "op" << std::setw(6) << "req"
            << std::setw(6) << "prec" << column(inWidth) << "in" << std::setw(12) << "out"
            << column(tacticWidth) << "tactic" << std::right << std::setw(9) << "ms"
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
    std::cout << std::left << column(nameWidth) << displayName(l) << column(opWidth) << l.opType
              << std::setw(6)
              << (l.requestedPrecision == DataType::kUndefined ? "-" : dataTypeName(l.requestedPrecision))
              << std::setw(6) << (l.precision == DataType::kUndefined ? "-" : dataTypeName(l.precision))
              << column(inWidth) << joinTypes(l.inputTypes, l.inputFormats) << std::setw(12)
              << joinTypes(l.outputTypes, l.outputFormats) << column(tacticWidth) << l.tactic << std::right
              << std::setw(9) << ms.str() << "  " << l.reason << "\n";
    for (const std::string& absorbed : l.absorbedNames) std::cout << "    absorbed " << absorbed << "\n";
  }
  std::cout << "total measured layer time: " << std::fixed << std::setprecision(3) << total << " ms\n";
}

int runBuild(const BuildOptions& opt) {
  auto network = NetworkDefinition::fromOnnxFile(opt.onnx);
  if (!network) return fail(network.status().toString());
  NetworkDefinition& net = **network;
  BuilderConfig config;
  if (opt.fp16 || opt.best) config.setFlag(BuilderFlag::kFP16);
  if (opt.bf16 || opt.best) config.setFlag(BuilderFlag::kBF16);
  if (opt.int8 || opt.best) config.setFlag(BuilderFlag::kINT8);
  if (opt.fp8 || opt.best) config.setFlag(BuilderFlag::kFP8);
  if (opt.noTF32) config.clearFlag(BuilderFlag::kTF32);
  net.setStronglyTyped(opt.stronglyTyped);
  if (opt.precisionConstraints == "prefer") {
    config.setFlag(BuilderFlag::kPreferPrecisionConstraints);
  } else if (opt.precisionConstraints == "obey") {
    config.setFlag(BuilderFlag::kObeyPrecisionConstraints);
  } else if (opt.precisionConstraints != "none") {
    return fail("--precisionConstraints must be none, prefer or obey, not '" + opt.precisionConstraints +
                "'");
  }
  std::vector<std::pair<std::string, std::string>> pairs;
  if (!parsePairs(opt.layerPrecisions, pairs))
    return fail("--layerPrecisions takes name:type[,name:type...]");
  for (const auto& [name, typeText] : pairs) {
    const DataType type = layerPrecisionNamed(typeText);
    if (type == DataType::kUndefined)
      return fail("--layerPrecisions " + name + ": '" + typeText + "' is not fp32, fp16, bf16 or int8");
    if (name == "*") {
      for (int i = 0; i < net.layerCount(); ++i) net.layer(i)->setPrecision(type);
      continue;
    }
    Layer* layer = net.findLayer(name);
    if (layer == nullptr) return fail("--layerPrecisions: the model has no layer named '" + name + "'");
    layer->setPrecision(type);
  }
  pairs.clear();
  if (!parsePairs(opt.layerOutputTypes, pairs))
    return fail("--layerOutputTypes takes name:type[+type...][,...]");
  for (const auto& [name, typesText] : pairs) {
    std::vector<DataType> types;
    std::stringstream parts(typesText);
    for (std::string part; std::getline(parts, part, '+');) {
      types.push_back(floatTypeNamed(part));
      if (types.back() == DataType::kUndefined)
        return fail(notAFloatType("--layerOutputTypes " + name, part));
    }
    std::vector<Layer*> targets;
    if (name == "*") {
      for (int i = 0; i < net.layerCount(); ++i) targets.push_back(net.layer(i));
    } else if (Layer* layer = net.findLayer(name)) {
      targets.push_back(layer);
    } else {
      return fail("--layerOutputTypes: the model has no layer named '" + name + "'");
    }
    for (Layer* layer : targets) {
      for (size_t i = 0; i < types.size() && i < layer->outputNames().size(); ++i) {
        Status s = layer->setOutputType(static_cast<int>(i), types[i]);
        if (!s) return fail("--layerOutputTypes: " + s.toString());
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
  if (std::string e = applyIOFormats(opt.inputIOFormats, net.inputs(), true); !e.empty()) return fail(e);
  if (std::string e = applyIOFormats(opt.outputIOFormats, net.outputs(), false); !e.empty()) return fail(e);
  std::map<std::string, std::vector<int64_t>> shapes;
  if (std::string e = parseShapeList(opt.shapes, shapes); !e.empty()) return fail(e);
  for (const auto& [name, sizes] : shapes) config.setShape(name, sizes);
  if (Status s = config.setOptimizationLevel(opt.optimizationLevel); !s)
    return fail("--builderOptimizationLevel: " + s.toString());
  if (!opt.memPoolSize.empty()) {
    // trtexec: --memPoolSize=workspace:<MiB>
    const auto colon = opt.memPoolSize.find(':');
    if (colon == std::string::npos || opt.memPoolSize.substr(0, colon) != "workspace")
      return fail("--memPoolSize takes workspace:<MiB>");
    try {
      config.setWorkspaceLimit(
          static_cast<int64_t>(std::stod(opt.memPoolSize.substr(colon + 1)) * (1 << 20)));
    } catch (const std::exception&) {
      return fail("--memPoolSize: '" + opt.memPoolSize.substr(colon + 1) + "' is not a number of MiB");
    }
  }
  std::unique_ptr<CalibrationSource> calibrationSource;
  if (Status s = opt.calibration.apply(net, shapes, config, calibrationSource); !s) return fail(s.message());
  config.setTimingCacheFile(opt.timingCacheFile);
  config.setThreads(opt.threads);
  ProgressBar bar;
  if (isatty(STDERR_FILENO) != 0 && !opt.verbose) config.setProgressMonitor(&bar);

  StderrLogger logger(opt.verbose ? Severity::kVerbose : Severity::kWarning);
  const auto start = std::chrono::steady_clock::now();
  auto engine = Builder(logger).build(net, config);
  if (!engine) return fail(engine.status().toString());
  const std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - start;
  std::cout << "built " << opt.onnx << " in " << std::fixed << std::setprecision(2) << elapsed.count()
            << " s (" << (*engine)->layers().size() << " layers)\n";
  if (opt.dumpLayerInfo) printLayerInfo(**engine);
  if (!opt.saveEngine.empty()) {
    Status s = (*engine)->saveToFile(opt.saveEngine);
    if (!s) return fail(s.toString());
    std::cout << "saved engine to " << opt.saveEngine << "\n";
  }
  return 0;
}

}  // namespace

CommandRunner addBuildCommand(CLI::App& app) {
  auto opt = std::make_shared<BuildOptions>();
  CLI::App* cmd =
      app.add_subcommand("build", "Build an engine: choose precisions and kernels by timing them");
  cmd->add_option("--onnx", opt->onnx, "ONNX model file")->required()->check(CLI::ExistingFile);
  cmd->add_flag("--fp16", opt->fp16, "allow fp16 layers (chosen where faster)");
  cmd->add_flag("--bf16", opt->bf16, "allow bf16 layers (chosen where faster)");
  cmd->add_flag("--int8", opt->int8, "allow int8 layers");
  cmd->add_flag("--fp8", opt->fp8, "allow fp8 layers (GPU)");
  cmd->add_flag("--noTF32", opt->noTF32, "disallow tf32 matrix math (GPU)");
  cmd->add_flag("--best", opt->best, "allow every precision");
  cmd->add_flag("--stronglyTyped", opt->stronglyTyped,
                "build in the model's own types (no flags or constraints)");
  cmd->add_option("--precisionConstraints", opt->precisionConstraints,
                  "none (constraints are hints) | prefer (warn and fall back) | obey (fail if unmet)");
  cmd->add_option("--layerPrecisions", opt->layerPrecisions, "layer:type[,layer:type...]; * is every layer");
  cmd->add_option("--layerOutputTypes", opt->layerOutputTypes,
                  "layer:type[+type...][,...]; * is every layer");
  cmd->add_option("--inputIOFormats", opt->inputIOFormats, "type:chw per network input, in order");
  cmd->add_option("--outputIOFormats", opt->outputIOFormats, "type:chw per network output, in order");
  cmd->add_option("--shapes", opt->shapes, "name:1x3x224x224[,name:...]: the shapes to build for");
  cmd->add_option("--timingCacheFile", opt->timingCacheFile, "read and update this timing cache");
  cmd->add_option("--saveEngine", opt->saveEngine, "write the engine file here");
  cmd->add_flag("--dumpLayerInfo", opt->dumpLayerInfo,
                "print every layer's precision, tactic, time and reason");
  cmd->add_option("--builderOptimizationLevel", opt->optimizationLevel, "0..5 (default 3)");
  cmd->add_option("--memPoolSize", opt->memPoolSize, "workspace:<MiB>: most activation memory");
  cmd->add_option("--threads", opt->threads, "worker threads (default: one per core)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_flag("--verbose", opt->verbose, "print every builder message");
  opt->calibration.addTo(*cmd);
  return [opt] { return runBuild(*opt); };
}

}  // namespace lowp::tools
