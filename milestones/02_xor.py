"""Milestone 02: XOR, the problem one layer cannot solve and two layers can.

    python milestones/02_xor.py [--seed 0] [--epochs 60] [--out FOLDER]

XOR labels a point 1 when exactly one of its two coordinates is "on": the points near
(-1, 1) and (1, -1) are class 1, those near (-1, -1) and (1, 1) class 0. No straight line
puts both class-1 corners on one side and both class-0 corners on the other, so a single
layer (one neuron, a straight boundary, Milestone 01's model) classifies at best three
corners of four. Minsky and Papert's book "Perceptrons" (1969) made this limit famous. A
hidden layer fixes it: the hidden units bend the space so that the output unit can draw its
straight line there, and the boundary seen in the plane becomes curved.

This script trains both models on the same 200 noisy points around the four corners, with
the same loss (binary cross-entropy) and optimizer (Adam), and scores both on 200 other
points. Expected: the single layer stays far below 100% (no straight line gets more than
three corners of four right, 75%; the one trained here ends near 50%, because with the four
corners pulling equally the best cross-entropy a line can reach is a flat 0.5 everywhere);
two layers reach 100%. It takes a couple of seconds.

Output: the progress of both trainings, one accuracy line for each model, the two-layer one
last (`test accuracy: 100.0% (200/200) on the held-out XOR points, two layers`), and two
figures in --out: 02_xor_curves.png (both models' loss and accuracy per epoch) and
02_xor_predictions.png (each model's boundary over the test points, mistakes circled).
"""

from __future__ import annotations

# common first: it chooses the number of BLAS threads, which must happen before numpy loads.
from common import (Timer, parse_args, plot_curves, plot_decision_regions, predict, report,
                    save_figure)

import matplotlib.pyplot as plt
import numpy as np

from tinytorch import Adam, ArrayBatches, BinaryCrossEntropyLoss, Linear, Sequential, Sigmoid, Tanh, Trainer

CORNERS = np.array([[-1.0, -1.0], [-1.0, 1.0], [1.0, -1.0], [1.0, 1.0]])
CORNER_LABELS = np.array([0, 1, 1, 0])  # 1 where exactly one coordinate is positive
NOISE = 0.25  # standard deviation of the points around their corner


def xor_points(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """n points (float32, (n, 2)), n/4 around each corner, with their XOR labels (float32, (n, 1))."""
    corner = np.arange(n) % 4
    x = CORNERS[corner] + rng.normal(scale=NOISE, size=(n, 2))
    return x.astype(np.float32), CORNER_LABELS[corner].astype(np.float32).reshape(-1, 1)


def train(model, x: np.ndarray, y: np.ndarray, epochs: int, seed: int, name: str):
    """Fit `model` with binary cross-entropy and Adam; return the Trainer's history."""
    layers = " -> ".join(repr(layer).split("(")[0] + (f"({layer.in_features}, {layer.out_features})"
                         if isinstance(layer, Linear) else "") for layer in model)
    print(f"training {name}: {layers}")
    trainer = Trainer(model, BinaryCrossEntropyLoss(), Adam(model.parameters(), lr=0.05))
    batches = ArrayBatches(x, y, batch_size=20, shuffle=True, rng=seed)
    return trainer.fit(batches, epochs=epochs)


def main(argv=None) -> None:
    args = parse_args(__doc__, argv, lambda p: p.add_argument(
        "--epochs", type=int, default=60, help="passes over the training points (default: 60)"))
    rng = np.random.default_rng(args.seed)
    x_train, y_train = xor_points(200, rng)
    x_test, y_test = xor_points(200, rng)

    one_layer = Sequential(Linear(2, 1), Sigmoid())
    two_layers = Sequential(Linear(2, 8), Tanh(), Linear(8, 1), Sigmoid())
    with Timer() as timer:
        histories = {"one layer": train(one_layer, x_train, y_train, args.epochs, args.seed, "one layer"),
                     "two layers": train(two_layers, x_train, y_train, args.epochs, args.seed, "two layers")}
    print(f"trained both in {timer.seconds:.2f} s")

    plot_curves(histories, args.out / "02_xor_curves.png", "Milestone 02: XOR, one layer against two")
    figure, axes = plt.subplots(1, 2, figsize=(10, 5))
    for model, panel, name in ((one_layer, axes[0], "one layer"), (two_layers, axes[1], "two layers")):
        plot_decision_regions(model, x_test, y_test[:, 0], panel, f"{name}: boundary over the test points")
    save_figure(figure, args.out / "02_xor_predictions.png")

    print("a single layer draws one straight line, which cannot separate XOR; a hidden layer can:")
    for model, name in ((one_layer, "one layer"), (two_layers, "two layers")):
        predicted = (predict(model, x_test)[:, 0] > 0.5).astype(np.float32)
        report(predicted, y_test[:, 0], f"the held-out XOR points, {name}")


if __name__ == "__main__":
    main()
