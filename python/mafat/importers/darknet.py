"""Darknet importer: a ``.cfg`` (plus optional ``.weights``) to mafat's canonical MLIR.

Entry points::

    import_darknet(cfg_path, weights_path=None, input_size=None, layers=None, seed=0) -> str
    import_darknet_to_file(cfg_path, out_path, ...)   # streams big models to disk

Lower level: :func:`parse_cfg` (sections), :func:`build_network` (shapes,
parameters and validation), :func:`read_weights` / :func:`write_weights` /
:func:`random_weights` (the ``.weights`` format), :func:`emit_network` (MLIR).

Conventions (see also docs/CanonicalForm.md):

* Batch 1, NHWC activations, static shapes; the model input is the
  ``[net]`` image (``width`` x ``height`` x ``channels``, or ``input_size``).
* Every op of Darknet layer ``i`` (counting from 0 after ``[net]``, as Darknet
  does) carries ``loc("L<i>:<kind>")``.
* Outputs: for the whole network, the tensor each ``[region]`` / ``[yolo]``
  layer consumes (raw, before the layer's logistic/softmax and box decoding:
  decoding boxes is the caller's job), in layer order, named
  ``region<i>`` / ``yolo<i>``; if the network does not end in such a layer,
  its last layer's output too (named ``output``). With ``layers=(a, b)`` the
  network is cut to layers a..b and the one output is layer b's.
* Batch-norm is folded into the preceding conv/connected weights using the
  formula of Darknet's CPU inference (``normalize_cpu`` in pjreddie/darknet
  ``src/blas.c``): ``(x - mean) / (sqrt(var) + .000001f) * scale + bias``, so
  ``w' = w * s``, ``b' = bias - mean * s`` with ``s = scale / (sqrt(var) + 1e-6)``.
  (Darknet's cuDNN path and AlexeyAB's fork use ``sqrt(var + .00001)``; for
  trained variances the two differ by far less than the f32 tolerance.)

Every problem with the input is an :class:`ImporterError` that names the
layer (``layer 12 [reorg]: ...``) or the file.
"""

from __future__ import annotations

import os
import re
import struct
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple, Union

import numpy as np

from .darknet_ops import DarknetEmitter
from .errors import ImporterError

__all__ = [
    "Section",
    "Layer",
    "Network",
    "LayerWeights",
    "WeightsFile",
    "BN_EPS",
    "SUPPORTED_SECTIONS",
    "parse_cfg",
    "read_cfg",
    "build_network",
    "load_network",
    "read_weights",
    "write_weights",
    "random_weights",
    "fold_bn",
    "emit_network",
    "import_darknet",
    "import_darknet_to_file",
    "parse_input_size",
    "parse_layer_range",
]

# Added to sqrt(variance) by Darknet's CPU batch-norm (normalize_cpu).
BN_EPS = 1e-6

# Section names (and Darknet's aliases) -> canonical type.
_ALIASES = {
    "net": "net", "network": "net",
    "convolutional": "convolutional", "conv": "convolutional",
    "maxpool": "maxpool", "max": "maxpool",
    "avgpool": "avgpool", "avg": "avgpool",
    "route": "route",
    "reorg": "reorg",
    "shortcut": "shortcut",
    "upsample": "upsample",
    "connected": "connected", "conn": "connected",
    "softmax": "softmax", "soft": "softmax",
    "region": "region",
    "yolo": "yolo",
    "dropout": "dropout",
    "cost": "cost",
    "batchnorm": "batchnorm",
    "activation": "activation",
}
SUPPORTED_SECTIONS = tuple(sorted(set(_ALIASES.values()) - {"net"}))

# Darknet activation name -> emitter activation spec.
_ACTS = {
    "linear": None,
    "leaky": ("leaky", 0.1),
    "relu": "relu",
    "relu6": "relu6",
    "logistic": "sigmoid",
    "mish": "mish",
    "swish": "swish",
}
# Activations for which He scaling (gain 2) keeps the random weights' activations O(1).
_RELU_LIKE = {"leaky", "relu", "relu6", "mish", "swish"}

# Options each section reads; anything else is reported as ignored (a
# warning, as Darknet's own "Unused field"), except the ones in _REJECT.
_HANDLED = {
    "convolutional": {"filters", "size", "stride", "stride_x", "stride_y", "pad", "padding", "groups",
                      "batch_normalize", "activation", "dilation"},
    "maxpool": {"size", "stride", "stride_x", "stride_y", "padding"},
    "avgpool": set(),
    "route": {"layers", "groups", "group_id"},
    "reorg": {"stride", "reverse", "flatten", "extra"},
    "shortcut": {"from", "activation", "alpha", "beta"},
    "upsample": {"stride", "scale"},
    "connected": {"output", "activation", "batch_normalize"},
    "softmax": {"groups", "temperature", "tree", "spatial"},
    "dropout": {"probability", "dropblock", "dropblock_size_rel", "dropblock_size_abs"},
    "cost": {"type", "scale", "ratio", "noobject_scale", "thresh"},
    "batchnorm": set(),
    "activation": {"activation"},
    "region": None,  # detection heads: every option is about decoding/training
    "yolo": None,
}
# Options that change what inference computes and that this importer does not implement.
_REJECT = {
    "convolutional": {"binary", "xnor", "flipped", "antialiasing", "share_index", "deform", "sway", "rotate",
                      "stretch", "stretch_sway", "coordconv", "assisted_excitation"},
    "maxpool": {"maxpool_depth", "antialiasing", "out_channels"},
    "shortcut": {"weights_type", "weights_normalization"},
}
# Training-only options that need no warning.
_TRAINING = {"learning_rate", "stopbackward", "dontload", "dontloadscales", "train_only_bn", "burnin_update",
             "stop_after_batches", "noloss", "adam", "random", "jitter", "train"}

Shape = Tuple[int, int, int]  # (c, h, w): Darknet's order


# ----------------------------------------------------------------------------
# cfg parsing
# ----------------------------------------------------------------------------


@dataclass
class Section:
    """One ``[type]`` block of a cfg file; ``options`` keep file order."""

    type: str  # canonical type ("convolutional" for "[conv]"), or the raw name if unknown
    raw: str  # the name as written
    line: int  # 1-based line of the header
    options: Dict[str, str] = field(default_factory=dict)
    index: int = -1  # Darknet layer index (-1 for [net])

    def where(self) -> str:
        if self.type == "net":
            return f"[{self.raw}] (line {self.line})"
        return f"layer {self.index} [{self.raw}]"

    def err(self, msg: str) -> ImporterError:
        return ImporterError(f"{self.where()}: {msg}")

    def has(self, key: str) -> bool:
        return key in self.options

    def get_str(self, key: str, default: Optional[str] = None) -> str:
        if key in self.options:
            return self.options[key]
        if default is None:
            raise self.err(f"missing option '{key}'")
        return default

    def _get_number(self, key: str, default, cast, what: str):
        if key not in self.options:
            if default is None:
                raise self.err(f"missing option '{key}'")
            return default
        v = self.options[key]
        try:
            return cast(v)
        except ValueError:
            raise self.err(f"option {key}={v!r} is not {what}") from None

    def get_int(self, key: str, default: Optional[int] = None) -> int:
        # Darknet reads ints with atoi(), which accepts "1.0" as 1; be strict but helpful.
        return self._get_number(key, default, int, "an integer")

    def get_float(self, key: str, default: Optional[float] = None) -> float:
        return self._get_number(key, default, float, "a number")

    def get_ints(self, key: str) -> List[int]:
        v = self.get_str(key)
        try:
            return [int(t) for t in v.split(",") if t != ""]
        except ValueError:
            raise self.err(f"option {key}={v!r} is not a list of integers") from None


def parse_cfg(text: str, source: str = "<cfg>") -> List[Section]:
    """Sections of a Darknet cfg, read the way Darknet's ``read_cfg`` does.

    Darknet strips *all* whitespace from a line (so ``anchors = 1, 2`` is
    ``anchors=1,2``), skips empty lines and lines starting with ``#`` or
    ``;``, starts a section at ``[``, and otherwise needs ``key=value``.
    The first section must be ``[net]`` (or ``[network]``); layer indices
    count the sections after it.
    """
    sections: List[Section] = []
    for lineno, line in enumerate(text.splitlines(), 1):
        s = re.sub(r"\s+", "", line)
        if not s or s[0] in "#;":
            continue
        if s[0] == "[":
            if not s.endswith("]") or len(s) < 3:
                raise ImporterError(f"{source}:{lineno}: malformed section header {line.strip()!r}")
            raw = s[1:-1]
            sec = Section(_ALIASES.get(raw.lower(), raw.lower()), raw, lineno)
            if sections:
                sec.index = len(sections) - 1
            elif sec.type != "net":
                raise ImporterError(f"{source}:{lineno}: the first section must be [net], not [{raw}]")
            sections.append(sec)
            continue
        if not sections:
            raise ImporterError(f"{source}:{lineno}: option {s!r} outside of any section")
        if "=" not in s:
            raise ImporterError(f"{source}:{lineno}: cannot parse {line.strip()!r} (expected key=value)")
        key, val = s.split("=", 1)
        sections[-1].options[key] = val
    if not sections:
        raise ImporterError(f"{source}: no sections (is this a Darknet cfg file?)")
    if len(sections) == 1:
        raise ImporterError(f"{source}: [net] but no layers")
    return sections


def read_cfg(path: str) -> List[Section]:
    """:func:`parse_cfg` of a file; unreadable or non-text files are ImporterErrors."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        raise ImporterError(f"cannot read {path}: {e.strerror or e}") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        try:
            text = data.decode("latin-1")
        except UnicodeDecodeError:  # pragma: no cover - latin-1 decodes anything
            raise ImporterError(f"{path}: not a text file") from None
    if "\x00" in text:
        raise ImporterError(f"{path}: not a Darknet cfg (binary data)")
    return parse_cfg(text, path)


# ----------------------------------------------------------------------------
# Network: shapes and parameters
# ----------------------------------------------------------------------------


@dataclass
class Layer:
    """A Darknet layer with its parameters and (c, h, w) shapes."""

    index: int
    type: str
    section: Section
    srcs: List[int]  # layer indices read (-1 = the network input)
    in_shape: Shape  # shape of srcs[0]
    out_shape: Shape
    p: Dict[str, object] = field(default_factory=dict)

    def err(self, msg: str) -> ImporterError:
        return self.section.err(msg)

    @property
    def has_weights(self) -> bool:
        return self.type in ("convolutional", "connected", "batchnorm")


@dataclass
class Network:
    name: str
    input_shape: Shape  # (c, h, w)
    layers: List[Layer]
    warnings: List[str] = field(default_factory=list)

    def detection_layers(self) -> List[int]:
        return [l.index for l in self.layers if l.type in ("region", "yolo")]


def _act(sec: Section, default: str) -> str:
    a = sec.get_str("activation", default).lower()
    if a not in _ACTS:
        raise sec.err(f"activation '{a}' is not supported (supported: {', '.join(sorted(_ACTS))})")
    return a


def _check_options(sec: Section, warnings: List[str]) -> None:
    for key in _REJECT.get(sec.type, ()):
        if key in sec.options and sec.options[key] not in ("0", ""):
            raise sec.err(f"option {key}={sec.options[key]} is not supported")
    handled = _HANDLED.get(sec.type)
    if handled is None:
        return
    for key in sec.options:
        if key not in handled and key not in _TRAINING:
            warnings.append(f"{sec.where()}: option '{key}' ignored")


def build_network(sections: List[Section], input_size: Optional[Tuple[int, int]] = None,
                  name: str = "darknet") -> Network:
    """Shapes and parameters of every layer; raises ImporterError on anything unsupported.

    ``input_size`` = (h, w) overrides the ``[net]`` width/height.
    """
    net = sections[0]
    warnings: List[str] = []
    if input_size is not None:
        h, w = input_size
    else:
        if not (net.has("height") and net.has("width")):
            raise net.err("needs width= and height= (or pass --input-size HxW)")
        h, w = net.get_int("height"), net.get_int("width")
    c = net.get_int("channels", 3)
    if min(h, w, c) <= 0:
        raise net.err(f"bad input size {c}x{h}x{w} (channels x height x width)")
    input_shape: Shape = (c, h, w)
    layers: List[Layer] = []

    def shape_of(idx: int) -> Shape:
        return input_shape if idx < 0 else layers[idx].out_shape

    def ref(sec: Section, value: int, what: str) -> int:
        i = sec.index
        j = i + value if value < 0 else value
        if not 0 <= j < i:
            raise sec.err(f"{what} {value} refers to layer {j}, which is not an earlier layer")
        return j

    for sec in sections[1:]:
        i = sec.index
        t = sec.type
        if t not in _HANDLED:
            if t == "net":
                raise sec.err("a second [net] section")
            raise sec.err(f"section type not supported (supported: {', '.join(SUPPORTED_SECTIONS)})")
        _check_options(sec, warnings)
        prev = i - 1
        cin, hin, win = shape_of(prev)
        p: Dict[str, object] = {}
        srcs = [prev]
        if t == "convolutional":
            n = sec.get_int("filters", 1)
            k = sec.get_int("size", 1)
            stride = sec.get_int("stride", 1)
            sy, sx = sec.get_int("stride_y", stride), sec.get_int("stride_x", stride)
            padding = sec.get_int("padding", 0)
            if sec.get_int("pad", 0):
                padding = k // 2
            groups = sec.get_int("groups", 1)
            dil = sec.get_int("dilation", 1)
            if dil != 1:
                raise sec.err(f"dilation={dil} is not supported")
            if min(n, k, sy, sx, groups) <= 0 or padding < 0:
                raise sec.err(f"bad parameters filters={n} size={k} stride={sy}x{sx} groups={groups} padding={padding}")
            if cin % groups or n % groups:
                raise sec.err(f"groups={groups} does not divide {cin} input channels and {n} filters")
            oh = (hin + 2 * padding - k) // sy + 1
            ow = (win + 2 * padding - k) // sx + 1
            if hin + 2 * padding < k or win + 2 * padding < k:
                raise sec.err(f"{k}x{k} kernel larger than the padded {hin}x{win} input")
            p = dict(filters=n, size=k, stride=(sy, sx), padding=padding, groups=groups,
                     bn=bool(sec.get_int("batch_normalize", 0)), act=_act(sec, "logistic"))
            out = (n, oh, ow)
        elif t == "maxpool":
            stride = sec.get_int("stride", 1)
            sy, sx = sec.get_int("stride_y", stride), sec.get_int("stride_x", stride)
            k = sec.get_int("size", stride)
            padding = sec.get_int("padding", k - 1)
            if min(k, sy, sx) <= 0 or padding < 0:
                raise sec.err(f"bad parameters size={k} stride={sy}x{sx} padding={padding}")
            oh = (hin + padding - k) // sy + 1
            ow = (win + padding - k) // sx + 1
            if oh <= 0 or ow <= 0:
                raise sec.err(f"{k}x{k} window larger than the {hin}x{win} input")
            lo = padding // 2  # Darknet: offset -padding/2 (C division, padding >= 0)
            # Every window must see at least one real element, else Darknet
            # would output -FLT_MAX where this importer writes -inf.
            if lo >= k or (oh - 1) * sy - lo >= hin or (ow - 1) * sx - lo >= win:
                raise sec.err(f"padding={padding} leaves windows without any input element")
            p = dict(size=k, stride=(sy, sx), padding=padding)
            out = (cin, oh, ow)
        elif t == "avgpool":
            out = (cin, 1, 1)
        elif t == "route":
            idx = [ref(sec, v, "layers=") for v in sec.get_ints("layers")]
            if not idx:
                raise sec.err("layers= is empty")
            groups = sec.get_int("groups", 1)
            gid = sec.get_int("group_id", 0)
            if groups <= 0 or not 0 <= gid < groups:
                raise sec.err(f"bad groups={groups} group_id={gid}")
            shapes = [shape_of(j) for j in idx]
            if any(s[1:] != shapes[0][1:] for s in shapes):
                desc = ", ".join(f"layer {j}: {s[1]}x{s[2]}" for j, s in zip(idx, shapes))
                raise sec.err(f"cannot concatenate inputs of different sizes ({desc})")
            if any(s[0] % groups for s in shapes):
                raise sec.err(f"groups={groups} does not divide the channels of every input")
            srcs = idx
            p = dict(layers=idx, groups=groups, group_id=gid)
            out = (sum(s[0] // groups for s in shapes), shapes[0][1], shapes[0][2])
        elif t == "reorg":
            s = sec.get_int("stride", 1)
            for opt in ("reverse", "flatten", "extra"):
                if sec.get_int(opt, 0):
                    raise sec.err(f"{opt}={sec.options[opt]} is not supported")
            if s <= 0 or hin % s or win % s or cin % (s * s):
                raise sec.err(f"stride={s} does not divide the {cin}x{hin}x{win} input "
                              f"(needs height and width divisible by {s}, channels by {s * s})")
            p = dict(stride=s)
            out = (cin * s * s, hin // s, win // s)
        elif t == "shortcut":
            j = ref(sec, sec.get_int("from"), "from=")
            alpha, beta = sec.get_float("alpha", 1.0), sec.get_float("beta", 1.0)
            if alpha != 1.0 or beta != 1.0:
                raise sec.err(f"alpha={alpha} beta={beta} is not supported (only 1, 1)")
            if shape_of(j) != (cin, hin, win):
                raise sec.err(f"from={sec.get_int('from')} (layer {j}) has shape {shape_of(j)}, "
                              f"the previous layer {(cin, hin, win)}: only equal shapes are supported")
            srcs = [prev, j]
            p = dict(src=j, act=_act(sec, "linear"))
            out = (cin, hin, win)
        elif t == "upsample":
            s = sec.get_int("stride", 2)
            if s <= 0:
                raise sec.err(f"stride={s} (downsampling) is not supported")
            p = dict(stride=s, scale=sec.get_float("scale", 1.0))
            out = (cin, hin * s, win * s)
        elif t == "connected":
            n = sec.get_int("output", 1)
            if n <= 0:
                raise sec.err(f"bad output={n}")
            p = dict(outputs=n, inputs=cin * hin * win, bn=bool(sec.get_int("batch_normalize", 0)),
                     act=_act(sec, "logistic"))
            out = (n, 1, 1)
        elif t == "softmax":
            if sec.get_str("tree", "") or sec.get_int("spatial", 0):
                raise sec.err("tree= / spatial= softmax is not supported")
            g = sec.get_int("groups", 1)
            if g <= 0 or cin % g:
                raise sec.err(f"groups={g} must divide the {cin} channels")
            p = dict(groups=g, temperature=sec.get_float("temperature", 1.0))
            if p["temperature"] <= 0:
                raise sec.err(f"temperature={p['temperature']} must be positive")
            out = (cin, hin, win)
        elif t in ("dropout", "cost", "region", "yolo"):
            if t == "dropout" and sec.get_int("dropblock", 0):
                raise sec.err("dropblock=1 is not supported")
            out = (cin, hin, win)
        elif t == "batchnorm":
            out = (cin, hin, win)
        elif t == "activation":
            p = dict(act=_act(sec, "linear"))
            out = (cin, hin, win)
        else:  # pragma: no cover - _HANDLED and this chain list the same types
            raise sec.err("section type not supported")
        layers.append(Layer(i, t, sec, srcs, shape_of(srcs[0]), out, p))
    return Network(name, input_shape, layers, warnings)


def _func_name(path: str) -> str:
    base = os.path.splitext(os.path.basename(path))[0]
    name = re.sub(r"[^A-Za-z0-9_]", "_", base) or "darknet"
    if name[0].isdigit():
        name = "m_" + name
    return name


def load_network(cfg_path: str, input_size: Optional[Tuple[int, int]] = None) -> Network:
    return build_network(read_cfg(cfg_path), input_size, _func_name(cfg_path))


# ----------------------------------------------------------------------------
# Weights
# ----------------------------------------------------------------------------


@dataclass
class LayerWeights:
    """One layer's parameters in Darknet's own layouts.

    conv: ``weights`` (filters, c / groups, size, size); connected:
    (outputs, inputs) with inputs in Darknet's (c, h, w) flattening order;
    batchnorm: only scales/mean/var. ``scales``/``mean``/``var`` are None
    without batch_normalize.
    """

    biases: Optional[np.ndarray] = None
    weights: Optional[np.ndarray] = None
    scales: Optional[np.ndarray] = None
    mean: Optional[np.ndarray] = None
    var: Optional[np.ndarray] = None


@dataclass
class WeightsFile:
    major: int
    minor: int
    revision: int
    seen: int
    layers: Dict[int, LayerWeights]
    leftover_bytes: int  # bytes after the last layer read (Darknet ignores them)


def _weights_parts(layer: Layer) -> List[Tuple[str, Tuple[int, ...]]]:
    """(name, shape) of each array of a layer, in file order."""
    p = layer.p
    if layer.type == "convolutional":
        n, k, g = p["filters"], p["size"], p["groups"]
        c = layer.in_shape[0]
        parts = [("biases", (n,))]
        if p["bn"]:
            parts += [("scales", (n,)), ("mean", (n,)), ("var", (n,))]
        return parts + [("weights", (n, c // g, k, k))]
    if layer.type == "connected":
        n, m = p["outputs"], p["inputs"]
        parts = [("biases", (n,)), ("weights", (n, m))]
        if p["bn"]:
            parts += [("scales", (n,)), ("mean", (n,)), ("var", (n,))]
        return parts
    if layer.type == "batchnorm":
        c = layer.in_shape[0]
        return [("scales", (c,)), ("mean", (c,)), ("var", (c,))]
    return []


def _header_has_long_seen(major: int, minor: int) -> bool:
    return (major * 10 + minor) >= 2 and major < 1000 and minor < 1000


def read_weights(path: str, net: Network, upto: Optional[int] = None) -> WeightsFile:
    """Reads a Darknet ``.weights`` file for the layers 0..upto of ``net``.

    Header: int32 major, minor, revision, then ``seen`` as int64 if
    ``major*10 + minor >= 2`` (and both < 1000) else int32. Then, per layer
    with weights, in layer order: conv: biases, [scales, rolling_mean,
    rolling_variance], weights (F, C/groups, KH, KW); connected: biases,
    weights (outputs, inputs) [transposed if major or minor > 1000],
    [scales, mean, variance]; batchnorm: scales, mean, variance. All
    little-endian float32. A file that ends early is an ImporterError naming
    the layer; extra bytes are reported in ``leftover_bytes``.
    """
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        raise ImporterError(f"cannot read {path}: {e.strerror or e}") from None
    if len(data) < 12:
        raise ImporterError(f"{path}: {len(data)} bytes is too short for a Darknet weights header")
    major, minor, revision = struct.unpack_from("<iii", data, 0)
    off = 20 if _header_has_long_seen(major, minor) else 16
    if len(data) < off:
        raise ImporterError(f"{path}: {len(data)} bytes is too short for a Darknet weights header")
    (seen,) = struct.unpack_from("<q" if off == 20 else "<i", data, 12)
    transpose = major > 1000 or minor > 1000
    last = len(net.layers) - 1 if upto is None else upto
    out: Dict[int, LayerWeights] = {}
    for layer in net.layers[: last + 1]:
        parts = _weights_parts(layer)
        if not parts:
            continue
        lw = LayerWeights()
        for name, shape in parts:
            count = int(np.prod(shape))
            avail = (len(data) - off) // 4
            if avail < count:
                raise ImporterError(
                    f"{path}: the weights end in layer {layer.index} [{layer.section.raw}]: its {name} need "
                    f"{count} floats, only {avail} left (file of {len(data)} bytes; wrong cfg or truncated file?)")
            a = np.frombuffer(data, dtype="<f4", count=count, offset=off)
            off += 4 * count
            if name == "weights" and layer.type == "connected" and transpose:
                a = a.reshape(shape[1], shape[0]).T
            setattr(lw, name, np.ascontiguousarray(a.reshape(shape), dtype=np.float32))
        out[layer.index] = lw
    return WeightsFile(major, minor, revision, seen, out, len(data) - off)


def write_weights(path: str, net: Network, weights: Dict[int, LayerWeights], major: int = 0, minor: int = 2,
                  revision: int = 0, seen: int = 0, upto: Optional[int] = None) -> int:
    """Writes ``weights`` in Darknet's format (the inverse of :func:`read_weights`).

    Returns the number of bytes written. Every layer with weights up to
    ``upto`` (default: all) must be in ``weights``.
    """
    if major > 1000 or minor > 1000:
        raise ValueError("transposed (major/minor > 1000) files are read, not written")
    last = len(net.layers) - 1 if upto is None else upto
    with open(path, "wb") as f:
        f.write(struct.pack("<iii", major, minor, revision))
        f.write(struct.pack("<q" if _header_has_long_seen(major, minor) else "<i", seen))
        for layer in net.layers[: last + 1]:
            parts = _weights_parts(layer)
            if not parts:
                continue
            lw = weights[layer.index]
            for name, shape in parts:
                a = getattr(lw, name)
                if a is None or tuple(np.shape(a)) != shape:
                    raise ValueError(f"layer {layer.index}: {name} must have shape {shape}, got "
                                     f"{None if a is None else np.shape(a)}")
                f.write(np.ascontiguousarray(a, dtype="<f4").tobytes())
        return f.tell()


def random_weights(net: Network, seed: int = 0, upto: Optional[int] = None) -> Dict[int, LayerWeights]:
    """Deterministic pseudo-random weights for every layer with weights.

    He-style: weights ~ N(0, gain / fan_in) with gain 2 before leaky/relu-like
    activations and 1 otherwise (fan_in = c/groups * k * k, or the connected
    inputs). Biases ~ N(0, 0.05^2). Batch-norm statistics are mild but not
    trivial, so that a folding error shows: scales ~ U(0.8, 1.2),
    rolling means ~ N(0, 0.05^2), rolling variances ~ U(0.6, 1.4). Layer i's
    values depend only on (seed, i), not on a --layers cut.
    """
    last = len(net.layers) - 1 if upto is None else upto
    out: Dict[int, LayerWeights] = {}
    for layer in net.layers[: last + 1]:
        parts = _weights_parts(layer)
        if not parts:
            continue
        rng = np.random.default_rng([seed, layer.index, 0xDA7])
        lw = LayerWeights()
        for name, shape in parts:
            if name == "weights":
                fan_in = int(np.prod(shape[1:]))
                gain = 2.0 if layer.p.get("act") in _RELU_LIKE else 1.0
                a = rng.standard_normal(shape, dtype=np.float32) * np.float32(np.sqrt(gain / fan_in))
            elif name == "biases":
                a = rng.normal(0.0, 0.05, shape)
            elif name == "scales":
                a = rng.uniform(0.8, 1.2, shape)
            elif name == "mean":
                a = rng.normal(0.0, 0.05, shape)
            else:  # var
                a = rng.uniform(0.6, 1.4, shape)
            setattr(lw, name, np.asarray(a, dtype=np.float32))
        out[layer.index] = lw
    return out


def fold_bn(lw: LayerWeights, bn: bool) -> Tuple[np.ndarray, np.ndarray]:
    """(weights, bias) with Darknet's inference batch-norm folded in (float64, then f32).

    ``s = scales / (sqrt(var) + BN_EPS)``; ``w' = w * s`` per output;
    ``b' = biases - mean * s``.
    """
    w = lw.weights.astype(np.float64)
    b = lw.biases.astype(np.float64)
    if bn:
        s = lw.scales.astype(np.float64) / (np.sqrt(lw.var.astype(np.float64)) + BN_EPS)
        w = w * s.reshape((-1,) + (1,) * (w.ndim - 1))
        b = b - lw.mean.astype(np.float64) * s
    return w.astype(np.float32), b.astype(np.float32)


# ----------------------------------------------------------------------------
# Emission
# ----------------------------------------------------------------------------


def parse_layer_range(text: str, n_layers: Optional[int] = None) -> Tuple[int, int]:
    """``"A-B"`` (or ``"B"`` = 0-B) -> (A, B), checked against the layer count."""
    m = re.fullmatch(r"\s*(\d+)\s*(?:-\s*(\d+)\s*)?", text or "")
    if not m:
        raise ImporterError(f"--layers {text!r}: expected FIRST-LAST, e.g. 0-15")
    a, b = (int(m.group(1)), int(m.group(2))) if m.group(2) is not None else (0, int(m.group(1)))
    if a > b:
        raise ImporterError(f"--layers {text}: FIRST {a} is after LAST {b}")
    if n_layers is not None and b >= n_layers:
        raise ImporterError(f"--layers {text}: the network has {n_layers} layers (0-{n_layers - 1})")
    return a, b


def parse_input_size(text: str) -> Tuple[int, int]:
    """``"HxW"`` or ``"N"`` (square) -> (h, w)."""
    m = re.fullmatch(r"\s*(\d+)\s*(?:[xX,]\s*(\d+)\s*)?", text or "")
    if not m:
        raise ImporterError(f"--input-size {text!r}: expected HxW, e.g. 416x416")
    h = int(m.group(1))
    w = int(m.group(2)) if m.group(2) is not None else h
    if h <= 0 or w <= 0:
        raise ImporterError(f"--input-size {text}: sizes must be positive")
    return h, w


def output_layers(net: Network, first: int, last: int) -> List[Tuple[int, str]]:
    """(layer index, output name) of the model outputs (see the module doc)."""
    n = len(net.layers)
    if (first, last) != (0, n - 1):
        return [(last, "output")]
    end = n - 1
    while end > 0 and net.layers[end].type == "cost":  # Darknet's get_network_output skips [cost]
        end -= 1
    outs = [(i, f"{net.layers[i].type}{i}") for i in net.detection_layers()]
    if net.layers[end].type not in ("region", "yolo"):
        outs.append((end, "output"))
    return outs


def emit_network(net: Network, weights: Dict[int, LayerWeights], layers: Optional[Tuple[int, int]] = None,
                 resource_threshold: int = 64 * 1024) -> DarknetEmitter:
    """Emits layers first..last of ``net`` (default: all) with ``weights``; returns the emitter."""
    n = len(net.layers)
    first, last = (0, n - 1) if layers is None else layers
    if not (0 <= first <= last < n):
        raise ImporterError(f"--layers {first}-{last}: the network has {n} layers (0-{n - 1})")
    em = DarknetEmitter(net.name, resource_threshold)
    in_shape = net.layers[first].in_shape if first > 0 else net.input_shape
    c, h, w = in_shape
    x0 = em.input((1, h, w, c), name="image" if first == 0 else f"L{first - 1}")
    vals: Dict[int, object] = {first - 1: x0}

    def get(layer: Layer, j: int):
        if j not in vals:
            raise layer.err(f"refers to layer {j}, outside the imported range {first}-{last}")
        return vals[j]

    for layer in net.layers[first: last + 1]:
        i, t, p = layer.index, layer.type, layer.p
        try:
            xs = [get(layer, j) for j in layer.srcs]
            x = xs[0]
            if t == "convolutional":
                lw = weights[i]
                wf, b = fold_bn(lw, p["bn"])
                act = _ACTS[p["act"]]
                g, pad = p["groups"], p["padding"]
                cin = x.shape[3]
                if g == 1:
                    y = em.conv2d(x, wf.transpose(2, 3, 1, 0), b, p["stride"], pad, act=act, layer=i)
                elif g == cin and p["filters"] == cin:
                    y = em.depthwise_conv2d(x, wf[:, 0].transpose(1, 2, 0), b, p["stride"], pad, act=act, layer=i)
                else:
                    cg, fg = cin // g, p["filters"] // g
                    parts = []
                    for gi in range(g):
                        xg = em.slice_channels(x, gi * cg, cg, layer=i)
                        wg = wf[gi * fg:(gi + 1) * fg].transpose(2, 3, 1, 0)
                        parts.append(em.conv2d(xg, wg, b[gi * fg:(gi + 1) * fg], p["stride"], pad, act=act,
                                               layer=i, name=f"L{i}_g{gi}"))
                    y = em.concat(parts, layer=i)
            elif t == "maxpool":
                k, (sy, sx), P = p["size"], p["stride"], p["padding"]
                _, oh, ow = layer.out_shape
                lo = P // 2
                hi_h = max(0, (oh - 1) * sy + k - x.shape[1] - lo)
                hi_w = max(0, (ow - 1) * sx + k - x.shape[2] - lo)
                y = em.maxpool(x, k, (sy, sx), pad=(lo, hi_h, lo, hi_w), layer=i)
                if y.shape[1:3] != (oh, ow):  # pragma: no cover - guarded by build_network's arithmetic
                    raise layer.err(f"internal: maxpool output {y.shape} != Darknet's {oh}x{ow}")
            elif t == "avgpool":
                y = em.global_avgpool(x, layer=i)
            elif t == "route":
                g, gid = p["groups"], p["group_id"]
                if g > 1:
                    xs = [em.slice_channels(v, gid * (v.shape[3] // g), v.shape[3] // g, layer=i) for v in xs]
                y = xs[0] if len(xs) == 1 else em.concat(xs, layer=i)
            elif t == "reorg":
                y = em.reorg(x, p["stride"], layer=i)
            elif t == "shortcut":
                y = em.add_ext(xs[0], xs[1], _ACTS[p["act"]], layer=i)
            elif t == "upsample":
                y = em.upsample(x, p["stride"], p["scale"], layer=i)
            elif t == "connected":
                lw = weights[i]
                wf, b = fold_bn(lw, p["bn"])
                _, hh, ww, cc = x.shape
                # Darknet flattens (c, h, w); the emitter flattens NHWC (h, w, c).
                w_kn = wf.reshape(-1, cc, hh, ww).transpose(2, 3, 1, 0).reshape(hh * ww * cc, -1)
                y = em.dense(x, w_kn, b, _ACTS[p["act"]], layer=i)
                y = em.to_nhwc_vector(y, layer=i)
            elif t == "softmax":
                g, temp = p["groups"], p["temperature"]
                if g == 1:
                    y = em.softmax(x, temp, layer=i)
                else:
                    cg = x.shape[3] // g
                    y = em.concat([em.softmax(em.slice_channels(x, gi * cg, cg, layer=i), temp, layer=i)
                                   for gi in range(g)], layer=i)
            elif t == "batchnorm":
                lw = weights[i]
                s = lw.scales.astype(np.float64) / (np.sqrt(lw.var.astype(np.float64)) + BN_EPS)
                y = em.batchnorm(x, s.astype(np.float32), (-lw.mean * s).astype(np.float32), layer=i)
            elif t == "activation":
                y = em.activation_ext(x, _ACTS[p["act"]], layer=i)
            else:  # dropout, cost, region, yolo: pass the input through
                y = x
        except ImporterError:
            raise
        except (ValueError, KeyError) as e:
            raise layer.err(f"cannot emit: {e}") from None
        expect = layer.out_shape
        if tuple(y.shape) != (1, expect[1], expect[2], expect[0]):
            raise layer.err(f"internal: emitted shape {y.shape}, Darknet's {expect}")  # pragma: no cover
        vals[i] = y

    for j, name in output_layers(net, first, last):
        em.output(vals[j], name=name)
    return em


def _prepare(cfg_path: str, weights_path: Optional[str], input_size, layers, seed: int):
    net = load_network(cfg_path, input_size)
    n = len(net.layers)
    if isinstance(layers, str):
        layers = parse_layer_range(layers, n)
    if layers is not None:
        first, last = layers
        if not (0 <= first <= last < n):
            raise ImporterError(f"--layers {first}-{last}: the network has {n} layers (0-{n - 1})")
    last = n - 1 if layers is None else layers[1]
    if weights_path is not None:
        wf = read_weights(weights_path, net, upto=last)
        weights = wf.layers
        if wf.leftover_bytes and layers is None:
            net.warnings.append(f"{weights_path}: {wf.leftover_bytes} bytes after the last layer's weights "
                                f"were ignored")
    else:
        weights = random_weights(net, seed, upto=last)
    return net, weights, layers


def import_darknet(cfg_path: str, weights_path: Optional[str] = None,
                   input_size: Optional[Tuple[int, int]] = None,
                   layers: Union[None, str, Tuple[int, int]] = None, seed: int = 0,
                   resource_threshold: int = 64 * 1024) -> str:
    """MLIR text of a Darknet network (see the module doc for the conventions)."""
    net, weights, layers = _prepare(cfg_path, weights_path, input_size, layers, seed)
    return emit_network(net, weights, layers, resource_threshold).to_mlir()


def import_darknet_to_file(cfg_path: str, out_path: str, weights_path: Optional[str] = None,
                           input_size: Optional[Tuple[int, int]] = None,
                           layers: Union[None, str, Tuple[int, int]] = None, seed: int = 0,
                           resource_threshold: int = 64 * 1024) -> Network:
    """Like :func:`import_darknet` but streams the MLIR to ``out_path``; returns the network
    (its ``warnings`` list what was ignored)."""
    net, weights, layers = _prepare(cfg_path, weights_path, input_size, layers, seed)
    em = emit_network(net, weights, layers, resource_threshold)
    try:
        em.write(out_path)
    except OSError as e:
        raise ImporterError(f"cannot write {out_path}: {e.strerror or e}") from None
    return net
