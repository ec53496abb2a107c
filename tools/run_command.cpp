// `lowp run`: runs an ONNX model or an engine file on given or random inputs and prints (and optionally
// saves) its outputs.
#include <cctype>
#include <filesystem>
#include <iostream>
#include <map>
#include <random>

#include "build_options.h"
#include "commands.h"
#include "lowp/engine.h"
#include "lowp/tensor_io.h"
#include "tensor_summary.h"

namespace lowp::tools {
namespace {

struct RunOptions {
  std::string onnx;
  std::string engine;               // an engine file, instead of an ONNX model
  std::vector<std::string> inputs;  // name=file
  std::vector<std::string> shapes;  // name:1x3x224x224 (comma-separated lists allowed)
  uint64_t seed = 0;
  std::string saveDir;
  int threads = 0;
  std::string device = "cpu";
};

// Tensor names may hold '/' or ':' (e.g. "/conv1/Conv_output_0"); file names keep [A-Za-z0-9._-] only.
std::string fileNameFor(const std::string& tensorName) {
  std::string out = tensorName;
  for (char& c : out) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '_' && c != '-') c = '_';
  }
  return out;
}

int fail(const std::string& message) {
  std::cerr << "lowp run: error: " << message << "\n";
  return 1;
}

int runModel(const RunOptions& opt) {
  if (opt.onnx.empty() == opt.engine.empty()) {
    return fail("give the model with --onnx FILE or an engine file with --engine FILE");
  }
  std::map<std::string, std::vector<int64_t>> shapes;
  if (std::string e = parseShapeList(opt.shapes, shapes); !e.empty()) return fail(e);
  std::map<std::string, std::string> files;
  for (const std::string& item : opt.inputs) {
    auto eq = item.find('=');
    if (eq == std::string::npos) return fail("--input '" + item + "' is not of the form name=file.npy");
    files[item.substr(0, eq)] = item.substr(eq + 1);
  }

  EngineOptions engineOptions;
  engineOptions.threads = opt.threads;
  if (std::string e = parseDevice(opt.device, engineOptions.device, engineOptions.cudaOrdinal); !e.empty())
    return fail(e);
  auto engine = opt.engine.empty() ? Engine::fromOnnxFile(opt.onnx, engineOptions)
                                   : Engine::fromEngineFile(opt.engine, engineOptions);
  if (!engine) return fail(engine.status().toString());

  std::mt19937_64 rng(opt.seed);
  std::vector<NamedTensor> inputs;
  for (const TensorDesc& desc : (*engine)->inputs()) {
    auto file = files.find(desc.name);
    if (file != files.end()) {
      auto t = readTensorFile(file->second);
      if (!t) return fail("--input " + desc.name + ": " + t.status().toString());
      inputs.push_back({desc.name, std::move(t).value()});
      files.erase(file);
      continue;
    }
    std::vector<int64_t> sizes = desc.shape;
    auto given = shapes.find(desc.name);
    if (given != shapes.end()) {
      sizes = given->second;
      shapes.erase(given);
    } else {
      for (size_t d = 0; d < sizes.size(); ++d) {
        if (sizes[d] < 0) {
          std::string dim = desc.dimNames[d].empty() ? std::to_string(d) : "'" + desc.dimNames[d] + "'";
          return fail("input '" + desc.name + "' has dynamic dimension " + dim +
                      ": give its shape with --shapes " + desc.name + ":<dims> or its data with --input " +
                      desc.name + "=<file>");
        }
      }
    }
    inputs.push_back({desc.name, randomTensor(desc.type, sizes, rng)});
  }
  for (const auto& [name, file] : files)
    return fail("--input names '" + name + "', which is not a model input");
  for (const auto& [name, sizes] : shapes)
    return fail("--shapes names '" + name + "', which is not a model input");

  auto context = (*engine)->createExecutionContext();
  std::vector<NamedTensor> outputs;
  Status s = context->execute(inputs, outputs);
  if (!s) return fail(s.toString());

  if (!opt.saveDir.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(opt.saveDir, ec);
    if (ec) return fail("cannot create --save-outputs folder '" + opt.saveDir + "': " + ec.message());
  }
  auto save = [&](const std::string& file, const Tensor& t) -> bool {
    Status w = writeNpy((std::filesystem::path(opt.saveDir) / file).string(), t);
    if (!w) std::cerr << "lowp run: error: " << w.toString() << "\n";
    return w.isOk();
  };
  for (const NamedTensor& in : inputs) {
    std::cout << "input  " << in.name << ": " << summarize(in.tensor) << "\n";
    if (!opt.saveDir.empty() && !save("input_" + fileNameFor(in.name) + ".npy", in.tensor)) return 1;
  }
  for (const NamedTensor& out : outputs) {
    std::cout << "output " << out.name << ": " << summarize(out.tensor) << "\n";
    if (!opt.saveDir.empty() && !save(fileNameFor(out.name) + ".npy", out.tensor)) return 1;
  }
  return 0;
}

}  // namespace

CommandRunner addRunCommand(CLI::App& app) {
  auto opt = std::make_shared<RunOptions>();
  CLI::App* cmd = app.add_subcommand(
      "run", "Run an ONNX model or an engine file on the CPU or GPU and summarise its outputs");
  CLI::Option* onnx = cmd->add_option("--onnx", opt->onnx, "ONNX model file")->check(CLI::ExistingFile);
  cmd->add_option("--engine", opt->engine, "engine file (from `lowp build --saveEngine`), instead of --onnx")
      ->check(CLI::ExistingFile)
      ->excludes(onnx);
  cmd->add_option("--input", opt->inputs, "name=file.npy|file.pb: data for one input (repeatable)");
  cmd->add_option("--shapes", opt->shapes, "name:1x3x224x224[,name:...]: shapes of random inputs");
  cmd->add_option("--seed", opt->seed, "seed for random inputs (default 0)");
  cmd->add_option("--save-outputs", opt->saveDir, "folder to write <output>.npy and input_<name>.npy into");
  cmd->add_option("--threads", opt->threads, "worker threads (default: one per core)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--device", opt->device,
                  "where the layers run: cpu (default), cuda, cuda:N or N (an NVIDIA GPU; every layer a CUDA "
                  "kernel, TF32 allowed); an engine file keeps its device");
  return [opt] { return runModel(*opt); };
}

}  // namespace lowp::tools
