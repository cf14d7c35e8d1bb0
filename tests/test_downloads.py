"""Specification of milestones/downloads.py: MNIST and CIFAR-10 downloads, end to end.

Every download goes to a local HTTP server on 127.0.0.1 (tests/fake_datasets.py) serving small
files in the real formats, well or badly on demand; the datasets/ folder is a temporary one,
named through TINYTORCH_DATASETS as a student would. No test touches the network.
"""

from __future__ import annotations

import dataclasses
import gzip
import os
import pickle
import re
import sys
from pathlib import Path

import numpy as np
import pytest

from fake_datasets import Mirror, cifar_archive, idx_bytes, mnist_files, sha256, tar_gz

MILESTONES = Path(__file__).resolve().parent.parent / "milestones"
if str(MILESTONES) not in sys.path:
    sys.path.insert(0, str(MILESTONES))

import downloads  # noqa: E402  (milestones/ is not a package: its scripts import each other so)
from downloads import (CIFAR10, MNIST, DatasetFormatError, DownloadError,  # noqa: E402
                       RemoteFile, Source, UnsafeArchiveError, load_cifar10, load_mnist)
from tinytorch.data.loader import DATASETS_ENV  # noqa: E402

FAILURES = ["truncate", "drop", "hang", "error", "missing"]  # how a mirror can fail us
WHY = {"truncate": r"cut short|IncompleteRead", "drop": r"reset|cut short|IncompleteRead",
       "hang": "timed out", "error": "HTTP 500", "missing": "HTTP 404", "corrupt": "does not match"}


def timeout_for(how: str) -> float:
    """The download timeout a test passes. Only a hanging mirror is about timing, and it times
    out whatever the machine's load: it sends headers, then nothing for 10 s
    (tests/fake_datasets.py), 5x longer than this timeout. Every other test gets the real
    default (30 s), which no busy machine misses: a slow answer from a good mirror cannot pass
    for a failure."""
    return 2.0 if how == "hang" else downloads.TIMEOUT


@pytest.fixture
def datasets(tmp_path, monkeypatch) -> Path:
    root = tmp_path / "datasets"
    root.mkdir()
    monkeypatch.setenv(DATASETS_ENV, str(root))
    return root


@pytest.fixture
def mirror():
    server = Mirror()
    yield server
    server.stop()


def source_like(real: Source, files: dict[str, bytes], mirrors: list[str]) -> Source:
    """`real` with its files replaced by `files` (their sizes and digests) and local mirrors."""
    return dataclasses.replace(real, mirrors=tuple(mirrors), files=tuple(
        RemoteFile(name, len(body), sha256(body)) for name, body in files.items()))


def serve(mirror: Mirror, prefix: str, files: dict[str, bytes], how: str = "ok") -> str:
    """Put `files` under /prefix/ on the mirror, served `how`; return that mirror's base URL."""
    for name, body in files.items():
        if how == "corrupt":  # same length, one byte different
            body = body[:-1] + bytes([body[-1] ^ 0xFF])
        if how != "missing":
            mirror.put(f"/{prefix}/{name}", body, "ok" if how == "corrupt" else how)
    return f"{mirror.base}/{prefix}/"


def leftovers(root: Path) -> list[Path]:
    """Temporary files or folders left anywhere under `root`."""
    return [p for p in root.rglob("*") if p.name.endswith(".part") or p.name.startswith(".extract-")]


def assert_mnist(loaded, arrays) -> None:
    x_train, y_train, x_test, y_test = loaded
    for x, key in ((x_train, "x_train"), (x_test, "x_test")):
        assert x.shape == arrays[key].shape and x.dtype == np.float32, (x.shape, x.dtype)
        np.testing.assert_array_equal(x, arrays[key].astype(np.float32) / np.float32(255))
    for y, key in ((y_train, "y_train"), (y_test, "y_test")):
        assert y.dtype == np.int64, f"labels should be int64, got {y.dtype}"
        np.testing.assert_array_equal(y, arrays[key])
    assert x_train.min() == 0.0 and x_train.max() == 1.0, "pixels 0 and 255 should map to 0 and 1"


# ----- the real table -----------------------------------------------------------------------

@pytest.mark.parametrize("source", [MNIST, CIFAR10], ids=lambda s: s.name)
def test_real_sources_have_https_mirrors_sizes_and_digests(source):
    assert len(source.mirrors) >= 2, f"{source.name}: expected more than one mirror"
    assert all(m.startswith("https://") and m.endswith("/") for m in source.mirrors)
    for file in source.files:
        assert len(file.sha256) == 64 and int(file.sha256, 16) >= 0 and file.size > 0, file
    assert downloads.SOURCES[source.name] is source


# ----- downloads ----------------------------------------------------------------------------

def test_good_mnist_downloads_verifies_and_parses(datasets, mirror):
    files, arrays = mnist_files()
    source = source_like(MNIST, files, [serve(mirror, "a", files)])
    assert_mnist(load_mnist(source=source, quiet=True), arrays)
    folder = datasets / "mnist"
    assert sorted(p.name for p in folder.iterdir()) == sorted(files), "exactly the four files"
    assert all((folder / n).read_bytes() == body for n, body in files.items())
    assert set(mirror.hits.values()) == {1}, f"one request per file, got {mirror.hits}"
    assert not leftovers(datasets)


def test_good_cifar10_downloads_extracts_and_parses(datasets, mirror):
    archive, arrays = cifar_archive(per_batch=2)
    source = source_like(CIFAR10, {"cifar-10-python.tar.gz": archive}, [serve(
        mirror, "a", {"cifar-10-python.tar.gz": archive})])
    x_train, y_train, x_test, y_test = load_cifar10(source=source, quiet=True)
    assert x_train.shape == (10, 3, 32, 32) and x_test.shape == (2, 3, 32, 32)
    assert x_train.dtype == x_test.dtype == np.float32 and y_train.dtype == y_test.dtype == np.int64
    np.testing.assert_array_equal(x_train, arrays["x_train"].astype(np.float32) / np.float32(255))
    np.testing.assert_array_equal(x_test, arrays["x_test"].astype(np.float32) / np.float32(255))
    np.testing.assert_array_equal(y_train, arrays["y_train"])
    np.testing.assert_array_equal(y_test, arrays["y_test"])
    extracted = datasets / "cifar10" / "cifar-10-batches-py"
    assert (extracted / "data_batch_5").is_file() and (extracted / "batches.meta").is_file()
    assert not leftovers(datasets)


@pytest.mark.parametrize("how", FAILURES + ["corrupt"])
def test_a_failing_first_mirror_falls_through_to_the_second(datasets, mirror, how):
    files, arrays = mnist_files()
    bad, good = serve(mirror, "bad", files, how), serve(mirror, "good", files)
    source = source_like(MNIST, files, [bad, good])
    assert_mnist(load_mnist(source=source, quiet=True, timeout=timeout_for(how)), arrays)
    assert all(mirror.hits[f"/good/{n}"] == 1 for n in files), mirror.hits
    assert all((datasets / "mnist" / n).read_bytes() == body for n, body in files.items())
    assert not leftovers(datasets)


@pytest.mark.parametrize("how", ["corrupt", "truncate", "drop", "hang"])
def test_every_mirror_failing_raises_and_leaves_nothing(datasets, mirror, how):
    files, _ = mnist_files()
    source = source_like(MNIST, files, [serve(mirror, "a", files, how),
                                        serve(mirror, "b", files, how)])
    with pytest.raises(DownloadError) as caught:
        load_mnist(source=source, quiet=True, timeout=timeout_for(how))
    message = str(caught.value)
    first = "train-images-idx3-ubyte.gz"
    for prefix in ("a", "b"):
        assert f"{mirror.base}/{prefix}/{first}: " in message, message
    reasons = [line for line in message.splitlines() if line.startswith(f"  {mirror.base}/")]
    assert len(reasons) == 2 and all(re.search(WHY[how], line) for line in reasons), (
        f"expected a reason matching {WHY[how]!r} for each mirror:\n{message}")
    assert list((datasets / "mnist").iterdir()) == [], "nothing may be left behind"
    assert sum(mirror.hits.values()) == 2, "stops at the first file no mirror could give"


def test_all_mirrors_down_gives_the_manual_download_path(datasets, mirror):
    files, _ = mnist_files()
    closed = Mirror()
    down = closed.base  # nothing listens there once stopped: connections are refused
    closed.stop()
    source = source_like(MNIST, files, [f"{down}/a/", f"{mirror.base}/gone/"])
    with pytest.raises(DownloadError) as caught:
        load_mnist(source=source, quiet=True)  # refused and 404 come at once: no timing
    message = str(caught.value)
    assert f"{down}/a/train-images-idx3-ubyte.gz: cannot connect" in message, message
    assert f"{mirror.base}/gone/train-images-idx3-ubyte.gz: HTTP 404" in message, message
    folder = datasets / "mnist"
    assert f"{folder}{os.sep}\n" in message, f"the exact folder to put files in:\n{message}"
    for file in source.files:  # what to fetch, from where, and how to recognise it
        assert f"{file.name} ({file.size:,} bytes, SHA-256 {file.sha256})" in message, message
        assert all(url in message for url in source.urls(file))
    assert list(folder.iterdir()) == []


def test_download_false_needs_no_network_and_says_what_is_missing(datasets, mirror):
    files, _ = mnist_files()
    source = source_like(MNIST, files, [serve(mirror, "a", files)])
    with pytest.raises(DownloadError, match="not downloaded yet") as caught:
        load_mnist(source=source, download=False)
    assert str(datasets / "mnist") in str(caught.value) and not mirror.hits


def test_cached_files_are_reused_without_any_request(datasets, mirror):
    files, arrays = mnist_files()
    source = source_like(MNIST, files, [serve(mirror, "a", files)])
    load_mnist(source=source, quiet=True)
    before = sum(mirror.hits.values())
    assert_mnist(load_mnist(source=source, quiet=True), arrays)
    assert_mnist(load_mnist(source=source, download=False), arrays)
    assert sum(mirror.hits.values()) == before, "a verified cache needs no network"


def test_a_corrupt_cached_file_is_downloaded_again(datasets, mirror):
    files, arrays = mnist_files()
    source = source_like(MNIST, files, [serve(mirror, "a", files)])
    load_mnist(source=source, quiet=True)
    damaged = datasets / "mnist" / "t10k-images-idx3-ubyte.gz"
    body = bytearray(damaged.read_bytes())
    body[100] ^= 0xFF  # same size, different digest
    damaged.write_bytes(bytes(body))
    assert_mnist(load_mnist(source=source, quiet=True), arrays)
    assert mirror.hits["/a/t10k-images-idx3-ubyte.gz"] == 2
    assert mirror.hits["/a/train-images-idx3-ubyte.gz"] == 1


def test_a_changed_cifar_batch_is_extracted_again_without_network(datasets, mirror):
    archive, arrays = cifar_archive(per_batch=2)
    source = source_like(CIFAR10, {"cifar-10-python.tar.gz": archive}, [serve(
        mirror, "a", {"cifar-10-python.tar.gz": archive})])
    load_cifar10(source=source, quiet=True)
    batch = datasets / "cifar10" / "cifar-10-batches-py" / "data_batch_3"
    batch.write_bytes(pickle.dumps({b"data": np.zeros((2, 3072), np.uint8), b"labels": [0, 0]}))
    x_train, y_train, _, _ = load_cifar10(source=source, quiet=True)
    np.testing.assert_array_equal(y_train, arrays["y_train"])
    np.testing.assert_array_equal(x_train, arrays["x_train"] / np.float32(255))
    assert sum(mirror.hits.values()) == 1


def test_command_line_downloads_and_prints_where(datasets, mirror, monkeypatch, capsys):
    files, _ = mnist_files()
    monkeypatch.setitem(downloads.SOURCES, "mnist",
                        source_like(MNIST, files, [serve(mirror, "a", files)]))
    assert downloads.main(["mnist", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert str(datasets / "mnist") in out and "train-images-idx3-ubyte.gz" in out, out
    monkeypatch.setitem(downloads.SOURCES, "mnist",
                        source_like(MNIST, {"other.gz": b"x"}, [f"{mirror.base}/gone/"]))
    assert downloads.main(["mnist", "--quiet"]) == 1
    assert "Download by hand" in capsys.readouterr().err


# ----- archives -----------------------------------------------------------------------------

def escaping_members(outside: Path) -> dict[str, list]:
    inner = "cifar-10-batches-py"
    return {
        "dot-dot": [(inner, "dir", None), ("../../../escaped", "file", b"evil")],
        "dot-dot-inside": [(inner, "dir", None), (f"{inner}/../../../../escaped", "file", b"x")],
        "absolute": [(inner, "dir", None), (str(outside / "escaped"), "file", b"evil")],
        "symlink-out": [(inner, "dir", None), (f"{inner}/link", "symlink", str(outside)),
                        (f"{inner}/link/escaped", "file", b"evil")],
        "symlink-dot-dot": [(inner, "dir", None), (f"{inner}/link", "symlink", "../../.."),
                            (f"{inner}/link/escaped", "file", b"evil")],
        "hardlink-out": [(inner, "dir", None),
                         (f"{inner}/data_batch_1", "hardlink", str(outside / "target"))],
    }


@pytest.mark.parametrize("kind", list(escaping_members(Path("/x"))))
def test_an_archive_member_escaping_the_folder_is_refused(datasets, mirror, tmp_path, kind):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "target").write_bytes(b"keep me")
    archive = tar_gz(escaping_members(outside)[kind])
    source = source_like(CIFAR10, {"cifar-10-python.tar.gz": archive}, [serve(
        mirror, "a", {"cifar-10-python.tar.gz": archive})])
    before = sorted(tmp_path.rglob("*"))
    with pytest.raises(UnsafeArchiveError):
        load_cifar10(source=source, quiet=True)
    written = set(tmp_path.rglob("*")) - set(before)
    assert written == {datasets / "cifar10", datasets / "cifar10" / "cifar-10-python.tar.gz"}, (
        f"only the verified archive may be written, found {sorted(map(str, written))}")
    assert (outside / "target").read_bytes() == b"keep me"


# ----- parsers ------------------------------------------------------------------------------

@pytest.mark.parametrize("ndim, magic", [(3, 0x0801), (3, 0x0903), (1, 0x0803), (3, 0x08000803)])
def test_idx_parser_rejects_a_wrong_magic_number(ndim, magic):
    data = idx_bytes(np.zeros((2, 28, 28) if ndim == 3 else (2,), np.uint8), magic=magic)
    with pytest.raises(DatasetFormatError, match="magic number"):
        downloads.parse_idx(data, ndim)


def test_idx_parser_rejects_wrong_sizes(tmp_path):
    good = idx_bytes(np.zeros((2, 28, 28), np.uint8))
    with pytest.raises(DatasetFormatError, match="bytes follow"):
        downloads.parse_idx(good[:-1], 3)
    with pytest.raises(DatasetFormatError, match="too short"):
        downloads.parse_idx(good[:8], 3)
    path = tmp_path / "small-images.gz"
    path.write_bytes(gzip.compress(idx_bytes(np.zeros((2, 8, 8), np.uint8))))
    with pytest.raises(DatasetFormatError, match=r"expected \(28, 28\)"):
        downloads.read_mnist_images(path)


def test_cifar_parser_refuses_pickles_that_call_anything_else():
    class Payload:
        def __reduce__(self):
            return (os.system, ("echo should never run",))

    with pytest.raises(DatasetFormatError, match="should not refer to"):
        downloads.parse_cifar_batch(pickle.dumps({b"data": Payload()}, protocol=2))
    with pytest.raises(DatasetFormatError, match="not a CIFAR batch"):
        downloads.parse_cifar_batch(pickle.dumps({b"labels": []}, protocol=2))
