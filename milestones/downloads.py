"""Download, verify and read MNIST and CIFAR-10 for the milestones.

    python milestones/downloads.py mnist       # or: cifar10, or both

The files go to datasets/mnist/ and datasets/cifar10/ (git-ignored download caches) inside the
folder that `tinytorch.data.loader.find_datasets()` finds. Every file is checked against the
size and SHA-256 listed below before it is used; a download is written to a temporary file
beside its target and renamed into place only once verified, so an interrupted or bad download
never leaves a partial file under the final name. Milestones use:

    from downloads import load_mnist, load_cifar10, DownloadError
    x_train, y_train, x_test, y_test = load_mnist()      # (N, 28, 28) float32 in [0, 1], int64
    x_train, y_train, x_test, y_test = load_cifar10()    # (N, 3, 32, 32) float32 in [0, 1], int64

Tests pass their own `Source` (local mirrors, small files, their digests) instead of the real
ones, through the `source=` argument of every public function.

Faults: a mirror that fails, stalls or trickles (under MIN_RATE for `timeout` seconds) is left
for the next one; a full or unwritable disk stops at once, saying so (no mirror can fix it);
SIGTERM/SIGHUP remove the partial files on the way out, and each run removes those of runs
that were killed outright (SIGKILL, power loss). Temporary names carry host and process id, so
a run never deletes the files of another that is still writing.

Why not pooch (weighed for issue 13): it tries one URL per file (retries, no list of mirrors),
its timeout is per read (a trickling server never times out), its temporary `tmpXXXX` files are
left behind by a kill with nothing to recognise them by, Untar extracts in place, uncapped and
(before Python 3.12) unfiltered, and a full disk arrives as a bare OSError. Each of these would
still be code of ours, on top of requests, platformdirs and packaging; the digests and the
cache check it would save are about 20 lines here.
"""

from __future__ import annotations

import argparse
import errno
import functools
import gzip
import hashlib
import io
import math
import os
import pickle
import re
import secrets
import shutil
import signal
import socket
import sys
import tarfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import zlib
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import BinaryIO, Iterator, Mapping, Optional, Sequence, Tuple

import numpy as np

from tinytorch.data.loader import DATASETS_ENV, find_datasets

Split = Tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]  # x_train, y_train, x_test, y_test


# ----- what to download ---------------------------------------------------------------------

@dataclass(frozen=True)
class RemoteFile:
    """One file of a dataset: its name on every mirror and in the cache, size and SHA-256."""

    name: str
    size: int
    sha256: str


@dataclass(frozen=True)
class Source:
    """Where a dataset comes from: a cache folder name, mirrors tried in order, its files.

    A mirror is a base URL: a file's URL is the mirror followed by the file's name.
    """

    name: str                       # folder under datasets/, and the name on the command line
    title: str                      # for messages
    mirrors: Tuple[str, ...]
    files: Tuple[RemoteFile, ...]
    homepage: str = ""
    extract: str = ""               # for an archive (the first file): the folder it unpacks to
    max_extracted: Optional[int] = None  # bytes the archive may unpack to (None: 4x its size)

    def urls(self, file: RemoteFile) -> list[str]:
        return [mirror.rstrip("/") + "/" + file.name for mirror in self.mirrors]


# Sizes and SHA-256 digests of the files as their authors published them (the same values are
# used by torchvision, TensorFlow Datasets and Keras). The mirrors serve byte-identical copies;
# a mirror serving anything else is rejected by the digest check, whatever it claims.
MNIST = Source(
    name="mnist",
    title="MNIST",
    mirrors=("https://ossci-datasets.s3.amazonaws.com/mnist/",           # PyTorch's mirror
             "https://storage.googleapis.com/cvdf-datasets/mnist/"),     # TensorFlow's mirror
    files=(
        RemoteFile("train-images-idx3-ubyte.gz", 9_912_422,
                   "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609"),
        RemoteFile("train-labels-idx1-ubyte.gz", 28_881,
                   "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c"),
        RemoteFile("t10k-images-idx3-ubyte.gz", 1_648_877,
                   "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6"),
        RemoteFile("t10k-labels-idx1-ubyte.gz", 4_542,
                   "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6"),
    ),
    homepage="http://yann.lecun.com/exdb/mnist/",
)

CIFAR10 = Source(
    name="cifar10",
    title="CIFAR-10",
    mirrors=("https://www.cs.toronto.edu/~kriz/",             # the authors' page
             "https://dataset.bj.bcebos.com/cifar/"),         # PaddlePaddle's mirror
    files=(
        RemoteFile("cifar-10-python.tar.gz", 170_498_071,
                   "6d958be074577803d12ecdefd02955f39262c83c16fe9348329d7fe0b5c001ce"),
    ),
    homepage="https://www.cs.toronto.edu/~kriz/cifar.html",
    extract="cifar-10-batches-py",
    max_extracted=250_000_000,  # it unpacks to about 186 MB (six 31 MB batches)
)

SOURCES: Mapping[str, Source] = {"mnist": MNIST, "cifar10": CIFAR10}

# What the files hold (fixed by the formats, not by the mirrors).
MNIST_SPLITS = {"train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
                "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")}
CIFAR_TRAIN = tuple(f"data_batch_{i}" for i in range(1, 6))
CIFAR_TEST = ("test_batch",)
MANIFEST = "SHA256SUMS"  # written beside the extracted batches: their digests, as extracted

TIMEOUT = 30.0      # seconds to connect, to wait for each chunk, and to judge a mirror's speed
MIN_RATE = 10_000   # bytes/s a mirror must keep up, over every `timeout` seconds of a download
CHUNK = 1 << 20     # bytes read, hashed and written at a time
MAX_MEMBERS = 1_000  # entries an archive may hold (CIFAR-10 has 8): no inode exhaustion
STALE_AFTER = 24 * 3600  # seconds after which any leftover is taken as abandoned (see below)


class DownloadError(RuntimeError):
    """No verified copy of a dataset could be obtained; the message says how to get it by hand."""


class UnsafeArchiveError(RuntimeError):
    """An archive holds a member that would land outside the folder it is extracted into."""


class DatasetFormatError(ValueError):
    """A dataset file does not have the layout its format promises."""


class DiskError(DownloadError):
    """Writing to the datasets folder failed: a problem of this disk, which no mirror can fix."""


class TooSlowError(DownloadError):
    """A mirror kept sending, but too little to finish in any reasonable time."""


# ----- writing to the cache ------------------------------------------------------------------

HOST = socket.gethostname()
# Temporaries are named .LABEL~HOST~PID~TOKEN (.part for a download, a folder for an
# extraction): a later run can then tell the leftovers of a killed run from the work of a live one.
TEMPORARY = re.compile(r"\.(?P<label>[^~]+)~(?P<host>[^~]+)~(?P<pid>\d+)~[0-9a-f]{8}"
                       r"(?P<part>\.part)?")
# What earlier versions named them (tempfile's 8 characters, no writer): removed once stale.
UNOWNED = (re.compile(r"\.(?P<label>.+)\.[a-z0-9_]{8}(?P<part>\.part)"),
           re.compile(r"\.(?P<label>extract)-[a-z0-9_]{8}(?P<part>)"))
NO_SPACE = {errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)}


def temporary_path(folder: Path, label: str, suffix: str = "") -> Path:
    return folder / f".{label}~{HOST}~{os.getpid()}~{secrets.token_hex(4)}{suffix}"


def megabytes(size: int) -> str:
    return f"{max(1, -(-size // 1_000_000)):,} MB"


def disk_error(error: OSError, path: Path, need: int) -> DiskError:
    """What went wrong writing `path` (the name the user knows, not a temporary one), and what
    to do about it."""
    elsewhere = f"set {DATASETS_ENV} to a datasets/ folder"
    if error.errno in NO_SPACE:
        return DiskError(f"no space left on device while writing {path}: free at least "
                         f"{megabytes(need)} on the disk that holds {path.parent} (or {elsewhere} "
                         "on another disk) and run again")
    return DiskError(f"cannot write to {path.parent}: {error.strerror or error}. Make it "
                     f"writable (or {elsewhere} you can write to) and run again")


@contextmanager
def writing(path: Path, need: int) -> Iterator[None]:
    """Report an OSError of the writes inside as a DiskError: only writes go in here, because a
    network error is an OSError too, and only a network error makes the next mirror worth trying."""
    try:
        yield
    except OSError as error:
        raise disk_error(error, path, need) from error


class NewFile:
    """A file created to be written, whose write errors are DiskErrors about `shown`."""

    def __init__(self, path: Path, shown: Path, need: int, mode: str = "xb"):
        self.shown, self.need = shown, need
        with writing(shown, need):
            self.file: BinaryIO = open(path, mode)

    def write(self, data: bytes) -> None:
        with writing(self.shown, self.need):
            self.file.write(data)

    def close(self) -> None:
        with writing(self.shown, self.need):  # the last buffered bytes are written here
            self.file.close()


def writer_gone(entry: Path, host: Optional[str], pid: Optional[int]) -> bool:
    """Whether nothing can still be writing `entry`: its process (on this host) has ended, or it
    has not changed for STALE_AFTER seconds, which no live download (MIN_RATE) or extraction
    allows. The age rule covers other hosts sharing the folder, names that carry no writer, and
    systems where a process cannot be probed without harm (os.kill ends it on Windows)."""
    if host == HOST and pid is not None and pid != os.getpid() and os.name == "posix":
        try:
            os.kill(pid, 0)  # signal 0: only asks whether the process exists
        except ProcessLookupError:
            return True
        except OSError:  # it exists, under another user
            pass
    try:
        return time.time() - entry.lstat().st_mtime > STALE_AFTER
    except OSError:
        return False


def is_leftover(entry: Path, source: Source) -> bool:
    """Whether `entry` is a temporary of ours (a partial download of one of the source's files,
    or an extraction folder) whose writer is gone."""
    match = next(filter(None, (r.fullmatch(entry.name) for r in (TEMPORARY, *UNOWNED))), None)
    if match is None or entry.is_symlink():
        return False
    if match["part"]:
        ours = match["label"] in {f.name for f in source.files} and entry.is_file()
    else:
        ours = match["label"] in ("extract", f"extract-{source.extract}") and entry.is_dir()
    owned = match.re is TEMPORARY
    return ours and writer_gone(entry, match["host"] if owned else None,
                                int(match["pid"]) if owned else None)


def remove_leftovers(source: Source, folder: Path) -> None:
    """Remove, and report, what runs that were killed outright (SIGKILL, a power cut) left in
    `folder`; SIGTERM and SIGHUP are cleaned up on the way out (see interruptible)."""
    try:
        entries = sorted(folder.iterdir())
    except OSError:  # no folder yet; an unreadable one is reported by the writes that follow
        return
    for entry in filter(lambda e: is_leftover(e, source), entries):
        try:
            files = [entry] if entry.is_file() else [p for p in entry.rglob("*") if p.is_file()]
            size = sum(p.lstat().st_size for p in files)
            shutil.rmtree(entry) if entry.is_dir() else entry.unlink()
        except FileNotFoundError:  # another run removed it first
            continue
        except OSError as error:
            print(f"note: cannot remove {entry}, left by an interrupted run: {error.strerror}",
                  file=sys.stderr)
            continue
        print(f"removed {entry} ({megabytes(size)}), left by an interrupted run", file=sys.stderr)


# ----- signals ------------------------------------------------------------------------------

CLEANUP_SIGNALS = tuple(getattr(signal, n) for n in ("SIGTERM", "SIGHUP") if hasattr(signal, n))


class Interrupted(BaseException):
    """SIGTERM or SIGHUP arrived. Raised by the signal handler, so that every `finally` and
    `except BaseException` on the way out removes its temporaries; a BaseException, so that no
    mirror loop takes it for a failed mirror."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum


def interruptible(function):
    """Run `function` so that SIGTERM and SIGHUP, which by default end the process on the spot,
    first remove its partial files; the process then still ends by that signal (its exit status
    says so), after a line on stderr. Signals not at their default (ignored under nohup, or
    handled by the program) are left alone, as is any thread but the main one (Python lets
    only the main thread set handlers)."""
    @functools.wraps(function)
    def run(*args, **kwargs):
        if threading.current_thread() is not threading.main_thread():
            return function(*args, **kwargs)
        ours = [s for s in CLEANUP_SIGNALS if signal.getsignal(s) == signal.SIG_DFL]

        def stop(signum, frame):
            for s in ours:  # a second signal must not cut the cleanup short
                signal.signal(s, signal.SIG_IGN)
            raise Interrupted(signum)

        for s in ours:
            signal.signal(s, stop)
        try:
            return function(*args, **kwargs)
        except Interrupted as interrupted:
            print(f"\n{signal.Signals(interrupted.signum).name}: download stopped; its partial "
                  "files are removed (run it again to start over)", file=sys.stderr, flush=True)
            signal.signal(interrupted.signum, signal.SIG_DFL)
            signal.raise_signal(interrupted.signum)
            raise  # only if the signal did not end the process
        finally:
            for s in ours:
                signal.signal(s, signal.SIG_DFL)
    return run


# ----- downloading and verifying ------------------------------------------------------------

def dataset_folder(source: Source, root: Optional[Path] = None) -> Path:
    """datasets/<source.name>/ under `root` (default: the folder find_datasets() locates)."""
    return Path(root if root is not None else find_datasets()) / source.name


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def check_cached(path: Path, file: RemoteFile) -> Optional[str]:
    """None when `path` holds exactly `file`, else why not (missing, wrong size, wrong digest)."""
    if not path.is_file():
        return "not downloaded yet"
    size = path.stat().st_size
    if size != file.size:
        return f"cached copy has {size:,} bytes, expected {file.size:,}"
    digest = sha256_of(path)
    if digest != file.sha256:
        return f"cached copy has SHA-256 {digest}, expected {file.sha256}"
    return None


class Pace:
    """Fails a download (TooSlowError) that gets under `min_rate` bytes/s over a span of `window`
    seconds. The timeout bounds each read, not the whole: a server sending a byte every few
    seconds would otherwise keep a download going for days."""

    def __init__(self, url: str, window: float, min_rate: float):
        self.host = urllib.parse.urlsplit(url).netloc
        self.window, self.min_rate = window, min_rate
        self.start, self.count = time.monotonic(), 0

    def check(self, received: int) -> None:
        self.count += received
        elapsed = time.monotonic() - self.start
        if elapsed < self.window:
            return
        if self.count < self.min_rate * elapsed:
            raise TooSlowError(f"the mirror at {self.host} sent {self.count:,} bytes in "
                               f"{elapsed:.1f} s, under the {self.min_rate:,.0f} bytes/s "
                               "minimum: too slow")
        self.start, self.count = time.monotonic(), 0


def receive(url: str, file: RemoteFile, out: NewFile, timeout: float, min_rate: float,
            progress: "Progress") -> str:
    """Stream `url` into `out`, checking its length and pace as it comes; return its SHA-256."""
    request = urllib.request.Request(url, headers={"User-Agent": "tinytorch-downloads/0.1"})
    digest, received = hashlib.sha256(), 0
    # The timeout covers connecting and every read: a stalled server fails, never hangs.
    with urllib.request.urlopen(request, timeout=timeout) as response:
        pace = Pace(url, timeout, min_rate)
        while chunk := response.read1(CHUNK):  # what has come so far: the pace is checked often
            received += len(chunk)
            if received > file.size:  # stop early: it cannot be the file we want
                raise DownloadError(f"server sent more than the expected {file.size:,} bytes")
            pace.check(len(chunk))
            digest.update(chunk)
            out.write(chunk)
            progress.update(received)
    if received != file.size:
        raise DownloadError(f"got {received:,} of {file.size:,} bytes (cut short)")
    return digest.hexdigest()


def download_file(url: str, destination: Path, file: RemoteFile, *, timeout: float = TIMEOUT,
                  min_rate: float = MIN_RATE, quiet: bool = True) -> None:
    """Stream `url` to a temporary file beside `destination`; rename it into place if verified.

    Raises DiskError if the file cannot be written (no mirror can help with that); OSError
    (network, timeout, HTTP error), http.client.HTTPException (a malformed or cut-short
    response) or DownloadError (too slow, wrong size or digest) for a fault of the mirror. The
    temporary file is removed whatever happens; `destination` is only ever replaced by a
    verified copy.
    """
    temporary = temporary_path(destination.parent, file.name, ".part")
    progress = Progress(file, quiet)
    try:  # from before the file exists: a signal at any point after finds it removed
        out = NewFile(temporary, destination, file.size)
        try:
            digest = receive(url, file, out, timeout, min_rate, progress)
        finally:
            out.close()
        progress.done()
        if digest != file.sha256:
            raise DownloadError(f"SHA-256 {digest} does not match {file.sha256}")
        with writing(destination, file.size):
            os.replace(temporary, destination)  # atomic: readers see the old file or the new one
    except BaseException:
        progress.done()
        temporary.unlink(missing_ok=True)
        raise


class Progress:
    """A one-line progress report on a terminal's stderr, at most a few times a second."""

    def __init__(self, file: RemoteFile, quiet: bool):
        # Redrawn with "\r", which only a terminal shows as intended: silent in logs and tests.
        self.file, self.quiet, self.last = file, quiet or not sys.stderr.isatty(), 0.0

    def update(self, received: int) -> None:
        now = time.monotonic()
        if self.quiet or now - self.last < 0.25:
            return
        self.last = now
        print(f"\r  {self.file.name}: {received / 1e6:7.1f} / {self.file.size / 1e6:.1f} MB "
              f"({100 * received / self.file.size:3.0f}%)", end="", file=sys.stderr, flush=True)

    def done(self) -> None:
        if not self.quiet and self.last:
            print(file=sys.stderr)
            self.last = 0.0


def describe(error: BaseException) -> str:
    """A short reason for a failed attempt, for the list in DownloadError's message."""
    if isinstance(error, urllib.error.HTTPError):
        return f"HTTP {error.code} {error.reason}"
    if isinstance(error, urllib.error.URLError):
        return f"cannot connect ({error.reason})"
    if isinstance(error, TimeoutError):
        return "timed out"
    if isinstance(error, DownloadError):  # our own checks say what was wrong
        return str(error)
    return f"{type(error).__name__}: {error}" if str(error) else type(error).__name__


def damaged(path: Path, what: str, error: BaseException,
            delete: Optional[Path] = None) -> DownloadError:
    """A file that matches its listed size and SHA-256 but cannot be used: the copy the mirrors
    serve, or the table above, is wrong. Nothing half-made is left: the caller keeps only
    verified files, and a new download of an archive is extracted afresh."""
    reason = str(error) if isinstance(error, DatasetFormatError) else describe(error)
    reason = reason.splitlines()[0].rstrip(":")  # tarfile's ReadError goes on for lines
    return DownloadError(f"{path} {what} ({reason}), although it matches the size and "
                         f"SHA-256 listed for it. Delete {delete or path} and run again to "
                         "download it afresh; if the new copy fails the same way, the file the "
                         "mirrors serve is itself damaged: please report it.")


@interruptible
def fetch(source: Source, root: Optional[Path] = None, *, timeout: float = TIMEOUT,
          min_rate: float = MIN_RATE, quiet: bool = False) -> Path:
    """Make sure every file of `source` is in its folder and verified; return the folder.

    Cached files are checked once (size, then SHA-256) and reused without any network access;
    a missing or corrupt one is downloaded from the mirrors in order. For an archive (CIFAR-10)
    the batches are also extracted, safely, if they are not there yet or the archive is new.
    """
    folder = dataset_folder(source, root)
    with writing(folder, sum(f.size for f in source.files)):
        folder.mkdir(parents=True, exist_ok=True)
    remove_leftovers(source, folder)
    downloaded = False
    for index, file in enumerate(source.files):
        path = folder / file.name
        problem = check_cached(path, file)
        if problem is None:
            continue
        tried = []
        if path.exists():  # unusable as it is: say so, and let a verified copy replace it
            tried.append((str(path), problem + "; removed it"))
            with writing(path, file.size):
                path.unlink()
        download_from_mirrors(source, index, folder, tried, timeout, min_rate, quiet)
        downloaded = True
    if source.extract:
        ensure_extracted(source, folder, refresh=downloaded)
    return folder


def download_from_mirrors(source: Source, index: int, folder: Path, tried: list,
                          timeout: float, min_rate: float, quiet: bool) -> None:
    """source.files[index] from the first mirror that gives a verified copy; else DownloadError
    listing every attempt (`tried` holds those made already) and how to get the files by hand."""
    file = source.files[index]
    urls = source.urls(file)
    for number, url in enumerate(urls, 1):
        if not quiet:
            print(f"downloading {url}", file=sys.stderr)
        try:
            download_file(url, folder / file.name, file, timeout=timeout, min_rate=min_rate,
                          quiet=quiet)
        except DiskError:
            raise  # this disk's problem: every other mirror would meet it too
        except Exception as error:  # recorded, then the next mirror is tried
            tried.append((url, describe(error)))
            if not quiet and number < len(urls):
                print(f"  {describe(error)}; trying the next mirror", file=sys.stderr)
        else:
            if not quiet:
                print(f"  verified {folder / file.name} ({file.size:,} bytes)", file=sys.stderr)
            return
    missing = [f for f in source.files[index:] if check_cached(folder / f.name, f)]
    lines = [f"Could not get a verified copy of {file.name} ({source.title}). Tried:"]
    lines += [f"  {where}: {why}" for where, why in tried]
    lines += ["", "Offline, or every mirror is down? Download by hand instead:"]
    raise DownloadError("\n".join(lines + manual_steps(source, folder, missing)))


def manual_steps(source: Source, folder: Path, missing: Sequence[RemoteFile]) -> list[str]:
    """How to put the missing files in place by hand: what, from where, and exactly where to."""
    lines = []
    for file in missing:
        lines.append(f"  {file.name} ({file.size:,} bytes, SHA-256 {file.sha256}) from one of")
        lines += [f"      {url}" for url in source.urls(file)]
    lines += [f"and put {'it' if len(missing) == 1 else 'them'}, as downloaded (not unpacked, "
              f"same name), in", f"  {folder}{os.sep}",
              f"then run this again (or `python milestones/downloads.py {source.name}`): the "
              "files are checked and reused. Datasets live elsewhere? Set "
              f"{DATASETS_ENV} to that datasets/ folder."]
    return lines


# ----- extracting archives safely -----------------------------------------------------------

def member_path(member: tarfile.TarInfo) -> PurePosixPath:
    return PurePosixPath(member.name.replace("\\", "/"))  # a backslash is a separator on Windows


def checked_members(archive: tarfile.TarFile, target: Path,
                    limit: int) -> Iterator[tarfile.TarInfo]:
    """The archive's members, refusing (UnsafeArchiveError) any that could escape `target`, and
    any beyond MAX_MEMBERS entries or `limit` bytes in all, before a byte of it is written.

    Only regular files and folders are accepted: a dataset archive has no reason to hold links
    or devices, and a link is the classic way to write outside the target.
    """
    target, total = target.resolve(), 0
    for count, member in enumerate(archive, 1):
        name = member_path(member)
        if count > MAX_MEMBERS:
            raise UnsafeArchiveError(f"archive holds more than {MAX_MEMBERS:,} entries; a "
                                     "dataset archive needs a handful")
        if name.is_absolute() or (name.parts and ":" in name.parts[0]):
            raise UnsafeArchiveError(f"archive member {member.name!r} has an absolute path")
        if ".." in name.parts:
            raise UnsafeArchiveError(f"archive member {member.name!r} climbs out with '..'")
        if member.issym() or member.islnk():
            raise UnsafeArchiveError(f"archive member {member.name!r} is a link (to "
                                     f"{member.linkname!r}); a dataset archive needs none")
        if not (member.isfile() or member.isdir()):
            raise UnsafeArchiveError(f"archive member {member.name!r} is not a file or folder")
        if not (target / name).resolve().is_relative_to(target):
            raise UnsafeArchiveError(f"archive member {member.name!r} lands outside {target}")
        total += member.size if member.isfile() else 0
        if total > limit:
            raise UnsafeArchiveError(f"archive would unpack to more than {limit:,} bytes (at "
                                     f"{member.name!r}), more than this dataset holds: refused")
        yield member


def unpack(archive_path: Path, staging: Path, limit: int, shown: Path) -> None:
    """Write the archive's files under `staging`, each after checked_members has passed it.
    Written here rather than by extractall, so that every write reports a full disk as such."""
    try:
        with tarfile.open(archive_path, "r:*") as archive:
            for member in checked_members(archive, staging, limit):
                target = staging / member_path(member)
                with writing(shown, limit):
                    (target if member.isdir() else target.parent).mkdir(parents=True, exist_ok=True)
                if member.isfile():
                    copy_member(archive, member, target, shown, limit)
    except (tarfile.TarError, EOFError, zlib.error, gzip.BadGzipFile) as error:
        raise damaged(archive_path, "is not a readable tar archive", error) from error


def copy_member(archive: tarfile.TarFile, member: tarfile.TarInfo, target: Path, shown: Path,
                limit: int) -> None:
    out = NewFile(target, shown, limit, "wb")
    try:
        with archive.extractfile(member) as data:
            while block := data.read(CHUNK):
                out.write(block)
    finally:
        out.close()


def extract_safely(archive_path: Path, folder: Path, inner: str, limit: int) -> Path:
    """Extract `archive_path` into a temporary folder inside `folder`, then rename its `inner`
    folder to folder/inner. Every member is checked first (see checked_members), and at most
    `limit` bytes are written. Nothing is left behind on failure."""
    final = folder / inner
    staging = temporary_path(folder, f"extract-{inner}")
    try:
        with writing(final, limit):
            staging.mkdir()
        unpack(archive_path, staging, limit, final)
        extracted = staging / inner
        if not extracted.is_dir():
            raise damaged(archive_path, f"holds no {inner}/ folder",
                          DatasetFormatError("not this dataset's archive"))
        with writing(final, limit):
            write_manifest(extracted)
            if final.exists():  # a stale or damaged earlier extraction
                shutil.rmtree(final)
            os.replace(extracted, final)
        return final
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def write_manifest(folder: Path) -> None:
    """Record the SHA-256 of every extracted file, so later loads can check them cheaply."""
    lines = [f"{sha256_of(p)}  {p.name}\n" for p in sorted(folder.iterdir()) if p.is_file()]
    (folder / MANIFEST).write_text("".join(lines))


def read_manifest(folder: Path) -> dict[str, str]:
    try:
        text = (folder / MANIFEST).read_text()
    except OSError:
        return {}
    return {name: digest for digest, name in (line.split("  ", 1) for line in text.splitlines()
                                              if "  " in line)}


def ensure_extracted(source: Source, folder: Path, refresh: bool = False) -> Path:
    """folder/<source.extract>, extracted from the (verified) archive unless an earlier complete
    extraction is there: the manifest is written last, so it is there only if all went well."""
    extracted = folder / source.extract
    manifest = read_manifest(extracted)
    if refresh or not manifest or not all((extracted / name).is_file() for name in manifest):
        archive = source.files[0]
        return extract_safely(folder / archive.name, folder, source.extract,
                              source.max_extracted or 4 * archive.size)
    return extracted


# ----- parsing ------------------------------------------------------------------------------

IDX_UBYTE = 0x08  # the IDX type code for unsigned bytes, the only one MNIST uses


def parse_idx(data: bytes, ndim: int, what: str = "IDX data") -> np.ndarray:
    """An IDX file's contents (already un-gzipped) as a uint8 array, after checking the header.

    Header: two zero bytes, the type code (0x08: unsigned byte), the number of dimensions, then
    each dimension as a big-endian int32; the values follow, row-major.
    """
    if len(data) < 4 + 4 * ndim:
        raise DatasetFormatError(f"{what}: {len(data)} bytes is too short for an IDX header")
    magic = int.from_bytes(data[:4], "big")
    expected = (IDX_UBYTE << 8) | ndim
    if magic != expected:
        raise DatasetFormatError(f"{what}: magic number 0x{magic:08x}, expected 0x{expected:08x} "
                                 f"(unsigned bytes, {ndim} dimensions): not an MNIST file of "
                                 "this kind, or a damaged one")
    shape = tuple(int(d) for d in np.frombuffer(data, dtype=">i4", count=ndim, offset=4))
    body = len(data) - 4 - 4 * ndim
    if body != int(np.prod(shape)):
        raise DatasetFormatError(f"{what}: header says shape {shape} ({int(np.prod(shape))} "
                                 f"values) but {body} bytes follow it")
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(shape)


def gunzip(path: Path) -> bytes:
    try:
        return gzip.decompress(Path(path).read_bytes())
    except (EOFError, zlib.error, gzip.BadGzipFile) as error:
        raise DatasetFormatError(f"{Path(path).name}: not a complete gzip file "
                                 f"({describe(error)})") from error


def read_mnist_images(path: Path) -> np.ndarray:
    """An MNIST images file (.gz) as (N, 28, 28) float32 in [0, 1]."""
    pixels = parse_idx(gunzip(path), 3, Path(path).name)
    if pixels.shape[1:] != (28, 28):
        raise DatasetFormatError(f"{Path(path).name}: images are {pixels.shape[1:]}, "
                                 "expected (28, 28)")
    return to_unit_float(pixels)


def read_mnist_labels(path: Path) -> np.ndarray:
    """An MNIST labels file (.gz) as (N,) int64 in 0..9."""
    labels = parse_idx(gunzip(path), 1, Path(path).name)
    if labels.size and labels.max() > 9:
        raise DatasetFormatError(f"{Path(path).name}: label {labels.max()} is not a digit")
    return labels.astype(np.int64)


def to_unit_float(pixels: np.ndarray) -> np.ndarray:
    """uint8 pixels as float32 in [0, 1], converted once and divided in place (no float64)."""
    out = pixels.astype(np.float32)
    np.divide(out, 255.0, out=out)
    return out


class BatchUnpickler(pickle.Unpickler):
    """Unpickles only what a CIFAR batch holds: dicts, lists, bytes and numpy uint8 arrays.

    A second guard behind the digest check: a pickle can name any importable function to call,
    so every global it asks for must be one of the few numpy needs to rebuild an array.
    """

    ALLOWED = {("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
               ("numpy", "ndarray"), ("numpy", "dtype"), ("_codecs", "encode")}

    def find_class(self, module: str, name: str):
        if (module, name) not in self.ALLOWED:
            raise DatasetFormatError(f"a CIFAR batch should not refer to {module}.{name}")
        return super().find_class(module, name)


class FileChangedError(DatasetFormatError):
    """An extracted file is missing or differs from what the verified archive held."""


def read_verified(path: Path, sha256: Optional[str]) -> bytes:
    """The bytes of `path`, if their SHA-256 is `sha256`; else FileChangedError."""
    try:
        data = Path(path).read_bytes()
    except OSError as error:
        raise FileChangedError(f"cannot read {path}: {error}") from error
    if sha256 is None or hashlib.sha256(data).hexdigest() != sha256:
        raise FileChangedError(f"{path} is not what was extracted from the verified archive")
    return data


def parse_cifar_batch(data: bytes, name: str = "CIFAR batch") -> Tuple[np.ndarray, np.ndarray]:
    """A CIFAR-10 python batch as uint8 images (N, 3, 32, 32) and int64 labels (N,).

    The batch is a pickled dict (written by Python 2) with b"data", a (N, 3072) uint8 array of
    rows holding the red, green, then blue 32x32 planes, and b"labels", a list of N ints.
    Pass only verified bytes (see read_verified): unpickling can run code.
    """
    try:
        # encoding="bytes" reads Python 2's str keys as bytes; BatchUnpickler refuses any global
        # beyond the numpy ones an array needs, a second guard behind the digest check.
        batch = BatchUnpickler(io.BytesIO(data), encoding="bytes").load()
        if not isinstance(batch, dict) or b"data" not in batch or b"labels" not in batch:
            raise DatasetFormatError(f"{name}: not a CIFAR batch (no data and labels)")
        pixels, labels = np.asarray(batch[b"data"]), np.asarray(batch[b"labels"], dtype=np.int64)
    except DatasetFormatError:
        raise
    except Exception as error:  # a cut-short or garbled pickle fails in many ways
        raise DatasetFormatError(f"{name}: not a readable pickle ({describe(error)})") from error
    if pixels.dtype != np.uint8 or pixels.ndim != 2 or pixels.shape[1] != 3 * 32 * 32:
        raise DatasetFormatError(f"{name}: data is {pixels.dtype} {pixels.shape}, expected "
                                 "uint8 (N, 3072)")
    if labels.shape != (len(pixels),) or (labels.size and not 0 <= labels.min() <= labels.max() <= 9):
        raise DatasetFormatError(f"{name}: labels must be N={len(pixels)} ints in 0..9")
    return pixels.reshape(-1, 3, 32, 32), labels


# ----- loading ------------------------------------------------------------------------------

def ensure_present(source: Source, root: Optional[Path], download: bool, timeout: float,
                   quiet: bool) -> Path:
    """The dataset's folder with every file verified: fetched, or only checked if not `download`."""
    if download:
        return fetch(source, root, timeout=timeout, quiet=quiet)
    folder = dataset_folder(source, root)
    remove_leftovers(source, folder)
    missing = [f for f in source.files if check_cached(folder / f.name, f)]
    if missing:
        raise DownloadError("\n".join([f"{source.title} is not downloaded yet (download=False). "
                                       "Fetch it with download=True, or by hand:"]
                                      + manual_steps(source, folder, missing)))
    if source.extract:
        ensure_extracted(source, folder)
    return folder


def read_downloaded(reader, path: Path) -> np.ndarray:
    try:
        return reader(path)
    except DatasetFormatError as error:
        raise damaged(path, "cannot be read as MNIST", error) from error


@interruptible
def load_mnist(root: Optional[Path] = None, *, source: Source = MNIST, download: bool = True,
               timeout: float = TIMEOUT, quiet: bool = False) -> Split:
    """MNIST as (x_train (60000, 28, 28), y_train, x_test (10000, 28, 28), y_test).

    Images are float32 in [0, 1], labels int64. `root` is the datasets/ folder (default: the
    one find_datasets() finds). Downloads and verifies the files first if needed (see fetch);
    raises DownloadError, saying how to get them by hand, if it cannot.
    """
    folder = ensure_present(source, root, download, timeout, quiet)
    out = []
    for images_name, labels_name in MNIST_SPLITS.values():
        images = read_downloaded(read_mnist_images, folder / images_name)
        labels = read_downloaded(read_mnist_labels, folder / labels_name)
        if len(images) != len(labels):
            raise DatasetFormatError(f"{images_name} has {len(images)} images but "
                                     f"{labels_name} has {len(labels)} labels")
        out += [images, labels]
    return tuple(out)


def read_batch(extracted: Path, name: str, manifest: Mapping[str, str],
               archive: Path) -> Tuple[np.ndarray, np.ndarray]:
    data = read_verified(extracted / name, manifest.get(name))  # FileChangedError: extract again
    try:
        return parse_cifar_batch(data, name)
    except DatasetFormatError as error:
        raise damaged(extracted / name, f"(unpacked from {archive.name}) cannot be read as a "
                      "CIFAR-10 batch", error, delete=archive) from error


@interruptible
def load_cifar10(root: Optional[Path] = None, *, source: Source = CIFAR10, download: bool = True,
                 timeout: float = TIMEOUT, quiet: bool = False) -> Split:
    """CIFAR-10 as (x_train (50000, 3, 32, 32), y_train, x_test (10000, 3, 32, 32), y_test).

    Images are float32 in [0, 1] (channels first), labels int64. Downloads, verifies and
    extracts the archive first if needed; raises DownloadError if it cannot.
    """
    folder = ensure_present(source, root, download, timeout, quiet)
    for attempt in range(2):  # a batch changed since extraction: extract again, once
        extracted = ensure_extracted(source, folder, refresh=attempt > 0)
        manifest = read_manifest(extracted)
        try:
            out = []
            for names in (CIFAR_TRAIN, CIFAR_TEST):
                batches = [read_batch(extracted, n, manifest, folder / source.files[0].name)
                           for n in names]
                out += [to_unit_float(np.concatenate([images for images, _ in batches])),
                        np.concatenate([labels for _, labels in batches])]
            return tuple(out)
        except FileChangedError:
            if attempt:
                raise
    raise AssertionError("unreachable")


def seconds_or_rate(text: str) -> float:
    """A command-line number that must be finite and positive (NaN would disable every check)."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive number")
    return value


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description="Download and verify MNIST and/or CIFAR-10 "
                                     "into the course's datasets/ folder.")
    parser.add_argument("datasets", nargs="+", choices=sorted(SOURCES))
    parser.add_argument("--quiet", action="store_true", help="no progress output")
    parser.add_argument("--timeout", type=seconds_or_rate, default=TIMEOUT,
                        help="seconds to wait to connect and for each chunk, and over which a "
                        "mirror must keep up --min-rate (default %(default)s)")
    parser.add_argument("--min-rate", type=seconds_or_rate, default=MIN_RATE,
                        help="bytes per second below which a mirror is given up as too slow "
                        "(default %(default)s)")
    args = parser.parse_args(argv)
    for name in args.datasets:
        source = SOURCES[name]
        try:
            folder = fetch(source, timeout=args.timeout, min_rate=args.min_rate,
                           quiet=args.quiet)
        except (DownloadError, UnsafeArchiveError) as error:
            print(f"error: {error}", file=sys.stderr)
            return 1
        print(f"{source.title}: verified files in {folder}")
        for file in source.files:
            print(f"  {file.name}  {file.size:,} bytes  sha256 {file.sha256}")
        if source.extract:
            print(f"  extracted into {folder / source.extract}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
