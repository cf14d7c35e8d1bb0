"""Compare what your code returned with what the notebook asks for, in the notebook's words.

    from checks import assert_close
    assert_close(Tensor([1, 2]) + Tensor([3, 4]), [4, 6], "Tensor + Tensor")

fails with `Tensor + Tensor: expected [4, 6] got [-2, -2]; 2 of 2 values differ, the first at
[0]: expected 4 got -2`, and says `expected shape (2, 3) got shape (3, 2)` or `expected dtype
float32 got float64` when those differ. The self-check (course/self_check.py) shows that message
as it is. numpy's own `assert_allclose` would print its tolerances and a dump of both arrays.
"""

from __future__ import annotations

from typing import Any

import numpy as np

SHOWN = 80  # characters of an array shown in a message; longer ones end in "..."


def shown(value: Any) -> str:
    """An array or a number as one short line: `[[1.0, 2.0], [3.0, 4.0]]`, `13.0`, `True`."""
    array = np.asarray(value)
    if array.ndim == 0:
        text = repr(array.item())
    else:
        text = np.array2string(array, separator=", ", threshold=24, edgeitems=3,
                               max_line_width=10**6)
    text = " ".join(text.split()).replace("[ ", "[")
    return text if len(text) <= SHOWN else text[:SHOWN - 3] + "..."


def _values(got: Any) -> Any:
    """A Tensor's array (its `.data`); anything else as it is."""
    data = getattr(got, "data", None)
    return data if isinstance(data, np.ndarray) and not isinstance(got, np.ndarray) else got


def assert_close(got: Any, expected: Any, what: str = "", *, rtol: float = 1e-6,
                 atol: float = 0.0, dtype: Any = None) -> None:
    """Fail unless `got` (an array, a number or a Tensor) equals `expected` shape for shape and
    value for value: within `rtol`/`atol` for floats, exactly when `expected` holds integers or
    bools. With `dtype`, `got` must also have that dtype. NaN equals NaN.

    The AssertionError says `what: expected ... got ...`, naming the shapes or the dtypes when
    they differ, and for arrays how many values differ and the first one that does.
    """
    __tracebackhide__ = True  # pytest shows the line of the test that called this
    prefix = f"{what}: " if what else ""
    wanted = np.asarray(expected)
    try:
        actual = np.asarray(_values(got))
        if actual.dtype == object or not (np.issubdtype(actual.dtype, np.number)
                                          or actual.dtype == bool):
            raise TypeError
    except (TypeError, ValueError):
        raise AssertionError(f"{prefix}expected {shown(wanted)} got {got!r:.{SHOWN}}") from None
    if dtype is not None and actual.dtype != np.dtype(dtype):
        raise AssertionError(f"{prefix}expected dtype {np.dtype(dtype)} got {actual.dtype}")
    if actual.shape != wanted.shape:
        raise AssertionError(f"{prefix}expected shape {wanted.shape} got shape {actual.shape}: "
                             f"expected {shown(wanted)} got {shown(actual)}")
    if wanted.dtype == bool or np.issubdtype(wanted.dtype, np.integer):
        same = actual == wanted
    else:
        same = np.isclose(actual, wanted, rtol=rtol, atol=atol, equal_nan=True)
    if np.all(same):
        return
    message = f"{prefix}expected {shown(wanted)} got {shown(actual)}"
    if wanted.ndim:
        first = tuple(int(i) for i in np.argwhere(~same)[0])
        message += (f"; {int(np.size(same) - np.count_nonzero(same))} of {np.size(same)} values "
                    f"differ, the first at {list(first)}: expected {shown(wanted[first])} "
                    f"got {shown(actual[first])}")
    raise AssertionError(message)
