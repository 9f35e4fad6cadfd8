"""Small neural networks in NumPy: layers (the LSTM too), loss, SGD with momentum, and the builders.

Everything is float32 and seeded. Weights of Dense layers are stored outputs x inputs, the
layout of the EIE format. Each weight tensor may carry a ``mask``; masked weights and their
gradients (and momentum) are held at exactly zero (Han et al., NIPS 2015).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..errors import ConfigError, describe

__all__ = [
    "Param",
    "Dense",
    "Conv2D",
    "MaxPool2D",
    "ReLU",
    "Dropout",
    "Flatten",
    "LSTM",
    "sigmoid",
    "Network",
    "SGD",
    "softmax_cross_entropy",
    "lenet300",
    "lenet5",
    "mlp",
    "lstm_classifier",
    "lstm_hidden",
    "build",
    "ARCHITECTURES",
]


@dataclass(eq=False)
class Param:
    """A trainable tensor with its gradient, momentum buffer and optional pruning mask.

    ``codes``/``codebook`` are set once the weights are shared (Deep Compression, section 3):
    then ``value`` is always ``codebook[codes]`` and training updates the codebook.
    """

    value: np.ndarray
    grad: np.ndarray | None = None
    mask: np.ndarray | None = None
    momentum: np.ndarray | None = None
    decay: bool = True  # weight decay applies (weights yes, biases no)
    codes: np.ndarray | None = None
    codebook: np.ndarray | None = None
    codebook_momentum: np.ndarray | None = None

    def apply_mask(self) -> None:
        if self.mask is not None:
            self.value *= self.mask
            if self.grad is not None:
                self.grad *= self.mask
            if self.momentum is not None:
                self.momentum *= self.mask


class Layer:
    """A trainer layer. What it exports as is declared here: ``reads_sequence`` -- it reads
    (batch, T, X) sequences and exports as a sequence layer (:func:`eie_sim.train.lstm.export_lstm_model`),
    not as fully connected ones; ``gate_units`` -- H of a stacked 4H-row gate matrix (rows
    k*H + u go to PEs by unit u in load-balanced pruning), None for a plain matrix."""

    params: dict
    reads_sequence = False
    gate_units = None

    def forward(self, x: np.ndarray, train: bool) -> np.ndarray:  # pragma: no cover - interface
        raise NotImplementedError

    def backward(self, grad: np.ndarray) -> np.ndarray:  # pragma: no cover - interface
        raise NotImplementedError


class Dense(Layer):
    """y = x W^T + b, W of shape (outputs, inputs); He-initialised from ``rng``."""

    def __init__(self, n_in: int, n_out: int, rng: np.random.Generator, name: str = "fc"):
        self.name = name
        w = rng.normal(0.0, math.sqrt(2.0 / n_in), (n_out, n_in)).astype(np.float32)
        self.params = {"W": Param(w), "b": Param(np.zeros(n_out, np.float32), decay=False)}
        self.need_dx = True

    def forward(self, x, train):
        self.x = x
        return x @ self.params["W"].value.T + self.params["b"].value

    def backward(self, grad):
        self.params["W"].grad = grad.T @ self.x
        self.params["b"].grad = grad.sum(axis=0)
        return grad @ self.params["W"].value if self.need_dx else None


def _im2col(x: np.ndarray, k: int) -> np.ndarray:
    """(C*k*k, B*OH*OW) columns of the k x k windows of x (B, C, H, W): k*k block copies."""
    B, C, H, W = x.shape
    oh, ow = H - k + 1, W - k + 1
    xt = x.transpose(1, 0, 2, 3)
    cols = np.empty((C, k, k, B, oh, ow), dtype=x.dtype)
    for i in range(k):
        for j in range(k):
            cols[:, i, j] = xt[:, :, i : i + oh, j : j + ow]
    return cols.reshape(C * k * k, B * oh * ow)


class Conv2D(Layer):
    """Valid convolution, stride 1, by im2col; W of shape (out_ch, in_ch, k, k)."""

    stride, padding = (1, 1), (0, 0, 0, 0)  # the conv kind's fields (train.nn_conv has the general layer)

    def __init__(self, in_ch: int, out_ch: int, k: int, rng: np.random.Generator, name: str = "conv"):
        self.name = name
        self.k = k
        fan_in = in_ch * k * k
        w = rng.normal(0.0, math.sqrt(2.0 / fan_in), (out_ch, in_ch, k, k)).astype(np.float32)
        self.params = {"W": Param(w), "b": Param(np.zeros(out_ch, np.float32), decay=False)}
        self.need_dx = True

    def forward(self, x, train):
        B, C, H, W = x.shape
        k = self.k
        self.shape = x.shape
        self.cols = _im2col(x, k)
        wv = self.params["W"].value
        out = wv.reshape(wv.shape[0], -1) @ self.cols + self.params["b"].value[:, None]
        return np.ascontiguousarray(out.reshape(wv.shape[0], B, H - k + 1, W - k + 1).transpose(1, 0, 2, 3))

    def backward(self, grad):
        B, C, H, W = self.shape
        k = self.k
        O = grad.shape[1]
        g = np.ascontiguousarray(grad.transpose(1, 0, 2, 3)).reshape(O, -1)
        wv = self.params["W"].value
        self.params["W"].grad = (g @ self.cols.T).reshape(wv.shape)
        self.params["b"].grad = g.sum(axis=1)
        if not self.need_dx:
            return None
        # col2im: scatter-add the column gradients back onto the k x k window positions.
        oh, ow = H - k + 1, W - k + 1
        dcols = (wv.reshape(O, -1).T @ g).reshape(C, k, k, B, oh, ow)
        dxt = np.zeros((C, B, H, W), dtype=grad.dtype)
        for i in range(k):
            for j in range(k):
                dxt[:, :, i : i + oh, j : j + ow] += dcols[:, i, j]
        return np.ascontiguousarray(dxt.transpose(1, 0, 2, 3))


class MaxPool2D(Layer):
    """2x2 max pooling with stride 2 (the element-wise maximum of the four strided views; ties
    send the gradient to the first maximum in row-major window order)."""

    def __init__(self, size: int = 2):
        if size != 2:
            raise ConfigError(f"MaxPool2D size={describe(size)}: only 2 is implemented")
        self.size = size
        self.pool = ("max", (2, 2), (2, 2), (0, 0, 0, 0))  # the conv kind's pool fields
        self.params = {}

    def forward(self, x, train):
        B, C, H, W = x.shape
        h2, w2 = H // 2 * 2, W // 2 * 2
        views = [x[:, :, di:h2:2, dj:w2:2] for di in (0, 1) for dj in (0, 1)]
        out = np.maximum(np.maximum(views[0], views[1]), np.maximum(views[2], views[3]))
        taken = np.zeros(out.shape, dtype=bool)
        self.masks = []
        for v in views:
            m = (v == out) & ~taken
            taken |= m
            self.masks.append(m)
        self.shape = x.shape
        return out

    def backward(self, grad):
        B, C, H, W = self.shape
        h2, w2 = H // 2 * 2, W // 2 * 2
        dx = np.zeros(self.shape, dtype=grad.dtype)
        k = 0
        for di in (0, 1):
            for dj in (0, 1):
                dx[:, :, di:h2:2, dj:w2:2] = grad * self.masks[k]
                k += 1
        return dx


class ReLU(Layer):
    def __init__(self):
        self.params = {}

    def forward(self, x, train):
        self.pos = x > 0
        return x * self.pos

    def backward(self, grad):
        return grad * self.pos


class Dropout(Layer):
    """Inverted dropout with drop probability ``p`` (0 disables it)."""

    def __init__(self, p: float, rng: np.random.Generator):
        if not 0.0 <= p < 1.0:
            raise ConfigError(f"dropout p={describe(p)}: expected 0 <= p < 1")
        self.p = p
        self.rng = rng
        self.params = {}

    def forward(self, x, train):
        if not train or self.p == 0.0:
            self.keep = None
            return x
        self.keep = (self.rng.random(x.shape, dtype=np.float32) >= self.p) / np.float32(1.0 - self.p)
        return x * self.keep

    def backward(self, grad):
        return grad if self.keep is None else grad * self.keep


class Flatten(Layer):
    def __init__(self):
        self.params = {}

    def forward(self, x, train):
        self.shape = x.shape
        return x.reshape(x.shape[0], -1)

    def backward(self, grad):
        return grad.reshape(self.shape)


def sigmoid(z):
    """The logistic function, without overflow."""
    return 0.5 * (1.0 + np.tanh(0.5 * z))


class LSTM(Layer):
    """A single-layer LSTM over (batch, T, X) returning h_T (batch, H); W is (4H, X + H + 1), the
    stacked gate matrix of eie-sim's ``lstm`` layer kind (gate order i, f, g, o; the bias its last
    column; :mod:`eie_sim.train.lstm`). The forget-gate bias starts at 1 and the gradient of W is
    clipped to an L2 norm of ``clip`` per batch."""

    reads_sequence = True

    def __init__(self, n_in: int, hidden: int, rng: np.random.Generator, name: str = "lstm", clip: float = 5.0):
        self.name = name
        self.n_in, self.hidden, self.clip = int(n_in), int(hidden), clip
        H = self.hidden
        s = 1.0 / math.sqrt(H)
        w = rng.uniform(-s, s, (4 * H, n_in + H + 1)).astype(np.float32)
        w[:, -1] = 0.0
        w[H : 2 * H, -1] = 1.0  # forget-gate bias
        self.params = {"W": Param(w)}
        self.need_dx = False

    @property
    def gate_units(self) -> int:
        return self.hidden

    def forward(self, x, train):
        B, T, X = x.shape
        H = self.hidden
        W = self.params["W"].value
        wx, wh, wb = W[:, :X], W[:, X : X + H], W[:, -1]
        zx = (x.reshape(B * T, X) @ wx.T).reshape(B, T, 4 * H) + wb
        h = np.zeros((B, H), np.float32)
        c = np.zeros((B, H), np.float32)
        keep = train
        if keep:
            self.x = x
            self.hs = np.zeros((T + 1, B, H), np.float32)
            self.cs = np.zeros((T + 1, B, H), np.float32)
            self.gates = np.zeros((T, B, 4 * H), np.float32)
            self.tc = np.zeros((T, B, H), np.float32)
        for t in range(T):
            z = zx[:, t] + h @ wh.T
            a = np.empty_like(z)
            a[:, : 2 * H] = sigmoid(z[:, : 2 * H])
            a[:, 2 * H : 3 * H] = np.tanh(z[:, 2 * H : 3 * H])
            a[:, 3 * H :] = sigmoid(z[:, 3 * H :])
            c = a[:, H : 2 * H] * c + a[:, :H] * a[:, 2 * H : 3 * H]
            tc = np.tanh(c)
            h = a[:, 3 * H :] * tc
            if keep:
                self.gates[t], self.tc[t], self.hs[t + 1], self.cs[t + 1] = a, tc, h, c
        return h

    def backward(self, grad):
        x = self.x
        B, T, X = x.shape
        H = self.hidden
        W = self.params["W"].value
        wh = W[:, X : X + H]
        dz_all = np.empty((T, B, 4 * H), np.float32)
        dh = grad.astype(np.float32)
        dc = np.zeros((B, H), np.float32)
        for t in range(T - 1, -1, -1):
            a = self.gates[t]
            i, f, g, o = a[:, :H], a[:, H : 2 * H], a[:, 2 * H : 3 * H], a[:, 3 * H :]
            tc = self.tc[t]
            dc = dc + dh * o * (1.0 - tc * tc)
            dz = dz_all[t]
            dz[:, 3 * H :] = dh * tc * o * (1.0 - o)
            dz[:, :H] = dc * g * i * (1.0 - i)
            dz[:, H : 2 * H] = dc * self.cs[t] * f * (1.0 - f)
            dz[:, 2 * H : 3 * H] = dc * i * (1.0 - g * g)
            dc = dc * f
            dh = dz @ wh
        dz2 = dz_all.transpose(1, 0, 2).reshape(B * T, 4 * H)
        gw = np.empty_like(W)
        gw[:, :X] = dz2.T @ x.reshape(B * T, X)
        hprev = self.hs[:T].transpose(1, 0, 2).reshape(B * T, H)
        gw[:, X : X + H] = dz2.T @ hprev
        gw[:, -1] = dz2.sum(axis=0)
        if self.clip:
            n = float(np.sqrt(np.sum(gw.astype(np.float64) ** 2)))
            if n > self.clip:
                gw *= np.float32(self.clip / n)
        self.params["W"].grad = gw
        return None  # the LSTM is the first layer: no input gradient needed


def softmax_cross_entropy(logits: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
    """Mean cross-entropy of integer labels ``y`` and its gradient with respect to ``logits``."""
    z = logits - logits.max(axis=1, keepdims=True)
    ez = np.exp(z)
    p = ez / ez.sum(axis=1, keepdims=True)
    n = logits.shape[0]
    loss = float(-np.log(np.maximum(p[np.arange(n), y], 1e-12)).mean())
    g = p
    g[np.arange(n), y] -= 1.0
    return loss, g / n


@dataclass(eq=False)
class Network:
    """A sequential network; ``input_shape`` excludes the batch dimension."""

    name: str
    layers: list
    input_shape: tuple

    def __post_init__(self):
        for layer in self.layers:
            if layer.params:
                layer.need_dx = False
                break

    def forward(self, x: np.ndarray, train: bool = False) -> np.ndarray:
        x = x.reshape((x.shape[0],) + tuple(self.input_shape)).astype(np.float32, copy=False)
        for layer in self.layers:
            x = layer.forward(x, train)
        return x

    def backward(self, grad: np.ndarray) -> None:
        for layer in reversed(self.layers):
            grad = layer.backward(grad)
            if grad is None:
                break

    def weighted(self) -> list:
        """Layers with weights (Dense, Conv2D and LSTM), in order."""
        return [l for l in self.layers if "W" in l.params]

    def dense_layers(self) -> list:
        return [l for l in self.layers if isinstance(l, Dense)]

    def dropouts(self) -> list:
        return [l for l in self.layers if isinstance(l, Dropout)]

    def params(self):
        for layer in self.layers:
            yield from layer.params.values()

    def predict(self, x: np.ndarray, batch: int = 1000) -> np.ndarray:
        return np.concatenate([self.forward(x[i : i + batch]).argmax(axis=1) for i in range(0, len(x), batch)])

    def accuracy(self, x: np.ndarray, y: np.ndarray) -> float:
        return float((self.predict(x) == y).mean()) if len(y) else 0.0

    def state(self) -> dict:
        """A copy of every parameter value (and mask, codes, codebook) for save/restore."""
        out = {}
        for li, layer in enumerate(self.layers):
            for pn, p in layer.params.items():
                out[(li, pn)] = (p.value.copy(), None if p.mask is None else p.mask.copy(),
                                 None if p.codes is None else p.codes.copy(),
                                 None if p.codebook is None else p.codebook.copy())
        return out

    def load_state(self, state: dict) -> None:
        for (li, pn), (v, m, c, cb) in state.items():
            p = self.layers[li].params[pn]
            p.value = v.copy()
            p.mask = None if m is None else m.copy()
            p.codes = None if c is None else c.copy()
            p.codebook = None if cb is None else cb.copy()
            p.momentum = None
            p.codebook_momentum = None


@dataclass
class SGD:
    """SGD with momentum and L2 weight decay (on weights, not biases). Masks are enforced after
    every step; shared weights update their codebook with the summed gradient of each cluster
    (Deep Compression, section 3.3), code 0 staying exactly zero."""

    lr: float = 0.05
    momentum: float = 0.9
    weight_decay: float = 5e-4

    def step(self, params, lr: float | None = None) -> None:
        lr = self.lr if lr is None else lr
        for p in params:
            if p.grad is None:
                continue
            g = p.grad
            if p.codes is not None:
                self._step_shared(p, g, lr)
                continue
            if p.decay and self.weight_decay:
                g = g + self.weight_decay * p.value
            if p.mask is not None:
                g = g * p.mask
            if p.momentum is None:
                p.momentum = np.zeros_like(p.value)
            p.momentum *= self.momentum
            p.momentum -= lr * g
            p.value += p.momentum
            p.apply_mask()

    def _step_shared(self, p: Param, g: np.ndarray, lr: float) -> None:
        k = p.codebook.size
        cg = np.bincount(p.codes.ravel(), weights=g.ravel().astype(np.float64), minlength=k).astype(np.float32)
        cg[0] = 0.0  # code 0 is "no weight": never moves
        if p.codebook_momentum is None:
            p.codebook_momentum = np.zeros_like(p.codebook)
        p.codebook_momentum *= self.momentum
        p.codebook_momentum -= lr * cg
        p.codebook += p.codebook_momentum
        p.codebook[0] = 0.0
        p.value = p.codebook[p.codes].astype(np.float32)


def lenet300(rng: np.random.Generator, n_in: int = 784, n_out: int = 10, dropout: float = 0.0) -> Network:
    """LeNet-300-100: fc 300, fc 100, fc n_out with ReLU (Han et al., NIPS 2015)."""
    return mlp([n_in, 300, 100, n_out], rng, dropout=dropout, name="lenet300")


def mlp(sizes, rng: np.random.Generator, dropout: float = 0.0, name: str = "mlp") -> Network:
    """A multi-layer perceptron from a list of layer sizes, input first; ReLU between layers."""
    sizes = [int(s) for s in sizes]
    if len(sizes) < 2 or any(s < 1 for s in sizes):
        raise ConfigError(f"layer sizes={sizes}: expected at least an input and an output size, all >= 1")
    layers = []
    for i in range(len(sizes) - 1):
        layers.append(Dense(sizes[i], sizes[i + 1], rng, name=f"fc{i + 1}"))
        if i < len(sizes) - 2:
            layers.append(ReLU())
            if dropout:
                layers.append(Dropout(dropout, rng))
    return Network(name, layers, (sizes[0],))


def lenet5(rng: np.random.Generator, in_ch: int = 1, side: int = 28, n_out: int = 10, dropout: float = 0.0) -> Network:
    """LeNet-5, Caffe variant: conv 20@5x5, max-pool 2, conv 50@5x5, max-pool 2, fc 500, fc 10."""
    s1 = (side - 4) // 2
    s2 = (s1 - 4) // 2
    layers = [
        Conv2D(in_ch, 20, 5, rng, name="conv1"), MaxPool2D(2),
        Conv2D(20, 50, 5, rng, name="conv2"), MaxPool2D(2),
        Flatten(), Dense(50 * s2 * s2, 500, rng, name="fc1"), ReLU(),
    ]
    if dropout:
        layers.append(Dropout(dropout, rng))
    layers.append(Dense(500, n_out, rng, name="fc2"))
    return Network("lenet5", layers, (in_ch, side, side))


ARCHITECTURES = ("lenet300", "lenet5")  # and the patterns mlp:H1,H2,... and lstm:H


def build(arch: str, rng: np.random.Generator, n_features: int, n_classes: int, side: int | None = None, dropout: float = 0.0) -> Network:
    """``lenet300``, ``lenet5`` or ``mlp:784,300,10``-style user MLPs."""
    if arch == "lenet300":
        return lenet300(rng, n_features, n_classes, dropout)
    if arch == "lenet5":
        if side is None or side * side != n_features:
            raise ConfigError(f"lenet5 needs square images; got {n_features} features")
        return lenet5(rng, 1, side, n_classes, dropout)
    if arch.startswith("mlp:"):
        return mlp([n_features, *mlp_hidden(arch), n_classes], rng, dropout)
    if arch.startswith("lstm:"):  # sequential images: one row of pixels per step
        hidden = lstm_hidden(arch)
        if side is None or side * side != n_features:
            raise ConfigError(f"lstm:H reads square images row by row; got {n_features} features")
        return lstm_classifier(rng, side, side, hidden, n_classes)
    raise ConfigError(f"architecture={describe(arch)}: expected lenet300, lenet5, mlp:H1,H2,... or lstm:H")


def mlp_hidden(arch: str) -> list[int]:
    """The hidden sizes of ``mlp:H1,H2,...`` (each an integer in 1..65536), or ConfigError."""
    parts = [s.strip() for s in arch[4:].split(",") if s.strip()]
    if not parts or not all(s.isdigit() and 1 <= int(s) <= 1 << 16 for s in parts):
        raise ConfigError(f"architecture={describe(arch)}: expected mlp:H1,H2,... with hidden sizes in 1..65536")
    return [int(s) for s in parts]


def lstm_hidden(arch: str) -> int:
    """H of ``lstm:H`` (an integer in 1..4096), or ConfigError."""
    s = arch[5:].strip()
    if not s.isdigit() or not 1 <= int(s) <= 4096:
        raise ConfigError(f"architecture={describe(arch)}: expected lstm:H with a hidden size H in 1..4096")
    return int(s)


def lstm_classifier(rng: np.random.Generator, steps: int, n_in: int, hidden: int, n_out: int) -> Network:
    """LSTM(H) over ``steps`` steps of ``n_in`` features, then Dense(H -> n_out) on h_T."""
    if steps < 1 or n_in < 1:
        raise ConfigError(f"sequence shape {steps} x {n_in}: expected steps >= 1 and features >= 1")
    return Network(f"lstm{hidden}", [LSTM(n_in, hidden, rng, name="lstm"), Dense(hidden, n_out, rng, name="fc")],
                   (steps, n_in))
