"""Module 08: right answers written differently from the reference (see __init__.py)."""

from alternates import Alternate

DATASET = ("08-dataloader-test-tensor-dataset", "08-dataloader-test-tensor-dataset-errors")
LOADER = ("08-dataloader-test-loader-batches", "08-dataloader-test-loader-epochs",
          "08-dataloader-test-loader-fetch", "08-dataloader-test-loader-errors",
          "08-dataloader-test-loader-usage", "08-dataloader-test-transforms-in-loader")

ALTERNATES = [
    Alternate(
        graded=DATASET,
        cell="08-dataloader-tensor-dataset",
        region=0,
        code='''
            if len(tensors) == 0:
                raise ValueError("give TensorDataset one or more tensors")
            for k in range(len(tensors)):
                t = tensors[k]
                if not isinstance(t, Tensor):
                    raise TypeError(f"argument {k} is a {type(t).__module__}.{type(t).__name__}; "
                                    "put Tensor(...) around it")
                if len(t.shape) == 0:
                    raise ValueError(f"argument {k} has no first dimension to count samples")
            sizes = [t.shape[0] for t in tensors]
            if any(size != sizes[0] for size in sizes):
                raise ValueError(f"the tensors have different lengths: {', '.join(map(str, sizes))}")
            self.tensors = tensors
        ''',
        why="checks by position in a range loop, reads lengths from .shape, keeps the *args tuple"),
    Alternate(
        graded=DATASET,
        cell="08-dataloader-tensor-dataset",
        region=1,
        code='''
            return self.tensors[0].shape[0]
        ''',
        why="the first entry of the shape instead of len()"),
    Alternate(
        graded=DATASET,
        cell="08-dataloader-tensor-dataset",
        region=2,
        code='''
            if type(index) is bool or not isinstance(index, (int, np.integer)):
                raise TypeError(f"index must be an int, got {type(index).__name__}")
            size = len(self)
            position = index + size if index < 0 else index
            if position < 0 or position >= size:
                raise IndexError(f"index {index} is out of range: the dataset has {size} samples")
            return tuple(Tensor(np.array(t.data[position]), dtype=t.dtype) for t in self.tensors)
        ''',
        why="turns a negative index into a position first, and copies the row with np.array"),
    Alternate(
        graded=DATASET,
        cell="08-dataloader-tensor-dataset",
        region=3,
        code='''
            idx = np.array(indices)
            if idx.ndim != 1 or not np.issubdtype(idx.dtype, np.integer):
                raise TypeError(f"get_batch takes a 1-D integer array of indices, got {idx.dtype} "
                                f"of shape {idx.shape}")
            n = len(self)
            outside = [int(i) for i in idx if not -n <= int(i) < n]
            if outside:
                raise IndexError(f"indices {outside} are out of range for {n} samples")
            return tuple(Tensor(np.take(t.data, idx, axis=0), dtype=t.dtype) for t in self.tensors)
        ''',
        why="checks every index before fetching, with np.issubdtype and np.take"),
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
    Alternate(
        graded=LOADER,
        cell="08-dataloader-loader",
        region=0,
        code='''
            try:
                size = len(dataset)
                dataset.__getitem__
            except (TypeError, AttributeError):
                raise TypeError(f"{dataset!r} is not a dataset: it needs __len__ and __getitem__") from None
            if size == 0:
                raise ValueError("cannot load from an empty dataset")
            if type(batch_size) is bool or not isinstance(batch_size, (int, np.integer)):
                raise TypeError(f"batch_size={batch_size!r} is not an integer")
            if batch_size <= 0:
                raise ValueError(f"batch_size={batch_size} should be at least 1")
            for flag_name, flag in {"shuffle": shuffle, "drop_last": drop_last}.items():
                if flag not in (True, False):
                    raise TypeError(f"{flag_name}={flag!r} should be True or False")
            if generator is not None:
                if seed is not None:
                    raise ValueError(f"seed={seed} and a generator were both given; pass one of them")
                if not isinstance(generator, np.random.Generator):
                    raise TypeError(f"generator={generator!r} is not a numpy Generator")
                rng = generator
            else:
                if seed is not None and (type(seed) is bool or not isinstance(seed, (int, np.integer))):
                    raise TypeError(f"seed={seed!r} is not an integer")
                rng = np.random.default_rng(seed)
            if collate_fn is not None and not callable(collate_fn):
                raise TypeError(f"collate_fn={collate_fn!r} cannot be called")
            if transform is not None and not callable(transform):
                raise TypeError(f"transform={transform!r} cannot be called")
            self.dataset, self.batch_size, self.shuffle = dataset, batch_size, shuffle
            self.drop_last, self.generator = drop_last, rng
            self.collate_fn, self.transform = collate_fn, transform
        ''',
        why="asks len() and catches the error (EAFP), compares the flags with True and False "
            "instead of checking their type, picks the generator in one if/else, and keeps the "
            "arguments as given"),
    Alternate(
        graded=LOADER,
        cell="08-dataloader-loader",
        region=1,
        code='''
            full, rest = divmod(len(self.dataset), self.batch_size)
            return full + (1 if rest and not self.drop_last else 0)
        ''',
        why="divmod: the full batches, plus one for a remainder kept"),
    Alternate(
        graded=LOADER,
        cell="08-dataloader-loader",
        region=2,
        code='''
            n = len(self.dataset)
            if self.shuffle:
                order = self.generator.permutation(n)
            else:
                order = np.arange(n)
            for start in range(0, n, self.batch_size):
                group = order[start:start + self.batch_size]
                if self.drop_last and len(group) < self.batch_size:
                    return
                yield self.fetch(group)
        ''',
        why="cuts every group and stops at a short one, instead of computing where to stop"),
    Alternate(
        graded=LOADER,
        cell="08-dataloader-loader",
        region=3,
        code='''
            if self.collate_fn is None and hasattr(self.dataset, "get_batch"):
                batch = self.dataset.get_batch(indices)
            else:
                samples = []
                for i in indices:
                    samples.append(self.dataset[int(i)])
                batch = (self.collate_fn or default_collate)(samples)
            if self.transform is None:
                return batch
            if isinstance(batch, tuple):
                first, *rest = batch
                return (self.transform(first, self.generator), *rest)
            return self.transform(batch, self.generator)
        ''',
        why="hasattr for get_batch, a loop that appends the samples, and unpacking for the transform"),
    Alternate(
        graded=("08-dataloader-test-transforms",),
        cell="08-dataloader-transforms",
        region=0,
        code='''
            u = rng.random(len(batch))
            out = batch.copy()
            chosen = u < self.p
            out[chosen] = out[chosen][..., ::-1]
        ''',
        why="copies the batch and overwrites the chosen images with a boolean index"),
    Alternate(
        graded=("08-dataloader-test-transforms",),
        cell="08-dataloader-transforms",
        region=1,
        code='''
            data = x.data if x.dtype.kind == "f" else x.data.astype(np.float32)
            mean, std = self.mean, self.std
            if mean.ndim == 1 or std.ndim == 1:
                c = mean.size if mean.ndim == 1 else std.size
                if len(x.shape) < 3 or x.shape[len(x.shape) - 3] != c:
                    raise ValueError(f"per-channel values for {c} channels do not fit a batch of "
                                     f"shape {x.shape}")
                mean = mean.reshape(c, 1, 1) if mean.ndim == 1 else mean
                std = std.reshape(c, 1, 1) if std.ndim == 1 else std
            result = (data - mean) / std
            return Tensor(result.astype(data.dtype), dtype=data.dtype)
        ''',
        why="converts integer batches to float32 before the arithmetic, and casts the result"),
    Alternate(
        graded=("08-dataloader-test-transforms",),
        cell="08-dataloader-transforms",
        region=2,
        code='''
            from functools import reduce
            return reduce(lambda batch, transform: transform(batch, rng), self.transforms, x)
        ''',
        why="functools.reduce instead of a loop"),
    Alternate(
        graded=("08-dataloader-test-random-crop", "08-dataloader-test-transforms-in-loader"),
        cell="08-dataloader-random-crop",
        region=0,
        code='''
            h, w = self.size
            p = self.padding
            padded = np.pad(batch, [(0, 0)] * (batch.ndim - 2) + [(p, p), (p, p)])
            H, W = padded.shape[-2], padded.shape[-1]
            if h > H or w > W:
                raise ValueError(f"cannot cut {h} x {w} windows from padded images of {H} x {W}")
            n = batch.shape[0]
            top = rng.integers(0, H - h + 1, size=n)
            left = rng.integers(0, W - w + 1, size=n)
            out = np.empty(batch.shape[:-2] + (h, w), dtype=batch.dtype)
            for k in range(n):
                out[k] = padded[k, ..., top[k]:top[k] + h, left[k]:left[k] + w]
        ''',
        why="a loop over the samples with plain slices instead of sliding_window_view"),
]
