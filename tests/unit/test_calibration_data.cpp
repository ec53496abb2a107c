// Calibration batches from a folder (include/lowp/calibration.h): the preprocessing spec, the tensor-file
// layouts, image decoding and preprocessing checked against values computed by hand, and every error.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "lowp/calibration.h"
#include "lowp/tensor_io.h"
#include "onnx/onnx_pb.h"

#define STB_IMAGE_WRITE_IMPLEMENTATION
#define STB_IMAGE_WRITE_STATIC
#include <stb/stb_image_write.h>

namespace lowp {
namespace {
namespace fs = std::filesystem;

class TempDir {
 public:
  TempDir() {
    path_ = fs::temp_directory_path() /
            ("lowp_calibration_data_test_" + std::to_string(::getpid()) + "_" + std::to_string(counter_++));
    fs::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  std::string path() const { return path_.string(); }
  std::string file(const std::string& name) const {
    fs::create_directories((path_ / name).parent_path());
    return (path_ / name).string();
  }

 private:
  static inline int counter_ = 0;
  fs::path path_;
};

Tensor floatTensor(const std::vector<int64_t>& shape, float first) {
  Tensor t(DataType::kFloat32, shape);
  for (int64_t i = 0; i < t.elementCount(); ++i) t.data<float>()[i] = first + static_cast<float>(i);
  return t;
}

void writeTensorPb(const std::string& path, const Tensor& t) {
  ::onnx::TensorProto proto;
  proto.set_data_type(::onnx::TensorProto::FLOAT);
  for (int64_t d : t.shape()) proto.add_dims(d);
  for (int64_t i = 0; i < t.elementCount(); ++i) proto.add_float_data(t.data<float>()[i]);
  std::ofstream(path, std::ios::binary) << proto.SerializeAsString();
}

// Interleaved 8-bit pixels, `channels` per pixel, rows top to bottom.
void writePng(const std::string& path, int width, int height, int channels,
              const std::vector<uint8_t>& pixels) {
  ASSERT_EQ(pixels.size(), static_cast<size_t>(width * height * channels));
  ASSERT_NE(stbi_write_png(path.c_str(), width, height, channels, pixels.data(), width * channels), 0)
      << path;
}

// RGB pixels whose pixel i (row-major) is base + 10 * i + (0, 1, 2): distinct values for tests of shape only.
std::vector<uint8_t> rampPixels(int width, int height, int base) {
  std::vector<uint8_t> pixels;
  for (int i = 0; i < width * height; ++i) {
    for (int c = 0; c < 3; ++c) pixels.push_back(static_cast<uint8_t>(base + 10 * i + c));
  }
  return pixels;
}

std::unique_ptr<CalibrationSource> open(const std::string& folder,
                                        const std::vector<CalibrationInput>& inputs,
                                        const ImagePreprocessing* prep = nullptr) {
  auto source = openCalibrationFolder(folder, inputs, prep);
  EXPECT_TRUE(source.isOk()) << source.status().toString();
  return source.isOk() ? std::move(source).value() : nullptr;
}

Tensor onlyTensor(CalibrationSource& source, int64_t batch) {
  auto tensors = source.batch(batch);
  EXPECT_TRUE(tensors.isOk()) << tensors.status().toString();
  if (!tensors.isOk() || tensors->size() != 1) return {};
  return (*tensors)[0].tensor;
}

std::vector<float> values(const Tensor& t) {
  if (t.type() != DataType::kFloat32) return {};
  return {t.data<float>(), t.data<float>() + t.elementCount()};
}

// The error of opening `folder` (or of its batch 0 when opening succeeds); "" when both succeed.
std::string errorOf(const std::string& folder, const std::vector<CalibrationInput>& inputs,
                    const ImagePreprocessing* prep = nullptr) {
  auto source = openCalibrationFolder(folder, inputs, prep);
  if (!source.isOk()) return source.status().toString();
  auto batch = (*source)->batch(0);
  return batch.isOk() ? std::string() : batch.status().toString();
}

ImagePreprocessing plainPreprocessing() {
  ImagePreprocessing prep;
  prep.resize = 0;
  prep.crop = 0;
  prep.mean = {0.0f, 0.0f, 0.0f};
  prep.std = {1.0f, 1.0f, 1.0f};
  return prep;
}

// ---- preprocessing spec -----------------------------------------------------------------------------------

TEST(CalibrationData, ParsesPreprocessingSpec) {
  auto prep = parseImagePreprocessing("layout=NHWC, order=bgr,resize=320,crop=288,mean=0.5,std=0.1:0.2:0.3");
  ASSERT_TRUE(prep.isOk()) << prep.status().toString();
  EXPECT_EQ(prep->resize, 320);
  EXPECT_EQ(prep->crop, 288);
  EXPECT_EQ(prep->mean, (std::array<float, 3>{0.5f, 0.5f, 0.5f}));
  EXPECT_EQ(prep->std, (std::array<float, 3>{0.1f, 0.2f, 0.3f}));
  EXPECT_TRUE(prep->bgr);
  EXPECT_FALSE(prep->grayscale);
  EXPECT_TRUE(prep->nhwc);

  auto defaults = parseImagePreprocessing("");
  ASSERT_TRUE(defaults.isOk());
  EXPECT_EQ(defaults->resize, 256);
  EXPECT_EQ(defaults->crop, 224);
  EXPECT_FALSE(defaults->nhwc);
  auto gray = parseImagePreprocessing("order=gray,resize=0");
  ASSERT_TRUE(gray.isOk());
  EXPECT_TRUE(gray->grayscale);
  EXPECT_EQ(gray->resize, 0);
}

TEST(CalibrationData, PreprocessingSpecErrorsNameTheEntry) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"size=3", "unknown key 'size'"},
      {"resize=-1", "'resize=-1'"},
      {"crop=22x", "'crop=22x'"},
      {"mean=0.1:0.2", "three separated"},
      {"std=0.2:0:0.2", "std must be positive"},
      {"mean=abc", "'abc' is not a finite number"},
      {"order=rgba", "order must be rgb, bgr or gray"},
      {"layout=chw", "layout must be nchw or nhwc"},
      {"crop", "expected key=value"},
      {"crop=1,crop=2", "given twice"},
  };
  for (const auto& [spec, message] : cases) {
    auto prep = parseImagePreprocessing(spec);
    ASSERT_FALSE(prep.isOk()) << spec;
    EXPECT_EQ(prep.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(prep.status().message().find(message), std::string::npos) << prep.status().toString();
  }
}

// ---- tensor files -----------------------------------------------------------------------------------------

TEST(CalibrationData, TensorFilesOneInputInNameOrder) {
  TempDir dir;
  ASSERT_TRUE(writeNpy(dir.file("b.npy"), floatTensor({1, 3}, 10.0f)).isOk());
  ASSERT_TRUE(writeNpy(dir.file("a.npy"), floatTensor({2, 3}, 0.0f)).isOk());
  writeTensorPb(dir.file("c.pb"), floatTensor({1, 3}, 20.0f));
  std::ofstream(dir.file(".hidden"), std::ios::binary) << "skipped";

  auto source = open(dir.path(), {{"x", DataType::kFloat32, {4, 3}}});
  ASSERT_NE(source, nullptr);
  ASSERT_EQ(source->batchCount(), 3);
  auto first = source->batch(0);
  ASSERT_TRUE(first.isOk());
  ASSERT_EQ(first->size(), 1u);
  EXPECT_EQ((*first)[0].name, "x");
  EXPECT_EQ((*first)[0].tensor.shape(), (std::vector<int64_t>{2, 3}));  // the batch dimension may differ
  EXPECT_EQ(values((*first)[0].tensor), (std::vector<float>{0, 1, 2, 3, 4, 5}));
  EXPECT_EQ(values(onlyTensor(*source, 1)), (std::vector<float>{10, 11, 12}));
  EXPECT_EQ(values(onlyTensor(*source, 2)), (std::vector<float>{20, 21, 22}));
  // Asked again, a batch gives the same values (calibration reads every batch twice).
  EXPECT_EQ(values(onlyTensor(*source, 0)), (std::vector<float>{0, 1, 2, 3, 4, 5}));
  auto outside = source->batch(3);
  ASSERT_FALSE(outside.isOk());
  EXPECT_NE(outside.status().message().find("out of range"), std::string::npos);
}

TEST(CalibrationData, BatchFoldersForSeveralInputs) {
  TempDir dir;
  ASSERT_TRUE(writeNpy(dir.file("batch0/image.npy"), floatTensor({1, 2}, 0.0f)).isOk());
  writeTensorPb(dir.file("batch0/mask.pb"), floatTensor({1, 1}, 5.0f));
  ASSERT_TRUE(writeNpy(dir.file("batch1/image.npy"), floatTensor({1, 2}, 100.0f)).isOk());
  ASSERT_TRUE(writeNpy(dir.file("batch1/mask.npy"), floatTensor({1, 1}, 105.0f)).isOk());

  auto source =
      open(dir.path(), {{"mask", DataType::kFloat32, {1, 1}}, {"image", DataType::kFloat32, {1, 2}}});
  ASSERT_NE(source, nullptr);
  ASSERT_EQ(source->batchCount(), 2);
  auto second = source->batch(1);
  ASSERT_TRUE(second.isOk()) << second.status().toString();
  ASSERT_EQ(second->size(), 2u);
  EXPECT_EQ((*second)[0].name, "mask");  // in the order of the inputs given
  EXPECT_EQ(values((*second)[0].tensor), (std::vector<float>{105}));
  EXPECT_EQ((*second)[1].name, "image");
  EXPECT_EQ(values((*second)[1].tensor), (std::vector<float>{100, 101}));
}

TEST(CalibrationData, TensorFileErrorsNameTheFile) {
  const CalibrationInput input{"x", DataType::kFloat32, {1, 3}};
  {
    TempDir dir;
    Tensor ints(DataType::kInt64, {1, 3});
    ASSERT_TRUE(writeNpy(dir.file("a.npy"), ints).isOk());
    const std::string error = errorOf(dir.path(), {input});
    EXPECT_NE(error.find("a.npy: holds int64 data, input 'x' is fp32"), std::string::npos) << error;
  }
  {
    TempDir dir;
    ASSERT_TRUE(writeNpy(dir.file("a.npy"), floatTensor({1, 4}, 0.0f)).isOk());
    const std::string error = errorOf(dir.path(), {input});
    EXPECT_NE(error.find("a.npy: shape [1x4] does not fit input 'x' [1x3]"), std::string::npos) << error;
  }
  {
    TempDir dir;
    std::ofstream(dir.file("a.npy"), std::ios::binary) << "not numpy";
    const std::string error = errorOf(dir.path(), {input});
    EXPECT_NE(error.find("a.npy: not a .npy file"), std::string::npos) << error;
  }
  {
    TempDir dir;
    std::ofstream(dir.file("a.pb"), std::ios::binary) << "\xff\xff\xff";
    const std::string error = errorOf(dir.path(), {input});
    EXPECT_NE(error.find("a.pb: not a serialized ONNX TensorProto"), std::string::npos) << error;
  }
  {
    TempDir dir;  // files for one input, but the network has two
    ASSERT_TRUE(writeNpy(dir.file("a.npy"), floatTensor({1, 3}, 0.0f)).isOk());
    const std::string error = errorOf(dir.path(), {input, {"y", DataType::kFloat32, {1}}});
    EXPECT_NE(error.find("put each batch in a subfolder"), std::string::npos) << error;
  }
  {
    TempDir dir;
    ASSERT_TRUE(writeNpy(dir.file("0/x.npy"), floatTensor({1, 3}, 0.0f)).isOk());
    ASSERT_TRUE(writeNpy(dir.file("1/y.npy"), floatTensor({1, 3}, 0.0f)).isOk());
    const std::string error = errorOf(dir.path(), {input});
    EXPECT_NE(error.find("y.npy: not <input name>.npy or .pb for any network input"), std::string::npos)
        << error;
  }
  {
    TempDir dir;
    ASSERT_TRUE(writeNpy(dir.file("0/x.npy"), floatTensor({1, 3}, 0.0f)).isOk());
    fs::create_directories(fs::path(dir.path()) / "1");
    const std::string error = errorOf(dir.path(), {input});
    EXPECT_NE(error.find("1: no x.npy or x.pb for input 'x'"), std::string::npos) << error;
  }
  {
    TempDir dir;
    ASSERT_TRUE(writeNpy(dir.file("0/x.npy"), floatTensor({1, 3}, 0.0f)).isOk());
    writeTensorPb(dir.file("0/x.pb"), floatTensor({1, 3}, 0.0f));
    const std::string error = errorOf(dir.path(), {input});
    EXPECT_NE(error.find("x.pb: input 'x' also has x.npy"), std::string::npos) << error;
  }
  {
    TempDir dir;
    ASSERT_TRUE(writeNpy(dir.file("0/x.npy"), floatTensor({1, 3}, 0.0f)).isOk());
    ASSERT_TRUE(writeNpy(dir.file("loose.npy"), floatTensor({1, 3}, 0.0f)).isOk());
    const std::string error = errorOf(dir.path(), {input});
    EXPECT_NE(error.find("holds both files (loose.npy) and folders (0)"), std::string::npos) << error;
  }
}

// ---- folder-level errors ----------------------------------------------------------------------------------

TEST(CalibrationData, FolderErrors) {
  const CalibrationInput input{"x", DataType::kFloat32, {1, 3, 2, 2}};
  const ImagePreprocessing prep = plainPreprocessing();
  {
    TempDir dir;
    const std::string error = errorOf(dir.path(), {input}, &prep);
    EXPECT_NE(error.find(": no calibration data"), std::string::npos) << error;
  }
  {
    TempDir dir;
    const std::string error = errorOf(dir.path() + "/missing", {input}, &prep);
    EXPECT_NE(error.find("missing: no such folder"), std::string::npos) << error;
  }
  {
    TempDir dir;
    std::ofstream(dir.file("notes.txt")) << "x";
    const std::string error = errorOf(dir.path(), {input}, &prep);
    EXPECT_NE(error.find("notes.txt: unknown calibration file extension '.txt'"), std::string::npos) << error;
  }
  {
    TempDir dir;
    ASSERT_TRUE(writeNpy(dir.file("a.npy"), floatTensor({1, 3, 2, 2}, 0.0f)).isOk());
    writePng(dir.file("b.png"), 2, 2, 3, rampPixels(2, 2, 0));
    const std::string error = errorOf(dir.path(), {input}, &prep);
    EXPECT_NE(error.find("mixes tensor files (a.npy) and images (b.png)"), std::string::npos) << error;
  }
  {
    TempDir dir;
    const std::string error = errorOf(dir.path(), {}, &prep);
    EXPECT_NE(error.find("at least one network input"), std::string::npos) << error;
  }
}

// ---- images -----------------------------------------------------------------------------------------------

// A 2x2 RGB image, no resize or crop: every value is (byte / 255 - mean[c]) / std[c], written out by hand.
TEST(CalibrationData, ImageValuesByHand) {
  TempDir dir;
  // Pixels (r, g, b), row by row: (0, 51, 102), (153, 204, 255) / (255, 0, 51), (102, 153, 204).
  writePng(dir.file("one.png"), 2, 2, 3, {0, 51, 102, 153, 204, 255, 255, 0, 51, 102, 153, 204});
  ImagePreprocessing prep = plainPreprocessing();
  prep.mean = {0.5f, 0.25f, 0.0f};
  prep.std = {0.5f, 0.25f, 2.0f};
  auto source = open(dir.path(), {{"x", DataType::kFloat32, {1, 3, 2, 2}}}, &prep);
  ASSERT_NE(source, nullptr);
  ASSERT_EQ(source->batchCount(), 1);
  const std::vector<float> got = values(onlyTensor(*source, 0));
  // byte / 255: 0 -> 0, 51 -> 0.2, 102 -> 0.4, 153 -> 0.6, 204 -> 0.8, 255 -> 1.
  // R plane (0, 0.6, 1, 0.4): (v - 0.5) / 0.5 = -1, 0.2, 1, -0.2
  // G plane (0.2, 0.8, 0, 0.6): (v - 0.25) / 0.25 = -0.2, 2.2, -1, 1.4
  // B plane (0.4, 1, 0.2, 0.8): v / 2 = 0.2, 0.5, 0.1, 0.4
  const std::vector<float> want = {-1, 0.2f, 1, -0.2f, -0.2f, 2.2f, -1, 1.4f, 0.2f, 0.5f, 0.1f, 0.4f};
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) EXPECT_NEAR(got[i], want[i], 1e-6) << "element " << i;
}

TEST(CalibrationData, ImageChannelOrderAndLayout) {
  TempDir dir;
  writePng(dir.file("one.png"), 2, 1, 3, {0, 51, 102, 153, 204, 255});  // pixels (0, .2, .4), (.6, .8, 1)
  ImagePreprocessing prep = plainPreprocessing();
  {
    prep.bgr = true;  // NCHW, BGR: B plane, G plane, R plane
    auto source = open(dir.path(), {{"x", DataType::kFloat32, {1, 3, 1, 2}}}, &prep);
    ASSERT_NE(source, nullptr);
    const std::vector<float> got = values(onlyTensor(*source, 0));
    const std::vector<float> want = {0.4f, 1.0f, 0.2f, 0.8f, 0.0f, 0.6f};
    ASSERT_EQ(got.size(), want.size());
    for (size_t i = 0; i < want.size(); ++i) EXPECT_NEAR(got[i], want[i], 1e-6) << "BGR element " << i;
  }
  {
    prep.bgr = false;
    prep.nhwc = true;  // NHWC, RGB: pixel after pixel
    auto source = open(dir.path(), {{"x", DataType::kFloat32, {1, 1, 2, 3}}}, &prep);
    ASSERT_NE(source, nullptr);
    const std::vector<float> got = values(onlyTensor(*source, 0));
    const std::vector<float> want = {0.0f, 0.2f, 0.4f, 0.6f, 0.8f, 1.0f};
    ASSERT_EQ(got.size(), want.size());
    for (size_t i = 0; i < want.size(); ++i) EXPECT_NEAR(got[i], want[i], 1e-6) << "NHWC element " << i;
  }
  {
    prep.nhwc = false;
    prep.grayscale = true;  // 0.2989 R + 0.587 G + 0.114 B
    prep.mean[0] = 0.1f;
    prep.std[0] = 0.5f;
    auto source = open(dir.path(), {{"x", DataType::kFloat32, {1, 1, 1, 2}}}, &prep);
    ASSERT_NE(source, nullptr);
    const std::vector<float> got = values(onlyTensor(*source, 0));
    const float gray0 = 0.587f * 0.2f + 0.114f * 0.4f;
    const float gray1 = 0.2989f * 0.6f + 0.587f * 0.8f + 0.114f * 1.0f;
    ASSERT_EQ(got.size(), 2u);
    EXPECT_NEAR(got[0], (gray0 - 0.1f) / 0.5f, 1e-6);
    EXPECT_NEAR(got[1], (gray1 - 0.1f) / 0.5f, 1e-6);
  }
}

TEST(CalibrationData, GreyAndAlphaFiles) {
  TempDir dir;
  ImagePreprocessing prep = plainPreprocessing();
  // A grey file fills every RGB channel with its value; an alpha channel is dropped.
  writePng(dir.file("a_grey.png"), 2, 1, 1, {51, 255});
  writePng(dir.file("b_rgba.png"), 2, 1, 4, {0, 51, 102, 7, 153, 204, 255, 9});
  auto source = open(dir.path(), {{"x", DataType::kFloat32, {1, 3, 1, 2}}}, &prep);
  ASSERT_NE(source, nullptr);
  ASSERT_EQ(source->batchCount(), 2);
  const std::vector<float> grey = values(onlyTensor(*source, 0));
  const std::vector<float> wantGrey = {0.2f, 1, 0.2f, 1, 0.2f, 1};
  ASSERT_EQ(grey.size(), wantGrey.size());
  for (size_t i = 0; i < grey.size(); ++i) EXPECT_NEAR(grey[i], wantGrey[i], 1e-6) << "grey element " << i;
  const std::vector<float> rgba = values(onlyTensor(*source, 1));
  const std::vector<float> wantRgba = {0.0f, 0.6f, 0.2f, 0.8f, 0.4f, 1.0f};
  ASSERT_EQ(rgba.size(), wantRgba.size());
  for (size_t i = 0; i < rgba.size(); ++i) EXPECT_NEAR(rgba[i], wantRgba[i], 1e-6) << "RGBA element " << i;
}

// Upscaling a 2x1 image: the shorter side (1) becomes 4, the longer int(4 * 2 / 1) = 8; output column o reads
// source position (o + 0.5) / 4 - 0.5 clamped to [0, 1]; the centre crop of 4 starts at column (8 - 4) / 2
// = 2. Columns 2..5 sit at 0.125, 0.375, 0.625, 0.875 between the two pixels; every row is the same.
TEST(CalibrationData, ResizeIsBilinearWithHalfPixelCentres) {
  TempDir dir;
  writePng(dir.file("one.png"), 2, 1, 3, {0, 255, 0, 255, 0, 255});
  ImagePreprocessing prep = plainPreprocessing();
  prep.resize = 4;
  prep.crop = 4;
  auto source = open(dir.path(), {{"x", DataType::kFloat32, {1, 3, 4, 4}}}, &prep);
  ASSERT_NE(source, nullptr);
  const std::vector<float> got = values(onlyTensor(*source, 0));
  ASSERT_EQ(got.size(), 48u);
  const float ramp[4] = {0.125f, 0.375f, 0.625f, 0.875f};
  for (int c = 0; c < 3; ++c) {
    for (int y = 0; y < 4; ++y) {
      for (int x = 0; x < 4; ++x) {
        const float want = c == 1 ? 1.0f - ramp[x] : ramp[x];  // G falls from 255 to 0, R and B rise
        EXPECT_NEAR(got[static_cast<size_t>((c * 4 + y) * 4 + x)], want, 1e-6) << c << "," << y << "," << x;
      }
    }
  }
}

// Downscaling 4x4 to 2x2 by 2: output (y, x) reads source position 2 * (y, x) + 0.5, the mean of a 2x2 block.
TEST(CalibrationData, DownscaleAveragesBlocks) {
  TempDir dir;
  std::vector<uint8_t> pixels;
  for (int i = 0; i < 16; ++i)
    pixels.insert(pixels.end(), 3, static_cast<uint8_t>(i * 17));  // 0, 17, ..., 255
  writePng(dir.file("one.png"), 4, 4, 3, pixels);
  ImagePreprocessing prep = plainPreprocessing();
  prep.resize = 2;
  auto source = open(dir.path(), {{"x", DataType::kFloat32, {1, 3, 2, 2}}}, &prep);
  ASSERT_NE(source, nullptr);
  const std::vector<float> got = values(onlyTensor(*source, 0));
  ASSERT_EQ(got.size(), 12u);
  // Block means of the byte indices (0, 1, 4, 5) -> 2.5, (2, 3, 6, 7) -> 4.5, (8, 9, 12, 13) -> 10.5, 12.5.
  const float want[4] = {2.5f * 17 / 255, 4.5f * 17 / 255, 10.5f * 17 / 255, 12.5f * 17 / 255};
  for (size_t i = 0; i < 12; ++i) EXPECT_NEAR(got[i], want[i % 4], 1e-6) << "element " << i;
}

// torchvision's centre crop starts at int(round((size - crop) / 2)), Python's round being half to even:
// 5 -> 4 starts at round(0.5) = 0, 7 -> 4 at round(1.5) = 2.
TEST(CalibrationData, CentreCropRoundsHalfToEven) {
  for (const auto& [width, start] : std::vector<std::pair<int, int>>{{5, 0}, {7, 2}, {6, 1}}) {
    TempDir dir;
    std::vector<uint8_t> pixels;
    for (int y = 0; y < 4; ++y) {
      for (int x = 0; x < width; ++x) pixels.insert(pixels.end(), 3, static_cast<uint8_t>(x * 10));
    }
    writePng(dir.file("one.png"), width, 4, 3, pixels);
    ImagePreprocessing prep = plainPreprocessing();
    prep.crop = 4;
    auto source = open(dir.path(), {{"x", DataType::kFloat32, {1, 3, 4, 4}}}, &prep);
    ASSERT_NE(source, nullptr);
    const std::vector<float> got = values(onlyTensor(*source, 0));
    ASSERT_EQ(got.size(), 48u);
    for (int x = 0; x < 4; ++x) {
      EXPECT_NEAR(got[static_cast<size_t>(x)], (start + x) * 10 / 255.0f, 1e-6) << "width " << width;
    }
  }
}

// Batches of the input's batch size in byte order of the names; the short last batch is dropped.
TEST(CalibrationData, ImagesGroupIntoBatchesInNameOrder) {
  TempDir dir;
  const std::vector<std::pair<std::string, int>> files = {
      {"img2.png", 20}, {"img10.png", 100}, {"img1.png", 10}, {"img3.bmp", 30}, {"img4.png", 40}};
  for (const auto& [name, value] : files) {
    const std::vector<uint8_t> pixels(2 * 2 * 3, static_cast<uint8_t>(value));
    if (name.ends_with(".bmp")) {
      ASSERT_NE(stbi_write_bmp(dir.file(name).c_str(), 2, 2, 3, pixels.data()), 0);
    } else {
      writePng(dir.file(name), 2, 2, 3, pixels);
    }
  }
  ImagePreprocessing prep = plainPreprocessing();
  auto source = open(dir.path(), {{"x", DataType::kFloat32, {2, 3, 2, 2}}}, &prep);
  ASSERT_NE(source, nullptr);
  ASSERT_EQ(source->batchCount(), 2);  // 5 images, batches of 2
  // Name order: img1, img10, img2, img3, img4 (img4 is left over).
  const std::vector<std::vector<int>> want = {{10, 100}, {20, 30}};
  for (int64_t b = 0; b < 2; ++b) {
    const Tensor t = onlyTensor(*source, b);
    ASSERT_EQ(t.shape(), (std::vector<int64_t>{2, 3, 2, 2}));
    for (int64_t i = 0; i < t.elementCount(); ++i) {
      EXPECT_NEAR(t.data<float>()[i], want[static_cast<size_t>(b)][static_cast<size_t>(i / 12)] / 255.0f,
                  1e-6)
          << "batch " << b << " element " << i;
    }
  }
}

// Opening lists the folder only; each batch decodes its own images when asked (a folder of 50k images is
// never decoded at once), so a broken image fails its batch and no other.
TEST(CalibrationData, ImagesAreDecodedOnlyWhenTheirBatchIsRead) {
  TempDir dir;
  writePng(dir.file("a.png"), 2, 2, 3, rampPixels(2, 2, 0));
  std::ofstream(dir.file("b.png"), std::ios::binary) << "truncated";
  ImagePreprocessing prep = plainPreprocessing();
  auto source = open(dir.path(), {{"x", DataType::kFloat32, {1, 3, 2, 2}}}, &prep);
  ASSERT_NE(source, nullptr);
  ASSERT_EQ(source->batchCount(), 2);
  EXPECT_TRUE(source->batch(0).isOk());
  auto broken = source->batch(1);
  ASSERT_FALSE(broken.isOk());
  EXPECT_NE(broken.status().message().find("b.png: cannot decode image"), std::string::npos)
      << broken.status().toString();
}

TEST(CalibrationData, JpegDecodes) {
  TempDir dir;
  const std::vector<uint8_t> pixels(8 * 8 * 3, 128);
  ASSERT_NE(stbi_write_jpg(dir.file("flat.JPG").c_str(), 8, 8, 3, pixels.data(), 100), 0);
  ImagePreprocessing prep = plainPreprocessing();
  auto source = open(dir.path(), {{"x", DataType::kFloat32, {1, 3, 8, 8}}}, &prep);
  ASSERT_NE(source, nullptr);
  for (float v : values(onlyTensor(*source, 0))) EXPECT_NEAR(v, 128 / 255.0f, 1.5 / 255);  // lossy, flat
}

TEST(CalibrationData, ImageErrorsNameTheFileOrInput) {
  const CalibrationInput input{"x", DataType::kFloat32, {1, 3, 2, 2}};
  const ImagePreprocessing plain = plainPreprocessing();
  {
    TempDir dir;
    std::ofstream(dir.file("broken.png"), std::ios::binary) << "definitely not a png";
    const std::string error = errorOf(dir.path(), {input}, &plain);
    EXPECT_NE(error.find("broken.png: cannot decode image"), std::string::npos) << error;
  }
  {
    TempDir dir;
    writePng(dir.file("big.png"), 3, 2, 3, rampPixels(3, 2, 0));
    const std::string error = errorOf(dir.path(), {input}, &plain);
    EXPECT_NE(error.find("big.png: image (3x2) does not fit input 'x' [1x3x2x2]"), std::string::npos)
        << error;
  }
  TempDir dir;
  writePng(dir.file("a.png"), 2, 2, 3, rampPixels(2, 2, 0));
  {
    const std::string error = errorOf(dir.path(), {input}, nullptr);
    EXPECT_NE(error.find("holds images (a.png) but no image preprocessing"), std::string::npos) << error;
  }
  {
    ImagePreprocessing prep = plain;
    prep.crop = 4;
    const std::string error = errorOf(dir.path(), {{"x", DataType::kFloat32, {1, 3, 4, 4}}}, &prep);
    EXPECT_NE(error.find("a.png: image (2x2) is smaller than crop 4"), std::string::npos) << error;
    const std::string mismatch = errorOf(dir.path(), {input}, &prep);
    EXPECT_NE(mismatch.find("input 'x' [1x3x2x2] is 2x2, the images are cropped to 4x4"), std::string::npos)
        << mismatch;
  }
  {
    const std::string error = errorOf(dir.path(), {{"x", DataType::kFloat32, {2, 3, 2, 2}}}, &plain);
    EXPECT_NE(error.find("1 images, fewer than one batch of 2"), std::string::npos) << error;
  }
  {
    const std::string error = errorOf(dir.path(), {{"x", DataType::kFloat32, {1, 1, 2, 2}}}, &plain);
    EXPECT_NE(error.find("has 1 channels (layout NCHW), the images give 3"), std::string::npos) << error;
  }
  {
    const std::string error = errorOf(dir.path(), {{"x", DataType::kFloat16, {1, 3, 2, 2}}}, &plain);
    EXPECT_NE(error.find("is fp16; images give fp32 tensors"), std::string::npos) << error;
  }
  {
    const std::string error = errorOf(dir.path(), {{"x", DataType::kFloat32, {1, 3, 2}}}, &plain);
    EXPECT_NE(error.find("expected a fixed 4-d shape NCHW"), std::string::npos) << error;
  }
  {
    const std::string error = errorOf(dir.path(), {input, {"y", DataType::kFloat32, {1}}}, &plain);
    EXPECT_NE(error.find("this one has 2"), std::string::npos) << error;
  }
}

}  // namespace
}  // namespace lowp
