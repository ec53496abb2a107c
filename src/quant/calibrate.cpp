#include "quant/calibrate.h"

#include <memory>
#include <span>
#include <utility>
#include <vector>

#include "lowp/engine.h"
#include "quant/calibrator.h"
#include "quant/histogram.h"
#include "runtime/engine_impl.h"

namespace lowp::quant {
namespace {

bool isCalibrated(DataType type) {
  return type == DataType::kFloat32;
}

std::span<const float> floatsOf(const Tensor& t) {
  return {t.data<float>(), static_cast<size_t>(t.elementCount())};
}

}  // namespace

Result<std::map<std::string, float>> calibrateGraph(const ir::Graph& graph, CalibrationSource& source,
                                                    const CalibrationOptions& options, int threads) {
  if (source.batchCount() <= 0)
    return Status(StatusCode::kInvalidArgument, "calibration data has no batches");
  auto impl = runtime::prepareEngine(ir::cloneGraph(graph), EngineOptions{threads});
  if (!impl) return impl.status().withContext("preparing the calibration run");
  Engine engine(std::move(impl).value());
  auto context = engine.createExecutionContext();

  std::map<std::string, AbsHistogramCollector> collectors;
  auto collectorOf = [&](const std::string& name) -> AbsHistogramCollector& {
    return collectors.try_emplace(name, name).first->second;
  };
  Status failed;
  bool histogramPass = false;
  auto observe = [&](const std::string& name, const Tensor& t) {
    if (!failed.isOk() || !isCalibrated(t.type()) || t.elementCount() == 0) return;
    AbsHistogramCollector& c = collectorOf(name);
    failed = histogramPass ? c.observeValues(floatsOf(t)) : c.observeRange(floatsOf(t));
  };
  runtime::observeValues(*context, [&](const ir::Value& v, const Tensor& t) {
    if (!v.constant) observe(v.name, t);
  });
  for (int pass = 0; pass < 2; ++pass) {
    histogramPass = pass == 1;
    for (int64_t b = 0; b < source.batchCount(); ++b) {
      auto batch = source.batch(b);
      if (!batch) return batch.status().withContext("calibration batch " + std::to_string(b));
      for (const NamedTensor& input : *batch) observe(input.name, input.tensor);
      std::vector<NamedTensor> outputs;
      Status ran = context->execute(*batch, outputs);
      if (!ran) return ran.withContext("running calibration batch " + std::to_string(b));
      if (!failed.isOk()) return failed.withContext("calibration batch " + std::to_string(b));
    }
    if (pass == 0) {
      for (auto& [name, c] : collectors) LOWP_RETURN_IF_ERROR(c.startHistogram());
    }
  }
  std::map<std::string, float> amax;
  for (const auto& [name, c] : collectors) {
    LOWP_ASSIGN_OR_RETURN(AbsHistogram h, c.finish());
    if (h.amax == 0.0f) continue;
    LOWP_ASSIGN_OR_RETURN(float a, computeCalibrationAmax(h, options, name));
    if (a > 0.0f) amax[name] = a;
  }
  return amax;
}

}  // namespace lowp::quant
