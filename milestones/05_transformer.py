"""Milestone 05: a transformer you built learns an algorithm, then writes little stories.

    python milestones/05_transformer.py                  # both parts (offline, under a minute of CPU)
    python milestones/05_transformer.py --task reverse   # part (a) only
    python milestones/05_transformer.py --task text      # part (b) only

Options: --task reverse|text|both, --epochs N (reverse), --steps N (text), --seed N,
--out FOLDER (see --help).

Both parts train the same kind of model, the small GPT of Module 13: token embeddings
(Module 11) plus learned positions, pre-norm transformer blocks of causal multi-head
self-attention (Module 12) and a GELU MLP, a final LayerNorm and a Linear head that scores
every token of the vocabulary at every position. Cross-entropy (Module 04), AdamW
(Module 06), gradient clipping and a cosine learning-rate schedule (Module 07) train it;
the characters come from the tokenizer of Module 10. Everything but the data comes from the
tinytorch you built.

(a) Reversing digits. Each example is 8 random digits, a separator, then the same digits
backwards: `31415926>62951413`. The model reads from left to right and is trained to predict
the next token only where the answer is, so it must learn to look back at the digit that
sits as far before the separator as it now sits after it: a job for attention, which a
bigram table or an MLP on one token cannot do. 5000 training sequences; 1000 held-out
sequences, none of them in the training set (the script checks it), drawn with a fixed seed
that does not depend on --seed. After training, the model writes the answer of every
held-out sequence by itself, one digit at a time (GPT.generate with top_k=1: always the most
likely digit), and a sequence counts as right only if all 8 digits are. Target: at least 99%
of the held-out sequences exactly right.

(b) A character-level language model on datasets/tiny/tiny_tales.txt, the course's own
corpus of short stories (Module 10's load_tiny_text and CharTokenizer). The last tenth of the
text (cut at the start of a story) is held out: never trained on. The baseline is a bigram
model: a table of how often each character follows each other one in the training text, plus
one for every pair (add-one smoothing), which predicts each character from the one before it
only. Both are scored on the same held-out characters by their mean cross-entropy (nats per
character; lower is better, and log(vocabulary size) is what guessing uniformly gives). The
transformer sees up to 64 characters before each one it predicts. Target: a held-out loss at
least 1.00 nats per character below the bigram's. Then it writes samples: from a prompt, with
temperature (below 1 sharpens the distribution, above 1 flattens it) and top-k (sample only
among the k most likely characters), next to a sample of the bigram model for contrast.

Measured on the development machine (2 cores of an x86-64 server shared with other jobs,
numpy with OpenBLAS, one BLAS thread). (a) 100.0% (1000/1000) of the held-out sequences
reversed exactly with the default seed and with seeds 1-3 (the held-out sequences are already
right digit by digit after the first epoch); about 8 s of CPU time for the part, start-up
and figure included. (b) bigram baseline 2.303 nats per character on the held-out text; the
transformer (111,158 parameters, 500 steps of 32 windows) 0.672 with the default seed, 1.632
lower; 0.657-0.718 with seeds 1-3 (1.585-1.646 lower); about 30 s of CPU time for the part,
samples and figures included. Wall-clock times are longer when other jobs share the cores.

Output: progress lines (training loss, held-out scores), then for (a) the final line
`test accuracy: 100.0% (1000/1000) on the held-out sequences, reversed exactly`, and for (b)
`held-out loss: ... nats per character, bigram baseline ...: ... lower (target: at least 1.00
lower)` and the samples. Figures in --out: 05_transformer_reverse_curves.png,
05_transformer_text_curves.png and 05_transformer_text_samples.png (the samples, also written
to 05_transformer_text_samples.txt).
"""

from __future__ import annotations

# common first: it chooses the number of BLAS threads, which must happen before numpy loads.
from common import Timer, parse_args, save_figure

import math
import sys
import textwrap

import numpy as np
import matplotlib.pyplot as plt

from tinytorch import (AdamW, CosineAnnealingLR, CrossEntropyLoss, Tensor, clip_grad_norm, manual_seed,
                       no_grad, reuse_freed_memory)
from tinytorch.data.loader import DataLoader, TensorDataset

try:  # Modules 10-13: a student who has not exported them yet gets told which to finish
    from tinytorch.core.transformer import GPT
    from tinytorch.text.tokenization import CharTokenizer, load_tiny_text
except ImportError as error:  # pragma: no cover - depends on the student's progress
    raise SystemExit(f"milestones/05_transformer.py needs Modules 10-13 ({error}).\n"
                     "Finish notebooks 10_tokenization to 13_transformers, run `python export.py`, "
                     "then run this milestone again.")

# ----- the settings of each part -----------------------------------------------------------------

REVERSE = {"length": 8, "train": 5000, "test": 1000, "epochs": 3, "batch_size": 64, "lr": 3e-3,
           "embed_dim": 64, "num_heads": 4, "num_layers": 2}
TEXT = {"context": 64, "steps": 500, "batch_size": 32, "lr": 6e-3, "embed_dim": 64, "num_heads": 4,
        "num_layers": 2, "held_out": 0.1, "eval_every": 100}
TARGET_ACCURACY = 0.99
TARGET_MARGIN = 1.0  # nats per character below the bigram baseline
REVERSE_SEED = 2024  # the sequences (training and held-out) do not depend on --seed
SEPARATOR = 10  # the token between a sequence and its reverse; the digits are tokens 0-9
PROMPT = "Once upon a time"


def train(model, batches, steps: int, lr: float, loss_of, report_every: int, report):
    """AdamW with a cosine learning-rate schedule over `steps` steps and gradient clipping at
    norm 1. `batches` yields (inputs, targets) as numpy arrays, `loss_of(model, inputs,
    targets)` returns the loss Tensor. Every `report_every` steps and at the end,
    `report(step, mean training loss since the last report)` prints a progress line and may
    return a held-out score to record. Returns the history of the losses."""
    optimizer = AdamW(model.parameters(), lr=lr, weight_decay=0.01)
    schedule = CosineAnnealingLR(optimizer, T_max=steps)
    history = {"step": [], "loss": [], "eval_step": [], "eval": []}
    model.train()
    running = []
    for step in range(1, steps + 1):
        inputs, targets = next(batches)
        loss = loss_of(model, inputs, targets)
        optimizer.zero_grad()
        loss.backward()
        clip_grad_norm(model.parameters(), 1.0)
        optimizer.step()
        schedule.step()
        running.append(loss.item())
        history["step"].append(step)
        history["loss"].append(running[-1])
        if step % report_every == 0 or step == steps:
            score = report(step, float(np.mean(running)))
            running = []
            if score is not None:
                history["eval_step"].append(step)
                history["eval"].append(score)
            model.train()
    return history


def parameter_count(model) -> int:
    return sum(p.size for p in model.parameters())


# ----- (a) reversing digits ----------------------------------------------------------------------

def reverse_data(length: int = REVERSE["length"], n_train: int = REVERSE["train"],
                 n_test: int = REVERSE["test"]) -> dict:
    """Distinct random digit sequences (a fixed seed), split into training and held-out ones.

    Returns `train` (n_train, length) and `test` (n_test, length) int64 arrays with no row in
    both, and the model's inputs and targets for each: the tokens of
    `digits > reversed digits`, the inputs without the last token, the targets without the
    first."""
    rng = np.random.default_rng(REVERSE_SEED)
    drawn = rng.integers(0, 10, size=(2 * (n_train + n_test), length))
    _, first = np.unique(drawn, axis=0, return_index=True)
    distinct = drawn[np.sort(first)][:n_train + n_test]  # each sequence once, in drawing order
    train, test = distinct[:n_train], distinct[n_train:]
    assert len(test) == n_test and not {row.tobytes() for row in train} & {row.tobytes() for row in test}
    data = {"train": train, "test": test}
    for split, digits in (("train", train), ("test", test)):
        tokens = np.concatenate([digits, np.full((len(digits), 1), SEPARATOR), digits[:, ::-1]], axis=1)
        data[f"x_{split}"], data[f"y_{split}"] = tokens[:, :-1], tokens[:, 1:]
    return data


def answer_loss(length: int):
    """The loss of the reversal task: cross-entropy on the answer positions only (the model is
    not asked to predict the random digits themselves)."""
    criterion = CrossEntropyLoss()

    def loss_of(model, inputs, targets):
        logits = model(Tensor(inputs))[:, length:, :]  # from the separator on: the next token is an answer digit
        return criterion(logits.reshape(-1, logits.shape[-1]), Tensor(targets[:, length:].reshape(-1)))
    return loss_of


def written_answers(model, digits: np.ndarray) -> np.ndarray:
    """The model writes the reverse of each row of `digits`, greedily (top_k=1), token by token."""
    length = digits.shape[1]
    prompts = np.concatenate([digits, np.full((len(digits), 1), SEPARATOR)], axis=1)
    model.eval()
    with no_grad():
        written = model.generate(prompts, max_new_tokens=length, top_k=1, rng=np.random.default_rng(0))
    return np.asarray(written)[:, length + 1:]


def teacher_forced_accuracy(model, x: np.ndarray, y: np.ndarray, length: int) -> float:
    """Fraction of sequences whose every answer digit is the model's top choice, given the right
    digits before it (one forward pass: cheap enough to show during training)."""
    model.eval()
    with no_grad():
        predicted = model(Tensor(x)).data[:, length:].argmax(axis=-1)
    return float(np.mean(np.all(predicted == y[:, length:], axis=1)))


def run_reverse(args) -> dict:
    settings = REVERSE
    length = settings["length"]
    data = reverse_data()
    epochs = args.epochs if args.epochs is not None else settings["epochs"]
    print(f"(a) reversing {length} digits: {len(data['train'])} training and {len(data['test'])} held-out "
          f"sequences (none of them in the training set), e.g. "
          f"{''.join(map(str, data['train'][0]))}>{''.join(map(str, data['train'][0][::-1]))}")
    model = GPT(vocab_size=11, context_length=2 * length, embed_dim=settings["embed_dim"],
                num_heads=settings["num_heads"], num_layers=settings["num_layers"])
    print(f"model: GPT with {settings['num_layers']} blocks, width {settings['embed_dim']}, "
          f"{settings['num_heads']} heads, {parameter_count(model):,} parameters")
    loader = DataLoader(TensorDataset(Tensor(data["x_train"]), Tensor(data["y_train"])),
                        batch_size=settings["batch_size"], shuffle=True, drop_last=True, seed=args.seed)
    per_epoch = len(loader)
    steps = epochs * per_epoch

    def batches():
        while True:
            for inputs, targets in loader:
                yield inputs.data, targets.data

    def report(step, loss):
        if step % per_epoch and step != steps:
            return None
        score = teacher_forced_accuracy(model, data["x_test"], data["y_test"], length)
        print(f"epoch {math.ceil(step / per_epoch)}/{epochs} (step {step}/{steps}): training loss "
              f"{loss:.4f}, held-out sequences right digit by digit {100 * score:.1f}%", flush=True)
        return score

    with Timer() as timer:
        history = train(model, batches(), steps, settings["lr"], answer_loss(length), per_epoch, report)
    print(f"trained {epochs} epochs ({steps} steps) in {timer.seconds:.1f} s")

    written = written_answers(model, data["test"])
    right = np.all(written == data["test"][:, ::-1], axis=1)
    for digits, answer, ok in list(zip(data["test"], written, right))[:5]:
        print(f"  {''.join(map(str, digits))} > {''.join(map(str, answer))}  {'right' if ok else 'WRONG'}")
    plot_reverse(history, steps, per_epoch, args.out / "05_transformer_reverse_curves.png")
    correct = int(right.sum())
    print(f"test accuracy: {100 * correct / len(right):.1f}% ({correct}/{len(right)}) on the held-out "
          f"sequences, reversed exactly", flush=True)
    return {"accuracy": correct / len(right)}


def plot_reverse(history: dict, steps: int, per_epoch: int, path) -> None:
    figure, (loss_axes, accuracy_axes) = plt.subplots(1, 2, figsize=(10, 3.8))
    loss_axes.plot(history["step"], history["loss"], lw=1)
    loss_axes.set_yscale("log")
    loss_axes.set_xlabel("step")
    loss_axes.set_ylabel("training loss (answer digits)")
    accuracy_axes.plot(history["eval_step"], 100 * np.asarray(history["eval"]), "o-")
    accuracy_axes.set_xlabel("step")
    accuracy_axes.set_ylabel("held-out sequences right (%)")
    accuracy_axes.set_ylim(-2, 102)
    for axes in (loss_axes, accuracy_axes):
        axes.grid(alpha=0.3)
    figure.suptitle(f"Milestone 05 (a): reversing digits, {steps} steps ({per_epoch} per epoch)")
    save_figure(figure, path)


# ----- (b) a character-level language model ---------------------------------------------------

def text_split(text: str, fraction: float = TEXT["held_out"]) -> tuple:
    """(training text, held-out text): the held-out text is the last `fraction` of the corpus,
    starting at the beginning of a story (after a blank line)."""
    cut = text.find("\n\n", int(len(text) * (1 - fraction)))
    cut = int(len(text) * (1 - fraction)) if cut < 0 else cut + 2
    return text[:cut], text[cut:]


def bigram_table(ids: np.ndarray, vocab_size: int) -> np.ndarray:
    """log P(next | previous), (vocab_size, vocab_size), counted on `ids` with add-one smoothing."""
    counts = np.ones((vocab_size, vocab_size))
    np.add.at(counts, (ids[:-1], ids[1:]), 1)
    return np.log(counts / counts.sum(axis=1, keepdims=True))


def held_out_windows(ids: np.ndarray, context: int) -> tuple:
    """The held-out text as non-overlapping windows: inputs (n, context) and the characters that
    follow each position, targets (n, context). Every held-out character after the first is a
    target exactly once, up to the last full window."""
    n = (len(ids) - 1) // context
    return ids[:n * context].reshape(n, context), ids[1:n * context + 1].reshape(n, context)


def model_loss(model, x: np.ndarray, y: np.ndarray, batch_size: int = 64) -> float:
    """Mean cross-entropy (nats per character) of the model on the windows x -> y."""
    model.eval()
    criterion = CrossEntropyLoss(reduction="sum")
    total = 0.0
    with no_grad():
        for i in range(0, len(x), batch_size):
            logits = model(Tensor(x[i:i + batch_size]))
            total += criterion(logits.reshape(-1, logits.shape[-1]), Tensor(y[i:i + batch_size].reshape(-1))).item()
    return total / y.size


def bigram_sample(table: np.ndarray, start: list, count: int, rng: np.random.Generator) -> list:
    ids = list(start)
    probabilities = np.exp(table)
    for _ in range(count):  # a loop over generated characters
        ids.append(int(rng.choice(len(table), p=probabilities[ids[-1]])))
    return ids


def run_text(args) -> dict:
    settings = TEXT
    context = settings["context"]
    steps = args.steps if args.steps is not None else settings["steps"]
    text = load_tiny_text("tiny_tales")
    tokenizer = CharTokenizer(text)
    train_text, held_text = text_split(text)
    train_ids = np.asarray(tokenizer.encode(train_text), dtype=np.int64)
    held_ids = np.asarray(tokenizer.encode(held_text), dtype=np.int64)
    vocab = tokenizer.vocab_size
    print(f"(b) a character-level language model on tiny_tales.txt: {len(text):,} characters, "
          f"{vocab} tokens in the vocabulary; {len(train_ids):,} training and {len(held_ids):,} "
          f"held-out characters")

    x_held, y_held = held_out_windows(held_ids, context)
    table = bigram_table(train_ids, vocab)
    bigram = float(-table[x_held, y_held].mean())  # the same held-out characters as the model's
    print(f"bigram baseline (counted on the training text, add-one smoothing): held-out loss "
          f"{bigram:.3f} nats per character (uniform guessing: {math.log(vocab):.3f})")

    model = GPT(vocab_size=vocab, context_length=context, embed_dim=settings["embed_dim"],
                num_heads=settings["num_heads"], num_layers=settings["num_layers"])
    print(f"model: GPT with {settings['num_layers']} blocks, width {settings['embed_dim']}, "
          f"{settings['num_heads']} heads, context {context}, {parameter_count(model):,} parameters")
    rng = np.random.default_rng(args.seed)

    def batches():
        while True:
            starts = rng.integers(0, len(train_ids) - context, size=settings["batch_size"])
            windows = train_ids[starts[:, None] + np.arange(context + 1)]
            yield windows[:, :-1], windows[:, 1:]

    criterion = CrossEntropyLoss()

    def loss_of(model, inputs, targets):
        logits = model(Tensor(inputs))
        return criterion(logits.reshape(-1, vocab), Tensor(targets.reshape(-1)))

    def report(step, loss):
        if step % settings["eval_every"] and step != steps:
            print(f"step {step}/{steps}: training loss {loss:.3f}", flush=True)
            return None
        held = model_loss(model, x_held, y_held)
        print(f"step {step}/{steps}: training loss {loss:.3f}, held-out loss {held:.3f} "
              f"(bigram {bigram:.3f})", flush=True)
        return held

    with Timer() as timer:
        history = train(model, batches(), steps, settings["lr"], loss_of, 25, report)
    print(f"trained {steps} steps of {settings['batch_size']} windows in {timer.seconds:.1f} s")
    held = history["eval"][-1]

    samples = {}
    prompt = tokenizer.encode(PROMPT)
    generator = np.random.default_rng(args.seed)
    model.eval()
    for name, options in (("temperature 0.8, top-k 10", {"temperature": 0.8, "top_k": 10}),
                          ("temperature 1.0, no top-k", {"temperature": 1.0}),
                          ("greedy (top-k 1)", {"top_k": 1})):
        with no_grad():
            ids = model.generate(np.asarray(prompt, dtype=np.int64), max_new_tokens=200, rng=generator,
                                 **options)
        samples[f"transformer, {name}"] = tokenizer.decode(np.asarray(ids).reshape(-1).tolist())
    samples["bigram model, temperature 1.0"] = tokenizer.decode(bigram_sample(table, prompt, 200, generator))
    for name, sample in samples.items():
        print(f"--- sample, {name}:\n{sample}")
    plot_text(history, bigram, steps, args.out / "05_transformer_text_curves.png")
    plot_samples(samples, args.out / "05_transformer_text_samples.png")
    (args.out / "05_transformer_text_samples.txt").write_text(
        "".join(f"--- {name}:\n{sample}\n\n" for name, sample in samples.items()), encoding="utf-8")
    margin = bigram - held
    verdict = "met" if margin >= TARGET_MARGIN else "MISSED"
    print(f"held-out loss: {held:.3f} nats per character, bigram baseline {bigram:.3f}: {margin:.3f} lower "
          f"(target: at least {TARGET_MARGIN:.2f} lower, {verdict})", flush=True)
    return {"loss": held, "bigram": bigram}


def plot_text(history: dict, bigram: float, steps: int, path) -> None:
    figure, axes = plt.subplots(figsize=(8, 4))
    axes.plot(history["step"], history["loss"], lw=0.8, alpha=0.7, label="training loss (each batch)")
    axes.plot(history["eval_step"], history["eval"], "o-", label="transformer, held-out loss")
    axes.axhline(bigram, color="tab:red", ls="--", label=f"bigram baseline, held-out ({bigram:.3f})")
    axes.set_xlabel("step")
    axes.set_ylabel("cross-entropy (nats per character)")
    axes.grid(alpha=0.3)
    axes.legend()
    axes.set_title(f"Milestone 05 (b): a character-level GPT on tiny_tales, {steps} steps")
    save_figure(figure, path)


def plot_samples(samples: dict, path) -> None:
    figure = plt.figure(figsize=(10, 0.5 + 1.25 * len(samples)))
    y = 0.97
    for name, sample in samples.items():
        figure.text(0.02, y, name, fontsize=10, weight="bold", va="top")
        wrapped = "\n".join(textwrap.wrap(sample.replace("\n", " / "), 100)[:5])
        figure.text(0.02, y - 0.25 / len(samples), wrapped, fontsize=8, family="monospace", va="top")
        y -= 0.95 / len(samples)
    figure.suptitle("Milestone 05 (b): samples from the prompt " + repr(PROMPT), fontsize=11, y=0.995)
    figure.savefig(path, dpi=110)
    plt.close(figure)
    print(f"saved {path}")


def main(argv=None) -> None:
    def options(parser):
        parser.add_argument("--task", choices=("reverse", "text", "both"), default="both",
                            help="reverse: part (a); text: part (b); both (default)")
        parser.add_argument("--epochs", type=int, help=f"(a) passes over the training sequences "
                            f"(default: {REVERSE['epochs']})")
        parser.add_argument("--steps", type=int, help=f"(b) training steps (default: {TEXT['steps']})")

    args = parse_args(__doc__, argv, options)
    reuse_freed_memory()  # every step makes arrays of the same shapes again (Module 01, Systems)
    if args.task in ("reverse", "both"):
        run_reverse(args)
    if args.task in ("text", "both"):
        manual_seed(args.seed)  # the same initial weights with or without part (a) first
        run_text(args)


if __name__ == "__main__":
    main()
