"""Module 13: right answers written differently from the reference (see __init__.py)."""

from alternates import Alternate

ALTERNATES = [
    Alternate(
        graded=("13-transformers-test-layernorm",),
        cell="13-transformers-layernorm",
        region=0,
        code='''
            count = 1
            for axis in axes:
                count *= x.shape[axis]
            mean = x.sum(axis=axes, keepdims=True) / count
            deviation = x - mean
            var = (deviation ** 2).sum(axis=axes, keepdims=True) / count
            out = deviation * (var + self.eps) ** -0.5
            if self.weight is not None:
                out = out * self.weight
            return out if self.bias is None else out + self.bias
        ''',
        why="sums divided by the count, ** 2 and ** -0.5 instead of mean and sqrt"),
    Alternate(
        graded=("13-transformers-test-mlp",),
        cell="13-transformers-mlp",
        region=1,
        code='''
            out = self.fc1(rows)
            out = self.act(out)
            out = self.fc2(out)
            out = self.dropout(out)
        ''',
        why="one step a line"),
    Alternate(
        graded=("13-transformers-test-block",),
        cell="13-transformers-block",
        region=1,
        code='''
            normed = self.ln1(x)
            attended = self.attn(normed, normed, normed, is_causal=True)
            h = x + self.dropout(attended)
            return h + self.mlp(self.ln2(h))
        ''',
        why="passes key and value explicitly, a new name for the stream, returns the sum"),
    Alternate(
        graded=("13-transformers-test-gpt",),
        cell="13-transformers-gpt",
        region=1,
        code='''
            h = self.token_embedding(ids)
            h = self.dropout(self.position_embedding(h))
            for i in range(len(self.blocks)):
                h = self.blocks[i](h)
            B, T = ids.shape
            h = self.ln_f(h).reshape(B * T, self.embed_dim)
            return self.head(h).reshape(B, T, -1)
        ''',
        why="indexes the blocks, one step a line"),
    Alternate(
        graded=("13-transformers-test-param-count",),
        cell="13-transformers-param-count",
        region=0,
        code='''
            def linear(a, b):
                return a * b + b

            norm = 2 * E
            counts = dict(token_embedding=V * E, position_embedding=C * E,
                          attention=4 * linear(E, E) * L,
                          mlp=(linear(E, H) + linear(H, E)) * L,
                          block_norms=2 * norm * L, final_norm=norm, head=linear(E, V))
            counts["total"] = (counts["token_embedding"] + counts["position_embedding"]
                               + counts["attention"] + counts["mlp"] + counts["block_norms"]
                               + counts["final_norm"] + counts["head"])
            return counts
        ''',
        why="a helper for a Linear layer's count, dict(), the total written out"),
    Alternate(
        graded=("13-transformers-test-sample",),
        cell="13-transformers-sample",
        region=0,
        code='''
            V = rows.shape[-1]
            if top_k is not None and top_k < V:
                threshold = np.sort(rows, axis=-1)[:, V - top_k:V - top_k + 1]
                rows = np.where(rows >= threshold, rows, -np.inf)
            if temperature == 0:
                choice = np.argmax(rows, axis=1)
            else:
                # the Gumbel-max trick: argmax(logits / T + Gumbel noise) is a draw from softmax(logits / T)
                choice = np.argmax(rows / temperature + generator.gumbel(size=rows.shape), axis=1)
        ''',
        why="a full sort for top-k, and the Gumbel-max trick instead of the cumulative sum"),
    Alternate(
        graded=("13-transformers-test-generate",),
        cell="13-transformers-generate",
        region=0,
        code='''
            target = out.shape[1] + max_new_tokens
            while out.shape[1] < target:
                start = max(0, out.shape[1] - model.context_length)
                logits = model(out[:, start:]).data
                token = sample_next_token(logits[:, logits.shape[1] - 1], temperature, top_k, generator)
                out = np.hstack([out, token.reshape(-1, 1)])
        ''',
        why="a while loop, the crop as a start index, np.hstack"),
]
