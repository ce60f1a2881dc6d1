# -*- Python -*-
# lit configuration for mafat: FileCheck tests of each pass (test/<Area>),
# end-to-end numeric tests (test/e2e) and the GoogleTest unit tests.
import os
import shutil

import lit.formats
from lit.llvm import llvm_config

config.name = "MAFAT"
config.test_format = lit.formats.ShTest(not llvm_config.use_lit_shell)
config.suffixes = [".mlir", ".test"]
config.excludes = ["lit.cfg.py", "lit.site.cfg.py", "Inputs", "CMakeLists.txt"]
config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = os.path.join(config.mafat_obj_root, "test")

config.substitutions.append(("%PATH%", config.environment["PATH"]))
config.substitutions.append(("%python", config.python_executable))
config.substitutions.append(("%mafat_src", config.mafat_src_root))
config.substitutions.append(
    ("%mafat_bin", os.path.join(config.mafat_obj_root, "bin")))
config.substitutions.append(("%mafat_obj", config.mafat_obj_root))
config.substitutions.append(
    ("%llvm_root", os.path.dirname(config.llvm_tools_dir)))
config.substitutions.append(
    ("%driver_dir", os.path.join(config.mafat_obj_root, "lib", "mafat")))

llvm_config.with_system_environment(["HOME", "TMPDIR"])
llvm_config.use_default_substitutions()

# mafat's own tools first, then LLVM 22's (FileCheck, not, count).
tool_dirs = [os.path.join(config.mafat_obj_root, "bin"), config.llvm_tools_dir]
llvm_config.add_tool_substitutions(
    ["mafat-opt", "mafat-compile", "mafat-predict", "mafat-run", "FileCheck", "not",
     "count"],
    tool_dirs)
llvm_config.with_environment("PATH", config.llvm_tools_dir, append_path=True)
llvm_config.with_environment(
    "PYTHONPATH", os.path.join(config.mafat_src_root, "python"),
    append_path=True)

# The Darknet cfg files shipped in the repository (models/darknet). They are
# always there: a checkout without them is broken, not a reason to skip.
# (Feature darknet-cfgs stays for tests that still say REQUIRES: darknet-cfgs.)
darknet_dir = os.path.join(config.mafat_src_root, "models", "darknet")
if not os.path.isfile(os.path.join(darknet_dir, "yolov2.cfg")):
    lit_config.fatal(f"the Darknet cfg files are missing from {darknet_dir}")
config.available_features.add("darknet-cfgs")
config.substitutions.append(("%darknet_cfgs", darknet_dir))

# clang's ThreadSanitizer runtime (libclang-rt-22-dev) for tsan-threads.test.
import glob
if glob.glob(os.path.join(os.path.dirname(config.llvm_tools_dir), "lib", "clang",
                          "*", "lib", "*", "libclang_rt.tsan*.a")):
    config.available_features.add("tsan-runtime")

# aarch64 binaries run under qemu-user with Debian's cross libc.
if shutil.which("qemu-aarch64") and os.path.isdir("/usr/aarch64-linux-gnu"):
    config.available_features.add("qemu-aarch64")
    config.substitutions.append(
        ("%qemu_aarch64", "qemu-aarch64 -L /usr/aarch64-linux-gnu"))
