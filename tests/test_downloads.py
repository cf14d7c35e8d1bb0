"""Specification of milestones/downloads.py: MNIST and CIFAR-10 downloads, end to end.

Every download goes to a local HTTP server on 127.0.0.1 (tests/fake_datasets.py) serving small
files in the real formats, well or badly on demand; the datasets/ folder is a temporary one,
named through TINYTORCH_DATASETS as a student would. No test touches the network.
"""

from __future__ import annotations

import dataclasses
import errno
import gzip
import io
import json
import os
import pickle
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from fake_datasets import Mirror, _Handler, cifar_archive, idx_bytes, mnist_files, sha256, tar_gz

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


# ----- faults: slow mirrors, kills, full or read-only disks, damaged files (issue 13) --------
# Every test here injects a fault: a mirror trickling bytes, a signal or a kill in the middle of
# a download, leftovers of killed runs, an archive too big once unpacked, a disk that is full,
# read-only or unwritable, and files that pass their digest but are not what their format says.

TRICKLE_EVERY = 0.5  # seconds between the bytes of a "trickle" file


class _Trickling(_Handler):
    """Serves a file put with how="trickle" one byte at a time, TRICKLE_EVERY seconds apart,
    until the mirror stops; every other file as tests/fake_datasets.py does."""

    def do_GET(self):
        mirror = self.server.mirror
        body, how = mirror.files.get(self.path, (b"", ""))
        if how != "trickle":
            return super().do_GET()
        mirror.hits[self.path] += 1
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.close_connection = True
        for i in range(len(body)):
            if mirror.stopping.wait(TRICKLE_EVERY):
                return
            self.wfile.write(body[i:i + 1])
            self.wfile.flush()


@pytest.fixture
def trickling(mirror) -> Mirror:
    mirror.server.RequestHandlerClass = _Trickling
    return mirror


def test_a_trickling_mirror_is_given_up_for_the_next(datasets, trickling, capsys):
    files, arrays = mnist_files()
    slow = "train-labels-idx1-ubyte.gz"  # ~30 bytes: 15 s at this pace, 40 min for an images file
    trickling.put(f"/slow/{slow}", files[slow], "trickle")
    source = source_like(MNIST, files, [f"{trickling.base}/slow/", serve(trickling, "good", files)])
    start = time.monotonic()
    assert_mnist(load_mnist(source=source, timeout=2.0), arrays)
    elapsed = time.monotonic() - start
    assert elapsed < 6, f"a mirror sending a byte every {TRICKLE_EVERY} s kept us {elapsed:.1f} s"
    err = capsys.readouterr().err
    assert re.search(rf"the mirror at 127\.0\.0\.1:\d+ sent \d+ bytes in 2\.\d s, under the "
                     rf"10,000 bytes/s minimum: too slow; trying the next mirror", err), err
    assert trickling.hits[f"/good/{slow}"] == 1 and not leftovers(datasets)


CHILD = """
import json, signal, sys
sys.path.insert(0, sys.argv[1])
from downloads import RemoteFile, Source, load_mnist
mirrors, files, hangup = json.loads(sys.argv[2])
signal.signal(signal.SIGHUP, getattr(signal, hangup))  # as in a terminal, or under nohup
load_mnist(source=Source("mnist", "MNIST", tuple(mirrors), tuple(RemoteFile(*f) for f in files)),
           quiet=True)
"""


def wait_for(condition, seconds: float = 20.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.02)


def start_download(files: dict[str, bytes], mirror: Mirror, datasets: Path,
                   hangup: str = "SIG_DFL") -> subprocess.Popen:
    """A process downloading `files`, the first of them trickling: it is in the middle of the
    download (its partial file is there) when this returns."""
    first = next(iter(files))
    mirror.put(f"/slow/{first}", files[first], "trickle")
    spec = [[f"{mirror.base}/slow/"], [[n, len(b), sha256(b)] for n, b in files.items()], hangup]
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(MILESTONES), json.dumps(spec)],
                             cwd=MILESTONES.parent, stderr=subprocess.PIPE, text=True)
    wait_for(lambda: child.poll() is not None or leftovers(datasets))
    assert child.poll() is None, child.communicate()[1]
    return child


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP, signal.SIGKILL],
                         ids=lambda s: signal.Signals(s).name)
def test_a_killed_download_leaves_nothing_for_long(datasets, trickling, capsys, signum):
    """SIGTERM and SIGHUP clean up on the way out; SIGKILL cannot be caught, so the next run
    removes what it left, and says so."""
    files, arrays = mnist_files()
    folder = datasets / "mnist"
    child = start_download(files, trickling, datasets)
    try:
        child.send_signal(signum)
        err = child.communicate(timeout=20)[1]
    finally:
        child.kill()
    assert child.returncode == -signum, (child.returncode, err)
    name = signal.Signals(signum).name
    if signum == signal.SIGKILL:
        assert len(leftovers(datasets)) == 1, "SIGKILL leaves the partial file, at first"
    else:
        assert f"{name}: download stopped; its partial files are removed" in err, err
        assert not leftovers(datasets), f"{name} left {leftovers(datasets)}"
    left = leftovers(datasets)
    source = source_like(MNIST, files, [serve(trickling, "good", files)])
    assert_mnist(load_mnist(source=source, quiet=True), arrays)
    assert not leftovers(datasets)
    said = capsys.readouterr().err
    assert all(f"removed {p} (1 MB), left by an interrupted run" in said for p in left), said
    assert sorted(p.name for p in folder.iterdir()) == sorted(files)


def test_a_download_under_nohup_goes_on_after_a_hangup(datasets, trickling):
    child = start_download(mnist_files()[0], trickling, datasets, hangup="SIG_IGN")
    try:
        child.send_signal(signal.SIGHUP)
        time.sleep(0.3)
        assert child.poll() is None, f"SIGHUP (ignored: nohup) stopped it: {child.stderr.read()}"
    finally:
        child.kill()
        child.communicate()


def dead_pid() -> int:
    process = subprocess.Popen(["true"])
    process.wait()
    return process.pid


def test_only_leftovers_of_gone_writers_are_removed(datasets, mirror, capsys):
    archive, _ = cifar_archive(per_batch=2)
    name = "cifar-10-python.tar.gz"
    source = source_like(CIFAR10, {name: archive}, [serve(mirror, "a", {name: archive})])
    folder = datasets / "cifar10"
    folder.mkdir()
    host, dead, alive = socket.gethostname(), dead_pid(), os.getppid()
    gone = [f".{name}~{host}~{dead}~0000000a.part",
            f".extract-cifar-10-batches-py~{host}~{dead}~0000000b",
            f".{name}.old12345.part"]  # the last: as earlier versions named it, days old
    kept = [f".{name}~{host}~{alive}~0000000c.part",          # its writer still runs
            f".{name}~elsewhere~{dead}~0000000d.part",        # another host's: cannot tell
            ".extract-new12345",                              # an earlier version's, fresh
            f".notes.txt~{host}~{dead}~0000000e.part", "mine.part",  # not a download of ours
            f".other~{host}~{dead}~0000000f"]
    for entry in gone + kept:
        if "extract" in entry or entry.startswith(".other"):
            (folder / entry).mkdir()
            (folder / entry / "data_batch_1").write_bytes(b"x" * 1000)
        else:
            (folder / entry).write_bytes(b"partial")
    days_ago = time.time() - 3 * 24 * 3600
    os.utime(folder / gone[2], (days_ago, days_ago))
    load_cifar10(source=source, quiet=True)
    remaining = {p.name for p in folder.iterdir()}
    assert remaining == set(kept) | {name, "cifar-10-batches-py"}, sorted(remaining)
    said = capsys.readouterr().err
    assert all(f"removed {folder / g} (1 MB), left by an interrupted run" in said
               for g in gone), said


@pytest.mark.parametrize("how", ["explicit-cap", "four-times-the-archive", "too-many-members"])
def test_an_archive_unpacking_to_too_much_is_refused(datasets, mirror, tmp_path, monkeypatch, how):
    inner = "cifar-10-batches-py"
    members = [(inner, "dir", None), (f"{inner}/data_batch_1", "file", bytes(1_000_000))]
    cap = {"explicit-cap": 500_000, "four-times-the-archive": None, "too-many-members": 10**9}[how]
    if how == "too-many-members":
        monkeypatch.setattr(downloads, "MAX_MEMBERS", 5)
        members += [(f"{inner}/extra_{i}", "file", b"x") for i in range(5)]
    archive = tar_gz(members)  # 1 MB of zeros packs into about 1 kB
    source = dataclasses.replace(source_like(CIFAR10, {"cifar-10-python.tar.gz": archive}, [
        serve(mirror, "a", {"cifar-10-python.tar.gz": archive})]), max_extracted=cap)
    with pytest.raises(UnsafeArchiveError, match="would unpack to more than|more than 5 entries"):
        load_cifar10(source=source, quiet=True)
    folder = datasets / "cifar10"
    assert [p.name for p in folder.iterdir()] == ["cifar-10-python.tar.gz"], list(folder.iterdir())


@pytest.fixture
def small_disk(tmp_path):
    """A mount point for a 64 kB tmpfs, or None where this user may not mount one."""
    point = tmp_path / "disk"
    point.mkdir()
    if os.geteuid() != 0 or not shutil.which("mount"):
        yield None
        return
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(point)],
                             capture_output=True).returncode == 0
    try:
        yield point if mounted else None
    finally:
        if mounted:
            subprocess.run(["umount", "-l", str(point)], capture_output=True)


def failing_open(code: int, only: str = ""):
    """builtins.open, but files whose path contains `only` fail with errno `code` (when written,
    for ENOSPC; when opened, otherwise), as a full, read-only or forbidden folder would."""
    class Full(io.FileIO):
        def write(self, data):
            raise OSError(code, os.strerror(code))

    def fake(path, mode="r", *args, **kwargs):
        if "b" not in mode or only not in str(path) or mode.startswith("r"):
            return open(path, mode, *args, **kwargs)
        if code in (errno.ENOSPC,):
            return io.BufferedWriter(Full(path, mode.replace("b", "")))
        raise OSError(code, os.strerror(code), str(path))
    return fake


@pytest.mark.parametrize("how", ["full", "read-only", "forbidden", "full-while-extracting"])
def test_a_local_disk_fault_is_reported_as_such_and_tries_no_other_mirror(
        mirror, tmp_path, monkeypatch, small_disk, how):
    code = {"full": errno.ENOSPC, "read-only": errno.EROFS, "forbidden": errno.EACCES,
            "full-while-extracting": errno.ENOSPC}[how]
    root = tmp_path / "datasets"
    if small_disk is not None and how in ("full", "read-only"):  # the real thing
        root = small_disk / "datasets"
        root.mkdir()
        if how == "full":
            with open(small_disk / "filler", "wb", buffering=0) as filler, pytest.raises(OSError):
                while True:
                    filler.write(bytes(4096))
        else:
            subprocess.run(["mount", "-o", "remount,ro", str(small_disk)], check=True)
    else:
        root.mkdir()
        monkeypatch.setattr(downloads, "open", failing_open(code, ".extract-" if "extract" in how
                                                            else ""), raising=False)
    monkeypatch.setenv(DATASETS_ENV, str(root))
    if how == "full-while-extracting":
        archive, _ = cifar_archive(per_batch=2)
        files, real, load = {"cifar-10-python.tar.gz": archive}, CIFAR10, load_cifar10
    else:
        (files, _), real, load = mnist_files(), MNIST, load_mnist
    source = source_like(real, files, [serve(mirror, "a", files), serve(mirror, "b", files)])
    with pytest.raises(DownloadError) as caught:
        load(source=source, quiet=True)
    message = str(caught.value)
    assert "Offline" not in message and "mirror" not in message, message
    if code == errno.ENOSPC:
        what = "cifar10/cifar-10-batches-py: free at least 250 MB" if "extract" in how else (
            "mnist/train-images-idx3-ubyte.gz: free at least 1 MB")
        assert f"no space left on device while writing {root}/{what} on the disk" in message
    else:
        assert f"cannot write to {root}" in message and os.strerror(code) in message, message
    assert not any(n.startswith("/b/") for n in mirror.hits), f"tried another mirror: {mirror.hits}"
    assert not leftovers(root)


def damaged_files(how: str) -> tuple[Source, dict[str, bytes], str, str]:
    """A source whose listed digests match files that are not what their format says: the
    source, its files, the file named in the error, and the one to delete."""
    if how.startswith("mnist"):
        files, _ = mnist_files()
        first = "train-images-idx3-ubyte.gz"
        files[first] = files[first][:-20] if how == "mnist-cut-gzip" else b"not gzip at all"
        return MNIST, files, first, first
    archive, _ = cifar_archive(per_batch=2)
    name, batches = "cifar-10-python.tar.gz", "cifar-10-batches-py"
    if how == "cifar-not-tar":
        archive = b"an HTML error page, say"
    elif how == "cifar-cut-archive":
        archive = archive[:len(archive) // 2]
    elif how == "cifar-cut-pickle":
        batch = pickle.dumps({b"data": np.zeros((2, 3072), np.uint8), b"labels": [0, 1]},
                             protocol=2)
        archive = tar_gz([(batches, "dir", None)] + [
            (f"{batches}/{n}", "file", batch[:-30] if n == "data_batch_2" else batch)
            for n in downloads.CIFAR_TRAIN + downloads.CIFAR_TEST])
        return CIFAR10, {name: archive}, f"{batches}/data_batch_2", name
    return CIFAR10, {name: archive}, name, name


@pytest.mark.parametrize("how", ["mnist-cut-gzip", "mnist-not-gzip", "cifar-not-tar",
                                 "cifar-cut-archive", "cifar-cut-pickle"])
def test_a_verified_file_that_cannot_be_read_says_what_to_do(datasets, mirror, how):
    real, files, named, delete = damaged_files(how)
    source = source_like(real, files, [serve(mirror, "a", files)])
    load = load_mnist if real is MNIST else load_cifar10
    folder = datasets / real.name
    for attempt in range(2):  # and the same again: the cache is left as it was
        with pytest.raises(DownloadError) as caught:
            load(source=source, quiet=True)
        message = str(caught.value)
        assert f"{folder / named} " in message and "matches the size and SHA-256" in message
        assert f"Delete {folder / delete} and run again" in message, message
        assert not leftovers(datasets)
        assert {p.name for p in folder.iterdir()} - {"cifar-10-batches-py"} == set(files)
    assert sum(mirror.hits.values()) == len(files), "verified files are downloaded once"


def test_a_new_archive_is_extracted_afresh(datasets, mirror):
    name = "cifar-10-python.tar.gz"
    old, _ = cifar_archive(per_batch=2, seed=1)
    load_cifar10(source=source_like(CIFAR10, {name: old}, [serve(mirror, "old", {name: old})]),
                 quiet=True)
    new, arrays = cifar_archive(per_batch=2, seed=2)  # the table now lists another archive
    _, y_train, _, _ = load_cifar10(source=source_like(CIFAR10, {name: new}, [
        serve(mirror, "new", {name: new})]), quiet=True)
    np.testing.assert_array_equal(y_train, arrays["y_train"])


@pytest.mark.parametrize("option", ["--timeout", "--min-rate"])
@pytest.mark.parametrize("value", ["nan", "inf", "0", "-1", "abc"])
def test_command_line_refuses_a_timeout_or_rate_that_is_no_positive_number(
        datasets, mirror, monkeypatch, capsys, option, value):
    files, _ = mnist_files()
    monkeypatch.setitem(downloads.SOURCES, "mnist",
                        source_like(MNIST, files, [serve(mirror, "a", files)]))
    with pytest.raises(SystemExit) as stopped:
        downloads.main(["mnist", "--quiet", f"{option}={value}"])
    assert stopped.value.code == 2 and not mirror.hits
    assert f"argument {option}: '{value}' is not a positive number" in capsys.readouterr().err
