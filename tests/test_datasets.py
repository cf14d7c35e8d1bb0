"""The bundled tiny datasets, their README, and the one locator that finds them from anywhere.

Files are found relative to this test file (or through the locator), never the working
directory, so the suite runs from any folder.
"""

from __future__ import annotations

import hashlib
import importlib.util
import io
import json
import os
import re
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest

import tinytorch
from tinytorch.data.loader import DATASETS_ENV, find_datasets, load_tiny, render_ascii
from tinytorch.text.tokenization import load_tiny_text

ROOT = Path(__file__).resolve().parent.parent
TINY = ROOT / "datasets" / "tiny"
README = TINY / "README.md"
TINY_FILES = sorted(TINY.glob("*.npz"))
TEXT_FILES = sorted(TINY.glob("*.txt"))
MAX_BYTES = 100_000  # "at most 100 KB", the rule in datasets/tiny/README.md

# SHA-256 of images.tobytes() + labels.tobytes() of digits_8x8.npz. It changes only if the
# data change; if that is ever intended, update it with the digest create_digits_8x8.py prints.
DIGITS_SHA256 = "8b3b6ae90863430bdef06a3f7d1ec2f6a905a53d3375655b18cf63780ad98772"
# The same for shifted_digits.npz, as create_shifted_digits.py prints it.
SHIFTED_SHA256 = "4f4652b8d68152188745915e54bb5b63218936265efa746ee7a37a9e6d435171"
# SHA-256 of the bytes of tiny_tales.txt (the whole file), as create_tiny_tales.py prints it.
TALES_SHA256 = "dbf771b1362b17f94b5ef0ef5b1370f3d9b6b2e23f18d5d96b02e7eae4918b35"

# The usage example of the user's spec (spec/tiny-datasets.md), which README.md shows as written.
SPEC_USAGE = '''\
import numpy as np
from tinytorch import Tensor
from tinytorch.data.loader import TensorDataset, DataLoader

# Load the dataset
data = np.load('datasets/tiny/digits_8x8.npz')
images = Tensor(data['images'])
labels = Tensor(data['labels'])

# Create dataset and loader
dataset = TensorDataset(images, labels)
loader = DataLoader(dataset, batch_size=32, shuffle=True)

# Iterate through batches
for batch_images, batch_labels in loader:
    print(f"Batch: {batch_images.shape}, Labels: {batch_labels.shape}")
'''
USAGE_OUTPUT = ["Batch: (32, 8, 8), Labels: (32,)"] * 56 + ["Batch: (5, 8, 8), Labels: (5,)"]


@pytest.fixture(autouse=True)
def no_override(monkeypatch):
    """Every test starts without the environment override (a developer may have it set)."""
    monkeypatch.delenv(DATASETS_ENV, raising=False)


def run_python(code: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != DATASETS_ENV}
    return subprocess.run([sys.executable, "-c", code], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=120)


def load_script(name: str = "digits_8x8"):
    """datasets/tiny/create_<name>.py as a module (it is a script, not a package)."""
    spec = importlib.util.spec_from_file_location(f"create_{name}", TINY / f"create_{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def needs_sklearn(name: str) -> None:
    """Only the digits are extracted from scikit-learn; the shifted digits need numpy alone."""
    if name == "digits_8x8":
        pytest.importorskip("sklearn", reason="scikit-learn regenerates the digits: pip install scikit-learn")


SCRIPTS = ["digits_8x8", "shifted_digits", "tiny_tales"]
SUFFIX = {"tiny_tales": ".txt"}  # the others are .npz archives


# ----- the rules every tiny dataset follows ------------------------------------------------

def test_the_digits_ship():
    assert TINY / "digits_8x8.npz" in TINY_FILES and TINY / "shifted_digits.npz" in TINY_FILES


@pytest.mark.parametrize("path", TINY_FILES, ids=[p.name for p in TINY_FILES])
def test_every_tiny_dataset_follows_the_rules(path):
    assert path.stat().st_size <= MAX_BYTES, f"{path.name}: {path.stat().st_size} bytes, over 100 KB"
    assert zipfile.is_zipfile(path), f"{path.name} is not an .npz (zip) archive"
    with np.load(path, allow_pickle=False) as archive:  # no object arrays: never runs code
        assert {"images", "labels"} <= set(archive.files), archive.files
        images, labels = archive["images"], archive["labels"]
    assert images.dtype == np.float32 and images.ndim in (3, 4), (images.dtype, images.shape)
    assert images.min() >= 0.0 and images.max() <= 1.0, (images.min(), images.max())
    assert labels.dtype == np.int64 and labels.shape == (len(images),), (labels.dtype, labels.shape)
    assert np.array_equal(np.unique(labels), np.arange(labels.max() + 1)), "classes 0 to K-1, none empty"
    assert (path.parent / f"create_{path.stem}.py").is_file(), f"no create_{path.stem}.py beside it"
    assert f"`{path.name}`" in README.read_text(encoding="utf-8"), f"README.md does not describe {path.name}"
    loaded = load_tiny(path.stem)  # the course's loader accepts it
    assert np.array_equal(loaded[0], images) and np.array_equal(loaded[1], labels)


def test_digits_have_the_documented_shapes_dtypes_and_values():
    images, labels = load_tiny("digits_8x8")
    assert images.shape == (1797, 8, 8) and images.dtype == np.float32
    assert labels.shape == (1797,) and labels.dtype == np.int64
    assert set(np.unique(labels)) == set(range(10))
    # raw counts 0..16 divided by 16: every value is a multiple of 1/16, 0 and 1 included
    assert np.array_equal(images * 16, np.round(images * 16))
    assert images.min() == 0.0 and images.max() == 1.0


def test_digits_equal_a_fresh_extraction_and_the_recorded_digest():
    pytest.importorskip("sklearn", reason="scikit-learn regenerates the digits: pip install scikit-learn")
    script = load_script()
    fresh_images, fresh_labels = script.extract()
    images, labels = load_tiny("digits_8x8")
    np.testing.assert_array_equal(images, fresh_images)
    np.testing.assert_array_equal(labels, fresh_labels)
    assert fresh_images.dtype == images.dtype and fresh_labels.dtype == labels.dtype
    digest = hashlib.sha256(images.tobytes() + labels.tobytes()).hexdigest()
    assert digest == DIGITS_SHA256 == script.array_digest(images, labels)


@pytest.mark.parametrize("name", SCRIPTS)
def test_script_writes_identical_bytes_whatever_the_clock(name, tmp_path, monkeypatch):
    needs_sklearn(name)
    script = load_script(name)
    outputs = []
    for clock in (1_000_000_000.0, 1_700_000_000.0):  # 2001 and 2023: zip entries record a time
        monkeypatch.setattr(time, "time", lambda clock=clock: clock)
        out = tmp_path / f"{name}_{int(clock)}{SUFFIX.get(name, '.npz')}"
        assert script.main([str(out)]) == 0
        outputs.append(out.read_bytes())
    assert outputs[0] == outputs[1]
    file = f"{name}{SUFFIX.get(name, '.npz')}"
    assert outputs[0] == (TINY / file).read_bytes(), f"{file} is not what its script writes"
    if name in SUFFIX:
        return
    with np.load(tmp_path / f"{name}_1000000000.npz", allow_pickle=False) as archive:
        np.testing.assert_array_equal(archive["images"], load_tiny(name)[0])


@pytest.mark.parametrize("name", SCRIPTS)
def test_script_never_leaves_a_half_written_file(name, tmp_path, monkeypatch):
    needs_sklearn(name)
    script = load_script(name)
    writer = script.digits_script if name == "shifted_digits" else script  # whose write_atomically runs

    def interrupted(source, target):
        raise KeyboardInterrupt  # the moment before the rename

    monkeypatch.setattr(writer.os, "replace", interrupted)
    with pytest.raises(KeyboardInterrupt):
        script.main([str(tmp_path / f"{name}{SUFFIX.get(name, '.npz')}")])
    assert list(tmp_path.iterdir()) == []


# ----- the shifted digits ----------------------------------------------------------------------

def test_shifted_digits_have_the_documented_shapes_and_labels():
    images, labels = load_tiny("shifted_digits")
    assert images.shape == (1797, 16, 16) and images.dtype == np.float32
    np.testing.assert_array_equal(labels, load_tiny("digits_8x8")[1])  # same digits, same order
    assert labels.dtype == np.int64


def test_every_shifted_image_is_its_digit_at_one_of_the_81_places_and_nothing_else():
    digits, _ = load_tiny("digits_8x8")
    images, _ = load_tiny("shifted_digits")
    found = np.zeros(len(images), dtype=int)  # how many places hold the digit, whole
    used = set()
    for row in range(9):
        for column in range(9):
            window = images[:, row:row + 8, column:column + 8]
            rest = images.sum(axis=(1, 2)) - window.sum(axis=(1, 2))
            here = np.all(window == digits, axis=(1, 2)) & (rest == 0)
            found += here
            if here.any():
                used.add((row, column))
    assert np.all(found >= 1), f"images {np.flatnonzero(found == 0)[:10]} are not a digit pasted whole"
    assert len(used) == 81, f"only {len(used)} of the 81 places are used"


def test_shifted_digits_equal_a_fresh_build_and_the_recorded_digest():
    script = load_script("shifted_digits")
    fresh_images, fresh_labels = script.extract()
    images, labels = load_tiny("shifted_digits")
    np.testing.assert_array_equal(images, fresh_images)
    np.testing.assert_array_equal(labels, fresh_labels)
    digest = hashlib.sha256(images.tobytes() + labels.tobytes()).hexdigest()
    assert digest == SHIFTED_SHA256 == script.array_digest(images, labels)
    corners = script.places(len(images))
    assert corners.min() == 0 and corners.max() == 8 and corners.shape == (1797, 2)


def test_readme_counts_of_shared_ink_are_the_data():
    """The README says the two 3s it draws share 29 inked pixels centred and 8 shifted."""
    text = README.read_text(encoding="utf-8")
    shared = [int(np.count_nonzero((load_tiny(name)[0][3] > 0) & (load_tiny(name)[0][13] > 0)))
              for name in ("digits_8x8", "shifted_digits")]
    assert f"have ink on {shared[0]} of the same pixels; here, on {shared[1]}." in text, shared
    training = 1797 - 364 - 149  # Milestone 04's split: test 20%, then validation 10% of the rest
    assert f"the {training:,} that Milestone 04 trains on" in text


# ----- the tiny text files -------------------------------------------------------------------

def test_the_tales_ship():
    assert TINY / "tiny_tales.txt" in TEXT_FILES


@pytest.mark.parametrize("path", TEXT_FILES, ids=[p.name for p in TEXT_FILES])
def test_every_tiny_text_file_follows_the_rules(path):
    data = path.read_bytes()
    assert len(data) <= MAX_BYTES, f"{path.name}: {len(data)} bytes, over 100 KB"
    text = data.decode("utf-8")  # raises if it is not UTF-8
    assert "\r" not in text, f"{path.name} has '\\r' line endings: use '\\n' only"
    bad = sorted({c for c in text if c != "\n" and not c.isprintable()})
    assert not bad, f"{path.name} holds control characters {bad[:5]}"
    assert text.endswith("\n") and text.strip(), f"{path.name}: some text, ending with a newline"
    assert (path.parent / f"create_{path.stem}.py").is_file(), f"no create_{path.stem}.py beside it"
    assert f"`{path.name}`" in README.read_text(encoding="utf-8"), f"README.md does not describe {path.name}"
    assert load_tiny_text(path.stem) == text  # the course's loader accepts it


def test_tiny_tales_is_ascii_stories_of_the_documented_size():
    data = (TINY / "tiny_tales.txt").read_bytes()
    assert 60_000 <= len(data) <= MAX_BYTES
    text = data.decode("ascii")  # plain ASCII, not just UTF-8
    assert set(text) <= set(chr(c) for c in range(32, 127)) | {"\n"}
    stories = text.rstrip("\n").split("\n\n")
    assert len(stories) >= 100 and len(set(stories)) == len(stories), "many stories, none repeated"
    assert max(len(line) for line in text.splitlines()) <= 72


def test_tiny_tales_equals_a_fresh_build_and_the_recorded_digest():
    script = load_script("tiny_tales")
    text = load_tiny_text("tiny_tales")
    assert script.build() == text
    assert hashlib.sha256(text.encode("ascii")).hexdigest() == TALES_SHA256


def test_readme_sample_is_the_start_of_the_tales():
    samples = readme_blocks("txt")
    assert len(samples) == 1 and load_tiny_text().startswith(samples[0]), "the sample is the file's first lines"


def fake_text(tmp_path, monkeypatch) -> Path:
    (tmp_path / "tiny").mkdir()
    monkeypatch.setenv(DATASETS_ENV, str(tmp_path))
    return tmp_path.resolve() / "tiny" / "tiny_tales.txt"


def test_missing_text_names_the_path_and_how_to_regenerate(tmp_path, monkeypatch):
    path = fake_text(tmp_path, monkeypatch)
    with pytest.raises(FileNotFoundError) as error:
        load_tiny_text("tiny_tales")
    assert str(path) in str(error.value)
    assert "python datasets/tiny/create_tiny_tales.py" in str(error.value)


BAD_TEXTS = {
    "over 100 KB": b"a story.\n" * 11_112,
    "not UTF-8": "caf\u00e9\n".encode("latin-1"),
    "carriage returns": b"one line\r\ntwo lines\r\n",
    "a tab": b"a\tb\n",
    "a NUL byte": b"text\x00\n",
    "an escape sequence": b"\x1b[31mred\n",
}


@pytest.mark.parametrize("damage", list(BAD_TEXTS))
def test_bad_text_names_the_path_and_how_to_regenerate(damage, tmp_path, monkeypatch):
    path = fake_text(tmp_path, monkeypatch)
    path.write_bytes(BAD_TEXTS[damage])
    with pytest.raises(ValueError) as error:
        load_tiny_text("tiny_tales")
    assert str(path) in str(error.value)
    assert "python datasets/tiny/create_tiny_tales.py" in str(error.value)


def test_good_text_in_an_overriding_folder_loads(tmp_path, monkeypatch):
    path = fake_text(tmp_path, monkeypatch)
    path.write_bytes("Zo\u00eb said, \"hello.\"\n".encode("utf-8"))
    assert load_tiny_text("tiny_tales") == "Zo\u00eb said, \"hello.\"\n"


# ----- the locator ---------------------------------------------------------------------------

@pytest.mark.parametrize("folder", [".", "modules", "modules/08_dataloader", "milestones", "datasets/tiny"])
def test_locator_finds_the_repository_datasets_from_its_folders(folder, monkeypatch):
    monkeypatch.chdir(ROOT / folder)
    assert find_datasets() == ROOT / "datasets"
    assert load_tiny("digits_8x8")[0].shape == (1797, 8, 8)


def test_locator_walks_up_from_an_nbgrader_autograded_folder(tmp_path, monkeypatch):
    course = tmp_path.resolve() / "course"
    submission = course / "autograded" / "alice" / "08_dataloader"
    submission.mkdir(parents=True)
    (course / "datasets").symlink_to(ROOT / "datasets", target_is_directory=True)
    monkeypatch.chdir(submission)
    assert find_datasets() == course / "datasets"
    assert load_tiny("digits_8x8")[1].shape == (1797,)


def test_locator_falls_back_to_the_installed_package(tmp_path, monkeypatch):
    # nbgrader's course copy in the test suite holds modules/ only, no datasets/.
    submission = tmp_path / "course" / "autograded" / "alice" / "08_dataloader"
    submission.mkdir(parents=True)
    monkeypatch.chdir(submission)
    beside_package = Path(tinytorch.__file__).resolve().parent.parent / "datasets"
    assert find_datasets() == beside_package
    assert load_tiny("digits_8x8")[0].dtype == np.float32


def test_environment_variable_overrides_the_search(tmp_path, monkeypatch):
    (tmp_path / "tiny").mkdir()
    images = np.full((3, 2, 2), 0.5, dtype=np.float32)
    np.savez_compressed(tmp_path / "tiny" / "digits_8x8.npz", images=images, labels=np.arange(3))
    monkeypatch.setenv(DATASETS_ENV, str(tmp_path))
    monkeypatch.chdir(ROOT)  # the override wins even inside the repository
    assert find_datasets() == tmp_path.resolve()
    assert load_tiny("digits_8x8")[0].shape == (3, 2, 2)


def test_environment_variable_naming_no_folder_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv(DATASETS_ENV, str(tmp_path / "nowhere"))
    with pytest.raises(FileNotFoundError, match=DATASETS_ENV) as error:
        find_datasets()
    assert "nowhere" in str(error.value)


def test_environment_variable_naming_a_file_is_a_clear_error(tmp_path, monkeypatch):
    (tmp_path / "datasets.txt").write_text("not a folder\n")
    monkeypatch.setenv(DATASETS_ENV, str(tmp_path / "datasets.txt"))
    with pytest.raises(FileNotFoundError, match=DATASETS_ENV) as error:
        load_tiny("digits_8x8")
    assert "datasets.txt" in str(error.value)


@pytest.mark.parametrize("where", ["an empty folder", "the repository root", "datasets/tiny itself"])
def test_environment_variable_naming_a_folder_without_tiny_blames_the_setting_not_the_file(
        where, tmp_path, monkeypatch):
    folder = {"an empty folder": tmp_path, "the repository root": ROOT,
              "datasets/tiny itself": TINY}[where]
    monkeypatch.setenv(DATASETS_ENV, str(folder))
    assert find_datasets() == folder.resolve()  # still taken: the downloads may live there alone
    with pytest.raises(FileNotFoundError, match=DATASETS_ENV) as error:
        load_tiny("digits_8x8")
    message = str(error.value)
    assert "no tiny/ folder" in message and "regenerate" not in message, message
    if folder != tmp_path:  # the course's datasets/ is right there: say so
        assert f"did you mean {ROOT / 'datasets'}?" in message, message


def fake_datasets(tmp_path, monkeypatch) -> Path:
    """An empty datasets/tiny/ folder that the locator will use."""
    (tmp_path / "tiny").mkdir()
    monkeypatch.setenv(DATASETS_ENV, str(tmp_path))
    return tmp_path.resolve() / "tiny" / "digits_8x8.npz"


def test_missing_file_names_the_path_and_how_to_regenerate(tmp_path, monkeypatch):
    path = fake_datasets(tmp_path, monkeypatch)
    with pytest.raises(FileNotFoundError) as error:
        load_tiny("digits_8x8")
    assert str(path) in str(error.value)
    assert "python datasets/tiny/create_digits_8x8.py" in str(error.value)


def npy_bytes(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()


def corrupt_versions():
    good = (TINY / "digits_8x8.npz").read_bytes()
    return {
        "truncated": lambda path: path.write_bytes(good[: len(good) // 2]),
        "empty": lambda path: path.write_bytes(b""),
        "garbage": lambda path: path.write_bytes(b"not a numpy file at all\n" * 10),
        "flipped bytes": lambda path: path.write_bytes(good[:200] + bytes(255 - b for b in good[200:400]) + good[400:]),
        "a bare .npy": lambda path: path.write_bytes(npy_bytes(np.zeros(3, dtype=np.float32))),
        "pickled objects": lambda path: np.savez(path, images=np.array([{"a": 1}], dtype=object), labels=np.arange(1)),
        "wrong keys": lambda path: np.savez(path, x=np.zeros((2, 8, 8), dtype=np.float32), y=np.arange(2)),
        "uint8 images": lambda path: np.savez(path, images=np.zeros((2, 8, 8), dtype=np.uint8), labels=np.arange(2)),
        "values above 1": lambda path: np.savez(path, images=np.full((2, 8, 8), 16, dtype=np.float32), labels=np.arange(2)),
        "int32 labels": lambda path: np.savez(path, images=np.zeros((2, 8, 8), dtype=np.float32), labels=np.arange(2, dtype=np.int32)),
        "unequal lengths": lambda path: np.savez(path, images=np.zeros((2, 8, 8), dtype=np.float32), labels=np.arange(3)),
        "NaN pixels": lambda path: np.savez(path, images=np.full((2, 8, 8), np.nan, dtype=np.float32), labels=np.arange(2)),
        "float labels": lambda path: np.savez(path, images=np.zeros((2, 8, 8), dtype=np.float32), labels=np.array([0.0, 1.0])),
        "negative labels": lambda path: np.savez(path, images=np.zeros((3, 8, 8), dtype=np.float32), labels=np.array([0, -1, 1])),
        "labels from 1": lambda path: np.savez(path, images=np.zeros((2, 8, 8), dtype=np.float32), labels=np.array([1, 2])),
        "a class without samples": lambda path: np.savez(path, images=np.zeros((3, 8, 8), dtype=np.float32), labels=np.array([0, 1, 10**12])),
    }


@pytest.mark.parametrize("damage", list(corrupt_versions()))
def test_damaged_file_names_the_path_and_how_to_regenerate(damage, tmp_path, monkeypatch):
    path = fake_datasets(tmp_path, monkeypatch)
    corrupt_versions()[damage](path)
    with pytest.raises(ValueError) as error:
        load_tiny("digits_8x8")
    assert str(path) in str(error.value)
    assert "python datasets/tiny/create_digits_8x8.py" in str(error.value)


# ----- README.md -----------------------------------------------------------------------------

def readme_blocks(language: str) -> list[str]:
    return re.findall(rf"^```{language}\n(.*?)^```", README.read_text(encoding="utf-8"), re.M | re.S)


def test_readme_tells_everything_the_issue_asks_for():
    text = README.read_text(encoding="utf-8")
    for fact in ["digits_8x8.npz", "create_digits_8x8.py", "(1797, 8, 8)", "(1797,)", "float32",
                 "int64", "[0, 1]", "68,552 bytes", "Alpaydin", "Kaynak", "UCI", "scikit-learn",
                 "## License", "## Why tiny datasets", "MNIST", "CIFAR-10", "Milestone 03",
                 "Milestone 04", "Module 08", "## Adding a tiny dataset", "100 KB",
                 "allow_pickle=False", DATASETS_ENV, DIGITS_SHA256,
                 "shifted_digits.npz", "create_shifted_digits.py", "(1797, 16, 16)", SHIFTED_SHA256,
                 "tiny_tales.txt", "create_tiny_tales.py", "CC0 1.0", "load_tiny_text", TALES_SHA256,
                 "## Adding a tiny text file"]:
        assert fact in text, f"README.md should mention {fact!r}"
    for name in ("digits_8x8.npz", "shifted_digits.npz", "tiny_tales.txt"):
        size = (TINY / name).stat().st_size
        assert f"{size:,} bytes" in text, f"the size of {name} in README.md is out of date"


def test_readme_usage_is_the_spec_example_verbatim():
    assert readme_blocks("python")[0] == SPEC_USAGE


def test_spec_usage_runs_with_python_c_from_the_repository_root():
    done = run_python(SPEC_USAGE, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == USAGE_OUTPUT


@pytest.mark.parametrize("number", range(len(readme_blocks("python"))))
def test_every_readme_python_block_runs_from_the_repository_root(number):
    done = run_python(readme_blocks("python")[number], cwd=ROOT)
    assert done.returncode == 0, done.stderr


def test_readme_samples_are_what_the_renderer_prints():
    codes = [block for block in readme_blocks("python") if "render_ascii" in block]
    assert len(codes) == len(readme_blocks("text")) == 2, "a text block for each drawing, in order"
    for code, shown in zip(codes[1:], readme_blocks("text")[1:]):  # the shifted digits
        printed = run_python(code, cwd=ROOT)
        assert printed.returncode == 0, printed.stderr
        assert printed.stdout == shown
    code, shown = codes[0], readme_blocks("text")[0]
    printed = run_python(code, cwd=ROOT)
    assert printed.returncode == 0, printed.stderr
    assert printed.stdout == shown
    # and the same in-process, from the samples the README names
    images, labels = load_tiny("digits_8x8")
    picks = [5, 3, 8, 0]
    assert render_ascii(images[picks], [f'Digit "{d}":' for d in labels[picks]]) + "\n" == shown


def test_notebook_runs_the_same_usage_example():
    notebook = json.loads((ROOT / "modules" / "08_dataloader" / "08_dataloader.ipynb").read_text())
    sources = ["".join(cell["source"]) for cell in notebook["cells"]]
    assert any(f"USAGE = '''\n{SPEC_USAGE}'''" in source for source in sources)
