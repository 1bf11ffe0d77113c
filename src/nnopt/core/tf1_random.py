"""TensorFlow 1's ``tf.random_normal`` with an op seed, reproduced in NumPy.

The lecture initializes the yogurt fit with ``tf.random_normal([2, 1], stddev=1,
seed=1)``. Its printed results depend on that start (20000 small steps do not
fully converge), so nnopt reproduces the generator: Philox-4x32-10 keyed by the
graph seed (TF1's default 87654321 when only an op seed is given) with the op
seed in the counter, and a Box-Muller transform of each pair of 32-bit words,
all in float32 as TensorFlow's CPU kernel does. The Philox words are exact;
the samples agree with TensorFlow to a few float32 ulps (about 1e-6 at most),
because TensorFlow evaluates sin, cos and log with Eigen's own polynomial
approximations where NumPy uses the C library's.
"""

from __future__ import annotations

import numpy as np

DEFAULT_GRAPH_SEED = 87654321
_M0, _M1 = np.uint64(0xD2511F53), np.uint64(0xCD9E8D57)
_W0, _W1 = 0x9E3779B9, 0xBB67AE85
_MASK32 = 0xFFFFFFFF


def _philox_round(ctr: list[int], key: tuple[int, int]) -> list[int]:
    """One Philox-4x32 round: two 32x32->64 multiplies mixed with the key."""
    p0 = int(_M0) * ctr[0]
    p1 = int(_M1) * ctr[2]
    hi0, lo0 = p0 >> 32, p0 & _MASK32
    hi1, lo1 = p1 >> 32, p1 & _MASK32
    return [hi1 ^ ctr[1] ^ key[0], lo1, hi0 ^ ctr[3] ^ key[1], lo0]


def philox4x32(counter: list[int], key: tuple[int, int]) -> list[int]:
    """Philox-4x32-10: ten rounds, raising the key by the Weyl constants between them."""
    k0, k1 = key
    ctr = list(counter)
    for r in range(10):
        ctr = _philox_round(ctr, (k0, k1))
        if r < 9:
            k0, k1 = (k0 + _W0) & _MASK32, (k1 + _W1) & _MASK32
    return ctr


def _uint32_to_unit_float(x: np.ndarray) -> np.ndarray:
    """TF's Uint32ToFloat: the low 23 bits as the mantissa of a float in [1, 2), minus 1."""
    bits = (np.uint32(127) << np.uint32(23)) | (x & np.uint32(0x7FFFFF))
    return bits.view(np.float32) - np.float32(1.0)


def _box_muller(x0: np.ndarray, x1: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """TF's BoxMullerFloat: f0 = sin(2πu1')·sqrt(-2 ln u0), f1 = cos(2πu1')·sqrt(-2 ln u0)."""
    u1 = np.maximum(_uint32_to_unit_float(x0), np.float32(1e-7))
    v1 = np.float32(2.0 * np.pi) * _uint32_to_unit_float(x1)
    u2 = np.sqrt(np.float32(-2.0) * np.log(u1))
    return np.sin(v1) * u2, np.cos(v1) * u2


def tf1_random_normal(
    shape: tuple[int, ...], stddev: float = 1.0, seed: int = 1, graph_seed: int = DEFAULT_GRAPH_SEED
) -> np.ndarray:
    """Samples ``tf.random_normal(shape, stddev=stddev, seed=seed)`` of TensorFlow 1 (float32).

    Example:
      >>> tf1_random_normal((2, 1), seed=1).ravel().tolist()  # the lecture's yogurt start
      [-0.8113182187080383, 1.4845987558364868]
    """
    size = int(np.prod(shape, dtype=np.int64))
    groups = (size + 3) // 4
    words = np.empty((groups, 4), dtype=np.uint32)
    key = (graph_seed & _MASK32, (graph_seed >> 32) & _MASK32)
    for g in range(groups):
        counter = [g & _MASK32, (g >> 32) & _MASK32, seed & _MASK32, (seed >> 32) & _MASK32]
        words[g] = philox4x32(counter, key)
    with np.errstate(all="ignore"):
        f0, f1 = _box_muller(words[:, 0::2], words[:, 1::2])
    normals = np.stack([f0, f1], axis=-1).reshape(groups, 4).ravel()[:size]
    return (normals * np.float32(stddev)).astype(np.float32).reshape(shape)
