"""Model importers: Darknet (cfg + weights) and ONNX to mafat's canonical MLIR.

Each importer returns MLIR text in the canonical form (docs/CanonicalForm.md)
and reports problems as :class:`ImporterError` with the offending layer or
node named, never as a bare traceback.
"""

from .errors import ImporterError

__all__ = ["ImporterError"]
