"""Module 11: Embedding and embedding (torch.nn.functional.embedding) against PyTorch.

The tables are copied from one library to the other, so values and gradients must agree
exactly, repeated ids and padding_idx included; the initialization is compared by its
statistics, and the errors by their kind.
"""

import numpy as np
from test_torch_crosscheck import case

TABLE = np.random.default_rng(110).standard_normal((7, 3)).astype(np.float32)
IDS = np.array([[1, 4, 4], [6, 1, 4]])  # id 4 three times, id 1 twice
UPSTREAM = np.random.default_rng(111).standard_normal((2, 3, 3)).astype(np.float32)


def _layer(lib, num, dim, **kwargs):
    """An Embedding of both libraries holding TABLE's numbers (the padding row kept as made)."""
    layer = lib.Embedding(num, dim, **kwargs)
    values = TABLE[:num, :dim].copy()
    if getattr(layer, "padding_idx", None) is not None:
        values[layer.padding_idx] = 0.0
    if lib.name == "torch":
        import torch

        with torch.no_grad():
            layer.weight.copy_(torch.tensor(values))
    else:
        layer.weight.data[...] = values
    return layer


def _ids(lib, array):
    return lib.tensor(np.asarray(array))


def _backward(lib, out, upstream):
    out.backward(lib.tensor(upstream) if lib.name == "torch" else upstream)


@case("Embedding", "Embedding.forward", label="Embedding: values and gradients, repeated ids")
def _embedding_layer(lib):
    layer = _layer(lib, 7, 3)
    out = layer(_ids(lib, IDS))
    _backward(lib, out, UPSTREAM)
    return {"out": out, "grad": layer.weight.grad, "dtype": layer.weight.dtype,
            "one id": layer(_ids(lib, np.int64(5)))}


@case("Embedding", "Embedding.forward", label="Embedding: padding_idx (positive and negative)")
def _embedding_padding(lib):
    results = {}
    for padding_idx in (4, -1):
        layer = lib.Embedding(7, 3, padding_idx=padding_idx)
        row = layer.padding_idx
        zero_at_start = bool(np.all(lib.to_numpy(layer.weight)[row] == 0))
        layer = _layer(lib, 7, 3, padding_idx=padding_idx)
        out = layer(_ids(lib, np.array([[row, 4], [6, row]])))
        _backward(lib, out, UPSTREAM[0, :, :2].T.reshape(2, 2, 3).copy())
        results[padding_idx] = {"row": row, "zero at start": zero_at_start, "out": out,
                                "grad": layer.weight.grad}
    return results


@case("Embedding", label="Embedding: N(0, 1) initialization statistics")
def _embedding_init(lib):
    values = lib.to_numpy(lib.Embedding(4000, 25).weight).astype(np.float64)
    return {"mean about 0": bool(abs(values.mean()) < 0.01),
            "std about 1": bool(abs(values.std() - 1.0) < 0.01),
            "shape": values.shape, "requires grad": bool(lib.Embedding(3, 2).weight.requires_grad)}


@case("Embedding", "Embedding.extra_repr", label="Embedding: extra_repr")
def _embedding_repr(lib):
    return [lib.Embedding(10, 4).extra_repr(), lib.Embedding(10, 4, padding_idx=0).extra_repr(),
            lib.Embedding(10, 4, padding_idx=-2).extra_repr()]


def _kind(fn):
    """What fn() raised: "ok", "IndexError", or "TypeError" for a refused dtype (PyTorch raises
    a RuntimeError there, tinytorch a TypeError, as for every wrong type in the course)."""
    try:
        fn()
    except IndexError:
        return "IndexError"
    except (TypeError, RuntimeError):
        return "TypeError"
    return "ok"


@case("Embedding", "Embedding.forward", "embedding", label="Embedding and embedding: errors")
def _embedding_errors(lib):
    layer = _layer(lib, 7, 3)
    table = lib.tensor(TABLE)
    return {
        "id 7 of 7": _kind(lambda: layer(_ids(lib, [0, 7]))),
        "id -1": _kind(lambda: layer(_ids(lib, [-1, 2]))),
        "float ids": _kind(lambda: layer(_ids(lib, np.array([1.0, 2.0])))),
        "float32 ids": _kind(lambda: lib.embedding(_ids(lib, np.array([1.0], np.float32)), table)),
        "bool ids": _kind(lambda: layer(_ids(lib, np.array([True, False])))),
        "int32 ids": _kind(lambda: layer(_ids(lib, np.array([1, 6], np.int32)))),
        "functional id 9": _kind(lambda: lib.embedding(_ids(lib, [9]), table)),
    }


@case("embedding", label="embedding (functional): values, gradients, padding_idx")
def _embedding_functional(lib):
    results = {}
    for padding_idx in (None, 1, -3):
        table = lib.tensor(TABLE.astype(np.float64), grad=True)
        out = lib.embedding(_ids(lib, IDS), table, padding_idx=padding_idx)
        _backward(lib, out, UPSTREAM.astype(np.float64))
        results[str(padding_idx)] = {"out": out, "grad": table.grad}
    int32 = lib.embedding(_ids(lib, IDS.astype(np.int32)), lib.tensor(TABLE))
    return results, int32, lib.embedding(_ids(lib, np.zeros((0, 2), np.int64)), lib.tensor(TABLE))
