"""Your own data: CSV and NPZ files, good and bad, read into datasets and runs."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nnopt.cli.main import main
from nnopt.config import config_from_dict, resolve
from nnopt.config.presets import load_config
from nnopt.engine.training import Training
from nnopt.errors import ConfigError, DataError
from nnopt.inputs.datafiles import load_dataset, read_feature_rows

pytestmark = pytest.mark.usefixtures("in_tmp")


def write(name: str, text: str):
    from pathlib import Path

    Path(name).write_text(text)
    return name


POINTS = "a,b,label\n0.5,1.0,0\n1.5,-2.0,1\n-0.5,0.0,0\n2.0,3.0,1\n0.0,0.1,0\n1.0,1.0,1\n"


# ------------------------------------------------------------------ good files


def test_defaults_take_the_last_column_as_label_and_the_others_as_features():
    ds = load_dataset(write("p.csv", POINTS))
    assert ds.columns.features == ("a", "b") and ds.columns.label == "label"
    assert ds.task == "binary" and ds.n_classes == 2 and ds.columns.classes == ("0", "1")
    np.testing.assert_array_equal(ds.x_train[:2], [[0.5, 1.0], [1.5, -2.0]])  # file order
    np.testing.assert_array_equal(ds.y_train[:, 0], [0, 1, 0, 1, 0, 1])
    assert ds.x_train.dtype == np.float32 and len(ds.x_test) == 0


def test_chosen_columns_text_labels_and_a_seeded_split():
    text = "kind,x,y,unused\n" + "".join(
        f"{['cat', 'dog', 'emu'][i % 3]},{i},{-i},{i * 7}\n" for i in range(20)
    )
    write("animals.csv", text)
    ds = load_dataset("animals.csv", ("y", "x"), "kind", "auto", 0.25, seed=3)
    assert ds.columns.features == ("y", "x") and ds.columns.classes == ("cat", "dog", "emu")
    assert ds.task == "multiclass" and ds.n_classes == 3
    assert len(ds.x_train) == 15 and len(ds.x_test) == 5
    np.testing.assert_array_equal(ds.x_train[:, 0], -ds.x_train[:, 1])  # columns in chosen order
    x = ds.x_train[:, 1].astype(int)
    np.testing.assert_array_equal(ds.y_train[:, 0], x % 3)  # cat=0, dog=1, emu=2
    again = load_dataset("animals.csv", ("y", "x"), "kind", "auto", 0.25, seed=3)
    np.testing.assert_array_equal(ds.x_test, again.x_test)
    other = load_dataset("animals.csv", ("y", "x"), "kind", "auto", 0.25, seed=4)
    assert not np.array_equal(ds.x_test, other.x_test)


def test_task_auto_classes_or_values_and_the_explicit_choices():
    write("two.csv", "x,y\n" + "".join(f"{i},{1 + i % 2}\n" for i in range(8)))
    ds = load_dataset("two.csv")
    assert ds.task == "binary" and ds.columns.classes == ("1", "2")  # labels 1, 2 -> classes 0, 1
    np.testing.assert_array_equal(ds.y_train[:, 0], [i % 2 for i in range(8)])
    assert load_dataset("two.csv", task="regression").task == "regression"
    write("values.csv", "x,y\n" + "".join(f"{i},{i * 0.37}\n" for i in range(8)))
    ds = load_dataset("values.csv")
    assert ds.task == "regression" and ds.n_classes == 0
    np.testing.assert_allclose(ds.y_train[:, 0], [i * 0.37 for i in range(8)], rtol=1e-6)
    write("counts.csv", "x,y\n" + "".join(f"{i},{i}\n" for i in range(30)))
    assert load_dataset("counts.csv").task == "regression"  # 30 distinct whole numbers: values
    assert load_dataset("counts.csv", task="classification").n_classes == 30


def test_npz_columns_from_1d_and_2d_arrays(tmp_path):
    x = np.arange(12, dtype=np.float64).reshape(6, 2)
    np.savez(tmp_path / "d.npz", x=x, y=np.array([0, 1, 2, 0, 1, 2]))
    ds = load_dataset("d.npz")
    assert ds.columns.features == ("x0", "x1") and ds.columns.label == "y"
    assert ds.task == "multiclass" and ds.n_classes == 3
    np.testing.assert_array_equal(ds.x_train, x.astype(np.float32))


def test_a_run_on_a_file_standardizes_with_the_training_rows(capsys, tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal([10.0, -50.0], [2.0, 30.0], (80, 2))
    label = (x[:, 0] - 10 > 0).astype(int)
    rows = "".join(f"{a:.5f},{b:.5f},{c}\n" for (a, b), c in zip(x, label))
    write("pts.csv", "u,v,cls\n" + rows)
    code = main(
        ["run", "circle", "--set", "data.path=pts.csv", "--set", "data.standardize=true",
         "--set", "data.test_fraction=0.25", "--set", "train.steps=50", "--out", "runs/f", "--quiet"]
    )  # fmt: skip
    assert code == 0
    config = (tmp_path / "runs/f/config.toml").read_text()
    assert 'name = "file"' in config and f'path = "{tmp_path / "pts.csv"}"' in config
    inputs = json.loads((tmp_path / "runs/f/inputs.json").read_text())
    assert inputs["features"] == ["u", "v"] and inputs["label"] == "cls"
    ds = load_dataset("pts.csv", test_fraction=0.25, seed=2)  # the run's split (data.seed 2)
    np.testing.assert_allclose(inputs["standardization"]["mean"], ds.x_train.mean(0), rtol=1e-5)
    np.testing.assert_allclose(inputs["standardization"]["std"], ds.x_train.std(0), rtol=1e-5)
    assert len(inputs["data"]["sha256"]) == 64
    # resume and evaluate rebuild the data from the absolute path, from any folder
    (tmp_path / "elsewhere").mkdir()
    import os

    os.chdir(tmp_path / "elsewhere")
    run = Training(resolve(config_from_dict(__import__("tomllib").loads(config))))
    np.testing.assert_allclose(run.dataset.x_train.mean(0), 0.0, atol=1e-5)


def test_path_wins_over_name_and_its_fields_need_a_path():
    config = resolve(load_config("circle", ["data.path=pts.csv"]))
    assert config.data.name == "file" and config.data.path.endswith("/pts.csv")
    assert config.data.n_samples == 0
    with pytest.raises(ConfigError, match=r"data.name = 'file' needs data.path"):
        load_config("circle", ["data.name=file"])
    with pytest.raises(
        ConfigError, match=r"data.features = \['a'\] chooses columns .* set data.path"
    ):
        load_config("circle", ["data.features=a"])
    with pytest.raises(ConfigError, match=r"data.label = 'y' chooses columns"):
        load_config("circle", ["data.label=y"])
    with pytest.raises(ConfigError, match=r"data.task = 'sorting' is unknown; choose one of auto"):
        load_config("circle", ["data.task=sorting"])
    with pytest.raises(ConfigError, match=r"must be a \.csv file .* or \.npz"):
        load_config("circle", ["data.path=points.xlsx"])
    with pytest.raises(ConfigError, match=r"includes the label column 'y'"):
        load_config("circle", ["data.path=p.csv", "data.features=x,y", "data.label=y"])
    with pytest.raises(ConfigError, match=r"data.features = 3 must be a list of column names"):
        load_config("circle", ["data.path=p.csv", "data.features=3"])
    both = load_config("circle", ["data.path=p.csv", 'data.features=["a", "b"]'])
    assert both.data.features == ("a", "b")


# ------------------------------------------------------------------ bad files: one clear line


BAD_FILES = [
    ("missing.csv", None, {}, r"^data file missing.csv does not exist$"),
    ("e.csv", "", {}, r"^data file e.csv is empty; it needs a header row of column names$"),
    ("h.csv", "1,2,3\n4,5,6\n", {}, r"^h.csv, line 1: the first row holds numbers .* it must name the columns"),
    ("d.csv", "a,a,y\n1,2,0\n", {}, r"^d.csv, line 1: the column name 'a' appears twice$"),
    ("n.csv", "a,,y\n1,2,0\n", {}, r"^n.csv, line 1: column 2 has no name; name every column$"),
    ("one.csv", "y\n1\n2\n", {}, r"^one.csv has one column \(y\); it needs feature columns and a label column$"),
    ("r.csv", "a,b,y\n1,2,0\n3,4\n", {}, r"^r.csv, line 3: 2 cells, but the header names 3 columns"),
    ("c.csv", POINTS, {"features": ("a", "zz")},
     r"^c.csv has no column 'zz' \(data.features\); its columns are a, b, label$"),
    ("l.csv", POINTS, {"label": "target"},
     r"^l.csv has no column 'target' \(data.label\); its columns are a, b, label$"),
    ("t.csv", "a,b,y\n1,2,0\n3,x7,1\n", {}, r"^t.csv, line 3, column 'b': 'x7' is not a number; feature cells must be numbers$"),
    ("m.csv", "a,b,y\n1,2,0\n3,,1\n", {}, r"^m.csv, line 3, column 'b': an empty cell; feature cells must be numbers$"),
    ("nan.csv", "a,b,y\n1,2,0\n\n3,NaN,1\n", {},
     r"^nan.csv, line 4, column 'b': nan is not a finite number; remove or fill that row"),
    ("inf.csv", "a,b,y\n1,inf,0\n3,4,1\n", {}, r"^inf.csv, line 2, column 'b': inf is not a finite number"),
    ("ynan.csv", "a,y\n1,0\n3,nan\n", {}, r"^ynan.csv, line 3, column 'y': nan is not a finite number"),
    ("s.csv", "a,y\n1,7\n2,7\n3,7\n", {},
     r"^s.csv: the label column 'y' has one class \(7\) in all 3 rows; classification needs at least 2 classes$"),
    ("few.csv", "a,y\n1,0\n", {}, r"^few.csv has 1 data row\(s\); at least 2 are needed$"),
    ("split.csv", "a,y\n1,0\n2,1\n3,0\n", {"test_fraction": 0.1},
     r"^split.csv has 3 rows: data.test_fraction = 0.1 leaves 3 to train on and 0 to test"),
    ("reg.csv", "a,y\n1,cat\n2,dog\n", {"task": "regression"},
     r"^reg.csv, line 2, column 'y': 'cat' is not a number; regression label cells must be numbers$"),
    ("emptylabel.csv", "a,y\n1,cat\n2,\n", {}, r"^emptylabel.csv, line 3, column 'y': an empty cell; every row needs a label$"),
]  # fmt: skip


@pytest.mark.parametrize("name,text,kwargs,message", BAD_FILES, ids=[b[0] for b in BAD_FILES])
def test_a_bad_csv_is_one_line_naming_the_file_the_place_and_the_rule(name, text, kwargs, message):
    if text is not None:
        write(name, text)
    with pytest.raises(DataError, match=message) as info:
        load_dataset(name, **kwargs)
    assert "\n" not in str(info.value)


def test_bad_npz_and_unreadable_files(tmp_path):
    np.savez(tmp_path / "len.npz", a=np.zeros(3), y=np.zeros(4))
    with pytest.raises(DataError, match=r"^len.npz: the arrays have different numbers of rows"):
        load_dataset("len.npz")
    np.savez(tmp_path / "cube.npz", x=np.zeros((3, 2, 2)), y=np.zeros(3))
    with pytest.raises(DataError, match=r"^cube.npz: array 'x' has shape \[3, 2, 2\]"):
        load_dataset("cube.npz")
    np.savez(tmp_path / "nan.npz", x=np.array([[1.0, np.nan], [0.0, 1.0]]), y=np.array([0, 1]))
    with pytest.raises(
        DataError, match=r"^nan.npz, row 1, column 'x1': nan is not a finite number"
    ):
        load_dataset("nan.npz")
    np.savez(tmp_path / "obj.npz", x=np.array([{"a": 1}], dtype=object), y=np.zeros(1))
    with pytest.raises(DataError, match=r"^data file obj.npz holds Python objects"):
        load_dataset("obj.npz")
    (tmp_path / "junk.npz").write_bytes(b"not a zip")
    with pytest.raises(DataError, match=r"^data file junk.npz is not a readable NPZ file"):
        load_dataset("junk.npz")
    (tmp_path / "latin.csv").write_bytes("a,y\n\xe9,1\n".encode("latin-1"))
    with pytest.raises(DataError, match=r"^data file latin.csv is not UTF-8 text"):
        load_dataset("latin.csv")


@pytest.mark.parametrize(
    "x, what",
    [
        (np.zeros(2, dtype=[("a", "f4"), ("b", "i4")]), "a structured array (fields a, b)"),
        (np.array(["2020-01-01", "2021-06-01"], dtype="datetime64[D]"), "dates or times"),
        (np.array([1, 2], dtype="timedelta64[s]"), "dates or times"),
        (np.array([1 + 2j, 3j]), "complex numbers"),
        (np.array([b"cat", b"dog"]), "byte strings (save text as str arrays)"),
    ],
)
def test_npz_columns_that_are_not_numbers_or_text_are_refused(tmp_path, x, what):
    """Dates and complex numbers were quietly taken as numbers, a structured array crashed."""
    np.savez(tmp_path / "odd.npz", x=x, y=np.array([0, 1]))
    with pytest.raises(DataError) as err:
        load_dataset("odd.npz")
    assert str(err.value) == (
        f"odd.npz: array 'x' holds {what}; columns are arrays of numbers or text"
    )


def _npz_claiming_rows(path, rows: int) -> None:
    """An NPZ whose x.npy header claims ``rows`` float64 values, followed by 1 MiB of them:
    a few kB on disk; loaded, it would take rows * 8 bytes."""
    import io
    import zipfile

    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        header, {"descr": "<f8", "fortran_order": False, "shape": (rows,)}
    )
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        with z.open("x.npy", "w") as member:
            member.write(header.getvalue())
            member.write(bytes(1 << 20))


def test_npz_too_large_is_refused_from_its_header_before_loading(tmp_path, monkeypatch):
    _npz_claiming_rows(tmp_path / "bomb.npz", 400_000_000)
    assert (tmp_path / "bomb.npz").stat().st_size < 10_000

    def never(*args, **kwargs):
        raise AssertionError("the array data was read")

    monkeypatch.setattr(np.lib.format, "read_array", never)
    with pytest.raises(DataError) as err:
        read_feature_rows("bomb.npz", ("x",))
    assert str(err.value) == (
        "data file bomb.npz is too large: its arrays hold over 50000000 values "
        "(array 'x' has shape [400000000])"
    )


def test_npz_member_that_is_not_an_array_is_refused(tmp_path):
    import zipfile

    np.savez(tmp_path / "extra.npz", x=np.zeros(3), y=np.zeros(3))
    with zipfile.ZipFile(tmp_path / "extra.npz", "a") as z:
        z.writestr("notes.txt", "hello")
    with pytest.raises(DataError) as err:
        load_dataset("extra.npz")
    assert str(err.value) == "data file extra.npz holds 'notes.txt', which is not a .npy array"


def test_a_cell_past_float32_is_refused_not_predicted_as_nan():
    """1e39 is a finite float64 but inf as the float32 the model reads."""
    write("big.csv", "a,b\n1,2\n1e39,0\n")
    with pytest.raises(DataError) as err:
        read_feature_rows("big.csv", ("a", "b"))
    assert str(err.value) == (
        "big.csv, line 3, column 'a': 1e+39 is too large; feature cells must be "
        "from -3.4e+38 to 3.4e+38 (float32)"
    )
    write("big_train.csv", "a,y\n1,0\n-1e39,1\n2,0\n")
    with pytest.raises(DataError, match=r"^big_train.csv, line 3, column 'a': -1e\+39 is too"):
        load_dataset("big_train.csv")


def test_a_fifo_as_data_file_is_refused_without_blocking(tmp_path):
    import os

    os.mkfifo(tmp_path / "pipe.csv")
    with pytest.raises(DataError) as err:
        read_feature_rows("pipe.csv", ("a",))
    assert str(err.value) == (
        "data file pipe.csv is not a regular file (a FIFO or device); give a regular file"
    )


def test_rows_to_predict_need_the_trained_feature_columns():
    write("new.csv", "b,a,extra\n1,2,x\n3,4,y\n")
    x, table = read_feature_rows("new.csv", ("a", "b"))
    np.testing.assert_array_equal(x, [[2, 1], [4, 3]])  # in the model's order, extras ignored
    assert table.source == "new.csv"
    with pytest.raises(
        DataError, match=r"^new.csv has no column 'c', a feature the model was trained on"
    ):
        read_feature_rows("new.csv", ("a", "c"))


def test_the_cli_turns_bad_data_into_exit_2_and_writes_nothing(capsys, tmp_path):
    write("bad.csv", "a,b,y\n1,2,0\n3,oops,1\n")
    code = main(["run", "circle", "--set", "data.path=bad.csv", "--set", "model.layers=[2,4,1]"])
    _, err = capsys.readouterr()
    assert code == 2
    assert (
        err
        == "nnopt: error: bad.csv, line 3, column 'b': 'oops' is not a number; feature cells must be numbers\n"
    )
    assert not (tmp_path / "runs").exists()
    write("ok.csv", POINTS)
    code = main(["run", "circle", "--set", "data.path=ok.csv", "--set", "model.layers=[3,4,1]",
                 "--out", "runs/never"])  # fmt: skip
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("nnopt: error: model.layers = [3, 4, 1]: the first size")
    assert "file" in err and not (tmp_path / "runs" / "never").exists()


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(blob=st.binary(max_size=200) | st.text(alphabet='ab,0123.\n\r"x-nN\x00 ', max_size=120))
def test_any_file_is_a_dataset_or_one_clear_data_error(blob, tmp_path):
    path = tmp_path / "fuzz.csv"
    path.write_bytes(blob if isinstance(blob, bytes) else blob.encode())
    try:
        ds = load_dataset(path, test_fraction=0.0)
    except DataError as exc:
        assert "\n" not in str(exc) and str(exc)
    else:
        assert len(ds.x_train) >= 2 and np.all(np.isfinite(ds.x_train))
