"""Module 12: right answers written differently from the reference (see __init__.py)."""

from alternates import Alternate

ALTERNATES = [
    Alternate(
        graded=("12-attention-test-masks",),
        cell="12-attention-masks",
        region=0,
        code='''
            if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size <= 0:
                raise ValueError(f"causal_mask: size must be a positive integer, not {size!r}")
            rows = np.arange(size)
            return rows[:, None] >= rows[None, :]
        ''',
        why="compares a column of row numbers with a row of column numbers instead of np.tril"),
    Alternate(
        graded=("12-attention-test-masks",),
        cell="12-attention-masks",
        region=1,
        code='''
            limit = int(lengths.max()) if max_len is None else max_len
            if isinstance(limit, bool) or not isinstance(limit, (int, np.integer)) or limit < 1:
                raise ValueError(f"padding_mask: max_len {limit!r} is not a positive integer")
            outside = (lengths < 0) | (lengths > limit)
            if outside.any():
                raise ValueError(f"padding_mask: the length {lengths[outside][0]} does not fit in 0..{limit}")
            return ~(np.arange(limit) < lengths.reshape(-1, 1))
        ''',
        why="checks all lengths at once and builds the mask as the negation of 'inside'"),
    Alternate(
        graded=("12-attention-test-masked-softmax",),
        cell="12-attention-masked-softmax",
        region=0,
        code='''
            data = x.data
            allowed = np.ones(data.shape, dtype=bool) if keep is None else np.broadcast_to(keep, data.shape)
            shift = np.max(data, axis=dim, keepdims=True, where=allowed, initial=-np.inf)
            shift[~np.isfinite(shift)] = 0
            e = np.exp(np.where(allowed, data - shift, -np.inf))
            total = np.sum(e, axis=dim, keepdims=True)
            return wrap_result(e / np.where(total == 0, 1, total), "softmax", x, axis=dim)
        ''',
        why="the maximum over the kept entries only (np.max's where=), and a safe divisor "
            "instead of np.divide's where="),
    Alternate(
        graded=("12-attention-test-sdpa",),
        cell="12-attention-sdpa",
        region=0,
        code='''
            scale = query.shape[-1] ** -0.5 if scale is None else scale
            scores = np.matmul(query.data, np.moveaxis(key.data, -1, -2)) * scale
            keep = None
            if attn_mask is not None:
                if attn_mask.dtype == bool:
                    keep = attn_mask.data
                else:
                    scores = scores + attn_mask.data.astype(scores.dtype)
            if is_causal:
                keep = np.tril(np.ones((L, S), dtype=bool))
            probs = masked_softmax(Tensor(scores, dtype=scores.dtype), keep).data
        ''',
        why="E ** -0.5, np.matmul and np.moveaxis, the mask cases in another order, np.tril of "
            "an (L, S) matrix"),
    Alternate(
        graded=("12-attention-test-sdpa",),
        cell="12-attention-sdpa",
        region=1,
        code='''
            out = np.matmul(weights, value.data)
            extra = () if attn_mask is None or attn_mask.dtype == bool else (attn_mask,)
            return wrap_result(out, "scaled_dot_product_attention", query, key, value, *extra,
                               probs=probs, weights=weights, drop=drop, scale=scale)
        ''',
        why="np.matmul and the optional fourth input as a tuple"),
    Alternate(
        graded=("12-attention-test-sdpa-backward",),
        cell="12-attention-sdpa-backward",
        region=0,
        code='''
            dv = np.matmul(np.swapaxes(weights, -1, -2), grad)
            dp = np.matmul(grad, np.swapaxes(value, -1, -2))
            if drop is not None:
                dp = dp * drop
            ds = probs * dp - probs * np.sum(dp * probs, axis=-1, keepdims=True)
            dq = scale * np.matmul(ds, key)
            dk = scale * np.matmul(np.swapaxes(ds, -1, -2), query)
            return dq, dk, dv, ds
        ''',
        why="new arrays instead of in-place updates, the softmax rule expanded"),
    Alternate(
        graded=("12-attention-test-heads",),
        cell="12-attention-heads",
        region=0,
        code='''
            if features % num_heads != 0:
                raise ValueError(f"split_heads: E = {features} is not divisible by num_heads = {num_heads}")
            size = features // num_heads
            return x.reshape(batch, length, num_heads, size).transpose(1, 2)
        ''',
        why="transpose(1, 2) instead of permute"),
    Alternate(
        graded=("12-attention-test-heads",),
        cell="12-attention-heads",
        region=1,
        code='''
            return x.transpose(1, 2).reshape(batch, length, -1)
        ''',
        why="transpose(1, 2) and a reshape with -1"),
    Alternate(
        graded=("12-attention-test-mha",),
        cell="12-attention-mha",
        region=0,
        code='''
            def project(layer, x, n):
                flat = layer(x.reshape(B * n, E))
                return split_heads(flat.reshape(B, n, E), self.num_heads)

            q, k, v = project(self.q_proj, query, L), project(self.k_proj, key, S), project(self.v_proj, value, S)
            p = 0.0
            if self.training:
                p = self.dropout
            merged = merge_heads(scaled_dot_product_attention(q, k, v, mask, p))
            return self.out_proj(merged.reshape(B * L, E)).reshape(B, L, E)
        ''',
        why="a helper for the three projections, positional arguments for the mask and dropout"),
]
