// `lowp compare`: runs an engine (built here with trtexec's precision options, or loaded) against the FP32
// reference on the same inputs, or against saved outputs, and reports the error as Polygraphy does: an
// element fails only where it exceeds both the absolute and the relative tolerance (relative to the
// reference). With --per-layer it attributes the error to layers: for each layer, the error it adds on its
// own (its output against the FP32 layer's on the same inputs, the engine's) and the error accumulated up
// to it (against the FP32 model).
#include <algorithm>
#include <cmath>
#include <cstring>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <map>
#include <memory>
#include <random>
#include <sstream>

#include "build_options.h"
#include "commands.h"
#include "exec_report.h"
#include "html_report.h"
#include "lowp/builder.h"
#include "lowp/engine.h"
#include "lowp/tensor_io.h"
#include "output_error.h"
#include "tensor_summary.h"

namespace lowp::tools {
namespace {

struct CompareOptions {
  std::string onnx;
  std::string loadEngine;
  BuildFlags build;
  std::vector<std::string> shapes;
  std::vector<std::string> loadInputs;
  std::vector<std::string> refOutputs;
  uint64_t seed = 0;
  int64_t batch = 0;
  double atol = 1e-5;
  double rtol = 1e-5;
  std::string errorStat = "elemwise";
  std::string labels;
  bool perLayer = false;
  int top = 10;
  int threads = 0;
  std::string exportJson;
  std::string report;
  bool verbose = false;
};

struct CompareError {
  std::string message;
};

using TensorMap = std::map<std::string, Tensor, std::less<>>;

// Records the real value of every float tensor of a run (int8 tensors dequantized) by name, as fp32; with
// `replacements`, the layers of the run read those tensors instead of their own.
class RecordingInspector final : public TensorInspector {
 public:
  explicit RecordingInspector(const TensorMap* replacements = nullptr) : replacements_(replacements) {}

  void tensorComputed(std::string_view name, const Tensor& value, float scale, int32_t zeroPoint) override {
    if (!isFloatType(value.type()) && !(scale > 0)) return;
    Tensor real(DataType::kFloat32, value.shape());
    for (int64_t i = 0; i < value.elementCount(); ++i)
      real.data<float>()[i] = static_cast<float>(realElement(value, i, scale, zeroPoint));
    tensors[std::string(name)] = std::move(real);
    if (scale > 0) {
      const bool isSigned = value.type() == DataType::kInt8;
      ranges[std::string(name)] = {(isSigned ? -128.0 - zeroPoint : -zeroPoint) * scale,
                                   (isSigned ? 127.0 - zeroPoint : 255.0 - zeroPoint) * scale};
    }
  }

  const Tensor* replacementFor(std::string_view name) override {
    if (replacements_ == nullptr) return nullptr;
    auto it = replacements_->find(name);
    return it != replacements_->end() ? &it->second : nullptr;
  }

  TensorMap tensors;
  /// Per int8/uint8 tensor, the real values it can hold: [lowest, highest].
  std::map<std::string, std::pair<double, double>> ranges;

 private:
  const TensorMap* replacements_;
};

// One output's comparison over every batch.
struct OutputComparison {
  std::string name;
  std::vector<int64_t> shape;  // of one batch
  ErrorStats stats;
  std::vector<int64_t> engineTop1;
  std::vector<int64_t> referenceTop1;
};

class Comparison {
 public:
  explicit Comparison(const CompareOptions& o) : o_(o) {}

  int run() {
    std::map<std::string, std::vector<int64_t>> shapes;
    if (std::string e = parseShapeList(o_.shapes, shapes); !e.empty()) throw CompareError{e};
    std::map<std::string, std::string> inputFiles;
    std::map<std::string, std::string> refFiles;
    if (std::string e = parseNamedFiles("--loadInputs", o_.loadInputs, inputFiles); !e.empty())
      throw CompareError{e};
    if (std::string e = parseNamedFiles("--refOutputs", o_.refOutputs, refFiles); !e.empty())
      throw CompareError{e};
    if (o_.onnx.empty() && o_.loadEngine.empty()) throw CompareError{"give the model with --onnx=FILE"};
    if (o_.onnx.empty() && refFiles.empty())
      throw CompareError{
          "--loadEngine: the FP32 reference needs the model too: give --onnx=FILE (or "
          "--refOutputs=name:file for saved reference outputs)"};
    if (o_.perLayer && o_.onnx.empty())
      throw CompareError{"--per-layer compares with the FP32 model layer by layer: give --onnx=FILE"};
    if (!o_.loadEngine.empty() && o_.build.anyBuildOptionSet())
      throw CompareError{"--loadEngine: build options cannot change an engine loaded from a file"};
    if (o_.errorStat != "elemwise" && o_.errorStat != "max" && o_.errorStat != "mean" &&
        o_.errorStat != "median")
      throw CompareError{"--errorStat=" + o_.errorStat + ": expected elemwise, max, mean or median"};

    std::map<std::string, Tensor> inputs = loadTensors("--loadInputs", inputFiles);
    std::map<std::string, Tensor> refOutputs = loadTensors("--refOutputs", refFiles);
    rows_ = datasetRows(inputs, refOutputs);
    const int64_t batch = o_.batch > 0 ? o_.batch : rows_;
    if (rows_ > 0 && rows_ % batch != 0 && o_.batch > 0)
      std::cerr << "lowp compare: warning: " << rows_ << " rows do not divide into batches of " << batch
                << ": the last batch has " << rows_ % batch << "\n";

    // Build shapes: --shapes, else one batch of the loaded inputs, which is also the data built on.
    std::map<std::string, std::vector<int64_t>> buildShapes = shapes;
    std::map<std::string, Tensor> buildValues;
    for (const auto& [name, t] : inputs) {
      std::vector<int64_t> s = t.shape();
      if (!s.empty() && rows_ > 0) s[0] = std::min(batch, rows_);
      auto given = shapes.find(name);
      if (given == shapes.end() || given->second == s)
        buildValues.emplace(name, rows_ > 0 && t.rank() > 0 ? sliceRows(t, 0, std::min(batch, rows_)) : t);
      buildShapes.emplace(name, s);
    }
    engine_ = makeEngine(buildShapes, buildValues);
    if (!o_.onnx.empty() && refOutputs.empty()) {
      EngineOptions options;
      options.threads = o_.threads;
      auto ref = Engine::fromOnnxFile(o_.onnx, options);
      if (!ref) throw CompareError{ref.status().toString()};
      reference_ = *ref;
    }
    checkNames(inputs, refOutputs);

    std::mt19937_64 rng(o_.seed);
    const int64_t batches = rows_ > 0 ? (rows_ + batch - 1) / batch : 1;
    for (int64_t b = 0; b < batches; ++b) {
      const int64_t begin = b * batch;
      const int64_t count = rows_ > 0 ? std::min(batch, rows_ - begin) : 0;
      std::vector<NamedTensor> feed;
      for (const TensorDesc& desc : engine_->inputs()) {
        auto given = inputs.find(desc.name);
        if (given != inputs.end()) {
          feed.push_back({desc.name, rows_ > 0 ? sliceRows(given->second, begin, count) : given->second});
          continue;
        }
        feed.push_back({desc.name, randomTensor(desc.type, randomShape(desc, buildShapes), rng)});
      }
      std::map<std::string, Tensor> refBatch;
      for (const auto& [name, t] : refOutputs) refBatch[name] = rows_ > 0 ? sliceRows(t, begin, count) : t;
      compareBatch(feed, refBatch, b);
    }
    return report(batches, batch);
  }

 private:
  std::map<std::string, Tensor> loadTensors(const std::string& option,
                                            const std::map<std::string, std::string>& files) {
    std::map<std::string, Tensor> tensors;
    if (std::string e = readNamedTensors(option, files, tensors); !e.empty()) throw CompareError{e};
    return tensors;
  }

  // The number of rows (first-axis entries) of the loaded data, which must agree when --batch splits it;
  // 0 when nothing is loaded.
  int64_t datasetRows(const std::map<std::string, Tensor>& inputs,
                      const std::map<std::string, Tensor>& refOutputs) const {
    int64_t rows = 0;
    std::string first;
    for (const auto* group : {&inputs, &refOutputs}) {
      for (const auto& [name, t] : *group) {
        if (t.rank() == 0) {
          if (o_.batch > 0) throw CompareError{"--batch: '" + name + "' is a scalar and cannot be split"};
          continue;
        }
        if (rows == 0) {
          rows = t.shape()[0];
          first = name;
        } else if (o_.batch > 0 && t.shape()[0] != rows) {
          std::string message = "--batch: '";
          message.append(name).append("' has ").append(std::to_string(t.shape()[0])).append(" rows, '");
          message.append(first).append("' has ").append(std::to_string(rows));
          throw CompareError{message};
        }
      }
    }
    return rows;
  }

  std::shared_ptr<Engine> makeEngine(const std::map<std::string, std::vector<int64_t>>& buildShapes,
                                     const std::map<std::string, Tensor>& buildValues) {
    EngineOptions options;
    options.threads = o_.threads;
    if (!o_.loadEngine.empty()) {
      auto e = Engine::fromEngineFile(o_.loadEngine, options);
      if (!e) throw CompareError{e.status().toString()};
      return *e;
    }
    auto network = NetworkDefinition::fromOnnxFile(o_.onnx);
    if (!network) throw CompareError{network.status().toString()};
    StderrLogger logger(o_.verbose ? Severity::kVerbose : Severity::kWarning);
    auto e = buildEngine(**network, o_.build, buildShapes, o_.threads, logger, !o_.verbose, buildValues);
    if (!e) throw CompareError{e.status().toString()};
    return *e;
  }

  void checkNames(const std::map<std::string, Tensor>& inputs,
                  const std::map<std::string, Tensor>& refOutputs) const {
    auto named = [](const std::vector<TensorDesc>& descs, const std::string& name) {
      return std::any_of(descs.begin(), descs.end(), [&](const TensorDesc& d) { return d.name == name; });
    };
    for (const auto& entry : inputs) {
      if (!named(engine_->inputs(), entry.first))
        throw CompareError{"--loadInputs names '" + entry.first + "', which is not an input of the model"};
    }
    for (const auto& entry : refOutputs) {
      if (!named(engine_->outputs(), entry.first))
        throw CompareError{"--refOutputs names '" + entry.first + "', which is not an output of the model"};
    }
  }

  static std::vector<int64_t> randomShape(const TensorDesc& desc,
                                          const std::map<std::string, std::vector<int64_t>>& shapes) {
    auto given = shapes.find(desc.name);
    if (given != shapes.end()) return given->second;
    for (size_t d = 0; d < desc.shape.size(); ++d) {
      if (desc.shape[d] < 0)
        throw CompareError{"input '" + desc.name +
                           "' has a dynamic dimension: give its shape with --shapes=" + desc.name +
                           ":<dims> or its data with --loadInputs=" + desc.name + ":<file.npy>"};
    }
    return desc.shape;
  }

  std::vector<NamedTensor> execute(const Engine& engine, const std::vector<NamedTensor>& feed,
                                   TensorInspector* inspector, const std::string& what, int64_t batch) {
    auto context = engine.createExecutionContext();
    context->setTensorInspector(inspector);
    std::vector<NamedTensor> outputs;
    Status s = context->execute(feed, outputs);
    if (!s) throw CompareError{what + ", batch " + std::to_string(batch) + ": " + s.toString()};
    return outputs;
  }

  // Runs one batch. --per-layer adds two measurements per tensor of the model: the engine's value against
  // the reference's (the error accumulated up to it), and against the FP32 layer run on the engine's own
  // inputs (the error the layer adds on its own: its weights, arithmetic and output precision).
  void compareBatch(const std::vector<NamedTensor>& feed, std::map<std::string, Tensor>& refOutputs,
                    int64_t batch) {
    RecordingInspector referenceValues;
    if (reference_) {
      std::vector<NamedTensor> refs =
          execute(*reference_, feed, o_.perLayer ? &referenceValues : nullptr, "the FP32 reference", batch);
      for (NamedTensor& r : refs) refOutputs[r.name] = std::move(r.tensor);
    }
    RecordingInspector engineValues;
    std::vector<NamedTensor> outs =
        execute(*engine_, feed, o_.perLayer ? &engineValues : nullptr, "the engine", batch);
    for (const NamedTensor& out : outs) {
      auto ref = refOutputs.find(out.name);
      if (ref == refOutputs.end()) continue;  // saved outputs may cover some outputs only
      if (ref->second.shape() != out.tensor.shape())
        throw CompareError{"output '" + out.name + "' has shape " + dimsText(out.tensor.shape()) +
                           ", its reference " + dimsText(ref->second.shape())};
      OutputComparison& c = outputComparison(out.name, out.tensor.shape());
      c.stats.add(out.tensor, 0, 0, ref->second, o_.atol, o_.rtol, true);
      if (isClassifierOutput(out.tensor)) {
        std::vector<int64_t> e = argmaxRows(out.tensor);
        std::vector<int64_t> r = argmaxRows(ref->second);
        c.engineTop1.insert(c.engineTop1.end(), e.begin(), e.end());
        c.referenceTop1.insert(c.referenceTop1.end(), r.begin(), r.end());
      }
    }
    if (!o_.perLayer) return;
    RecordingInspector onEngineInputs(&engineValues.tensors);
    execute(*reference_, feed, &onEngineInputs, "the FP32 reference on the engine's tensors", batch);
    for (const auto& [name, value] : engineValues.tensors) {
      auto ref = referenceValues.tensors.find(name);
      auto own = onEngineInputs.tensors.find(name);
      if (ref == referenceValues.tensors.end() || own == onEngineInputs.tensors.end() ||
          ref->second.shape() != value.shape() || own->second.shape() != value.shape())
        continue;
      accumulatedStats_[name].add(value, 0, 0, ref->second, 0, 0, false);
      if (auto range = engineValues.ranges.find(name); range != engineValues.ranges.end()) {
        // How much of the FP32 model's tensor lies outside what the engine's int8 tensor can hold.
        auto& [outside, total] = clipped_[name];
        const Tensor& r = ref->second;
        for (int64_t i = 0; i < r.elementCount(); ++i) {
          const float v = r.data<float>()[i];
          outside += v < range->second.first || v > range->second.second;
        }
        total += r.elementCount();
      }
      localStats_[name].add(value, 0, 0, own->second, 0, 0, false);
      // The layer's own error alone: the FP32 model with only this tensor off by what the layer added.
      TensorMap alone;
      Tensor& perturbed = alone[name] = ref->second.clone();
      for (int64_t i = 0; i < perturbed.elementCount(); ++i)
        perturbed.data<float>()[i] += value.data<float>()[i] - own->second.data<float>()[i];
      RecordingInspector withOneError(&alone);
      std::vector<NamedTensor> outs = execute(*reference_, feed, &withOneError, "the FP32 reference", batch);
      ErrorStats& impact = outputImpact_[name];
      for (const NamedTensor& out : outs) {
        // No layer reads an output: its own error reaches the outputs as it is.
        const Tensor& result = out.name == name ? perturbed : out.tensor;
        impact.add(result, 0, 0, refOutputs.at(out.name), 0, 0, false);
      }
    }
  }

  OutputComparison& outputComparison(const std::string& name, const std::vector<int64_t>& shape) {
    for (OutputComparison& c : outputs_) {
      if (c.name == name) return c;
    }
    outputs_.push_back({name, shape, {}, {}, {}});
    return outputs_.back();
  }

  // Whether an output passes under --errorStat.
  bool passes(const ErrorStats& s) const {
    if (o_.errorStat == "elemwise") return s.failures() == 0;
    double abs = s.maxAbs();
    double rel = s.maxRel();
    if (o_.errorStat == "mean") {
      abs = s.meanAbs();
      rel = s.meanRel();
    } else if (o_.errorStat == "median") {
      abs = s.medianAbs();
      rel = s.medianRel();
    }
    return abs <= o_.atol || rel <= o_.rtol;
  }

  struct LayerError {
    std::string layer;
    std::string op;
    std::string precision;
    std::string tensor;
    double outputError = 0;  // the outputs' relative L2 error with this layer's own error alone
    double local = 0;        // the layer's own error: its output against the FP32 layer's on its inputs
    double accumulated = 0;  // its output against the FP32 model's
    double clipped = -1;     // % of the FP32 model's values outside the engine's int8 range; -1: not int8
  };

  // Per-layer errors, the layer costing the outputs the most first. Tensors the builder's conversions make
  // are not the model's and have no reference; a layer with several outputs gives one row per output.
  std::vector<LayerError> layerErrors() const {
    std::map<std::string, const LayerInfo*> producers;
    for (const LayerInfo& layer : engine_->layers()) {
      for (const std::string& tensor : layer.outputNames) producers[tensor] = &layer;
    }
    std::vector<LayerError> rows;
    for (const LayerInfo& converted : engine_->layers()) {
      // A conversion giving a model's tensor (a network output in the type the user receives) speaks for
      // the layer that computed what it converts.
      const LayerInfo* owner = &converted;
      for (int hops = 0; owner->conversion && !owner->inputNames.empty() && hops < 4; ++hops) {
        auto producer = producers.find(owner->inputNames[0]);
        if (producer == producers.end()) break;
        owner = producer->second;
      }
      const LayerInfo& layer = *owner;
      for (const std::string& tensor : converted.outputNames) {
        auto local = localStats_.find(tensor);
        if (local == localStats_.end()) continue;
        double clipped = -1;
        if (auto c = clipped_.find(tensor); c != clipped_.end() && c->second.second > 0)
          clipped = 100.0 * static_cast<double>(c->second.first) / static_cast<double>(c->second.second);
        rows.push_back({layer.name, layer.opType, std::string(dataTypeName(layer.precision)), tensor,
                        outputImpact_.at(tensor).relativeL2(), local->second.relativeL2(),
                        accumulatedStats_.at(tensor).relativeL2(), clipped});
      }
    }
    std::stable_sort(rows.begin(), rows.end(),
                     [](const LayerError& a, const LayerError& b) { return a.outputError > b.outputError; });
    return rows;
  }

  int report(int64_t batches, int64_t batch) {
    const std::string against = reference_ ? "the FP32 model" : "the saved outputs";
    std::cout << "lowp compare: " << (o_.loadEngine.empty() ? o_.onnx : o_.loadEngine) << " against "
              << against << "; " << batches << " batch" << (batches == 1 ? "" : "es");
    if (rows_ > 0) std::cout << " of " << std::min(batch, rows_) << " (" << rows_ << " rows)";
    std::cout << "\n";
    ReportJson json;
    json["title"] = "lowp compare: " + (o_.loadEngine.empty() ? o_.onnx : o_.loadEngine);
    json["facts"] = ReportJson::array({{"engine", o_.loadEngine.empty() ? o_.onnx : o_.loadEngine},
                                       {"reference", against},
                                       {"atol / rtol", sci(o_.atol) + " / " + sci(o_.rtol)},
                                       {"check", o_.errorStat}});
    ReportJson table = {{"title", "outputs against the reference"},
                        {"columns",
                         {"output", "max abs", "mean abs", "median abs", "max rel", "mean rel", "median rel",
                          "rel. L2", "cosine", "over tolerance", "top-1 agreement", "result"}},
                        {"rows", ReportJson::array()}};
    ReportJson outputsJson = ReportJson::array();
    bool allPass = true;
    for (const OutputComparison& c : outputs_) {
      const ErrorStats& s = c.stats;
      const bool pass = passes(s);
      allPass = allPass && pass;
      std::cout << "output '" << c.name << "' [" << dimsText(c.shape) << (batches > 1 ? " per batch" : "")
                << "]\n"
                << "  absolute error: max " << sci(s.maxAbs()) << ", mean " << sci(s.meanAbs()) << ", median "
                << sci(s.medianAbs()) << "\n"
                << "  relative error: max " << sci(s.maxRel()) << ", mean " << sci(s.meanRel()) << ", median "
                << sci(s.medianRel()) << "\n"
                << "  relative L2 error " << sci(s.relativeL2()) << ", cosine similarity "
                << fixed(s.cosine(), 6) << "\n"
                << "  elements over both atol " << sci(o_.atol) << " and rtol " << sci(o_.rtol) << ": "
                << s.failures() << " of " << s.count() << " (" << percent(s.failures(), s.count()) << ")\n";
      std::string agreement = "-";
      ReportJson numbers = {{"name", c.name},
                            {"maxAbs", s.maxAbs()},
                            {"meanAbs", s.meanAbs()},
                            {"medianAbs", s.medianAbs()},
                            {"maxRel", s.maxRel()},
                            {"meanRel", s.meanRel()},
                            {"medianRel", s.medianRel()},
                            {"relativeL2", s.relativeL2()},
                            {"cosine", s.cosine()},
                            {"overTolerance", s.failures()},
                            {"elements", s.count()},
                            {"passed", pass}};
      if (!c.engineTop1.empty()) {
        int64_t same = 0;
        for (size_t i = 0; i < c.engineTop1.size(); ++i) same += c.engineTop1[i] == c.referenceTop1[i];
        const auto n = static_cast<int64_t>(c.engineTop1.size());
        agreement = percent(same, n);
        numbers["top1Agreement"] = static_cast<double>(same) / static_cast<double>(n);
        std::cout << "  top-1 agreement with the reference: " << agreement << " (" << same << " of " << n
                  << " rows)\n";
      }
      outputsJson.push_back(numbers);
      std::cout << "  " << (pass ? "PASSED" : "FAILED") << " (" << o_.errorStat << ")\n";
      table["rows"].push_back({c.name, sci(s.maxAbs()), sci(s.meanAbs()), sci(s.medianAbs()), sci(s.maxRel()),
                               sci(s.meanRel()), sci(s.medianRel()), sci(s.relativeL2()),
                               fixed(s.cosine(), 6), percent(s.failures(), s.count()), agreement,
                               pass ? "passed" : "FAILED"});
    }
    if (outputs_.empty()) throw CompareError{"no output of the engine has a reference to compare with"};
    json["outputs"] = outputsJson;
    json["tables"] = ReportJson::array({table});
    if (!o_.labels.empty()) addAccuracy(json);
    json["engines"] = ReportJson::array({engineSection("engine under test", *engine_, {}, {})});
    if (o_.perLayer) json["layerErrors"] = printLayerErrors();
    if (!o_.exportJson.empty()) {
      std::ofstream f(o_.exportJson);
      f << json.dump(2) << "\n";
      if (!f) throw CompareError{"--exportJson: cannot write " + o_.exportJson};
    }
    if (!o_.report.empty()) {
      Status s = writeHtmlReport(json, o_.report);
      if (!s) throw CompareError{s.message()};
    }
    std::cout << (allPass ? "PASSED" : "FAILED") << "\n";
    return allPass ? 0 : 1;
  }

  // Top-1 accuracy of the engine and of the reference against --labels, on the one classifier output:
  // printed, and added to `json` as a table and as numbers ("accuracy").
  void addAccuracy(ReportJson& json) const {
    auto labels = readTensorFile(o_.labels);
    if (!labels) throw CompareError{"--labels: " + labels.status().toString()};
    const OutputComparison* classifier = nullptr;
    for (const OutputComparison& c : outputs_) {
      if (c.engineTop1.empty()) continue;
      if (classifier != nullptr)
        throw CompareError{"--labels: the model has several classifier outputs ([rows, classes])"};
      classifier = &c;
    }
    if (classifier == nullptr) throw CompareError{"--labels: no output has the shape [rows, classes]"};
    const auto n = static_cast<int64_t>(classifier->engineTop1.size());
    if (labels->elementCount() != n)
      throw CompareError{"--labels: " + o_.labels + " has " + std::to_string(labels->elementCount()) +
                         " labels, output '" + classifier->name + "' has " + std::to_string(n) + " rows"};
    int64_t engineRight = 0;
    int64_t referenceRight = 0;
    for (int64_t i = 0; i < n; ++i) {
      const auto label = static_cast<int64_t>(elementAsDouble(*labels, i));
      engineRight += classifier->engineTop1[static_cast<size_t>(i)] == label;
      referenceRight += classifier->referenceTop1[static_cast<size_t>(i)] == label;
    }
    const double engineAcc = 100.0 * static_cast<double>(engineRight) / static_cast<double>(n);
    const double referenceAcc = 100.0 * static_cast<double>(referenceRight) / static_cast<double>(n);
    std::cout << "top-1 accuracy on " << o_.labels << " (" << n << " rows): engine " << fixed(engineAcc, 2)
              << "%, reference " << fixed(referenceAcc, 2) << "% (" << (engineAcc >= referenceAcc ? "+" : "")
              << fixed(engineAcc - referenceAcc, 2) << " points)\n";
    json["tables"].push_back({{"title", "top-1 accuracy on " + o_.labels},
                              {"columns", {"output", "rows", "engine", "reference", "difference (points)"}},
                              {"rows",
                               {{classifier->name, std::to_string(n), fixed(engineAcc, 2) + "%",
                                 fixed(referenceAcc, 2) + "%", fixed(engineAcc - referenceAcc, 2)}}}});
    json["accuracy"] = {{"output", classifier->name},
                        {"rows", n},
                        {"engineTop1", engineAcc / 100},
                        {"referenceTop1", referenceAcc / 100}};
  }

  ReportJson printLayerErrors() const {
    std::vector<LayerError> rows = layerErrors();
    std::cout << "\nper layer, most costly first; relative L2 errors of\n"
                 "  outputs:     the model's outputs when this layer alone adds its own error\n"
                 "  own:         the layer's output against the FP32 layer's on the same inputs\n"
                 "  accumulated: the layer's output against the FP32 model's\n"
                 "clipped: the FP32 model's values outside the range of the layer's int8 output\n";
    size_t width = 5;
    const size_t shown = std::min(rows.size(), static_cast<size_t>(std::max(o_.top, 0)));
    for (size_t i = 0; i < shown; ++i) width = std::max(width, rows[i].layer.size());
    std::cout << std::left << std::setw(5) << "rank" << std::setw(static_cast<int>(width) + 2) << "layer"
              << std::setw(22) << "op" << std::setw(11) << "precision" << std::setw(12) << "outputs"
              << std::setw(12) << "own" << std::setw(13) << "accumulated"
              << "clipped\n";
    ReportJson layers = ReportJson::array();
    for (size_t i = 0; i < rows.size(); ++i) {
      const LayerError& r = rows[i];
      if (i < shown) {
        std::cout << std::left << std::setw(5) << i + 1 << std::setw(static_cast<int>(width) + 2) << r.layer
                  << std::setw(22) << r.op << std::setw(11) << r.precision << std::setw(12)
                  << sci(r.outputError) << std::setw(12) << sci(r.local) << std::setw(13)
                  << sci(r.accumulated) << (r.clipped < 0 ? "-" : fixed(r.clipped, 2) + "%") << "\n";
      }
      layers.push_back({{"name", r.layer},
                        {"op", r.op},
                        {"precision", r.precision},
                        {"tensor", r.tensor},
                        {"outputs", r.outputError},
                        {"local", r.local},
                        {"accumulated", r.accumulated},
                        {"clippedPercent", r.clipped < 0 ? ReportJson() : ReportJson(r.clipped)}});
    }
    if (rows.size() > shown) std::cout << "(" << rows.size() - shown << " more; --top=N shows more)\n";
    if (!rows.empty() && rows.front().outputError > 0) {
      const LayerError& top = rows.front();
      std::cout << "to keep the most costly layer in fp32: --layerPrecisions=" << top.layer << ":fp32\n";
      if (top.clipped > 1) {
        std::cout << "its int8 output cannot hold " << fixed(top.clipped, 2)
                  << "% of the FP32 model's values: the calibrated range is too narrow for this tensor "
                     "(try --calibAlgo=minmax or percentile), and keeping only this layer in fp32 moves "
                     "the clipping to the layers that read it\n";
      }
    }
    return {{"metric", "relative L2 error"}, {"layers", layers}};
  }

  const CompareOptions& o_;
  std::shared_ptr<Engine> engine_;
  std::shared_ptr<Engine> reference_;
  int64_t rows_ = 0;
  std::vector<OutputComparison> outputs_;
  std::map<std::string, ErrorStats> localStats_;
  std::map<std::string, ErrorStats> accumulatedStats_;
  std::map<std::string, ErrorStats> outputImpact_;  // per tensor: the outputs' error with its own error alone
  // Per int8 tensor: elements of the FP32 model's tensor outside its range at the engine's scale, of all.
  std::map<std::string, std::pair<int64_t, int64_t>> clipped_;
};

}  // namespace

CommandRunner addCompareCommand(CLI::App& app) {
  auto opt = std::make_shared<CompareOptions>();
  CLI::App* cmd = app.add_subcommand(
      "compare",
      "Compare an engine's outputs (and, --per-layer, each layer) with the FP32 model or saved outputs");
  cmd->add_option("--onnx", opt->onnx, "ONNX model: built with the options below, and the FP32 reference")
      ->check(CLI::ExistingFile);
  cmd->add_option("--loadEngine", opt->loadEngine, "compare this engine file instead of building one")
      ->check(CLI::ExistingFile);
  opt->build.addTo(*cmd);
  cmd->add_option("--shapes", opt->shapes, "name:1x3x224x224[,name:...]: shapes of random inputs");
  cmd->add_option("--loadInputs", opt->loadInputs, "name:file.npy|.pb[,...]: input data (default random)");
  cmd->add_option("--seed", opt->seed, "seed of the random inputs (default 0)");
  cmd->add_option("--batch", opt->batch,
                  "run the loaded data in batches of N rows (first axis of inputs, --refOutputs, --labels)")
      ->check(CLI::PositiveNumber);
  cmd->add_option(
      "--refOutputs", opt->refOutputs,
      "name:file.npy|.pb[,...]: compare with saved outputs (e.g. ONNX Runtime's) instead of running "
      "the FP32 model");
  cmd->add_option("--atol", opt->atol, "absolute tolerance (default 1e-5)")->check(CLI::NonNegativeNumber);
  cmd->add_option("--rtol", opt->rtol, "relative tolerance, against the reference (default 1e-5)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--errorStat", opt->errorStat,
                  "elemwise (an element fails over both tolerances), or max, mean, median: the statistic of "
                  "the errors that must be within a tolerance (default elemwise)");
  cmd->add_option("--labels", opt->labels, "labels.npy: top-1 accuracy of the classifier output, per row")
      ->check(CLI::ExistingFile);
  cmd->add_flag("--per-layer", opt->perLayer,
                "attribute the error to layers: each layer's own error and the error accumulated up to it");
  cmd->add_option("--top", opt->top, "layers --per-layer prints (default 10)")->check(CLI::NonNegativeNumber);
  cmd->add_option("--threads", opt->threads, "worker threads (default: one per core)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--exportJson", opt->exportJson, "write the results as JSON");
  cmd->add_option("--report", opt->report, "write a self-contained HTML report");
  cmd->add_flag("--verbose", opt->verbose, "print every builder message");
  return [opt] {
    try {
      return Comparison(*opt).run();
    } catch (const CompareError& e) {
      std::cerr << "lowp compare: error: " << e.message << "\n";
      return 2;
    }
  };
}

}  // namespace lowp::tools
