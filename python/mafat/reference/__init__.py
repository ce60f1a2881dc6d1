"""The oracles mafat's tests compare with: independent of the compiler and of
the importers' lowering, so that agreeing with them means something.

* :mod:`mafat.reference.model_reference` -- run a :class:`mafat.models.Model`'s
  PyTorch twin on NHWC inputs (:func:`run_reference`), and :func:`compare`,
  the one accuracy criterion of the end-to-end tests. Both are re-exported
  here.
* :mod:`mafat.reference.torch_layers` -- the PyTorch twins of the
  :mod:`mafat.models` layers (needs torch).
* :mod:`mafat.reference.darknet_reference` -- a Darknet network in PyTorch,
  built from the same cfg + ``.weights`` without the importer's emitter
  (needs torch).
* :mod:`mafat.reference.upstream` -- run emitted MLIR with upstream
  ``mlir-opt``/``mlir-runner`` only.

Importing this package needs numpy only; torch is imported by the modules
that build PyTorch models.
"""

from .model_reference import DEFAULT_RTOL_OF_MAX, Comparison, compare, run_reference

__all__ = ["run_reference", "Comparison", "compare", "DEFAULT_RTOL_OF_MAX"]
