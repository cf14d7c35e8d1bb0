"""Milestone 04: a convolutional network finds digits wherever they are, then reads photographs.

    python milestones/04_cnn.py                      # shifted digits: the MLP, then the CNN (offline)
    python milestones/04_cnn.py --dataset digits     # the centred 8x8 digits: both, nearly perfect
    python milestones/04_cnn.py --dataset cifar10    # CIFAR-10, 32x32 colour (download it first)

Options: --epochs N, --batch-size N, --lr X, --mlp-epochs N, --seed N, --out FOLDER,
--checkpoint PATH (see --help).

An MLP sees an image as a row of unrelated numbers: the same "3" drawn two pixels further
right is, to it, a new pattern that it must learn again. A convolution slides one small
filter (3x3 here) over the whole image, so a stroke or an edge is recognised wherever it is,
with few weights; max pooling then keeps the strongest answer in each patch. The networks:
convolutions with ReLU and pooling (Module 09), Flatten, and a Linear layer to the 10 class
scores, trained with cross-entropy, Adam and a cosine learning-rate schedule (Modules 04-07)
on batches from the DataLoader (Module 08). Everything but the data comes from the tinytorch
you built.

The default, shifted digits (datasets/tiny/shifted_digits.npz): each 8x8 digit pasted at a
random place on an empty 16x16 canvas, as (N, 1, 16, 16). The run first trains Milestone 03's
MLP (the same layers and recipe, 256 pixels in) and then the CNN on the same images, and
prints both test accuracies and parameter counts. The CNN: three 3x3 convolutions (16, 32, 64
channels), each followed by max pooling and ReLU; the last pooling takes the maximum over
the whole 4x4 map, so it asks "is this feature anywhere?", not "where?"; then Linear(64, 10).
Measured on the development machine (2 cores of an x86-64 server shared with other jobs,
numpy with OpenBLAS, one BLAS thread), default seed: the MLP 63.7% (232/364) with 99,978
parameters, the CNN 90.7% (330/364) with 23,946 parameters, 4.2 times fewer; with seeds 1-7
the MLP 62.9-66.8%, the CNN 86.8-94.2%. The MLP learns its training images (about 97% of
them right in its last epoch) but not the digits at places it has not seen. The whole run
took 9.6 s of CPU time (5 to 6 s of it to train the CNN), and 24 s of wall-clock time while
other jobs kept both cores busy. Target: the CNN at least 85%, at least 15
points above the MLP, within 60 s on 2 cores.

The centred digits (--dataset digits): the images of datasets/tiny/digits_8x8.npz as
(N, 1, 8, 8). Every digit sits in the middle of its image, so the MLP does nearly as well
there: 98.6% (359/364), as in Milestone 03, against the CNN's 99.5% (362/364) with the
default seed (98.4-99.5% with seeds 1-7); about 6 s of CPU time in all, MLP included.
Target for the CNN: at least 98% within 60 s on 2 cores. The CNN: two 3x3 convolutions
(16, then 32 channels), one 2x2 max pooling, Dropout and Linear(512, 10).

Max pooling comes before ReLU in every network here, where most CNNs put ReLU first. The two
orders compute the same numbers: ReLU never changes which of two numbers is larger, so the
largest of the ReLUs is the ReLU of the largest, and the gradient goes to the same pixel
either way (training with either order gave the same weights, bit for bit). Pooling first
leaves ReLU a quarter of the numbers to touch, forward and backward: on CIFAR-10's images
that made a training step about 15% faster.

Both digit datasets hold the same 1797 digits in the same order, and both hold out the same
fixed, class-stratified 20% (364 images) as the test set, as in Milestone 03: never trained
on and never used to choose anything; 10% of the rest is the validation set shown in the
curves.

CIFAR-10: 50 000 training and 10 000 test colour images of 32x32 pixels in 10 classes
(airplane ... truck), loaded by milestones/downloads.py into datasets/cifar10/ (download
once, then cached). The test set is CIFAR-10's own; 10% of the training set is the
validation set. The images are normalised per channel with the training set's mean and
standard deviation, and every training batch is augmented: a random crop of the image padded
by 4 pixels, and a random horizontal flip. No MLP is trained on it. Expected, not measured
here (the development machine had no network, so the accuracy below is what this
architecture and recipe typically reach, and is the target): about 75% test accuracy after
the default 20 epochs (target: at least 70%). The time was measured by training this network
on random arrays of CIFAR-10's shape on the same machine (bench/run.py cifar_epoch, the
training steps of one epoch): about 60 s per epoch with one BLAS thread, 39 s with two
(`OPENBLAS_NUM_THREADS=2 python milestones/04_cnn.py --dataset cifar10`), so about 20 minutes
of training for the 20 epochs on one thread and 13 on two, plus the evaluations. If the data are missing and
cannot be downloaded, the script stops with a message that says where to put the files.

Checkpoint: as in Milestone 03, the trained CNN's state_dict() is saved with np.savez to
--checkpoint (default: 04_cnn_<dataset>.npz in --out, written atomically), reloaded with
np.load(..., allow_pickle=False) into a freshly built network, and evaluated again.

Output: one progress line per epoch, the MLP's line (digit datasets), e.g.
`test accuracy: 63.7% (232/364) on the held-out shifted digits, MLP`, the checkpoint line,
the comparison of the two networks, then the CNN's final line, e.g. `test accuracy: 90.7%
(330/364) on the held-out shifted digits`, and two figures in --out:
04_cnn_<dataset>_curves.png (loss and accuracy per epoch, training and validation, of the
MLP and the CNN) and 04_cnn_<dataset>_predictions.png (test images with their true and
predicted classes, from the CNN).
"""

from __future__ import annotations

# common first: it chooses the number of BLAS threads, which must happen before numpy loads.
from common import (DIGITS_TEST_FRACTION, DIGITS_VAL_FRACTION, SPLIT_SEED, Timer, add_checkpoint_option,
                    check_checkpoint, digits_split, load_downloaded, parse_args, plot_curves,
                    plot_image_predictions, predict, report, stratified_split)

import argparse
import importlib

from tinytorch import (Adam, Conv2d, CosineAnnealingLR, CrossEntropyLoss, Dropout, Flatten, Linear, MaxPool2d,
                       ReLU, Sequential, Tensor, Trainer, manual_seed, reuse_freed_memory)
from tinytorch.data.loader import (Compose, DataLoader, RandomCrop, RandomHorizontalFlip, TensorDataset,
                                   load_tiny)

CIFAR10_CLASSES = ("airplane", "automobile", "bird", "cat", "deer",
                   "dog", "frog", "horse", "ship", "truck")

# Per dataset: the defaults of the command-line options (for the CNN).
SETTINGS = {
    "shifted": {"epochs": 15, "batch_size": 32, "lr": 3e-3},
    "digits": {"epochs": 15, "batch_size": 32, "lr": 2e-3},
    "cifar10": {"epochs": 20, "batch_size": 64, "lr": 1e-3},
}
DIGIT_DATASETS = ("shifted", "digits")  # those on which the MLP of Milestone 03 trains too
TITLES = {"shifted": "the shifted digits", "digits": "the digits", "cifar10": "CIFAR-10"}


def digits_cnn() -> Sequential:
    """(N, 1, 8, 8) -> two 3x3 convolutions (16, then 32 channels), ReLU after the first
    -> 2x2 max pooling -> ReLU -> (N, 32, 4, 4) -> Flatten -> Dropout -> Linear -> (N, 10)."""
    return Sequential(
        Conv2d(1, 16, kernel_size=3, padding=1), ReLU(),
        Conv2d(16, 32, kernel_size=3, padding=1), MaxPool2d(2), ReLU(),
        Flatten(), Dropout(0.3), Linear(32 * 4 * 4, 10),
    )


def shifted_cnn() -> Sequential:
    """(N, 1, 16, 16) -> three blocks of 3x3 convolution, max pooling and ReLU (16, 32, 64
    channels): 2x2 pooling in the first two (16 -> 8 -> 4 pixels), a 4x4 pooling over the whole
    map in the last -> (N, 64, 1, 1) -> Flatten -> Dropout -> Linear -> (N, 10).

    After the last pooling, each of the 64 numbers says how strongly its feature appears
    anywhere in the image, not where: a digit moved by a few pixels gives nearly the same
    numbers."""
    return Sequential(
        Conv2d(1, 16, kernel_size=3, padding=1), MaxPool2d(2), ReLU(),
        Conv2d(16, 32, kernel_size=3, padding=1), MaxPool2d(2), ReLU(),
        Conv2d(32, 64, kernel_size=3, padding=1), MaxPool2d(4), ReLU(),
        Flatten(), Dropout(0.3), Linear(64, 10),
    )


def cifar10_cnn() -> Sequential:
    """(N, 3, 32, 32) -> three blocks of 3x3 convolution, 2x2 max pooling and ReLU
    (32, 64, 128 channels; 32 -> 16 -> 8 -> 4 pixels) -> (N, 128, 4, 4) -> Flatten
    -> Dropout -> Linear(2048, 256) -> ReLU -> Dropout -> Linear -> (N, 10)."""
    return Sequential(
        Conv2d(3, 32, kernel_size=3, padding=1), MaxPool2d(2), ReLU(),
        Conv2d(32, 64, kernel_size=3, padding=1), MaxPool2d(2), ReLU(),
        Conv2d(64, 128, kernel_size=3, padding=1), MaxPool2d(2), ReLU(),
        Flatten(), Dropout(0.3), Linear(128 * 4 * 4, 256), ReLU(), Dropout(0.3), Linear(256, 10),
    )


def shifted_split() -> dict:
    """The shifted digits, split like the centred ones (common.digits_split): the same seeds
    and the same labels in the same order give the same indices, so the test set holds the
    same 364 digits, each at its random place on the 16x16 canvas."""
    images, labels = load_tiny("shifted_digits")
    rest, test = stratified_split(labels, DIGITS_TEST_FRACTION, SPLIT_SEED)
    train, val = stratified_split(labels[rest], DIGITS_VAL_FRACTION, SPLIT_SEED + 1)
    train, val = rest[train], rest[val]
    return {"x_train": images[train], "y_train": labels[train], "x_val": images[val],
            "y_val": labels[val], "x_test": images[test], "y_test": labels[test]}


def load(dataset: str, download: bool = True) -> dict:
    """The images (N, C, H, W) of `dataset`, split into train / val / test, plus a description
    of the test set, the class names, the function that builds the CNN and the training-batch
    transform."""
    if dataset in DIGIT_DATASETS:
        data = shifted_split() if dataset == "shifted" else digits_split()
        for split in ("train", "val", "test"):
            data[f"x_{split}"] = data[f"x_{split}"][:, None]  # one channel: (N, 1, H, W)
        what = "the held-out shifted digits" if dataset == "shifted" else "the held-out digits"
        data.update(what=what, classes=None, transform=None,
                    build=shifted_cnn if dataset == "shifted" else digits_cnn)
        return data
    x_train, y_train, x_test, y_test = load_downloaded("cifar10", download)
    raw_test = x_test.copy()  # for the figure
    # Per-channel statistics of the training images: the test set must not shape training.
    mean = x_train.mean(axis=(0, 2, 3), keepdims=True)
    std = x_train.std(axis=(0, 2, 3), keepdims=True)
    for x in (x_train, x_test):  # in place: CIFAR-10's training images take 600 MB as float32
        x -= mean
        x /= std
    train, val = stratified_split(y_train, 0.1, SPLIT_SEED)
    return {"x_train": x_train[train], "y_train": y_train[train], "x_val": x_train[val],
            "y_val": y_train[val], "x_test": x_test, "y_test": y_test, "raw_test": raw_test,
            "what": "the CIFAR-10 test set", "classes": CIFAR10_CLASSES, "build": cifar10_cnn,
            "transform": Compose([RandomCrop(32, padding=4), RandomHorizontalFlip()])}


def non_negative(text: str) -> int:
    """argparse type: an integer >= 0."""
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, not {value}")
    return value


def parameter_count(model) -> int:
    return sum(p.size for p in model.parameters())


def train_mlp(data: dict, epochs: int, seed: int) -> dict:
    """Milestone 03's MLP, trained with Milestone 03's recipe on the images of `data` as rows of
    pixels; its test accuracy line is printed. Returns its history, accuracy, parameter count
    and training time."""
    milestone_03 = importlib.import_module("03_mlp")  # milestones/03_mlp.py: its layers and recipe
    recipe = milestone_03.SETTINGS["digits"]
    rows = {split: data[f"x_{split}"].reshape(len(data[f"x_{split}"]), -1)  # images -> rows of pixels
            for split in ("train", "val", "test")}
    model = milestone_03.mlp(rows["train"].shape[1], recipe["hidden"])
    count = parameter_count(model)
    print(f"MLP of Milestone 03: {rows['train'].shape[1]} pixels in a row -> "
          f"{' -> '.join(str(size) for size in recipe['hidden'])} -> 10 ({count:,} parameters)")
    trainer = Trainer(model, CrossEntropyLoss(), Adam(model.parameters(), lr=recipe["lr"]))
    train_batches = DataLoader(TensorDataset(Tensor(rows["train"]), Tensor(data["y_train"])),
                               batch_size=recipe["batch_size"], shuffle=True, seed=seed)
    val_batches = DataLoader(TensorDataset(Tensor(rows["val"]), Tensor(data["y_val"])), batch_size=1000)
    with Timer() as timer:
        history = trainer.fit(train_batches, epochs=epochs, val_batches=val_batches)
    print(f"trained the MLP {epochs} epochs in {timer.seconds:.1f} s")
    predicted = predict(model, rows["test"]).argmax(axis=1)
    accuracy = report(predicted, data["y_test"], f"{data['what']}, MLP")
    return {"history": history, "accuracy": accuracy, "parameters": count, "seconds": timer.seconds}


def compare(mlp: dict, cnn: dict) -> None:
    """Print the two networks side by side, with the differences computed from the numbers.

    The accuracy on the training images is the one measured during the last epoch (with
    dropout on): far above the test accuracy, it means that the network learned the training
    images themselves more than what makes a digit."""
    for name, result in (("MLP", mlp), ("CNN", cnn)):
        print(f"{name}: {100 * result['accuracy']:.1f}% of the test images "
              f"({100 * result['history']['train_accuracy'][-1]:.1f}% of the training images in "
              f"its last epoch) with {result['parameters']:,} parameters, "
              f"{result['seconds']:.1f} s of training")
    points = 100 * (cnn["accuracy"] - mlp["accuracy"])
    ratio = mlp["parameters"] / cnn["parameters"]
    fewer = f"{ratio:.1f} times fewer" if ratio >= 1 else f"{1 / ratio:.1f} times more"
    print(f"the CNN scores {abs(points):.1f} points {'higher' if points >= 0 else 'lower'} "
          f"than the MLP, with {fewer} parameters")


def main(argv=None) -> None:
    def options(parser):
        parser.add_argument("--dataset", choices=sorted(SETTINGS), default="shifted",
                            help="shifted: the bundled digits at random places on 16x16 (default); "
                                 "digits: the bundled 8x8 digits, centred; cifar10: CIFAR-10")
        parser.add_argument("--epochs", type=int, help="passes of the CNN over the training set "
                            "(default: 15 for shifted and digits, 20 for cifar10)")
        parser.add_argument("--batch-size", type=int, help="default: 32 for shifted and digits, "
                            "64 for cifar10")
        parser.add_argument("--lr", type=float, help="Adam's initial learning rate for the CNN "
                            "(default: 0.003 for shifted, 0.002 for digits, 0.001 for cifar10)")
        parser.add_argument("--mlp-epochs", type=non_negative, default=30,
                            help="shifted and digits: epochs of Milestone 03's MLP, trained first "
                                 "for comparison (default: 30, as in Milestone 03; 0 skips it)")
        parser.add_argument("--no-download", action="store_true",
                            help="cifar10: use only the files already in datasets/cifar10/, "
                                 "never the network")
        add_checkpoint_option(parser, "04_cnn")

    args = parse_args(__doc__, argv, options)
    reuse_freed_memory()  # every step makes arrays of the same shapes again (Module 01, Systems)
    settings = SETTINGS[args.dataset]
    epochs = args.epochs if args.epochs is not None else settings["epochs"]
    batch_size = args.batch_size if args.batch_size is not None else settings["batch_size"]
    lr = args.lr if args.lr is not None else settings["lr"]

    data = load(args.dataset, download=not args.no_download)
    print(f"{args.dataset}: {len(data['x_train'])} training, {len(data['x_val'])} validation and "
          f"{len(data['x_test'])} test images of shape {data['x_test'].shape[1:]}")
    mlp = None
    if args.dataset in DIGIT_DATASETS and args.mlp_epochs > 0:
        mlp = train_mlp(data, args.mlp_epochs, args.seed)
        manual_seed(args.seed)  # the CNN starts from the same random state with or without the MLP

    model = data["build"]()
    print(f"CNN: {model!r}")
    print(f"parameters: {parameter_count(model):,}")
    optimizer = Adam(model.parameters(), lr=lr)
    # The learning rate falls along half a cosine, to almost 0 in the last epoch: big steps
    # first, then small ones that settle into a minimum.
    trainer = Trainer(model, CrossEntropyLoss(), optimizer,
                      scheduler=CosineAnnealingLR(optimizer, T_max=epochs))
    train_batches = DataLoader(TensorDataset(Tensor(data["x_train"]), Tensor(data["y_train"])),
                               batch_size=batch_size, shuffle=True, seed=args.seed,
                               transform=data["transform"])
    val_batches = DataLoader(TensorDataset(Tensor(data["x_val"]), Tensor(data["y_val"])), batch_size=500)
    with Timer() as timer:
        history = trainer.fit(train_batches, epochs=epochs, val_batches=val_batches)
    print(f"trained {epochs} epochs in {timer.seconds:.1f} s")

    predicted = predict(model, data["x_test"], batch_size=500).argmax(axis=1)
    name = f"04_cnn_{args.dataset}"
    curves = history if mlp is None else {"MLP": mlp["history"], "CNN": history}
    title = (f"Milestone 04: a CNN on {TITLES[args.dataset]}" if mlp is None else
             f"Milestone 04: Milestone 03's MLP and a CNN on {TITLES[args.dataset]}")
    plot_curves(curves, args.out / f"{name}_curves.png", title)
    plot_image_predictions(data.get("raw_test", data["x_test"]), data["y_test"], predicted,
                           args.out / f"{name}_predictions.png", f"Milestone 04: the CNN on {data['what']}",
                           class_names=data["classes"])
    check_checkpoint(model, data["build"], args.checkpoint or args.out / f"{name}.npz", data["x_test"],
                     data["y_test"], predicted, batch_size=500)
    if mlp is not None:
        correct = int((predicted == data["y_test"]).sum())
        compare(mlp, {"history": history, "accuracy": correct / len(predicted),
                      "parameters": parameter_count(model), "seconds": timer.seconds})
    report(predicted, data["y_test"], data["what"])


if __name__ == "__main__":
    main()
