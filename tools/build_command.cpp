// `lowp build`: builds an engine from an ONNX model with trtexec's option spellings, prints the layer
// report, and saves the engine file.
#include <chrono>
#include <iomanip>
#include <iostream>
#include <map>

#include "build_options.h"
#include "commands.h"
#include "lowp/builder.h"
#include "tensor_summary.h"

namespace lowp::tools {
namespace {

struct BuildOptions {
  std::string onnx;
  BuildFlags flags;
  std::vector<std::string> shapes;
  std::vector<std::string> loadInputs;
  std::string saveEngine;
  bool dumpLayerInfo = false;
  int threads = 0;
  bool verbose = false;
};

int fail(const std::string& message) {
  std::cerr << "lowp build: error: " << message << "\n";
  return 1;
}

int runBuild(const BuildOptions& opt) {
  auto network = NetworkDefinition::fromOnnxFile(opt.onnx);
  if (!network) return fail(network.status().toString());
  NetworkDefinition& net = **network;
  std::map<std::string, std::vector<int64_t>> shapes;
  if (std::string e = parseShapeList(opt.shapes, shapes); !e.empty()) return fail(e);
  std::map<std::string, std::string> files;
  if (std::string e = parseNamedFiles("--loadInputs", opt.loadInputs, files); !e.empty()) return fail(e);
  std::map<std::string, Tensor> values;
  if (std::string e = readNamedTensors("--loadInputs", files, values); !e.empty()) return fail(e);
  StderrLogger logger(opt.verbose ? Severity::kVerbose : Severity::kWarning);
  const auto start = std::chrono::steady_clock::now();
  auto engine = buildEngine(net, opt.flags, shapes, opt.threads, logger, !opt.verbose, values);
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
  opt->flags.addTo(*cmd);
  cmd->add_option("--shapes", opt->shapes, "name:1x3x224x224[,name:...]: the shapes to build for");
  cmd->add_option("--loadInputs", opt->loadInputs,
                  "name:file.npy|.pb[,...]: data to build on, which also gives the input's shape; needed for "
                  "inputs that decide shapes (Resize scales, Reshape shapes); other inputs are random");
  cmd->add_option("--saveEngine", opt->saveEngine, "write the engine file here");
  cmd->add_flag("--dumpLayerInfo", opt->dumpLayerInfo,
                "print every layer's precision, tactic, time and reason");
  cmd->add_option("--threads", opt->threads, "worker threads (default: one per core)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_flag("--verbose", opt->verbose, "print every builder message");
  return [opt] { return runBuild(*opt); };
}

}  // namespace lowp::tools
