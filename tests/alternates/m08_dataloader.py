"""Module 08: right answers written differently from the reference (see __init__.py)."""

from alternates import Alternate

DATASET = ("08-dataloader-test-tensor-dataset",)
LOADER = ("08-dataloader-test-loader-batches", "08-dataloader-test-loader-epochs",
          "08-dataloader-test-loader-fetch", "08-dataloader-test-loader-usage",
          "08-dataloader-test-transforms-in-loader")

ALTERNATES = [
    Alternate(
        graded=DATASET,
        cell="08-dataloader-tensor-dataset",
        region=0,
        code='''
            return self.tensors[0].shape[0]
        ''',
        why="the first entry of the shape instead of len()"),
    Alternate(
        graded=DATASET,
        cell="08-dataloader-tensor-dataset",
        region=1,
        code='''
            sample = []
            for t in self.tensors:
                sample.append(Tensor(np.array(t.data[index]), dtype=t.data.dtype))
            return tuple(sample)
        ''',
        why="a loop that appends, copying the row with np.array and reading the dtype of .data"),
    Alternate(
        graded=DATASET,
        cell="08-dataloader-tensor-dataset",
        region=2,
        code='''
            return tuple(Tensor(np.take(t.data, indices, axis=0), dtype=t.dtype) for t in self.tensors)
        ''',
        why="np.take along axis 0 instead of indexing"),
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
            full, rest = divmod(len(self.dataset), self.batch_size)
            return full + (1 if rest and not self.drop_last else 0)
        ''',
        why="divmod: the full batches, plus one for a remainder kept"),
    Alternate(
        graded=LOADER,
        cell="08-dataloader-loader",
        region=1,
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
        region=2,
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
    Alternate(
        graded=("08-dataloader-test-npy-dataset", "08-dataloader-test-split-loaders"),
        cell="08-dataloader-npy-dataset",
        region=0,
        code='''
            opened = []
            for path in paths:
                opened.append(np.load(str(path), allow_pickle=False, mmap_mode="r"))
            self.arrays = tuple(opened)
        ''',
        why="a loop over the paths, as strings, with the keywords in another order"),
    Alternate(
        graded=("08-dataloader-test-npy-dataset",),
        cell="08-dataloader-npy-dataset",
        region=1,
        code='''
            return self.arrays[0].shape[0]
        ''',
        why="the first entry of the shape instead of len()"),
    Alternate(
        graded=("08-dataloader-test-npy-dataset",),
        cell="08-dataloader-npy-dataset",
        region=2,
        code='''
            rows = [a[index].copy() for a in self.arrays]
            return tuple(Tensor(row, dtype=row.dtype) for row in rows)
        ''',
        why="copies each row with .copy() and takes the dtype from the copy"),
    Alternate(
        graded=("08-dataloader-test-npy-dataset",),
        cell="08-dataloader-npy-dataset",
        region=3,
        code='''
            return tuple(Tensor(np.take(a, indices, axis=0), dtype=a.dtype) for a in self.arrays)
        ''',
        why="np.take on the memory-mapped arrays instead of indexing"),
    Alternate(
        graded=("08-dataloader-test-random-split", "08-dataloader-test-split-loaders"),
        cell="08-dataloader-random-split",
        region=0,
        code='''
            return self.indices.shape[0]
        ''',
        why="the shape of the index array instead of len()"),
    Alternate(
        graded=("08-dataloader-test-random-split", "08-dataloader-test-split-loaders"),
        cell="08-dataloader-random-split",
        region=1,
        code='''
            position = self.indices[index]
            return self.dataset[position.item()]
        ''',
        why="turns the numpy integer into a Python int with .item()"),
    Alternate(
        graded=("08-dataloader-test-random-split", "08-dataloader-test-split-loaders"),
        cell="08-dataloader-random-split",
        region=2,
        code='''
            wanted = np.take(self.indices, positions)
            if hasattr(self.dataset, "get_batch"):
                return self.dataset.get_batch(wanted)
            samples = [self.dataset[int(i)] for i in wanted]
            return default_collate(samples)
        ''',
        why="np.take for the dataset's indices and hasattr for get_batch"),
    Alternate(
        graded=("08-dataloader-test-random-split", "08-dataloader-test-split-loaders"),
        cell="08-dataloader-random-split",
        region=3,
        code='''
            if fractions:
                sizes = [int(n * f // 1) for f in lengths]
                k = 0
                while sum(sizes) < n:
                    sizes[k] += 1
                    k = (k + 1) % len(sizes)
            else:
                sizes = list(map(int, lengths))
            shuffled = rng.permutation(n)
            parts, start = [], 0
            for size in sizes:
                parts.append(Subset(dataset, shuffled[start:start + size]))
                start += size
            return parts
        ''',
        why="floors with // 1, hands out the left-overs in a while loop, cuts with a running start"),
    Alternate(
        graded=("08-dataloader-test-split-loaders",),
        cell="08-dataloader-split-loaders",
        region=0,
        code='''
            subsets = random_split(dataset, lengths, rng)
            result = []
            for k, subset in enumerate(subsets):
                if k == 0:
                    result.append(DataLoader(subset, batch_size=batch_size, shuffle=True,
                                             generator=rng, transform=train_transform))
                else:
                    result.append(DataLoader(subset, batch_size=batch_size, shuffle=False,
                                             transform=eval_transform))
            return result
        ''',
        why="a loop over the parts, the generator passed by position, shuffle=False spelled out"),
]
