"""What resuming may change in a run's config: the table, field by field."""

from __future__ import annotations

import dataclasses

import pytest

from nnopt.config import SECTIONS, resolve
from nnopt.config.presets import load_config
from nnopt.config.resume import RESUME_MAY_CHANGE, changed_fields, check_resume_config
from nnopt.errors import ConfigError

BASE = resolve(load_config("circle-l2"))


def edited(**changes):
    """BASE with ``section__field=value`` changes."""
    config = BASE
    for key, value in changes.items():
        section, name = key.split("__")
        config = config.replace(
            **{section: dataclasses.replace(getattr(config, section), **{name: value})}
        )
    return resolve(config)


def test_every_field_of_the_table_is_a_field_of_the_schema():
    fields = {"name", "description"} | {
        f"{s}.{f.name}" for s in SECTIONS for f in dataclasses.fields(getattr(BASE, s))
    }
    assert set(RESUME_MAY_CHANGE) <= fields
    # Structure, data, loss, penalty, which optimizer and seeds are not in it.
    for fixed in ("model.layers", "model.activation", "data.name", "data.seed", "loss.name",
                  "regularizer.scale", "optimizer.name", "train.seed", "train.batch_size"):  # fmt: skip
        assert fixed in fields and fixed not in RESUME_MAY_CHANGE


def test_a_rate_more_steps_and_intervals_may_change():
    new = edited(optimizer__learning_rate=0.05, train__steps=BASE.train.steps + 500,
                 train__log_every=7, train__checkpoint_every=70, schedule__decay_rate=0.5)  # fmt: skip
    assert [k for k, _, _ in changed_fields(BASE, new)] == [
        "optimizer.learning_rate", "schedule.decay_rate", "train.steps", "train.log_every",
        "train.checkpoint_every",
    ]  # fmt: skip
    check_resume_config(BASE, new, steps_done=BASE.train.steps)  # no error


@pytest.mark.parametrize(
    ("change", "field", "shown"),
    [
        ({"model__activation": "tanh"}, "model.activation", "'tanh' differs from the run's 'relu'"),
        ({"data__name": "xor"}, "data.name", "'xor' differs from the run's 'circle'"),
        ({"optimizer__name": "sgd"}, "optimizer.name", "'sgd' differs from the run's 'adam'"),
        ({"loss__name": "cross_entropy"}, "loss.name", "'cross_entropy' differs"),
        ({"train__seed": 9}, "train.seed", "9 differs from the run's 0"),
        ({"model__layers": (2, 4, 1)}, "model.layers", "[2, 4, 1] differs"),
    ],
)
def test_changing_the_experiment_is_one_line_naming_the_field(change, field, shown):
    with pytest.raises(ConfigError) as info:
        check_resume_config(BASE, edited(**change), steps_done=100)
    assert str(info.value).startswith(f"{field} = {shown}")
    assert "\n" not in str(info.value) and "optimizer.learning_rate" in str(info.value)


def test_fewer_steps_than_done_is_refused():
    with pytest.raises(ConfigError, match="train.steps = 100 is below the 300 steps"):
        check_resume_config(BASE, edited(train__steps=100), steps_done=300)
