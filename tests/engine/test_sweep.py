"""Sweeps in the engine: grids, batches trained together (lanes and vmap), shards, groups."""

from __future__ import annotations

import jax
import numpy as np
import pytest

from nnopt.config import parse_grid, split_values
from nnopt.config.presets import read_raw
from nnopt.engine import lanes
from nnopt.engine.sweep.batch import LANES_WIDTH, VMAP_WIDTH, Batch, compiled_batch_chunk
from nnopt.engine.sweep.grid import grid_points
from nnopt.engine.sweep.run import (
    estimate_bytes,
    group_points,
    groups_at_once,
    run_batch,
    run_groups,
    shards_of,
)
from nnopt.engine.training import train
from nnopt.errors import ConfigError

SHORT = ["train.steps=600", "train.log_every=200"]


def points_of(preset, grid_texts, seeds=1, sets=SHORT):
    raw, label = read_raw(preset)
    from nnopt.config import apply_overrides

    return grid_points(apply_overrides(raw, sets), parse_grid(grid_texts), seeds, label)


def test_split_values_keeps_lists_and_quotes():
    assert split_values("sgd, adam") == ["sgd", "adam"]
    assert split_values("[2,8,1],[2,16,1]") == ["[2,8,1]", "[2,16,1]"]
    assert split_values('"a,b",c') == ['"a,b"', "c"]


def test_grid_points_cover_the_product_times_seeds():
    pts = points_of(
        "circle-l2", ["optimizer.learning_rate=1e-3,1e-2", "regularizer.scale=0,0.01,0.1"], 2
    )
    assert len(pts) == 2 * 3 * 2
    assert [p.config.train.seed for p in pts[:2]] == [0, 1]
    assert {p.config.optimizer.learning_rate for p in pts} == {1e-3, 1e-2}
    assert pts[5].settings == {
        "optimizer.learning_rate": 1e-3,
        "regularizer.scale": 0.1,
        "train.seed": 1,
    }


def test_numbers_share_one_program_and_structures_split():
    numbers = points_of(
        "circle-l2", ["optimizer.learning_rate=1e-3,1e-2", "regularizer.scale=0,0.01"], 2
    )
    assert len(group_points(numbers)) == 1
    names = points_of(
        "circle-l2", ["optimizer.name=sgd,momentum,adam", "optimizer.learning_rate=1e-3,1e-2"]
    )
    groups = group_points(names)
    assert len(groups) == 3 and all(len(g) == 2 for g in groups)
    # The EMA's order and the optimizer's numbers are numbers; its switches and its
    # convention are compiled in.
    assert len(group_points(points_of("circle-modular", ["ema.order=before_update,after_update",
                                                         "optimizer.epsilon=1e-8,0.1"]))) == 1  # fmt: skip
    rms = ["optimizer.name=rmsprop", *SHORT]
    assert (
        len(group_points(points_of("circle-l2", ["optimizer.centered=true,false"], sets=rms))) == 2
    )
    assert len(group_points(points_of("circle-l2", ["optimizer.convention=tf1,optax"]))) == 2


def programs() -> int:
    """Compiled batch programs so far, of both batched engines."""
    return (
        compiled_batch_chunk.cache_info().currsize
        + lanes.compiled_lanes_chunk.cache_info().currsize
    )


def assert_like_single_runs(pts, results, rtol=2e-5, atol=2e-6):
    for p, r in zip(pts, results, strict=True):
        single = train(p.config)
        for name in single.params:
            np.testing.assert_allclose(r.params[name], single.params[name], rtol=rtol, atol=atol)
            if single.ema_params is not None:
                np.testing.assert_allclose(
                    r.ema_params[name], single.ema_params[name], rtol=rtol, atol=atol
                )
        assert r.rows[-1]["train_loss"] == pytest.approx(single.final["train_loss"], rel=1e-4)
        assert [row["step"] for row in r.rows] == [row["step"] for row in single.history.rows]


def test_a_batch_compiles_once_and_matches_single_runs():
    pts = points_of(
        "circle-modular", ["optimizer.learning_rate=1e-3,3e-3", "ema.decay=0.9,0.99"], 2
    )
    assert Batch(pts).lanes  # one MLP, one dataset: the configurations-last engine
    before = programs()
    results = run_batch(pts)
    assert programs() == before + 1
    assert_like_single_runs(pts, results)
    assert [row["step"] for row in results[0].rows] == [0, 200, 400, 600]


LANES_CASES = {
    "deep tanh, L1, momentum": (
        "circle-l2",
        ["model.layers=[2,8,8,1]", "model.activation=tanh", "optimizer.name=momentum",
         "regularizer.name=l1"],
        ["optimizer.learning_rate=0.001,0.003"],
    ),
    "sigmoid, binary cross entropy, rmsprop, decay": (
        "circle-l2",
        ["model.output_activation=sigmoid", "loss.name=binary_cross_entropy",
         "optimizer.name=rmsprop", "schedule.name=exponential_decay", "schedule.decay_rate=0.9",
         "schedule.decay_steps=50"],
        ["optimizer.learning_rate=0.001,0.01"],
    ),
    "rmsprop centered, momentum and epsilon per lane": (
        "circle-l2", ["optimizer.name=rmsprop", "optimizer.centered=true"],
        ["optimizer.momentum=0,0.5", "optimizer.epsilon=1e-10,0.01"],
    ),
    "nesterov momentum, momentum per lane": (
        "circle-l2", ["optimizer.name=momentum", "optimizer.use_nesterov=true",
                      "optimizer.learning_rate=0.01"],
        ["optimizer.momentum=0.5,0.9"],
    ),
    "adam epsilon hat and betas per lane, lecture's EMA": (
        "circle-modular", [], ["optimizer.epsilon=1e-8,0.1", "optimizer.beta1=0.5,0.9"],
    ),
    "adamw weight decay per lane": (
        "circle-l2", ["optimizer.name=adamw", "optimizer.learning_rate=0.01"],
        ["optimizer.weight_decay=0,0.001"],
    ),
    "adagrad start value per lane (the slot's init)": (
        "circle-l2", ["optimizer.name=adagrad", "optimizer.learning_rate=0.1"],
        ["optimizer.initial_accumulator_value=0.1,2.0"],
    ),
    "both EMA orders in one batch": (
        "circle-modular", [], ["ema.order=before_update,after_update", "ema.decay=0.9,0.99"],
    ),
    "optax convention, rmsprop": (
        "circle-l2", ["optimizer.name=rmsprop", "optimizer.convention=optax"],
        ["optimizer.decay=0.9,0.99"],
    ),
    "shuffled rows, one seed": (
        "circle-l2", ["data.batching=shuffle"], ["optimizer.learning_rate=0.001,0.003"],
    ),
    "adagrad, short last batch, EMA on and off": (
        "circle-l2",
        ["optimizer.name=adagrad", "train.batch_size=32", "ema.decay=0.9"],
        ["optimizer.learning_rate=0.1,0.3", "ema.enabled=true,false"],
    ),
    "softmax over 3 classes, two hidden layers": (
        "spiral3", [], ["optimizer.learning_rate=0.001,0.002"],
    ),
    "no bias, cost/profit": (
        "yogurt-cost1-profit9", [], ["loss.cost=1,9", "loss.profit=9,1"],
    ),
    "64 inputs, sums too long to write out": (
        "digits", ["train.batch_size=64"], ["optimizer.learning_rate=0.001,0.002"],
    ),
}  # fmt: skip


# The fast tier keeps two cases (an L1 momentum net and Adam with the lecture's EMA); the
# rest run with the whole suite.
FAST_CASES = ("deep tanh, L1, momentum", "adam epsilon hat and betas per lane, lecture's EMA")


@pytest.mark.parametrize(
    "case",
    [pytest.param(c, marks=[] if c in FAST_CASES else [pytest.mark.slow]) for c in LANES_CASES],
)
def test_lanes_batches_match_single_runs(case, monkeypatch):
    # Wide networks train as vmap by default (see lanes.supports); here they take lanes too.
    monkeypatch.setattr(lanes, "LANES_FIRST_FAN_IN", 10**6)
    monkeypatch.setattr(lanes, "LANES_MAX_PRODUCT", 10**6)
    preset, fixed, grid = LANES_CASES[case]
    pts = points_of(preset, grid, sets=["train.steps=120", "train.log_every=40", *fixed])
    assert Batch(pts).lanes
    assert_like_single_runs(pts, run_batch(pts), rtol=1e-4, atol=1e-5)


def test_small_networks_take_lanes_and_wide_ones_vmap():
    def takes_lanes(preset, *sets):
        return Batch(
            points_of(preset, ["optimizer.learning_rate=1e-3,1e-2"], sets=[*SHORT, *sets])
        ).lanes

    assert takes_lanes("circle-l2")
    assert takes_lanes("circle-l2", "model.layers=[2,16,16,1]")
    assert not takes_lanes("circle-l2", "model.layers=[2,32,32,1]")
    assert not takes_lanes("digits", "train.steps=20", "train.log_every=10")


@pytest.mark.slow
def test_other_batches_train_as_vmap_of_the_single_run():
    # Shuffled batches depend on each seed, and other data seeds give other data: neither
    # fits the shared-rows layout, and both still match their single runs.
    for grid in (["train.seed=0,1"], ["data.seed=1,2"]):
        sets = [*SHORT, "data.batching=shuffle"] if grid[0].startswith("train") else SHORT
        pts = points_of("circle-l2", grid, sets=sets)
        assert not Batch(pts).lanes
        assert_like_single_runs(pts, run_batch(pts))


def test_lanes_state_round_trip():
    pts = points_of("circle-l2", ["optimizer.learning_rate=1e-3,1e-2,0.1"])
    batch = Batch(pts, width=3)
    batch.advance()  # the optimizers' init runs in the first chunk
    back = lanes.state_from_lanes(batch.state, batch.structure)
    again = lanes.state_to_lanes(back, batch.structure)
    for a, b in zip(
        jax.tree_util.tree_leaves(batch.state), jax.tree_util.tree_leaves(again), strict=True
    ):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    assert back.params.shape == (3, batch.structure.n_params)
    np.testing.assert_array_equal(
        np.asarray(back.opt_state.hyperparams["learning_rate"]), np.float32([1e-3, 1e-2, 0.1])
    )


def test_a_diverging_configuration_is_marked_and_the_others_finish():
    pts = points_of("circle-l2", ["optimizer.name=sgd", "optimizer.learning_rate=1e-3,1e4,1e-2"])
    results = run_batch(pts)
    assert [r.diverged_at is not None for r in results] == [False, True, False]
    assert 1 <= results[1].diverged_at <= 20
    for r in (results[0], results[2]):
        assert np.isfinite(r.rows[-1]["train_loss"])


def test_bad_grids_are_clear_errors():
    with pytest.raises(ConfigError, match="--grid 'foo.bar=1': unknown section 'foo'"):
        parse_grid(["foo.bar=1"])
    with pytest.raises(ConfigError, match="no values"):
        parse_grid(["optimizer.learning_rate="])
    with pytest.raises(ConfigError, match="given twice"):
        parse_grid(["optimizer.learning_rate=1", "optimizer.learning_rate=2"])
    with pytest.raises(ConfigError, match="must be a number"):
        points_of("circle-l2", ["optimizer.learning_rate=abc"])
    with pytest.raises(ConfigError, match="empty sweep"):
        points_of("circle-l2", [])


def test_lanes_programs_fall_back_when_xla_lacks_their_options():
    f = lambda x: x * 2.0  # noqa: E731
    unknown = jax.jit(f, compiler_options={"xla_cpu_no_such_option": "X"})
    call = lanes._with_fallback(unknown, jax.jit(f))
    np.testing.assert_array_equal(np.asarray(call(np.float32([1, 2]))), [2, 4])
    np.testing.assert_array_equal(np.asarray(call(np.float32([3]))), [6])


def test_groups_are_cut_into_shards_of_their_programs_width():
    def sizes(n, width):
        return [len(s) for s in shards_of(list(range(n)), 2, width)]

    assert sizes(64, LANES_WIDTH) == [LANES_WIDTH, LANES_WIDTH]
    assert sizes(70, 32) == [32, 32, 6]  # the last one trains padded to 32
    assert sizes(1, 32) == [1]
    assert sizes(9, VMAP_WIDTH) == [4, 4, 1]
    lanes_group = points_of("circle-l2", ["optimizer.learning_rate=1e-3,3e-3"], 3)
    assert [len(s) for s in shards_of(lanes_group)] == [6]
    assert Batch(lanes_group).width == LANES_WIDTH
    wide = points_of("circle-l2", ["optimizer.learning_rate=1e-3,3e-3"], 3, [*SHORT, WIDE])
    assert [len(s) for s in shards_of(wide)] == [4, 2]
    assert Batch(wide[:1]).width == VMAP_WIDTH


WIDE = "model.layers=[2,32,32,1]"  # trains as vmap, not in lanes


def flat_of(result) -> np.ndarray:
    named = [result.params, result.ema_params or {}]
    return np.concatenate([d[k].ravel() for d in named for k in sorted(d)])


@pytest.mark.parametrize("engine", ["lanes", "vmap"])
def test_a_configuration_trains_the_same_whatever_its_companions(engine):
    sets = [*SHORT, "ema.enabled=true"] + ([WIDE] if engine == "vmap" else [])
    pts = points_of("circle-l2", ["optimizer.learning_rate=1e-3,3e-3,1e-2"], 3, sets)
    assert Batch(pts).lanes == (engine == "lanes")
    me = pts[4]
    others = [p for p in pts if p is not me]
    alone = run_batch([me])[0]
    # In batches of other sizes (a width of 1, or vmap's batched products, used to round
    # differently), at other places in them, and on other threads.
    for group, workers in ((others[:1] + [me], 1), ([me] + others, 2), (others + [me], 1)):
        (mine,) = [r for r in run_batch(group, workers=workers) if r.index == me.index]
        np.testing.assert_array_equal(flat_of(mine), flat_of(alone))
        assert mine.rows == alone.rows


def test_groups_keep_apart_what_would_change_a_batchs_engine():
    # Other data, or other shuffling seeds, would move a batch off lanes (and round
    # differently): they never share a group, so a resumed sweep keeps every program.
    data = points_of("circle-l2", ["data.seed=1,2", "optimizer.learning_rate=1e-3,1e-2"])
    assert sorted(len(g) for g in group_points(data)) == [2, 2]
    assert all(Batch(g).lanes for g in group_points(data))
    shuffled = points_of("circle-l2", ["optimizer.learning_rate=1e-3,1e-2"], 2,
                         [*SHORT, "data.batching=shuffle"])  # fmt: skip
    assert [len(g) for g in group_points(shuffled)] == [2, 2]
    assert all(Batch(g).lanes for g in group_points(shuffled))


def test_shards_on_threads_give_the_same_numbers_as_one_batch():
    pts = points_of("circle-l2", ["optimizer.learning_rate=1e-3,3e-3,1e-2"], 15)  # 45: 2 shards
    updates = []
    one = run_batch(pts, workers=1)
    two = run_batch(pts, on_chunk=updates.append, workers=2)
    assert [r.index for r in two] == [p.index for p in pts]
    assert sum(updates) == 45 * 600
    for a, b in zip(one, two, strict=True):
        assert a.rows == b.rows
        for name in a.params:
            np.testing.assert_array_equal(a.params[name], b.params[name])


def test_groups_train_two_at_a_time_when_memory_allows():
    pts = points_of("circle-l2", ["optimizer.name=sgd,adam", "optimizer.learning_rate=1e-3,1e-2"])
    groups = group_points(pts)
    assert groups_at_once(groups) == 2
    assert groups_at_once(groups, limit=estimate_bytes(groups[0]) + 1) == 1
    assert groups_at_once(groups[:1]) == 1
    done, updates = [], []
    run_groups(groups, done.append, on_chunk=updates.append, at_once=2)
    assert sorted(len(d) for d in done) == [2, 2] and sum(updates) == 4 * 600
    together = {r.index: r for d in done for r in d}
    for group in groups:
        for r in run_batch(group):
            assert together[r.index].rows == r.rows
