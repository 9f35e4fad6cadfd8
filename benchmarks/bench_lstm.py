"""LSTM trainer and simulator speed (issue 14).

* Trainer: seconds per epoch of the NumPy LSTM (H = 128, 28 steps of 28 pixels, batch 128) on a
  fixed 5,000-image subset of Fashion-MNIST, scaled to the 60,000-image epoch; PyTorch CPU's
  nn.LSTM + Linear on the same shapes and batches (same thread count) when torch is installed,
  else the baselines measurable here: the NumPy forward pass alone and a LeNet-300-100 epoch.
* Simulator: ``simulate`` time per step of the shipped models/lstm-fashion.npz on 64 PEs.

    OPENBLAS_NUM_THREADS=1 .venv/bin/python benchmarks/bench_lstm.py
"""

import time
from pathlib import Path

import numpy as np

from eie_sim import ArchConfig
from eie_sim.contract.model import load_model
from eie_sim.cycle.simulator import simulate
from eie_sim.train import compress as dc
from eie_sim.train.data import load_dataset
from eie_sim.train.lstm import lstm_classifier
from eie_sim.train.nn import lenet300, softmax_cross_entropy

N = 5000
data = load_dataset("fashion-mnist")
x, y = data.x_train[:N], data.y_train[:N]
scale = 60000 / N


def epoch_seconds(net):
    opt = dc.SGD(0.1)
    t = time.perf_counter()
    for i in range(0, N, 128):
        logits = net.forward(x[i : i + 128], train=True)
        _, g = softmax_cross_entropy(logits, y[i : i + 128])
        net.backward(g)
        opt.step(net.params())
    return (time.perf_counter() - t) * scale


net = lstm_classifier(np.random.default_rng(0), 28, 28, 128, 10)
epoch_seconds(net)  # warm-up
numpy_epoch = min(epoch_seconds(net) for _ in range(2))
print(f"numpy LSTM trainer: {numpy_epoch:.1f} s per 60,000-image epoch (H=128, T=28, batch 128; measured on {N})")
t = time.perf_counter()
for i in range(0, N, 128):
    net.forward(x[i : i + 128], train=False)
fwd = (time.perf_counter() - t) * scale
try:
    import torch
except ImportError:
    torch = None
if torch is None:
    print(f"torch is not installed: no PyTorch comparison. Baselines: the NumPy forward pass alone {fwd:.1f} s "
          f"per epoch (training = {numpy_epoch / fwd:.1f}x forward)", end="")
    lenet = epoch_seconds(lenet300(np.random.default_rng(0)))
    print(f"; LeNet-300-100 epoch {lenet:.1f} s (LSTM = {numpy_epoch / lenet:.1f}x)")
else:
    torch.manual_seed(0)
    lstm, fc = torch.nn.LSTM(28, 128, batch_first=True), torch.nn.Linear(128, 10)
    opt = torch.optim.SGD(list(lstm.parameters()) + list(fc.parameters()), lr=0.1, momentum=0.9)
    xt, yt = torch.from_numpy(x.reshape(N, 28, 28)), torch.from_numpy(y)

    def torch_epoch():
        t = time.perf_counter()
        for i in range(0, N, 128):
            out, _ = lstm(xt[i : i + 128])
            loss = torch.nn.functional.cross_entropy(fc(out[:, -1]), yt[i : i + 128])
            opt.zero_grad()
            loss.backward()
            opt.step()
        return (time.perf_counter() - t) * scale

    torch_epoch()
    te = min(torch_epoch() for _ in range(2))
    print(f"PyTorch {torch.__version__} CPU nn.LSTM ({torch.get_num_threads()} threads): {te:.1f} s per epoch; "
          f"NumPy / PyTorch = {numpy_epoch / te:.2f}x")
model_path = Path(__file__).resolve().parents[1] / "models/lstm-fashion.npz"
if model_path.is_file():
    m = load_model(model_path)
    seq = data.x_test[0].reshape(28, 28)
    simulate(m, seq, ArchConfig(n_pe=64))
    t = time.perf_counter()
    r = simulate(m, seq, ArchConfig(n_pe=64))
    dt = time.perf_counter() - t
    print(f"simulate(models/lstm-fashion.npz, one 28-step sequence, 64 PEs): {1e3 * dt / 28:.1f} ms per step "
          f"({1e3 * dt:.0f} ms per sequence, {r.cycles:,} cycles simulated)")
