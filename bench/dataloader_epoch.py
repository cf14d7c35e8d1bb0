"""Row: one shuffled epoch over the 1797 bundled 8x8 digits, batch 32, doing nothing else.

tinytorch's DataLoader over a TensorDataset against torch.utils.data.DataLoader over a torch
TensorDataset. Each returns the number of samples it delivered.
"""

from __future__ import annotations

NAME = "DataLoader epoch: digits, batch 32, shuffled"
TARGET = 0.1  # tinytorch's time <= 0.1x PyTorch's (issue 4)
RESULT = "samples delivered"
BATCH = 32


def tinytorch_version():
    from tinytorch import Tensor
    from tinytorch.data.loader import DataLoader, TensorDataset, load_tiny

    images, labels = load_tiny("digits_8x8")
    loader = DataLoader(TensorDataset(Tensor(images), Tensor(labels)), batch_size=BATCH,
                        shuffle=True, seed=0)
    return lambda: sum(len(y) for _, y in loader)


def torch_version(torch):
    from torch.utils.data import DataLoader, TensorDataset

    from tinytorch.data.loader import load_tiny

    images, labels = load_tiny("digits_8x8")
    dataset = TensorDataset(torch.from_numpy(images), torch.from_numpy(labels))
    loader = DataLoader(dataset, batch_size=BATCH, shuffle=True,
                        generator=torch.Generator().manual_seed(0))
    return lambda: sum(len(y) for _, y in loader)
