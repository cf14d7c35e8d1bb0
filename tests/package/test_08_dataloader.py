"""Specification of tinytorch.data.loader (Module 08), tested on the exported package.

Datasets, the DataLoader's epochs and batches, both ways of fetching a batch, transforms and
the ASCII renderer. PyTorch's DataLoader is the reference for batch counts and sizes.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

from tinytorch import Tensor
from tinytorch.data.loader import (Compose, DataLoader, Dataset, Normalize, NpyDataset,
                                   RandomCrop, RandomHorizontalFlip, Subset, TensorDataset,
                                   default_collate, load_tiny, random_split, render_ascii,
                                   split_loaders)


@pytest.fixture(scope="module")
def digits():
    images, labels = load_tiny("digits_8x8")
    return images, labels


@pytest.fixture
def dataset(digits):
    return TensorDataset(Tensor(digits[0]), Tensor(digits[1]))


def with_ids(digits) -> TensorDataset:
    """The digits plus a third tensor holding each sample's index, to trace where it came from."""
    images, labels = digits
    return TensorDataset(Tensor(images), Tensor(labels), Tensor(np.arange(len(labels))))


def epoch_ids(loader, digits) -> np.ndarray:
    """The sample ids of one epoch in the order served, checking images and labels on the way."""
    images, labels = digits
    ids = []
    for x, y, i in loader:
        np.testing.assert_array_equal(x.data, images[i.data])
        np.testing.assert_array_equal(y.data, labels[i.data])
        ids.append(i.data)
    return np.concatenate(ids) if ids else np.zeros(0, dtype=np.int64)


class Counting(TensorDataset):
    def __init__(self, *tensors):
        super().__init__(*tensors)
        self.batch_calls = self.sample_calls = 0

    def __getitem__(self, index):
        self.sample_calls += 1
        return super().__getitem__(index)

    def get_batch(self, indices):
        self.batch_calls += 1
        return super().get_batch(indices)


# ----- datasets ----------------------------------------------------------------------------

def test_dataset_is_abstract():
    with pytest.raises(TypeError):
        Dataset()


def test_tensor_dataset_samples_and_batches(dataset, digits):
    images, labels = digits
    assert len(dataset) == 1797
    image, label = dataset[-1]
    assert (image.shape, image.dtype, label.shape, label.dtype) == ((8, 8), np.float32, (), np.int64)
    np.testing.assert_array_equal(image.data, images[-1])
    first = dataset[-1797]  # negative indices count from the end, down to -len(dataset)
    np.testing.assert_array_equal(first[0].data, images[0])
    assert first[1].item() == labels[0]
    batch = dataset.get_batch(np.array([7, 7, 0]))
    np.testing.assert_array_equal(batch[0].data, images[[7, 7, 0]])
    np.testing.assert_array_equal(batch[1].data, labels[[7, 7, 0]])
    assert not np.shares_memory(batch[0].data, dataset.tensors[0].data)


@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.int64, np.bool_])
def test_every_dtype_is_kept(dtype):
    ds = TensorDataset(Tensor(np.ones((5, 2)), dtype=dtype), Tensor(np.arange(5)))
    assert ds[0][0].dtype == dtype and ds.get_batch([0, 1])[0].dtype == dtype
    assert next(iter(DataLoader(ds, batch_size=2)))[0].dtype == dtype
    assert next(iter(DataLoader(ds, batch_size=2, collate_fn=default_collate)))[0].dtype == dtype


@pytest.mark.parametrize("make_args, error, numbers, words", [
    (lambda: (), ValueError, [], []),
    (lambda: (np.zeros(3), ), TypeError, ["0"], ["ndarray"]),      # its position and its type
    (lambda: (Tensor(np.zeros(3)), [1, 2, 3]), TypeError, ["1"], ["list"]),
    (lambda: (Tensor(1.0), ), ValueError, [], []),
    (lambda: (Tensor(np.zeros((4, 2))), Tensor(np.zeros(3))), ValueError, ["4", "3"], []),  # every length
])
def test_tensor_dataset_rejects_bad_input(make_args, error, numbers, words):
    """The docstring promises the error type, and for a wrong type its position and type name,
    for unequal lengths every length; nothing about the wording."""
    args = make_args()  # built in the test: a stub Tensor fails this test, not the file's loading
    with pytest.raises(error) as raised:
        TensorDataset(*args)
    message = str(raised.value)
    missing = [n for n in numbers if n not in re.findall(r"\d+", message)]
    missing += [w for w in words if w not in message]
    assert not missing, f"the message should name {missing}; it was: {message!r}"


@pytest.mark.parametrize("index, error", [(1797, IndexError), (-1798, IndexError), (1.0, TypeError),
                                          (slice(0, 2), TypeError)])
def test_bad_sample_index(dataset, index, error):
    with pytest.raises(error, match=str(index) if error is IndexError else None):
        dataset[index]


@pytest.mark.parametrize("indices, error", [(np.array([0, 1797]), IndexError), (np.array([0.0]), TypeError),
                                            (np.zeros((2, 2), dtype=int), TypeError)])
def test_bad_batch_indices(dataset, indices, error):
    with pytest.raises(error):
        dataset.get_batch(indices)


def test_default_collate_stacks_position_by_position():
    batch = default_collate([(Tensor([1.0, 2.0]), 3), (Tensor([4.0, 5.0]), 6)])
    assert batch[0].shape == (2, 2) and batch[0].dtype == np.float32
    assert batch[1].data.tolist() == [3, 6] and batch[1].dtype == np.int64
    assert default_collate([np.zeros(3), np.ones(3)]).shape == (2, 3)


def test_default_collate_of_one_sample_is_a_batch_of_one():
    x, y = default_collate([(Tensor([1.0, 2.0]), 3)])
    assert (x.shape, y.shape) == ((1, 2), (1,)) and y.data.tolist() == [3]
    assert default_collate([Tensor([[5.0]])]).shape == (1, 1, 1)


# ----- the DataLoader --------------------------------------------------------------------------

@pytest.mark.parametrize("n", [1, 5, 31, 32, 33, 1797])
@pytest.mark.parametrize("batch_size", [1, 7, 32, 5000])
@pytest.mark.parametrize("drop_last", [False, True])
def test_batch_count_and_sizes(n, batch_size, drop_last):
    ds = TensorDataset(Tensor(np.arange(n, dtype=np.float32)))
    loader = DataLoader(ds, batch_size=batch_size, shuffle=True, drop_last=drop_last, seed=0)
    sizes = [len(batch[0]) for batch in loader]
    full, rest = divmod(n, batch_size)
    expected = [batch_size] * full + ([] if drop_last or rest == 0 else [rest])
    assert sizes == expected and len(loader) == len(expected)


def test_the_default_batch_size_is_one_as_in_pytorch(dataset):
    loader = DataLoader(dataset)
    first = next(iter(loader))
    assert len(loader) == 1797 and (first[0].shape, first[1].shape) == ((1, 8, 8), (1,))
    assert (loader.batch_size, loader.shuffle, loader.drop_last) == (1, False, False)


def test_digits_epoch_at_batch_32(dataset):
    loader = DataLoader(dataset, batch_size=32, shuffle=True, seed=0)
    shapes = [(x.shape, y.shape, x.dtype, y.dtype) for x, y in loader]
    assert len(loader) == len(shapes) == 57
    assert shapes[:56] == [((32, 8, 8), (32,), np.float32, np.int64)] * 56
    assert shapes[56] == ((5, 8, 8), (5,), np.float32, np.int64)
    assert len(DataLoader(dataset, batch_size=32, drop_last=True)) == 56


def test_epochs_visit_every_sample_once_in_a_fresh_order(digits):
    loader = DataLoader(with_ids(digits), batch_size=32, shuffle=True, seed=0)
    epochs = [epoch_ids(loader, digits) for _ in range(3)]
    for order in epochs:
        np.testing.assert_array_equal(np.sort(order), np.arange(1797))
    assert not np.array_equal(epochs[0], np.arange(1797))
    assert len({order.tobytes() for order in epochs}) == 3


def test_same_seed_same_sequence_of_epochs(digits):
    def two_epochs(**randomness):
        loader = DataLoader(with_ids(digits), batch_size=50, shuffle=True, **randomness)
        return [epoch_ids(loader, digits) for _ in range(2)]

    a, b = two_epochs(seed=3), two_epochs(seed=3)
    assert all(np.array_equal(x, y) for x, y in zip(a, b))
    assert all(np.array_equal(x, y) for x, y in zip(a, two_epochs(generator=np.random.default_rng(3))))
    assert not np.array_equal(a[0], two_epochs(seed=4)[0])
    unseeded = two_epochs()[0]
    assert not np.array_equal(unseeded, two_epochs()[0])  # unseeded: a different run
    assert not np.array_equal(unseeded, two_epochs(seed=0)[0])  # and not seed 0


def test_without_shuffle_the_order_is_the_dataset_order(digits):
    loader = DataLoader(with_ids(digits), batch_size=100)
    for _pass in range(2):
        np.testing.assert_array_equal(epoch_ids(loader, digits), np.arange(1797))


def test_batched_fetch_asks_the_dataset_once_per_batch(digits):
    counting = Counting(Tensor(digits[0]), Tensor(digits[1]))
    for _ in DataLoader(counting, batch_size=32, shuffle=True, seed=0):
        pass
    assert (counting.batch_calls, counting.sample_calls) == (57, 0)


def test_collate_fn_means_per_sample_fetch_with_the_same_batches(digits):
    counting = Counting(Tensor(digits[0]), Tensor(digits[1]))
    seen = []

    def collate(samples):
        seen.append(len(samples))
        return default_collate(samples)

    per_sample = list(DataLoader(counting, batch_size=400, shuffle=True, seed=1, collate_fn=collate))
    batched = list(DataLoader(counting, batch_size=400, shuffle=True, seed=1))
    assert seen == [400, 400, 400, 400, 197]
    assert counting.sample_calls == 1797 and counting.batch_calls == 5
    for p, b in zip(per_sample, batched):
        np.testing.assert_array_equal(p[0].data, b[0].data)
        np.testing.assert_array_equal(p[1].data, b[1].data)


def test_any_sequence_is_a_dataset():
    class Pairs(Dataset):
        def __len__(self):
            return 5

        def __getitem__(self, index):
            return np.full(2, index, dtype=np.float32), index

    x, y = list(DataLoader(Pairs(), batch_size=3))[1]
    assert x.data.tolist() == [[3.0, 3.0], [4.0, 4.0]] and y.data.tolist() == [3, 4]
    assert list(DataLoader([Tensor([1.0]), Tensor([2.0])], batch_size=2))[0].shape == (2, 1)


@pytest.mark.parametrize("kwargs, error", [
    ({"batch_size": 0}, ValueError), ({"batch_size": -3}, ValueError),
    ({"batch_size": 2.5}, TypeError), ({"batch_size": "32"}, TypeError),
    ({"batch_size": True}, TypeError), ({"batch_size": None}, TypeError),
    ({"seed": 0, "generator": np.random.default_rng(0)}, ValueError),
    ({"seed": "0"}, TypeError), ({"generator": 0}, TypeError),
    ({"collate_fn": 1}, TypeError), ({"transform": "flip"}, TypeError),
])
def test_loader_rejects_bad_arguments(dataset, kwargs, error):
    with pytest.raises(error):
        DataLoader(dataset, **kwargs)


def test_loader_rejects_empty_and_non_datasets():
    empty = TensorDataset(Tensor(np.zeros((0, 3))))
    with pytest.raises(ValueError, match="empty"):
        DataLoader(empty, batch_size=4)
    with pytest.raises(TypeError):
        DataLoader(42)


def test_matches_pytorch_batch_counts_and_contents(digits):
    torch = pytest.importorskip("torch", reason="PyTorch is optional: install torch==2.13.0 to cross-check")
    from torch.utils.data import DataLoader as TorchLoader, TensorDataset as TorchDataset

    images, labels = digits
    ours_ds = TensorDataset(Tensor(images), Tensor(labels))
    theirs_ds = TorchDataset(torch.from_numpy(images), torch.from_numpy(labels))
    for batch_size in (1, 32, 100, 1797, 4000):
        for drop_last in (False, True):
            ours = list(DataLoader(ours_ds, batch_size=batch_size, drop_last=drop_last))
            theirs = list(TorchLoader(theirs_ds, batch_size=batch_size, drop_last=drop_last))
            assert len(DataLoader(ours_ds, batch_size, drop_last=drop_last)) == len(
                TorchLoader(theirs_ds, batch_size=batch_size, drop_last=drop_last))
            assert len(ours) == len(theirs)
            for (x, y), (tx, ty) in zip(ours, theirs):
                np.testing.assert_array_equal(x.data, tx.numpy())
                np.testing.assert_array_equal(y.data, ty.numpy())
                assert str(x.dtype) == str(tx.dtype).removeprefix("torch.")
                assert str(y.dtype) == str(ty.dtype).removeprefix("torch.")


# ----- transforms ------------------------------------------------------------------------------

@pytest.fixture
def chw():
    return Tensor(np.random.default_rng(0).random((16, 3, 6, 7)).astype(np.float32))


def test_flip_reverses_the_width_per_image_of_a_batch(digits, chw):
    x = Tensor(digits[0][:100, None])  # (100, 1, 8, 8): a batch of grey images
    np.testing.assert_array_equal(RandomHorizontalFlip(1.0)(x).data, digits[0][:100, None, :, ::-1])
    np.testing.assert_array_equal(RandomHorizontalFlip(1.0)(chw).data, chw.data[..., ::-1])
    out = RandomHorizontalFlip()(chw, np.random.default_rng(1)).data
    flipped = (out == chw.data[..., ::-1]).all(axis=(2, 3))
    kept = (out == chw.data).all(axis=(2, 3))
    assert (flipped.all(axis=1) | kept.all(axis=1)).all() and 0 < flipped.all(axis=1).sum() < 16


def test_flip_matches_torch_flip(chw):
    torch = pytest.importorskip("torch", reason="PyTorch is optional: install torch==2.13.0 to cross-check")
    np.testing.assert_array_equal(RandomHorizontalFlip(1.0)(chw).data,
                                  torch.flip(torch.from_numpy(chw.data), dims=[-1]).numpy())
    image = chw.data[0]  # torchvision's hflip of one image (C, H, W) is torch.flip(img, [-1])
    np.testing.assert_array_equal(RandomHorizontalFlip(1.0)(Tensor(image)).data,
                                  torch.flip(torch.from_numpy(image), dims=[-1]).numpy())


@pytest.mark.parametrize("shape", [(3, 6, 7), (1, 6, 7), (6, 7)], ids=["colour", "grey C=1", "grey H W"])
def test_one_image_flips_as_a_whole_with_one_random_number(shape):
    """As torchvision: one coin for the image, every channel mirrored with it."""
    image = Tensor(np.random.default_rng(0).random(shape).astype(np.float32))
    flips = 0
    for seed in range(40):
        rng = np.random.default_rng(seed)
        out = RandomHorizontalFlip()(image, rng).data
        expected_flip = np.random.default_rng(seed).random(1)[0] < 0.5
        expected = image.data[..., ::-1] if expected_flip else image.data
        np.testing.assert_array_equal(out, expected, err_msg=f"seed {seed}: one image, one number")
        assert rng.random() == np.random.default_rng(seed).random(2)[1], "one image draws one number"
        flips += expected_flip
    assert 5 < flips < 35


def test_a_batch_without_a_channel_axis_is_one_image_of_n_channels(digits):
    """(N, H, W) cannot be told from (C, H, W): it is one image, so its digits flip together."""
    x = Tensor(digits[0][:16])
    for seed in range(6):
        out = RandomHorizontalFlip()(x, np.random.default_rng(seed)).data
        assert np.array_equal(out, x.data) or np.array_equal(out, x.data[..., ::-1])


def test_crop_cuts_one_window_from_one_image():
    image = np.random.default_rng(0).random((3, 6, 7)).astype(np.float32)
    rng = np.random.default_rng(3)
    top, left = rng.integers(0, 5, size=1)[0], rng.integers(0, 5, size=1)[0]
    out = RandomCrop((4, 5), padding=1)(Tensor(image), np.random.default_rng(3)).data
    padded = np.pad(image, ((0, 0), (1, 1), (1, 1)))
    np.testing.assert_array_equal(out, padded[:, top:top + 4, left:left + 5])
    grey = RandomCrop(5, padding=2)(Tensor(image[0]), np.random.default_rng(1))
    assert grey.shape == (5, 5)


def test_per_channel_normalize_of_one_image():
    image = np.random.default_rng(0).random((3, 4, 5)).astype(np.float32)
    mean, std = [0.5, 0.4, 0.3], [0.2, 0.25, 0.5]
    out = Normalize(mean, std)(Tensor(image)).data
    np.testing.assert_allclose(out, (image - np.reshape(mean, (3, 1, 1))) / np.reshape(std, (3, 1, 1)),
                               rtol=1e-6)


def test_crop_cuts_windows_of_the_padded_images(digits, chw):
    x = Tensor(digits[0][:200, None])
    out = RandomCrop(8, padding=3)(x, np.random.default_rng(0)).data[:, 0]
    windows = np.lib.stride_tricks.sliding_window_view(np.pad(digits[0][:200], ((0, 0), (3, 3), (3, 3))),
                                                       (8, 8), axis=(1, 2))
    found = (windows == out[:, None, None]).all(axis=(-2, -1))
    assert found.any(axis=(1, 2)).all()
    assert len({tuple(np.argwhere(f)[0]) for f in found}) > 20  # many different positions
    assert RandomCrop((2, 5), padding=1)(chw).shape == (16, 3, 2, 5)
    with pytest.raises(ValueError):
        RandomCrop(9)(x)


def test_crop_reaches_every_position_from_first_to_last():
    image = np.arange(1.0, 65.0, dtype=np.float32).reshape(8, 8)  # every pixel different from 0
    out = RandomCrop(8, padding=1)(Tensor(np.tile(image, (300, 1, 1, 1))), np.random.default_rng(0)).data[:, 0]
    padded = np.pad(image, 1)
    corners = {(top, left) for top in range(3) for left in range(3)}
    seen = {corner for crop in out for corner in corners
            if np.array_equal(crop, padded[corner[0]:corner[0] + 8, corner[1]:corner[1] + 8])}
    assert seen == corners, f"300 crops with padding 1 should start at all 9 corners, saw {sorted(seen)}"


def test_normalize_and_compose(chw):
    mean, std = [0.5, 0.4, 0.3], [0.2, 0.25, 0.5]
    expected = (chw.data - np.reshape(mean, (3, 1, 1))) / np.reshape(std, (3, 1, 1))
    np.testing.assert_allclose(Normalize(mean, std)(chw).data, expected, rtol=1e-6, atol=1e-6)
    both = Compose([RandomHorizontalFlip(1.0), Normalize(0.5, 0.5)])(chw)
    np.testing.assert_allclose(both.data, (chw.data[..., ::-1] - 0.5) / 0.5, rtol=1e-6, atol=1e-6)
    with pytest.raises(ValueError):
        Normalize(0.5, 0.0)
    with pytest.raises(ValueError):
        Normalize(mean, std)(Tensor(np.zeros((2, 4, 4))))


@pytest.mark.parametrize("dtype, expected", [(np.float32, np.float32), (np.float64, np.float64),
                                             (np.int64, np.float32), (np.uint8, np.float32)])
def test_normalize_keeps_floats_and_makes_other_inputs_float32(dtype, expected):
    x = Tensor(np.arange(24).reshape(2, 3, 4) % 5, dtype=dtype)
    out = Normalize(1.0, 2.0)(x)
    assert out.dtype == expected
    np.testing.assert_allclose(out.data, (np.arange(24).reshape(2, 3, 4) % 5 - 1.0) / 2.0, rtol=1e-6)


@pytest.mark.parametrize("transform", [RandomHorizontalFlip(), RandomCrop(4), Normalize(0.0, 1.0)])
def test_transforms_check_their_input(transform):
    with pytest.raises(TypeError):
        transform(np.zeros((2, 8, 8)))
    for shape in [(8,), (2, 1, 1, 8, 8)]:
        with pytest.raises(ValueError, match="image"):
            transform(Tensor(np.zeros(shape)))


def test_transforms_never_change_their_input(chw):
    before = chw.data.copy()
    Compose([RandomCrop(6, padding=2), RandomHorizontalFlip(), Normalize(1.0, 2.0)])(chw)
    np.testing.assert_array_equal(chw.data, before)


def test_loader_transform_uses_the_loader_generator(digits):
    dataset = TensorDataset(Tensor(digits[0][:, None]), Tensor(digits[1]))  # (N, 1, 8, 8)
    augment = Compose([RandomCrop(8, padding=1), RandomHorizontalFlip()])

    def epoch(seed):
        return [x.data for x, _ in DataLoader(dataset, 128, shuffle=True, seed=seed, transform=augment)]

    assert all(np.array_equal(a, b) for a, b in zip(epoch(0), epoch(0)))
    assert not all(np.array_equal(a, b) for a, b in zip(epoch(0), epoch(1)))
    plain = [y.data for _, y in DataLoader(dataset, 128, shuffle=True, seed=0)]
    augmented = [y.data for _, y in DataLoader(dataset, 128, shuffle=True, seed=0, transform=augment)]
    assert all(np.array_equal(a, b) for a, b in zip(plain, augmented))
    x = next(iter(DataLoader(dataset, 256, transform=RandomHorizontalFlip(), seed=0)))[0].data
    flipped = (x == digits[0][:256, None, :, ::-1]).all(axis=(1, 2, 3))
    assert 50 < flipped.sum() < 206, "a batch (N, 1, H, W) from the loader: each digit flips on its own"


# ----- the ASCII renderer ----------------------------------------------------------------------

def test_render_ascii_shades_and_layout():
    image = np.array([[0.0, 0.3], [0.6, 1.0]])
    assert render_ascii(image) == "░░▒▒\n▓▓██"
    text = render_ascii(np.stack([image, 1 - image]), titles=["a", "longer title"])
    lines = text.splitlines()
    assert lines[0] == "a" + " " * 14 + "longer title"  # columns as wide as the widest title, gap 3
    assert lines[1] == "░░▒▒" + " " * 11 + "██▓▓"
    assert all(line == line.rstrip() for line in lines)
    with pytest.raises(ValueError):
        render_ascii(np.zeros((1, 1, 2, 2)))
    with pytest.raises(ValueError):
        render_ascii(np.zeros((2, 2, 2)), titles=["only one"])


# ----- more of what the docstrings promise (found by tests/package_mutants.py) -----------------

def test_a_dataset_without_getitem_is_refused_with_a_type_error():
    class OnlyLength:
        def __len__(self):
            return 3

    with pytest.raises(TypeError):
        DataLoader(OnlyLength())


class Samples(Dataset):
    """Samples that are single Tensors (not tuples), fetched one at a time."""

    def __len__(self):
        return 4

    def __getitem__(self, index):
        return Tensor(np.full((2, 2), float(index)))


def plus_ten(x, rng):
    return Tensor(x.data + 10.0, dtype=x.dtype)


def test_the_loader_transform_replaces_the_inputs_of_every_batch(dataset):
    images = next(iter(DataLoader(dataset, 4)))[0].data
    batch = next(iter(DataLoader(dataset, 4, transform=plus_ten)))
    np.testing.assert_array_equal(batch[0].data, images + 10.0,
                                  err_msg="expected the inputs (batch[0]) plus 10 from the transform")
    np.testing.assert_array_equal(batch[1].data, dataset.tensors[1].data[:4],
                                  err_msg="the labels (batch[1]) must come back untransformed")


def test_a_batch_that_is_not_a_tuple_is_transformed_whole():
    batch = next(iter(DataLoader(Samples(), 2, transform=plus_ten)))
    assert isinstance(batch, Tensor) and batch.shape == (2, 2, 2), (
        f"expected one Tensor of shape (2, 2, 2), got {type(batch).__name__} "
        f"{getattr(batch, 'shape', '')}")
    np.testing.assert_array_equal(batch.data[:, 0, 0], [10.0, 11.0])


@pytest.mark.parametrize("transform", [RandomHorizontalFlip(1.0), RandomCrop(3, padding=1)],
                         ids=["flip", "crop"])
def test_flip_and_crop_return_the_dtype_of_their_input(transform):
    x = Tensor(np.random.default_rng(0).uniform(size=(2, 3, 3)), dtype=np.float64)
    out = transform(x, np.random.default_rng(0))
    assert out.dtype == np.float64, f"expected a float64 batch (the input's dtype), got {out.dtype}"


def test_a_crop_as_large_as_the_image_returns_the_image():
    x = Tensor(np.arange(2 * 4 * 4, dtype=np.float32).reshape(2, 4, 4))
    np.testing.assert_array_equal(RandomCrop(4)(x, np.random.default_rng(0)).data, x.data)


@pytest.mark.parametrize("size", [(5, 3), (3, 5)])
def test_a_crop_window_larger_than_the_image_in_one_direction_names_both_sizes(size):
    with pytest.raises(ValueError) as raised:
        RandomCrop(size)(Tensor(np.zeros((2, 4, 4), dtype=np.float32)), np.random.default_rng(0))
    numbers = re.findall(r"\d+", str(raised.value))
    assert "5" in numbers and "4" in numbers, (
        f"expected the message to name the window {size} and the image size 4 x 4, "
        f"got: {raised.value}")


@pytest.mark.parametrize("shape", [(2, 1, 3, 3), (2, 3, 3)], ids=["one channel", "no channel axis"])
def test_per_channel_normalize_refuses_a_batch_without_those_channels(shape):
    normalize = Normalize([0.5, 0.5, 0.5], [0.25, 0.25, 0.25])
    with pytest.raises(ValueError) as raised:
        normalize(Tensor(np.zeros(shape, dtype=np.float32)))
    message = str(raised.value)
    assert "3" in message and (str(shape) in message or str(list(shape)) in message), (
        f"expected the message to name the 3 channels and the shape {shape}, got: {raised.value}")


def test_datasets_loaders_and_transforms_have_a_text_form_naming_their_class(dataset):
    objects = [dataset, DataLoader(dataset, 4), RandomHorizontalFlip(), Normalize(0.5, 0.5),
               Compose([RandomHorizontalFlip()]), RandomCrop(8, padding=1)]
    for thing in objects:
        assert type(thing).__name__ in repr(thing), f"expected the class name in {repr(thing)!r}"


@pytest.mark.parametrize("make, error", [
    (lambda: RandomHorizontalFlip(1.5), ValueError), (lambda: RandomHorizontalFlip(-0.1), ValueError),
    (lambda: Normalize([0.5, 0.5], [0.2, 0.2, 0.2]), ValueError),
    (lambda: Normalize([[0.5]], 0.5), ValueError), (lambda: Normalize(0.5, [[0.5]]), ValueError),
    (lambda: Compose([RandomHorizontalFlip(), 1]), TypeError),
    (lambda: RandomCrop(0), ValueError), (lambda: RandomCrop((3, 0)), ValueError),
    (lambda: RandomCrop(3, padding=-1), ValueError)],
    ids=["flip p 1.5", "flip p -0.1", "normalize 2 means 3 stds", "normalize 2-D mean",
         "normalize 2-D std", "compose a number", "crop 0", "crop (3, 0)", "crop padding -1"])
def test_transforms_refuse_bad_settings_when_made(make, error):
    with pytest.raises(error):
        make()


def test_transforms_accept_the_edges_of_their_settings():
    x = Tensor(np.random.default_rng(0).uniform(size=(2, 3, 3)).astype(np.float32))
    np.testing.assert_array_equal(RandomHorizontalFlip(0.0)(x, np.random.default_rng(0)).data, x.data,
                                  err_msg="p=0 is a valid probability: nothing is flipped")
    assert RandomCrop(1)(x, np.random.default_rng(0)).shape == (2, 1, 1), "a 1 x 1 window is valid"


# ----- settings that Python would quietly take as something else -----------------------------

@pytest.mark.parametrize("name, bad", [("shuffle", "no"), ("shuffle", "False"), ("shuffle", 2),
                                       ("drop_last", "no"), ("drop_last", "True")])
def test_loader_refuses_a_shuffle_or_drop_last_that_is_not_true_or_false(dataset, name, bad):
    """bool("no") is True: unchecked, shuffle="no" would shuffle and drop_last="no" would drop."""
    with pytest.raises(TypeError) as raised:
        DataLoader(dataset, batch_size=32, **{name: bad})
    assert name in str(raised.value), f"the message should name {name}; it was: {raised.value}"


def test_loader_takes_numpy_bools_for_shuffle_and_drop_last(digits):
    loader = DataLoader(with_ids(digits), batch_size=32, shuffle=np.bool_(True),
                        drop_last=np.bool_(True), seed=0)
    order = epoch_ids(loader, digits)
    assert len(loader) == 56 and len(order) == 56 * 32, "np.bool_(True) as drop_last should drop"
    assert not np.array_equal(order, np.arange(56 * 32)), "np.bool_(True) as shuffle should shuffle"


@pytest.mark.parametrize("make, error, word", [
    (lambda: RandomCrop(2, padding=0.7), TypeError, "padding"),
    (lambda: RandomCrop(2, padding=2.0), TypeError, "padding"),
    (lambda: RandomCrop(2, padding=True), TypeError, "padding"),
    (lambda: RandomCrop(2.5), TypeError, "size"), (lambda: RandomCrop("8"), TypeError, "size"),
    (lambda: RandomCrop((2, 2.5)), TypeError, "size"), (lambda: RandomCrop(True), TypeError, "size"),
    (lambda: RandomCrop((2, 3, 4)), ValueError, "size"), (lambda: RandomCrop(-1), ValueError, "size"),
    (lambda: RandomHorizontalFlip("x"), TypeError, "probability"),
    (lambda: RandomHorizontalFlip(None), TypeError, "probability"),
    (lambda: RandomHorizontalFlip(float("nan")), ValueError, "probability"),
    (lambda: RandomHorizontalFlip(2), ValueError, "probability"),
    (lambda: Normalize(0.5, float("inf")), ValueError, "std"),
    (lambda: Normalize(0.5, [0.2, float("nan")]), ValueError, "std"),
    (lambda: Normalize(float("nan"), 0.5), ValueError, "mean"),
    (lambda: Normalize("x", 0.5), TypeError, "mean"), (lambda: Normalize(None, 0.5), TypeError, "mean"),
    (lambda: Normalize([], []), ValueError, "mean"), (lambda: Normalize(0.5, -1.0), ValueError, "std"),
    (lambda: Compose(RandomHorizontalFlip()), TypeError, "list"),
    (lambda: Compose(5), TypeError, "list")],
    ids=["crop padding 0.7", "crop padding 2.0", "crop padding True", "crop 2.5", "crop '8'",
         "crop (2, 2.5)", "crop True", "crop (2, 3, 4)", "crop -1", "flip p 'x'", "flip p None",
         "flip p nan", "flip p 2", "normalize std inf", "normalize std nan", "normalize mean nan",
         "normalize mean 'x'", "normalize mean None", "normalize empty", "normalize std -1",
         "compose one transform", "compose a number"])
def test_transform_settings_that_are_no_numbers_or_not_the_right_ones_are_named(make, error, word):
    """The given constructors refuse what they would otherwise round, ignore or turn into NaN
    (int(0.7) is 0: no padding at all), and say which setting is wrong."""
    with pytest.raises(error) as raised:
        make()
    assert word in str(raised.value), f"the message should say {word!r}; it was: {raised.value}"


def test_transform_settings_take_numpy_numbers():
    x = Tensor(np.random.default_rng(0).uniform(size=(2, 1, 5, 5)).astype(np.float32))
    crop = RandomCrop((np.int64(3), 4), padding=np.int64(1))
    assert (crop.size, crop.padding) == ((3, 4), 1) and crop(x).shape == (2, 1, 3, 4)
    assert RandomHorizontalFlip(np.float32(1.0))(x).shape == x.shape
    assert Normalize(np.float32(0.5), [np.float64(2.0)])(x).shape == x.shape


# ----- data on disk, splits, and augmenting the training split only ---------------------------

@pytest.fixture
def npy_files(tmp_path, digits):
    images, labels = digits
    np.save(tmp_path / "images.npy", images)
    np.save(tmp_path / "labels.npy", labels)
    return tmp_path / "images.npy", tmp_path / "labels.npy"


def test_npy_dataset_maps_its_files_and_serves_what_tensor_dataset_serves(npy_files, digits):
    on_disk = NpyDataset(*npy_files)
    assert all(isinstance(a, np.memmap) for a in on_disk.arrays) and len(on_disk) == 1797
    ours = [(x.data, y.data) for x, y in DataLoader(on_disk, batch_size=100, shuffle=True, seed=3)]
    memory = TensorDataset(Tensor(digits[0]), Tensor(digits[1]))
    theirs = [(x.data, y.data) for x, y in DataLoader(memory, batch_size=100, shuffle=True, seed=3)]
    assert len(ours) == len(theirs) == 18
    for (a, b), (c, d) in zip(ours, theirs):
        np.testing.assert_array_equal(a, c)
        np.testing.assert_array_equal(b, d)


def test_npy_dataset_samples_are_copies_in_memory(npy_files, digits):
    on_disk = NpyDataset(*npy_files)
    image, label = on_disk[-2]
    assert (image.dtype, label.dtype, image.shape) == (np.float32, np.int64, (8, 8))
    assert image.data.flags.writeable and not np.shares_memory(image.data, on_disk.arrays[0])
    batch = on_disk.get_batch([4, 4, -1])[0]
    np.testing.assert_array_equal(batch.data, digits[0][[4, 4, -1]])
    assert batch.data.flags.writeable and not np.shares_memory(batch.data, on_disk.arrays[0])


def test_npy_dataset_reads_the_file_when_asked(npy_files, digits):
    on_disk = NpyDataset(*npy_files)
    changed = np.load(npy_files[0], mmap_mode="r+")
    changed[11] = 0.25
    changed.flush()
    np.testing.assert_array_equal(on_disk[11][0].data, np.full((8, 8), 0.25, np.float32))
    np.testing.assert_array_equal(on_disk.get_batch(np.array([11]))[0].data[0], np.full((8, 8), 0.25))


def test_npy_dataset_refuses_an_archive_and_files_of_different_lengths(tmp_path):
    np.savez(tmp_path / "both.npz", x=np.zeros(3))
    np.save(tmp_path / "three.npy", np.zeros(3))
    np.save(tmp_path / "four.npy", np.zeros(4))
    with pytest.raises(TypeError):
        NpyDataset(tmp_path / "both.npz")
    with pytest.raises(ValueError) as raised:
        NpyDataset(tmp_path / "three.npy", tmp_path / "four.npy")
    assert {"3", "4"} <= set(re.findall(r"\d+", str(raised.value)))
    with pytest.raises(ValueError):
        NpyDataset()


def test_subset_maps_positions_through_its_indices(dataset, digits):
    images, labels = digits
    view = Subset(dataset, np.array([7, -1, 0]))
    assert len(view) == 3 and view[1][1].item() == labels[-1] and view[-1][1].item() == labels[0]
    x, y = view.get_batch(np.array([2, 0]))
    np.testing.assert_array_equal(x.data, images[[0, 7]])
    np.testing.assert_array_equal(y.data, labels[[0, 7]])
    with pytest.raises(IndexError):
        view[3]


def test_a_loader_over_a_subset_keeps_the_batched_fetch(digits):
    counted = Counting(Tensor(digits[0]), Tensor(digits[1]))
    batches = list(DataLoader(Subset(counted, np.arange(300, 600)), batch_size=64))
    assert (counted.batch_calls, counted.sample_calls) == (5, 0)
    np.testing.assert_array_equal(np.concatenate([y.data for _, y in batches]), digits[1][300:600])


def test_a_subset_of_a_dataset_without_get_batch_collates(digits):
    class Doubles(Dataset):
        def __len__(self):
            return 6

        def __getitem__(self, index):
            return 2.0 * index

    view = Subset(Doubles(), [4, 1])
    batch = view.get_batch([0, 1])
    assert isinstance(batch, Tensor) and batch.data.tolist() == [8.0, 2.0]


@pytest.mark.parametrize("n, lengths, expected", [
    (10, [0.3, 0.3, 0.4], [3, 3, 4]), (11, [0.3, 0.3, 0.4], [4, 3, 4]),
    (7, [0.25, 0.25, 0.25, 0.25], [2, 2, 2, 1]), (1797, [0.7, 0.15, 0.15], [1258, 270, 269]),
    (5, [0.5, 0.5], [3, 2]), (9, [4, 5], [4, 5]), (9, [0, 9], [0, 9])])
def test_random_split_lengths_as_in_pytorch(n, lengths, expected):
    parts = random_split(TensorDataset(Tensor(np.arange(n))), lengths, seed=2)
    assert [len(p) for p in parts] == expected
    np.testing.assert_array_equal(np.concatenate([p.indices for p in parts]),
                                  np.random.default_rng(2).permutation(n))


def test_random_split_is_repeatable_from_a_seed_or_a_generator(dataset):
    by_seed = random_split(dataset, [0.5, 0.5], seed=9)
    by_generator = random_split(dataset, [0.5, 0.5], np.random.default_rng(9))
    for a, b in zip(by_seed, by_generator):
        np.testing.assert_array_equal(a.indices, b.indices)
    assert not np.array_equal(by_seed[0].indices, random_split(dataset, [0.5, 0.5], seed=10)[0].indices)


@pytest.mark.parametrize("lengths, error", [([1000, 796], ValueError), ([1.5, -0.5], ValueError),
                                            ([], TypeError), ("half", TypeError)])
def test_random_split_refuses_lengths_that_do_not_fit(dataset, lengths, error):
    with pytest.raises(error):
        random_split(dataset, lengths, seed=0)


def test_split_loaders_augment_the_training_part_only(digits):
    images, labels = digits
    ids = Tensor(np.arange(1600))
    data = TensorDataset(Tensor(images[:1600, None]), Tensor(labels[:1600]), ids)
    flip = RandomHorizontalFlip(1.0)
    train, val = split_loaders(data, [1200, 400], 100, train_transform=flip, eval_transform=None, seed=4)
    parts = random_split(data, [1200, 400], seed=4)
    np.testing.assert_array_equal(train.dataset.indices, parts[0].indices)
    np.testing.assert_array_equal(val.dataset.indices, parts[1].indices)
    for x, _, i in train:
        np.testing.assert_array_equal(x.data, images[i.data, None, :, ::-1])
    served = [(x.data, i.data) for x, _, i in val]
    np.testing.assert_array_equal(np.concatenate([i for _, i in served]), parts[1].indices)
    np.testing.assert_array_equal(np.concatenate([x for x, _ in served]), images[parts[1].indices, None])
    assert train.shuffle and not val.shuffle


def test_npy_dataset_of_one_file_keeps_its_dtype(tmp_path):
    np.save(tmp_path / "x.npy", np.arange(10.0).reshape(5, 2))
    one = NpyDataset(tmp_path / "x.npy")
    assert len(one) == 5 and one[4][0].dtype == np.float64 and one.get_batch([0, 4])[0].dtype == np.float64
    np.testing.assert_array_equal(one[4][0].data, [8.0, 9.0])


def test_npy_dataset_refuses_a_file_of_one_number(tmp_path):
    np.save(tmp_path / "one.npy", np.float32(3.0))
    with pytest.raises(ValueError):
        NpyDataset(tmp_path / "one.npy")


def test_npy_dataset_and_subset_have_a_text_form_naming_their_class(npy_files, dataset):
    assert "NpyDataset" in repr(NpyDataset(*npy_files))
    assert "Subset" in repr(Subset(dataset, [0, 1]))


def test_subset_checks_its_dataset_and_indices(dataset, digits):
    class SizeOnly:
        def __len__(self):
            return 3

    for not_a_dataset in (42, SizeOnly()):
        with pytest.raises(TypeError):
            Subset(not_a_dataset, [0])
    for bad in ([1797], [-1798], [0, 5000]):
        with pytest.raises(IndexError):
            Subset(dataset, bad)
    assert Subset(dataset, [-1797])[0][1].item() == digits[1][0]
    empty = Subset(dataset, [])
    assert len(empty) == 0 and empty.get_batch([])[0].shape == (0, 8, 8)


@pytest.mark.parametrize("n, lengths, expected", [(9, [0.0, 1.0], [0, 9]), (9, [1.0], [9])])
def test_random_split_takes_fractions_of_zero_and_one(n, lengths, expected):
    assert [len(p) for p in random_split(TensorDataset(Tensor(np.arange(n))), lengths, seed=0)] == expected


@pytest.mark.parametrize("lengths, error", [([0.5, 0.2], ValueError), ([-1, 10], ValueError),
                                            ([2.5, 6.5], ValueError), ([True, 8], TypeError)])
def test_random_split_refuses_what_are_neither_counts_nor_fractions(lengths, error):
    with pytest.raises(error):
        random_split(TensorDataset(Tensor(np.arange(9))), lengths, seed=0)


def test_split_loaders_repeat_their_training_epochs_and_normalize_evaluation(digits):
    images, labels = digits
    data = TensorDataset(Tensor(images[:1000, None]), Tensor(labels[:1000]))
    crop, scale = RandomCrop(8, padding=1), Normalize(0.25, 0.5)
    runs = [split_loaders(data, [0.8, 0.2], 50, train_transform=crop, eval_transform=scale, seed=6)
            for _ in range(2)]
    for (a, _), (b, _) in zip(runs[0][0], runs[1][0]):
        np.testing.assert_array_equal(a.data, b.data)
    held_out = random_split(data, [0.8, 0.2], seed=6)[1].indices
    served = np.concatenate([x.data for x, _ in runs[0][1]])
    np.testing.assert_allclose(served, (images[held_out, None] - 0.25) / 0.5)
