"""data.inputs in training, validation, evaluation and prediction."""

from __future__ import annotations

import json

import numpy as np
import pytest

from nnopt.config import config_from_dict
from nnopt.core.features import feature_inputs
from nnopt.engine.setup import make_dataset
from nnopt.engine.training import Training
from nnopt.errors import ConfigError


def circle_config(**data) -> dict:
    return {
        "data": {"name": "circle", **data},
        "model": {"layers": [2, 1], "activation": "linear", "init": "normal", "bias": True},
        "optimizer": {"name": "sgd", "learning_rate": 0.1},
        "train": {"steps": 1, "batch_size": 300, "log_every": 1},
    }


def test_plain_inputs_train_bit_for_bit_as_no_inputs():
    raw, plain_raw = circle_config(), circle_config(inputs=["x0", "x1"])
    for r in (raw, plain_raw):
        r["train"].update(steps=20, batch_size=30, log_every=20)
    base, plain = Training(config_from_dict(raw)), Training(config_from_dict(plain_raw))
    for training in (base, plain):
        assert training.advance() == 20
    for name, value in base.params().items():
        assert value.tobytes() == plain.params()[name].tobytes()


def test_one_sgd_step_on_squared_inputs_is_the_closed_form():
    """A linear model y = z·w + b on z = (x0², x1²), MSE over the whole batch: one step
    w ← w - lr·2/N·zᵀ(zw + b - y), b ← b - lr·2/N·Σ(zw + b - y)."""
    cfg = config_from_dict(circle_config(inputs=["x0_squared", "x1_squared"]))
    training = Training(cfg)
    start = {k: np.asarray(v, np.float64) for k, v in training.params().items()}
    training.advance(1)
    ds = make_dataset("circle", 300, 0.0, 2, 0.0)
    x, y = ds.x_train.astype(np.float64), ds.y_train.astype(np.float64)
    z = x * x
    err = z @ start["w1"] + start["b1"] - y
    w = start["w1"] - 0.1 * 2 / 300 * z.T @ err
    b = start["b1"] - 0.1 * 2 / 300 * err.sum(0)
    got = training.params()
    np.testing.assert_allclose(got["w1"], w, rtol=1e-5)
    np.testing.assert_allclose(got["b1"], b, rtol=1e-5)


@pytest.mark.parametrize(
    "inputs, layers, message",
    [
        (
            ["x0", "cube"],
            [2, 1],
            "data.inputs = ['x0', 'cube']: 'cube' is unknown; choose from x0, x1,",
        ),
        (["x0", "x0"], [2, 1], "data.inputs = ['x0', 'x0'] names an input twice"),
        (
            ["x0", "x1", "x0_x1"],
            [2, 1],
            "model.layers = [2, 1]: the first size must be the 3 data.inputs ['x0', 'x1', 'x0_x1']",
        ),
    ],
)
def test_bad_inputs_are_one_line_naming_the_field(inputs, layers, message):
    raw = circle_config(inputs=inputs)
    raw["model"]["layers"] = layers
    with pytest.raises(ConfigError) as err:
        Training(config_from_dict(raw))
    assert str(err.value).startswith(message)


def test_inputs_need_two_columns():
    raw = {"data": {"name": "digits", "inputs": ["x0"]}, "model": {"layers": [1, 10]},
           "loss": {"name": "softmax_cross_entropy"}}  # fmt: skip
    with pytest.raises(ConfigError) as err:
        Training(config_from_dict(raw))
    assert str(err.value) == (
        "data.inputs = ['x0'] are computed from 2 columns (x0, x1); data 'digits' has 64: "
        "leave data.inputs empty"
    )


@pytest.mark.slow  # nnopt run, then nnopt predict
def test_predict_computes_the_inputs_of_new_rows(tmp_path, monkeypatch, capsys):
    from nnopt.cli.main import main
    from nnopt.engine.evaluate import predict
    from nnopt.outputs.run_dir import open_predictor

    monkeypatch.chdir(tmp_path)
    sets = ["data.inputs=x0_squared,x1_squared,sin_x0", "model.layers=[3,4,1]",
            "train.steps=50", "data.standardize=true"]  # fmt: skip
    argv = ["run", "circle", "--out", "runs/f", "--quiet", "--no-figures"]
    assert main([*argv, *sum((["--set", s] for s in sets), [])]) == 0
    record = json.loads((tmp_path / "runs/f/inputs.json").read_text())
    assert record["features"] == ["x0", "x1"]
    assert record["inputs"] == ["x0_squared", "x1_squared", "sin_x0"]
    x = np.array([[0.5, -1.0], [2.0, 0.25], [-1.5, 1.5]], np.float32)
    np.savetxt("new.csv", x, delimiter=",", header="x0,x1", comments="")
    capsys.readouterr()
    assert main(["predict", "runs/f", "new.csv", "--weights", "raw"]) == 0
    out = capsys.readouterr().out.splitlines()
    predictor = open_predictor(tmp_path / "runs/f", weights="raw")
    c = predictor.inputs.columns
    z = (feature_inputs(x, c.inputs) - np.array(c.mean)) / np.array(c.std)
    want = predict(predictor.model.structure, predictor.params, z)[:, 0]
    got = [float(line.split(",")[-1]) for line in out[1:]]
    assert out[0].startswith("row,class")
    np.testing.assert_allclose(got, want, rtol=1e-5)
