"""The one exception importers raise for bad or unsupported input."""


class ImporterError(Exception):
    """A model file mafat cannot import: unsupported op/attribute, dynamic
    dimension, truncated or corrupt file. The message names the layer or
    node (e.g. "layer 12 [reorg]: stride 3 is not supported" or
    "node 'Conv_7' (Conv): dynamic input dimension 'batch'") and is printed
    as is by mafat-import, which then exits with status 1."""
