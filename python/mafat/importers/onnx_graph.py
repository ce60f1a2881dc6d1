"""The ONNX graph as the importer walks it.

:class:`OnnxGraph` indexes a loaded ``ModelProto`` once: its nodes in file
order with unique display names (the ONNX name, or ``OpType_<index>``), who
produces and who reads every value, the graph outputs and the default-domain
opset. It also holds the import's state: ``values`` maps a value name to what
it is so far (a numpy constant, or the importer's ``Tensor`` / ``PadAlias``
for activations) and ``done`` marks the nodes already converted, folded or
fused into another. The constant folder (:mod:`.onnx_fold`), the fusion rules
(:mod:`.onnx_fusion`) and the op lowering (:mod:`.onnx`) all read it.
"""

from __future__ import annotations

from typing import Dict, List, Optional, Sequence

from .errors import ImporterError

__all__ = ["OnnxGraph"]


class OnnxGraph:
    """A loaded ONNX model, indexed, with the importer's per-value state."""

    def __init__(self, model):
        import onnx
        from onnx import numpy_helper

        self.onnx = onnx
        self.numpy_helper = numpy_helper
        self.model = model
        self.graph = model.graph
        self.opset = 1
        for imp in model.opset_import:
            if imp.domain in ("", "ai.onnx"):
                self.opset = imp.version
        self.nodes = list(self.graph.node)
        self.done = [False] * len(self.nodes)
        self.values: Dict[str, object] = {}
        self.producer: Dict[str, int] = {}
        self.consumers: Dict[str, List[int]] = {}
        self.graph_outputs = [o.name for o in self.graph.output]
        # Unique display names for nodes (the ONNX name, or OpType_<index>).
        self.names: List[str] = []
        seen: Dict[str, int] = {}
        for k, n in enumerate(self.nodes):
            base = n.name or f"{n.op_type}_{k}"
            cnt = seen.get(base, 0)
            seen[base] = cnt + 1
            self.names.append(base if cnt == 0 else f"{base}_{cnt}")
        for k, n in enumerate(self.nodes):
            for o in n.output:
                if o:
                    self.producer[o] = k
            for i in n.input:
                if i:
                    self.consumers.setdefault(i, []).append(k)

    def err(self, k: int, msg: str) -> ImporterError:
        """An error naming node ``k``: ``node 'NAME' (OpType): msg``."""
        return ImporterError(f"node '{self.names[k]}' ({self.nodes[k].op_type}): {msg}")

    def attrs(self, k: int, allowed: Optional[Sequence[str]] = None) -> dict:
        """Node ``k``'s attributes as Python values; one not in ``allowed`` is an error."""
        out = {}
        for a in self.nodes[k].attribute:
            if allowed is not None and a.name not in allowed:
                raise self.err(k, f"unsupported attribute '{a.name}'")
            v = self.onnx.helper.get_attribute_value(a)
            if isinstance(v, bytes):
                v = v.decode("utf-8", "replace")
            out[a.name] = v
        return out

    def used(self, name: str) -> bool:
        """Whether a node or the graph's outputs read ``name``."""
        return bool(name) and (bool(self.consumers.get(name)) or name in self.graph_outputs)

    def sole_consumer(self, name: str) -> Optional[int]:
        """The one node reading ``name`` as its data input, if nothing else reads it."""
        users = self.consumers.get(name, [])
        if len(users) != 1 or name in self.graph_outputs:
            return None
        k = users[0]
        n = self.nodes[k]
        if self.done[k] or not n.input or n.input[0] != name or list(n.input).count(name) != 1:
            return None
        if n.domain not in ("", "ai.onnx"):
            return None
        return k

    def np_dtype(self, onnx_type: int):
        """The numpy dtype of an ONNX ``TensorProto`` element type."""
        return self.onnx.mapping.TENSOR_TYPE_TO_NP_TYPE[onnx_type]
