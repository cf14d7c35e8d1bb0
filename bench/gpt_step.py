"""Row: one training step of Milestone 05's character-level language model.

The model of milestones/05_transformer.py, part (b): a GPT with a vocabulary of 54 tokens
(tiny_tales' 50 characters and 4 special tokens), context 64, width 64, 4 heads, 2 pre-norm
blocks (causal multi-head self-attention, a GELU MLP of width 256), a final LayerNorm and a
Linear head: 111,158 parameters. One step on a batch of 32 windows of 64 tokens: forward,
cross-entropy over the 2048 next tokens, backward, gradient clipping at norm 1, and an AdamW
step (lr 0.006, weight decay 0.01), as the milestone trains it. The batch is random token ids,
the same for both implementations; so are the initial weights (tinytorch's, copied into the
PyTorch model). tinytorch's GPT (Module 13) against the same model written with torch.nn
(nn.Embedding, nn.MultiheadAttention with a causal mask, nn.LayerNorm, nn.GELU("tanh")).
"""

from __future__ import annotations

import numpy as np

NAME = "GPT training step: Milestone 05 LM, batch 32x64"
TARGET = 3.0  # tinytorch's time <= 3x PyTorch's (issue 16)
RESULT = "loss of the first step"
# The settings of milestones/05_transformer.py (TEXT), written out: importing the milestone
# would load its `common`, which fixes the BLAS threads before this row is measured.
VOCAB, CONTEXT, WIDTH, HEADS, LAYERS, BATCH = 54, 64, 64, 4, 2, 32
LR, WEIGHT_DECAY, MAX_NORM = 6e-3, 0.01, 1.0


def data():
    """Input windows and their next tokens, (BATCH, CONTEXT) int64 each."""
    rng = np.random.default_rng(0)
    windows = rng.integers(0, VOCAB, size=(BATCH, CONTEXT + 1))
    return windows[:, :-1], windows[:, 1:]


def tinytorch_model():
    from tinytorch.core.transformer import GPT
    return GPT(VOCAB, CONTEXT, WIDTH, HEADS, LAYERS, rng=0)


def tinytorch_version():
    from tinytorch import AdamW, CrossEntropyLoss, Tensor, clip_grad_norm

    inputs, targets = data()
    model = tinytorch_model()
    optimizer = AdamW(model.parameters(), lr=LR, weight_decay=WEIGHT_DECAY)
    criterion = CrossEntropyLoss()
    flat_targets = Tensor(targets.reshape(-1))
    first = []

    def step() -> float:
        loss = criterion(model(inputs).reshape(-1, VOCAB), flat_targets)
        optimizer.zero_grad()
        loss.backward()
        clip_grad_norm(model.parameters(), MAX_NORM)
        optimizer.step()
        first.append(loss.item())
        return first[0]

    return step


def torch_version(torch):
    nn = torch.nn

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.ln1 = nn.LayerNorm(WIDTH)
            self.attn = nn.MultiheadAttention(WIDTH, HEADS, batch_first=True)
            self.ln2 = nn.LayerNorm(WIDTH)
            self.fc1, self.act, self.fc2 = nn.Linear(WIDTH, 4 * WIDTH), nn.GELU("tanh"), nn.Linear(4 * WIDTH, WIDTH)
            self.register_buffer("mask", torch.triu(torch.ones(CONTEXT, CONTEXT, dtype=torch.bool), 1))

        def forward(self, x):
            h = self.ln1(x)
            x = x + self.attn(h, h, h, attn_mask=self.mask, is_causal=True, need_weights=False)[0]
            return x + self.fc2(self.act(self.fc1(self.ln2(x))))

    class GPT(nn.Module):
        def __init__(self):
            super().__init__()
            self.token_embedding = nn.Embedding(VOCAB, WIDTH)
            self.position_embedding = nn.Parameter(torch.zeros(CONTEXT, WIDTH))
            self.blocks = nn.ModuleList(Block() for _ in range(LAYERS))
            self.ln_f = nn.LayerNorm(WIDTH)
            self.head = nn.Linear(WIDTH, VOCAB)

        def forward(self, ids):
            x = self.token_embedding(ids) + self.position_embedding[:ids.shape[1]]
            for block in self.blocks:
                x = block(x)
            return self.head(self.ln_f(x))

    model = GPT()
    copy_weights(tinytorch_model(), model, torch)
    optimizer = torch.optim.AdamW(model.parameters(), lr=LR, weight_decay=WEIGHT_DECAY)
    inputs, targets = (torch.from_numpy(a) for a in data())
    flat_targets = targets.reshape(-1)
    first = []

    def step() -> float:
        loss = torch.nn.functional.cross_entropy(model(inputs).reshape(-1, VOCAB), flat_targets)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), MAX_NORM)
        optimizer.step()
        first.append(loss.item())
        return first[0]

    return step


def copy_weights(source, model, torch) -> None:
    """tinytorch's GPT weights into the torch model (Linear weights transposed: tinytorch keeps
    (in, out), torch (out, in); q, k, v stacked into in_proj)."""
    def put(parameter, array):
        with torch.no_grad():
            parameter.copy_(torch.from_numpy(np.ascontiguousarray(array, dtype=np.float32)))

    def linear(target, layer):
        put(target.weight, layer.weight.data.T)
        put(target.bias, layer.bias.data)

    def norm(target, layer):
        put(target.weight, layer.weight.data)
        put(target.bias, layer.bias.data)

    put(model.token_embedding.weight, source.token_embedding.weight.data)
    put(model.position_embedding, source.position_embedding.weight.data)
    for block, theirs in zip(model.blocks, source.blocks):
        norm(block.ln1, theirs.ln1)
        norm(block.ln2, theirs.ln2)
        attention = theirs.attn
        projections = (attention.q_proj, attention.k_proj, attention.v_proj)
        put(block.attn.in_proj_weight, np.concatenate([p.weight.data.T for p in projections]))
        put(block.attn.in_proj_bias, np.concatenate([p.bias.data for p in projections]))
        linear(block.attn.out_proj, attention.out_proj)
        linear(block.fc1, theirs.mlp.fc1)
        linear(block.fc2, theirs.mlp.fc2)
    norm(model.ln_f, source.ln_f)
    linear(model.head, source.head)
