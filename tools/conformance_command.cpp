// `lowp conformance DIR...`: runs ONNX backend test cases (one folder per case: model.onnx and
// test_data_set_*/input_k.pb, output_k.pb) and reports pass / fail / unsupported for each.
//
// Each case runs in a child process with a time limit, so a crash or hang is reported as that case's
// failure and the run goes on.
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <limits>
#include <regex>
#include <set>
#include <sstream>

#include "build_options.h"
#include "commands.h"
#include "lowp/builder.h"
#include "lowp/engine.h"
#include "lowp/tensor_io.h"
#include "tensor_summary.h"

namespace lowp::tools {
namespace fs = std::filesystem;
namespace {

struct ConformanceOptions {
  std::vector<std::string> dirs;
  std::string filter;
  std::string expectedFile;
  std::string writePassing;
  double rtol = 1e-3;
  double atol = 1e-7;
  double maxRelL2 = -1;  // >= 0: compare whole float outputs by relative L2 error instead of elementwise
  int timeoutSeconds = 120;
  int jobs = 2;
  bool quiet = false;
  // Build each model with the builder (timed tactics) instead of the plain FP32 runtime.
  bool build = false;
  bool fp16 = false;
  bool bf16 = false;
  bool int8 = false;
  int optimizationLevel = 3;
  std::string device = "cpu";  ///< cuda or cuda:N builds each model for that GPU (implies --build)
};

// Discards the builder's messages: a case's outcome says what matters.
class QuietLogger final : public Logger {
 public:
  void log(Severity, std::string_view) override {}
};

// The engine for one case: the plain runtime, or the builder on the case's first data set.
Result<std::shared_ptr<Engine>> makeEngine(const fs::path& dir, const fs::path& firstSet,
                                           const ConformanceOptions& opt) {
  EngineOptions engineOptions;
  engineOptions.threads = 1;  // cases run in parallel processes instead
  const std::string model = (dir / "model.onnx").string();
  Device device = Device::kCpu;
  int cudaOrdinal = 0;
  (void)parseDevice(opt.device, device, cudaOrdinal);  // checked before the cases run
  if (!opt.build && !opt.fp16 && !opt.bf16 && !opt.int8 && device == Device::kCpu)
    return Engine::fromOnnxFile(model, engineOptions);
  LOWP_ASSIGN_OR_RETURN(auto network, NetworkDefinition::fromOnnxFile(model));
  BuilderConfig config;
  config.setDevice(device, cudaOrdinal);
  if (opt.fp16) config.setFlag(BuilderFlag::kFP16);
  if (opt.bf16) config.setFlag(BuilderFlag::kBF16);
  if (opt.int8) config.setFlag(BuilderFlag::kINT8);
  config.setThreads(1);
  LOWP_RETURN_IF_ERROR(config.setOptimizationLevel(opt.optimizationLevel));
  const auto declared = network->inputs();
  for (size_t k = 0;; ++k) {
    fs::path file = firstSet / ("input_" + std::to_string(k) + ".pb");
    if (!fs::exists(file)) break;
    std::string name;
    LOWP_ASSIGN_OR_RETURN(Tensor t, readTensorProto(file.string(), &name));
    if (name.empty() && k < declared.size()) name = declared[k].name;
    config.setInputValues(name, std::move(t));  // inputs that decide shapes need their values to build
  }
  QuietLogger logger;
  return Builder(logger).build(*network, config);
}

enum class Outcome { kPass, kFail, kUnsupported };

struct CaseResult {
  Outcome outcome = Outcome::kFail;
  std::string message;
};

// Compares one output with the ONNX runner's rule: floats |a - b| <= atol + rtol * |b| (NaN matches NaN),
// integers and booleans exactly. Returns an empty string when they match.
std::string compareOutput(const std::string& name, const Tensor& got, const Tensor& want, double rtol,
                          double atol) {
  if (got.type() != want.type()) {
    return "output '" + name + "' has type " + std::string(dataTypeName(got.type())) + ", expected " +
           std::string(dataTypeName(want.type()));
  }
  if (got.shape() != want.shape()) {
    return "output '" + name + "' has shape [" + got.describe() + "], expected [" + want.describe() + "]";
  }
  bool isFloat = want.type() == DataType::kFloat32 || want.type() == DataType::kFloat64 ||
                 want.type() == DataType::kFloat16 || want.type() == DataType::kBFloat16;
  int64_t bad = 0;
  int64_t worst = -1;
  double worstErr = 0;
  for (int64_t i = 0; i < want.elementCount(); ++i) {
    double a = elementAsDouble(got, i);
    double b = elementAsDouble(want, i);
    bool ok;
    double err = std::fabs(a - b);
    if (std::isnan(a) || std::isnan(b)) {
      ok = std::isnan(a) && std::isnan(b);
      err = INFINITY;
    } else if (std::isinf(a) || std::isinf(b)) {
      ok = a == b;
      err = INFINITY;
    } else if (isFloat) {
      ok = err <= atol + rtol * std::fabs(b);
    } else {
      ok = got.byteSize() == want.byteSize() &&
           std::memcmp(static_cast<const char*>(got.data()) + i * dataTypeSize(got.type()),
                       static_cast<const char*>(want.data()) + i * dataTypeSize(want.type()),
                       static_cast<size_t>(dataTypeSize(want.type()))) == 0;
    }
    if (!ok) {
      ++bad;
      if (worst < 0 || err > worstErr) {
        worst = i;
        worstErr = err;
      }
    }
  }
  if (bad == 0) return {};
  std::ostringstream msg;
  msg << "output '" << name << "': " << bad << " of " << want.elementCount() << " elements differ; worst at "
      << worst << ": got " << elementAsDouble(got, worst) << ", expected " << elementAsDouble(want, worst);
  return msg.str();
}

// ||got - want|| / ||want|| over the elements where want is finite; where it is not (a masked score of
// -inf, a NaN), got must be the same, else the error is infinite.
double relativeL2(const Tensor& got, const Tensor& want) {
  double diff = 0;
  double norm = 0;
  for (int64_t i = 0; i < want.elementCount(); ++i) {
    double a = elementAsDouble(got, i);
    double b = elementAsDouble(want, i);
    if (!std::isfinite(b)) {
      if (a == b || (std::isnan(a) && std::isnan(b))) continue;
      return std::numeric_limits<double>::infinity();
    }
    diff += (a - b) * (a - b);
    norm += b * b;
  }
  return norm > 0 ? std::sqrt(diff / norm) : std::sqrt(diff);
}

CaseResult runCase(const fs::path& dir, const ConformanceOptions& opt) {
  std::vector<fs::path> sets;
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (entry.is_directory() && entry.path().filename().string().rfind("test_data_set_", 0) == 0) {
      sets.push_back(entry.path());
    }
  }
  std::sort(sets.begin(), sets.end());
  if (sets.empty()) return {Outcome::kFail, "no test_data_set_* folder"};
  auto engine = makeEngine(dir, sets.front(), opt);
  if (!engine) {
    Outcome o = engine.status().code() == StatusCode::kUnsupported ? Outcome::kUnsupported : Outcome::kFail;
    return {o, engine.status().toString()};
  }
  auto context = (*engine)->createExecutionContext();
  std::string measured;
  for (const fs::path& set : sets) {
    std::vector<NamedTensor> inputs;
    const auto& declared = (*engine)->inputs();
    for (size_t k = 0;; ++k) {
      fs::path file = set / ("input_" + std::to_string(k) + ".pb");
      if (!fs::exists(file)) break;
      std::string name;
      auto t = readTensorProto(file.string(), &name);
      if (!t) return {Outcome::kUnsupported, t.status().toString()};
      if (name.empty() && k < declared.size()) name = declared[k].name;
      inputs.push_back({name, std::move(t).value()});
    }
    std::vector<NamedTensor> outputs;
    Status s = context->execute(inputs, outputs);
    if (!s) {
      return {s.code() == StatusCode::kUnsupported ? Outcome::kUnsupported : Outcome::kFail, s.toString()};
    }
    for (size_t k = 0;; ++k) {
      fs::path file = set / ("output_" + std::to_string(k) + ".pb");
      if (!fs::exists(file)) break;
      std::string name;
      auto want = readTensorProto(file.string(), &name);
      if (!want) return {Outcome::kUnsupported, "expected output: " + want.status().toString()};
      if (k >= outputs.size()) return {Outcome::kFail, "the model gave fewer outputs than expected"};
      if (opt.maxRelL2 >= 0 && outputs[k].tensor.shape() == want->shape() &&
          outputs[k].tensor.type() == want->type()) {
        double err = relativeL2(outputs[k].tensor, *want);
        std::ostringstream line;
        line << set.filename().string() << " " << outputs[k].name << " rel-l2 " << err;
        if (!(err <= opt.maxRelL2))
          return {Outcome::kFail, line.str() + " > " + std::to_string(opt.maxRelL2)};
        measured += (measured.empty() ? "" : "; ") + line.str();
        continue;
      }
      std::string diff = compareOutput(outputs[k].name, outputs[k].tensor, *want, opt.rtol, opt.atol);
      if (!diff.empty()) return {Outcome::kFail, set.filename().string() + ": " + diff};
    }
  }
  return {Outcome::kPass, measured};
}

struct Child {
  pid_t pid;
  int fd;
  size_t index;
  std::chrono::steady_clock::time_point start;
  std::string buffer;
};

// Runs one case in a child process; the child writes "<outcome digit><message>" to the pipe.
Child startCase(const fs::path& dir, size_t index, const ConformanceOptions& opt) {
  int fds[2];
  if (pipe(fds) != 0) return {-1, -1, index, {}, {}};
  std::cout.flush();
  pid_t pid = fork();
  if (pid == 0) {
    close(fds[0]);
    CaseResult r = runCase(dir, opt);
    std::string line = std::to_string(static_cast<int>(r.outcome)) + r.message;
    for (char& c : line) {
      if (c == '\n') c = ' ';
    }
    ssize_t written = write(fds[1], line.data(), line.size());
    (void)written;
    close(fds[1]);
    _exit(0);
  }
  close(fds[1]);
  return {pid, fds[0], index, std::chrono::steady_clock::now(), {}};
}

CaseResult finishCase(Child& child, int timeoutSeconds) {
  // Read until EOF or the time limit.
  for (;;) {
    auto elapsed = std::chrono::steady_clock::now() - child.start;
    int leftMs = timeoutSeconds * 1000 -
                 static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(elapsed).count());
    if (leftMs <= 0) {
      kill(child.pid, SIGKILL);
      waitpid(child.pid, nullptr, 0);
      close(child.fd);
      return {Outcome::kFail, "timed out after " + std::to_string(timeoutSeconds) + " s"};
    }
    pollfd p{child.fd, POLLIN, 0};
    if (poll(&p, 1, std::min(leftMs, 1000)) > 0) {
      char buf[4096];
      ssize_t n = read(child.fd, buf, sizeof buf);
      if (n > 0) {
        child.buffer.append(buf, static_cast<size_t>(n));
        continue;
      }
      break;  // EOF
    }
  }
  close(child.fd);
  int status = 0;
  waitpid(child.pid, &status, 0);
  if (WIFSIGNALED(status)) {
    return {Outcome::kFail, "crashed with signal " + std::to_string(WTERMSIG(status)) + " (" +
                                strsignal(WTERMSIG(status)) + ")"};
  }
  if (child.buffer.empty()) return {Outcome::kFail, "the case process exited without a result"};
  return {static_cast<Outcome>(child.buffer[0] - '0'), child.buffer.substr(1)};
}

int runConformance(const ConformanceOptions& opt) {
  Device device = Device::kCpu;
  int cudaOrdinal = 0;
  if (std::string e = parseDevice(opt.device, device, cudaOrdinal); !e.empty()) {
    std::cerr << "lowp conformance: error: " << e << "\n";
    return 2;
  }
  std::vector<std::pair<std::string, fs::path>> cases;  // (label "<suite>/<case>", folder)
  std::regex filter;
  try {
    filter = std::regex(opt.filter.empty() ? ".*" : opt.filter);
  } catch (const std::regex_error& e) {
    std::cerr << "lowp conformance: error: --filter '" << opt.filter
              << "' is not a regular expression: " << e.what() << "\n";
    return 2;
  }
  for (const std::string& d : opt.dirs) {
    fs::path root(d);
    if (!fs::is_directory(root)) {
      std::cerr << "lowp conformance: error: '" << d << "' is not a folder\n";
      return 2;
    }
    std::string suite = fs::weakly_canonical(root).filename().string();
    for (const auto& entry : fs::directory_iterator(root)) {
      if (!entry.is_directory() || !fs::exists(entry.path() / "model.onnx")) continue;
      std::string label = suite + "/" + entry.path().filename().string();
      if (std::regex_search(label, filter)) cases.emplace_back(label, entry.path());
    }
  }
  std::sort(cases.begin(), cases.end());
  std::vector<CaseResult> results(cases.size());
  std::vector<Child> running;
  size_t next = 0;
  size_t reported = 0;
  std::vector<bool> done(cases.size(), false);
  auto report = [&] {
    while (reported < cases.size() && done[reported]) {
      const CaseResult& r = results[reported];
      static const char* kNames[] = {"pass", "FAIL", "unsupported"};
      if (!opt.quiet || r.outcome == Outcome::kFail) {
        std::cout << kNames[static_cast<int>(r.outcome)] << " " << cases[reported].first
                  << (r.message.empty() ? "" : ": " + r.message) << "\n";
      }
      ++reported;
    }
  };
  while (next < cases.size() || !running.empty()) {
    while (next < cases.size() && static_cast<int>(running.size()) < std::max(1, opt.jobs)) {
      running.push_back(startCase(cases[next].second, next, opt));
      ++next;
    }
    Child child = running.front();
    running.erase(running.begin());
    results[child.index] =
        child.pid < 0 ? CaseResult{Outcome::kFail, "fork failed"} : finishCase(child, opt.timeoutSeconds);
    done[child.index] = true;
    report();
  }
  int passed = 0, failed = 0, skipped = 0;
  std::set<std::string> passing;
  for (size_t i = 0; i < cases.size(); ++i) {
    switch (results[i].outcome) {
      case Outcome::kPass:
        ++passed;
        passing.insert(cases[i].first);
        break;
      case Outcome::kFail:
        ++failed;
        break;
      case Outcome::kUnsupported:
        ++skipped;
        break;
    }
  }
  int exitCode = 0;
  if (!opt.writePassing.empty()) {
    std::ofstream out(opt.writePassing);
    out << "# Conformance cases expected to pass (written by `lowp conformance --write-passing`).\n"
           "# This list only shrinks with a reason in the commit that shrinks it.\n";
    for (const std::string& c : passing) out << c << "\n";
  }
  if (!opt.expectedFile.empty()) {
    std::ifstream in(opt.expectedFile);
    if (!in) {
      std::cerr << "lowp conformance: error: cannot read --expected file '" << opt.expectedFile << "'\n";
      return 2;
    }
    std::vector<std::string> regressions;
    std::set<std::string> ran;
    for (const auto& c : cases) ran.insert(c.first);
    for (std::string line; std::getline(in, line);) {
      if (line.empty() || line[0] == '#') continue;
      if (ran.count(line) && !passing.count(line)) regressions.push_back(line);
    }
    for (const std::string& r : regressions) std::cout << "REGRESSION " << r << " is expected to pass\n";
    if (!regressions.empty()) exitCode = 1;
  }
  std::cout << "conformance: " << passed << " passed, " << failed << " failed, " << skipped << " skipped\n";
  return exitCode;
}

}  // namespace

CommandRunner addConformanceCommand(CLI::App& app) {
  auto opt = std::make_shared<ConformanceOptions>();
  CLI::App* cmd = app.add_subcommand("conformance", "Run ONNX backend test cases and report each");
  cmd->add_option("dirs", opt->dirs, "folders of cases (e.g. onnx-backend-tests/node)")->required();
  cmd->add_option("--filter", opt->filter, "regular expression on '<suite>/<case>' to select cases");
  cmd->add_option("--expected", opt->expectedFile, "list of cases that must pass; exit 1 if one does not");
  cmd->add_option("--write-passing", opt->writePassing, "write the list of passing cases to this file");
  cmd->add_option("--rtol", opt->rtol, "relative tolerance for float outputs (default 1e-3)");
  cmd->add_option("--atol", opt->atol, "absolute tolerance for float outputs (default 1e-7)");
  cmd->add_option("--max-rel-l2", opt->maxRelL2,
                  "compare outputs by relative L2 error ||out - ref|| / ||ref|| with this bound instead");
  cmd->add_option("--timeout", opt->timeoutSeconds, "seconds allowed per case (default 120)");
  cmd->add_option("--jobs", opt->jobs, "cases run at once (default 2)");
  cmd->add_flag("--quiet", opt->quiet, "print only failures and the totals");
  cmd->add_flag("--build", opt->build,
                "build each model with the builder (timed tactics) on its first data set");
  cmd->add_flag("--fp16", opt->fp16, "build with fp16 allowed (implies --build)");
  cmd->add_flag("--bf16", opt->bf16, "build with bf16 allowed (implies --build)");
  cmd->add_flag(
      "--int8", opt->int8,
      "build with int8 allowed, scales from the builder's run on random normal inputs (implies --build)");
  cmd->add_option("--builderOptimizationLevel", opt->optimizationLevel, "0..5 (default 3)");
  cmd->add_option("--device", opt->device,
                  "cpu (default), or cuda, cuda:N or N: build each model for that GPU (implies --build); a "
                  "model with an op the GPU has no kernel for counts as unsupported");
  return [opt] { return runConformance(*opt); };
}

}  // namespace lowp::tools
