"""NumPy reference implementations (float64) that the tests compare nnopt with."""

import numpy as np


def np_sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


NP_ACT = {
    "relu": lambda z: np.maximum(z, 0.0),
    "tanh": np.tanh,
    "sigmoid": np_sigmoid,
    "linear": lambda z: z,
    "leaky_relu": lambda z: np.where(z > 0, z, 0.01 * z),
    "elu": lambda z: np.where(z > 0, z, np.expm1(np.minimum(z, 0.0))),
    "softplus": lambda z: np.log1p(np.exp(z)),
}


def np_softmax(z):
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


NP_OUT = {"linear": lambda z: z, "sigmoid": np_sigmoid, "softmax": np_softmax}


def np_forward(params, x, activation, output_activation):
    n = sum(1 for k in params if k.startswith("w"))
    h = np.asarray(x, np.float64)
    for k in range(1, n + 1):
        h = h @ np.asarray(params[f"w{k}"], np.float64)
        if f"b{k}" in params:
            h = h + np.asarray(params[f"b{k}"], np.float64)
        if k < n:
            h = NP_ACT[activation](h)
    return NP_OUT[output_activation](h)


def np_mse(y, t, w):
    per = (t - y) ** 2
    return (per * w[:, None]).sum() / (w.sum() * y.shape[1])


def np_cost_profit(y, t, w, cost, profit):
    per = np.where(y > t, cost * (y - t), profit * (t - y))
    return (per * w[:, None]).sum()


def np_cross_entropy(y, t, w):
    """The lecture's -mean(y_·log(clip(y, 1e-12, 1))) over all elements, the outputs as they are."""
    per = t * np.log(np.clip(y, 1e-12, 1.0))
    return -(per * w[:, None]).sum() / (w.sum() * y.shape[1])


def np_binary_cross_entropy(y, t, w):
    """-mean(t·log(clip(y)) + (1 - t)·log(clip(1 - y))) over all elements."""
    per = t * np.log(np.clip(y, 1e-12, 1.0)) + (1 - t) * np.log(np.clip(1 - y, 1e-12, 1.0))
    return -(per * w[:, None]).sum() / (w.sum() * y.shape[1])


def np_softmax_ce(y, t, w):
    """mean over counted rows of logsumexp(y) - y[argmax t]."""
    m = y.max(axis=1)
    lse = m + np.log(np.exp(y - m[:, None]).sum(axis=1))
    per = lse - y[np.arange(len(y)), t.argmax(axis=1)]
    return (per * w).sum() / w.sum()
