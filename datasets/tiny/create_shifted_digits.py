"""Regenerate datasets/tiny/shifted_digits.npz from datasets/tiny/digits_8x8.npz.

    python datasets/tiny/create_shifted_digits.py            write shifted_digits.npz beside this script
    python datasets/tiny/create_shifted_digits.py OUT.npz    write it somewhere else

Each of the 1797 digits of digits_8x8.npz is pasted, unchanged, onto an empty 16 x 16 canvas
at a random place: its top-left corner at row r and column c, each drawn uniformly from 0 to 8,
so the digit lies wholly on the canvas and every one of the 81 places is equally likely. The
rest of the canvas is 0 (no ink). The labels are those of digits_8x8.npz, in the same order:

    images  (1797, 16, 16)  float32 in [0, 1]
    labels  (1797,)         int64, 0-9

A network that reads the image as one row of pixels (an MLP) sees the same "3" at a new place
as a different pattern of pixels; a convolution slides the same filter over every place. That
is what this dataset is for: on the 8x8 digits both kinds of network are nearly perfect, here
they are not.

The places come from NumPy's legacy generator, np.random.RandomState(SEED), whose stream NumPy
promises never to change, so every run and every NumPy version gives the same arrays. The file
is written the way create_digits_8x8.py writes its own (fixed zip timestamps, a temporary file
renamed into place): running the script twice gives byte-identical files, and an interrupted
run leaves no half-written dataset. It needs NumPy and digits_8x8.npz only: no network, no
scikit-learn.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
SOURCE = HERE / "digits_8x8.npz"
OUT = HERE / "shifted_digits.npz"
SEED = 16  # for the places; changing it changes the data (and the digest the tests record)
CANVAS = 16  # the canvas is CANVAS x CANVAS pixels


def _sibling():
    """create_digits_8x8.py, loaded from its path: its npz_bytes, write_atomically,
    array_digest and MAX_BYTES are used here as they are there."""
    spec = importlib.util.spec_from_file_location("create_digits_8x8", HERE / "create_digits_8x8.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


digits_script = _sibling()
MAX_BYTES = digits_script.MAX_BYTES
array_digest = digits_script.array_digest


def places(count: int, size: int = 8, canvas: int = CANVAS, seed: int = SEED) -> np.ndarray:
    """(count, 2) int64: the row and column of each digit's top-left corner, 0 to canvas - size."""
    rng = np.random.RandomState(seed)
    return rng.randint(0, canvas - size + 1, size=(count, 2)).astype(np.int64)


def shift(images: np.ndarray, corners: np.ndarray, canvas: int = CANVAS) -> np.ndarray:
    """Paste images[i] (h x w) onto an empty canvas x canvas image at corners[i] = (row, column)."""
    count, height, width = images.shape
    out = np.zeros((count, canvas, canvas), dtype=images.dtype)
    for i, (row, column) in enumerate(corners):  # 1797 small copies: a few milliseconds
        out[i, row:row + height, column:column + width] = images[i]
    return out


def extract(source: Path = SOURCE) -> tuple[np.ndarray, np.ndarray]:
    """The shifted digits as (images, labels): (1797, 16, 16) float32 and (1797,) int64."""
    with np.load(source, allow_pickle=False) as archive:
        digits, labels = archive["images"], archive["labels"]
    return shift(digits, places(len(digits))), labels


def main(argv: list[str]) -> int:
    out = Path(argv[0]).resolve() if argv else OUT
    images, labels = extract()
    data = digits_script.npz_bytes(images=images, labels=labels)
    if len(data) > MAX_BYTES:
        print(f"create_shifted_digits.py: the file would be {len(data)} bytes, over the "
              f"{MAX_BYTES}-byte limit for tiny datasets; nothing written", file=sys.stderr)
        return 1
    digits_script.write_atomically(out, data)
    print(f"wrote {out}: images {images.shape} {images.dtype}, labels {labels.shape} "
          f"{labels.dtype}, {len(data)} bytes")
    print(f"SHA-256 of the array bytes: {array_digest(images, labels)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
