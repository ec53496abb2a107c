// Timing tactics on the device, and the timing cache that lets a later build skip the measurement.
//
// Protocol: the node's inputs are filled with random data of their real size (constant inputs keep their
// values), the kernel runs `warmupRuns` times untimed, then `timedRuns` times; the time is the median.
// The cache key holds everything the time depends on: the op and its attributes, the input and output
// types, shapes and formats, the kernel, and the device and library fingerprint. A cache file made on another
// device or by another lowp version is refused with an error that says so.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "ir/graph.h"
#include "kernels/kernel.h"
#include "lowp/status.h"

namespace lowp::builder {

struct TimingOptions {
  int warmupRuns = 2;
  int timedRuns = 5;
  /// When the second run (the first prepares: packs weights, picks algorithms) takes longer than this, its
  /// time is returned at once: a tactic that slow cannot win, and a slow reference kernel at a large batch
  /// would otherwise dominate the build.
  double abandonAboveMs = 1e30;
  /// When the second run takes longer than this, two warm-up runs and three timed runs are enough.
  double longRunMs = 20;
  /// When the timed runs would take less than this in all (judged by the second run), more are made, up to
  /// kMaxTimedRuns, so that a kernel of a few tens of microseconds is not ranked on five samples of a noisy
  /// machine. 0: off.
  double minTimedMs = 0;
  static constexpr int kMaxTimedRuns = 41;
  /// Timed runs shorter than this are repeated back to back and timed as a group (the time of one is the
  /// group's mean), so that a kernel of a few microseconds is not lost in the clock's resolution. 0: off.
  double minGroupMs = 0;
};

/// Times kernels on one device: the CPU with its thread pool, or a CUDA GPU (makeCudaTimer).
class TacticTimer {
 public:
  virtual ~TacticTimer() = default;
  /// The backend whose kernels it runs.
  virtual kernels::Backend backend() const = 0;
  /// The device and library fingerprint its times hold for (the timing cache's key).
  virtual const std::string& fingerprint() const = 0;
  /// The median time in milliseconds of `kernel` on `node`, as timeKernel() below, on this timer's device.
  virtual Result<double> time(const ir::Node& node, const kernels::KernelDef& kernel,
                              const TimingOptions& options,
                              const std::vector<const Tensor*>& inputValues) = 0;
};

/// The CPU timer: timeKernel() on `parallelFor`'s threads.
std::unique_ptr<TacticTimer> makeCpuTimer(kernels::ParallelFor parallelFor, std::string fingerprint);

/// A timer on CUDA device `ordinal`: inputs are uploaded once, each run is bracketed by CUDA events on the
/// device's stream. kUnsupported in a build without the CUDA backend or on a machine without a GPU.
Result<std::unique_ptr<TacticTimer>> makeCudaTimer(int ordinal);

/// The static shape of `v`, an input of `node` to time on; an error naming both where it is not static.
Result<std::vector<int64_t>> timingShape(const ir::Node& node, const ir::Value& v);

/// The timing protocol shared by the timers: `run(repeats)` runs the kernel `repeats` times and returns the
/// mean milliseconds of one run; warm-up runs, then the median of the timed ones.
Result<double> medianOfRuns(const ir::Node& node, const TimingOptions& options,
                            const std::function<Result<double>(int repeats)>& run);

/// Runs `kernel` for `node` (whose values carry inferred static shapes) and returns its median time in
/// milliseconds. `inputValues`, where given, holds per input slot the tensor to run on (nullptr: random
/// data, constants keep their values) — values that must be real, such as a Reshape's target shape.
/// Errors name the node: shapes not static, or the kernel failing.
Result<double> timeKernel(const ir::Node& node, const kernels::KernelDef& kernel,
                          const kernels::ParallelFor& parallelFor, const TimingOptions& options = {},
                          const std::vector<const Tensor*>& inputValues = {});

/// The cache key of (node, kernel): op, attributes, input/output types, shapes and formats, kernel name.
std::string timingKey(const ir::Node& node, const kernels::KernelDef& kernel);

/// Measured times by key, for one device fingerprint.
class TimingCache {
 public:
  explicit TimingCache(std::string fingerprint) : fingerprint_(std::move(fingerprint)) {}

  const std::string& fingerprint() const { return fingerprint_; }
  std::optional<double> find(const std::string& key) const;
  void insert(const std::string& key, double ms) { entries_[key] = ms; }
  size_t size() const { return entries_.size(); }

  /// Reads a cache file written by save(). Errors name the file: unreadable, corrupt, other format
  /// version, or made for another fingerprint.
  static Result<TimingCache> load(const std::string& path, const std::string& expectedFingerprint);
  Status save(const std::string& path) const;

 private:
  std::string fingerprint_;
  std::map<std::string, double> entries_;
};

}  // namespace lowp::builder
