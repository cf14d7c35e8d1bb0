"""Module 08: right answers written differently from the reference (see __init__.py)."""

from alternates import Alternate

ALTERNATES = [
    Alternate(
        graded=("08-dataloader-test-collate",),
        cell="08-dataloader-collate",
        region=0,
        code='''
            def column(values):
                if all(isinstance(v, Tensor) for v in values):
                    arrays = [v.data for v in values]
                    return Tensor(np.stack(arrays, axis=0), dtype=values[0].data.dtype)
                return Tensor(np.stack([np.array(v) for v in values], axis=0))

            if isinstance(samples[0], (list, tuple)):
                return tuple(column(list(parts)) for parts in zip(*samples))
            return column(list(samples))
        ''',
        why="transposes the samples with zip(*samples) and stacks each column"),
]
