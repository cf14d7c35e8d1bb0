"""Specification of tinytorch.core.embeddings (Module 11), tested on the exported package.

Loops over every id are the reference for values and gradients; central finite differences
(grad_check, in float64) check the backward rules, and PyTorch (when installed) the layer.
"""
import numpy as np
import pytest

from tinytorch.core.autograd import grad_check
from tinytorch.core.layers import Module, Sequential, manual_seed
from tinytorch.core.embeddings import (Embedding, LearnedPositionalEmbedding,
                                       SinusoidalPositionalEncoding, embedding,
                                       sinusoidal_positions)
from tinytorch.core.tensor import Tensor


def f64(array, requires_grad=True):
    return Tensor(array, dtype=np.float64, requires_grad=requires_grad)


def summed_rows(ids, upstream, rows, padding_idx=None):
    """The weight gradient of a lookup, one id at a time."""
    out = np.zeros((rows, upstream.shape[-1]))
    for place, i in np.ndenumerate(np.asarray(ids)):
        out[i] += upstream[place]
    if padding_idx is not None:
        out[padding_idx] = 0.0
    return out


RNG = np.random.default_rng(11)


# ----- embedding: the lookup and its checks -----------------------------------------------------
@pytest.mark.parametrize("shape", [(5,), (3, 4), (2, 3, 2), ()])
def test_embedding_looks_up_rows_for_ids_of_any_shape(shape):
    table = Tensor(RNG.standard_normal((7, 3)).astype(np.float32), requires_grad=True)
    ids = RNG.integers(0, 7, size=shape)
    out = embedding(ids, table)
    assert out.shape == shape + (3,) and out.dtype == np.float32
    np.testing.assert_array_equal(out.data, table.data[ids])


@pytest.mark.parametrize("make", [lambda a: a.astype(np.int32), lambda a: a.astype(np.int64),
                                  lambda a: Tensor(a), lambda a: a.tolist()])
def test_embedding_takes_int32_int64_tensors_and_lists(make):
    table = Tensor(np.arange(12.0).reshape(4, 3))
    ids = np.array([[3, 0], [1, 1]])
    np.testing.assert_array_equal(embedding(make(ids), table).data, table.data[ids])


def test_embedding_records_its_input_and_saves_int64_ids():
    table = Tensor(np.ones((4, 2)), requires_grad=True)
    out = embedding(np.array([0, 3], dtype=np.int32), table, padding_idx=-2)
    assert out.requires_grad and out.op == "embedding" and out.inputs == (table,)
    assert out.saved["indices"].dtype == np.int64 and out.saved["padding_idx"] == 2


def test_embedding_of_a_numpy_table_and_of_no_ids():
    assert embedding([1], np.eye(3)).shape == (1, 3)
    assert embedding(np.zeros((2, 0), dtype=np.int64), Tensor(np.eye(3))).shape == (2, 0, 3)


@pytest.mark.parametrize("make_ids", [lambda: np.array([0.0, 1.0]), lambda: np.array([1.0], dtype=np.float32),
                                      lambda: np.array([True]), lambda: [0.5], lambda: Tensor(np.array([2.0]))],
                         ids=["float64", "float32", "bool", "float list", "float Tensor"])
def test_float_and_bool_ids_are_type_errors(make_ids):
    ids = make_ids()  # made in the test, not while the file loads: a stub fails this test only
    with pytest.raises(TypeError):
        embedding(ids, Tensor(np.eye(3)))


def test_the_type_error_names_the_dtype():
    with pytest.raises(TypeError, match="float32"):
        embedding(np.array([1.0], dtype=np.float32), Tensor(np.eye(3)))


@pytest.mark.parametrize("bad", [3, 7, -1, -4])
def test_ids_outside_the_table_are_index_errors_that_name_them(bad):
    with pytest.raises(IndexError, match=str(bad)):
        embedding(np.array([[0, 1], [bad, 2]]), Tensor(np.eye(3)))


def test_the_index_error_names_num_embeddings():
    with pytest.raises(IndexError, match="5"):
        embedding([9], Tensor(np.zeros((5, 2))))


def test_bad_tables_and_padding_rows_are_value_errors():
    with pytest.raises(ValueError):
        embedding([0], Tensor(np.zeros(3)))
    for bad in (3, -4, 1.0, True):
        with pytest.raises(ValueError):
            embedding([0], Tensor(np.zeros((3, 2))), padding_idx=bad)


def test_the_ids_are_left_unchanged():
    ids = np.array([2, 0, 1], dtype=np.int32)
    embedding(ids, Tensor(np.eye(3)))
    np.testing.assert_array_equal(ids, [2, 0, 1])


# ----- the backward rule ------------------------------------------------------------------------
def test_repeated_ids_add_their_gradients():
    table = f64(RNG.standard_normal((6, 3)))
    ids = np.array([[4, 4, 1], [4, 0, 1]])
    upstream = RNG.standard_normal((2, 3, 3))
    embedding(ids, table).backward(upstream)
    np.testing.assert_allclose(table.grad.data, summed_rows(ids, upstream, 6))


def test_embedding_gradients_match_finite_differences():
    ids = RNG.integers(0, 5, size=(3, 4))
    grad_check(lambda w: embedding(ids, w), f64(RNG.standard_normal((5, 2))), what="embedding")
    grad_check(lambda w: embedding(np.array([1, 1, 1]), w) ** 2, f64(RNG.standard_normal((2, 3))),
               what="embedding squared")


@pytest.mark.parametrize("padding_idx, row", [(0, 0), (2, 2), (-1, 3)])
def test_the_padding_row_gets_no_gradient(padding_idx, row):
    table = f64(RNG.standard_normal((4, 2)))
    ids = np.array([0, 2, 3, 3, 1])
    upstream = RNG.standard_normal((5, 2))
    embedding(ids, table, padding_idx=padding_idx).backward(upstream)
    np.testing.assert_allclose(table.grad.data, summed_rows(ids, upstream, 4, row))


def test_the_gradient_keeps_the_table_dtype_and_accumulates():
    table = Tensor(np.zeros((3, 2), dtype=np.float32), requires_grad=True)
    embedding([1, 1], table).sum().backward()
    embedding([1, 2], table).sum().backward()
    assert table.grad.dtype == np.float32
    np.testing.assert_array_equal(table.grad.data, [[0, 0], [3, 3], [1, 1]])


# ----- the Embedding layer ----------------------------------------------------------------------
def test_embedding_layer_parameters_and_initialization():
    layer = Embedding(12, 5, rng=3)
    assert isinstance(layer, Module) and [n for n, _ in layer.named_parameters()] == ["weight"]
    assert layer.weight.shape == (12, 5) and layer.weight.dtype == np.float32 and layer.weight.requires_grad
    np.testing.assert_array_equal(layer.weight.data,
                                  np.random.default_rng(3).standard_normal((12, 5)).astype(np.float32))
    assert (layer.num_embeddings, layer.embedding_dim, layer.padding_idx) == (12, 5, None)


def test_embedding_layer_is_standard_normal():
    values = Embedding(2000, 50, rng=0).weight.data
    assert abs(values.mean()) < 0.01 and abs(values.std() - 1.0) < 0.01


def test_embedding_layer_follows_manual_seed_and_generators():
    manual_seed(1)
    a = Embedding(4, 3).weight.data.copy()
    manual_seed(1)
    np.testing.assert_array_equal(Embedding(4, 3).weight.data, a)
    generator = np.random.default_rng(0)
    assert not np.array_equal(Embedding(4, 3, rng=generator).weight.data,
                              Embedding(4, 3, rng=generator).weight.data)


@pytest.mark.parametrize("padding_idx, row", [(1, 1), (-1, 5)])
def test_embedding_layer_padding_row_starts_at_zero_and_stays_there(padding_idx, row):
    layer = Embedding(6, 4, padding_idx=padding_idx, rng=0)
    assert layer.padding_idx == row
    np.testing.assert_array_equal(layer.weight.data[row], np.zeros(4))
    layer(np.array([[row, 2], [row, row]])).sum().backward()
    np.testing.assert_array_equal(layer.weight.grad.data[row], np.zeros(4))
    np.testing.assert_array_equal(layer.weight.grad.data[2], np.ones(4))


def test_embedding_layer_forward_and_repr():
    layer = Embedding(6, 4, rng=0)
    ids = np.array([[5, 0, 5]])
    np.testing.assert_array_equal(layer(ids).data, layer.weight.data[ids])
    assert repr(layer) == "Embedding(6, 4)"
    assert repr(Embedding(6, 4, padding_idx=-2)) == "Embedding(6, 4, padding_idx=4)"
    with pytest.raises(IndexError):
        layer([6])


@pytest.mark.parametrize("args", [(0, 4), (4, 0), (2.0, 3), (True, 3), (3, -1)])
def test_embedding_layer_sizes_must_be_positive_integers(args):
    with pytest.raises(ValueError):
        Embedding(*args)


def test_embedding_layer_trains_in_a_sequential():
    from tinytorch.core.layers import Linear
    from tinytorch.core.losses import CrossEntropyLoss
    from tinytorch.core.optimizers import Adam
    model = Sequential(Embedding(8, 4, rng=0), Linear(4, 2, rng=0))
    ids, labels = np.arange(8), np.arange(8) % 2
    optimizer = Adam(model.parameters(), lr=0.1)
    for _ in range(60):
        optimizer.zero_grad()
        loss = CrossEntropyLoss()(model(ids), labels)
        loss.backward()
        optimizer.step()
    assert float(loss.data) < 0.05


# ----- positions --------------------------------------------------------------------------------
def positions_by_loops(max_len, dim):
    table = np.zeros((max_len, dim))
    for p in range(max_len):
        for c in range(dim):
            angle = p / 10000 ** (2 * (c // 2) / dim)
            table[p, c] = np.sin(angle) if c % 2 == 0 else np.cos(angle)
    return table


@pytest.mark.parametrize("max_len, dim", [(30, 12), (5, 3), (4, 1), (100, 64)])
def test_sinusoidal_positions_follow_the_formula(max_len, dim):
    got = sinusoidal_positions(max_len, dim)
    assert got.shape == (max_len, dim) and got.dtype == np.float32
    np.testing.assert_allclose(got, positions_by_loops(max_len, dim), atol=2e-6)


@pytest.mark.parametrize("args", [(0, 4), (4, 0), (3.0, 4), (4, None)])
def test_sinusoidal_positions_need_positive_sizes(args):
    with pytest.raises(ValueError):
        sinusoidal_positions(*args)


def test_sinusoidal_dot_products_depend_only_on_the_offset():
    table = sinusoidal_positions(40, 32).astype(np.float64)
    sims = table @ table.T
    for k in (1, 5, 17):
        diagonal = np.diagonal(sims, offset=k)
        assert np.ptp(diagonal) < 1e-4


def test_sinusoidal_encoding_adds_the_first_rows():
    layer = SinusoidalPositionalEncoding(20, 6)
    assert list(layer.parameters()) == []
    np.testing.assert_array_equal(layer.table, sinusoidal_positions(20, 6))
    x = RNG.standard_normal((3, 7, 6)).astype(np.float32)
    out = layer(Tensor(x))
    assert out.shape == (3, 7, 6) and out.dtype == np.float32
    np.testing.assert_allclose(out.data, x + sinusoidal_positions(20, 6)[:7])
    np.testing.assert_allclose(layer(x[1]).data, x[1] + sinusoidal_positions(20, 6)[:7])
    assert "max_len=20" in repr(layer)


def test_sinusoidal_encoding_passes_gradients_to_its_input():
    layer = SinusoidalPositionalEncoding(8, 4)
    grad_check(lambda x: layer(x) * layer(x), f64(RNG.standard_normal((2, 8, 4))),
               what="SinusoidalPositionalEncoding")


def test_learned_positions_are_a_parameter_added_row_by_row():
    layer = LearnedPositionalEmbedding(10, 4, rng=2)
    assert [n for n, _ in layer.named_parameters()] == ["weight"]
    assert layer.weight.shape == (10, 4) and layer.weight.dtype == np.float32
    np.testing.assert_array_equal(layer.weight.data,
                                  np.random.default_rng(2).standard_normal((10, 4)).astype(np.float32))
    x = f64(RNG.standard_normal((2, 6, 4)))
    out = layer(x)
    np.testing.assert_allclose(out.data, x.data + layer.weight.data[:6])
    upstream = RNG.standard_normal((2, 6, 4))
    out.backward(upstream)
    np.testing.assert_allclose(layer.weight.grad.data[:6], upstream.sum(axis=0))
    np.testing.assert_array_equal(layer.weight.grad.data[6:], np.zeros((4, 4)))
    np.testing.assert_allclose(x.grad.data, upstream)


def test_learned_positions_gradient_matches_finite_differences():
    layer = LearnedPositionalEmbedding(5, 3, rng=0)
    layer.weight = f64(layer.weight.data)
    grad_check(lambda x: layer(x) ** 2, f64(RNG.standard_normal((2, 5, 3))),
               what="LearnedPositionalEmbedding input")

    def through_table(w):
        layer.weight = w
        return layer(Tensor(np.ones((2, 4, 3)), dtype=np.float64)) ** 2

    grad_check(through_table, f64(RNG.standard_normal((5, 3))), what="LearnedPositionalEmbedding weight")


@pytest.mark.parametrize("make", [lambda: SinusoidalPositionalEncoding(6, 4),
                                  lambda: LearnedPositionalEmbedding(6, 4, rng=0)])
def test_positions_refuse_long_sequences_and_wrong_widths(make):
    layer = make()
    name = type(layer).__name__
    assert layer(np.zeros((1, 6, 4))).shape == (1, 6, 4)
    with pytest.raises(ValueError, match=name) as error:
        layer(np.zeros((1, 7, 4)))
    assert "7" in str(error.value) and "6" in str(error.value)
    with pytest.raises(ValueError, match=r"\(2, 3, 5\)"):
        layer(np.zeros((2, 3, 5)))
    with pytest.raises(ValueError):
        layer(np.zeros(4))


def test_token_and_position_vectors_together_make_the_input_of_attention():
    tokens, positions = Embedding(11, 8, padding_idx=0, rng=0), LearnedPositionalEmbedding(16, 8, rng=1)
    ids = np.array([[3, 4, 5, 0, 0], [7, 7, 7, 7, 1]])
    x = positions(tokens(ids))
    assert x.shape == (2, 5, 8) and x.dtype == np.float32
    x.sum().backward()
    np.testing.assert_array_equal(tokens.weight.grad.data[7], np.full(8, 4.0))
    np.testing.assert_array_equal(tokens.weight.grad.data[0], np.zeros(8))
    np.testing.assert_array_equal(positions.weight.grad.data[:5], np.full((5, 8), 2.0))


def test_against_torch_embedding():
    torch = pytest.importorskip("torch", reason="PyTorch is optional: install torch==2.13.0 to cross-check")
    ours = Embedding(9, 3, padding_idx=2, rng=0)
    theirs = torch.nn.Embedding(9, 3, padding_idx=2)
    with torch.no_grad():
        theirs.weight.copy_(torch.tensor(ours.weight.data))
    ids = np.array([[2, 5, 5], [8, 2, 5]])
    upstream = RNG.standard_normal((2, 3, 3)).astype(np.float32)
    out = ours(ids)
    out.backward(upstream)
    expected = theirs(torch.tensor(ids))
    expected.backward(torch.tensor(upstream))
    np.testing.assert_allclose(out.data, expected.detach().numpy())
    np.testing.assert_allclose(ours.weight.grad.data, theirs.weight.grad.numpy(), atol=1e-6)
