// The checks of an engine file up to its content: header, FlatBuffer structure, checksum location.
// engine_file.h documents the bytes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "engine_file_generated.h"
#include "lowp/status.h"

namespace lowp::engine {

/// An engine file whose header and FlatBuffer structure verify. Holds an aligned copy of the bytes when
/// the caller's bytes are not 8-byte aligned (FlatBuffers reads 8-byte scalars in place).
class VerifiedFile {
 public:
  /// Checks the magic, the format version, the size and the FlatBuffer (flatbuffers::Verifier); errors are
  /// kInvalidEngine and do not name the file.
  static Result<VerifiedFile> open(std::span<const uint8_t> file);

  const fb::EngineFile& root() const;
  /// Byte offset of the checksum field in the file.
  size_t checksumOffset() const { return checksumOffset_; }
  uint32_t storedChecksum() const;
  /// The checksum of the file's bytes (the checksum field read as zeros).
  uint32_t computeChecksum() const;

 private:
  std::span<const uint8_t> bytes() const {
    return alignedCopy_.empty() ? external_ : std::span<const uint8_t>(alignedCopy_);
  }

  std::span<const uint8_t> external_;
  std::vector<uint8_t> alignedCopy_;
  size_t checksumOffset_ = 0;
};

}  // namespace lowp::engine
