"""Milestone 01: a perceptron separates two classes of points with a straight line.

    python milestones/01_perceptron.py [--seed 0] [--epochs 20] [--out FOLDER]

A perceptron is one neuron: a weighted sum of the inputs plus a bias, w . x + b, and the
decision "class 1 if it is positive". Rosenblatt (1958) trained it with a hand-made update
rule; here it is trained the way every later model in the course is: the weighted sum goes
through a Sigmoid, which turns it into a probability, binary cross-entropy measures how wrong
the probabilities are, autograd computes the gradients, and SGD follows them. The layer,
activation, loss, optimizer and training loop all come from the tinytorch you built
(Modules 01-07).

The data: points in the plane labelled by which side of a hidden line they fall on, with a
gap around the line, so a perfect straight boundary exists (the data are linearly
separable). The model trains on 400 points and is scored on 200 others it never saw.
Target: at least 95% test accuracy. Training takes a fraction of a second.

Output: one progress line per epoch, the learned line, the final line
`test accuracy: ...% (correct/total) on the held-out points`, and two figures in --out:
01_perceptron_curves.png (loss and accuracy per epoch) and 01_perceptron_predictions.png
(the learned boundary over the test points, mistakes circled).
"""

from __future__ import annotations

# common first: it chooses the number of BLAS threads, which must happen before numpy loads.
from common import (Timer, parse_args, plot_curves, plot_decision_regions, predict, report,
                    save_figure)

import matplotlib.pyplot as plt
import numpy as np

from tinytorch import ArrayBatches, BinaryCrossEntropyLoss, Linear, SGD, Sequential, Sigmoid, Trainer

TRUE_WEIGHTS = np.array([1.5, -1.0])  # the hidden line: 1.5 x1 - x2 + 0.5 = 0
TRUE_BIAS = 0.5
GAP = 0.3  # no point lies closer than this to the hidden line


def separable_points(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """n points (float32, (n, 2)) drawn around the origin, labelled 1 on the positive side of
    the hidden line, 0 on the other side (float32, (n, 1)); points within GAP of it redrawn."""
    kept = np.empty((0, 2))
    while len(kept) < n:  # each round keeps most of its draws; two rounds are typical
        x = rng.normal(scale=1.5, size=(2 * n, 2))
        distance = (x @ TRUE_WEIGHTS + TRUE_BIAS) / np.linalg.norm(TRUE_WEIGHTS)
        kept = np.concatenate([kept, x[np.abs(distance) > GAP]])
    x = kept[:n]
    y = (x @ TRUE_WEIGHTS + TRUE_BIAS > 0).astype(np.float32).reshape(-1, 1)
    return x.astype(np.float32), y


def main(argv=None) -> None:
    args = parse_args(__doc__, argv, lambda p: p.add_argument(
        "--epochs", type=int, default=20, help="passes over the training points (default: 20)"))
    rng = np.random.default_rng(args.seed)
    x_train, y_train = separable_points(400, rng)
    x_test, y_test = separable_points(200, rng)
    print(f"data: {len(x_train)} training and {len(x_test)} test points in 2-D, two classes, "
          f"separable by a straight line")

    model = Sequential(Linear(2, 1), Sigmoid())  # one neuron: sigmoid(x @ w + b)
    trainer = Trainer(model, BinaryCrossEntropyLoss(), SGD(model.parameters(), lr=0.5))
    batches = ArrayBatches(x_train, y_train, batch_size=32, shuffle=True, rng=args.seed)
    with Timer() as timer:
        history = trainer.fit(batches, epochs=args.epochs)
    print(f"trained in {timer.seconds:.2f} s")

    w, b = model[0].weight.data[:, 0], model[0].bias.data[0]
    print(f"learned line: {w[0]:.2f} x1 {w[1]:+.2f} x2 {b:+.2f} = 0; the hidden one: "
          f"{TRUE_WEIGHTS[0]:.2f} x1 {TRUE_WEIGHTS[1]:+.2f} x2 {TRUE_BIAS:+.2f} = 0 (the same line "
          "if the numbers are proportional)")

    plot_curves(history, args.out / "01_perceptron_curves.png", "Milestone 01: perceptron training")
    figure, axes = plt.subplots(figsize=(5.5, 5))
    plot_decision_regions(model, x_test, y_test[:, 0], axes,
                          "Milestone 01: the learned line over the test points")
    save_figure(figure, args.out / "01_perceptron_predictions.png")

    predicted = (predict(model, x_test)[:, 0] > 0.5).astype(np.float32)
    report(predicted, y_test[:, 0], "the held-out points")


if __name__ == "__main__":
    main()
