"""mafat's Python side: canonical-form MLIR emission and PyTorch references.

* :mod:`mafat.mlir_emitter` -- :class:`MlirEmitter`, writes a CNN as MLIR in
  mafat's canonical model form (linalg on tensors, NHWC, HWCF, f32, batch 1).
  Shared by test-model generators and (later) the ONNX/Darknet importers.
* :mod:`mafat.models` -- :class:`Model` layer graphs with numpy weights that
  emit MLIR and build an equivalent ``torch.nn.Module``; fixed test models.
* :mod:`mafat.importers` -- the Darknet and ONNX importers.
* :mod:`mafat.reference` -- the test oracles: run the torch reference and
  compare outputs; the Darknet reference in PyTorch; run emitted MLIR with
  upstream mlir-opt/mlir-runner only (:mod:`mafat.reference.upstream`), a
  compiler-independent oracle.
* ``python3 -m mafat.make_model`` -- write a fixed model plus input/reference.

Only numpy is needed to emit MLIR; torch is imported when a reference is built.
"""

from .mlir_emitter import MlirEmitter, Value, fold_batchnorm, format_f32
from .models import MODELS, Model, build_model

__all__ = ["MlirEmitter", "Value", "fold_batchnorm", "format_f32", "Model", "MODELS", "build_model"]
