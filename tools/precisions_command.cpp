// `lowp precisions`: builds one model at several precision settings (fp32, fp16, bf16, int8, best) and
// prints one table to choose from: latency and throughput, speedup over fp32, error against the FP32
// reference (and top-1 accuracy with --labels), and the precision mix of the layer time.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
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
#include "lowp/device.h"
#include "lowp/tensor_io.h"
#include "measure.h"
#include "output_error.h"
#include "tensor_summary.h"

namespace lowp::tools {
namespace {

struct PrecisionsOptions {
  std::string onnx;
  std::vector<std::string> precisions{"fp32", "fp16", "bf16", "int8", "best"};
  CalibrationFlags calibration;
  std::vector<std::string> shapes;
  std::vector<std::string> loadInputs;
  std::string labels;
  int64_t batch = 0;
  uint64_t seed = 0;
  double duration = 1.0;
  int threads = 0;
  std::string timingCacheFile;
  std::string exportJson;
  std::string report;
  bool verbose = false;
};

struct PrecisionsError {
  std::string message;
};

// One precision setting's engine and what was measured of it.
struct Setting {
  EngineRun run;                             // the engine, its build time, query and layer times
  MetricStats latency;                       // of run.latencyMs
  std::map<std::string, ErrorStats> errors;  // per output, against the FP32 reference
  std::vector<int64_t> top1;                 // per row of the classifier output
};

// The build flags of a setting: "fp32" (none), "fp16", "bf16", "int8", "best", or several joined by '+'.
BuildFlags flagsFor(const std::string& label, const PrecisionsOptions& o) {
  BuildFlags flags;
  flags.calibration = o.calibration;
  flags.timingCacheFile = o.timingCacheFile;
  std::stringstream parts(label);
  for (std::string part; std::getline(parts, part, '+');) {
    if (part == "fp32") continue;
    if (part == "fp16") {
      flags.fp16 = true;
    } else if (part == "bf16") {
      flags.bf16 = true;
    } else if (part == "int8") {
      flags.int8 = true;
    } else if (part == "best") {
      flags.best = true;
    } else {
      throw PrecisionsError{"--precisions: '" + label +
                            "' is not fp32, fp16, bf16, int8, best or a '+' list of them"};
    }
  }
  return flags;
}

// The share of the profiled layer time per precision, largest first: "int8 71%, fp32 22%, conversions 7%".
std::vector<std::pair<std::string, double>> precisionMix(const Setting& s) {
  std::map<std::string, std::string> precisionOf;
  for (const LayerInfo& l : s.run.engine->layers()) {
    precisionOf[l.name] = l.conversion ? std::string("conversions") : std::string(dataTypeName(l.precision));
  }
  std::map<std::string, double> ms;
  double total = 0;
  for (const auto& [name, t] : s.run.layerMs) {
    auto p = precisionOf.find(name);
    ms[p != precisionOf.end() ? p->second : std::string("other")] += t;
    total += t;
  }
  std::vector<std::pair<std::string, double>> mix;
  mix.reserve(ms.size());
  for (const auto& [precision, t] : ms) mix.emplace_back(precision, total > 0 ? t / total : 0);
  std::stable_sort(mix.begin(), mix.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
  return mix;
}

std::string mixText(const std::vector<std::pair<std::string, double>>& mix) {
  std::string text;
  for (const auto& [precision, share] : mix) {
    if (share < 0.005) continue;
    if (!text.empty()) text += ", ";
    text += precision + " " + fixed(100 * share, 0) + "%";
  }
  return text;
}

class Sweep {
 public:
  explicit Sweep(PrecisionsOptions o) : o_(std::move(o)) {}

  int run() {
    if (o_.precisions.empty()) throw PrecisionsError{"--precisions: give at least one setting"};
    if (!(o_.duration > 0)) throw PrecisionsError{"--duration: must be positive"};
    std::map<std::string, std::vector<int64_t>> shapes;
    if (std::string e = parseShapeList(o_.shapes, shapes); !e.empty()) throw PrecisionsError{e};
    std::map<std::string, std::string> files;
    if (std::string e = parseNamedFiles("--loadInputs", o_.loadInputs, files); !e.empty())
      throw PrecisionsError{e};
    if (std::string e = readNamedTensors("--loadInputs", files, inputs_); !e.empty())
      throw PrecisionsError{e};
    rows_ = inputs_.empty() ? 0 : inputs_.begin()->second.shape().at(0);
    for (const auto& [name, t] : inputs_) {
      if (t.rank() == 0 || t.shape()[0] != rows_)
        throw PrecisionsError{"--loadInputs: every input needs the same number of rows (first dimension)"};
    }
    batch_ = o_.batch > 0 ? std::min(o_.batch, std::max<int64_t>(rows_, 1)) : std::max<int64_t>(rows_, 1);
    for (const auto& [name, t] : inputs_) {
      std::vector<int64_t> s = t.shape();
      s[0] = batch_;
      shapes.emplace(name, s);
    }
    // One timing cache and one calibration cache for every setting: each build times and calibrates only
    // what the ones before it did not.
    scratch_.create();
    if (o_.timingCacheFile.empty()) o_.timingCacheFile = (scratch_.path / "timing.cache").string();
    if (o_.calibration.cacheFile.empty() && !o_.calibration.dataFolder.empty())
      o_.calibration.cacheFile = (scratch_.path / "calibration.cache").string();

    auto network = NetworkDefinition::fromOnnxFile(o_.onnx);
    if (!network) throw PrecisionsError{network.status().toString()};
    makeBatches(**network, shapes);
    EngineOptions engineOptions;
    engineOptions.threads = o_.threads;
    auto reference = Engine::fromOnnxFile(o_.onnx, engineOptions);
    if (!reference) throw PrecisionsError{reference.status().toString()};
    for (const std::vector<NamedTensor>& feed : batches_)
      referenceOutputs_.push_back(execute(**reference, feed));

    StderrLogger logger(o_.verbose ? Severity::kVerbose : Severity::kWarning);
    for (const std::string& label : o_.precisions) {
      Setting s;
      s.run.label = label;
      s.run.shapes = shapes;
      const BuildFlags flags = flagsFor(label, o_);
      std::cerr << "lowp precisions: building " << label << "\n";
      const auto start = std::chrono::steady_clock::now();
      auto engine = buildEngine(**network, flags, shapes, o_.threads, logger, !o_.verbose);
      if (!engine) throw PrecisionsError{label + ": " + engine.status().toString()};
      s.run.buildSeconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      s.run.engine = *engine;
      measure(s);
      settings_.push_back(std::move(s));
    }
    return report();
  }

 private:
  // The batches the accuracy runs on: the loaded data in rows of --batch, else one batch of random inputs.
  void makeBatches(const NetworkDefinition& network,
                   const std::map<std::string, std::vector<int64_t>>& shapes) {
    if (rows_ > 0) {
      for (int64_t begin = 0; begin < rows_; begin += batch_) {
        std::vector<NamedTensor> feed;
        for (const auto& [name, t] : inputs_)
          feed.push_back({name, sliceRows(t, begin, std::min(batch_, rows_ - begin))});
        batches_.push_back(std::move(feed));
      }
      return;
    }
    std::mt19937_64 rng(o_.seed);
    std::vector<NamedTensor> feed;
    for (const TensorDesc& desc : network.inputs()) {
      auto given = shapes.find(desc.name);
      std::vector<int64_t> sizes = given != shapes.end() ? given->second : desc.shape;
      for (int64_t d : sizes) {
        if (d < 0)
          throw PrecisionsError{"input '" + desc.name +
                                "' has a dynamic dimension: give its shape with --shapes=" + desc.name +
                                ":<dims> or its data with --loadInputs"};
      }
      feed.push_back({desc.name, randomTensor(desc.type, sizes, rng)});
    }
    batches_.push_back(std::move(feed));
  }

  static std::vector<NamedTensor> execute(const Engine& engine, const std::vector<NamedTensor>& feed,
                                          ExecutionContext* reuse = nullptr) {
    std::unique_ptr<ExecutionContext> own;
    if (reuse == nullptr) {
      own = engine.createExecutionContext();
      reuse = own.get();
    }
    std::vector<NamedTensor> outputs;
    Status s = reuse->execute(feed, outputs);
    if (!s) throw PrecisionsError{s.toString()};
    return outputs;
  }

  // Latency (a warm-up, then queries for --duration seconds, at least ten), a profile pass, and the error
  // of every batch against the reference.
  void measure(Setting& s) {
    TimingPlan plan;
    plan.durationS = o_.duration;
    if (Status t = timeEngines({&s.run}, plan); !t) throw PrecisionsError{s.run.label + ": " + t.toString()};
    s.latency = computeStats(s.run.latencyMs, {99});
    auto context = s.run.engine->createExecutionContext();
    for (size_t b = 0; b < batches_.size(); ++b) {
      for (const NamedTensor& out : execute(*s.run.engine, batches_[b], context.get())) {
        const Tensor* ref = nullptr;
        for (const NamedTensor& r : referenceOutputs_[b]) {
          if (r.name == out.name) ref = &r.tensor;
        }
        if (ref == nullptr || ref->elementCount() != out.tensor.elementCount()) continue;
        s.errors[out.name].add(out.tensor, 0, 0, *ref, 0, 0, false);
        if (out.name == classifierOutput()) {
          std::vector<int64_t> top = argmaxRows(out.tensor);
          s.top1.insert(s.top1.end(), top.begin(), top.end());
        }
      }
    }
  }

  // The output top-1 applies to: the only output of shape [rows, classes]; "" when there is none or several.
  const std::string& classifierOutput() {
    if (!classifierKnown_) {
      classifierKnown_ = true;
      int found = 0;
      for (const NamedTensor& r : referenceOutputs_.front()) {
        if (isClassifierOutput(r.tensor)) {
          classifier_ = r.name;
          ++found;
        }
      }
      if (found != 1) classifier_.clear();
      if (!classifier_.empty()) {
        for (const std::vector<NamedTensor>& outs : referenceOutputs_) {
          for (const NamedTensor& r : outs) {
            if (r.name != classifier_) continue;
            std::vector<int64_t> top = argmaxRows(r.tensor);
            referenceTop1_.insert(referenceTop1_.end(), top.begin(), top.end());
          }
        }
      }
    }
    return classifier_;
  }

  int report() {
    std::vector<int64_t> labels;
    if (!o_.labels.empty()) {
      auto t = readTensorFile(o_.labels);
      if (!t) throw PrecisionsError{"--labels: " + t.status().message()};
      if (classifier_.empty())
        throw PrecisionsError{"--labels: the model has no single [rows, classes] output"};
      if (t->elementCount() != static_cast<int64_t>(referenceTop1_.size()))
        throw PrecisionsError{"--labels: " + o_.labels + " has " + std::to_string(t->elementCount()) +
                              " labels for " + std::to_string(referenceTop1_.size()) + " rows"};
      for (int64_t i = 0; i < t->elementCount(); ++i)
        labels.push_back(static_cast<int64_t>(elementAsDouble(*t, i)));
    }
    auto accuracy = [&](const std::vector<int64_t>& top) {
      int64_t right = 0;
      for (size_t i = 0; i < labels.size(); ++i) right += top[i] == labels[i];
      return percent(right, static_cast<int64_t>(labels.size()));
    };

    std::vector<std::string> columns{"precision", "latency ms (median)", "p99 ms", "samples/s",
                                     "speedup",   "rel. L2 vs fp32"};
    if (!classifier_.empty()) columns.push_back("top-1 agreement");
    if (!labels.empty()) columns.push_back("top-1 accuracy");
    columns.push_back("precision mix (layer time)");
    std::vector<std::vector<std::string>> rows;
    double fp32Ms = 0;
    for (const Setting& s : settings_) {
      if (s.run.label == "fp32") fp32Ms = s.latency.median;
    }
    for (const Setting& s : settings_) {
      double worstL2 = 0;
      for (const auto& [name, e] : s.errors) worstL2 = std::max(worstL2, e.relativeL2());
      std::vector<std::string> row{s.run.label,
                                   fixed(s.latency.median, 3),
                                   fixed(s.latency.percentiles[0], 3),
                                   fixed(1000.0 * static_cast<double>(batch_) / s.latency.median, 1),
                                   fp32Ms > 0 ? fixed(fp32Ms / s.latency.median, 2) + "x" : "-",
                                   sci(worstL2)};
      if (!classifier_.empty()) {
        int64_t same = 0;
        for (size_t i = 0; i < s.top1.size(); ++i) same += s.top1[i] == referenceTop1_[i];
        row.push_back(percent(same, static_cast<int64_t>(s.top1.size())));
      }
      if (!labels.empty()) row.push_back(accuracy(s.top1));
      row.push_back(mixText(precisionMix(s)));
      rows.push_back(std::move(row));
    }
    const std::string scope = rows_ > 0
                                  ? std::to_string(rows_) + " rows in batches of " + std::to_string(batch_)
                                  : "one batch of random inputs";
    std::cout << "lowp precisions: " << o_.onnx << " (batch " << batch_ << "; errors over " << scope << ")\n";
    if (!labels.empty()) std::cout << "fp32 reference top-1 accuracy: " << accuracy(referenceTop1_) << "\n";
    printTable(columns, rows);

    ReportJson json;
    json["title"] = "lowp precisions: " + o_.onnx;
    const DeviceInfo& device = deviceInfo();
    json["facts"] = ReportJson::array(
        {{"model", o_.onnx},
         {"device", device.name + " (" + device.featureText + ")"},
         {"batch", std::to_string(batch_)},
         {"errors over", scope},
         {"latency", "median of the queries of " + fixed(o_.duration, 1) + " s after a 0.2 s warm-up"}});
    if (!labels.empty()) json["facts"].push_back({"fp32 reference top-1 accuracy", accuracy(referenceTop1_)});
    json["tables"] = ReportJson::array({{{"title", "precisions"}, {"columns", columns}, {"rows", rows}}});
    json["engines"] = ReportJson::array();
    ReportJson settingsJson = ReportJson::array();
    for (const Setting& s : settings_) {
      json["engines"].push_back(engineSection(s.run.label, *s.run.engine, s.run.layerMs, s.run.latencyMs));
      ReportJson mix = ReportJson::object();
      for (const auto& [precision, share] : precisionMix(s)) mix[precision] = share;
      double worstL2 = 0;
      for (const auto& [name, e] : s.errors) worstL2 = std::max(worstL2, e.relativeL2());
      settingsJson.push_back({{"precision", s.run.label},
                              {"buildSeconds", s.run.buildSeconds},
                              {"medianMs", s.latency.median},
                              {"relativeL2", worstL2},
                              {"mix", mix}});
    }
    json["settings"] = settingsJson;
    if (!o_.exportJson.empty()) {
      std::ofstream f(o_.exportJson);
      f << json.dump(2) << "\n";
      if (!f) throw PrecisionsError{"--exportJson: cannot write " + o_.exportJson};
    }
    if (!o_.report.empty()) {
      Status s = writeHtmlReport(json, o_.report);
      if (!s) throw PrecisionsError{s.message()};
    }
    return 0;
  }

  static void printTable(const std::vector<std::string>& columns,
                         const std::vector<std::vector<std::string>>& rows) {
    std::vector<size_t> width;
    width.reserve(columns.size());
    for (const std::string& c : columns) width.push_back(c.size());
    for (const auto& row : rows) {
      for (size_t i = 0; i < row.size(); ++i) width[i] = std::max(width[i], row[i].size());
    }
    auto line = [&](const std::vector<std::string>& cells) {
      for (size_t i = 0; i + 1 < cells.size(); ++i)
        std::cout << std::left << std::setw(static_cast<int>(width[i]) + 2) << cells[i];
      std::cout << cells.back() << "\n";
    };
    line(columns);
    for (const auto& row : rows) line(row);
  }

  // A private folder for the caches the settings share, removed however the sweep ends.
  struct ScratchFolder {
    std::filesystem::path path;
    void create() {
      path = std::filesystem::temp_directory_path() / ("lowp-precisions-" + std::to_string(getpid()));
      std::filesystem::create_directories(path);
    }
    ~ScratchFolder() {
      std::error_code ignored;
      if (!path.empty()) std::filesystem::remove_all(path, ignored);
    }
  };

  PrecisionsOptions o_;
  ScratchFolder scratch_;
  std::map<std::string, Tensor> inputs_;
  int64_t rows_ = 0;
  int64_t batch_ = 1;
  std::vector<std::vector<NamedTensor>> batches_;
  std::vector<std::vector<NamedTensor>> referenceOutputs_;
  bool classifierKnown_ = false;
  std::string classifier_;
  std::vector<int64_t> referenceTop1_;
  std::vector<Setting> settings_;
};

}  // namespace

CommandRunner addPrecisionsCommand(CLI::App& app) {
  auto opt = std::make_shared<PrecisionsOptions>();
  CLI::App* cmd = app.add_subcommand(
      "precisions",
      "Build a model at several precisions and compare their speed, accuracy and precision mix");
  cmd->add_option("--onnx", opt->onnx, "ONNX model file")->required()->check(CLI::ExistingFile);
  cmd->add_option("--precisions", opt->precisions,
                  "settings to build, e.g. fp32,fp16,bf16,int8,best or bf16+int8 (default: all five)")
      ->delimiter(',');
  opt->calibration.addTo(*cmd);
  cmd->add_option("--shapes", opt->shapes, "name:1x3x224x224[,name:...]: shapes of random inputs");
  cmd->add_option("--loadInputs", opt->loadInputs, "name:file.npy|.pb[,...]: data to measure the error on");
  cmd->add_option("--batch", opt->batch, "build and time at N rows of the loaded data (default: all)")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--labels", opt->labels, "labels.npy: top-1 accuracy of the classifier output")
      ->check(CLI::ExistingFile);
  cmd->add_option("--seed", opt->seed, "seed of the random inputs (default 0)");
  cmd->add_option("--duration", opt->duration, "seconds to time each engine (default 1)");
  cmd->add_option("--threads", opt->threads, "worker threads (default: one per core)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--timingCacheFile", opt->timingCacheFile, "read and update this timing cache");
  cmd->add_option("--exportJson", opt->exportJson, "write the results as JSON");
  cmd->add_option("--report", opt->report, "write a self-contained HTML report");
  cmd->add_flag("--verbose", opt->verbose, "print every builder message");
  return [opt] {
    try {
      return Sweep(*opt).run();
    } catch (const PrecisionsError& e) {
      std::cerr << "lowp precisions: error: " << e.message << "\n";
      return 1;
    }
  };
}

}  // namespace lowp::tools
