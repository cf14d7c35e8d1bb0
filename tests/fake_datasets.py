"""Small MNIST and CIFAR-10 files in the real formats, and a local mirror that serves them badly
on demand: the fixtures of tests/test_downloads.py (plain functions and one class, no network).
"""

from __future__ import annotations

import gzip
import hashlib
import io
import pickle
import socket
import struct
import tarfile
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np

# ----- files in the real formats ------------------------------------------------------------


def idx_bytes(array: np.ndarray, magic: int | None = None) -> bytes:
    """An IDX file (not gzipped) holding a uint8 array; `magic` overrides the header's."""
    array = np.ascontiguousarray(array, dtype=np.uint8)
    magic = (0x08 << 8) | array.ndim if magic is None else magic
    return struct.pack(f">{1 + array.ndim}i", magic, *array.shape) + array.tobytes()


def mnist_files(n_train: int = 6, n_test: int = 4, seed: int = 0) -> tuple[dict[str, bytes], dict]:
    """The four gzipped MNIST files, and the arrays they hold (uint8 images, labels)."""
    rng = np.random.default_rng(seed)
    arrays = {"x_train": rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
              "y_train": rng.integers(0, 10, n_train, dtype=np.uint8),
              "x_test": rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
              "y_test": rng.integers(0, 10, n_test, dtype=np.uint8)}
    arrays["x_train"][0, 0, 0], arrays["x_train"][0, 0, 1] = 0, 255  # both ends of the range
    files = {"train-images-idx3-ubyte.gz": arrays["x_train"],
             "train-labels-idx1-ubyte.gz": arrays["y_train"],
             "t10k-images-idx3-ubyte.gz": arrays["x_test"],
             "t10k-labels-idx1-ubyte.gz": arrays["y_test"]}
    return {name: gzip.compress(idx_bytes(a), mtime=0) for name, a in files.items()}, arrays


def cifar_batch_bytes(pixels: np.ndarray, labels: np.ndarray, label: bytes = b"batch") -> bytes:
    """A CIFAR-10 python batch: a pickled dict as the authors' Python 2 wrote it (protocol 2)."""
    batch = {b"batch_label": label, b"labels": [int(v) for v in labels],
             b"data": np.ascontiguousarray(pixels.reshape(len(pixels), -1), dtype=np.uint8),
             b"filenames": [b"img_%d.png" % i for i in range(len(labels))]}
    return pickle.dumps(batch, protocol=2)


def cifar_archive(per_batch: int = 2, seed: int = 0) -> tuple[bytes, dict]:
    """cifar-10-python.tar.gz with five training batches and a test batch of `per_batch`
    images each, and the arrays it holds (uint8 images (N, 3, 32, 32), labels)."""
    rng = np.random.default_rng(seed)
    names = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
    pixels = {n: rng.integers(0, 256, (per_batch, 3, 32, 32), dtype=np.uint8) for n in names}
    labels = {n: rng.integers(0, 10, per_batch) for n in names}
    members = {f"cifar-10-batches-py/{n}": cifar_batch_bytes(pixels[n], labels[n], n.encode())
               for n in names}
    members["cifar-10-batches-py/batches.meta"] = pickle.dumps(
        {b"label_names": [b"airplane", b"automobile", b"bird", b"cat", b"deer", b"dog",
                          b"frog", b"horse", b"ship", b"truck"]}, protocol=2)
    arrays = {"x_train": np.concatenate([pixels[n] for n in names[:5]]),
              "y_train": np.concatenate([labels[n] for n in names[:5]]),
              "x_test": pixels["test_batch"], "y_test": labels["test_batch"]}
    return tar_gz([("cifar-10-batches-py", "dir", None)] +
                  [(name, "file", data) for name, data in members.items()]), arrays


def tar_gz(members: list[tuple[str, str, object]]) -> bytes:
    """A .tar.gz of (name, kind, payload): kind "file" (payload bytes), "dir", "symlink" or
    "hardlink" (payload: the link target, any string, written as given)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, kind, payload in members:
            info = tarfile.TarInfo(name)
            info.mtime = 0
            if kind == "file":
                info.size, info.mode = len(payload), 0o644
                archive.addfile(info, io.BytesIO(payload))
                continue
            if kind == "dir":
                info.type, info.mode = tarfile.DIRTYPE, 0o755
            else:
                info.type = tarfile.SYMTYPE if kind == "symlink" else tarfile.LNKTYPE
                info.linkname = payload
            archive.addfile(info)
    return buffer.getvalue()


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# ----- a local mirror -----------------------------------------------------------------------

class Mirror:
    """An HTTP server on 127.0.0.1, on a port the system picks, serving in-memory files.

    `put(path, body, how)` chooses how a path is served: "ok"; "truncate" (Content-Length says
    the whole body, half is sent, then the connection closes normally); "drop" (half is sent,
    then the connection is reset); "hang" (headers, then nothing until the server stops);
    "error" (HTTP 500). Unknown paths get 404. `hits` counts requests per path.
    """

    def __init__(self):
        self.files: dict[str, tuple[bytes, str]] = {}
        self.hits: Counter = Counter()
        self.stopping = threading.Event()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.server.mirror = self
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05},
                                       daemon=True)
        self.thread.start()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def put(self, path: str, body: bytes, how: str = "ok") -> None:
        self.files[path] = (body, how)

    def stop(self) -> None:
        self.stopping.set()
        self.server.shutdown()
        self.server.server_close()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        mirror = self.server.mirror
        mirror.hits[self.path] += 1
        if self.path not in mirror.files:
            self.send_error(404)
            return
        body, how = mirror.files[self.path]
        if how == "error":
            self.send_error(500)
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if how == "ok":
            self.wfile.write(body)
            return
        if how == "hang":
            mirror.stopping.wait(10)
            self.close_connection = True
            return
        self.wfile.write(body[: len(body) // 2])
        self.wfile.flush()
        self.close_connection = True
        if how == "drop":  # closed now with SO_LINGER 0: a reset, not an orderly end
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.rfile.close()  # the file holds a reference that would keep the socket open
            self.connection.close()

    def log_message(self, *args):  # quiet
        pass
