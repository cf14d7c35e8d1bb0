"""What every milestone shares: the command line, a seeded stratified split, predictions,
the final accuracy line, checkpoints, and the figures.

The milestones import it as `from common import ...`: Python puts the folder of the script
it runs (milestones/) first on the import path. Everything here is plain numpy and
matplotlib; the models, losses, optimizers and training loops come from tinytorch.
"""

from __future__ import annotations

import argparse
import math
import os
import time
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence, Tuple

# One BLAS thread unless the environment says otherwise (OPENBLAS_NUM_THREADS=4 python ...).
# The matrices of the digit models are small, so one thread is as fast as several; and when
# other programs keep the cores busy, BLAS threads waiting for each other made training 30
# times slower. It only works before numpy is loaded: every milestone imports common first.
for _variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")

import numpy as np  # noqa: E402  (after the BLAS threads are chosen)

import matplotlib  # noqa: E402

matplotlib.use("Agg")  # write image files only: no window, works without a display
import matplotlib.pyplot as plt  # noqa: E402  (after choosing the backend)
from matplotlib.ticker import MaxNLocator  # noqa: E402

from tinytorch import Tensor, manual_seed, no_grad  # noqa: E402
from tinytorch.data.loader import load_tiny  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
# Figures go where git already ignores files, so running a milestone leaves the checkout clean.
DEFAULT_OUT = ROOT / "test-artifacts" / "milestones"


def parse_args(doc: str, argv: Optional[Sequence[str]] = None,
               extra: Optional[Callable[[argparse.ArgumentParser], None]] = None) -> argparse.Namespace:
    """The options every milestone has (--seed, --out), plus those `extra(parser)` adds
    (add_checkpoint_option, for the milestones that save their model). The script's docstring
    is the help text."""
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seed", type=int, default=0,
                        help="seed for the initial weights, the batch order, dropout and (01, 02) "
                             "the synthetic points (default: 0); the same seed gives the same run. "
                             "The held-out digits (03, 04) do not depend on it")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT,
                        help=f"folder for the figures (default: {DEFAULT_OUT.relative_to(ROOT)}/)")
    if extra is not None:
        extra(parser)
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    manual_seed(args.seed)  # layers built with rng=None draw from tinytorch's seeded generator
    return args


def stratified_split(labels: np.ndarray, fraction: float, seed: int) -> Tuple[np.ndarray, np.ndarray]:
    """Split sample indices into (rest, part): `part` holds ceil(fraction * n_c) samples of
    every class c, drawn with a generator seeded by `seed`, so the split is the same in every
    run and keeps the class proportions. Both index arrays come back sorted."""
    rng = np.random.default_rng(seed)
    part = []
    for c in np.unique(labels):  # a loop over the classes (10), not over samples
        members = np.flatnonzero(labels == c)
        part.append(rng.permutation(members)[:math.ceil(fraction * len(members))])
    part = np.sort(np.concatenate(part))
    rest = np.setdiff1d(np.arange(len(labels)), part)
    return rest, part


# The held-out digits: the same 20% (364 of the 1797 images, ceil(20%) of each class) for
# every milestone and every --seed, so that results can be compared. Never trained on or used
# to choose anything; the validation set that the training curves show comes from the rest.
# Validation sets are carved with this seed too, so --seed changes only the training run.
SPLIT_SEED = 1797
DIGITS_TEST_FRACTION = 0.2
DIGITS_VAL_FRACTION = 0.1


def digits_split() -> Dict[str, np.ndarray]:
    """The bundled 8x8 digits, split into train / val / test (class-stratified, fixed seed).

    Returns a dict with x_train, y_train, x_val, y_val, x_test, y_test: images (n, 8, 8)
    float32 in [0, 1] and labels (n,) int64."""
    images, labels = load_tiny("digits_8x8")
    rest, test = stratified_split(labels, DIGITS_TEST_FRACTION, SPLIT_SEED)
    train, val = stratified_split(labels[rest], DIGITS_VAL_FRACTION, SPLIT_SEED + 1)
    train, val = rest[train], rest[val]
    assert len(test) >= DIGITS_TEST_FRACTION * len(labels) and not set(test) & set(rest)
    return {"x_train": images[train], "y_train": labels[train], "x_val": images[val],
            "y_val": labels[val], "x_test": images[test], "y_test": labels[test]}


def load_downloaded(name: str, download: bool = True) -> Tuple[np.ndarray, ...]:
    """MNIST or CIFAR-10 as (x_train, y_train, x_test, y_test), through milestones/downloads.py.

    If the files are not in datasets/<name>/ and cannot be downloaded (or download=False), or
    they are damaged, stop the program with a message that says what happened and how to get
    the files by hand (exit status 1)."""
    import downloads  # only the MNIST and CIFAR-10 runs need it

    loader = {"mnist": downloads.load_mnist, "cifar10": downloads.load_cifar10}[name]
    try:
        return loader(download=download)
    except (downloads.DownloadError, downloads.DatasetFormatError, downloads.UnsafeArchiveError) as error:
        title = {"mnist": "MNIST", "cifar10": "CIFAR-10"}[name]
        hint = "" if download else " (--no-download was given: run without it to download)"
        raise SystemExit(f"error: {title} is not available{hint}, so this milestone cannot "
                         f"run.\n{error}")


def predict(model, x: np.ndarray, batch_size: int = 1000) -> np.ndarray:
    """The model's outputs for the rows of `x`, as a numpy array: in evaluation mode, without
    recording a graph, `batch_size` samples at a time."""
    was_training = model.training
    model.eval()
    with no_grad():
        outputs = [model(Tensor(x[i:i + batch_size])).data for i in range(0, len(x), batch_size)]
    model.train(was_training)
    return np.concatenate(outputs)


def report(predicted: np.ndarray, labels: np.ndarray, what: str) -> float:
    """Print `test accuracy: 97.8% (352/360) on <what>` and return the accuracy in [0, 1]."""
    correct = int(np.count_nonzero(predicted == labels))
    total = len(labels)
    print(f"test accuracy: {100.0 * correct / total:.1f}% ({correct}/{total}) on {what}")
    return correct / total


# ----- checkpoints -----------------------------------------------------------------------------

def add_checkpoint_option(parser: argparse.ArgumentParser, name: str) -> None:
    """--checkpoint PATH: where the trained model's state_dict() is saved (default: the --out
    folder, `name`_<dataset>.npz)."""
    parser.add_argument("--checkpoint", type=Path, metavar="PATH",
                        help=f"file for the trained model's weights, saved with np.savez and "
                             f"reloaded to check them (default: the --out folder, "
                             f"{name}_<dataset>.npz)")


def save_checkpoint(model, path: Path) -> Path:
    """Save `model.state_dict()` (name -> numpy array) to `path` with np.savez, atomically.

    The arrays go to a temporary file in the same folder, flushed to the disk, which then
    replaces `path` in one step (os.replace): a run killed while saving leaves the previous
    checkpoint whole, or none, never half a file. A failed save removes its temporary file.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")  # same folder: same disk
    try:
        with open(temporary, "wb") as file:
            np.savez(file, **model.state_dict())  # a file object: np.savez adds no ".npz"
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return path


def load_checkpoint(model, path: Path):
    """Load the arrays saved by save_checkpoint into `model` (built with the same layers) and
    return it. allow_pickle=False: an .npz file of plain arrays cannot run code when loaded."""
    with np.load(path, allow_pickle=False) as arrays:
        model.load_state_dict(arrays)
    return model


def check_checkpoint(model, build: Callable[[], object], path: Path, x_test: np.ndarray,
                     y_test: np.ndarray, predicted: np.ndarray, batch_size: int = 1000) -> float:
    """Save `model`, reload the file into a freshly built model (`build()`: new random weights),
    and print the reloaded model's test accuracy next to the trained one's, e.g.
    `checkpoint: saved ... and reloaded into a new model: test accuracy 98.6% (359/364), the same
    as the trained model`. Return the reloaded model's accuracy. `predicted` holds the trained
    model's predicted classes for x_test, computed with predict(model, x_test, batch_size)."""
    save_checkpoint(model, path)
    reloaded = load_checkpoint(build(), path)
    again = predict(reloaded, x_test, batch_size).argmax(axis=1)
    correct, before = int(np.count_nonzero(again == y_test)), int(np.count_nonzero(predicted == y_test))
    verdict = ("the same as the trained model" if np.array_equal(again, predicted) else
               f"DIFFERENT from the trained model's {before}/{len(y_test)}: the checkpoint is wrong")
    print(f"checkpoint: saved {path} ({path.stat().st_size:,} bytes) and reloaded into a new model: "
          f"test accuracy {100.0 * correct / len(y_test):.1f}% ({correct}/{len(y_test)}), {verdict}")
    return correct / len(y_test)


class Timer:
    """`with Timer() as t: ...` then t.seconds: wall-clock time of the block."""

    def __enter__(self) -> "Timer":
        self.start = time.perf_counter()
        self.seconds = 0.0
        return self

    def __exit__(self, *exc_info) -> None:
        self.seconds = time.perf_counter() - self.start


# ----- figures -------------------------------------------------------------------------------

def plot_curves(histories: Dict[str, Dict[str, List[float]]], path: Path, title: str) -> Path:
    """Loss and accuracy per epoch, side by side, for one Trainer history or several.

    `histories` is a Trainer's history, or a dict of label -> history to compare models. Each
    history contributes its training curves and, if recorded, its validation curves (dashed).
    """
    if "epoch" in histories:  # a single history
        histories = {"": histories}
    figure, (loss_axes, accuracy_axes) = plt.subplots(1, 2, figsize=(10, 3.8))
    for axes, metric, label in ((loss_axes, "loss", "loss"), (accuracy_axes, "accuracy", "accuracy (%)")):
        colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
        for (name, history), color in zip(histories.items(), colors):
            for split, style in (("train", "-"), ("val", "--")):
                values = history.get(f"{split}_{metric}")
                if values:
                    scale = 100.0 if metric == "accuracy" else 1.0
                    curve = "training" if split == "train" else "validation"
                    axes.plot(history["epoch"], np.asarray(values) * scale, style, color=color,
                              marker="." if len(values) <= 50 else None,
                              label=f"{name}, {curve}" if name else curve)
        axes.set_xlabel("epoch")
        axes.xaxis.set_major_locator(MaxNLocator(integer=True))
        axes.set_ylabel(label)
        axes.grid(alpha=0.3)
        axes.legend(fontsize=8)
    loss_axes.set_yscale("log")  # the loss falls by orders of magnitude; a log scale shows it all
    figure.suptitle(title)
    return save_figure(figure, path)


def plot_image_predictions(images: np.ndarray, labels: np.ndarray, predicted: np.ndarray,
                           path: Path, title: str, class_names: Optional[Sequence[str]] = None,
                           count: int = 32) -> Path:
    """A grid of test images titled "true / predicted", mistakes in red and shown first (up to
    half of the grid), then correct ones. Images: (N, H, W), (N, 1, H, W) or (N, 3, H, W)."""
    names = class_names if class_names is not None else [str(c) for c in range(int(labels.max()) + 1)]
    wrong = np.flatnonzero(predicted != labels)[:count // 2]
    right = np.flatnonzero(predicted == labels)[:count - len(wrong)]
    chosen = np.concatenate([wrong, right])
    columns = 8
    rows = max(1, math.ceil(len(chosen) / columns))
    figure, grid = plt.subplots(rows, columns, figsize=(columns * 1.3, rows * 1.5), squeeze=False)
    for axes in grid.flat:
        axes.axis("off")
    for axes, i in zip(grid.flat, chosen):
        image = images[i]
        if image.ndim == 3 and image.shape[0] in (1, 3):  # channels first -> last, for imshow
            image = image.transpose(1, 2, 0)
        if image.ndim == 3 and image.shape[2] == 1:
            image = image[:, :, 0]
        axes.imshow(np.clip(image, 0, 1), cmap="gray_r" if image.ndim == 2 else None,
                    vmin=0, vmax=1, interpolation="nearest")
        mistake = predicted[i] != labels[i]
        axes.set_title(f"{names[labels[i]]} / {names[predicted[i]]}", fontsize=8,
                       color="tab:red" if mistake else "black")
    figure.suptitle(f"{title}\ntitle: true / predicted label; red: a mistake", fontsize=10)
    return save_figure(figure, path)


def plot_decision_regions(model, x: np.ndarray, y: np.ndarray, axes, title: str) -> None:
    """Shade where a model with one sigmoid output predicts class 1, and scatter (x, y) on top."""
    low, high = x.min(axis=0) - 0.5, x.max(axis=0) + 0.5
    gx, gy = np.meshgrid(np.linspace(low[0], high[0], 200), np.linspace(low[1], high[1], 200))
    grid = np.stack([gx.ravel(), gy.ravel()], axis=1).astype(np.float32)
    probability = predict(model, grid, batch_size=len(grid)).reshape(gx.shape)
    axes.contourf(gx, gy, probability, levels=[0.0, 0.5, 1.0], colors=["tab:blue", "tab:orange"],
                  alpha=0.2)
    axes.contour(gx, gy, probability, levels=[0.5], colors="black", linewidths=1)
    predicted = predict(model, x).reshape(-1) > 0.5
    for label, color in ((0, "tab:blue"), (1, "tab:orange")):
        member = y == label
        axes.scatter(x[member, 0], x[member, 1], s=12, color=color, label=f"class {label}")
    mistakes = predicted != y
    axes.scatter(x[mistakes, 0], x[mistakes, 1], s=60, facecolors="none", edgecolors="tab:red",
                 label=f"mistakes ({int(mistakes.sum())})")
    axes.set_title(title, fontsize=10)
    axes.set_aspect("equal")
    axes.legend(fontsize=7, loc="upper right")


def save_figure(figure, path: Path) -> Path:
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    print(f"saved {path}")
    return path
