// Engine files: an Engine written to bytes and read back, verified field by field.
//
// The bytes of a file (format 1), all integers little-endian:
//
//   offset  size  field
//   0       8     magic "LOWPENGN"
//   8       4     format version (uint32): kFormatVersion
//   12      4     n, the size of the FlatBuffer in bytes (uint32)
//   16      n     a FlatBuffer whose root is fb::EngineFile (engine_file.fbs): the lowp version, the device
//                 fingerprint, the checksum, the graph with per node its kernel's name, the layers, the
//                 build shapes and the activation memory plan
//
// The file ends where the FlatBuffer ends. The checksum is CRC-32C (crc32c.h) over every byte of the file,
// padding included, with the 4 bytes of the checksum field itself read as zeros: a change within 32
// consecutive bits is always detected, any other change but for a chance of 2^-32.
//
// Reading checks, in order, and stops at the first failure with a Status of kInvalidEngine naming the file:
// the magic; the format version (naming the lowp version that wrote the file); the size; the FlatBuffer's
// structure (flatbuffers::Verifier); the checksum; the device fingerprint (both named); then the content,
// which a valid checksum does not make trustworthy: data types against the DataType table, value ids in
// range, constants' byte sizes against type and shape, nodes against their op schema (input and output
// counts, attribute names and types), nodes in an order that runs (every input produced earlier, hence no
// cycle), types and shapes against ir inference, each kernel name against the registry (and the kernel's
// types, formats, CPU feature and support of the node), the build shapes, and the memory plan (every buffer
// inside the arena, no two live buffers overlapping, the plan the graph gives for the build shapes).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "kernels/kernel.h"
#include "lowp/engine.h"
#include "lowp/status.h"
#include "runtime/engine_impl.h"

namespace lowp::engine {

inline constexpr char kMagic[8] = {'L', 'O', 'W', 'P', 'E', 'N', 'G', 'N'};
/// The format this lowp writes and reads; a change to the bytes of a file makes a new number.
inline constexpr uint32_t kFormatVersion = 1;
inline constexpr size_t kHeaderBytes = 16;

/// The engine as an engine file. Errors (kUnsupported) for what a file cannot hold: a constant or tensor
/// attribute of a type lowp does not store, a subgraph attribute, an engine over FlatBuffers' 2 GiB.
Result<std::vector<uint8_t>> writeEngineFile(const Engine::Impl& engine);

/// Reads and verifies an engine file (see the top of this file); `label` names it in errors.
Result<std::unique_ptr<Engine::Impl>> readEngineFile(std::span<const uint8_t> bytes,
                                                     const EngineOptions& options, const std::string& label);

/// Recomputes and stores the checksum of a file whose header and FlatBuffer verify. Writers use it; tests
/// use it to make edited files that reach the checks behind the checksum.
Status sealEngineFile(std::span<uint8_t> file);

/// Error unless every CPU kernel name is unique among the kernels of its (domain, op): engine files name
/// kernels by (domain, op, name). The error lists every clash.
Status checkKernelNamesUnique(const kernels::KernelRegistry& registry);

}  // namespace lowp::engine
