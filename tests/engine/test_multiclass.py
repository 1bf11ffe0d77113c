"""Many classes: softmax cross entropy, confusion matrix, spiral3 regions, the digits dataset,
and standardization fitted on the training rows only."""

from __future__ import annotations

import json

import jax.numpy as jnp
import numpy as np
import pytest

from nnopt.cli.main import main
from nnopt.config.presets import load_config
from nnopt.core import data
from nnopt.core.losses import softmax_cross_entropy
from nnopt.engine.evaluate import class_probabilities, confusion_matrix, predicted_classes
from nnopt.engine.setup import generate
from nnopt.engine.training import Training
from nnopt.errors import DataError

pytestmark = pytest.mark.usefixtures("in_tmp")


def numpy_softmax_cross_entropy(logits, labels, weights):
    """Σ_i w_i (log Σ_j e^{z_ij} - z_i,label_i) / Σ_i w_i, in float64."""
    z = logits.astype(np.float64)
    log_norm = np.log(np.exp(z - z.max(1, keepdims=True)).sum(1)) + z.max(1)
    per_row = log_norm - z[np.arange(len(z)), labels]
    return float((per_row * weights).sum() / weights.sum())


@pytest.mark.parametrize("n_classes", [2, 3, 10])
def test_softmax_cross_entropy_matches_the_numpy_formula(n_classes):
    rng = np.random.default_rng(n_classes)
    logits = rng.normal(0, 3, (17, n_classes)).astype(np.float32)
    labels = rng.integers(0, n_classes, 17)
    onehot = np.eye(n_classes, dtype=np.float32)[labels]
    weights = np.ones(17, np.float32)
    weights[-3:] = 0.0  # padded rows of a short last batch do not count
    got = softmax_cross_entropy(jnp.asarray(logits), jnp.asarray(onehot), jnp.asarray(weights), {})
    want = numpy_softmax_cross_entropy(logits, labels, weights)
    assert float(got) == pytest.approx(want, rel=1e-5)


def test_softmax_cross_entropy_of_uniform_logits_is_log_of_the_class_count():
    onehot = np.eye(10, dtype=np.float32)[[3, 7]]
    got = softmax_cross_entropy(jnp.zeros((2, 10)), jnp.asarray(onehot), jnp.ones(2), {})
    assert float(got) == pytest.approx(np.log(10), rel=1e-6)


def test_confusion_matrix_counts_true_against_predicted():
    true = np.array([0, 0, 1, 2, 2, 2])
    predicted = np.array([0, 1, 1, 2, 0, 2])
    c = confusion_matrix(true, predicted, 3)
    assert c.tolist() == [[1, 1, 0], [0, 1, 0], [1, 0, 2]]
    assert c.sum() == 6 and np.trace(c) == 4


def test_predicted_classes_and_probabilities():
    from types import SimpleNamespace

    logits = np.array([[1.0, 2.0, 0.5], [3.0, -1.0, 0.0]])
    assert predicted_classes(logits).tolist() == [1, 0]
    assert predicted_classes(np.array([[0.49], [0.5]])).tolist() == [0, 1]  # the 0.5 line

    def structure(output_activation, loss):  # the two fields the probabilities depend on
        return SimpleNamespace(output_activation=output_activation, loss=loss)

    p = class_probabilities(structure("linear", "softmax_cross_entropy"), logits)
    want = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    np.testing.assert_allclose(p, want, rtol=1e-12)
    sig = class_probabilities(structure("sigmoid", "cross_entropy"), np.array([[0.25]]))
    np.testing.assert_allclose(sig, [[0.75, 0.25]])
    assert class_probabilities(structure("linear", "mse"), np.array([[0.3]])) is None


@pytest.mark.slow
def test_spiral3_run_writes_class_regions_and_a_confusion_matrix(capsys, tmp_path):
    code = main(
        ["run", "spiral3", "--set", "train.steps=400", "--set", "train.log_every=200",
         "--out", "runs/s3", "--quiet"]
    )  # fmt: skip
    assert code == 0
    run = tmp_path / "runs" / "s3"
    assert (run / "boundary.png").stat().st_size > 20_000  # both panels, three colours
    summary = json.loads((run / "summary.json").read_text())
    assert 0.0 <= summary["accuracy"]["test"] <= 1.0
    capsys.readouterr()
    assert main(["evaluate", str(run), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    matrix = np.array(out["confusion_matrix"])
    assert matrix.shape == (3, 3) and matrix.sum() == out["rows"] == 120
    assert np.trace(matrix) / matrix.sum() == pytest.approx(out["accuracy"], abs=1e-6)
    assert out["accuracy"] == pytest.approx(summary["ema"]["test_accuracy"], abs=1e-6)


@pytest.mark.slow
def test_boundary_regions_take_the_colour_of_their_class():
    """Each region of the argmax map is filled with the colour of its class's points."""
    from nnopt.engine.training import train
    from nnopt.outputs.plots import figure_boundary

    result = train(load_config("spiral3", ["train.steps=50", "ema.enabled=false"]))
    fig = figure_boundary(result)
    filled = fig.axes[0].collections[0]
    import matplotlib

    palette = matplotlib.colormaps["tab10"]
    colours = np.asarray(filled.get_facecolor())[:, :3]
    np.testing.assert_allclose(colours, [palette(k)[:3] for k in range(3)], atol=1e-6)


# ------------------------------------------------------------------ digits


def test_digits_ship_with_scikit_learn_and_need_no_download():
    x, y = generate("digits", 1797, 0.0, 0)
    assert x.shape == (1797, 64) and y.shape == (1797, 1) and x.dtype == np.float32
    assert x.min() == 0.0 and x.max() == 1.0  # ink levels 0..16 scaled to [0, 1]
    assert sorted(np.unique(y)) == list(range(10))
    x2, _ = generate("digits", 1797, 0.0, 1)
    assert not np.array_equal(x, x2)  # another seed, another order ...
    np.testing.assert_array_equal(np.sort(x.sum(1)), np.sort(x2.sum(1)))  # ... of the same images
    from sklearn.datasets import load_digits

    bunch = load_digits()
    row = np.flatnonzero((bunch.data / 16.0 == x[0]).all(1))
    assert len(row) >= 1 and bunch.target[row[0]] == y[0, 0]
    with pytest.raises(DataError, match="digits has 1797 images"):
        generate("digits", 2000, 0.0, 0)


@pytest.mark.slow
def test_digits_preset_trains_a_ten_class_softmax_with_checkpoints():
    config = load_config("digits")
    assert config.model.layers[0] == 64 and config.model.layers[-1] == 10
    assert config.loss.name == "softmax_cross_entropy" and config.ema.enabled
    assert config.schedule.name == "exponential_decay" and config.regularizer.name == "l2"
    assert config.train.checkpoint_every > 0 and config.data.test_fraction > 0
    run = Training(load_config("digits", ["train.steps=300", "train.log_every=300"]))
    result = run.run()
    assert run.dataset.task == "multiclass" and run.dataset.n_classes == 10
    assert result.final["ema_test_accuracy"] > 0.8  # 300 steps already read most digits


# ------------------------------------------------------------------ standardization


def test_standardization_is_fitted_on_the_training_rows_only():
    x_tr = np.array([[1.0, 5.0], [3.0, 5.0]], np.float32)
    x_te = np.array([[100.0, 5.0]], np.float32)
    y = np.zeros((2, 1), np.float32)
    ds = data.standardized(data.Dataset(x_tr, y, x_te, y[:1], "binary", 2))
    np.testing.assert_allclose(ds.x_train, [[-1.0, 0.0], [1.0, 0.0]])
    # (100 - 2) / 1: the test row moved neither the mean nor the std
    np.testing.assert_allclose(ds.x_test, [[98.0, 0.0]])
    assert ds.columns.mean == (2.0, 5.0) and ds.columns.std == (1.0, 1.0)  # constant column: std 1


def test_standardize_setting_applies_to_built_in_data():
    run = Training(load_config("circle", ["data.standardize=true", "data.test_fraction=0.3"]))
    x = run.dataset.x_train
    np.testing.assert_allclose(x.mean(0), 0.0, atol=1e-5)
    np.testing.assert_allclose(x.std(0), 1.0, atol=1e-5)
    assert abs(run.dataset.x_test.mean()) > 1e-4  # fitted on train, not re-centred on test
