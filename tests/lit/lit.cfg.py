"""lit configuration for descend's textual tests (`lit -v tests/lit`, or `make test`).

Substitutions:
  %descend          the descend command of the repository's .venv (else the one on PATH)
  %examples         the repository's examples/ folder
  %roundtrip        generic print -> parse -> custom print, checked with `filecheck %s`
  %roundtrip-stable custom print == custom print of the generic round trip, and printing
                    is idempotent (print(parse(print(x))) == print(x))
  %mlir-interop     descend's generic output through `mlir-opt --mlir-print-op-generic` and
                    back into descend (tests using it say `// REQUIRES: mlir-opt`)
Features: `mlir-opt` when an mlir-opt binary is found (PATH or /usr/lib/llvm-22/bin).
"""

import os
import shutil
import sys

import lit.formats

config.name = "descend"
config.test_format = lit.formats.ShTest(execute_external=False)
config.suffixes = [".mlir"]
config.excludes = ["Inputs", "lit.cfg.py"]
config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = config.test_source_root

root = os.path.abspath(os.path.join(config.test_source_root, "..", ".."))
venv_bin = os.path.join(root, ".venv", "bin")

path = [venv_bin, os.path.dirname(sys.executable)]
if os.path.isdir("/usr/lib/llvm-22/bin"):
    path.append("/usr/lib/llvm-22/bin")
path.append(os.environ.get("PATH", ""))
config.environment["PATH"] = os.pathsep.join(path)
for name in ("HOME", "TMPDIR", "LANG", "LC_ALL"):
    if name in os.environ:
        config.environment[name] = os.environ[name]

descend = os.path.join(venv_bin, "descend")
if not os.access(descend, os.X_OK):
    descend = shutil.which("descend", path=config.environment["PATH"]) or f"{sys.executable} -m descend"

if shutil.which("filecheck", path=config.environment["PATH"]) is None:
    lit_config.fatal("filecheck not found: run `make setup` (pip install -e '.[test]')")

opt = f"{descend} opt --split-input-file"
config.substitutions += [
    ("%examples", os.path.join(root, "examples")),
    ("%roundtrip-stable",
     f"{opt} %s > %t.custom && {opt} %t.custom > %t.again && diff %t.custom %t.again"
     f" && {opt} --print-op-generic %s | {opt} > %t.roundtrip && diff %t.custom %t.roundtrip"),
    ("%roundtrip", f"{opt} --print-op-generic %s | {opt} | filecheck %s"),
    ("%mlir-interop",
     f"{opt} --allow-unregistered-dialect --print-op-generic %s"
     " | mlir-opt --split-input-file --mlir-print-op-generic --allow-unregistered-dialect"
     f" | {opt} --allow-unregistered-dialect"),
    ("%descend", descend),
]

if shutil.which("mlir-opt", path=config.environment["PATH"]):
    config.available_features.add("mlir-opt")
