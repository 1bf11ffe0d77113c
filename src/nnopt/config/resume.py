"""What ``nnopt resume`` may change in a run's ``config.toml``: one table, field by field.

A run goes on from its checkpoint's weights and optimizer state. Resuming may turn the
knobs of the same experiment (the rate and the optimizer's and schedule's numbers, the EMA
decay, more steps, how often it logs and checkpoints, its labels); it may not change the
experiment (the data, the model, the loss and penalty, which optimizer or schedule, batches,
seeds): those weights would then answer a question nobody asked. Every field not in
:data:`RESUME_MAY_CHANGE` is fixed.
"""

from __future__ import annotations

import dataclasses

from nnopt.config.schema import SECTIONS, Config
from nnopt.config.validate import show_value
from nnopt.errors import ConfigError

_NUMBERS = "the optimizer's numbers"
RESUME_MAY_CHANGE: dict[str, str] = {
    "name": "a label",
    "description": "a label",
    "optimizer.learning_rate": "the rate",
    **{
        f"optimizer.{n}": _NUMBERS
        for n in ("momentum", "beta1", "beta2", "epsilon", "weight_decay", "decay")
    },
    "schedule.decay_rate": "the schedule's numbers",
    "schedule.decay_steps": "the schedule's numbers",
    "schedule.staircase": "the schedule's numbers",
    "ema.decay": "the EMA decay",
    "train.steps": "more steps (not fewer than the run has done)",
    "train.log_every": "how often it logs",
    "train.checkpoint_every": "how often it checkpoints",
}

MAY_CHANGE_TEXT = (
    "resuming may change only optimizer.learning_rate and the optimizer's numbers, "
    "schedule.decay_rate/decay_steps/staircase, ema.decay, train.steps (more), "
    "train.log_every, train.checkpoint_every, name and description"
)


def changed_fields(saved: Config, edited: Config) -> list[tuple[str, object, object]]:
    """(field, saved value, edited value) of every field that differs, in schema order
    (both configs resolved: defaults made explicit)."""
    out = [(k, getattr(saved, k), getattr(edited, k)) for k in ("name", "description")]
    for section in SECTIONS:
        a, b = getattr(saved, section), getattr(edited, section)
        out += [(f"{section}.{f.name}", getattr(a, f.name), getattr(b, f.name))
                for f in dataclasses.fields(a)]  # fmt: skip
    return [(k, old, new) for k, old, new in out if old != new]


def check_resume_config(saved: Config, edited: Config, steps_done: int) -> list[str]:
    """Whether a run trained under ``saved`` (up to ``steps_done``) may go on under ``edited``;
    returns the fields that changed (all of them allowed).

    Raises:
      ConfigError: the first field that differs and may not (named, with both values), or
        ``train.steps`` below the steps done.
    """
    changes = changed_fields(saved, edited)
    for field, old, new in changes:
        if field not in RESUME_MAY_CHANGE:
            raise ConfigError(
                f"{field} = {show_value(new)} differs from the run's {show_value(old)}: "
                f"{MAY_CHANGE_TEXT}; train this one as a new run"
            )
    if edited.train.steps < steps_done:
        raise ConfigError(
            f"train.steps = {edited.train.steps} is below the {steps_done} steps the run has "
            "done: resuming may only add steps"
        )
    return [field for field, _, _ in changes]
