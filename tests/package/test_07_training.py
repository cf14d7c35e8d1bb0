"""Specification of tinytorch.core.training (Module 07), tested on the exported package.

accuracy and clip_grad_norm are checked against numpy and, when it is installed, PyTorch; the
schedulers against their formulas and torch.optim.lr_scheduler; the Trainer on small problems,
XOR among them, where the answer is known.
"""
import contextlib
import io
import math

import numpy as np
import pytest

from tinytorch.core.activations import ReLU, Sigmoid, Tanh
from tinytorch.core.layers import Dropout, Linear, Module, Sequential
from tinytorch.core.losses import BinaryCrossEntropyLoss, CrossEntropyLoss, MSELoss
from tinytorch.core.optimizers import SGD, Adam
from tinytorch.core.tensor import AUTOGRAD, Tensor
from tinytorch.core.training import (ArrayBatches, CosineAnnealingLR, ProgressBar, StepLR, Trainer,
                                     accuracy, batch_iterator, clip_grad_norm)


def importorskip_torch():
    return pytest.importorskip("torch", reason="PyTorch is optional: install torch==2.13.0 to cross-check")


def test_top_level_names_are_the_same_objects():
    import tinytorch

    assert tinytorch.Trainer is Trainer
    assert tinytorch.accuracy is accuracy


# ----- accuracy ----------------------------------------------------------------------------

@pytest.mark.parametrize(
    "predictions, targets, expected",
    [
        ([[2.0, 1.0, 0.1], [0.5, 2.5, 0.0], [0.2, 0.1, 3.0], [1.0, 0.0, -1.0]], [0, 1, 2, 2], 0.75),
        ([[1.0, 1.0, 0.0]], [0], 1.0),                      # a tie goes to the first class
        ([[1.0, 1.0, 0.0]], [1], 0.0),
        ([[0.1, 0.9], [0.8, 0.2]], [[0.0, 1.0], [0.0, 1.0]], 0.5),  # one-hot targets
        ([0.9, 0.2, 0.6, 0.4], [1.0, 0.0, 0.0, 0.0], 0.75),  # binary probabilities
        ([[0.9], [0.2], [0.6], [0.4]], [[1], [0], [0], [0]], 0.75),
        ([[0.7], [0.1]], [1, 1], 0.5),
        ([0.5, 0.51], [0, 1], 1.0),                          # exactly 0.5 is class 0
        ([0.7, 0.1], [True, False], 1.0),
    ],
)
def test_accuracy(predictions, targets, expected):
    got = accuracy(Tensor(predictions), Tensor(targets))
    assert type(got) is float  # a Python float, not a numpy scalar
    assert got == expected
    assert accuracy(np.array(predictions), np.array(targets)) == expected


def test_accuracy_leaves_its_arguments_unchanged():
    probs, truth = Tensor([[0.9], [0.2], [0.6]]), Tensor([[1.0], [0.0], [0.0]])
    scores, one_hot = np.array([[0.1, 0.9], [0.8, 0.2]]), np.array([[0.0, 1.0], [0.0, 1.0]])
    copies = [probs.data.copy(), truth.data.copy(), scores.copy(), one_hot.copy()]
    assert accuracy(probs, truth) == pytest.approx(2 / 3) and accuracy(scores, one_hot) == 0.5
    for after, before in zip([probs.data, truth.data, scores, one_hot], copies):
        assert after.shape == before.shape and np.array_equal(after, before)


def test_accuracy_matches_numpy_on_random_scores():
    rng = np.random.default_rng(0)
    scores, labels = rng.standard_normal((1000, 10)), rng.integers(0, 10, 1000)
    assert accuracy(Tensor(scores), Tensor(labels)) == pytest.approx(np.mean(scores.argmax(1) == labels))


@pytest.mark.parametrize(
    "predictions, targets",
    [(np.zeros((4, 3)), np.zeros(2, dtype=int)), (np.zeros(4), np.zeros(3)), (np.zeros((2, 3, 4)), [0, 1]),
     (np.zeros((0, 3)), np.zeros(0, dtype=int))],
)
def test_accuracy_rejects_shapes_that_do_not_fit(predictions, targets):
    with pytest.raises(ValueError, match=re_escape(str(np.shape(predictions)))):
        accuracy(Tensor(predictions), Tensor(targets))


def re_escape(text):
    import re

    return re.escape(text)


# ----- clip_grad_norm ----------------------------------------------------------------------

def params_with_grads(grads, dtype=np.float32):
    params = []
    for g in grads:
        p = Tensor(np.zeros(np.shape(g)), dtype=dtype, requires_grad=True)
        p.grad = Tensor(np.array(g, dtype=dtype), dtype=dtype)
        params.append(p)
    return params


@pytest.mark.parametrize("max_norm", [0.5, 3.0, 1e6])
def test_clip_grad_norm_against_numpy(max_norm):
    rng = np.random.default_rng(1)
    grads = [rng.standard_normal(shape).astype(np.float32) for shape in [(5, 4), (4,), (4, 3), (3,)]]
    params = params_with_grads(grads)
    grad_objects = [p.grad for p in params]
    norm = float(np.sqrt(sum((g.astype(np.float64) ** 2).sum() for g in grads)))
    total = clip_grad_norm(params, max_norm)
    assert type(total) is float
    assert total == pytest.approx(norm, rel=1e-6)
    scale = min(1.0, max_norm / (norm + 1e-6))
    for p, g, before in zip(params, grads, grad_objects):
        assert p.grad is before and p.grad.dtype == np.float32  # scaled in place
        np.testing.assert_allclose(p.grad.data, g * scale, rtol=1e-6)


def test_clip_grad_norm_edge_cases():
    assert clip_grad_norm([], 1.0) == 0.0
    assert clip_grad_norm([Tensor(np.zeros(2), requires_grad=True)], 1.0) == 0.0  # grad None
    single = params_with_grads([[6.0, 8.0]])[0]
    assert clip_grad_norm(single, 5.0) == pytest.approx(10.0)
    np.testing.assert_allclose(single.grad.data, [3.0, 4.0], rtol=1e-6)
    generator_params = params_with_grads([[3.0, 4.0], [[12.0]]], dtype=np.float64)
    assert clip_grad_norm(iter(generator_params), 13.0 / 2) == pytest.approx(13.0)
    assert generator_params[0].grad.dtype == np.float64
    np.testing.assert_allclose(generator_params[0].grad.data, [1.5, 2.0], rtol=1e-6)
    with pytest.raises(ValueError, match="max_norm"):
        clip_grad_norm(params_with_grads([[1.0]]), -1.0)


def test_clip_grad_norm_refuses_what_is_not_a_gradient():
    with pytest.raises(TypeError, match="Tensor"):  # not the numpy array of a Tensor
        clip_grad_norm([np.ones(2)], 1.0)
    p = Tensor(np.zeros(2))
    with pytest.raises(TypeError) as caught:  # Tensor may refuse it already, as PyTorch does
        p.grad = np.ones(2)
        clip_grad_norm([p], 1.0)
    assert "Tensor" in str(caught.value) and "memoryview" not in str(caught.value), caught.value


@pytest.mark.parametrize("max_norm", [0.1, 2.0, 100.0])
def test_clip_grad_norm_matches_torch(max_norm):
    torch = importorskip_torch()
    rng = np.random.default_rng(2)
    grads = [rng.standard_normal(shape).astype(np.float32) * 3 for shape in [(8, 6), (6,), (6, 2)]]
    ours = params_with_grads(grads)
    theirs = [torch.zeros(g.shape, requires_grad=True) for g in grads]
    for t, g in zip(theirs, grads):
        t.grad = torch.from_numpy(g.copy())
    expected = torch.nn.utils.clip_grad_norm_(theirs, max_norm)
    assert clip_grad_norm(ours, max_norm) == pytest.approx(expected.item(), rel=1e-5)
    for p, t in zip(ours, theirs):
        np.testing.assert_allclose(p.grad.data, t.grad.numpy(), rtol=1e-5, atol=1e-7)


# ----- learning-rate schedules -------------------------------------------------------------

def sgd(lr):
    return SGD([Tensor(np.zeros(2), requires_grad=True)], lr=lr)


@pytest.mark.parametrize("step_size, gamma", [(1, 0.9), (3, 0.5), (10, 0.1)])
def test_step_lr_formula(step_size, gamma):
    optimizer = sgd(0.2)
    scheduler = StepLR(optimizer, step_size=step_size, gamma=gamma)
    assert scheduler.get_last_lr() == [0.2]
    for epoch in range(1, 40):
        scheduler.step()
        expected = 0.2 * gamma ** (epoch // step_size)
        assert optimizer.param_groups[0]["lr"] == pytest.approx(expected, rel=1e-12)
        assert scheduler.get_last_lr() == [optimizer.param_groups[0]["lr"]]


@pytest.mark.parametrize("T_max, eta_min", [(1, 0.0), (7, 0.0), (10, 0.001)])
def test_cosine_annealing_lr_formula(T_max, eta_min):
    optimizer = sgd(0.05)
    scheduler = CosineAnnealingLR(optimizer, T_max=T_max, eta_min=eta_min)
    for epoch in range(1, 3 * T_max + 5):
        scheduler.step()
        expected = eta_min + (0.05 - eta_min) * (1 + math.cos(math.pi * epoch / T_max)) / 2
        assert optimizer.param_groups[0]["lr"] == pytest.approx(expected, rel=1e-12, abs=1e-15)
    assert scheduler.last_epoch == 3 * T_max + 4


@pytest.mark.parametrize(
    "make",
    [
        lambda m, opt: m.StepLR(opt, step_size=3, gamma=0.5),
        lambda m, opt: m.StepLR(opt, step_size=1, gamma=0.9),
        lambda m, opt: m.CosineAnnealingLR(opt, T_max=10, eta_min=0.001),
        lambda m, opt: m.CosineAnnealingLR(opt, T_max=7),
    ],
    ids=["step-3-0.5", "step-1-0.9", "cosine-10-0.001", "cosine-7"],
)
def test_schedulers_match_torch_over_many_epochs(make):
    torch = importorskip_torch()
    import tinytorch.core.training as ours_module

    # Two groups with their own learning rates: each follows the schedule from its own.
    optimizer = SGD([{"params": [Tensor(np.zeros(2))]}, {"params": [Tensor(np.zeros(1))], "lr": 0.7}], lr=0.1)
    ours = make(ours_module, optimizer)
    torch_optimizer = torch.optim.SGD([{"params": [torch.zeros(2, requires_grad=True)]},
                                       {"params": [torch.zeros(1, requires_grad=True)], "lr": 0.7}], lr=0.1)
    theirs = make(torch.optim.lr_scheduler, torch_optimizer)
    assert ours.get_last_lr() == pytest.approx(theirs.get_last_lr())
    for _ in range(50):
        torch_optimizer.step()  # torch warns if the scheduler steps before the optimizer
        theirs.step()
        ours.step()
        assert len(ours.get_last_lr()) == 2
        assert ours.get_last_lr() == pytest.approx(theirs.get_last_lr(), rel=1e-9, abs=1e-12)
        assert [g["lr"] for g in optimizer.param_groups] == pytest.approx(
            [g["lr"] for g in torch_optimizer.param_groups], rel=1e-9, abs=1e-12)


@pytest.mark.parametrize("make", [
    lambda m, opt: m.StepLR(opt, step_size=3, gamma=0.5),
    lambda m, opt: m.CosineAnnealingLR(opt, T_max=5, eta_min=0.01),
], ids=["step", "cosine"])
def test_a_schedule_resumes_from_its_state_dict(make):
    import tinytorch.core.training as ours_module

    def optimizer():
        return SGD([{"params": [Tensor(np.zeros(2))]}, {"params": [Tensor(np.zeros(1))], "lr": 0.7}], lr=0.1)

    first_optimizer = optimizer()
    first = make(ours_module, first_optimizer)
    for _ in range(4):
        first.step()
    saved, saved_optimizer = first.state_dict(), first_optimizer.state_dict()
    assert "optimizer" not in saved and saved["last_epoch"] == 4 and saved["base_lrs"] == [0.1, 0.7]
    second_optimizer = optimizer()
    second = make(ours_module, second_optimizer)
    second_optimizer.load_state_dict(saved_optimizer)
    second.load_state_dict(saved)
    for _ in range(6):
        first.step()
        second.step()
        assert second.get_last_lr() == first.get_last_lr()
        assert [g["lr"] for g in second_optimizer.param_groups] == first.get_last_lr()
    saved["base_lrs"].append(5.0)  # a copy: the scheduler is left alone
    assert second.base_lrs == [0.1, 0.7] and first.base_lrs == [0.1, 0.7]


def test_scheduler_state_dict_keys_are_torchs():
    torch = importorskip_torch()
    import tinytorch.core.training as ours_module

    for name, kwargs in [("StepLR", dict(step_size=2, gamma=0.5)), ("CosineAnnealingLR", dict(T_max=4))]:
        ours = getattr(ours_module, name)(sgd(0.1), **kwargs).state_dict()
        theirs = getattr(torch.optim.lr_scheduler, name)(
            torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1), **kwargs).state_dict()
        assert set(ours) <= set(theirs), set(ours) - set(theirs)
        assert all(ours[key] == theirs[key] for key in ours), name


def test_schedulers_reject_bad_settings():
    for bad in (0, -1, 2.5):
        with pytest.raises(ValueError):
            StepLR(sgd(0.1), step_size=bad)
        with pytest.raises(ValueError):
            CosineAnnealingLR(sgd(0.1), T_max=bad)
    with pytest.raises(TypeError, match="param_groups"):
        StepLR(object(), step_size=1)


# ----- ProgressBar and ArrayBatches --------------------------------------------------------

class FakeTerminal(io.StringIO):
    def isatty(self):
        return True


def run_bar(stream, steps=20, **kwargs):
    bar = ProgressBar(total=steps, description="epoch 1/1", stream=stream, **kwargs)
    for i in range(steps):
        bar.update(loss=1.0 / (i + 1))
    bar.close()
    return stream.getvalue()


def test_progress_bar_is_silent_when_disabled(capsys):
    assert run_bar(FakeTerminal(), enabled=False) == ""
    assert run_bar(io.StringIO(), enabled=False) == ""
    bar = ProgressBar(total=3, enabled=False)  # the default stream, sys.stdout
    bar.update(loss=0.5)
    bar.close()
    assert capsys.readouterr() == ("", "")


def test_progress_bar_prints_once_when_not_a_terminal():
    text = run_bar(io.StringIO(), min_interval=0.0)
    assert "\r" not in text and text.count("\n") == 1
    assert "epoch 1/1" in text and "batch 20/20" in text and "loss 0.0500" in text and "batch/s" in text


def test_progress_bar_redraws_in_place_on_a_terminal_but_not_too_often():
    every_step = run_bar(FakeTerminal(), min_interval=0.0)
    assert every_step.count("\r") == 21 and every_step.endswith("\n")  # 20 updates and the close
    lines = every_step.split("\r")[1:]
    assert "batch 7/20" in lines[6]
    throttled = run_bar(FakeTerminal(), steps=1000)  # a fast loop: no redraw within 0.1 s
    assert throttled.count("\r") <= 2 and "batch 1000/1000" in throttled


def test_progress_bar_unknown_total_and_context_manager():
    stream = io.StringIO()
    with ProgressBar(total=None, stream=stream) as bar:
        bar.update(3)
    assert "batch 3 " in stream.getvalue()


def test_array_batches_cover_every_row_each_epoch_in_a_seeded_order():
    x, y = np.arange(20.0).reshape(10, 2), np.arange(10)
    batches = ArrayBatches(x, y, batch_size=4, shuffle=True, rng=0)
    assert len(batches) == 3
    epochs = [[t.data.tolist() for _, t in batches] for _ in range(2)]
    for epoch in epochs:
        assert [len(b) for b in epoch] == [4, 4, 2]
        assert sorted(sum(epoch, [])) == list(range(10))
    assert epochs[0] != epochs[1]  # a new order every epoch
    again = ArrayBatches(x, y, batch_size=4, shuffle=True, rng=0)
    assert [[t.data.tolist() for _, t in again] for _ in range(2)] == epochs
    inputs, targets = next(iter(batches))
    assert inputs.dtype == np.float32 and targets.dtype == np.int64
    np.testing.assert_array_equal(inputs.data[:, 0] / 2, targets.data)  # rows stay paired


def test_array_batches_in_order_and_drop_last():
    x, y = np.arange(10.0).reshape(10, 1), np.arange(10)
    assert [t.data.tolist() for _, t in batch_iterator(x, y, 4)] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    dropped = ArrayBatches(x, y, batch_size=4, drop_last=True)
    assert len(dropped) == 2 and [len(t) for _, t in dropped] == [4, 4]
    with pytest.raises(ValueError):
        ArrayBatches(x, y[:5])
    with pytest.raises(ValueError):
        ArrayBatches(x, y, batch_size=0)


# ----- Trainer -----------------------------------------------------------------------------

def classification_run(seed, lr=0.5, scheduler=True):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((80, 2)).astype(np.float32)
    y = (x[:, 0] * x[:, 1] > 0).astype(np.int64)  # not linearly separable
    model = Sequential(Linear(2, 16, rng=seed), ReLU(), Dropout(0.1, rng=seed), Linear(16, 2, rng=seed + 1))
    optimizer = SGD(model.parameters(), lr=lr, momentum=0.9)
    trainer = Trainer(model, CrossEntropyLoss(), optimizer,
                      scheduler=CosineAnnealingLR(optimizer, T_max=10) if scheduler else None)
    train = ArrayBatches(x[:60], y[:60], batch_size=16, shuffle=True, rng=seed)
    val = ArrayBatches(x[60:], y[60:], batch_size=16)
    return trainer, train, val


def test_trainer_loss_decreases_on_a_toy_regression():
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, (64, 3)).astype(np.float32)
    y = x @ np.array([[2.0], [-1.0], [0.5]], dtype=np.float32) + 0.3
    model = Linear(3, 1, rng=0)
    trainer = Trainer(model, MSELoss(), SGD(model.parameters(), lr=0.2))
    assert trainer.metrics == {}
    history = trainer.fit(ArrayBatches(x, y, 16, shuffle=True, rng=0), epochs=15, progress=False)
    assert set(history) == {"epoch", "lr", "time", "train_loss"}
    assert history["train_loss"][-1] < 0.05 * history["train_loss"][0]
    assert all(a > b for a, b in zip(history["train_loss"], history["train_loss"][1:]))


def test_fit_history_has_one_entry_per_epoch_and_follows_the_scheduler():
    trainer, train, val = classification_run(0)
    history = trainer.fit(train, epochs=10, val_batches=val, progress=False)
    assert set(history) == {"epoch", "lr", "time", "train_loss", "train_accuracy", "val_loss", "val_accuracy"}
    assert all(len(values) == 10 for values in history.values())
    assert history["epoch"] == list(range(1, 11))
    expected_lr = [0.5 * (1 + math.cos(math.pi * t / 10)) / 2 for t in range(10)]
    assert history["lr"] == pytest.approx(expected_lr)
    assert trainer.optimizer.param_groups[0]["lr"] == pytest.approx(0.0, abs=1e-12)
    assert history["train_loss"][-1] < history["train_loss"][0]
    assert history["val_accuracy"][-1] > 0.6
    trainer.fit(train, epochs=2, progress=False)
    assert trainer.history["epoch"] == list(range(1, 13)) and len(trainer.history["val_loss"]) == 10


def test_fit_is_deterministic_given_seeds():
    runs = []
    for _epoch in range(2):
        trainer, train, val = classification_run(3)
        history = trainer.fit(train, epochs=4, val_batches=val, progress=False)
        runs.append((history["train_loss"], history["val_loss"], [p.data.copy() for p in trainer.model.parameters()]))
    assert runs[0][0] == runs[1][0] and runs[0][1] == runs[1][1]
    for a, b in zip(runs[0][2], runs[1][2]):
        np.testing.assert_array_equal(a, b)


class Recorder(Module):
    """Notes, at every forward pass, the mode and whether the output records a graph."""

    def __init__(self, inner):
        super().__init__()
        self.inner = inner
        self.seen = []

    def forward(self, x):
        out = self.inner(x)
        self.seen.append((self.training, out.requires_grad))
        return out


@pytest.mark.parametrize("start_in_training", [True, False])
def test_evaluate_uses_eval_mode_and_no_graph_and_restores_the_mode(start_in_training):
    rng = np.random.default_rng(40)
    x, y = rng.standard_normal((10, 3)).astype(np.float32), rng.integers(0, 4, 10)
    model = Recorder(Sequential(Linear(3, 4, rng=1), Dropout(0.5, rng=0)))
    model.train(start_in_training)
    trainer = Trainer(model, CrossEntropyLoss(), SGD(model.parameters(), lr=0.1))
    result = trainer.evaluate(ArrayBatches(x, y, batch_size=4))
    logits = x @ model.inner[0].weight.data + model.inner[0].bias.data
    log_probs = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
    assert result["loss"] == pytest.approx(-log_probs[np.arange(10), y].mean(), rel=1e-5)
    assert result["accuracy"] == pytest.approx(np.mean(logits.argmax(1) == y))
    assert model.seen == [(False, False)] * 3
    assert model.training is start_in_training and model.inner[1].training is start_in_training
    assert all(p.grad is None for p in model.parameters())
    assert AUTOGRAD.enabled


def test_evaluate_restores_the_mode_after_an_error():
    model = Sequential(Linear(3, 2, rng=0))
    trainer = Trainer(model, CrossEntropyLoss(), SGD(model.parameters(), lr=0.1))
    with pytest.raises(ValueError):
        trainer.evaluate([(Tensor(np.zeros((2, 5))), Tensor([0, 1]))])
    assert model.training and AUTOGRAD.enabled


def test_train_step_zeroes_old_gradients_and_clips():
    rng = np.random.default_rng(5)
    x = rng.standard_normal((8, 2)).astype(np.float32)
    y = rng.standard_normal((8, 1)).astype(np.float32) * 10
    model = Linear(2, 1, rng=0)
    optimizer = SGD(model.parameters(), lr=0.1)
    w, b = model.weight.data.copy(), model.bias.data.copy()
    error = x @ w + b - y
    grad_w, grad_b = 2 / 8 * x.T @ error, 2 * error.mean(axis=0)
    norm = float(np.sqrt((grad_w ** 2).sum() + (grad_b ** 2).sum()))
    model.weight.grad = Tensor(np.full((2, 1), 1e3))  # stale: train_step must zero it first
    trainer = Trainer(model, MSELoss(), optimizer, clip_grad_norm=0.5)
    loss, outputs = trainer.train_step(Tensor(x), Tensor(y))
    assert loss == pytest.approx(float((error ** 2).mean()), rel=1e-5)
    assert outputs.shape == (8, 1)
    scale = 0.5 / (norm + 1e-6)
    np.testing.assert_allclose(model.weight.data, w - 0.1 * scale * grad_w, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(model.bias.data, b - 0.1 * scale * grad_b, rtol=1e-5, atol=1e-6)


def test_fit_progress(capsys):
    trainer, train, val = classification_run(0)
    trainer.fit(train, epochs=2, val_batches=val, progress=False)
    assert capsys.readouterr() == ("", "")
    trainer.fit(train, epochs=2, val_batches=val)  # captured output is not a terminal: a line per epoch
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2 and lines[0].startswith("epoch 3/4") and "val_accuracy" in lines[1]


def test_fit_rejects_a_generator_for_several_epochs():
    trainer, train, _ = classification_run(0)
    with pytest.raises(TypeError, match="generator"):
        trainer.fit((batch for batch in train), epochs=2)
    with pytest.raises(ValueError):
        trainer.fit(train, epochs=-1)
    with pytest.raises(ValueError, match="empty"):
        trainer.fit([], epochs=1, progress=False)


def test_custom_metrics():
    trainer, train, val = classification_run(0)
    mean_target = lambda outputs, targets: float(targets.data.mean())  # noqa: E731
    trainer = Trainer(trainer.model, trainer.loss_fn, trainer.optimizer, metrics={"mean_target": mean_target})
    result = trainer.evaluate(val)
    assert set(result) == {"loss", "mean_target"}
    assert result["mean_target"] == pytest.approx(np.concatenate([t.data for _, t in val]).mean())


# ----- XOR: the classic test of a hidden layer ---------------------------------------------

XOR_X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float32)
XOR_Y = np.array([[0], [1], [1], [0]], dtype=np.float32)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_two_layer_mlp_learns_xor(seed):
    model = Sequential(Linear(2, 8, rng=seed), Tanh(), Linear(8, 1, rng=seed + 10), Sigmoid())
    trainer = Trainer(model, BinaryCrossEntropyLoss(), Adam(model.parameters(), lr=0.1))
    batches = [(Tensor(XOR_X), Tensor(XOR_Y))]
    trainer.fit(batches, epochs=200, progress=False)
    result = trainer.evaluate(batches)
    assert result["accuracy"] == 1.0
    assert result["loss"] < 0.1


def test_two_layer_relu_mlp_with_two_outputs_learns_xor():
    model = Sequential(Linear(2, 8, rng=0), ReLU(), Linear(8, 2, rng=1))
    trainer = Trainer(model, CrossEntropyLoss(), Adam(model.parameters(), lr=0.05))
    batches = [(Tensor(XOR_X), Tensor(XOR_Y.ravel().astype(np.int64)))]
    trainer.fit(batches, epochs=300, progress=False)
    assert trainer.evaluate(batches)["accuracy"] == 1.0


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_single_layer_cannot_learn_xor(seed):
    model = Sequential(Linear(2, 1, rng=seed), Sigmoid())
    trainer = Trainer(model, BinaryCrossEntropyLoss(), Adam(model.parameters(), lr=0.1))
    batches = [(Tensor(XOR_X), Tensor(XOR_Y))]
    history = trainer.fit(batches, epochs=300, progress=False)
    assert max(history["train_accuracy"]) <= 0.75
    assert trainer.evaluate(batches)["accuracy"] <= 0.75
    assert history["train_loss"][-1] > 0.6  # stuck near log(2): no line separates XOR


# ----- what the package mutation run (tests/package_mutants.py) found untested ---------------

def test_accuracy_reads_one_hot_rows_along_the_class_axis_and_refuses_3d_scores():
    scores = Tensor([[2.0, 0.5], [0.1, 0.3], [1.0, 3.0]])  # 3 rows, 2 classes: not square
    one_hot = Tensor([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
    assert accuracy(scores, one_hot) == pytest.approx(2 / 3)
    with pytest.raises(ValueError):  # (N, 1, d) is neither (N, C) scores nor (N,) / (N, 1)
        accuracy(Tensor(np.zeros((2, 1, 4))), Tensor(np.zeros(8)))


def test_clip_grad_norm_to_zero_and_its_exact_factor():
    params = params_with_grads([np.array([3.0, 4.0])], dtype=np.float64)
    assert clip_grad_norm(params, 1.0) == pytest.approx(5.0)
    np.testing.assert_allclose(params[0].grad.data, np.array([3.0, 4.0]) / (5.0 + 1e-6), rtol=1e-12)
    params = params_with_grads([np.array([3.0, 4.0])], dtype=np.float64)
    clip_grad_norm(params, 0.0)  # max_norm 0 is allowed, as in torch: every gradient becomes 0
    np.testing.assert_array_equal(params[0].grad.data, np.zeros(2))


def test_scheduler_defaults_base_class_and_repr():
    from tinytorch.core.training import LRScheduler

    optimizer = sgd(0.1)
    scheduler = StepLR(optimizer, step_size=1)  # gamma defaults to 0.1, as in torch
    assert repr(scheduler) == "StepLR(last_epoch=0, lr=[0.1])"
    scheduler.step()
    assert optimizer.param_groups[0]["lr"] == pytest.approx(0.01)
    with pytest.raises(NotImplementedError):  # the base class has no rule of its own
        LRScheduler(sgd(0.1)).step()


def test_progress_bar_line_width_time_and_rate():
    bar = ProgressBar(total=4, description="epoch 1/1", stream=io.StringIO())
    bar.update(2)  # two steps at once
    half = bar.line(now=bar.start + 0.5)
    assert "[##########..........] batch 2/4" in half  # 20 characters wide, half full
    assert "4.0 batch/s" in half and "0.50s" in half
    assert "0.0 batch/s" in bar.line(now=bar.start) and "0.00s" in bar.line(now=bar.start)
    assert "1.0 batch/s" in bar.line(now=bar.start + 2.0) and "2.00s" in bar.line(now=bar.start + 2.0)


def test_progress_bar_blanks_out_a_longer_old_line_exactly():
    stream = FakeTerminal()
    bar = ProgressBar(total=3, stream=stream, min_interval=0.0)
    bar.update(loss=1.0, accuracy=0.5)
    bar.update(loss=0.5)  # a shorter line: padded with spaces to the old one's length
    first, second = stream.getvalue().split("\r")[1:]
    assert len(second) == len(first)
    assert second.endswith(" ") and "accuracy" not in second


def test_progress_bar_redraws_again_after_min_interval():
    import time

    stream = FakeTerminal()
    bar = ProgressBar(total=3, stream=stream)  # min_interval defaults to 0.1 s
    bar.update()
    time.sleep(0.15)
    bar.update()
    bar.update()  # within 0.1 s of the last redraw: not redrawn
    assert stream.getvalue().count("\r") == 1 and "batch 2/3" in stream.getvalue()


def test_trainer_options_modes_progress_history_and_repr():
    trainer, train, val = classification_run(0, scheduler=False)
    Trainer(trainer.model, CrossEntropyLoss(), trainer.optimizer, clip_grad_norm=0)  # 0 is allowed
    assert repr(trainer) == ("Trainer(model=Sequential, loss_fn=CrossEntropyLoss(), "
                             "optimizer=SGD, epochs trained=0)")
    trainer.model.eval()
    bar = ProgressBar(total=len(train), stream=io.StringIO())
    result = trainer.train_epoch(train, bar)
    assert trainer.model.training  # train_epoch trains in training mode
    assert bar.count == len(train) and bar.values == {"loss": pytest.approx(result["loss"])}
    assert trainer.fit(train, epochs=0) == trainer.history and trainer.epoch == 0
    with pytest.raises(ValueError):
        trainer.fit(train, epochs=True)
    history = trainer.fit((batch for batch in train), epochs=1, progress=False)  # one epoch: fine
    assert history["epoch"] == [1] and 0 <= history["time"][0] < 60


class CountingStream(io.StringIO):
    """A stream that is not a terminal and cannot say so (isatty raises), counting flushes."""

    flushes = 0

    def isatty(self):
        raise ValueError("no terminal here")

    def flush(self):
        self.flushes += 1


def test_progress_bar_closes_once_and_flushes_what_it_writes():
    stream = CountingStream()
    bar = ProgressBar(total=2, stream=stream, min_interval=0.0)
    bar.update()
    bar.close()
    bar.close()  # a second close writes nothing more
    assert "\r" not in stream.getvalue() and stream.getvalue().count("\n") == 1
    assert stream.flushes >= 1


def test_array_batches_defaults_small_settings_and_repr():
    x, y = np.arange(70.0), np.arange(70)  # 1-D features: one number per sample
    assert len(ArrayBatches(x[:65], y[:65])) == 3 and len(batch_iterator(x[:65], y[:65])) == 3  # 32 each
    assert len(ArrayBatches(x[:5], y[:5], batch_size=1)) == 5
    assert repr(ArrayBatches(x[:5], y[:5], batch_size=2)) == \
        "ArrayBatches(5 samples, batch_size=2, 3 batches, shuffle=False)"
    ours = [b.data.tolist() for _, b in batch_iterator(x, y, 10, shuffle=True, rng=3)]
    same = [b.data.tolist() for _, b in ArrayBatches(x, y, 10, shuffle=True, rng=3)]
    assert ours == same and ours != [list(range(i, i + 10)) for i in range(0, 70, 10)]


def test_trainer_refuses_bad_clipping_and_metrics_and_shows_the_epoch_length(capsys):
    trainer, train, _ = classification_run(0, scheduler=False)
    model, optimizer = trainer.model, trainer.optimizer
    with pytest.raises(ValueError):
        Trainer(model, CrossEntropyLoss(), optimizer, clip_grad_norm=-1.0)
    for metrics in ({"loss": accuracy}, {"samples": accuracy}, {"acc": 5}):
        with pytest.raises(ValueError):
            Trainer(model, CrossEntropyLoss(), optimizer, metrics=metrics)
    trainer.fit(train, epochs=1)
    assert f"batch {len(train)}/{len(train)}" in capsys.readouterr().out
