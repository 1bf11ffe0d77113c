"""TensorFlow 1's random_normal, reproduced: known answers and the lecture's start.

Every reference below is computed here from its definition (DESIGN.md section 2),
in NumPy and mostly in float64; nothing is copied from running nnopt.
"""

from __future__ import annotations

import numpy as np
import pytest

from nnopt.core import model
from nnopt.core.tf1_random import philox4x32, tf1_random_normal

# ------------------------------------------------------------------ TensorFlow 1's random_normal


def test_tf1_random_normal_lecture_values():
    # TensorFlow 1: tf.random_normal([2,1], stddev=1, seed=1) and [2,3].
    np.testing.assert_allclose(
        tf1_random_normal((2, 1), seed=1).ravel(), [-0.8113182, 1.4845988], atol=2e-6, rtol=0
    )
    np.testing.assert_allclose(
        tf1_random_normal((2, 3), seed=1),
        [[-0.8113182, 1.4845988, 0.06532937], [-2.4427042, 0.0992484, 0.5912243]],
        atol=2e-6,
        rtol=0,
    )
    a = tf1_random_normal((2, 1), stddev=2.0, seed=1)
    assert a.dtype == np.float32 and a.shape == (2, 1)
    np.testing.assert_allclose(a.ravel(), [2 * -0.8113182, 2 * 1.4845988], atol=4e-6, rtol=0)


def test_tf1_init_gives_yogurt_start():
    p = model.init_mlp((2, 1), init="tf1_normal", bias=False, seed=1)
    np.testing.assert_allclose(p["w1"].ravel(), [-0.8113182, 1.4845988], atol=2e-6, rtol=0)


@pytest.mark.parametrize(
    "counter,key,want",
    [
        ((0, 0, 0, 0), (0, 0), (0x6627E8D5, 0xE169C58D, 0xBC57AC4C, 0x9B00DBD8)),
        ((0xFFFFFFFF,) * 4, (0xFFFFFFFF,) * 2, (0x408F276D, 0x41C83B0E, 0xA20BC7C6, 0x6D5451FD)),
        (
            (0x243F6A88, 0x85A308D3, 0x13198A2E, 0x03707344),
            (0xA4093822, 0x299F31D0),
            (0xD16CFE09, 0x94FDCCEB, 0x5001E420, 0x24126EA1),
        ),
    ],
)
def test_philox_known_answers(counter, key, want):
    # Random123's published known-answer vectors for Philox-4x32-10.
    assert tuple(philox4x32(list(counter), key)) == want
