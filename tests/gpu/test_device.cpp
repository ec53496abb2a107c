// The CUDA device (runtime/cuda_device.h): fingerprint, memory, copies, events, errors that name the call.
#include <gtest/gtest.h>

#include <cstring>
#include <iostream>
#include <numeric>
#include <vector>

#include "gpu_test_util.h"

namespace lowp::testing {
namespace {

TEST(CudaDevice, FingerprintNamesTheGpuAndTheLibraries) {
  LOWP_REQUIRE_GPU();
  const runtime::CudaFingerprint& f = gpu()->fingerprint();
  EXPECT_FALSE(f.gpuName.empty());
  EXPECT_GE(f.smMajor, 7);
  EXPECT_GT(f.multiprocessors, 0);
  EXPECT_GE(f.cudnnVersion, 90000u);
  EXPECT_GT(f.cublasLtVersion, 0u);
  const std::string text = f.text();
  EXPECT_NE(text.find(f.gpuName), std::string::npos);
  EXPECT_NE(text.find("cuDNN 9."), std::string::npos) << text;
  EXPECT_EQ(gpu()->description().rfind("cuda: ", 0), 0u);
  std::cout << "device: " << text << "\n";
  const kernels::cuda::CudaContext& c = gpu()->kernelContext();
  EXPECT_NE(c.stream, nullptr);
  EXPECT_NE(c.cublasLt, nullptr);
  EXPECT_NE(c.cudnn, nullptr);
  EXPECT_NE(c.workspace, nullptr);
  EXPECT_EQ(c.computeCapability, f.smMajor * 10 + f.smMinor);
}

TEST(CudaDevice, CopiesRoundTripThroughDeviceAndPinnedMemory) {
  LOWP_REQUIRE_GPU();
  runtime::CudaDevice& d = *gpu();
  std::vector<int32_t> host(100003);
  std::iota(host.begin(), host.end(), -5);
  const size_t bytes = host.size() * sizeof(int32_t);
  std::shared_ptr<void> buffer = d.allocate(bytes);
  ASSERT_NE(buffer, nullptr);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(buffer.get()) % 256, 0u);
  d.copyToDevice(buffer.get(), host.data(), bytes);
  auto pinned = runtime::allocatePinned(bytes);
  ASSERT_TRUE(pinned.isOk()) << pinned.status().toString();
  std::memset(pinned->get(), 0, bytes);
  d.copyToHost(pinned->get(), buffer.get(), bytes);
  d.synchronize();
  ASSERT_TRUE(d.status().isOk()) << d.status().toString();
  EXPECT_EQ(std::memcmp(pinned->get(), host.data(), bytes), 0);
}

TEST(CudaDevice, EventsTimeWork) {
  LOWP_REQUIRE_GPU();
  runtime::CudaDevice& d = *gpu();
  auto start = runtime::CudaEvent::create();
  auto end = runtime::CudaEvent::create();
  ASSERT_TRUE(start.isOk() && end.isOk());
  const size_t bytes = size_t{64} << 20;
  auto a = d.allocateChecked(bytes);
  auto b = d.allocateChecked(bytes);
  ASSERT_TRUE(a.isOk() && b.isOk());
  ASSERT_TRUE(start->record(d.stream()).isOk());
  ASSERT_EQ(cudaMemcpyAsync(b->get(), a->get(), bytes, cudaMemcpyDeviceToDevice, d.stream()), cudaSuccess);
  ASSERT_TRUE(end->record(d.stream()).isOk());
  ASSERT_TRUE(end->synchronize().isOk());
  auto ms = end->elapsedSince(*start);
  ASSERT_TRUE(ms.isOk()) << ms.status().toString();
  EXPECT_GT(*ms, 0.0f);
}

TEST(CudaDevice, FailuresNameTheCall) {
  LOWP_REQUIRE_GPU();
  runtime::CudaDevice& d = *gpu();
  auto huge = d.allocateChecked(size_t{1} << 52);
  ASSERT_FALSE(huge.isOk());
  EXPECT_NE(huge.status().message().find("cudaMalloc"), std::string::npos) << huge.status().toString();
  // The failure does not leak into later checks.
  EXPECT_TRUE(d.sync().isOk());
  auto small = d.allocateChecked(16);
  ASSERT_TRUE(small.isOk());
}

}  // namespace
}  // namespace lowp::testing
