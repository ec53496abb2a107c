// conv_kernel_bench: how close lowp's 3x3 convolution comes to the arithmetic peak of this machine.
//
//   conv_kernel_bench [--batches 1,8] [--threads 1,2] [--precisions fp32,bf16,int8] [--seconds S] [--json]
//
// The convolution: x [N, 64, 56, 56] * w [64, 64, 3, 3], pad 1, stride 1, no bias (the 3x3 convolutions
// of ResNet-50's first residual stage), 2*N*K*C*H*W*9 operations (flops for fp32 and bf16, int8 multiplies
// and adds for int8; "gflops" in the JSON output counts them alike), on each of --batches and --threads.
// It is timed through the public API as a one-layer network made by hand and built with the Builder, so
// the kernel is the one the builder picks for that layer among the registry's tactics, as in a model:
//   fp32  no reduced-precision flag; input and output fp32.
//   bf16  kBF16, kObeyPrecisionConstraints and the layer's precision set to bf16; network input and output
//         declared bf16: the layer runs a bf16 kernel and no cast is timed with it.
//   int8  a strongly typed network as an explicitly quantized (Q/DQ) model has it: int8 input x ->
//         DequantizeLinear -> Conv (w: DequantizeLinear of int8 constant weights, one scale per output
//         channel) -> QuantizeLinear -> int8 output y; the builder's Q/DQ fusion makes the three one int8
//         layer (lowp.QuantizedConv, int8 in and out), the layer timed here. The tactic column shows what
//         ran; a layer that is not lowp.QuantizedConv means the fusion did not apply.
// Each configuration runs warm-up executions, then timed ones for about S seconds (at least 5); a Profiler
// gives the time of the convolution layer alone in every run (reformats or casts the builder may insert
// are reported apart, as is the whole execute()), and the median counts.
//
// The peak is measured, not taken from a data sheet: a loop of independent vfmadd231ps zmm (fp32: 16 lanes
// x 2 flops), vdpbf16ps zmm (bf16: 16 lanes x 2 products x 2 flops) or vpdpbusd zmm (int8, AVX-512 VNNI:
// 16 lanes x 4 u8 x s8 products x 2 operations) instructions on 24 accumulators, more
// than the FMA latency times the number of FMA pipes of any AVX-512 core, so the loop is bound by
// throughput alone. On a CPU with AMX, whose tile multiplies oneDNN runs bf16 and int8 convolutions on, the
// bf16 and int8 peaks are a loop of tdpbf16ps (16 x 16 fp32 sums of 32 bf16 products each) or tdpbusd
// (16 x 16 int32 sums of 64 u8 x s8 products each) on 4 independent accumulator tiles instead. Each loop
// runs on 1 and on T threads, each pinned to its own CPU of the process's affinity mask; the best of 200
// runs of 2 ms counts, measured before and after the convolutions. The fraction printed is the
// convolution's GFLOP/s over the peak of the same precision on the same number of threads.
#include <pthread.h>
#include <sched.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cpuid.h>
#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <map>
#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "lowp/builder.h"
#include "lowp/data_type.h"
#include "lowp/engine.h"
#include "lowp/tensor.h"

namespace {

constexpr int64_t kChannels = 64;
constexpr int64_t kSize = 56;
constexpr int64_t kKernel = 3;

struct Options {
  std::vector<int64_t> batches = {1, 8};
  std::vector<int64_t> threads = {1, 2};
  std::vector<std::string> precisions = {"fp32", "bf16", "int8"};
  double seconds = 2.0;
  bool json = false;
};

[[noreturn]] void usage(const std::string& error) {
  std::cerr << "conv_kernel_bench: " << error << "\n"
            << "usage: conv_kernel_bench [--batches 1,8] [--threads 1,2] [--precisions fp32,bf16,int8] "
               "[--seconds S] [--json]\n";
  std::exit(2);
}

std::vector<std::string> splitList(const std::string& text) {
  std::vector<std::string> items;
  std::stringstream stream(text);
  for (std::string item; std::getline(stream, item, ',');) items.push_back(item);
  return items;
}

std::vector<int64_t> parsePositiveList(const std::string& option, const std::string& text) {
  std::vector<int64_t> values;
  for (const std::string& item : splitList(text)) {
    size_t used = 0;
    long long value = 0;
    try {
      value = std::stoll(item, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used == 0 || used != item.size() || value < 1) {
      std::string message = "option ";
      message += option;
      message += ": not a list of positive integers: '";
      message += text;
      message += "'";
      usage(message);
    }
    values.push_back(value);
  }
  if (values.empty()) usage("option " + option + " needs at least one value");
  return values;
}

Options parseOptions(int argc, char** argv) {
  Options options;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) usage("option " + arg + " needs a value");
      return argv[++i];
    };
    if (arg == "--batches") {
      options.batches = parsePositiveList(arg, value());
    } else if (arg == "--threads") {
      options.threads = parsePositiveList(arg, value());
    } else if (arg == "--precisions") {
      options.precisions = splitList(value());
      for (const std::string& p : options.precisions) {
        if (p != "fp32" && p != "bf16" && p != "int8")
          usage("--precisions takes fp32, bf16 and/or int8, not '" + p + "'");
      }
    } else if (arg == "--seconds") {
      const std::string text = value();
      try {
        options.seconds = std::stod(text);
      } catch (const std::exception&) {
        usage("--seconds: not a number: '" + text + "'");
      }
      if (!(options.seconds > 0)) usage("--seconds must be positive");
    } else if (arg == "--json") {
      options.json = true;
    } else if (arg == "--help" || arg == "-h") {
      usage("help");
    } else {
      usage("unknown option '" + arg + "'");
    }
  }
  return options;
}

std::string jsonString(const std::string& text) {
  std::string out = "\"";
  for (const char c : text) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char buffer[8];
      std::snprintf(buffer, sizeof buffer, "\\u%04x", c);
      out += buffer;
    } else {
      out += c;
    }
  }
  return out + "\"";
}

std::string jsonNumber(double value) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.4f", value);
  return buffer;
}

double median(std::vector<double> values) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const size_t n = values.size();
  return n % 2 == 1 ? values[n / 2] : 0.5 * (values[n / 2 - 1] + values[n / 2]);
}

// ---------------------------------------------------------------------------------------------------------
// Peak: what the core's vector units can do, measured.

struct CpuSupport {
  bool avx512f = false;
  bool avx512bf16 = false;
  bool avx512vnni = false;
  bool amxBf16 = false;  ///< AMX tiles with bf16 multiplies, the tile state enabled for this process
  bool amxInt8 = false;  ///< the same with int8 multiplies
};

// cpuid says what the core has; XGETBV says whether the OS saves the AVX-512 state (opmask, ZMM0-15 upper
// halves, ZMM16-31), without which the instructions fault.
CpuSupport detectCpu() {
  CpuSupport support;
  unsigned eax = 0;
  unsigned ebx = 0;
  unsigned ecx = 0;
  unsigned edx = 0;
  if (__get_cpuid(1, &eax, &ebx, &ecx, &edx) == 0 || (ecx & (1U << 27)) == 0) return support;  // OSXSAVE
  unsigned xcr0Low = 0;
  unsigned xcr0High = 0;
  asm volatile("xgetbv" : "=a"(xcr0Low), "=d"(xcr0High) : "c"(0));
  constexpr unsigned kAvx512State = 0xE6;  // SSE, AVX, opmask, ZMM_Hi256, Hi16_ZMM
  if ((xcr0Low & kAvx512State) != kAvx512State) return support;
  if (__get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx) == 0) return support;
  support.avx512f = (ebx & (1U << 16)) != 0;
  support.avx512vnni = support.avx512f && (ecx & (1U << 11)) != 0;
  // AMX: TILE, BF16 and INT8 in leaf 7's EDX; XCR0 bits 17 and 18 (tile configuration and data), and on
  // Linux the process's permission to use the tile data, which the kernel grants on request.
  const bool amxTile = (edx & (1U << 24)) != 0;
  const bool amxBf16 = (edx & (1U << 22)) != 0;
  const bool amxInt8 = (edx & (1U << 25)) != 0;
  constexpr unsigned kTileState = (1U << 17) | (1U << 18);
  constexpr long kArchReqXcompPerm = 0x1023;  // arch_prctl: ARCH_REQ_XCOMP_PERM
  constexpr long kXfeatureXtileData = 18;
  const bool tiles = amxTile && (xcr0Low & kTileState) == kTileState &&
                     syscall(SYS_arch_prctl, kArchReqXcompPerm, kXfeatureXtileData) == 0;
  support.amxBf16 = tiles && amxBf16;
  support.amxInt8 = tiles && amxInt8;
  if (support.avx512f && __get_cpuid_count(7, 1, &eax, &ebx, &ecx, &edx) != 0) {
    support.avx512bf16 = (eax & (1U << 5)) != 0;
  }
  return support;
}

// 24 independent accumulators zmm0..zmm23; zmm30 and zmm31 hold the (finite, normal) multiplicands.
// clang-format off
#define LOWP_ACC24(OP) \
  OP(0) OP(1) OP(2) OP(3) OP(4) OP(5) OP(6) OP(7) OP(8) OP(9) OP(10) OP(11) \
  OP(12) OP(13) OP(14) OP(15) OP(16) OP(17) OP(18) OP(19) OP(20) OP(21) OP(22) OP(23)
// clang-format on
#define LOWP_ZERO(i) "vpxord %%zmm" #i ", %%zmm" #i ", %%zmm" #i "\n\t"
#define LOWP_FMA(i) "vfmadd231ps %%zmm30, %%zmm31, %%zmm" #i "\n\t"
#define LOWP_DPBF16(i) "vdpbf16ps %%zmm30, %%zmm31, %%zmm" #i "\n\t"
#define LOWP_DPBUSD(i) "vpdpbusd %%zmm30, %%zmm31, %%zmm" #i "\n\t"
#define LOWP_ZMM_CLOBBERS                                                                                    \
  "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11", "xmm12", \
      "xmm13", "xmm14", "xmm15", "xmm16", "xmm17", "xmm18", "xmm19", "xmm20", "xmm21", "xmm22", "xmm23",     \
      "xmm30", "xmm31"

constexpr int kInstructionsPerIteration = 24;
// Each peak is the best of kPeakRuns runs of about kPeakRunSeconds: short runs, so that some of them find the
// CPUs free when other processes share the machine, and of the length the convolutions are timed at (one
// execution: 0.2 to 15 ms). Runs of 0.2 s are preempted part of their time on a shared machine: measured on
// 2 shared AVX-512 cores at load 11, best of 10 runs of 0.2 s gave 116 GFLOP/s (vfmadd231ps) and 469 GOP/s
// (vpdpbusd) on one thread, best of 300 runs of 0.05 or 0.5 ms gave 288 and 1150 in the same minute, and
// the int8 convolution itself reached 700 GOP/s, above the long runs' "peak".
constexpr int kPeakRuns = 200;
constexpr double kPeakRunSeconds = 0.002;

__attribute__((target("avx512f"))) void fmaLoop(int64_t iterations) {
  const float a = 0.999F;
  const float b = 1e-6F;
  asm volatile(LOWP_ACC24(LOWP_ZERO)
               "vbroadcastss %[a], %%zmm30\n\t"
               "vbroadcastss %[b], %%zmm31\n\t"
               "1:\n\t" LOWP_ACC24(LOWP_FMA) "dec %[n]\n\t"
               "jnz 1b\n\t"
               : [n] "+r"(iterations)
               : [a] "m"(a), [b] "m"(b)
               : LOWP_ZMM_CLOBBERS, "cc");
}

// vdpbf16ps reads pairs of bf16 in each 32-bit lane; 0x3f80 is bf16 1.0, 0x3580 a small normal value.
__attribute__((target("avx512f,avx512bf16"))) void dpbf16Loop(int64_t iterations) {
  const uint32_t a = 0x3f803f80U;
  const uint32_t b = 0x35803580U;
  asm volatile(LOWP_ACC24(LOWP_ZERO)
               "vpbroadcastd %[a], %%zmm30\n\t"
               "vpbroadcastd %[b], %%zmm31\n\t"
               "1:\n\t" LOWP_ACC24(LOWP_DPBF16) "dec %[n]\n\t"
               "jnz 1b\n\t"
               : [n] "+r"(iterations)
               : [a] "m"(a), [b] "m"(b)
               : LOWP_ZMM_CLOBBERS, "cc");
}

// vpdpbusd multiplies unsigned bytes of its first source by signed bytes of its second and adds each group of
// four products to a 32-bit lane (no saturation: the non-"s" form wraps, which small values never reach).
__attribute__((target("avx512f,avx512vnni"))) void dpbusdLoop(int64_t iterations) {
  const uint32_t a = 0x01010101U;
  const uint32_t b = 0x01010101U;
  asm volatile(LOWP_ACC24(LOWP_ZERO)
               "vpbroadcastd %[a], %%zmm30\n\t"
               "vpbroadcastd %[b], %%zmm31\n\t"
               "1:\n\t" LOWP_ACC24(LOWP_DPBUSD) "dec %[n]\n\t"
               "jnz 1b\n\t"
               : [n] "+r"(iterations)
               : [a] "m"(a), [b] "m"(b)
               : LOWP_ZMM_CLOBBERS, "cc");
}

// Four accumulator tiles tmm0..tmm3 of 16 rows x 64 bytes, updated from two A tiles (tmm4, tmm5) and two B
// tiles (tmm6, tmm7) of the same size: four independent multiplies an iteration, enough to cover the tile
// multiply's latency at its throughput. The tiles hold small normal values.
struct alignas(64) TileConfig {
  uint8_t palette = 1;
  uint8_t startRow = 0;
  uint8_t reserved[14] = {};
  uint16_t bytesPerRow[16] = {64, 64, 64, 64, 64, 64, 64, 64};
  uint8_t rows[16] = {16, 16, 16, 16, 16, 16, 16, 16};
};
constexpr int kTileInstructionsPerIteration = 4;

// clang-format off
#define LOWP_TILE_LOOP(OP)                                                                                  \
  asm volatile("ldtilecfg %[cfg]\n\t"                                                                        \
               "tilezero %%tmm0\n\t" "tilezero %%tmm1\n\t" "tilezero %%tmm2\n\t" "tilezero %%tmm3\n\t"     \
               "tileloadd (%[data],%[stride],1), %%tmm4\n\t" "tileloadd (%[data],%[stride],1), %%tmm5\n\t"   \
               "tileloadd (%[data],%[stride],1), %%tmm6\n\t" "tileloadd (%[data],%[stride],1), %%tmm7\n\t"   \
               "1:\n\t"                                                                                       \
               OP " %%tmm6, %%tmm4, %%tmm0\n\t" OP " %%tmm7, %%tmm4, %%tmm1\n\t"                              \
               OP " %%tmm6, %%tmm5, %%tmm2\n\t" OP " %%tmm7, %%tmm5, %%tmm3\n\t"                              \
               "dec %[n]\n\t"                                                                                 \
               "jnz 1b\n\t"                                                                                   \
               "tilerelease\n\t"                                                                              \
               : [n] "+r"(iterations)                                                                         \
               : [cfg] "m"(config), [data] "r"(data.data()), [stride] "r"(int64_t{64})                             \
               : "cc", "memory")
// clang-format on

// One 16 x 64-byte tile of `word` in every 32-bit lane, the operand every multiply of a loop reads.
struct alignas(64) TileData {
  explicit TileData(uint32_t word) { words.fill(word); }
  std::array<uint32_t, 256> words{};
  const uint32_t* data() const { return words.data(); }
};

// bf16 pairs 0x3580 (a small normal value) in every 32-bit lane of every row.
void tileDpbf16Loop(int64_t iterations) {
  const TileConfig config;
  static const TileData data(0x35803580U);
  LOWP_TILE_LOOP("tdpbf16ps");
}

// Bytes of 1: u8 x s8 products of 1, summed in int32 without overflow at these iteration counts.
void tileDpbusdLoop(int64_t iterations) {
  const TileConfig config;
  static const TileData data(0x01010101U);
  LOWP_TILE_LOOP("tdpbusd");
}

struct PeakKind {
  std::string precision;  ///< "fp32", "bf16" or "int8": the convolutions it is the peak for.
  std::string instruction;
  double flopsPerInstruction = 0;
  void (*loop)(int64_t) = nullptr;
  int instructionsPerIteration = kInstructionsPerIteration;
};

// The CPUs this process may run on, in order.
std::vector<int> allowedCpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  std::vector<int> cpus;
  if (sched_getaffinity(0, sizeof set, &set) != 0) return cpus;
  for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
    if (CPU_ISSET(cpu, &set)) cpus.push_back(cpu);
  }
  return cpus;
}

void pinToCpu(int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  pthread_setaffinity_np(pthread_self(), sizeof set, &set);
}

// Runs `loop(iterations)` on `threads` threads, each pinned to its own allowed CPU, started together;
// returns the wall time until the last one ends, in seconds.
double runLoopOnThreads(void (*loop)(int64_t), int64_t iterations, int threads,
                        const std::vector<int>& cpus) {
  std::atomic<int> waiting{threads};
  std::atomic<bool> go{false};
  std::vector<std::thread> workers;
  workers.reserve(static_cast<size_t>(threads));
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      if (!cpus.empty()) pinToCpu(cpus[static_cast<size_t>(t) % cpus.size()]);
      waiting.fetch_sub(1);
      while (!go.load()) {
      }
      loop(iterations);
    });
  }
  while (waiting.load() != 0) {
  }
  const auto start = std::chrono::steady_clock::now();
  go.store(true);
  for (std::thread& w : workers) w.join();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// GFLOP/s of the best of `repeats` runs of about `seconds` each.
double measurePeak(const PeakKind& kind, int threads, const std::vector<int>& cpus, double seconds,
                   int repeats) {
  const int64_t probe = 100000;
  const double probeSeconds = runLoopOnThreads(kind.loop, probe, 1, cpus);
  const auto iterations = std::max<int64_t>(probe, static_cast<int64_t>(probe * seconds / probeSeconds));
  const double flops =
      static_cast<double>(iterations) * kind.instructionsPerIteration * kind.flopsPerInstruction;
  double best = 0;
  for (int r = 0; r < repeats; ++r) {
    const double wall = runLoopOnThreads(kind.loop, iterations, threads, cpus);
    best = std::max(best, flops * threads / wall / 1e9);
  }
  return best;
}

// ---------------------------------------------------------------------------------------------------------
// The convolution.

struct ConvResult {
  std::string precision;
  int64_t batch = 0;
  int64_t threads = 0;
  std::string error;
  std::string tactic;
  std::string layerPrecision;
  int otherLayers = 0;  ///< reformats / casts the builder added around the convolution
  double buildS = 0;
  int runs = 0;
  double convMs = 0;     ///< median time of the convolution layer
  double otherMs = 0;    ///< median time of the other layers together
  double executeMs = 0;  ///< median wall time of execute()
  double gflops = 0;     ///< of the convolution layer
};

// Collects the per-layer times of one execute(): the convolution's and the rest's.
class LayerTimes final : public lowp::Profiler {
 public:
  explicit LayerTimes(std::string convName) : convName_(std::move(convName)) {}
  void reportLayerTime(std::string_view layerName, float ms) override {
    (layerName == convName_ ? conv : other) += ms;
  }
  double conv = 0;
  double other = 0;

 private:
  std::string convName_;
};

uint16_t toBf16(float value) {
  uint32_t bits = 0;
  std::memcpy(&bits, &value, sizeof bits);
  bits += 0x7FFFU + ((bits >> 16) & 1U);  // round to nearest even (the values here are finite)
  return static_cast<uint16_t>(bits >> 16);
}

lowp::Tensor scalar(lowp::DataType type, double value) {
  lowp::Tensor t(type, {});
  if (type == lowp::DataType::kInt8) {
    t.data<int8_t>()[0] = static_cast<int8_t>(value);
  } else {
    t.data<float>()[0] = static_cast<float>(value);
  }
  return t;
}

// The int8 convolution as a Q/DQ model writes it (see the header comment): x int8 -> DequantizeLinear ->
// Conv with dequantized int8 weights (per output channel) -> QuantizeLinear -> y int8.
lowp::Result<std::shared_ptr<lowp::Engine>> buildInt8Conv(int64_t batch, int64_t threads,
                                                          lowp::Logger& logger) {
  std::mt19937 rng(1);
  std::uniform_int_distribution<int> weight(-127, 127);
  lowp::Tensor weights(lowp::DataType::kInt8, {kChannels, kChannels, kKernel, kKernel});
  for (int64_t i = 0; i < weights.elementCount(); ++i)
    weights.data<int8_t>()[i] = static_cast<int8_t>(weight(rng));
  lowp::Tensor weightScales(lowp::DataType::kFloat32, {kChannels});
  lowp::Tensor weightZeros(lowp::DataType::kInt8, {kChannels});
  for (int64_t m = 0; m < kChannels; ++m) {
    weightScales.data<float>()[m] = 1.0F / 127 / 24 * (1.0F + 0.01F * static_cast<float>(m));
    weightZeros.data<int8_t>()[m] = 0;
  }
  lowp::NetworkDefinition network;
  network.setStronglyTyped(true);
  LOWP_RETURN_IF_ERROR(network.addInput("x", lowp::DataType::kInt8, {batch, kChannels, kSize, kSize}));
  LOWP_RETURN_IF_ERROR(network.addConstant("x_scale", scalar(lowp::DataType::kFloat32, 1.0 / 127)));
  LOWP_RETURN_IF_ERROR(network.addConstant("x_zero", scalar(lowp::DataType::kInt8, 0)));
  LOWP_RETURN_IF_ERROR(network.addConstant("w", weights));
  LOWP_RETURN_IF_ERROR(network.addConstant("w_scales", weightScales));
  LOWP_RETURN_IF_ERROR(network.addConstant("w_zeros", weightZeros));
  LOWP_RETURN_IF_ERROR(network.addConstant("y_scale", scalar(lowp::DataType::kFloat32, 4.0 / 127)));
  LOWP_RETURN_IF_ERROR(network.addConstant("y_zero", scalar(lowp::DataType::kInt8, 0)));
  LOWP_RETURN_IF_ERROR(
      network.addLayer("DequantizeLinear", "x_dq", {"x", "x_scale", "x_zero"}, {"x_real"}).status());
  LOWP_RETURN_IF_ERROR(network
                           .addLayer("DequantizeLinear", "w_dq", {"w", "w_scales", "w_zeros"}, {"w_real"},
                                     {{"axis", int64_t{0}}})
                           .status());
  LOWP_RETURN_IF_ERROR(network
                           .addLayer("Conv", "conv", {"x_real", "w_real"}, {"y_real"},
                                     {{"kernel_shape", std::vector<int64_t>{kKernel, kKernel}},
                                      {"pads", std::vector<int64_t>{1, 1, 1, 1}},
                                      {"strides", std::vector<int64_t>{1, 1}}})
                           .status());
  LOWP_RETURN_IF_ERROR(
      network.addLayer("QuantizeLinear", "y_q", {"y_real", "y_scale", "y_zero"}, {"y"}).status());
  LOWP_RETURN_IF_ERROR(network.markOutput("y"));
  lowp::BuilderConfig config;
  config.setShape("x", {batch, kChannels, kSize, kSize});
  config.setThreads(static_cast<int>(threads));
  return lowp::Builder(logger).build(network, config);
}

lowp::Result<std::shared_ptr<lowp::Engine>> buildConv(const std::string& precision, int64_t batch,
                                                      int64_t threads, lowp::Logger& logger) {
  if (precision == "int8") return buildInt8Conv(batch, threads, logger);
  std::mt19937 rng(1);
  std::uniform_real_distribution<float> uniform(-1.0F, 1.0F);
  lowp::Tensor weights(lowp::DataType::kFloat32, {kChannels, kChannels, kKernel, kKernel});
  for (int64_t i = 0; i < weights.elementCount(); ++i) weights.data<float>()[i] = uniform(rng) / 24.0F;

  lowp::NetworkDefinition network;
  LOWP_RETURN_IF_ERROR(network.addInput("x", lowp::DataType::kFloat32, {batch, kChannels, kSize, kSize}));
  LOWP_RETURN_IF_ERROR(network.addConstant("w", weights));
  LOWP_ASSIGN_OR_RETURN(lowp::Layer * conv,
                        network.addLayer("Conv", "conv", {"x", "w"}, {"y"},
                                         {{"kernel_shape", std::vector<int64_t>{kKernel, kKernel}},
                                          {"pads", std::vector<int64_t>{1, 1, 1, 1}},
                                          {"strides", std::vector<int64_t>{1, 1}}}));
  LOWP_RETURN_IF_ERROR(network.markOutput("y"));

  lowp::BuilderConfig config;
  config.setShape("x", {batch, kChannels, kSize, kSize});
  config.setThreads(static_cast<int>(threads));
  if (precision == "bf16") {
    config.setFlag(lowp::BuilderFlag::kBF16);
    config.setFlag(lowp::BuilderFlag::kObeyPrecisionConstraints);
    conv->setPrecision(lowp::DataType::kBFloat16);
    LOWP_RETURN_IF_ERROR(network.setInputType("x", lowp::DataType::kBFloat16));
    LOWP_RETURN_IF_ERROR(network.setOutputType("y", lowp::DataType::kBFloat16));
  }
  return lowp::Builder(logger).build(network, config);
}

lowp::Tensor makeInput(const lowp::TensorDesc& desc, int64_t batch) {
  std::vector<int64_t> shape = desc.shape;
  if (!shape.empty() && shape[0] < 0) shape[0] = batch;
  lowp::Tensor x(desc.type, shape);
  std::mt19937 rng(2);
  std::uniform_real_distribution<float> uniform(-1.0F, 1.0F);
  std::uniform_int_distribution<int> byte(-127, 127);
  for (int64_t i = 0; i < x.elementCount(); ++i) {
    if (desc.type == lowp::DataType::kInt8) {
      x.data<int8_t>()[i] = static_cast<int8_t>(byte(rng));
    } else if (desc.type == lowp::DataType::kBFloat16) {
      x.data<uint16_t>()[i] = toBf16(uniform(rng));
    } else {
      x.data<float>()[i] = uniform(rng);
    }
  }
  return x;
}

ConvResult benchConv(const std::string& precision, int64_t batch, int64_t threads, double seconds) {
  ConvResult result;
  result.precision = precision;
  result.batch = batch;
  result.threads = threads;
  lowp::StderrLogger logger(lowp::Severity::kWarning);
  const auto buildStart = std::chrono::steady_clock::now();
  auto engine = buildConv(precision, batch, threads, logger);
  result.buildS = std::chrono::duration<double>(std::chrono::steady_clock::now() - buildStart).count();
  if (!engine) {
    result.error = engine.status().toString();
    return result;
  }
  // The convolution's layer: "conv" itself, or the layer it was fused into.
  std::string convLayer = "conv";
  for (const lowp::LayerInfo& layer : (*engine)->layers()) {
    if (layer.name == "conv" || std::find(layer.absorbedNames.begin(), layer.absorbedNames.end(), "conv") !=
                                    layer.absorbedNames.end()) {
      convLayer = layer.name;
      result.tactic = layer.tactic;
      result.layerPrecision = std::string(lowp::dataTypeName(layer.precision));
    } else {
      ++result.otherLayers;
    }
  }

  std::vector<lowp::NamedTensor> inputs;
  inputs.push_back({"x", makeInput((*engine)->inputs().at(0), batch)});
  std::unique_ptr<lowp::ExecutionContext> context = (*engine)->createExecutionContext();
  LayerTimes layerTimes(convLayer);
  context->setProfiler(&layerTimes);
  std::vector<lowp::NamedTensor> outputs;
  std::vector<double> conv;
  std::vector<double> other;
  std::vector<double> execute;
  constexpr int kWarmup = 3;
  constexpr int kMinRuns = 5;
  const auto timedStart = std::chrono::steady_clock::now();
  for (int run = 0;; ++run) {
    if (run >= kWarmup + kMinRuns &&
        std::chrono::duration<double>(std::chrono::steady_clock::now() - timedStart).count() > seconds) {
      break;
    }
    layerTimes.conv = 0;
    layerTimes.other = 0;
    outputs.clear();
    const auto start = std::chrono::steady_clock::now();
    if (lowp::Status status = context->execute(inputs, outputs); !status) {
      result.error = status.toString();
      return result;
    }
    const double ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    if (run < kWarmup) continue;
    conv.push_back(layerTimes.conv);
    other.push_back(layerTimes.other);
    execute.push_back(ms);
  }
  result.runs = static_cast<int>(conv.size());
  result.convMs = median(conv);
  result.otherMs = median(other);
  result.executeMs = median(execute);
  const double flops =
      2.0 * static_cast<double>(batch) * kChannels * kChannels * kSize * kSize * kKernel * kKernel;
  result.gflops = result.convMs > 0 ? flops / (result.convMs * 1e6) : 0;
  return result;
}

}  // namespace

int main(int argc, char** argv) {
  const Options options = parseOptions(argc, argv);
  const CpuSupport cpu = detectCpu();
  const std::vector<int> cpus = allowedCpus();

  // Peaks, keyed by (precision, threads); absent where the CPU lacks the instruction.
  std::vector<PeakKind> kinds;
  if (cpu.avx512f) kinds.push_back({"fp32", "vfmadd231ps zmm", 32, fmaLoop});
  // 16 x 16 sums of 32 bf16 (64 int8) products, two operations each, per tile multiply.
  if (cpu.amxBf16) {
    kinds.push_back(
        {"bf16", "tdpbf16ps tmm", 16 * 16 * 32 * 2, tileDpbf16Loop, kTileInstructionsPerIteration});
  } else if (cpu.avx512bf16) {
    kinds.push_back({"bf16", "vdpbf16ps zmm", 64, dpbf16Loop});
  }
  if (cpu.amxInt8) {
    kinds.push_back({"int8", "tdpbusd tmm", 16 * 16 * 64 * 2, tileDpbusdLoop, kTileInstructionsPerIteration});
  } else if (cpu.avx512vnni) {
    kinds.push_back({"int8", "vpdpbusd zmm", 128, dpbusdLoop});
  }
  std::map<std::pair<std::string, int64_t>, double> peaks;
  std::vector<int64_t> peakThreads = options.threads;
  if (std::find(peakThreads.begin(), peakThreads.end(), 1) == peakThreads.end())
    peakThreads.insert(peakThreads.begin(), 1);
  // Measured before and after the convolutions, the higher counting: other load lowers a measured peak and
  // would raise the fractions above what the kernel achieves.
  auto measurePeaks = [&](const char* when) {
    for (const PeakKind& kind : kinds) {
      for (int64_t t : peakThreads) {
        const double gflops = measurePeak(kind, static_cast<int>(t), cpus, kPeakRunSeconds, kPeakRuns);
        double& peak = peaks[{kind.precision, t}];
        peak = std::max(peak, gflops);
        std::cerr << "conv_kernel_bench: peak " << kind.instruction << " on " << t << " thread(s), " << when
                  << ": " << jsonNumber(gflops) << " GFLOP/s\n";
      }
    }
  };
  measurePeaks("before");

  std::vector<ConvResult> results;
  for (const std::string& precision : options.precisions) {
    for (int64_t batch : options.batches) {
      for (int64_t threads : options.threads) {
        results.push_back(benchConv(precision, batch, threads, options.seconds));
        const ConvResult& r = results.back();
        std::cerr << "conv_kernel_bench: " << precision << " batch " << batch << " threads " << threads
                  << ": "
                  << (r.error.empty()
                          ? jsonNumber(r.convMs) + " ms, " + jsonNumber(r.gflops) + " GFLOP/s, " + r.tactic
                          : "failed: " + r.error)
                  << "\n";
      }
    }
  }

  measurePeaks("after");

  auto peakOf = [&](const std::string& precision, int64_t threads) {
    auto it = peaks.find({precision, threads});
    return it == peaks.end() ? 0.0 : it->second;
  };

  if (options.json) {
    std::cout << "{\"conv\":{\"n_k_c_h_w\":[\"N\"," << kChannels << "," << kChannels << "," << kSize << ","
              << kSize << "],\"kernel\":[3,3],\"pads\":[1,1,1,1],\"strides\":[1,1],"
              << "\"timed_through\":\"one-layer network built with lowp::Builder\"},\"cpus_allowed\":"
              << cpus.size() << ",\"peaks\":[";
    bool first = true;
    for (const PeakKind& kind : kinds) {
      for (int64_t t : peakThreads) {
        std::cout << (first ? "" : ",") << "{\"precision\":" << jsonString(kind.precision)
                  << ",\"instruction\":" << jsonString(kind.instruction) << ",\"threads\":" << t
                  << ",\"gflops\":" << jsonNumber(peakOf(kind.precision, t)) << "}";
        first = false;
      }
    }
    std::cout << "],\"results\":[";
    for (size_t i = 0; i < results.size(); ++i) {
      const ConvResult& r = results[i];
      const double peak = peakOf(r.precision, r.threads);
      std::cout << (i == 0 ? "" : ",") << "{\"precision\":" << jsonString(r.precision)
                << ",\"batch\":" << r.batch << ",\"threads\":" << r.threads;
      if (!r.error.empty()) {
        std::cout << ",\"error\":" << jsonString(r.error) << "}";
        continue;
      }
      std::cout << ",\"tactic\":" << jsonString(r.tactic)
                << ",\"layer_precision\":" << jsonString(r.layerPrecision)
                << ",\"other_layers\":" << r.otherLayers << ",\"build_s\":" << jsonNumber(r.buildS)
                << ",\"runs\":" << r.runs << ",\"conv_ms\":" << jsonNumber(r.convMs)
                << ",\"other_ms\":" << jsonNumber(r.otherMs) << ",\"execute_ms\":" << jsonNumber(r.executeMs)
                << ",\"gflops\":" << jsonNumber(r.gflops) << ",\"peak_gflops\":" << jsonNumber(peak)
                << ",\"fraction_of_peak\":" << (peak > 0 ? jsonNumber(r.gflops / peak) : "null") << "}";
    }
    std::cout << "]}" << std::endl;
  } else {
    std::printf("peak (best of %d runs of a loop of independent instructions):\n", kPeakRuns);
    if (kinds.empty())
      std::printf("  no AVX-512 on this CPU (or the OS does not enable it): no peak measured\n");
    for (const PeakKind& kind : kinds) {
      for (int64_t t : peakThreads) {
        std::printf("  %-16s %lld thread(s): %8.1f GFLOP/s\n", kind.instruction.c_str(),
                    static_cast<long long>(t), peakOf(kind.precision, t));
      }
    }
    std::printf("\nconv 3x3, 64->64 channels, 56x56, pad 1, stride 1 (one-layer network, lowp::Builder)\n");
    std::printf("%-5s %5s %7s  %-26s %9s %9s %9s %9s\n", "prec", "batch", "threads", "tactic", "conv ms",
                "GFLOP/s", "peak", "fraction");
    for (const ConvResult& r : results) {
      if (!r.error.empty()) {
        std::printf("%-5s %5lld %7lld  failed: %s\n", r.precision.c_str(), static_cast<long long>(r.batch),
                    static_cast<long long>(r.threads), r.error.c_str());
        continue;
      }
      const double peak = peakOf(r.precision, r.threads);
      std::printf("%-5s %5lld %7lld  %-26s %9.3f %9.1f %9.1f %8.1f%%\n", r.precision.c_str(),
                  static_cast<long long>(r.batch), static_cast<long long>(r.threads), r.tactic.c_str(),
                  r.convMs, r.gflops, peak, peak > 0 ? 100 * r.gflops / peak : 0.0);
    }
  }
  for (const ConvResult& r : results) {
    if (r.error.empty() && peakOf(r.precision, r.threads) > 0 && r.gflops > peakOf(r.precision, r.threads)) {
      std::cerr << "conv_kernel_bench: warning: " << r.precision << " batch " << r.batch << " on "
                << r.threads
                << " thread(s) ran above the measured peak: other processes disturbed the peak measurement; "
                   "rerun on a quiet machine\n";
    }
  }
  for (const ConvResult& r : results) {
    if (!r.error.empty()) return 1;
  }
  return 0;
}
