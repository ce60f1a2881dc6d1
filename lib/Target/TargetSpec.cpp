//===- TargetSpec.cpp - The machine mafat compiles for --------------------===//

#include "mafat/Target/TargetSpec.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/MC/MCSubtargetInfo.h"
#include "llvm/MC/TargetRegistry.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/TargetParser/Host.h"
#include "llvm/TargetParser/Triple.h"

namespace mafat {

llvm::StringRef supportedTriples() {
  return "x86_64-linux-gnu, aarch64-linux-gnu";
}

std::unique_ptr<TargetSpec> resolveTarget(llvm::StringRef tripleName,
                                          llvm::StringRef cpu, int optLevel,
                                          std::string &error) {
  static bool initialized = [] {
    llvm::InitializeAllTargetInfos();
    llvm::InitializeAllTargets();
    llvm::InitializeAllTargetMCs();
    llvm::InitializeAllAsmPrinters();
    return true;
  }();
  (void)initialized;

  llvm::Triple host(llvm::sys::getProcessTriple());
  auto spec = std::make_unique<TargetSpec>();
  spec->triple = tripleName.empty()
                     ? (host.getArchName() + "-linux-gnu").str()
                     : tripleName.str();
  llvm::Triple triple(llvm::Triple::normalize(spec->triple));
  if ((triple.getArch() != llvm::Triple::x86_64 &&
       triple.getArch() != llvm::Triple::aarch64) ||
      !triple.isOSLinux()) {
    error = "unknown target '" + spec->triple +
            "'; supported: " + supportedTriples().str();
    return nullptr;
  }
  spec->isHost = triple.getArch() == host.getArch();

  std::string lookupError;
  const llvm::Target *target =
      llvm::TargetRegistry::lookupTarget(triple, lookupError);
  if (!target) {
    error = "no LLVM backend for '" + spec->triple + "': " + lookupError;
    return nullptr;
  }

  if (cpu.empty() || cpu == "native") {
    if (spec->isHost) {
      spec->cpu = llvm::sys::getHostCPUName().str();
      // Host features, not the CPU name's defaults: a VM may mask some.
      llvm::StringMap<bool> features = llvm::sys::getHostCPUFeatures();
      std::vector<std::string> list;
      for (auto &f : features)
        list.push_back((f.second ? "+" : "-") + f.first().str());
      std::sort(list.begin(), list.end());
      spec->features = llvm::join(list, ",");
    } else if (cpu == "native") {
      error = "--mcpu=native is only valid when compiling for the host";
      return nullptr;
    } else {
      spec->cpu = "generic";
    }
  } else {
    spec->cpu = cpu.str();
  }

  // Checked before creating the machine, which would only warn and ignore it.
  std::unique_ptr<llvm::MCSubtargetInfo> generic(
      target->createMCSubtargetInfo(triple, "", ""));
  if (!generic || !generic->isCPUStringValid(spec->cpu)) {
    error = "unknown CPU '" + spec->cpu + "' for target '" + spec->triple +
            "'";
    return nullptr;
  }

  llvm::TargetOptions options;
  // Read back to bound the stack the generated code uses.
  options.EmitStackSizeSection = true;
  llvm::CodeGenOptLevel level = optLevel <= 0   ? llvm::CodeGenOptLevel::None
                                : optLevel == 1 ? llvm::CodeGenOptLevel::Less
                                : optLevel == 2
                                    ? llvm::CodeGenOptLevel::Default
                                    : llvm::CodeGenOptLevel::Aggressive;
  spec->machine.reset(target->createTargetMachine(
      triple, spec->cpu, spec->features, options, llvm::Reloc::PIC_,
      std::nullopt, level));
  if (!spec->machine) {
    error = "cannot create a target machine for '" + spec->triple + "'";
    return nullptr;
  }
  const llvm::MCSubtargetInfo *sti = spec->machine->getMCSubtargetInfo();
  if (triple.getArch() == llvm::Triple::aarch64) {
    spec->vectorBits = 128; // NEON: 32 x 128-bit registers.
    spec->vectorRegisters = 32;
  } else if (sti->checkFeatures("+avx512f")) {
    spec->vectorBits = 512;
    spec->vectorRegisters = 32;
  } else if (sti->checkFeatures("+avx2")) {
    spec->vectorBits = 256;
    spec->vectorRegisters = 16;
  } else {
    spec->vectorBits = 128;
    spec->vectorRegisters = 16;
  }
  return spec;
}

} // namespace mafat
