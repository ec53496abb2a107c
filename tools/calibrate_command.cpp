// `lowp calibrate`: INT8 scales for a model from calibration data, written as a calibration cache (TensorRT's
// format) and, on request, as a QDQ ONNX model other runtimes build INT8 engines from. No engine is built.
#include <iostream>
#include <map>
#include <memory>

#include "calibration_flags.h"
#include "commands.h"
#include "lowp/builder.h"
#include "lowp/calibration.h"
#include "tensor_summary.h"

namespace lowp::tools {
namespace {

struct CalibrateOptions {
  std::string onnx;
  std::vector<std::string> shapes;
  std::string exportQdq;
  int threads = 0;
  bool verbose = false;
  CalibrationFlags calibration;
};

int fail(const std::string& message) {
  std::cerr << "lowp calibrate: error: " << message << "\n";
  return 1;
}

int runCalibrate(const CalibrateOptions& opt) {
  if (opt.calibration.dataFolder.empty()) return fail("--calibData is required: calibration needs data");
  if (opt.calibration.cacheFile.empty() && opt.exportQdq.empty())
    return fail("nothing to write: give --calib (the cache) and/or --export-qdq");
  auto network = NetworkDefinition::fromOnnxFile(opt.onnx);
  if (!network) return fail(network.status().toString());
  std::map<std::string, std::vector<int64_t>> shapes;
  if (std::string e = parseShapeList(opt.shapes, shapes); !e.empty()) return fail(e);
  BuilderConfig config;
  config.setThreads(opt.threads);
  std::unique_ptr<CalibrationSource> source;
  if (Status s = opt.calibration.apply(**network, shapes, config, source); !s) return fail(s.message());
  StderrLogger logger(opt.verbose ? Severity::kVerbose : Severity::kInfo);
  auto scales = calibrateNetwork(logger, **network, config);
  if (!scales) return fail(scales.status().toString());
  if (!opt.calibration.cacheFile.empty())
    std::cout << "wrote " << scales->size() << " scales to " << opt.calibration.cacheFile << "\n";
  if (!opt.exportQdq.empty()) {
    QdqExportReport report;
    if (Status s = exportQdqOnnx(opt.onnx, *scales, opt.exportQdq, &report); !s) return fail(s.toString());
    std::cout << "wrote " << opt.exportQdq << ": " << report.quantizedNodes.size() << " layers quantized ("
              << (report.perChannelWeights ? "per-channel" : "per-tensor") << " weights, opset "
              << report.opsetAfter << ")";
    if (!report.skippedNodes.empty()) std::cout << ", " << report.skippedNodes.size() << " left in fp32";
    std::cout << "\n";
    if (!report.opsetNote.empty()) std::cout << "  " << report.opsetNote << "\n";
    for (const std::string& skipped : report.skippedNodes) std::cout << "  kept fp32: " << skipped << "\n";
    if (!report.foldedBatchNorms.empty() || !report.removedActivations.empty())
      std::cout << "  " << report.foldedBatchNorms.size() << " BatchNormalization folded, "
                << report.removedActivations.size() << " activations made redundant by uint8 outputs, "
                << report.otherQuantizedNodes.size() << " adds / pools / reshapes between Q/DQ\n";
  }
  return 0;
}

}  // namespace

CommandRunner addCalibrateCommand(CLI::App& app) {
  auto opt = std::make_shared<CalibrateOptions>();
  CLI::App* cmd = app.add_subcommand(
      "calibrate", "Compute INT8 scales from calibration data: a calibration cache and/or a QDQ ONNX model");
  cmd->add_option("--onnx", opt->onnx, "ONNX model file")->required()->check(CLI::ExistingFile);
  cmd->add_option("--shapes", opt->shapes, "name:1x3x224x224[,name:...]: batch shapes (images)");
  cmd->add_option("--export-qdq", opt->exportQdq, "write the model with the scales as Q/DQ nodes here");
  cmd->add_option("--threads", opt->threads, "worker threads (default: one per core)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_flag("--verbose", opt->verbose, "print every message");
  opt->calibration.addTo(*cmd);
  return [opt] { return runCalibrate(*opt); };
}

}  // namespace lowp::tools
