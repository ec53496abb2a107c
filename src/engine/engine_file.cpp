// Engine files: the header, the checksum, and the public Engine entry points (serialize, deserialize,
// saveToFile, fromEngineFile).
#include "engine/engine_file.h"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <tuple>

#include "engine/codec.h"
#include "engine/crc32c.h"
#include "engine/file_layout.h"

namespace lowp {
namespace engine {
namespace {

uint32_t readLe32(const uint8_t* p) {
  return static_cast<uint32_t>(p[0]) | static_cast<uint32_t>(p[1]) << 8 | static_cast<uint32_t>(p[2]) << 16 |
         static_cast<uint32_t>(p[3]) << 24;
}

// The root table's first field, the lowp version, as every format keeps it: enough to name the maker
// of a file in another format.
struct MakerOnly : flatbuffers::Table {
  static constexpr flatbuffers::voffset_t kVersionField = 4;
  const flatbuffers::String* version() const { return GetPointer<const flatbuffers::String*>(kVersionField); }
  // FlatBuffers' Verifier calls this name.
  bool Verify(flatbuffers::Verifier& verifier) const {  // NOLINT(readability-identifier-naming)
    return VerifyTableStart(verifier) && VerifyOffset(verifier, kVersionField) &&
           verifier.VerifyString(version()) && verifier.EndTable();
  }
};

std::string makerOf(std::span<const uint8_t> flatbuffer) {
  flatbuffers::Verifier verifier(flatbuffer.data(), flatbuffer.size());
  if (!verifier.VerifyBuffer<MakerOnly>(nullptr)) return "an unknown version";
  const auto* root = flatbuffers::GetRoot<MakerOnly>(flatbuffer.data());
  return root->version() == nullptr ? "an unknown version" : root->version()->str();
}

}  // namespace

Result<VerifiedFile> VerifiedFile::open(std::span<const uint8_t> file) {
  if (file.size() < sizeof(kMagic) || std::memcmp(file.data(), kMagic, sizeof(kMagic)) != 0) {
    return corrupt("not a lowp engine file (it does not start with \"LOWPENGN\")");
  }
  if (file.size() < kHeaderBytes) {
    return corrupt("truncated: " + std::to_string(file.size()) + " bytes, less than the " +
                   std::to_string(kHeaderBytes) + "-byte header");
  }
  const uint32_t format = readLe32(file.data() + 8);
  const uint32_t size = readLe32(file.data() + 12);
  const auto available = file.size() - kHeaderBytes;
  if (format != kFormatVersion) {
    auto flatbuffer = file.subspan(kHeaderBytes, std::min<size_t>(size, available));
    return corrupt("made by lowp " + makerOf(flatbuffer) + ", format " + std::to_string(format) +
                   "; this lowp (" + LOWP_VERSION + ") reads format " + std::to_string(kFormatVersion) +
                   " — rebuild the engine");
  }
  if (size != available) {
    return corrupt(size > available ? "truncated: the header announces " + std::to_string(size) +
                                          " bytes of engine, the file holds " + std::to_string(available)
                                    : "has " + std::to_string(available - size) +
                                          " bytes past the end of the engine the header announces");
  }
  VerifiedFile opened;
  opened.external_ = file;
  if (reinterpret_cast<uintptr_t>(file.data()) % alignof(uint64_t) != 0) {
    opened.alignedCopy_.assign(file.begin(), file.end());
  }
  const uint8_t* flatbuffer = opened.bytes().data() + kHeaderBytes;
  // Every table takes at least 4 bytes, so the size bounds how many there can be.
  flatbuffers::Verifier verifier(flatbuffer, size, 64, std::max<uint32_t>(size / 4, 1));
  if (!fb::VerifyEngineFileBuffer(verifier)) {
    return corrupt("corrupt: the engine's FlatBuffer does not verify (damaged or truncated)");
  }
  const uint8_t* field =
      reinterpret_cast<const flatbuffers::Table&>(opened.root()).GetAddressOf(fb::EngineFile::VT_CHECKSUM);
  if (field == nullptr) return corrupt("corrupt: the checksum is missing");
  opened.checksumOffset_ = static_cast<size_t>(field - opened.bytes().data());
  return opened;
}

const fb::EngineFile& VerifiedFile::root() const {
  return *fb::GetEngineFile(bytes().data() + kHeaderBytes);
}

uint32_t VerifiedFile::storedChecksum() const {
  return readLe32(bytes().data() + checksumOffset_);
}

uint32_t VerifiedFile::computeChecksum() const {
  constexpr uint8_t kZeros[sizeof(uint32_t)] = {};
  const std::span<const uint8_t> all = bytes();
  uint32_t crc = crc32c(all.first(checksumOffset_));
  crc = crc32c(kZeros, crc);
  return crc32c(all.subspan(checksumOffset_ + sizeof(uint32_t)), crc);
}

Status sealEngineFile(std::span<uint8_t> file) {
  LOWP_ASSIGN_OR_RETURN(VerifiedFile opened, VerifiedFile::open(file));
  const uint32_t checksum = opened.computeChecksum();
  for (size_t i = 0; i < sizeof(checksum); ++i) {
    file[opened.checksumOffset() + i] = static_cast<uint8_t>(checksum >> (8 * i));
  }
  return {};
}

Status checkKernelNamesUnique(const kernels::KernelRegistry& registry) {
  std::map<std::tuple<std::string_view, std::string_view, std::string_view>, int> uses;
  for (const kernels::KernelDef& def : registry.all()) {
    if (def.backend == kernels::Backend::kCpu) ++uses[{def.domain, def.opType, def.name}];
  }
  std::string clashes;
  for (const auto& [key, count] : uses) {
    if (count < 2) continue;
    const auto& [domain, op, name] = key;
    clashes += std::string(clashes.empty() ? "" : ", ") + "'" + std::string(name) + "' (" +
               std::to_string(count) + " kernels of " + (domain.empty() ? "" : std::string(domain) + ".") +
               std::string(op) + ")";
  }
  if (clashes.empty()) return {};
  return Status(
      StatusCode::kInternal,
      "kernel names must be unique per op, engine files name kernels by them; not unique: " + clashes);
}

}  // namespace engine

Result<std::vector<uint8_t>> Engine::serialize() const {
  return engine::writeEngineFile(*impl_);
}

Result<std::shared_ptr<Engine>> Engine::deserialize(std::span<const uint8_t> bytes,
                                                    const EngineOptions& options) {
  LOWP_ASSIGN_OR_RETURN(auto impl, engine::readEngineFile(bytes, options, "engine"));
  return std::make_shared<Engine>(std::move(impl));
}

Status Engine::saveToFile(const std::string& path) const {
  auto bytes = serialize();
  if (!bytes) return bytes.status().withContext(path);
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) return Status(StatusCode::kIoError, path + ": cannot open for writing: " + std::strerror(errno));
  out.write(reinterpret_cast<const char*>(bytes->data()), static_cast<std::streamsize>(bytes->size()));
  out.close();
  if (!out) return Status(StatusCode::kIoError, path + ": writing failed: " + std::strerror(errno));
  return {};
}

Result<std::shared_ptr<Engine>> Engine::fromEngineFile(const std::string& path,
                                                       const EngineOptions& options) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) {
    return Status(StatusCode::kNotFound, path + ": no such engine file");
  }
  const auto size = std::filesystem::file_size(path, ec);
  std::ifstream in(path, std::ios::binary);
  if (ec || !in) return Status(StatusCode::kIoError, path + ": cannot open: " + std::strerror(errno));
  std::vector<uint8_t> bytes(static_cast<size_t>(size));
  in.read(reinterpret_cast<char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  if (!in) return Status(StatusCode::kIoError, path + ": reading failed: " + std::strerror(errno));
  LOWP_ASSIGN_OR_RETURN(auto impl, engine::readEngineFile(bytes, options, path));
  return std::make_shared<Engine>(std::move(impl));
}

}  // namespace lowp
