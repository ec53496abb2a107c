// lowp::calibrateNetwork: the builder's rewrites, then calibration (quant/calibrate.h), then the cache.
#include <chrono>
#include <string>

#include "builder/network_impl.h"
#include "lowp/builder.h"
#include "onnx/qdq_export.h"
#include "passes/pipeline.h"
#include "quant/calibrate.h"
#include "quant/calibration_cache.h"

namespace lowp {

Result<std::map<std::string, float>> calibrateNetwork(Logger& logger, const NetworkDefinition& network,
                                                      const BuilderConfig& config) {
  if (config.calibrationSource() == nullptr)
    return Status(StatusCode::kInvalidArgument, "calibration needs calibration data");
  auto graph = ir::cloneGraph(*network.impl().graph);
  // Layers stay unmerged so that every tensor the model names gets a scale (the layers an engine fuses
  // keep the names of their last tensor, so the builder finds its scales among them).
  LOWP_RETURN_IF_ERROR(passes::runPipeline(*graph, nullptr, passes::PipelineRules::kKeepLayers));
  const auto start = std::chrono::steady_clock::now();
  LOWP_ASSIGN_OR_RETURN(auto amax, quant::calibrateGraph(*graph, *config.calibrationSource(),
                                                         config.calibrationOptions(), config.threads()));
  std::map<std::string, float> scales;
  quant::CalibrationCache cache;
  cache.algorithm = config.calibrationOptions().algorithm;
  for (const auto& [name, a] : amax) {
    scales[name] = quant::int8ScaleFromAmax(a);
    cache.scales.emplace_back(name, scales[name]);
  }
  const std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - start;
  logger.log(Severity::kInfo, "calibrated " + std::to_string(scales.size()) + " tensors on " +
                                  std::to_string(config.calibrationSource()->batchCount()) + " batches in " +
                                  std::to_string(elapsed.count()) + " s (" +
                                  std::string(quant::calibrationAlgorithmName(cache.algorithm)) + ")");
  if (!config.calibrationCacheFile().empty())
    LOWP_RETURN_IF_ERROR(quant::writeCalibrationCache(cache, config.calibrationCacheFile()));
  return scales;
}

Status exportQdqOnnx(const std::string& inputPath, const std::map<std::string, float>& scales,
                     const std::string& outputPath, QdqExportReport* report) {
  return onnx::exportQdqModel(inputPath, scales, outputPath, report);
}

}  // namespace lowp
