#include "kernels/kernel.h"

namespace lowp::kernels {

TypeSet floatTypes() {
  return {DataType::kFloat32, DataType::kFloat64, DataType::kFloat16, DataType::kBFloat16};
}
TypeSet signedIntTypes() {
  return {DataType::kInt8, DataType::kInt16, DataType::kInt32, DataType::kInt64};
}
TypeSet unsignedIntTypes() {
  return {DataType::kUInt8, DataType::kUInt16, DataType::kUInt32, DataType::kUInt64};
}
TypeSet intTypes() {
  return signedIntTypes() | unsignedIntTypes();
}
TypeSet numericTypes() {
  return floatTypes() | intTypes();
}
TypeSet allStorableTypes() {
  return numericTypes() | TypeSet{DataType::kBool, DataType::kFloat8E4M3FN, DataType::kFloat8E4M3FNUZ,
                                  DataType::kFloat8E5M2, DataType::kFloat8E5M2FNUZ};
}

namespace {

bool typesMatch(const std::vector<TypeSet>& allowed, const std::vector<DataType>& types) {
  if (allowed.empty()) return true;
  for (size_t i = 0; i < types.size(); ++i) {
    if (types[i] == DataType::kUndefined) continue;
    const TypeSet& set = i < allowed.size() ? allowed[i] : allowed.back();
    if (!set.contains(types[i])) return false;
  }
  return true;
}

std::string_view canonicalDomain(std::string_view domain) {
  return domain == "ai.onnx" ? "" : domain;
}

}  // namespace

std::vector<const KernelDef*> KernelRegistry::find(std::string_view domain, std::string_view opType,
                                                   Backend backend, const std::vector<DataType>& inputTypes,
                                                   const std::vector<DataType>& outputTypes) const {
  std::vector<const KernelDef*> out;
  for (const KernelDef& def : defs_) {
    if (def.opType != opType || def.backend != backend || def.domain != canonicalDomain(domain)) continue;
    if (!typesMatch(def.inputTypes, inputTypes) || !typesMatch(def.outputTypes, outputTypes)) continue;
    out.push_back(&def);
  }
  return out;
}

bool KernelRegistry::hasOp(std::string_view domain, std::string_view opType, Backend backend) const {
  for (const KernelDef& def : defs_) {
    if (def.opType == opType && def.backend == backend && def.domain == canonicalDomain(domain)) return true;
  }
  return false;
}

}  // namespace lowp::kernels
