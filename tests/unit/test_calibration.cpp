// INT8 calibration (src/quant/): the two-pass histogram, the four calibrators against the NumPy reference
// (calibration_reference.py, run on the same data), independence from batch order and size, and the
// TensorRT-format calibration cache.
#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include <unistd.h>

#include "quant/calibration_cache.h"
#include "quant/calibrator.h"
#include "quant/histogram.h"

namespace lowp::quant {
namespace {

namespace fs = std::filesystem;

// Histogram of `values` fed in batches of `batch` values (the last one shorter), in two passes.
AbsHistogram collect(const std::vector<float>& values, size_t batch) {
  AbsHistogramCollector collector("t");
  for (size_t i = 0; i < values.size(); i += batch) {
    const size_t n = std::min(batch, values.size() - i);
    EXPECT_TRUE(collector.observeRange(std::span(values).subspan(i, n)));
  }
  EXPECT_TRUE(collector.startHistogram());
  for (size_t i = 0; i < values.size(); i += batch) {
    const size_t n = std::min(batch, values.size() - i);
    EXPECT_TRUE(collector.observeValues(std::span(values).subspan(i, n)));
  }
  Result<AbsHistogram> histogram = collector.finish();
  EXPECT_TRUE(histogram) << histogram.status().toString();
  return histogram ? *histogram : AbsHistogram{};
}

// A ReLU output over a mostly blank image: 60% of the values are one of eight numbers (a convolution's
// output on the background, one per channel), the rest a gaussian spread; `withPointMasses` false keeps
// only the spread (and the zeros).
std::vector<float> blankBackgroundActivations(bool withPointMasses) {
  std::mt19937 rng(77);
  std::normal_distribution<float> gauss(0.0f, 1.5f);
  const float background[8] = {0.13f, 0.15f, 0.2f, 0.28f, 0.37f, 0.43f, 0.52f, 0.63f};
  std::vector<float> out;
  for (size_t i = 0; i < 40000; ++i) {
    const float spread = std::max(0.0f, gauss(rng));
    if (i % 5 < 3) {
      if (withPointMasses) out.push_back(background[i % 8]);
    } else {
      out.push_back(spread);
    }
  }
  return out;
}

// Test distributions: a zero-mean gaussian, a uniform one, a heavy-tailed one (Laplace with a few large
// outliers, where the calibrators disagree most), a ReLU output (half zeros, gaussian tail), and one with
// point masses (blankBackgroundActivations).
std::map<std::string, std::vector<float>> distributions() {
  std::mt19937 rng(1234);
  const size_t n = 40000;
  std::map<std::string, std::vector<float>> out;
  std::normal_distribution<float> gauss(0.0f, 1.5f);
  std::uniform_real_distribution<float> uniform(-3.0f, 3.0f);
  std::exponential_distribution<float> expo(2.0f);
  std::bernoulli_distribution coin(0.5);
  for (size_t i = 0; i < n; ++i) {
    out["gaussian"].push_back(gauss(rng));
    out["uniform"].push_back(uniform(rng));
    out["relu"].push_back(std::max(0.0f, gauss(rng)));
    const float laplace = expo(rng) * (coin(rng) ? 1.0f : -1.0f);
    out["heavy_tailed"].push_back(i % 997 == 0 ? laplace * 60.0f : laplace);
  }
  out["point_masses"] = blankBackgroundActivations(true);
  return out;
}

struct Reference {
  uint32_t amax = 0;
  std::vector<uint64_t> counts;
  std::map<std::string, uint32_t> amaxBits;  // minmax, entropy, percentile, mse
};

// Runs calibration_reference.py (beside this file) on `values`.
Reference runNumpyReference(const std::vector<float>& values, double percentile, const std::string& tag) {
  const fs::path script = fs::path(__FILE__).parent_path() / "calibration_reference.py";
  const fs::path dir = fs::temp_directory_path() / ("lowp_calibration_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const fs::path in = dir / (tag + ".f32");
  const fs::path out = dir / (tag + ".txt");
  {
    std::ofstream file(in, std::ios::binary);
    file.write(reinterpret_cast<const char*>(values.data()),
               static_cast<std::streamsize>(values.size() * sizeof(float)));
  }
  std::ostringstream command;
  command << "/usr/bin/python3 '" << script.string() << "' '" << in.string() << "' " << percentile << " '"
          << out.string() << "'";
  const int rc = std::system(command.str().c_str());
  EXPECT_EQ(rc, 0) << command.str() << " (needs /usr/bin/python3 with NumPy)";
  Reference ref;
  std::ifstream result(out);
  std::string key;
  while (result >> key) {
    if (key == "counts") {
      ref.counts.resize(kCalibrationBins);
      for (uint64_t& c : ref.counts) result >> c;
    } else {
      std::string hex;
      result >> hex;
      const auto bits = static_cast<uint32_t>(std::stoul(hex, nullptr, 16));
      if (key == "amax") ref.amax = bits;
      ref.amaxBits[key] = bits;
    }
  }
  fs::remove_all(dir);
  return ref;
}

uint32_t bitsOf(float v) {
  return std::bit_cast<uint32_t>(v);
}

// ---- Histogram ----

TEST(CalibrationHistogram, EdgesAndAmaxGoToTheRightBins) {
  // amax 2048: bin width 1, so |x| in [b, b+1) is bin b and |x| == amax is the last bin.
  const AbsHistogram h = collect({0.0f, 0.5f, -1.0f, 1.999f, 2047.5f, -2048.0f, 2048.0f}, 3);
  EXPECT_EQ(h.amax, 2048.0f);
  EXPECT_EQ(h.counts[0], 2u);
  EXPECT_EQ(h.counts[1], 2u);
  EXPECT_EQ(h.counts[2047], 3u);
  EXPECT_EQ(h.total(), 7u);
  EXPECT_EQ(h.upperEdge(0), 1.0);
  EXPECT_EQ(h.lowerEdge(2047), 2047.0);
}

TEST(CalibrationHistogram, IndependentOfBatchOrderAndBatchSize) {
  for (const auto& [name, values] : distributions()) {
    const AbsHistogram base = collect(values, 256);
    std::vector<float> shuffled = values;
    std::shuffle(shuffled.begin(), shuffled.end(), std::mt19937(99));
    for (size_t batch : {size_t{1}, size_t{37}, size_t{1000}, values.size()}) {
      const AbsHistogram other = collect(shuffled, batch);
      EXPECT_EQ(bitsOf(other.amax), bitsOf(base.amax)) << name << " batch " << batch;
      EXPECT_EQ(other.counts, base.counts) << name << " batch " << batch;
      for (CalibrationAlgorithm a : {CalibrationAlgorithm::kEntropy, CalibrationAlgorithm::kMinMax,
                                     CalibrationAlgorithm::kPercentile, CalibrationAlgorithm::kMse}) {
        const CalibrationOptions options{.algorithm = a};
        EXPECT_EQ(bitsOf(int8ScaleFromAmax(*computeCalibrationAmax(other, options, name))),
                  bitsOf(int8ScaleFromAmax(*computeCalibrationAmax(base, options, name))))
            << name << " " << calibrationAlgorithmName(a) << " batch " << batch;
      }
    }
  }
}

TEST(CalibrationHistogram, BadDataIsAnErrorNamingTheTensor) {
  AbsHistogramCollector nan("conv1_out");
  const std::vector<float> bad = {1.0f, std::nanf("")};
  const Status s = nan.observeRange(bad);
  EXPECT_FALSE(s);
  EXPECT_NE(s.message().find("conv1_out"), std::string::npos) << s.toString();
  EXPECT_EQ(s.node(), "conv1_out");

  AbsHistogramCollector changed("x");
  const std::vector<float> small = {1.0f, -0.5f};
  const std::vector<float> large = {3.0f};
  ASSERT_TRUE(changed.observeRange(small));
  EXPECT_FALSE(changed.observeValues(small));  // pass 2 before startHistogram()
  ASSERT_TRUE(changed.startHistogram());
  EXPECT_FALSE(changed.observeValues(large));  // outside the range pass's amax
  EXPECT_FALSE(changed.finish());              // counted 0 of 2 values
  ASSERT_TRUE(changed.observeValues(small));
  EXPECT_TRUE(changed.finish());

  AbsHistogramCollector empty("e");
  EXPECT_FALSE(empty.startHistogram());
}

// ---- Calibrators ----

TEST(Calibrators, MatchTheNumpyReferenceBitForBit) {
  // Every calibrator is compared bit for bit: both sides use double arithmetic with sums in bin order, and
  // the only transcendental (log, entropy only) is correctly rounded in glibc and NumPy for these arguments.
  const double percentile = 99.9;
  for (const auto& [name, values] : distributions()) {
    const AbsHistogram h = collect(values, 500);
    const Reference ref = runNumpyReference(values, percentile, name);
    ASSERT_EQ(ref.counts.size(), static_cast<size_t>(kCalibrationBins)) << name;
    EXPECT_EQ(bitsOf(h.amax), ref.amax) << name;
    EXPECT_EQ(h.counts, ref.counts) << name;
    EXPECT_EQ(bitsOf(computeMinMaxAmax(h)), ref.amaxBits.at("minmax")) << name;
    EXPECT_EQ(bitsOf(computeEntropyAmax(h)), ref.amaxBits.at("entropy"))
        << name << ": " << computeEntropyAmax(h) << " vs "
        << std::bit_cast<float>(ref.amaxBits.at("entropy"));
    EXPECT_EQ(bitsOf(*computePercentileAmax(h, percentile)), ref.amaxBits.at("percentile"))
        << name << ": " << *computePercentileAmax(h, percentile) << " vs "
        << std::bit_cast<float>(ref.amaxBits.at("percentile"));
    EXPECT_EQ(bitsOf(computeMseAmax(h)), ref.amaxBits.at("mse"))
        << name << ": " << computeMseAmax(h) << " vs " << std::bit_cast<float>(ref.amaxBits.at("mse"));
  }
}

TEST(Calibrators, ClipOutliersWhereMinMaxDoesNot) {
  const std::vector<float> values = distributions().at("heavy_tailed");
  const AbsHistogram h = collect(values, 4096);
  const float minmax = computeMinMaxAmax(h);
  EXPECT_LT(computeEntropyAmax(h), minmax / 4);
  EXPECT_LT(*computePercentileAmax(h, 99.0), minmax / 4);
  // The outliers are ~0.1% of the values but far out: clipping them costs more squared error than it saves.
  EXPECT_LT(computeMseAmax(h), minmax);
  EXPECT_GT(computeMseAmax(h), computeEntropyAmax(h));
  EXPECT_EQ(*computePercentileAmax(h, 100.0), minmax);
}

TEST(Calibrators, EntropyLooksThroughPointMasses) {
  const AbsHistogram spread = collect(blankBackgroundActivations(false), 4096);
  const AbsHistogram masses = collect(blankBackgroundActivations(true), 4096);
  ASSERT_EQ(spread.amax, masses.amax);
  // The threshold follows the spread, well above the largest point mass (0.63) that KL alone would keep.
  const float withMasses = computeEntropyAmax(masses);
  EXPECT_GT(withMasses, 0.5f * spread.amax);
  EXPECT_NEAR(withMasses, computeEntropyAmax(spread), 0.1f * spread.amax);
}

TEST(Calibrators, FlattenPointMassesOnAHandMadeHistogram) {
  std::vector<uint64_t> counts(kCalibrationBins, 0);
  for (int b = 0; b < 600; ++b) counts[b] = 1000 - b;  // a smooth ramp: nothing to flatten
  counts[0] = 90000;                                   // bin 0 is never a point mass
  EXPECT_EQ(flattenPointMasses(counts), counts);
  std::vector<uint64_t> spiked = counts;
  spiked[100] = 50000;   // a point mass: 50x its neighbours and ~9% of the values
  spiked[300] = 5000;    // below 8x its neighbours (~700): kept
  spiked[1000] = 250;    // 250x an empty neighbourhood but under 0.1% of the values: kept
  spiked[2047] = 60000;  // the last bin: its window is the 8 bins before it
  std::vector<uint64_t> expected = spiked;
  expected[100] = 899;  // the lower median of 892 .. 908 without 900
  expected[2047] = 0;
  EXPECT_EQ(flattenPointMasses(spiked), expected);
}

TEST(Calibrators, PercentileOnAHandMadeHistogram) {
  AbsHistogram h;
  h.amax = 2048.0f;  // bin width 1
  h.counts.assign(kCalibrationBins, 0);
  for (int b = 0; b < 10; ++b) h.counts[b] = 10;     // 100 values in bins 0..9
  EXPECT_EQ(*computePercentileAmax(h, 50.0), 5.0f);  // 50 values reached at the end of bin 4
  EXPECT_EQ(*computePercentileAmax(h, 50.5), 6.0f);
  EXPECT_EQ(*computePercentileAmax(h, 100.0), 10.0f);
  EXPECT_FALSE(computePercentileAmax(h, 0.0));
  EXPECT_FALSE(computePercentileAmax(h, 100.5));
  const Result<float> bad =
      computeCalibrationAmax(h, {.algorithm = CalibrationAlgorithm::kPercentile, .percentile = -1.0}, "act");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.status().node(), "act");
}

TEST(Calibrators, AllZeroTensorGivesZeroAmax) {
  const AbsHistogram h = collect(std::vector<float>(100, 0.0f), 7);
  EXPECT_EQ(h.counts[0], 100u);
  EXPECT_EQ(computeEntropyAmax(h), 0.0f);
  EXPECT_EQ(computeMseAmax(h), 0.0f);
  EXPECT_EQ(*computePercentileAmax(h, 99.99), 0.0f);
}

// ---- Calibration cache ----

TEST(CalibrationCache, RoundTripIsBitExact) {
  CalibrationCache cache;
  cache.version = "10003";
  cache.algorithm = CalibrationAlgorithm::kMse;
  cache.scales = {{"input", 0.0078125f},
                  {"/conv1/Conv_output_0", 1.0f / 3.0f},
                  {"(Unnamed Layer* 3) [Constant]_output", std::bit_cast<float>(0x00000001u)},  // subnormal
                  {"a:b", 0.0f},
                  {"big", 3.0e38f}};
  Result<std::string> text = formatCalibrationCache(cache);
  ASSERT_TRUE(text) << text.status().toString();
  EXPECT_EQ(text->substr(0, text->find('\n')), "TRT-10003-MSECalibration");
  EXPECT_NE(text->find("input: 3c000000\n"), std::string::npos) << *text;
  Result<CalibrationCache> back = parseCalibrationCache(*text, "mem");
  ASSERT_TRUE(back) << back.status().toString();
  EXPECT_EQ(back->version, "10003");
  EXPECT_EQ(back->algorithm, CalibrationAlgorithm::kMse);
  ASSERT_EQ(back->scales.size(), cache.scales.size());
  for (size_t i = 0; i < cache.scales.size(); ++i) {
    EXPECT_EQ(back->scales[i].first, cache.scales[i].first);
    EXPECT_EQ(bitsOf(back->scales[i].second), bitsOf(cache.scales[i].second)) << cache.scales[i].first;
  }

  const fs::path path = fs::temp_directory_path() / ("lowp_cache_" + std::to_string(::getpid()) + ".cache");
  for (CalibrationAlgorithm a : {CalibrationAlgorithm::kEntropy, CalibrationAlgorithm::kMinMax,
                                 CalibrationAlgorithm::kPercentile, CalibrationAlgorithm::kMse}) {
    cache.algorithm = a;
    ASSERT_TRUE(writeCalibrationCache(cache, path.string()));
    Result<CalibrationCache> file = readCalibrationCache(path.string());
    ASSERT_TRUE(file) << file.status().toString();
    EXPECT_EQ(file->algorithm, a);
    EXPECT_EQ(*formatCalibrationCache(*file), *formatCalibrationCache(cache));
  }
  fs::remove(path);
  EXPECT_FALSE(readCalibrationCache(path.string()));
}

TEST(CalibrationCache, ReadsAHandWrittenTensorRtCache) {
  Result<CalibrationCache> cache = parseCalibrationCache(
      "TRT-8601-EntropyCalibration2\ninput: 3c010a14\r\n\nconv_out: 3D8A2B1C\n", "calib.cache");
  ASSERT_TRUE(cache) << cache.status().toString();
  EXPECT_EQ(cache->version, "8601");
  EXPECT_EQ(cache->algorithm, CalibrationAlgorithm::kEntropy);
  ASSERT_EQ(cache->scales.size(), 2u);
  EXPECT_EQ(cache->scales[0].first, "input");
  EXPECT_EQ(bitsOf(cache->scales[0].second), 0x3c010a14u);
  EXPECT_NEAR(cache->scales[0].second, 0.00787594, 1e-8);  // about 1.0002 / 127
  EXPECT_EQ(bitsOf(cache->scales[1].second), 0x3d8a2b1cu);
}

TEST(CalibrationCache, ErrorsNameTheFileAndLine) {
  struct Case {
    std::string text;
    std::string expected;  // in the message
  };
  const std::vector<Case> cases = {
      {"", "c.cache:0: empty"},
      {"TRT-EntropyCalibration2\nx: 3c010a14\n", "c.cache:1: bad calibration cache header"},
      {"XYZ-8601-EntropyCalibration2\n", "c.cache:1: bad calibration cache header"},
      {"TRT-8601-FancyCalibration\n", "c.cache:1: unknown calibration algorithm 'FancyCalibration'"},
      {"TRT-8601-MinMaxCalibration\nx: 3c010a14\ny 3c010a14\n", "c.cache:3: expected"},
      {"TRT-8601-MinMaxCalibration\nx: 3c01g014\n", "c.cache:2: bad hex '3c01g014'"},
      {"TRT-8601-MinMaxCalibration\nx: 3c010a14f\n", "c.cache:2: bad hex"},
      {"TRT-8601-MinMaxCalibration\nx:\n", "c.cache:2: bad hex"},
      {"TRT-8601-MinMaxCalibration\nx: 3c010a14\n\nx: 3c010a15\n", "c.cache:4: duplicate tensor 'x'"},
      {"TRT-8601-MinMaxCalibration\nx: 7fc00000\n",
       "c.cache:2: not a finite non-negative float32: scale '7fc00000'"},  // NaN
      {"TRT-8601-MinMaxCalibration\nx: bf800000\n",
       "c.cache:2: not a finite non-negative float32: scale 'bf800000'"},  // -1
  };
  for (const Case& c : cases) {
    Result<CalibrationCache> cache = parseCalibrationCache(c.text, "c.cache");
    ASSERT_FALSE(cache) << c.text;
    EXPECT_NE(cache.status().message().find(c.expected), std::string::npos)
        << cache.status().message() << " lacks " << c.expected;
  }
  CalibrationCache twice;
  twice.scales = {{"x", 1.0f}, {"x", 2.0f}};
  EXPECT_FALSE(formatCalibrationCache(twice));
  CalibrationCache badName;
  badName.scales = {{"a\nb", 1.0f}};
  EXPECT_FALSE(formatCalibrationCache(badName));
  CalibrationCache badVersion;
  badVersion.version = "8.6";
  EXPECT_FALSE(formatCalibrationCache(badVersion));
}

}  // namespace
}  // namespace lowp::quant
