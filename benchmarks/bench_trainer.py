"""Training speed of the NumPy trainer: seconds per epoch of LeNet-300-100 and LeNet-5 on
Fashion-MNIST (60,000 images, batch 128), and the same models in PyTorch on the CPU when torch is
installed (ratio = eie-sim / PyTorch; targets <= 1.5 for LeNet-300-100 and <= 3 for LeNet-5).

Usage: python benchmarks/bench_trainer.py [--images 60000] [--epochs 1]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from eie_sim.train.compress import TrainSettings, train
from eie_sim.train.data import Dataset, load_dataset
from eie_sim.train.nn import build


def numpy_epoch(arch, data, epochs):
    net = build(arch, np.random.default_rng(0), data.n_features, 10, data.side)
    t0 = time.perf_counter()
    train(net, data, TrainSettings(epochs=epochs, lr=0.05 if arch == "lenet300" else 0.02, batch_size=128), seed=0)
    return (time.perf_counter() - t0) / epochs


def torch_epoch(arch, data, epochs):
    try:
        import torch
        from torch import nn
    except ImportError:
        return None
    torch.manual_seed(0)
    if arch == "lenet300":
        model = nn.Sequential(nn.Linear(784, 300), nn.ReLU(), nn.Linear(300, 100), nn.ReLU(), nn.Linear(100, 10))
        shape = (-1, 784)
    else:
        model = nn.Sequential(nn.Conv2d(1, 20, 5), nn.MaxPool2d(2), nn.Conv2d(20, 50, 5), nn.MaxPool2d(2), nn.Flatten(),
                              nn.Linear(800, 500), nn.ReLU(), nn.Linear(500, 10))
        shape = (-1, 1, 28, 28)
    opt = torch.optim.SGD(model.parameters(), lr=0.05 if arch == "lenet300" else 0.02, momentum=0.9, weight_decay=5e-4)
    x = torch.from_numpy(data.x_train).reshape(shape)
    y = torch.from_numpy(data.y_train)
    loss_fn = nn.CrossEntropyLoss()
    g = torch.Generator().manual_seed(0)
    t0 = time.perf_counter()
    for _ in range(epochs):
        perm = torch.randperm(len(y), generator=g)
        for i in range(0, len(y), 128):
            idx = perm[i : i + 128]
            opt.zero_grad()
            loss = loss_fn(model(x[idx]), y[idx])
            loss.backward()
            opt.step()
        model.eval()
        with torch.no_grad():
            model(torch.from_numpy(data.x_test).reshape(shape)).argmax(1)
        model.train()
    return (time.perf_counter() - t0) / epochs


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--images", type=int, default=60000)
    ap.add_argument("--epochs", type=int, default=1)
    args = ap.parse_args()
    d = load_dataset("fashion-mnist")
    data = Dataset(d.name, d.x_train[: args.images], d.y_train[: args.images], d.x_test, d.y_test, 28, 10, d.note)
    try:
        import torch

        tv = f"torch {torch.__version__}, {torch.get_num_threads()} threads"
    except ImportError:
        tv = "torch not installed: no baseline"
    print(f"seconds per epoch on Fashion-MNIST ({len(data.y_train)} train images, batch 128, test pass included); {tv}")
    for arch, target in (("lenet300", 1.5), ("lenet5", 3.0)):
        t_np = numpy_epoch(arch, data, args.epochs)
        t_pt = torch_epoch(arch, data, args.epochs)
        if t_pt is None:
            print(f"{arch:<9} eie-sim {t_np:7.2f} s/epoch")
        else:
            print(f"{arch:<9} eie-sim {t_np:7.2f} s/epoch   PyTorch CPU {t_pt:7.2f} s/epoch   ratio {t_np / t_pt:5.2f} (target <= {target})")


if __name__ == "__main__":
    main()
