"""Regenerate datasets/tiny/digits_8x8.npz from the copy of the digits inside scikit-learn.

    python datasets/tiny/create_digits_8x8.py            write digits_8x8.npz beside this script
    python datasets/tiny/create_digits_8x8.py OUT.npz    write it somewhere else

The data are the 1797 test images of the UCI "Optical Recognition of Handwritten Digits"
dataset (E. Alpaydin and C. Kaynak, 1998), which scikit-learn ships with itself, so this works
offline. Each image is 8 x 8 counts of "on" pixels in 4 x 4 blocks, 0 to 16; we store them
divided by 16 as float32 in [0, 1], with int64 labels 0-9:

    images  (1797, 8, 8)  float32
    labels  (1797,)       int64

The arrays go through np.savez_compressed. A zip file also stamps every member with the time
it was written, so the members are then copied into the final file with one fixed timestamp:
running the script twice gives byte-identical files. The file appears in one step (written to a
temporary name, then renamed), so an interrupted run never leaves half a dataset behind.
"""

from __future__ import annotations

import hashlib
import io
import os
import sys
import tempfile
import zipfile
from pathlib import Path

import numpy as np

OUT = Path(__file__).resolve().parent / "digits_8x8.npz"
MAX_BYTES = 100_000  # the rule for every tiny dataset (see README.md)
ZIP_TIME = (1980, 1, 1, 0, 0, 0)  # the earliest time a zip file can record


def extract() -> tuple[np.ndarray, np.ndarray]:
    """The digits as (images, labels): (1797, 8, 8) float32 in [0, 1] and (1797,) int64."""
    from sklearn.datasets import load_digits  # imported here: only this script needs sklearn

    digits = load_digits()
    images = (digits.images / 16.0).astype(np.float32)  # raw counts are 0..16
    labels = digits.target.astype(np.int64)
    return images, labels


def array_digest(images: np.ndarray, labels: np.ndarray) -> str:
    """SHA-256 of the array bytes (images, then labels): names the data, not the zip file."""
    return hashlib.sha256(images.tobytes() + labels.tobytes()).hexdigest()


def npz_bytes(**arrays: np.ndarray) -> bytes:
    """np.savez_compressed of `arrays`, with every zip member stamped ZIP_TIME."""
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    fixed = io.BytesIO()
    with zipfile.ZipFile(buffer) as source, \
            zipfile.ZipFile(fixed, "w", compression=zipfile.ZIP_DEFLATED) as target:
        for member in source.infolist():
            info = zipfile.ZipInfo(member.filename, date_time=ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16  # -rw-r--r--, whatever the umask
            target.writestr(info, source.read(member))
    return fixed.getvalue()


def write_atomically(path: Path, data: bytes) -> None:
    """Write to a temporary file in the same folder, then rename it over `path`."""
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except BaseException:
        os.unlink(temporary)
        raise


def main(argv: list[str]) -> int:
    out = Path(argv[0]).resolve() if argv else OUT
    images, labels = extract()
    data = npz_bytes(images=images, labels=labels)
    if len(data) > MAX_BYTES:
        print(f"create_digits_8x8.py: the file would be {len(data)} bytes, over the "
              f"{MAX_BYTES}-byte limit for tiny datasets; nothing written", file=sys.stderr)
        return 1
    write_atomically(out, data)
    print(f"wrote {out}: images {images.shape} {images.dtype}, labels {labels.shape} "
          f"{labels.dtype}, {len(data)} bytes")
    print(f"SHA-256 of the array bytes: {array_digest(images, labels)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
