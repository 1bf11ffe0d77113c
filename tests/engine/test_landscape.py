"""The loss landscape of a two-number model against the loss computed by hand."""

from __future__ import annotations

import numpy as np

from nnopt.config import config_from_dict
from nnopt.config.presets import read_raw
from nnopt.engine.landscape import grid_axes, has_landscape, loss_landscape, number_names
from nnopt.engine.training import Training


def test_the_yogurt_surface_is_the_mean_squared_error_at_each_grid_point():
    raw, _ = read_raw("yogurt-mse")
    training = Training(config_from_dict(raw))
    assert has_landscape(training) and number_names(training.structure) == ["w1[0,0]", "w1[1,0]"]
    start = training.params()["w1"][:, 0]
    land = loss_landscape(training, start, points=5)
    a, b = grid_axes(start, 5)
    half = 1.5 * np.max(np.abs(start))
    np.testing.assert_allclose([a[0], a[-1], b[0], b[-1]],
                               [start[0] - half, start[0] + half, start[1] - half, start[1] + half],
                               rtol=1e-6)  # fmt: skip
    x = training.dataset.x_train.astype(np.float64)
    y = training.dataset.y_train[:, 0].astype(np.float64)
    for i in (0, 2, 4):
        for j in (0, 3):
            want = np.mean((x @ np.array([a[j], b[i]], np.float64) - y) ** 2)
            np.testing.assert_allclose(land.total[i, j], want, rtol=1e-5)
    # the minimum of the grid is the grid point nearest the least-squares fit
    fit = np.linalg.lstsq(x, y, rcond=None)[0]
    fine = loss_landscape(training, start, points=41)
    i, j = np.unravel_index(np.argmin(fine.total), fine.total.shape)
    step = fine.a[1] - fine.a[0]
    assert abs(fine.a[j] - fit[0]) <= step and abs(fine.b[i] - fit[1]) <= step


def test_models_with_more_numbers_have_no_landscape():
    raw, _ = read_raw("circle")
    assert not has_landscape(Training(config_from_dict(raw)))
