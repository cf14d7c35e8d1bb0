"""Module 11: right answers written differently from the reference (see __init__.py)."""

from alternates import Alternate

ALTERNATES = [
    Alternate(
        graded=("11-embeddings-test-embedding",),
        cell="11-embeddings-embedding",
        region=0,
        code='''
            if not np.issubdtype(values.dtype, np.integer):
                raise TypeError(f"ids of dtype {values.dtype} are not integers")
            ids = values.astype(np.int64)
            if ids.size and (ids.min() < 0 or ids.max() >= num_embeddings):
                bad = ids.min() if ids.min() < 0 else ids.max()
                raise IndexError(f"id {bad} not in [0, {num_embeddings}) (num_embeddings={num_embeddings})")
            return ids
        ''',
        why="np.issubdtype for the integer test, min and max for the range (guarded for an "
            "empty array), a copy to int64"),
    Alternate(
        graded=("11-embeddings-test-embedding",),
        cell="11-embeddings-embedding",
        region=1,
        code='''
            ids = _as_indices(input, weight.shape[0])
            out = np.take(weight.data, ids, axis=0)
            return wrap_result(out, "embedding", weight, padding_idx=padding_idx, indices=ids)
        ''',
        why="np.take along axis 0 instead of indexing, the saved values in the other order"),
    Alternate(
        graded=("11-embeddings-test-embedding-backward",),
        cell="11-embeddings-embedding-backward",
        region=0,
        code='''
            flat_ids = indices.ravel()
            flat_grad = grad.reshape(flat_ids.size, -1)
            order = np.argsort(flat_ids, kind="stable")
            sorted_ids = flat_ids[order]
            starts = np.flatnonzero(np.r_[True, sorted_ids[1:] != sorted_ids[:-1]]) if sorted_ids.size else np.array([], dtype=np.int64)
            result = np.zeros_like(weight.data)
            if starts.size:
                result[sorted_ids[starts]] = np.add.reduceat(flat_grad[order], starts, axis=0)
            if padding_idx is not None:
                result[padding_idx] = 0.0
            return (result,)
        ''',
        why="sorts the ids and sums each run with np.add.reduceat (the scatter-add without "
            "np.add.at)"),
    Alternate(
        graded=("11-embeddings-test-embedding-module",),
        cell="11-embeddings-embedding-module",
        region=0,
        code='''
            generator = _generator(rng)
            table = generator.standard_normal((self.num_embeddings, self.embedding_dim)).astype(np.float32)
            if self.padding_idx is not None:
                table[self.padding_idx, :] = 0
            self.weight = Tensor(table, requires_grad=True)
        ''',
        why="casts to float32 before making the Tensor, and zeroes the row with [idx, :]"),
    Alternate(
        graded=("11-embeddings-test-embedding-module",),
        cell="11-embeddings-embedding-module",
        region=1,
        code='''
            out = embedding(input, self.weight, self.padding_idx)
            return out
        ''',
        why="padding_idx passed by position"),
    Alternate(
        graded=("11-embeddings-test-sinusoidal",),
        cell="11-embeddings-sinusoidal",
        region=0,
        code='''
            columns = np.arange(dim)
            exponents = (columns - columns % 2) / dim                    # 2k / dim for both columns of a pair
            angles = np.arange(max_len)[:, None] / np.power(10000.0, exponents)[None, :]
            table = np.where(columns % 2 == 0, np.sin(angles), np.cos(angles))
            return np.asarray(table, dtype=np.float32)
        ''',
        why="one angle per column (2k shared by a pair) and np.where to pick sine or cosine"),
    Alternate(
        graded=("11-embeddings-test-positional",),
        cell="11-embeddings-positional",
        region=0,
        code='''
            shape = x.shape
            if len(shape) < 2 or shape[-1] != dim:
                raise ValueError(f"{owner} wants the last dimension to be embedding_dim={dim}; got shape {shape}")
            if shape[-2] > max_len:
                raise ValueError(f"{owner}: {shape[-2]} positions but max_len is {max_len}")
            return shape[-2]
        ''',
        why="reads the shape once, other wording"),
    Alternate(
        graded=("11-embeddings-test-positional",),
        cell="11-embeddings-positional",
        region=1,
        code='''
            t = _check_positions(x, self.max_len, self.embedding_dim, type(self).__name__)
            positions = Tensor(self.table[np.arange(t)])
            return positions + x
        ''',
        why="the class name from type(self), the rows by an index array, added on the left"),
    Alternate(
        graded=("11-embeddings-test-positional",),
        cell="11-embeddings-positional",
        region=2,
        code='''
            self.weight = Tensor(_generator(rng).standard_normal(size=(self.max_len, self.embedding_dim)).astype(np.float32),
                                 requires_grad=True)
        ''',
        why="one line, size= by keyword, cast before the Tensor"),
    Alternate(
        graded=("11-embeddings-test-positional",),
        cell="11-embeddings-positional",
        region=3,
        code='''
            t = _check_positions(x, self.max_len, self.embedding_dim, "LearnedPositionalEmbedding")
            return x + embedding(np.arange(t), self.weight)
        ''',
        why="looks the rows up with the module's own embedding instead of slicing"),
]
