"""The optimizer section: TF1's argument names, the other names, the two conventions, and
the one-line errors read from the registry's declared ranges."""

from __future__ import annotations

import pytest

from nnopt.config import config_from_dict, config_to_dict, optimizer_choice, optimizer_numbers
from nnopt.config.presets import load_config
from nnopt.config.schema import resolve
from nnopt.errors import ConfigError


def optimizer(*sets):
    return load_config("circle", list(sets))


def test_each_name_means_tf1s_optimizer_with_its_defaults():
    numbers = optimizer_numbers(optimizer("optimizer.name=rmsprop"))
    assert numbers == {"learning_rate": 0.0001, "decay": 0.9, "momentum": 0.0, "epsilon": 1e-10}
    choice = optimizer_choice(optimizer("optimizer.name=rmsprop", "optimizer.centered=true"))
    assert (choice.name, choice.convention, choice.switches) == (
        "rmsprop",
        "tf1",
        (("centered", True),),
    )
    assert optimizer_numbers(optimizer("optimizer.name=adagrad")) == {
        "learning_rate": 0.0001, "initial_accumulator_value": 0.1}  # fmt: skip
    # The Optax convention is asked for, never implied: its own defaults.
    optax = optimizer_numbers(optimizer("optimizer.name=adagrad", "optimizer.convention=optax"))
    assert optax["epsilon"] == 1e-7
    assert optimizer_choice(optimizer("optimizer.convention=optax")).convention == "optax"


def test_other_names_resolve_to_the_tf1_names():
    config = resolve(optimizer("optimizer.name=adam", "optimizer.b1=0.5", "optimizer.eps=1e-3"))
    o = config.optimizer
    assert (o.beta1, o.beta2, o.epsilon) == (0.5, 0.999, 1e-3)
    assert o.b1 is None and o.eps is None
    # The resolved config (a run folder's config.toml) names them as TF1 does, and reads back.
    written = config_to_dict(config)["optimizer"]
    assert "b1" not in written and written["beta1"] == 0.5
    again = config_from_dict(config_to_dict(config))
    assert optimizer_numbers(again) == optimizer_numbers(config)


def test_nesterov_is_momentum_with_use_nesterov():
    choice = optimizer_choice(optimizer("optimizer.name=nesterov"))
    assert choice.meaning.fixed == {"use_nesterov": True} and choice.switches == ()
    with pytest.raises(ConfigError, match="optimizer.use_nesterov is not a setting of nesterov"):
        optimizer("optimizer.name=nesterov", "optimizer.use_nesterov=false")


@pytest.mark.parametrize(
    "sets, message",
    [
        (["optimizer.name=sgd", "optimizer.momentum=0.9"],
         "optimizer.momentum is not a setting of sgd (tf.train.GradientDescentOptimizer); it takes only learning_rate"),
        (["optimizer.name=adam", "optimizer.decay=0.9"],
         "optimizer.decay is not a setting of adam (tf.train.AdamOptimizer); it takes beta1, beta2, epsilon"),
        (["optimizer.name=adam", "optimizer.beta2=1.0"], "optimizer.beta2 = 1.0 is out of range: must be in [0, 1)"),
        (["optimizer.name=adam", "optimizer.b2=1.5"], "optimizer.b2 = 1.5 is out of range: must be in [0, 1)"),
        (["optimizer.name=rmsprop", "optimizer.decay=-0.1"], "optimizer.decay = -0.1 is out of range: must be in [0, 1)"),
        (["optimizer.name=rmsprop", "optimizer.epsilon=0"], "optimizer.epsilon = 0.0 is out of range: must be > 0"),
        (["optimizer.name=rmsprop", "optimizer.momentum=1"], "optimizer.momentum = 1.0 is out of range: must be in [0, 1)"),
        # TF1's Adagrad refuses a start <= 0; Optax's takes 0 (it adds its epsilon).
        (["optimizer.name=adagrad", "optimizer.initial_accumulator_value=0"],
         "optimizer.initial_accumulator_value = 0.0 is out of range: must be > 0"),
        (["optimizer.name=adamw", "optimizer.weight_decay=1"], "optimizer.weight_decay = 1.0 is out of range: must be in [0, 1)"),
        (["optimizer.name=momentum", "optimizer.centered=true"],
         "optimizer.centered is not a setting of momentum (tf.train.MomentumOptimizer); it takes momentum, use_nesterov"),
        (["optimizer.name=adam", "optimizer.eps=1e-3", "optimizer.epsilon=1e-3"],
         "optimizer.eps and optimizer.epsilon are one setting (eps is another name of epsilon); give only one"),
    ],
)  # fmt: skip
def test_a_setting_the_optimizer_lacks_or_out_of_range_is_one_line(sets, message):
    with pytest.raises(ConfigError) as err:
        optimizer(*sets)
    assert str(err.value).endswith(message) and "\n" not in str(err.value)


def test_optax_convention_ranges():
    optimizer("optimizer.name=adagrad", "optimizer.convention=optax",
              "optimizer.initial_accumulator_value=0")  # fmt: skip
    optimizer("optimizer.name=adamw", "optimizer.convention=optax", "optimizer.weight_decay=2")
    with pytest.raises(ConfigError, match="optimizer.weight_decay = -1.0 is out of range"):
        optimizer("optimizer.name=adamw", "optimizer.convention=optax", "optimizer.weight_decay=-1")


def test_every_preset_keeps_validating():
    from nnopt.config.presets import preset_names

    for name in preset_names():
        assert resolve(load_config(name)).optimizer.convention == "tf1"
    orders = {n: load_config(n).ema.order for n in ("circle-modular", "digits", "ema-demo")}
    assert set(orders.values()) == {"before_update"}  # the lecture's grouping
    assert load_config("circle").ema.order == "after_update"  # the schema's default
