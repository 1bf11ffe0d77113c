"""`nnopt lecture`: every check's number at the lecture's precision, the report, and its CLI."""

from __future__ import annotations

import json
from html.parser import HTMLParser

import numpy as np
import pytest

from nnopt.cli.main import main
from nnopt.engine.lecture import PARTS, run_lecture

pytestmark = pytest.mark.slow  # the whole lecture


@pytest.fixture(scope="module")
def lecture():
    experiments = run_lecture()
    return {c.name: c for e in experiments for c in e.checks}, {e.name: e for e in experiments}


def test_every_part_ran_and_reports_checks(lecture):
    checks, parts = lecture
    assert list(parts) == list(PARTS)
    assert len(checks) >= 30


def test_network_size(lecture):
    checks, _ = lecture
    assert checks["network-size.layers"].nnopt == 2
    assert checks["network-size.parameters"].nnopt == 26


def test_yogurt_mse_fit_matches_the_lecture(lecture):
    w = lecture[0]["yogurt-mse.w"].nnopt
    assert [round(v, 2) for v in w] == [0.98, 1.02]


def test_cost_profit_fits_are_reported_as_misses_with_their_band(lecture):
    checks, _ = lecture
    more, less = checks["yogurt-cost1-profit9.w"], checks["yogurt-cost9-profit1.w"]
    # TensorFlow 1 ends at (1.02, 1.04) and (0.97, 0.98) from the same start: not the text's numbers.
    assert [round(v, 2) for v in more.nnopt] == [1.02, 1.04] and not more.ok
    assert [round(v, 2) for v in less.nnopt] == [0.97, 0.98] and not less.ok
    assert "band" in more.note and "TensorFlow" in more.note
    (lo1, hi1), (lo2, hi2) = checks["yogurt-cost1-profit9.band"].nnopt
    assert lo1 - 0.005 <= 1.03 <= hi1 + 0.005 and lo2 - 0.005 <= 1.05 <= hi2 + 0.005
    assert checks["yogurt.direction"].ok


def test_cross_entropy_numbers(lecture):
    checks, _ = lecture
    assert round(checks["cross-entropy.H1"].nnopt, 3) == 0.222
    assert round(checks["cross-entropy.H2"].nnopt, 3) == 0.097
    assert "base 10" in checks["cross-entropy.H1"].note
    assert sum(checks["softmax.distribution"].nnopt) == pytest.approx(1.0, abs=1e-3)


def test_gradient_descent_numbers(lecture):
    checks, parts = lecture
    assert round(checks["gd-0.2.step1"].nnopt, 1) == 2.6
    assert round(checks["gd-0.2.step2"].nnopt, 2) == 1.16
    assert round(checks["gd-0.2.step3"].nnopt, 3) == 0.296
    assert round(checks["gd-0.2.limit"].nnopt, 3) == -1.0
    assert checks["gd-1.swing"].nnopt == [5.0, -7.0, 5.0, -7.0, 5.0, -7.0]
    slow = checks["gd-0.0001.slow"].nnopt
    # w_k = -1 + 6·(1 - 0.0002)^k: after 40 updates 4.9522 (to 4 decimals).
    assert slow["w after 40 steps"] == pytest.approx(-1 + 6 * (1 - 0.0002) ** 40, abs=1e-4)


def test_exponential_decay_numbers(lecture):
    checks, parts = lecture
    lr = parts["exponential-decay"].runs["decay"].history.per_step("lr")
    np.testing.assert_allclose(lr, 0.1 * 0.99 ** np.arange(40), rtol=1e-6)
    assert checks["exponential-decay.formula"].ok and checks["exponential-decay.decreasing"].ok


def test_ema_numbers_and_the_rounding_miss(lecture):
    checks, _ = lecture
    assert round(checks["ema.shadow1"].nnopt, 1) == 0.9
    assert round(checks["ema.shadow3"].nnopt, 3) == 2.328
    assert round(checks["ema.shadow4"].nnopt, 3) == 2.956
    # 0.9·101/110 + 10·9/110 = 1.644545...: the lecture's 1.644 adds rounded terms.
    second = checks["ema.shadow2"]
    assert second.nnopt == pytest.approx(0.9 * 101 / 110 + 10 * 9 / 110, abs=1e-5)
    assert not second.ok and "rounding" in second.note


def test_circle_regularization_and_modular(lecture):
    checks, parts = lecture
    for name in (
        "circle.plain.loss",
        "circle.l2.loss",
        "circle.l2.smaller-weights",
        "modular.result",
    ):
        assert checks[name].ok, name
    # The last update has global_step 39999: 0.001·0.999^3999 with TensorFlow's float32 numbers.
    last = float(np.float32(0.001)) * float(np.float32(0.999)) ** 3999
    assert checks["modular.lr"].nnopt["last"] == pytest.approx(last, rel=1e-5)
    assert parts["regularization"].values["train_accuracy"]["circle"] > 0.9


def test_exercises(lecture):
    checks, parts = lecture
    losses = parts["optimizers"].values["final_loss"]
    assert len(losses) == 10 and all(np.isfinite(v) for v in losses.values())
    assert checks["ema-decay.0.1"].nnopt[:2] == [0.9, 9.09]  # 0.1·0 + 0.9·1; then 0.1·0.9 + 0.9·10


class _Report(HTMLParser):
    def __init__(self):
        super().__init__()
        self.images, self.rows, self.codes = [], 0, []
        self._in_code = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "img":
            self.images.append(attrs)
        elif tag == "tr":
            self.rows += 1
        self._in_code = tag == "code"

    def handle_data(self, data):
        if self._in_code:
            self.codes.append(data)
            self._in_code = False


def test_cli_only_out_json_and_the_html_report(tmp_path, capsys):
    out = tmp_path / "rep"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    code = main(
        [
            "lecture",
            "--only",
            "gradient-descent",
            "ema",
            "cross-entropy",
            "network-size",
            "exponential-decay",
            "--out",
            str(out),
            "--json",
        ]
    )
    stdout, _ = capsys.readouterr()
    assert code == 0
    payload = json.loads(stdout.strip().splitlines()[-1])
    names = [c["name"] for c in payload["checks"]]
    assert "gd-0.2.step3" in names and "ema.shadow4" in names and "yogurt-mse.w" not in names
    for c in payload["checks"]:
        assert set(c) >= {"name", "lecture", "nnopt", "tolerance", "ok", "note"}
    assert (out / "keep.txt").read_text() == "mine"
    pngs = sorted(p.name for p in (out / "figures").glob("*.png"))
    assert pngs == ["ema.png", "exponential-decay.png", "gradient-descent.png"]
    page = _Report()
    page.feed((out / "report.html").read_text())
    assert len(page.images) == 3 and all(
        i["src"].startswith("data:image/png;base64,") for i in page.images
    )
    for name in names:
        assert name in page.codes, name
    assert json.loads((out / "results.json").read_text())["summary"]["checks"] == len(names)


def test_cli_rejects_unknown_only_and_unwritable_out(tmp_path, capsys):
    assert main(["lecture", "--only", "yogurt", "nope", "--out", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err
    assert "unknown --only name 'nope'" in err and "gradient-descent" in err
    assert not (tmp_path / "r").exists()
    (tmp_path / "file").write_text("x")
    assert main(["lecture", "--out", str(tmp_path / "file" / "r")]) == 2
    assert "cannot write the report" in capsys.readouterr().err
