"""Row: training Milestone 04's CIFAR-10 network on random images of CIFAR-10's shape.

The network of milestones/04_cnn.py (cifar10_cnn: three blocks of 3x3 convolution, 2x2 max
pooling and ReLU with 32, 64 and 128 channels, then Flatten, Dropout, Linear(2048, 256), ReLU,
Dropout, Linear(256, 10)), trained with cross-entropy and Adam (lr 1e-3), batch 64, every
batch augmented as the milestone does it (a random crop of the image padded by 4 pixels, a
random horizontal flip). The images are random normal numbers of CIFAR-10's shape
(3, 32, 32), so the row needs no download: the time of a step does not depend on what the
pixels show.

A measurement trains on STEPS batches (one pass of the DataLoader over STEPS * 64 images); the
table shows the time of one epoch of the milestone, 45 000 training images (CIFAR-10's 50 000
less the 10% validation set), that is the measured time times EPOCH_IMAGES / (STEPS * 64).
tinytorch uses the milestone's own pieces (DataLoader, Compose, RandomCrop,
RandomHorizontalFlip, Adam); PyTorch gets the same network and the same augmentation written
with torch operations on the whole batch, and its batches are sliced from a shuffled index
(no per-sample collation), so that it is measured at its best.
"""

from __future__ import annotations

import numpy as np

NAME = "CIFAR-10 CNN of Milestone 04, batch 64 (per epoch)"
TARGET = 2.0  # tinytorch's time <= 2x PyTorch's (issue 17)
RESULT = "loss of the last batch"
BATCH, STEPS, EPOCH_IMAGES, LR = 64, 4, 45_000, 1e-3
SCALE = EPOCH_IMAGES / (STEPS * BATCH)  # run.py multiplies the measured times by this


def data():
    """STEPS batches of random CIFAR-shaped images and labels, the same for every implementation."""
    rng = np.random.default_rng(0)
    images = rng.standard_normal((STEPS * BATCH, 3, 32, 32), dtype=np.float32)
    labels = rng.integers(0, 10, STEPS * BATCH)
    return images, labels


def tinytorch_model():
    """milestones/04_cnn.py's cifar10_cnn(), written out: importing the milestone would set its
    thread defaults in the measuring process (tests/test_bench.py checks that the two agree)."""
    from tinytorch import Conv2d, Dropout, Flatten, Linear, MaxPool2d, ReLU, Sequential

    return Sequential(
        Conv2d(3, 32, kernel_size=3, padding=1), MaxPool2d(2), ReLU(),
        Conv2d(32, 64, kernel_size=3, padding=1), MaxPool2d(2), ReLU(),
        Conv2d(64, 128, kernel_size=3, padding=1), MaxPool2d(2), ReLU(),
        Flatten(), Dropout(0.3), Linear(128 * 4 * 4, 256), ReLU(), Dropout(0.3), Linear(256, 10),
    )


def tinytorch_version():
    from tinytorch import Adam, CrossEntropyLoss, Tensor, manual_seed
    from tinytorch.data.loader import (Compose, DataLoader, RandomCrop, RandomHorizontalFlip,
                                       TensorDataset)

    manual_seed(0)
    model = tinytorch_model()
    model.train()
    loss_fn, optimizer = CrossEntropyLoss(), Adam(model.parameters(), lr=LR)
    images, labels = data()
    batches = DataLoader(TensorDataset(Tensor(images), Tensor(labels)), batch_size=BATCH,
                         shuffle=True, seed=0,
                         transform=Compose([RandomCrop(32, padding=4), RandomHorizontalFlip()]))

    def epoch() -> float:
        for x, y in batches:
            loss = loss_fn(model(x), y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        return loss.item()

    return epoch


def torch_model(torch):
    """The same network in PyTorch, layer for layer."""
    nn = torch.nn
    return nn.Sequential(
        nn.Conv2d(3, 32, 3, padding=1), nn.MaxPool2d(2), nn.ReLU(),
        nn.Conv2d(32, 64, 3, padding=1), nn.MaxPool2d(2), nn.ReLU(),
        nn.Conv2d(64, 128, 3, padding=1), nn.MaxPool2d(2), nn.ReLU(),
        nn.Flatten(), nn.Dropout(0.3), nn.Linear(128 * 4 * 4, 256), nn.ReLU(), nn.Dropout(0.3),
        nn.Linear(256, 10),
    )


def torch_version(torch):
    nn = torch.nn
    torch.manual_seed(0)
    model = torch_model(torch)
    model.train()
    loss_fn, optimizer = nn.CrossEntropyLoss(), torch.optim.Adam(model.parameters(), lr=LR)
    images, labels = (torch.from_numpy(a) for a in data())
    offsets = torch.arange(32)

    def augment(x):
        """A random 32x32 window of each image padded by 4, then a random horizontal flip."""
        n, c = x.shape[:2]
        padded = torch.nn.functional.pad(x, (4, 4, 4, 4))
        rows = (torch.randint(0, 9, (n, 1)) + offsets)[:, None, :, None]
        cols = (torch.randint(0, 9, (n, 1)) + offsets)[:, None, None, :]
        out = padded[torch.arange(n)[:, None, None, None], torch.arange(c)[None, :, None, None],
                     rows, cols]
        flip = torch.rand(n) < 0.5
        return torch.where(flip[:, None, None, None], out.flip(-1), out)

    def epoch() -> float:
        order = torch.randperm(len(images))
        for start in range(0, len(images), BATCH):
            index = order[start:start + BATCH]
            loss = loss_fn(model(augment(images[index])), labels[index])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        return loss.item()

    return epoch
